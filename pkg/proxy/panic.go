package proxy

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
)

// termInternal is haproxy's termination code for an internal error: a
// session that panicked is closed and logged with it.
const termInternal = 'I'

// Test hooks, nil outside tests: they run at the start of every tcp
// session (with the frontend's name) and before every HTTP request is
// handled (with its target), so that tests can inject a panic.
var (
	testHookSession atomic.Pointer[func(frontend string)]
	testHookRequest atomic.Pointer[func(uri string)]
)

// Panics is the number of sessions closed by a recovered panic since the
// engine started.
func (e *Engine) Panics() int64 { return e.panics.Load() }

// recovered logs a panic of one session, its stack included, as an error
// and counts it; the caller closes that session only.
func (e *Engine) recovered(what, proxy string, r any) {
	e.panics.Add(1)
	e.log.Error().Str("stack", string(debug.Stack())).
		Msgf("proxy %s: panic in a %s, closing it: %s", proxy, what, fmt.Sprint(r))
}

// recoverPanic, deferred by a session's goroutines, turns a panic into
// the end of that session alone: logged, counted, its connections closed
// (termination 'I'). The goroutine that owns the session ("session")
// finishes it; a relay goroutine leaves that to the relay's last one.
func (s *session) recoverPanic(what string) {
	r := recover()
	if r == nil {
		return
	}
	s.e.recovered(what, s.f.Name(), r)
	s.abort(termInternal)
	if what == "session" {
		s.finish()
	}
}
