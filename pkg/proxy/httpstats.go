package proxy

import (
	"net"
	"sync"
	"time"

	"hapair/pkg/accesslog"
)

// The HTTP counters of the stats, kept where haproxy 2.6 keeps them:
//   - a frontend counts each request it receives (req_tot, req_rate)
//     when its head is parsed (http_wait_for_request), and the requests
//     its HTTP/1 layer answers itself (400, 408, 501) with their status
//     (mux_h1.c's h1_handle_*);
//   - at the end of a stream (stream.c), the frontend counts the final
//     status (hrsp_*; a stream without one as hrsp_other) and, when the
//     stream was given a backend, the backend counts it too, with a
//     request, and the stream's bytes (bin, bout);
//   - a server counts each response head it sends, interim ones too,
//     with a request (http_wait_for_response).
//
// streamAcct is what a stream's end needs to know.
type streamAcct struct {
	// be is the backend the stream was given (haproxy's SF_BE_ASSIGNED,
	// set by the switching rules before the backend's own rules run);
	// nil when the frontend answered on its own.
	be *Backend
	// srv is the server the stream was sent to; nil if none.
	srv *Server
	// beOpen: be.ctr.cur counts the stream.
	beOpen bool
}

// assignBackend gives the stream its backend, counting a session on it
// (haproxy's stream_set_backend). A stream keeps its first backend.
func (c *h1Conn) assignBackend(be *Backend, now time.Time) {
	if be == nil || c.acct.be != nil {
		return
	}
	c.acct.be, c.acct.beOpen = be, true
	be.ctr.open(now)
}

// leaveBackend ends the stream's share of its backend's current
// sessions, once.
func (c *h1Conn) leaveBackend() {
	if c.acct.beOpen {
		c.acct.beOpen = false
		c.acct.be.ctr.cur.Add(-1)
	}
}

// endStream counts a finished stream on its frontend, backend and server.
func (h *h1Frontend) endStream(c *h1Conn, s *accesslog.Session) {
	c.leaveBackend()
	h.f.ctr.response(s.Status)
	be := c.acct.be
	if be != nil {
		be.ctr.response(s.Status)
		be.ctr.cumReq.Add(1)
	} else if fb := h.f.backend; fb != nil && fb.px == h.f.px {
		// The stream's backend is its frontend's own proxy (haproxy's
		// s->be before the switching rules): a listen's BACKEND row
		// counts the bytes of what its frontend answered alone.
		be = fb
	}
	if be != nil {
		be.ctr.bytesIn.Add(s.BytesFromClient)
		be.ctr.bytesOut.Add(s.BytesToClient)
	}
	if srv := c.acct.srv; srv != nil {
		srv.ctr.bytesIn.Add(s.BytesFromClient)
		srv.ctr.bytesOut.Add(s.BytesToClient)
	}
	c.acct = streamAcct{}
}

// muxError counts a request the HTTP/1 layer answers itself, before any
// stream exists: a request on the frontend, its status, a failed request.
func (h *h1Frontend) muxError(status int) {
	ctr := &h.f.ctr
	ctr.request(h.e.now())
	ctr.response(status)
	ctr.failedReq.Add(1)
}

// deniedRequest counts a request denied by a rule, on the frontend and
// on the stream's backend if it has one.
func (c *h1Conn) deniedRequest(f *Frontend) {
	f.ctr.deniedReq.Add(1)
	if be := c.acct.be; be != nil {
		be.ctr.deniedReq.Add(1)
	}
}

// rejectedRequest counts a request an `http-request reject` killed: on
// the frontend and on the stream's backend, the frontend's own when it
// has none yet (haproxy's s->be).
func (c *h1Conn) rejectedRequest(f *Frontend) {
	f.ctr.deniedReq.Add(1)
	switch be := c.acct.be; {
	case be != nil:
		be.ctr.deniedReq.Add(1)
	case f.backend != nil && f.backend.px == f.px:
		f.backend.ctr.deniedReq.Add(1)
	}
}

// intercepted counts a request the proxy answered itself (return,
// redirect, auth, the stats page) while the stream had no backend other
// than its frontend's own proxy.
func (c *h1Conn) intercepted(f *Frontend) {
	if be := c.acct.be; be == nil || be.px == f.px {
		f.ctr.intercepted.Add(1)
	}
}

// deniedResponseCount counts a response an http-response deny replaced,
// on the frontend, the backend and the server.
func (c *h1Conn) deniedResponseCount() {
	c.h.f.ctr.deniedResp.Add(1)
	if be := c.acct.be; be != nil {
		be.ctr.deniedResp.Add(1)
	}
	if srv := c.acct.srv; srv != nil {
		srv.ctr.deniedResp.Add(1)
	}
}

// assignFailed counts a stream that got no server (none usable, or its
// wait in a queue timed out) as a failed connection of the backend and
// of the server it waited for, as haproxy's srv_redispatch_connect does.
func assignFailed(be *Backend, srv *Server) {
	be.ctr.connErrors.Add(1)
	if srv != nil {
		srv.ctr.connErrors.Add(1)
	}
}

// h1CountConn is a server connection of the HTTP/1 client, counted in
// its backend's h1_* counters as haproxy's HTTP/1 multiplexer counts its
// connections: open and total connections, bytes read and written (after
// TLS).
type h1CountConn struct {
	net.Conn
	ctr  *h1Counters
	once sync.Once
}

func newH1CountConn(c net.Conn, ctr *h1Counters) *h1CountConn {
	ctr.totalConns.Add(1)
	ctr.openConns.Add(1)
	return &h1CountConn{Conn: c, ctr: ctr}
}

func (c *h1CountConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.ctr.bytesIn.Add(int64(n))
	return n, err
}

func (c *h1CountConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.ctr.bytesOut.Add(int64(n))
	return n, err
}

func (c *h1CountConn) Close() error {
	c.once.Do(func() { c.ctr.openConns.Add(-1) })
	return c.Conn.Close()
}

// serverResponse counts a response head a server sent (interim or not).
func serverResponse(srv *Server, status int) {
	srv.ctr.response(status)
	srv.ctr.cumReq.Add(1)
}
