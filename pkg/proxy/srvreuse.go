package proxy

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
)

// Server connection reuse (`http-reuse`), as a server sees it from
// haproxy 2.6 (backend.c, connect_server; mux_h1.c, h1_detach):
//
//   - "safe", the default: the first request of a client session goes
//     over a new server connection, kept for the session's next requests;
//   - "never": the same, the connections never serving another session;
//   - "always": any idle connection to the server serves any request.
//
// With "safe", haproxy may give a session's later requests an idle
// connection another session opened; an HTTP/1 client has one request at
// a time, so its own connection is always idle then, and the server sees
// the same connections opened either way. gproxy keeps a session's
// connections for that session under "safe" too, and closes them when the
// client's connection ends (haproxy keeps them idle for other sessions
// until its pool is purged): the count and the order of the connections a
// server sees are haproxy's, their close comes earlier. The streams of an
// HTTP/2 client are one session, so concurrent streams open one server
// connection each (haproxy may reuse another session's idle one).
//
// The pool is h1Client's (h1client.go): a session's requests are sent
// under a key of their own (the URL host), so that the client reuses only
// the session's connections, and its dial goes to the server's real
// address given in the request's context.

// srvSession holds the server connections one client session opened.
type srvSession struct {
	id     uint64
	mu     sync.Mutex
	conns  map[*sessConn]struct{}
	h2     map[*Server]*http2.ClientConn // the session's HTTP/2 server connections
	h1     map[*h1ServerConn]struct{}    // the session's HTTP/1 server connections (h1client.go)
	closed bool
}

var srvSessionIDs atomic.Uint64

func newSrvSession() *srvSession {
	return &srvSession{id: srvSessionIDs.Add(1)}
}

// track registers c, closed with the session; a session already over
// gets c closed at once.
func (ss *srvSession) track(c net.Conn) net.Conn {
	sc := &sessConn{Conn: c, ss: ss}
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		c.Close()
		return sc
	}
	if ss.conns == nil {
		ss.conns = map[*sessConn]struct{}{}
	}
	ss.conns[sc] = struct{}{}
	ss.mu.Unlock()
	return sc
}

// trackH1 registers an HTTP/1 connection of the session, taken out of
// its client's idle pool when the session ends.
func (ss *srvSession) trackH1(pc *h1ServerConn) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return
	}
	if ss.h1 == nil {
		ss.h1 = map[*h1ServerConn]struct{}{}
	}
	ss.h1[pc] = struct{}{}
	ss.mu.Unlock()
}

// close ends the session: its server connections close.
func (ss *srvSession) close() {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	ss.closed = true
	conns, h1 := ss.conns, ss.h1
	ss.conns, ss.h2, ss.h1 = nil, nil, nil
	ss.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
	for pc := range h1 {
		pc.cl.drop(pc)
	}
}

// sessConn is a server connection of a session.
type sessConn struct {
	net.Conn
	ss *srvSession
}

func (c *sessConn) Close() error {
	// Not waiting for the lock: an HTTP/2 client may close its
	// connection while the session dials under it (sessionH2.conn); the
	// session closes what is left anyway.
	if c.ss.mu.TryLock() {
		delete(c.ss.conns, c)
		c.ss.mu.Unlock()
	}
	return c.Conn.Close()
}

// dialTarget is what a request tells its transport's DialContext: the
// server's real address and the session to give the connection to.
type dialTarget struct {
	addr string
	ss   *srvSession
	srv  *Server // whose TLS settings apply (servers may share an address)
}

type dialTargetKey struct{}

// withDialTarget returns ctx telling DialContext where to dial.
func withDialTarget(ctx context.Context, t *dialTarget) context.Context {
	return context.WithValue(ctx, dialTargetKey{}, t)
}

// dialTargetOf is the dial target in ctx, or nil.
func dialTargetOf(ctx context.Context) *dialTarget {
	t, _ := ctx.Value(dialTargetKey{}).(*dialTarget)
	return t
}

// reuseHost is the URL host a request to srv at addr is sent under: the
// address itself when connections are shared (`http-reuse always`), else
// a name of the session's own, so that Go's pool gives the request only
// the session's connections.
func reuseHost(mode string, ss *srvSession, srv *Server, addr string) string {
	if mode == "always" || ss == nil {
		return addr
	}
	b := make([]byte, 0, 48)
	b = append(b, 's')
	b = strconv.AppendUint(b, ss.id, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(srv.id), 10)
	b = append(b, ".gproxy.invalid:"...)
	b = strconv.AppendInt(b, int64(addrPortNum(addr)), 10)
	return string(b)
}

// sessionH2 sends a request to an HTTP/2 server over the session's own
// connection to it (`http-reuse safe|never`: haproxy attaches an HTTP/2
// server connection to the session that opened it), dialled on first use
// and again when the server will take no more streams on it.
type sessionH2 struct {
	rt    *route
	ss    *srvSession
	srv   *Server
	addr  string
	trace func() // the request's GotConn
}

func (s *sessionH2) RoundTrip(req *http.Request) (*http.Response, error) {
	cc, err := s.conn(req.Context())
	if err != nil {
		return nil, err
	}
	s.trace()
	return cc.RoundTrip(req)
}

func (s *sessionH2) conn(ctx context.Context) (*http2.ClientConn, error) {
	ss := s.ss
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if cc := ss.h2[s.srv]; cc != nil && cc.CanTakeNewRequest() {
		return cc, nil
	}
	if ss.closed {
		return nil, net.ErrClosed
	}
	c, err := s.rt.h2.DialTLSContext(ctx, "tcp", s.addr, nil)
	if err != nil {
		return nil, err
	}
	sc := &sessConn{Conn: c, ss: ss}
	if ss.conns == nil {
		ss.conns = map[*sessConn]struct{}{}
	}
	ss.conns[sc] = struct{}{}
	cc, err := s.rt.h2.NewClientConn(sc)
	if err != nil {
		delete(ss.conns, sc)
		c.Close()
		return nil, err
	}
	if ss.h2 == nil {
		ss.h2 = map[*Server]*http2.ClientConn{}
	}
	ss.h2[s.srv] = cc
	return cc, nil
}
