package proxy

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// serveHTTP serves a `mode http` frontend on one listener: a reverse
// proxy balancing each request over the backend's servers (serveH1),
// where the requests for the stats page (`stats enable`) or the Prometheus
// exporter are answered by Options.HTTPHandler, as haproxy intercepts
// them (localService). e.mu is held.
func (e *Engine) serveHTTP(f *Frontend, ln net.Listener) {
	var local http.Handler
	if (f.px.Stats.Enabled || f.px.Prometheus) && e.opts.HTTPHandler != nil {
		local = e.opts.HTTPHandler(f.px)
	}
	e.serveH1(f, ln, local)
}

func firstSet(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

// shortestSet is the shortest of the set (non-zero) durations, 0 when
// none is.
func shortestSet(ds ...time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		if d > 0 && (m == 0 || d < m) {
			m = d
		}
	}
	return m
}

// gateListener applies global and frontend maxconn to an http.Server and
// counts its connections as sessions of the frontend.
type gateListener struct {
	net.Listener
	e *Engine
	f *Frontend
}

func (l *gateListener) Accept() (net.Conn, error) {
	e, f := l.e, l.f
	if !e.global.wait(e.stop) || !f.gate.wait(e.stop) {
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// Accepted is served, even if a soft stop began meanwhile (see
	// acceptLoop); only a hard stop gives up.
	if !e.global.acquire(e.killed.Done()) {
		c.Close()
		return nil, net.ErrClosed
	}
	if !f.gate.acquire(e.killed.Done()) {
		e.global.release()
		c.Close()
		return nil, net.ErrClosed
	}
	// The session is counted once the tcp-request rules accept it
	// (h1Frontend.serve).
	storeMax(&f.ctr.max, f.ctr.cur.Add(1))
	e.wg.Add(1)
	return &gatedConn{Conn: c, l: l}, nil
}

type gatedConn struct {
	net.Conn
	l    *gateListener
	once sync.Once
}

func (c *gatedConn) Close() error {
	// Uncounted before the close, as haproxy does: the client seeing the
	// close may connect again and find this connection gone from %ac/%fc.
	first := false
	c.once.Do(func() {
		first = true
		c.l.f.ctr.cur.Add(-1)
		c.l.f.gate.release()
		c.l.e.global.release()
	})
	err := c.Conn.Close()
	if first {
		c.l.e.wg.Done()
	}
	return err
}
