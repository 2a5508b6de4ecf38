package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// panicEngine serves px with a logger writing to the returned buffer.
func panicEngine(t *testing.T, px *haproxycfg.Proxy, ln net.Listener) (*Engine, *lockedBuffer, *logSink) {
	t.Helper()
	out := &lockedBuffer{}
	sink := &logSink{}
	e, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{
		Logger:     zerolog.New(out),
		SessionLog: sink.add,
		Listeners:  map[string]net.Listener{ln.Addr().String(): ln},
	})
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	return e, out, sink
}

// checkPanicLogged checks the error line of one recovered panic.
func checkPanicLogged(t *testing.T, e *Engine, out *lockedBuffer, what string) {
	t.Helper()
	if n := e.Panics(); n != 1 {
		t.Errorf("Panics() = %d, want 1", n)
	}
	log := out.String()
	if !strings.Contains(log, `"level":"error"`) || !strings.Contains(log, "panic in a "+what+", closing it: injected") ||
		!strings.Contains(log, "panic_test.go") {
		t.Errorf("no error line with the panic and its stack in the log:\n%s", log)
	}
}

// A panic in one tcp session closes that session only: a session already
// relaying goes on, new ones are served, the panic is logged with its
// stack and counted (issue 10: it killed the worker and every
// connection).
func TestPanicInTCPSessionClosesItOnly(t *testing.T) {
	be := startBackend(t, echo)
	ln, bind := listen(t)
	e, out, sink := panicEngine(t, listenProxy("tcp", bind, server("s1", be.port)), ln)

	a := dial(t, bind)
	_ = a.SetDeadline(time.Now().Add(deadline))
	echoes := func(c net.Conn, msg string) {
		t.Helper()
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, buf, err)
		}
	}
	echoes(a, "before")

	hook := func(string) { panic("injected") }
	testHookSession.Store(&hook)
	t.Cleanup(func() { testHookSession.Store(nil) })
	b := dial(t, bind)
	_ = b.SetDeadline(time.Now().Add(deadline))
	if n, err := b.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the panicking session was not closed: read %d bytes", n)
	}
	testHookSession.Store(nil)

	echoes(a, "after")
	c := dial(t, bind)
	_ = c.SetDeadline(time.Now().Add(deadline))
	echoes(c, "new")
	checkPanicLogged(t, e, out, "session")
	if l := sink.wait(t, 1); l.TermCause != termInternal || l.FrontendName != "tcp" {
		t.Errorf("the panicking session logged %s termination %q, want tcp and 'I'", l.FrontendName, ts(l))
	}
	a.Close()
	c.Close()
	eventually(t, "the sessions to end", func() bool { return e.Frontend("tcp").Stats().CurSessions == 0 })
	if n := e.Backend("tcp").Stats().CurSessions; n != 0 {
		t.Errorf("backend current sessions %d after every session ended, want 0", n)
	}
}

// The same for a mode http connection: the request that panics loses its
// connection; a request in progress on another completes, and the
// frontend keeps serving.
func TestPanicInHTTPRequestClosesItOnly(t *testing.T) {
	release := make(chan struct{})
	hs := startBackend(t, func(c *net.TCPConn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/slow" {
			<-release
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	})
	ln, bind := listen(t)
	px := listenProxy("web", bind, server("s1", hs.port))
	px.Mode = haproxycfg.ModeHTTP
	e, out, _ := panicEngine(t, px, ln)

	slow := dial(t, bind)
	_ = slow.SetDeadline(time.Now().Add(deadline))
	io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	eventually(t, "the slow request to reach the server", func() bool { return hs.accepted.Load() == 1 })

	hook := func(uri string) {
		if uri == "/panic" {
			panic("injected")
		}
	}
	testHookRequest.Store(&hook)
	t.Cleanup(func() { testHookRequest.Store(nil) })
	p := dial(t, bind)
	_ = p.SetDeadline(time.Now().Add(deadline))
	io.WriteString(p, "GET /panic HTTP/1.1\r\nHost: t\r\n\r\n")
	if b, err := io.ReadAll(p); err != nil || len(b) != 0 {
		t.Fatalf("the panicking request got %q, %v; want the connection closed", b, err)
	}

	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the concurrent request: %v, %v", resp, err)
	}
	code, _ := get(t, &http.Client{Timeout: deadline}, "http://"+bind.Address()+"/after")
	if code != 200 {
		t.Fatalf("after the panic: status %d", code)
	}
	checkPanicLogged(t, e, out, "http session")
}

// panicConn panics on Write.
type panicConn struct{ net.Conn }

func (panicConn) Write([]byte) (int, error) { panic("injected") }

// Go's client runs the server write and the request body read on its own
// goroutines, where a panic would kill the process: both turn it into an
// error of that request.
func TestPanicInClientGoroutinesFailsTheRequest(t *testing.T) {
	tab := newHeadTable()
	var got any
	tab.panicked = func(r any) { got = r }
	if _, err := (&headConn{Conn: panicConn{}, t: tab}).Write([]byte("GET / HTTP/1.1\r\n\r\n")); err == nil || got != "injected" {
		t.Errorf("server write: err %v, reported %v", err, got)
	}
	b := newBodyReader(bufio.NewReader(strings.NewReader("abc")), &httpRequest{contentLength: 3})
	b.first = func() { panic("injected") }
	if _, err := b.Read(make([]byte, 3)); err == nil || b.readErr() == nil {
		t.Errorf("body read: err %v", err)
	}
}
