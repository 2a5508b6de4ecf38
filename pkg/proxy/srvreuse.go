package proxy

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
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
// The pool is Go's http.Transport's: a session's requests are sent under
// a key of their own (the URL host), so that the transport reuses only
// the session's connections, and DialContext dials the server's real
// address given in the request's context.

// srvSession holds the server connections one client session opened.
type srvSession struct {
	id     uint64
	mu     sync.Mutex
	conns  map[*sessConn]struct{}
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

// close ends the session: its server connections close.
func (ss *srvSession) close() {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	ss.closed = true
	conns := ss.conns
	ss.conns = nil
	ss.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// sessConn is a server connection of a session.
type sessConn struct {
	net.Conn
	ss *srvSession
}

func (c *sessConn) Close() error {
	c.ss.mu.Lock()
	delete(c.ss.conns, c)
	c.ss.mu.Unlock()
	return c.Conn.Close()
}

// dialTarget is what a request tells its transport's DialContext: the
// server's real address and the session to give the connection to.
type dialTarget struct {
	addr string
	ss   *srvSession
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
