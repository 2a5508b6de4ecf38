package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// h1Client is the HTTP/1 client side towards a backend's servers, in
// place of net/http.Transport: a request is written and its response
// head read on the goroutine serving the client (Go's client hands each
// request to two goroutines of its own per server connection), over
// server connections pooled by the request's URL host (reuseHost: the
// session's own key, or the server's address under `http-reuse always`).
//
// What a server and the rest of forward see is what Go's client gave
// them: the head headConn substitutes, the body written by
// http.Request.Write, the trace's ConnectDone, GotConn and Got1xxResponse,
// the response parsed by http.ReadResponse, `timeout server` for the
// response head once the request is written, an idle connection
// closed after IdleConnTimeout or when the server closed it, a
// replayable request retried once on a fresh connection when a reused
// one turns out closed.
type h1Client struct {
	be          *Backend
	heads       *headTable
	dialer      *net.Dialer
	respTimeout time.Duration // the response head, once the request is written
	idleTimeout time.Duration

	// killWatches counts the connections whose callback the engine's
	// kill still holds (stopKill forgets one).
	killWatches atomic.Int64

	// reuse is the backend's `http-reuse`; private: the client serves
	// one client connection (its PROXY header), whose pools are its own.
	reuse   string
	private bool
	fds     *fdGauge // the engine's descriptor estimate; nil: no limit
	threads int      // haproxy threads the per-thread rule counts

	mu        sync.Mutex
	pools     map[string]*h1Pool // by key (reuseHost), idlepool.go
	closeIdle bool               // close connections as they become idle
}

// h1ServerConn is one server connection of an h1Client.
type h1ServerConn struct {
	cl     *h1Client
	key    string
	conn   net.Conn        // headConn over the dialled connection
	raw    syscall.RawConn // the socket, for the check before reuse; nil if none
	tls    bool            // the socket carries TLS: pending bytes are not a reply
	br     *bufio.Reader
	bw     *bufio.Writer // made for the first request with a body
	nwrite int64         // bytes written to the connection
	// readLimit bounds what a response head may read (Go's client's
	// 10 MiB: a server sending an endless head gets a 502, not our memory).
	readLimit int64
	reused    bool
	ss        *srvSession // the session the connection serves; nil if shared
	pool      *h1Pool     // its pool, which counts it (idlepool.go)
	state     pcState     // in pool's lists or used (under cl.mu)
	nreq      int         // requests sent on it
	counted   bool        // counted in cl.fds
	timer     *time.Timer
	peekFn    func(fd uintptr) bool
	peekN     int
	peekOK    bool
	// unchecked: taken idle, its check before reuse (alive) is left to
	// roundTrip, which makes it with the request's write (sendWait).
	unchecked bool
	cnt       *h1CountConn // the counting layer, for sendWait's write
	// sendWait's state: the callback made once, the head to write, what
	// became of the write (the request's hooks, bytes written, error).
	swFn    func(fd uintptr) bool
	swHead  []byte
	swHooks h1Hooks
	swN     int
	swState uint8
	// released: br went back to h1Readers (close, once).
	released atomic.Bool

	// The exchange in progress (roundTrip).
	aborted atomic.Bool // the request's context ended: the connection is closed
	abortFn func()      // pc.abort, made once
	stop    func() bool // stops the context's callback; false if it ran
	stopFn  func() bool // pc.stopExchange, made once
	// killStop stops the engine kill's callback, registered once per
	// connection by its first request of forward's (not per request):
	// the kill aborts whatever exchange runs on it, or closes it idle.
	killStop func() bool
	send     *h1Send // forward's request, whose cancel aborts the exchange
	hooks    h1Hooks
	hmu      sync.Mutex
	headDone bool // the response head is read: no deadline for it any more
}

// alwaysStopped is the stop of a request whose context never ends.
func alwaysStopped() bool { return true }

// abort ends the exchange of a request whose context ended.
func (pc *h1ServerConn) abort() {
	pc.aborted.Store(true)
	pc.conn.Close()
}

// stopExchange is the stop of a request of forward's: no abort once it
// returns; false if the exchange was aborted.
func (pc *h1ServerConn) stopExchange() bool {
	if s := pc.send; s != nil {
		s.detach(pc)
		pc.send = nil
	}
	// A kill whose callback runs now closes the connection after this
	// returns: the pool drops it, as every exchange after a kill fails.
	return !pc.aborted.Load()
}

// fail ends an exchange that failed: the connection is closed, the error
// is the context's when it ended.
func (pc *h1ServerConn) fail(ctx context.Context, err error) (*http.Response, error) {
	pc.stop()
	pc.close()
	if pc.aborted.Load() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The engine's kill, seen before its cancel reached ctx.
		return nil, context.Canceled
	}
	return nil, err
}

// armHeadTimer starts the wait for the response head once the request
// is written.
func (pc *h1ServerConn) armHeadTimer() {
	if pc.hooks != nil {
		pc.hooks.wroteRequest()
	}
	if pc.cl.respTimeout > 0 {
		pc.hmu.Lock()
		if !pc.headDone {
			_ = pc.conn.SetReadDeadline(time.Now().Add(pc.cl.respTimeout))
		}
		pc.hmu.Unlock()
	}
}

// testHookH1Client, when set, is given every h1Client made.
var testHookH1Client atomic.Pointer[func(*h1Client)]

func newH1Client(be *Backend, heads *headTable) *h1Client {
	bt := be.px.Timeouts
	cl := &h1Client{
		be:          be,
		heads:       heads,
		dialer:      be.dialer,
		respTimeout: bt.Server,
		idleTimeout: firstSet(bt.HTTPKeepAlive, 90*time.Second),
		reuse:       be.reuseMode(),
		fds:         be.fds,
		threads:     max(be.poolThreads, 1),
	}
	if be.ownHdrTimer {
		cl.respTimeout = 0 // timed per request (settimeout.go), from the trace's WroteRequest
	}
	if cl.reuse == "" {
		cl.reuse = "safe"
	}
	if hook := testHookH1Client.Load(); hook != nil {
		(*hook)(cl)
	}
	return cl
}

// h1Send is what forward gives h1Client beside a request, in place of
// the values and the trace a RoundTripper finds in the request's
// context: no context is made per request, only for a dial.
type h1Send struct {
	ctx    context.Context // the request's: its end cancels the exchange
	target *dialTarget     // where to dial, for which session; nil: the URL host
	pp     *ppClient       // the client whose PROXY header a new connection sends
	hooks  h1Hooks         // nil: none
	// entry is the head to write for a request without a body; nil: the
	// head registered under the request's placeholder target, if any.
	entry *headEntry
	// fromCtx: ctx itself carries target, pp and trace (RoundTrip).
	fromCtx bool
	// kill is the engine's kill, which ends the exchange (forward's
	// requests: ctx's end is abort, called by forward's cancel).
	kill context.Context
	// notFirst: a later request of its session (haproxy's TX_NOT_FIRST),
	// which may take an idle connection under `http-reuse safe`.
	notFirst bool
	// room, when set, takes a response head parsed in place (one
	// allocation with the caller's request); noHeader leaves that
	// response's Header map unbuilt (nil): the caller reads only the
	// ordered fields its head entry gets.
	room     *respRoom
	noHeader bool

	amu      sync.Mutex
	cur      *h1ServerConn // the exchange in progress
	canceled bool          // abort was called

	tgt dialTarget // target's room
	ppv ppClient   // pp's room
}

// abort ends the request: the exchange in progress, and any started
// after, has its connection closed (what the end of a request's context
// does to a RoundTrip's).
func (s *h1Send) abort() {
	s.amu.Lock()
	s.canceled = true
	if pc := s.cur; pc != nil {
		pc.abort()
	}
	s.amu.Unlock()
}

// attach makes pc the exchange abort ends.
func (s *h1Send) attach(pc *h1ServerConn) {
	s.amu.Lock()
	s.cur = pc
	if s.canceled {
		pc.abort()
	}
	s.amu.Unlock()
}

func (s *h1Send) detach(pc *h1ServerConn) {
	s.amu.Lock()
	if s.cur == pc {
		s.cur = nil
	}
	s.amu.Unlock()
}

// dialContext is the context a dial reads its target, PROXY client and
// trace from (dialTLS, dialProxy, net.Dialer's ConnectDone).
func (s *h1Send) dialContext() context.Context {
	ctx := s.ctx
	if s.fromCtx {
		return ctx
	}
	if s.target != nil {
		ctx = withDialTarget(ctx, s.target)
	}
	if s.pp != nil {
		ctx = context.WithValue(ctx, ppKey{}, *s.pp)
	}
	if s.hooks != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{ConnectDone: s.hooks.connectDone})
	}
	return ctx
}

// h1Hooks are told what becomes of a request h1Client sends: forward's
// state (fwdState) takes them without a closure each, RoundTrip passes
// them on to the request's httptrace.ClientTrace.
type h1Hooks interface {
	connectDone(network, addr string, err error) // a dial's connect (and TLS handshake) ended
	gotConn(c net.Conn, reused bool)
	wroteRequest()
	// got1xx is an interim response; handled is false when nobody
	// listens (the head then counts against the next one's limit).
	got1xx(code int, h textproto.MIMEHeader) (handled bool, err error)
}

// traceHooks are the hooks of an httptrace.ClientTrace.
type traceHooks struct{ t *httptrace.ClientTrace }

func (h traceHooks) connectDone(network, addr string, err error) {
	if h.t.ConnectDone != nil {
		h.t.ConnectDone(network, addr, err)
	}
}

func (h traceHooks) gotConn(c net.Conn, reused bool) {
	if h.t.GotConn != nil {
		h.t.GotConn(httptrace.GotConnInfo{Conn: c, Reused: reused})
	}
}

func (h traceHooks) wroteRequest() {
	if h.t.WroteRequest != nil {
		h.t.WroteRequest(httptrace.WroteRequestInfo{})
	}
}

func (h traceHooks) got1xx(code int, hd textproto.MIMEHeader) (bool, error) {
	if h.t.Got1xxResponse == nil {
		return false, nil
	}
	return true, h.t.Got1xxResponse(code, hd)
}

// dial opens a connection to the server at addr (the request's dial
// target, else the URL host): TCP or a UNIX socket, the PROXY header,
// TLS, given to the session.
func (cl *h1Client) dial(s *h1Send, addr string) (*h1ServerConn, error) {
	be, bt := cl.be, cl.be.px.Timeouts
	ctx := s.dialContext()
	target := s.target // the real address, the session (srvreuse.go)
	if target != nil {
		addr = target.addr
	}
	c, err := dialServer(ctx, cl.dialer, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &h1ServerConn{cl: cl}
	if sc, ok := c.(syscall.Conn); ok {
		pc.raw, _ = sc.SyscallConn()
	}
	if be.pp.Load() {
		if err := dialProxy(ctx, be, addr, c, bt.Connect); err != nil {
			c.Close()
			return nil, err
		}
	}
	base := c
	if c, err = dialTLS(ctx, be, "tcp", addr, c, bt.Connect); err != nil {
		return nil, err
	}
	pc.tls = c != base
	pc.cnt = newH1CountConn(c, &be.ctr.h1)
	c = pc.cnt
	if target != nil && target.ss != nil {
		c = target.ss.track(c)
		pc.ss = target.ss
		target.ss.trackH1(pc)
	}
	pc.conn = &headConn{Conn: c, t: cl.heads}
	if cl.fds != nil {
		cl.fds.servers.Add(1)
		pc.counted = true
	}
	pc.readLimit = maxInt64
	pc.br = h1Readers.Get().(*bufio.Reader)
	pc.br.Reset(h1Reader{pc})
	return pc, nil
}

// h1Readers hold the read buffers of server connections: a connection
// takes one when dialled and gives it back when closed (with
// `Connection: close` that is a buffer per request).
var h1Readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// maxRespHeadBytes is the most a response head (its 1xx included) reads.
const maxRespHeadBytes = 10 << 20

const maxInt64 = 1<<63 - 1

var errH1HeadTooBig = errors.New("proxy: server response head over 10 MiB")

// h1Reader reads a server connection within its readLimit.
type h1Reader struct{ pc *h1ServerConn }

func (r h1Reader) Read(p []byte) (int, error) {
	pc := r.pc
	if pc.readLimit <= 0 {
		return 0, errH1HeadTooBig
	}
	if int64(len(p)) > pc.readLimit {
		p = p[:pc.readLimit]
	}
	n, err := pc.conn.Read(p)
	pc.readLimit -= int64(n)
	return n, err
}

// h1Writer writes to a server connection; a body too big for the write
// buffer goes straight to the connection (as Go's client writes it).
type h1Writer struct{ pc *h1ServerConn }

func (w h1Writer) Write(p []byte) (int, error) {
	n, err := w.pc.conn.Write(p)
	w.pc.nwrite += int64(n)
	return n, err
}

func (w h1Writer) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{w}, r)
}

// alive tells whether an idle connection can take a request: nothing
// arrived on it, not even the server's close (Go's client learns that
// from the read it keeps pending on every idle connection).
func (pc *h1ServerConn) alive() bool {
	if pc.br != nil && pc.br.Buffered() > 0 {
		return false
	}
	if pc.raw == nil {
		return true
	}
	if !pc.tls {
		// roundTrip checks it, with the request's write when it can.
		pc.unchecked = true
		return true
	}
	return pc.check()
}

// aliveNow is alive with the peek made at once, where no request
// follows to make it (the idle pool's sweep).
func (pc *h1ServerConn) aliveNow() bool {
	if pc.br != nil && pc.br.Buffered() > 0 {
		return false
	}
	return pc.raw == nil || pc.check()
}

// check peeks at the socket of an idle connection (alive).
func (pc *h1ServerConn) check() bool {
	if pc.peekFn == nil {
		pc.peekFn = pc.peek // made once: no closure per request
	}
	pc.peekN, pc.peekOK = 0, false
	if err := pc.raw.Read(pc.peekFn); err != nil {
		return false
	}
	// Bytes waiting on a TLS connection may be a record of the session
	// (a ticket): the connection is alive unless the server closed it.
	return pc.peekOK || (pc.tls && pc.peekN > 0)
}

// peek looks at the socket without waiting: EAGAIN is an open, silent
// connection (peekOK), else peekN bytes are waiting (0: the server's close).
func (pc *h1ServerConn) peek(fd uintptr) bool {
	var buf [1]byte
	m, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case e == syscall.EAGAIN:
		pc.peekOK = true
	case e == nil:
		pc.peekN = m
	}
	return true
}

// pool is the pool of key, made for srv on first use. Under cl.mu.
func (cl *h1Client) pool(key string, srv *Server) *h1Pool {
	p := cl.pools[key]
	if p == nil {
		if cl.pools == nil {
			cl.pools = map[string]*h1Pool{}
		}
		p = &h1Pool{key: key, srv: srv, shared: !cl.private && cl.reuse != "never" && srv != nil}
		cl.pools[key] = p
		if p.shared {
			srv.pools.add(cl, p)
		}
	}
	return p
}

// get takes an idle connection for key that is still open, or nil:
// notFirst is a later request of its session (idlepool.go).
func (cl *h1Client) get(key string, notFirst bool) *h1ServerConn {
	for {
		cl.mu.Lock()
		cl.closeIdle = false
		p := cl.pools[key]
		if p == nil {
			cl.mu.Unlock()
			return nil
		}
		pc := cl.takeIdle(p, notFirst)
		if pc == nil {
			cl.mu.Unlock()
			return nil
		}
		p.use(pc)
		cl.mu.Unlock()
		pc.timer.Stop()
		if pc.alive() {
			pc.reused = true
			if pc.br == nil {
				pc.br = h1Readers.Get().(*bufio.Reader)
				pc.br.Reset(h1Reader{pc})
			}
			return pc
		}
		pc.close()
	}
}

// put makes pc idle, or closes it: after CloseIdleConnections, the end
// of its session (an HTTP/2 client's stream may end after its session),
// or when its server's pool does not take it (idlepool.go).
func (cl *h1Client) put(pc *h1ServerConn) {
	if ss := pc.ss; ss != nil {
		ss.mu.Lock()
		closed := ss.closed
		ss.mu.Unlock()
		if closed {
			pc.close()
			return
		}
	}
	if pc.br.Buffered() > 0 {
		// Bytes after the response: unusable (haproxy's h1_detach
		// closes such a connection rather than keep it idle).
		pc.close()
		return
	}
	// Idle, it holds no read buffer (get gives it one).
	pc.br.Reset(nil)
	h1Readers.Put(pc.br)
	pc.br = nil
	cl.mu.Lock()
	p := pc.pool
	if cl.closeIdle || p == nil || (p.shared && !cl.admit(p, pc.nreq > 1) && !cl.sweepAdmit(p, pc.nreq > 1)) {
		cl.mu.Unlock()
		pc.close()
		return
	}
	p.used--
	if p.shared && pc.nreq > 1 {
		pc.state = pcSafe
		p.safe = append(p.safe, pc)
	} else {
		pc.state = pcIdle
		p.idle = append(p.idle, pc)
	}
	if p.shared {
		cl.armPurge(p)
		p.show()
	}
	if pc.timer == nil {
		pc.timer = time.AfterFunc(cl.idleTimeout, pc.expire)
	} else {
		pc.timer.Reset(cl.idleTimeout)
	}
	cl.mu.Unlock()
}

// expire closes pc if it is still idle.
func (pc *h1ServerConn) expire() {
	if pc.cl.drop(pc) {
		pc.close()
	}
}

// drop takes pc out of the idle pool; false if it was not there.
func (cl *h1Client) drop(pc *h1ServerConn) bool {
	cl.mu.Lock()
	p := pc.pool
	switch {
	case p != nil && pc.state == pcIdle:
		removeConn(&p.idle, pc)
	case p != nil && pc.state == pcSafe:
		removeConn(&p.safe, pc)
	default:
		cl.mu.Unlock()
		return false
	}
	pc.state = pcNone
	p.show()
	cl.forgetPool(p)
	cl.mu.Unlock()
	if pc.timer != nil {
		pc.timer.Stop()
	}
	return true
}

// forgetPool drops a session's pool once it holds no connection (a
// server's stays). Under cl.mu.
func (cl *h1Client) forgetPool(p *h1Pool) {
	if !p.shared && p.used == 0 && p.nIdle() == 0 && cl.pools[p.key] == p {
		delete(cl.pools, p.key)
	}
}

// close closes the connection and forgets it in its pool and session.
func (pc *h1ServerConn) close() {
	pc.conn.Close()
	pc.stopKill()
	pc.release()
	cl := pc.cl
	cl.mu.Lock()
	if p := pc.pool; p != nil {
		switch pc.state {
		case pcUsed:
			p.used--
		case pcIdle:
			removeConn(&p.idle, pc)
		case pcSafe:
			removeConn(&p.safe, pc)
		}
		pc.state = pcNone
		p.show()
		cl.forgetPool(p)
	}
	cl.mu.Unlock()
	if ss := pc.ss; ss != nil && ss.mu.TryLock() {
		// Not waiting: the session closes what is left anyway.
		ss.h1.remove(pc)
		ss.mu.Unlock()
	}
}

// stopKill forgets the engine kill's callback of a connection that
// ends (the kill context would keep it otherwise).
func (pc *h1ServerConn) stopKill() {
	if pc.killStop != nil && pc.killStop() {
		pc.cl.killWatches.Add(-1)
	}
}

// release gives br back to h1Readers and the descriptor back to the
// engine's count. Nothing reads br once the connection is closed: close
// runs on the goroutine reading it, or on an idle connection.
func (pc *h1ServerConn) release() {
	if !pc.released.CompareAndSwap(false, true) {
		return
	}
	if pc.counted {
		pc.cl.fds.servers.Add(-1)
	}
	if pc.br != nil {
		pc.br.Reset(nil)
		h1Readers.Put(pc.br)
	}
}

// CloseIdleConnections closes the idle connections, and those becoming
// idle until the next request.
func (cl *h1Client) CloseIdleConnections() {
	cl.mu.Lock()
	var idle []*h1ServerConn
	for _, p := range cl.pools {
		for _, l := range [][]*h1ServerConn{p.idle, p.safe} {
			for _, pc := range l {
				pc.state = pcNone
				idle = append(idle, pc)
			}
		}
		p.idle, p.safe = nil, nil
		p.show()
	}
	cl.closeIdle = true
	cl.mu.Unlock()
	for _, pc := range idle {
		pc.close()
	}
}

var (
	errH1MissingHost   = errors.New("proxy: request without a host")
	errH1InvalidMethod = errors.New("proxy: invalid method")
	errH1ServerClosed  = errors.New("proxy: server closed the connection before its response")
)

// h1NothingWritten is a write error before any byte reached the server.
type h1NothingWritten struct{ error }

func (e h1NothingWritten) Unwrap() error { return e.error }

// h1ReadFirstError is a failure to read the response's first byte.
type h1ReadFirstError struct{ error }

func (e h1ReadFirstError) Unwrap() error { return e.error }

// replayable is Go's client's rule for sending a request again.
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	switch req.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "":
		return true
	}
	return false
}

// RoundTrip sends req and reads its response head; the response body
// gives the connection back when read to its end.
func (cl *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	s := &h1Send{ctx: ctx, target: dialTargetOf(ctx), fromCtx: true}
	if t := httptrace.ContextClientTrace(ctx); t != nil {
		s.hooks = traceHooks{t}
	}
	return cl.send(req, s)
}

// send is RoundTrip with the request's facts given in s.
func (cl *h1Client) send(req *http.Request, s *h1Send) (*http.Response, error) {
	if req.URL == nil || req.URL.Host == "" {
		closeReqBody(req)
		return nil, errH1MissingHost
	}
	if req.Method != "" && !httpguts.ValidHeaderFieldName(req.Method) {
		closeReqBody(req)
		return nil, errH1InvalidMethod
	}
	ctx := s.ctx
	key := req.URL.Host
	for {
		if err := ctx.Err(); err != nil {
			closeReqBody(req)
			return nil, err
		}
		var srv *Server
		if s.target != nil {
			srv = s.target.srv
		}
		pc := cl.get(key, s.notFirst)
		if pc != nil && s.target != nil && s.target.srv != nil && pc.tls != s.target.srv.TLSOn() {
			// `set server ... ssl` changed since it was opened.
			pc.close()
			pc = nil
		}
		if pc == nil {
			cl.mu.Lock()
			p := cl.pool(key, srv)
			cl.mu.Unlock()
			cl.killOneIdle(p) // over the high descriptor count
			var err error
			if pc, err = cl.dial(s, key); err != nil {
				closeReqBody(req)
				return nil, err
			}
			pc.key = key
			cl.mu.Lock()
			pc.pool = p
			p.use(pc)
			cl.mu.Unlock()
		}
		resp, err := pc.roundTrip(ctx, req, s)
		if err == nil {
			return resp, nil
		}
		if err == errIdleClosed {
			continue // seen before anything was sent or counted: another
		}
		if !pc.reused {
			return nil, err
		}
		var nw h1NothingWritten
		var rf h1ReadFirstError
		switch {
		case errors.As(err, &nw) && (req.Body == nil || req.Body == http.NoBody):
		case replayable(req) && errors.As(err, &rf) && !isTimeout(err):
		default:
			return nil, err
		}
	}
}

// errIdleClosed is roundTrip's for an idle connection found closed (or
// sent to) by its check before reuse: send takes another, as get does.
var errIdleClosed = errors.New("proxy: idle server connection closed")

// begin reports the connection the request goes out on (what send did
// before roundTrip): its trace, the stream counted.
func (pc *h1ServerConn) begin(hooks h1Hooks) {
	pc.nreq++
	if hooks != nil {
		hooks.gotConn(pc.conn, pc.reused)
	}
	pc.cl.be.ctr.h1.totalStreams.Add(1)
}

// sendWait's outcomes.
const (
	swIdleClosed = iota + 1 // the check found the connection unusable: nothing written
	swWritten               // the head went out whole: the wait for the response followed
	swPartial               // swN bytes went out (maybe 0), the rest is left to the caller
)

// sendWait checks a reused connection, writes a request head and waits
// for the response's first bytes in one turn of the socket's poller: the
// wait begins before the write, so the readiness of the response is not
// lost, and the first read of the response finds it (else Go's poller
// forgets a readiness it saw before a read begins: each wait would start
// with a read ending in EAGAIN). The check is alive's (a peek, after
// which nothing that arrives is missed), made with the hooks given only
// once it passed. A write that does not go out whole, a deadline or a
// close leaves the rest to the ordinary write and read, which then see
// the same.
func (pc *h1ServerConn) sendWait(head []byte, hooks h1Hooks) {
	if pc.swFn == nil {
		pc.swFn = pc.sendWaitStep // made once: no closure per request
	}
	pc.swHead, pc.swHooks, pc.swN, pc.swState = head, hooks, 0, 0
	_ = pc.raw.Read(pc.swFn)
	pc.swHead, pc.swHooks = nil, nil
}

// sendWaitStep is sendWait's callback: first the check and the write,
// then (called again once readable) the end of the wait.
func (pc *h1ServerConn) sendWaitStep(fd uintptr) bool {
	if pc.swState != 0 {
		return true // readable: the response (or the server's close) came
	}
	pc.peekN, pc.peekOK = 0, false
	pc.peek(fd)
	if !pc.peekOK {
		pc.swState = swIdleClosed
		return true
	}
	pc.begin(pc.swHooks)
	pc.swState = swPartial
	var n int
	var err error
	for {
		n, err = syscall.Write(int(fd), pc.swHead)
		if err != syscall.EINTR {
			break
		}
	}
	if n > 0 {
		pc.swN = n
		pc.nwrite += int64(n)
		pc.cnt.ctr.bytesOut.Add(int64(n))
	}
	if err != nil || n != len(pc.swHead) {
		return true
	}
	pc.swState = swWritten
	pc.armHeadTimer() // the deadline applies to the wait that follows
	return false
}

func closeReqBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// aLongTimeAgo is a deadline in the past: the pending read returns.
var aLongTimeAgo = time.Unix(1, 0)

func (pc *h1ServerConn) roundTrip(ctx context.Context, req *http.Request, s *h1Send) (*http.Response, error) {
	hooks, entry := s.hooks, s.entry
	// A cancelled request (engine killed, `timeout server` on the body)
	// closes the connection, ending the read in progress. The state of
	// the exchange lives on pc (one request at a time): no closure per
	// request. A reused connection has no callback of an earlier request
	// left: finish keeps it only when its stop succeeded.
	pc.aborted.Store(false)
	if pc.abortFn == nil {
		pc.abortFn, pc.stopFn = pc.abort, pc.stopExchange
	}
	pc.stop = alwaysStopped
	switch {
	case !s.fromCtx:
		// forward's request: its cancel calls s.abort, the engine's
		// kill is watched here (no callback on a context per request).
		if pc.killStop == nil && s.kill != nil && s.kill.Done() != nil {
			pc.killStop = context.AfterFunc(s.kill, pc.abortFn)
			pc.cl.killWatches.Add(1)
		}
		pc.send, pc.stop = s, pc.stopFn
		s.attach(pc)
	case ctx.Done() != nil:
		pc.stop = context.AfterFunc(ctx, pc.abortFn)
	}
	pc.hooks, pc.headDone = hooks, false

	hasBody := req.Body != nil && req.Body != http.NoBody
	hc, _ := pc.conn.(*headConn)
	if entry == nil && hc != nil && !hasBody && req.URL != nil {
		entry, _ = hc.t.lookupTarget(req.URL.Opaque)
	}
	var wrote chan error // the body's writer's result
	switch {
	case !hasBody && pc.unchecked && entry != nil && hc != nil && pc.cnt != nil:
		pc.unchecked = false
		hc.prepareHead(entry)
		pc.sendWait(entry.head, hooks)
		switch pc.swState {
		case swIdleClosed:
			hc.prepareHead(nil)
			pc.stop()
			pc.close()
			return nil, errIdleClosed
		case 0:
			// Closed (aborted) before the check: the ordinary way
			// fails as before.
			pc.begin(hooks)
			if err := pc.write(req, entry); err != nil {
				return pc.fail(ctx, err)
			}
			pc.armHeadTimer()
		case swPartial:
			// The rest the ordinary way, which reports its error.
			start := pc.nwrite - int64(pc.swN)
			n, err := hc.Conn.Write(entry.head[pc.swN:])
			pc.nwrite += int64(n)
			if err != nil {
				if pc.nwrite == start {
					err = h1NothingWritten{err}
				}
				return pc.fail(ctx, err)
			}
			pc.armHeadTimer()
		}
	case pc.unchecked && !pc.check():
		pc.unchecked = false
		pc.stop()
		pc.close()
		return nil, errIdleClosed
	default:
		pc.unchecked = false
		pc.begin(hooks)
		if hasBody {
			break
		}
		if err := pc.write(req, entry); err != nil {
			return pc.fail(ctx, err)
		}
		pc.armHeadTimer()
		// The response cannot be there yet: the goroutines ready to
		// run go first, and the read after them more often finds it
		// than ends in EAGAIN (a new connection has no sendWait).
		runtime.Gosched()
	}
	if hasBody {
		// The body is written while the response is read: a server may
		// answer before reading all of it.
		wrote = make(chan error, 1)
		go func() {
			err := pc.write(req, entry)
			if err != nil {
				pc.conn.Close()
			} else {
				pc.armHeadTimer()
			}
			wrote <- err
		}()
	}

	var resp *http.Response
	var room *respRoom // resp's, when parsed in place
	var err error
	first := true
	pc.readLimit = maxRespHeadBytes
	for {
		if first {
			if _, perr := pc.br.Peek(1); perr != nil {
				err = perr
				if perr == io.EOF {
					err = errH1ServerClosed
				}
				err = h1ReadFirstError{err}
				break
			}
			first = false
		}
		buf, _ := pc.br.Peek(pc.br.Buffered())
		if len(buf) > 0 {
			// The common head, whole in the buffer: parsed in place.
			var n int
			var ok bool
			// Without an entry the fields reach nobody but through
			// the map: it is built then.
			if room, n, ok = parseRespHead(buf, req, s.room, !s.noHeader || entry == nil); ok {
				resp = &room.resp
				if hc != nil {
					hc.parsedInPlace()
				}
				if entry != nil {
					entry.setParsed(room, buf[n:])
				}
				_, _ = pc.br.Discard(n)
				break
			}
		}
		if hc != nil {
			// Go's reader parses it: the capture sees it from its start.
			hc.capturePending(buf)
		}
		te10 := http10Chunked(pc.br)
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			break
		}
		if te10 {
			chunkedHTTP10(resp)
		}
		code := resp.StatusCode
		if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
			if hooks != nil {
				handled, terr := hooks.got1xx(code, textproto.MIMEHeader(resp.Header))
				if terr != nil {
					resp, err = nil, terr
					break
				}
				if handled {
					pc.readLimit = maxRespHeadBytes // as Go's client: each head its own limit once passed on
				}
			}
			continue
		}
		break
	}
	pc.hmu.Lock()
	pc.headDone = true
	pc.hmu.Unlock()
	pc.readLimit = maxInt64 // no limit on bodies
	if err != nil {
		if wrote != nil {
			if werr := <-wrote; werr != nil {
				err = werr
			}
		}
		return pc.fail(ctx, err)
	}
	if pc.cl.respTimeout > 0 {
		_ = pc.conn.SetReadDeadline(time.Time{})
	}
	keep := !resp.Close && !req.Close && resp.StatusCode >= 200
	var b *h1Body
	if room != nil && resp == &room.resp {
		b = &room.body // one allocation with the response
	} else {
		b = new(h1Body)
	}
	*b = h1Body{pc: pc, r: resp.Body, keep: keep, wrote: wrote, stop: pc.stop}
	if resp.Body == nil { // parsed in place (parseRespHead)
		if resp.ContentLength == 0 {
			b.r = http.NoBody
		} else {
			b.lim = h1BodyReader{br: pc.br, n: resp.ContentLength}
			b.r = &b.lim
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		b.r, b.keep = pc.br, false
	}
	resp.Body = b
	if req.Method == http.MethodHead || resp.ContentLength == 0 {
		// No body to wait for: the connection is free now.
		b.finish(true)
	}
	return resp, nil
}

// write sends req: the head headConn substitutes, then the body. A
// request without a body gets its registered head written directly (the
// same bytes in the same single write, without Go's head built first).
func (pc *h1ServerConn) write(req *http.Request, e *headEntry) error {
	start := pc.nwrite
	var err error
	hc, _ := pc.conn.(*headConn)
	noBody := req.Body == nil || req.Body == http.NoBody
	if e != nil && hc != nil && noBody {
		var n int
		n, err = hc.writeHead(e)
		pc.nwrite += int64(n)
	} else {
		if pc.bw == nil {
			pc.bw = bufio.NewWriterSize(h1Writer{pc}, 4096)
		}
		err = req.Write(pc.bw)
		if err == nil {
			err = pc.bw.Flush()
		}
	}
	if err != nil && pc.nwrite == start {
		return h1NothingWritten{err}
	}
	return err
}

// h1Body is a response body: read to its end it gives the connection
// back to the pool (when both sides keep it), closed early it closes it.
type h1Body struct {
	pc    *h1ServerConn
	r     io.Reader
	keep  bool
	wrote chan error
	stop  func() bool
	done  bool
	lim   h1BodyReader // the body of a head parsed in place
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

// ready reports that the next Read returns without reading the
// connection: the body is done, or read from what is buffered.
func (b *h1Body) ready() bool {
	switch {
	case b.done:
		return true
	case b.wrote != nil:
		return false // its end may wait for the request's writer
	case b.r == &b.lim:
		return b.lim.sawEOF || b.lim.n == 0 || b.pc.br.Buffered() > 0
	}
	return b.r == http.NoBody
}

func (b *h1Body) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

// finish gives the connection back or closes it.
func (b *h1Body) finish(ok bool) {
	b.done = true
	if b.r != b.pc.br {
		b.r = http.NoBody
	}
	stopped := b.stop()
	keep := ok && b.keep && stopped
	if keep && b.wrote != nil {
		// The request must be written whole before the next one.
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case err := <-b.wrote:
			keep = err == nil
		case <-t.C:
			keep = false
		}
		t.Stop()
	}
	if keep {
		// An idle connection keeps nothing of the exchange: its hooks
		// hold the request's state and, through it, the response.
		b.pc.reused, b.pc.hooks = false, nil
		b.pc.cl.put(b.pc)
		return
	}
	b.pc.close()
}

// http10Chunked peeks at the response head about to be read: it tells
// whether it is HTTP/1.0 with a Transfer-Encoding whose last coding is
// chunked. Go's parse drops such a field (it ignores Transfer-Encoding
// below HTTP/1.1); haproxy 2.6 decodes the chunks. Only HTTP/1.0 heads
// are looked at past their first bytes.
func http10Chunked(br *bufio.Reader) bool {
	if b, _ := br.Peek(9); string(b) != "HTTP/1.0 " {
		return false
	}
	for n := br.Buffered(); ; n++ {
		b, err := br.Peek(n)
		if end := headEnd(b); end >= 0 {
			return lastCodingChunked(b[:end])
		}
		if err != nil {
			return false // too long for the buffer, or cut: Go's parse decides
		}
		n = len(b)
	}
}

// lastCodingChunked reports whether the last coding of the
// Transfer-Encoding fields of head is chunked.
func lastCodingChunked(head []byte) bool {
	chunked := false
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !strings.EqualFold(string(name), "transfer-encoding") {
			continue
		}
		for _, c := range bytes.Split(value, []byte(",")) {
			chunked = strings.EqualFold(string(bytes.Trim(c, " \t\r")), "chunked")
		}
	}
	return chunked
}

// chunkedHTTP10 makes a chunked HTTP/1.0 response (see http10Chunked)
// what haproxy makes of it: chunks decoded, no Content-Length, and the
// server connection closed after it.
func chunkedHTTP10(resp *http.Response) {
	delete(resp.Header, "Content-Length")
	resp.TransferEncoding = []string{"chunked"}
	resp.ContentLength = -1
	resp.Close = true
	resp.Body = chunkedBody{httputil.NewChunkedReader(resp.Body), resp.Body}
}

// chunkedBody decodes chunks read from a response body.
type chunkedBody struct {
	io.Reader
	io.Closer
}
