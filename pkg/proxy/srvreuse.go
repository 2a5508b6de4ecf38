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
//   - "never": a session's server connections are its own (private),
//     reused by its later requests and closed with it;
//   - "safe", the default, "aggressive" and "always": a server
//     connection whose response ended goes to its server's pool, shared
//     by every session, if the pool takes it (idlepool.go: the
//     descriptor ratios, pool-max-conn, the estimated need); a session's
//     later request takes an idle connection there, a first request
//     opens a new one under "safe", takes one that served two requests
//     under "aggressive", any under "always".
//
// The streams of an HTTP/2 client are later requests (haproxy marks
// every stream so). HTTP/2 servers: under "safe", "aggressive" and
// "never" each client session has its own connection to a server
// (sessionH2; haproxy attaches an HTTP/2 server connection to the
// session that opened it under "safe", and may give it to another
// session once idle); under "always" every client shares them (x/net's
// pool).
//
// The pool is h1Client's (h1client.go): requests are sent under a key
// (reuseHost: the session's own under "never", else the server's), and
// the dial goes to the server's real address given in the request's
// dialTarget.

// srvSession holds the server connections one client session opened.
type srvSession struct {
	id     uint64
	mu     sync.Mutex
	conns  connSet[*sessConn]
	h2     map[*Server]*http2.ClientConn // the session's HTTP/2 server connections
	h2c    map[*Server]net.Conn          // and their connections (bc_err, ssl_bc_*)
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

// reuseHost is the URL host a request to srv at addr is sent under, the
// key of its pool (idlepool.go): under `http-reuse never` a name of the
// session's own, so that the request gets only the session's
// connections; else one of the server's, whose pool every session
// shares (servers may share an address; haproxy's connection hash names
// the server).
func reuseHost(mode string, ss *srvSession, srv *Server, addr string) string {
	if ss == nil {
		return addr
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.hostSrv == srv && ss.hostAddr == addr {
		return ss.host
	}
	b := make([]byte, 0, 48)
	if mode == "never" {
		b = append(b, 's')
		b = strconv.AppendUint(b, ss.id, 10)
		b = append(b, '-')
	} else {
		b = append(b, 'p')
	}
	b = strconv.AppendUint(b, srv.poolID(), 10)
	b = append(b, ".gproxy.invalid:"...)
	b = strconv.AppendInt(b, int64(addrPortNum(addr)), 10)
	ss.hostSrv, ss.hostAddr, ss.host = srv, addr, string(b)
	return ss.host
}

var serverPoolIDs atomic.Uint64

// poolID numbers the server for the keys of its pools: unique in the
// process (a server deleted and added again under its name and id is
// another server, with other connections).
func (s *Server) poolID() uint64 {
	if id := s.pool.Load(); id != 0 {
		return id
	}
	s.pool.CompareAndSwap(0, serverPoolIDs.Add(1))
	return s.pool.Load()
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
	trace func(c net.Conn, reused bool) // the request's GotConn
}

func (s *sessionH2) RoundTrip(req *http.Request) (*http.Response, error) {
	cc, c, reused, err := s.conn(req.Context())
	if err != nil {
		return nil, err
	}
	s.trace(c, reused)
	return cc.RoundTrip(req)
}

// conn is the session's connection to the server, reused (a new stream
// on it, which haproxy counts as a reuse) or dialled.
func (s *sessionH2) conn(ctx context.Context) (*http2.ClientConn, net.Conn, bool, error) {
	ss := s.ss
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if cc := ss.h2[s.srv]; cc != nil && cc.CanTakeNewRequest() {
		return cc, ss.h2c[s.srv], true, nil
	}
	if ss.closed {
		return nil, nil, false, net.ErrClosed
	}
	c, err := s.rt.h2.DialTLSContext(ctx, "tcp", s.addr, nil)
	if err != nil {
		return nil, nil, false, err
	}
	sc := &sessConn{Conn: c, ss: ss}
	ss.conns.add(sc)
	cc, err := s.rt.h2.NewClientConn(sc)
	if err != nil {
		ss.conns.remove(sc)
		c.Close()
		return nil, nil, false, err
	}
	if ss.h2 == nil {
		ss.h2, ss.h2c = map[*Server]*http2.ClientConn{}, map[*Server]net.Conn{}
	}
	ss.h2[s.srv], ss.h2c[s.srv] = cc, c
	return cc, c, false, nil
}
