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
	conns  connSet[*sessConn]
	h2     map[*Server]*http2.ClientConn // the session's HTTP/2 server connections
	h1     connSet[*h1ServerConn]        // the session's HTTP/1 server connections (h1client.go)
	closed bool
	// The last reuseHost of the session: its next requests go to the
	// same server as a rule.
	hostSrv        *Server
	hostAddr, host string
}

// connSet holds a session's connections of one kind: one or two as a
// rule, kept in place (a map per session cost two allocations each).
type connSet[T comparable] struct {
	in   [2]T
	list []T
}

func (s *connSet[T]) add(x T) {
	if s.list == nil {
		s.list = s.in[:0]
	}
	s.list = append(s.list, x)
}

func (s *connSet[T]) remove(x T) {
	for i, y := range s.list {
		if y == x {
			last := len(s.list) - 1
			var zero T
			s.list[i], s.list[last] = s.list[last], zero
			s.list = s.list[:last]
			return
		}
	}
}

// take empties the set for good and returns what it held: the slice may
// be the set's own room, which nothing writes once the session is closed
// (add is never called then, remove finds the set empty).
func (s *connSet[T]) take() []T {
	out := s.list
	s.list = nil
	return out
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
	ss.conns.add(sc)
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
	ss.h1.add(pc)
	ss.mu.Unlock()
}

// close ends the session: its server connections close.
func (ss *srvSession) close() {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	ss.closed = true
	conns, h1 := ss.conns.take(), ss.h1.take()
	ss.h2 = nil
	ss.mu.Unlock()
	for _, c := range conns {
		c.Conn.Close()
	}
	for _, pc := range h1 {
		if pc.cl.drop(pc) {
			pc.release() // idle, and closed above
			pc.stopKill()
		}
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
		c.ss.conns.remove(c)
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
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.hostSrv == srv && ss.hostAddr == addr {
		return ss.host
	}
	b := make([]byte, 0, 48)
	b = append(b, 's')
	b = strconv.AppendUint(b, ss.id, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(srv.id), 10)
	b = append(b, ".gproxy.invalid:"...)
	b = strconv.AppendInt(b, int64(addrPortNum(addr)), 10)
	ss.hostSrv, ss.hostAddr, ss.host = srv, addr, string(b)
	return ss.host
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
	trace func(reused bool) // the request's GotConn
}

func (s *sessionH2) RoundTrip(req *http.Request) (*http.Response, error) {
	cc, reused, err := s.conn(req.Context())
	if err != nil {
		return nil, err
	}
	s.trace(reused)
	return cc.RoundTrip(req)
}

// conn is the session's connection to the server, reused (a new stream
// on it, which haproxy counts as a reuse) or dialled.
func (s *sessionH2) conn(ctx context.Context) (*http2.ClientConn, bool, error) {
	ss := s.ss
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if cc := ss.h2[s.srv]; cc != nil && cc.CanTakeNewRequest() {
		return cc, true, nil
	}
	if ss.closed {
		return nil, false, net.ErrClosed
	}
	c, err := s.rt.h2.DialTLSContext(ctx, "tcp", s.addr, nil)
	if err != nil {
		return nil, false, err
	}
	sc := &sessConn{Conn: c, ss: ss}
	ss.conns.add(sc)
	cc, err := s.rt.h2.NewClientConn(sc)
	if err != nil {
		ss.conns.remove(sc)
		c.Close()
		return nil, false, err
	}
	if ss.h2 == nil {
		ss.h2 = map[*Server]*http2.ClientConn{}
	}
	ss.h2[s.srv] = cc
	return cc, false, nil
}
