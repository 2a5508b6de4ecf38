package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/textproto"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/balance"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
	"hapair/pkg/sticktable"
)

// h1Frontend serves one `mode http` listener that proxies to a backend:
// it reads HTTP/1.x requests itself, so that malformed or cut requests are
// logged (<BADREQ>) and every httplog timer is measured as haproxy 2.6
// does, and forwards each request with an h1Client (h1client.go) that keeps
// server connections alive (or not: option http-server-close, httpclose). The
// stats page and the Prometheus exporter answer their own URIs
// (http_local.go); errorfiles replace the built-in pages
// (http_errorfile.go).
//
// The httplog lines of 49 exchanges match haproxy 2.6.12's field by field
// (testdata/haproxy-2.6.12-httplog.golden); the heads servers receive, the
// errorfile replies and the options are compared with haproxy's in
// *_haproxy_test.go-style tables. Known differences:
//   - a NUL or other control character in a header value is refused (400,
//     <BADREQ>); haproxy forwards it;
//   - CONNECT is answered 501 and Upgrade is not relayed (no tunnels);
//   - a retry after a refused connection stays on the same server (no
//     redispatch in mode http);
//   - the request head reaches the server, and the response fields the
//     client, as haproxy passes them on (http_head.go), but for Upgrade,
//     which is not relayed; a response head with folded lines is passed
//     on with its fields sorted by name;
//   - a target "scheme:/x" (one slash) is forwarded; haproxy refuses it;
//   - haproxy logs CR, CD or CL for a body cut by the client depending on
//     timing; we log CL once the server is connected.
type h1Frontend struct {
	e     *Engine
	f     *Frontend
	tr    *h1Client // nil without a backend
	mode  haproxycfg.HTTPConnMode
	fwd   *haproxycfg.ForwardFor
	heads *headTable // the heads tr sends (http_head.go)
	// local answers the requests localService gives to the stats page or
	// the Prometheus exporter; nil answers them 503.
	local http.Handler
	// rules are the frontend's and its backends' rules; nil when there
	// are none (rules.go).
	rules *httpRules
	def   *route    // how requests reach the default backend
	proto string    // the bind's `proto`: "h2", "h1" or "" (ALPN decides)
	h2    *h2Server // HTTP/2 (h2_frontend.go); nil with `proto h1`

	// workers run new connections and resume parked ones.
	workers *workerPool

	mu       sync.Mutex
	conns    map[*h1Conn]bool // true while idle between two requests
	draining bool
}

// h1Conn is one client connection. Its buffers come from pools when a
// request arrives and go back while the connection is idle, so that idle
// keep-alive clients hold no buffer (haproxy allocates its buffers on
// demand too).
type h1Conn struct {
	nc  net.Conn
	cnt *deadlineConn
	br  *bufio.Reader // nil while idle
	bw  *bufio.Writer // nil while idle
	// body is the last request's body: while it is not read to its end a
	// transport goroutine may still read br, which then must not be
	// reused.
	body *bodyReader
	req  *httpRequest // the request being answered
	// upgradeAnswer is set while an upgrade request's answer other than
	// 101 is written: its Connection and Upgrade fields go on, as
	// haproxy 2.6 passes them.
	upgradeAnswer bool
	// rules evaluates the response rules of the request being answered;
	// nil without rules.
	rules *ruleRun
	nolog bool // the request is not logged (monitor-uri)
	// acct is what the stats count at the end of the request being
	// answered (httpstats.go).
	acct streamAcct
	// asap logs the request when its response head is ready (`option
	// logasap`), given the response's %B share then; nil otherwise.
	// asapLogged: it did, the end of the request is not logged again.
	asap       func(out int64)
	asapLogged bool
	// logLevel is set-log-level's: 0 the default, n the level n-1, -1
	// silent (accesslog.Session.Level).
	logLevel int8
	// sessVars are the set-var(sess.*) values, kept between requests.
	sessVars map[string]sample.Value
	stk      *sticktable.Counters // stick counters (stick.go); nil without tables
	// private are the transports to backends whose servers take a PROXY
	// header: their connections are this client's only.
	// (shared by the HTTP/2 streams of a connection); nil when no
	// server of the engine takes one.
	private *privateTransports
	// reqVars are the txn.* and req.* variables the frontend's
	// tcp-request content rules set for the request being read.
	reqVars map[string]sample.Value
	// reqLastRule is the tcp-request content rule that ended those
	// rules for the request being read (last_rule_file); zero if none.
	reqLastRule haproxycfg.Pos
	// ruleTxn is what the rules of the request being answered saw; its
	// last rule goes to the log line (last_rule_file). nil without rules.
	ruleTxn *sample.Txn
	h       *h1Frontend
	one     [1]byte // the first byte of a request, read without a buffer
	// broken: a panic ended the connection; its buffers are not reused.
	broken bool
	// clientText is the client's address as forwardfor writes it.
	clientText addrText
	// ss holds the server connections of the client's session
	// (srvreuse.go); nil until the first request forwarded.
	ss *srvSession

	// raw is the system connection of a plain TCP client (await reads
	// the request's first bytes through it); nil otherwise.
	raw syscall.RawConn
	// lp is the request loop's state between two requests; pk parks the
	// connection in the poller while it waits for the next one (nil
	// until its first idle period; noPark: the poller refused it).
	lp     h1Loop
	pk     *h1Park
	noPark bool

	reqs int  // requests read on the connection (http_first_req)
	h2   bool // the connection speaks HTTP/2 (not counted in h1_*)

	wmu      sync.Mutex
	started  bool // the response to the current request has begun
	interims int  // interim responses sent for it
	// interimSize is the %B share of the other interim responses passed
	// on (interimResponse).
	interimSize int64
	// fcSrc and fcDst are the connection's own addresses (fc_src,
	// fc_dst), which a PROXY header and session rules do not change.
	fcSrc, fcDst netip.AddrPort
}

// startResponse marks the response as begun: no interim 100 may follow.
func (c *h1Conn) startResponse() {
	c.wmu.Lock()
	c.started = true
	c.wmu.Unlock()
}

// interim tells a client that sent "Expect: 100-continue" to go on with
// its body, when the server starts reading it and nothing was answered
// yet (RFC 9110 section 10.1.1). It runs on the goroutine sending the body.
func (c *h1Conn) interim() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.started {
		n, _ := io.WriteString(c.nc, "HTTP/1.1 100 Continue\r\n\r\n")
		c.cnt.wn.Add(int64(n))
		c.interims++
	}
}

// interimResponse passes a server's interim response (1xx but 100 and
// 101) on to the client, its fields in order, lower-cased, unless the
// final response has begun.
func (c *h1Conn) interimResponse(code int, raw []byte) {
	reason := http.StatusText(code)
	var fields []header
	if raw != nil {
		lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
		if f := strings.SplitN(lines[0], " ", 3); len(f) == 3 {
			reason = f[2]
		}
		for _, l := range lines[1:] {
			if name, value, ok := strings.Cut(l, ":"); ok {
				fields = append(fields, header{strings.ToLower(name), strings.Trim(value, " \t")})
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", code, reason)
	size := htxStartLine + len("HTTP/1.1") + 3 + len(reason) + htxEOH
	for _, f := range fields {
		b.WriteString(f.name + ": " + f.value + "\r\n")
		size += len(f.name) + len(f.value)
	}
	b.WriteString("\r\n")
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.started {
		n, _ := io.WriteString(c.nc, b.String())
		c.cnt.wn.Add(int64(n))
		c.interimSize += int64(size)
	}
}

// interimSize is what haproxy counts in %B for a "100 Continue" it
// forwards (HTX form: start line and end of headers).
const interimSize = htxStartLine + len("HTTP/1.1") + 3 + len("Continue") + htxEOH

// interimBytes is the %B share of the interim responses sent.
func (c *h1Conn) interimBytes() int64 {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return int64(c.interims*interimSize) + c.interimSize
}

// deadlineConn counts the bytes read and, when idle is set, pushes the
// read or write deadline at every call: the inactivity timeouts `timeout
// client` while a body flows.
type deadlineConn struct {
	net.Conn
	n    atomic.Int64
	wn   atomic.Int64 // bytes written (h1_bytes_out)
	idle atomic.Int64 // time.Duration; 0: deadlines are set by the caller
	// pending were read (and counted) before the connection had a read
	// buffer; they come first.
	pending []byte
	// pendingBuf holds pending when it is a pooled buffer (readRaw).
	pendingBuf *[]byte
	raw        rawRead
	// rc is the plain TCP connection under Conn (nil otherwise): a write
	// it takes at once needs no deadline (rawWrite).
	rc syscall.RawConn
	rw rawWrite
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	if len(d.pending) > 0 {
		n := copy(p, d.pending)
		d.pending = d.pending[n:]
		if len(d.pending) == 0 && d.pendingBuf != nil {
			rawBufs.Put(d.pendingBuf)
			d.pendingBuf = nil
		}
		return n, nil
	}
	if t := time.Duration(d.idle.Load()); t > 0 {
		_ = d.Conn.SetReadDeadline(time.Now().Add(t))
	}
	n, err := d.Conn.Read(p)
	d.n.Add(int64(n))
	return n, err
}

// rawBufs are the buffers of readRaw, held only while their bytes are
// pending.
var rawBufs = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// readRaw waits until the connection is readable and reads what came
// into pending, holding a buffer only while a read is tried: the wait
// itself holds none. The read deadline of the connection applies. A
// close by the client is io.EOF.
func (d *deadlineConn) readRaw(rc syscall.RawConn) error {
	r := &d.raw
	if r.fn == nil {
		r.fn = r.try // once per connection: the callback does not allocate per call
	}
	return d.rawReadWith(rc, r.fn)
}

// readNow is readRaw without the wait: false when nothing is there.
func (d *deadlineConn) readNow(rc syscall.RawConn) (bool, error) {
	r := &d.raw
	if r.once == nil {
		r.once = func(fd uintptr) bool {
			r.try(fd)
			return true
		}
	}
	err := d.rawReadWith(rc, r.once)
	if err == errWouldBlock {
		return false, nil
	}
	return err == nil, err
}

func (d *deadlineConn) rawReadWith(rc syscall.RawConn, fn func(uintptr) bool) error {
	r := &d.raw
	r.n, r.err, r.got = 0, nil, nil
	err := rc.Read(fn)
	n, got := r.n, r.got
	if err == nil && r.err == syscall.EAGAIN {
		return errWouldBlock
	}
	if err == nil && r.err != nil {
		err = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", r.err)}
	}
	if err == nil && n <= 0 {
		err = io.EOF
	}
	r.got = nil
	if err != nil {
		if got != nil {
			rawBufs.Put(got)
		}
		return err
	}
	d.n.Add(int64(n))
	d.pending, d.pendingBuf = (*got)[:n], got
	return nil
}

// rawRead is the state of readRaw's callback.
type rawRead struct {
	fn   func(fd uintptr) bool // try, waiting for readability
	once func(fd uintptr) bool // try, not waiting
	n    int
	err  error
	got  *[]byte
}

// try reads into a pooled buffer; nothing there gives the buffer back and
// waits for readability.
func (r *rawRead) try(fd uintptr) bool {
	b := rawBufs.Get().(*[]byte)
	for {
		r.n, r.err = syscall.Read(int(fd), *b)
		if r.err != syscall.EINTR {
			break
		}
	}
	if r.err == syscall.EAGAIN {
		rawBufs.Put(b)
		return false
	}
	r.got = b
	return true
}

// rawConn is the system connection under nc when it is a plain TCP
// connection (readRaw), or nil.
func rawConn(nc net.Conn) syscall.RawConn {
	if g, ok := nc.(*gatedConn); ok {
		nc = g.Conn
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	var done int
	if t := time.Duration(d.idle.Load()); t > 0 {
		if d.rc != nil && len(p) > 0 {
			// The deadline bounds a wait for room in the socket: a write
			// the socket takes whole at once (the common response) is
			// made without arming it (a clock read and a poller timer
			// per write). Anything else (EAGAIN, part written, an error,
			// a deadline passed) goes on below as before, from where the
			// try stopped.
			done = d.rw.write(d.rc, p)
			if done == len(p) {
				d.wn.Add(int64(done))
				return done, nil
			}
		}
		_ = d.Conn.SetWriteDeadline(time.Now().Add(t))
	}
	n, err := d.Conn.Write(p[done:])
	n += done
	d.wn.Add(int64(n))
	return n, err
}

// rawWrite is the state of a write tried once on the socket, without
// waiting (deadlineConn.Write).
type rawWrite struct {
	fn func(fd uintptr) bool
	p  []byte
	n  int
}

// write tries p once and returns what the socket took.
func (w *rawWrite) write(rc syscall.RawConn, p []byte) int {
	if w.fn == nil {
		w.fn = w.try // once per connection: no closure per write
	}
	w.p, w.n = p, 0
	_ = rc.Write(w.fn) // its error (closed, deadline passed) is Write's below
	w.p = nil
	return w.n
}

func (w *rawWrite) try(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), w.p)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && n > 0 {
			w.n = n
		}
		return true // never waits: Write does, with its deadline
	}
}

// serveH1 starts the accept loop of a proxying `mode http` listener.
func (e *Engine) serveH1(f *Frontend, ln net.Listener, local http.Handler) {
	h := &h1Frontend{e: e, f: f, conns: map[*h1Conn]bool{}, local: local}
	h.mode, h.fwd = e.httpOptions(f)
	if h.proto = listenerProto(ln); h.proto != "h1" {
		h.h2 = newH2Server(h)
	}
	if f.backend != nil {
		h.tr = f.backend.transport(e)
		h.heads = h.tr.heads
	}
	h.def = &route{tr: h.tr, h2: backendH2Transport(f.backend), heads: h.heads, mode: h.mode, fwd: h.fwd, orig: originalToFor(f.px, f.backend)}
	if needRules(e, f) {
		h.rules = newHTTPRules(e, f, &routeCache{e: e, f: f})
	}
	workers := newWorkerPool(h.serve, e.stop)
	h.workers = workers
	e.acceptWG.Add(1)
	go func() {
		defer e.acceptWG.Done()
		gl := &gateListener{Listener: ln, e: e, f: f}
		for {
			c, err := gl.Accept()
			if err != nil {
				select {
				case <-e.stop:
					return
				default:
				}
				if errors.Is(err, net.ErrClosed) {
					return
				}
				e.log.Warn().Err(err).Msgf("proxy %s: accept", f.Name())
				select {
				case <-time.After(50 * time.Millisecond):
				case <-e.stop:
					return
				}
				continue
			}
			workers.run(c)
		}
	}()
	go h.watch()
}

// backendTransport is the client side towards a backend's servers
// (h1client.go).
func backendTransport(be *Backend, heads *headTable) *h1Client {
	return newH1Client(be, heads)
}

// transport is the backend's HTTP/1 client, made on first use and shared
// by every frontend and listener that sends to it: its servers' idle
// connections are one pool each, as haproxy's (idlepool.go).
func (be *Backend) transport(e *Engine) *h1Client {
	be.h1Once.Do(func() {
		heads := newHeadTable()
		heads.panicked = func(r any) { e.recovered("server write", be.Name(), r) }
		be.h1 = backendTransport(be, heads)
	})
	return be.h1
}

// watch closes idle keep-alive connections on a soft stop (busy ones
// close after their response) and every connection on Close.
func (h *h1Frontend) watch() {
	select {
	case <-h.e.stop:
	case <-h.e.killed.Done():
	}
	h.mu.Lock()
	h.draining = true
	for c, idle := range h.conns {
		if idle {
			c.nc.Close()
			// A connection parked in the poller hears nothing of
			// its socket's close (it leaves the set): it is woken.
			c.pk.kick()
		}
	}
	h.mu.Unlock()
	<-h.e.killed.Done()
	h.mu.Lock()
	for c := range h.conns {
		c.nc.Close()
		c.pk.kick()
	}
	h.mu.Unlock()
	if h.tr != nil {
		h.def.closeIdle()
	}
	if h.rules != nil {
		h.rules.routes.closeIdle()
	}
}

// setIdle marks c idle or busy; false means the proxy is stopping and an
// idle connection must close.
func (h *h1Frontend) setIdle(c *h1Conn, idle bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if idle && h.draining {
		return false
	}
	h.conns[c] = idle
	return true
}

func (h *h1Frontend) isDraining() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.draining
}

// serve runs the requests of one client connection, until it ends or
// parks between two requests (idleWait): a later event resumes it.
func (h *h1Frontend) serve(nc net.Conn) {
	e, f := h.e, h.f
	d := &deadlineConn{Conn: nc}
	c := &h1Conn{nc: nc, cnt: d, h: h, stk: e.newCounters()}
	if e.pp {
		c.private = &privateTransports{}
	}
	h.mu.Lock()
	h.conns[c] = false
	killed := e.killed.Err() != nil
	h.mu.Unlock()
	parked := false
	defer func() {
		if !parked {
			h.end(c)
		}
	}()
	defer h.recoverConn(c)
	start := e.now() // the accept
	if killed || !e.tcpAccept(f, nc, c.stk, start, &c.sessVars) {
		return
	}
	// TLS first: haproxy logs "Connect from" once the session exists.
	th, ok := e.handshake(f, nc, start)
	if !ok || !e.tcpSession(f, nc, c.stk, &c.sessVars) {
		return
	}
	c.fcSrc, c.fcDst = fcAddrs(nc)
	f.ctr.session(start)
	ssl := tlsOf(nc) != nil
	sslCipher, sslVersion := tlsLogFields(nc)
	e.connected(f, nc) // under the recover above
	if h.h2 != nil && h.useH2(nc) {
		c.h2 = true
		h.serveH2(c, c.cnt, start, th)
		return
	}
	c.lp = h1Loop{
		start: start, ssl: ssl, sslCipher: sslCipher, sslVersion: sslVersion,
		client: addrPort(nc.RemoteAddr()), local: addrPort(nc.LocalAddr()),
	}
	c.raw = rawConn(nc)
	d.rc = c.raw
	parked = h.requests(c, true, th)
}

// resume goes on with a connection parked between two requests, on a
// worker, once the poller, its timer or a stop woke it.
func (h *h1Frontend) resume(c *h1Conn) {
	parked := false
	defer func() {
		if !parked {
			h.end(c)
		}
	}()
	defer h.recoverConn(c)
	parked = h.requests(c, false, 0)
}

// recoverConn, deferred: a panic closes this connection only (the cleanup
// deferred before it still runs); the other connections go on.
func (h *h1Frontend) recoverConn(c *h1Conn) {
	if r := recover(); r != nil {
		h.e.recovered("http session", h.f.Name(), r)
		c.broken = true
	}
}

// end closes a connection whose requests are over.
func (h *h1Frontend) end(c *h1Conn) {
	f, d := h.f, c.cnt
	c.pk.stop()
	h.mu.Lock()
	delete(h.conns, c)
	drained := h.draining && len(h.conns) == 0
	h.mu.Unlock()
	if !c.h2 {
		// haproxy's HTTP/1 layer counts what it read and wrote
		// (h1_bytes_in, h1_bytes_out); before the close, which the
		// stats show as the end of the session.
		f.ctr.h1.bytesIn.Add(d.n.Load())
		f.ctr.h1.bytesOut.Add(d.wn.Load())
	}
	c.nc.Close()
	c.private.close()
	c.ss.close()
	stickConnEnd(c.stk)
	c.release(true)
	if drained && h.tr != nil {
		h.def.closeIdle()
	}
}

// h1Loop is what the request loop keeps between two requests, so that a
// connection parked while idle resumes on any goroutine. (The handshake
// time, which only the first request logs, is not kept: h1Conn then fits
// the 512-byte size class.)
type h1Loop struct {
	start                 time.Time // the accept, then the end of the previous request
	client, local         netip.AddrPort
	ssl                   bool
	sslCipher, sslVersion string
}

// requests reads and answers requests until the connection ends (false)
// or parks while idle (true): then it is not c's goroutine's any more.
// th is the handshake's time, logged with the first request.
func (h *h1Frontend) requests(c *h1Conn, first bool, th time.Duration) (parked bool) {
	e, f, nc, d := h.e, h.f, c.nc, c.cnt
	lp := &c.lp
	start, client, local := lp.start, lp.client, lp.local
	ssl, sslCipher, sslVersion := lp.ssl, lp.sslCipher, lp.sslVersion
	// woken: resumed from the poller, the request is likely there.
	woken := !first
	t := f.px.Timeouts
	// haproxy's HTTP/1 layer closes a connection waiting for a request at
	// the first of `timeout client` and its idle date: `timeout
	// http-request` for the first request, `timeout http-keep-alive`
	// (else http-request) for the next ones (h1_set_idle_expiration,
	// h1_refresh_timeout); measured: keep-alive 6s with client 300ms
	// closes after 300 ms. Once bytes come, the head has `timeout
	// http-request` (haproxy's client timeout then restarts at each read).
	reqTimeout := firstSet(t.HTTPRequest, t.Client)
	for ; ; first = false {
		wait := shortestSet(t.HTTPRequest, t.Client)
		if !first {
			wait = shortestSet(firstSet(t.HTTPKeepAlive, t.HTTPRequest), t.Client)
			if !h.setIdle(c, true) {
				return false
			}
		}
		d.idle.Store(0)
		setDeadline(nc.SetReadDeadline, start, wait)
		if !woken {
			// The client has just got its response (or connected):
			// its request is likely not there yet. The other
			// goroutines ready to run go first, so that the read more
			// often finds it than ends in EAGAIN and a wait in the
			// poller (whose readiness Go forgets before each read): a
			// keep-alive request under load then costs a read less
			// (strace: 0.76 -> 0.08 reads ending in EAGAIN per
			// request).
			runtime.Gosched()
		}
		woken = false
		var err error
		if !first && c.parkable() {
			var parked bool
			if parked, err = h.idleWait(c, start, wait); parked {
				return true
			}
		}
		if err == nil {
			err = c.await()
		}
		h.setIdle(c, false)
		if err == nil && first && h.upgradeH2(c) {
			// The HTTP/2 preface: haproxy's HTTP/1 layer hands the
			// connection over without making a stream of it.
			c.h2 = true
			h.serveUpgraded(c, start, th)
			return false
		}
		if err == nil {
			// Something arrived: haproxy's HTTP/1 layer makes a stream
			// for it, even one it then refuses (h1_total_streams).
			f.ctr.h1.totalStreams.Add(1)
		}
		s := accesslog.Session{
			Client: client, Frontend: local, Accept: start,
			FrontendName: f.Name(), BackendName: f.Name(), ServerName: "<NOSRV>",
			TR: -1, Tw: -1, Tc: -1, Tr: -1, SSL: ssl, ReqCounter: e.nextStreamID(),
			SSLCipher: sslCipher, SSLVersion: sslVersion,
		}
		if first {
			s.Th = th
		}
		if err != nil {
			// Nothing arrived: on a kept-alive connection the client may
			// leave silently; a new connection is logged as haproxy does
			// (408 cR on timeout, 400 CR on close); with `option
			// http-ignore-probes` it is closed silently, uncounted.
			if !first || e.killed.Err() != nil || f.px.Options.IgnoreProbes {
				return false
			}
			h.badRequest(c, &s, start, err)
			return false
		}
		tFirst := e.now()
		s.Ti = tFirst.Sub(start) - s.Th
		read0 := d.n.Load() - int64(c.br.Buffered())
		if !first {
			setDeadline(nc.SetReadDeadline, tFirst, reqTimeout)
		} else if wait != reqTimeout {
			setDeadline(nc.SetReadDeadline, start, reqTimeout)
		}
		c.wmu.Lock()
		c.started, c.interims, c.interimSize = false, 0, 0
		c.wmu.Unlock()
		req, err := readRequest(c.br)
		if err == nil {
			// Only an HTTP/1 client's handshake must carry its key:
			// for an HTTP/2 one, the key is made on the server side.
			err = req.checkWebSocketKey()
		}
		if err == nil && req.chunked {
			buf, _ := c.br.Peek(c.br.Buffered())
			err = checkBufferedChunks(buf)
		}
		if err != nil {
			h.badRequest(c, &s, tFirst, err)
			return false
		}
		if strings.EqualFold(req.method, "PRI") {
			h.refusePRI(c, &s, tFirst)
			return false
		}
		req.notFirst = c.reqs > 0
		c.reqs++
		if h.rules != nil && !h.tcpContent(c, &s, req) {
			return false
		}
		f.ctr.request(tFirst)
		stickRequestStart(c.stk)
		c.req = req
		_ = nc.SetReadDeadline(time.Time{})
		d.idle.Store(int64(t.Client))
		s.Method, s.URI, s.Version = req.method, req.uri, req.version
		keep := h.forward(c, req, &s)
		end := e.now()
		s.Tt = end.Sub(start)
		s.Ta = end.Sub(tFirst)
		s.BytesFromClient = d.n.Load() - int64(c.br.Buffered()) - read0
		if req.upgrade == "" {
			// haproxy counts the request in HTX form: the head as
			// parsed, the body's data, one block ending a chunked one.
			s.BytesFromClient = req.htx
			if b := c.body; b != nil {
				s.BytesFromClient += b.got.Load()
				if req.chunked && b.complete() {
					s.BytesFromClient += htxEOT
				}
			}
		}
		f.ctr.bytesIn.Add(s.BytesFromClient)
		f.ctr.bytesOut.Add(s.BytesToClient)
		h.endStream(c, &s)
		var stkLog *sticktable.Counters
		if c.stk != nil && s.Txn != nil {
			// The log reads the stream's counters as they are before
			// the stream releases them.
			stkLog = &sticktable.Counters{Sess: c.stk.Sess, Strm: c.stk.Strm}
		}
		stickRequestEnd(c.stk, &s)
		s.ActConn = int(e.actconn.Load())
		s.FeConn = int(f.ctr.cur.Load())
		if rt := c.ruleTxn; rt != nil && s.Txn != nil {
			s.Txn.LastRuleFile, s.Txn.LastRuleLine = rt.LastRuleFile, rt.LastRuleLine
		}
		if !c.nolog && !c.asapLogged {
			s.Level = c.logLevel
			logStick(&s, stkLog)
			e.logSession(f.px, s)
		}
		c.rules, c.nolog, c.logLevel, c.asap, c.asapLogged, c.ruleTxn = nil, false, 0, nil, false, nil
		// The request is answered: an idle connection does not keep it
		// (~500 bytes with its fields).
		c.req = nil
		if !keep || h.isDraining() {
			return false
		}
		c.release(false)
		start = end
		lp.start = end
	}
}

// States of a connection's h1Park.
const (
	parkRunning = iota // a goroutine serves the connection
	parkIdle           // parked: no goroutine, the poller or the timer wakes it
	parkDone           // ended
)

// h1Park waits for a keep-alive client's next request with no goroutine,
// as haproxy's connections wait in its poller: the socket is in the
// process's epoll set (evpoll), armed once per idle period
// (level-triggered, one-shot: data or a close already there is reported
// at once), and a timer stands for the read deadline. Whichever of the
// event, the timer or a stop (kick) comes first resumes the request loop
// on a worker; the others find the state running and do nothing.
type h1Park struct {
	c      *h1Conn
	state  atomic.Int32
	tok    int32 // in the poller's table; 0 until the socket is added
	timer  *time.Timer
	resume func() // h.resume(c), made once
}

// wake is the poller's, the timer's and kick's: a parked connection
// resumes on a worker.
func (p *h1Park) wake(bool) {
	if p.state.CompareAndSwap(parkIdle, parkRunning) {
		p.c.h.workers.runFunc(p.resume)
	}
}

// event is the poller's: a parked connection resumes on any news, its
// read tells which.
func (p *h1Park) event(uint32) { p.wake(false) }

// kick wakes a parked connection, so that it sees its closed socket or
// the stop; nil-safe.
func (p *h1Park) kick() {
	if p != nil {
		p.wake(false)
	}
}

// stop ends the parking of a connection that ends; nil-safe.
func (p *h1Park) stop() {
	if p == nil {
		return
	}
	p.state.Store(parkDone)
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.tok != 0 {
		evpoll().forget(p.tok)
	}
}

// parkable: the connection may wait for its next request in the poller,
// being a plain TCP one with nothing read ahead.
func (c *h1Conn) parkable() bool {
	return c.raw != nil && !c.noPark && c.br == nil && len(c.cnt.pending) == 0 && evpoll() != nil
}

// errParkStop ends a parked connection that a stop woke.
var errParkStop = errors.New("stopping")

// idleWait waits for the next request on a kept-alive connection: what
// the socket has is read at once (into pending, c.br then set); with
// nothing there the connection parks (true) and this goroutine must leave
// it alone. Its error is the read's, or a timeout at the deadline (start
// + wait, none with wait 0) as the read deadline would give.
func (h *h1Frontend) idleWait(c *h1Conn, start time.Time, wait time.Duration) (parked bool, err error) {
	p := c.pk
	if p == nil {
		p = &h1Park{c: c}
		p.resume = func() { h.resume(c) }
		c.pk = p
		// Added disarmed: armed when it parks.
		tok, ok := evpoll().watch(c.raw, p, parkAdded)
		if !ok {
			c.noPark = true
			return false, nil
		}
		p.tok = tok
	}
	var deadline time.Time
	if wait > 0 {
		deadline = start.Add(wait)
		if p.timer == nil {
			p.timer = time.AfterFunc(time.Until(deadline), p.kick)
		} else {
			p.timer.Reset(time.Until(deadline))
		}
	}
	for {
		got, err := c.cnt.readNow(c.raw)
		if err != nil || got {
			if p.timer != nil {
				p.timer.Stop()
			}
			if got {
				c.br = getReader(c.cnt)
			}
			return false, err
		}
		// From here another goroutine may resume c: this one touches
		// only the state, the socket and the poller.
		p.state.Store(parkIdle)
		if !evpoll().rearm(c.raw, p.tok, parkEvents) {
			if !p.state.CompareAndSwap(parkIdle, parkRunning) {
				return true, nil // woken meanwhile: resumed elsewhere
			}
			c.noPark = true
			return false, nil
		}
		// A stop or the deadline that came before the state said idle
		// woke nobody.
		stopping := h.isDraining()
		if !stopping && (deadline.IsZero() || time.Now().Before(deadline)) {
			return true, nil
		}
		if !p.state.CompareAndSwap(parkIdle, parkRunning) {
			return true, nil
		}
		if stopping {
			return false, errParkStop
		}
		return false, os.ErrDeadlineExceeded
	}
}

// await waits for the first byte of a request. An idle connection has no
// read buffer: on a plain TCP connection a pooled buffer is taken only
// for each read attempt and given back when nothing came, so the request
// is read by one system call once it arrives; otherwise the first byte is
// read alone, then a pooled buffer takes over.
func (c *h1Conn) await() error {
	if c.br == nil && c.raw != nil && len(c.cnt.pending) == 0 && c.cnt.idle.Load() == 0 {
		if err := c.cnt.readRaw(c.raw); err != nil {
			return err
		}
		c.br = getReader(c.cnt)
	}
	if c.br == nil {
		n, err := c.cnt.Read(c.one[:])
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
		c.cnt.pending = c.one[:n]
		c.br = getReader(c.cnt)
	}
	_, err := c.br.Peek(1)
	return err
}

// writer is the connection's write buffer, taken from the pool on the
// first response after an idle period.
func (c *h1Conn) writer() *bufio.Writer {
	if c.bw == nil {
		c.bw = getWriter(c.cnt)
	}
	return c.bw
}

// release gives the buffers back to their pools between two requests (a
// read buffer holding a pipelined request is kept) and when the
// connection ends. A read buffer that a transport goroutine may still
// read, the body being unfinished, is left to the garbage collector.
func (c *h1Conn) release(closing bool) {
	if c.broken {
		if c.bw != nil {
			buffersInUse.Add(-1)
		}
		if c.br != nil {
			buffersInUse.Add(-1)
		}
		c.br, c.bw, c.body = nil, nil, nil
		return
	}
	if c.bw != nil {
		putWriter(c.bw)
		c.bw = nil
	}
	if c.br == nil || (!closing && c.br.Buffered() > 0) {
		return
	}
	if c.body == nil || c.body.complete() {
		putReader(c.br)
	} else {
		buffersInUse.Add(-1)
	}
	c.br, c.body = nil, nil
}

func setDeadline(set func(time.Time) error, from time.Time, d time.Duration) {
	if d > 0 {
		_ = set(from.Add(d))
	} else {
		_ = set(time.Time{})
	}
}

// badRequest answers and logs a request that could not be read: 408 and
// "cR" on timeout, 400 and "CR" when the client closed (the reply is
// written all the same, as haproxy does), 400 and "PR" for a malformed
// head. haproxy counts no byte sent (%B 0)
// for these replies, which its HTTP/1 layer writes itself.
func (h *h1Frontend) badRequest(c *h1Conn, s *accesslog.Session, from time.Time, err error) {
	e := h.e
	switch {
	case isTimeout(err):
		s.Status, s.TermCause, s.TermState = http.StatusRequestTimeout, termClientTimeout, stateRequest
		h.rawPage(c, http.StatusRequestTimeout, page408)
	case errors.Is(err, errBadRequest):
		s.Status, s.TermCause, s.TermState = http.StatusBadRequest, 'P', stateRequest
		h.rawPage(c, http.StatusBadRequest, page400)
	case errors.Is(err, errUnknownCoding):
		s.Status, s.TermCause, s.TermState = http.StatusUnprocessableEntity, 'P', stateRequest
		h.rawPage(c, http.StatusUnprocessableEntity, page422)
	default: // closed, reset
		s.Status, s.TermCause, s.TermState = http.StatusBadRequest, termClient, stateRequest
		// haproxy's HTTP/1 layer still writes its 400 to a client that
		// closed: it may have closed its sending side only.
		if _, h2 := c.nc.(*h2StreamConn); !h2 {
			h.rawPage(c, http.StatusBadRequest, page400)
		}
	}
	stickBadRequest(c.stk, s.Status)
	h.muxError(s.Status)
	end := e.now()
	s.Tt = end.Sub(s.Accept)
	s.Ta = end.Sub(from)
	if s.Ti == 0 && from.After(s.Accept) {
		s.Ti = from.Sub(s.Accept)
	}
	// haproxy counts %U in HTX form: a head its HTTP/1 parser refused
	// never became HTX, so nothing was received (seen: 0 for a PR 400).
	s.BytesFromClient = 0
	s.ActConn = int(e.actconn.Load())
	s.FeConn = int(h.f.ctr.cur.Load())
	if s.Txn == nil {
		// No stream: the log's fetches still see the connection
		// (fc_err, ssl_fc_sni), as haproxy's sess_log does.
		s.Txn = &sample.Txn{Src: s.Client, Dst: s.Frontend, FcSrc: c.fcSrc, FcDst: c.fcDst, Frontend: h.f.Name(), Env: envFor(e, c.nc)}
	}
	e.logSession(h.f.px, *s)
}

func (c *h1Conn) writeRaw(p string) {
	c.startResponse()
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	n, _ := io.WriteString(c.nc, p)
	c.cnt.wn.Add(int64(n))
}

// forward sends one request to a server of the backend and the response
// back to the client, filling the log fields. It reports whether the
// connection may serve another request.
func (h *h1Frontend) forward(c *h1Conn, req *httpRequest, s *accesslog.Session) bool {
	e, be := h.e, h.f.backend
	if hook := testHookRequest.Load(); hook != nil {
		(*hook)(req.uri)
	}
	// What becomes of the request as it is sent (the HTTP/1 client's
	// hooks, or an HTTP/2 trace's), its body reader, the head sent and
	// the response head received: one allocation. An HTTP/1 request
	// has no context of its own: the engine's kill and cancel (abort)
	// end its exchange; an HTTP/2 one gets its context (st.context).
	st := &fwdState{e: e, c: c}
	body := st.body.init(c.br, req)
	c.body = body
	if req.expectContinue {
		body.first = c.interim
	}
	keep := req.keepAlive && !h.isDraining() && h.mode != haproxycfg.HTTPClose
	tHead := e.now()
	s.TR = tHead.Sub(s.Accept.Add(s.Th + s.Ti))
	captureRequest(h.f.px, req, s, envFor(e, c.nc), e.soName(h.f, c.nc))
	if s.Txn != nil {
		s.Txn.ProxyTLV = ppTLVOf(c.nc)
	}
	if req.method == http.MethodConnect {
		// Tunnels are not relayed: Go's client would take over the
		// server connection.
		s.Status, s.TermCause, s.TermState = http.StatusNotImplemented, 'P', stateRequest
		return h.errorPage(c, s, page501, false)
	}
	if h.f.px.Options.BufferRequest && !h.waitBody(c, nil, body, s, h.f.px.Timeouts.HTTPRequest, 0) {
		return false
	}
	var rr *ruleRun
	if h.rules != nil {
		var done bool
		if rr, be, done, keep = h.requestRules(c, req, body, s, keep); done {
			return keep
		}
		c.rules = rr
	}
	if body.aborted && be != nil {
		s.BackendName = be.Name()
		s.Status, s.TermCause, s.TermState = -1, termClient, stateRequest
		return false
	}
	if name := localService(h.f.px, req.method, req.uri); name != "" {
		return h.serveLocal(c, rr, h.local, req, body, s, name, keep)
	}
	if be != nil && be.px != h.f.px {
		// The backend's stats page, as haproxy checks each proxy's
		// `stats uri` once its http-request rules ran.
		if name := localService(be.px, req.method, req.uri); name != "" {
			s.BackendName = be.Name()
			return h.serveLocal(c, rr, be.localHandler(e), req, body, s, name, keep)
		}
	}
	if be == nil {
		s.TermCause, s.TermState = termServer, stateConnect
		s.Status = http.StatusServiceUnavailable
		return h.errorPage(c, s, page503, keep && drain(body))
	}
	rt := h.routeFor(be)
	s.BackendName = be.Name()
	h.uniqueID(req, s)
	bt := be.px.Timeouts
	c.assignBackend(be, tHead)
	defer func() {
		c.leaveBackend()
		s.BeConn = int(be.ctr.cur.Load())
	}()
	if be.px != h.f.px && be.px.Options.BufferRequest && !h.waitBody(c, rr, body, s, be.px.Timeouts.HTTPRequest, 0) {
		return false
	}
	if body.buffered != nil {
		req.bodyStart = body.buffered
	} else {
		peekBody(be, c.br, req)
	}
	key := balance.Key{Client: s.Client.Addr(), Req: req}
	if req.persist = newPersistence(be, req, e.now()); req.persist != nil {
		if req.persist.srv != nil {
			key.Persist = req.persist.srv
		}
		defer func() { s.CookieState, s.SetCookieState = req.persist.logStates() }()
	}
	if rr != nil {
		key.Sample, key.SampleOK = balanceSample(be, &rr.txn)
	}
	if key.Persist == nil && rr != nil && len(be.px.Rules.UseServers) > 0 {
		if srv := be.useServer(&rr.txn); srv != nil {
			key.Persist = srv
		}
	}
	var stores []stickStore
	if len(be.px.StickRules) > 0 {
		var ss *Server
		if ss, stores = e.stickMatch(be, h.stickTxn(c, req, s, be), key.Persist != nil); ss != nil {
			key.Persist = ss
		}
	}
	req.direct, _ = key.Persist.(*Server)
	// `option abortonclose`: the client's close aborts the request until
	// its response head comes.
	var aw *abortWatch
	if be.px.Options.AbortOnClose && body.complete() {
		aw = watchAbort(e.killed, clientTCP(c.nc))
		defer aw.end()
	}
	reqCtx := aw.context(e.killed)
	a, err := be.acquire(reqCtx, key, nil, bt.EffectiveQueue())
	s.SrvQueue, s.BeQueue = a.sq, a.bq
	if err != nil {
		if e.killed.Err() == nil && !errors.Is(err, ErrQueueFull) {
			assignFailed(be, a.srv) // a full queue is counted by acquire
		}
		s.Status = http.StatusServiceUnavailable
		switch {
		case errors.Is(err, ErrNoServer):
			s.TermCause, s.TermState = termServer, stateConnect
		case errors.Is(err, ErrQueueTimeout):
			s.Tw = e.now().Sub(tHead)
			s.TermCause, s.TermState = termServerTimeout, stateQueue
		case errors.Is(err, ErrQueueFull):
			s.ServerName = a.srv.Name()
			s.Tw = e.now().Sub(tHead)
			s.TermCause, s.TermState = termServer, stateQueue
		case aw.aborted():
			// haproxy logs no status and closes (CQ).
			s.Tw = e.now().Sub(tHead)
			s.Status, s.TermCause, s.TermState = -1, termClient, stateQueue
			be.ctr.cliAborts.Add(1)
			return false
		default:
			s.Tw = e.now().Sub(tHead)
			s.TermCause, s.TermState = termKilled, stateQueue
			return false
		}
		return h.errorPage(c, s, page503, keep && drain(body))
	}
	srv := a.srv
	if req.persist != nil {
		req.persist.chosen = srv
	}
	if stores != nil {
		defer func() { stickStored(stores, srv) }() // the server that took it, after retries
	}
	defer func() {
		if srv != nil { // nil when a redispatch found no server
			s.SrvConn = srv.Conns() - 1
			be.release(srv)
		}
	}()
	s.ServerName = srv.Name()
	c.acct.srv = srv
	if rr != nil {
		rr.txn.Server = srv.fetchName() // srv_name, srv_id
	}
	tAssigned := e.now()
	s.Tw = tAssigned.Sub(tHead)
	srv.ctr.total.Add(1)
	if srv != be.dispatch { // no load balancing for a dispatch address
		be.ctr.lbConns.Add(1)
	}
	storeMax(&srv.ctr.estConns, srv.ctr.cur.Load())
	srv.ctr.rate.add(tAssigned)
	storeMax(&srv.ctr.maxRate, srv.ctr.rate.read(tAssigned))
	srv.ctr.lastSession.Store(tAssigned.UnixNano())

	if req.upgrade != "" {
		return h.forwardUpgrade(c, req, s, be, rt, srv, tAssigned, rr)
	}
	// A connect in progress is not aborted by the client's close: haproxy
	// checks it between attempts and once connected.
	st.send.ctx, st.send.hooks, st.send.kill = e.killed, st, reqCtx
	// cancel ends the request: its context, and the HTTP/1 exchange in
	// progress (which watches no context of its own).
	defer st.cancel()
	srvTimeout, _ := streamTimeouts(rr, bt)
	var ownHdr *hdrTimer // the head's wait, timed here (settimeout.go)
	if be.ownHdrTimer {
		ownHdr = &hdrTimer{d: srvTimeout, cancel: st.cancel}
		st.ownHdr = ownHdr
	}
	// The server receives the head appendHead writes, in place of the one
	// Go's client writes for this placeholder target (http_head.go).
	algo := compressRequest(h.f.px, be.px, req)
	extra := appendExtraHeaders(st.extra[:0], &c.clientText, rt.fwd, req, s.Client.Addr())
	if rt.orig != nil {
		extra = append(extra, originalTo(rt.orig, s.Frontend.Addr())...)
	}
	headMode := rt.mode
	if be.px.Options.PretendKeepAlive {
		// The head the server sees says keep-alive; the connection
		// still closes after the response (out.Close).
		headMode = haproxycfg.HTTPKeepAlive
	}
	var forgetBuf [2]uint64 // the heads registered (one unless a retry changes the server)
	forgets := forgetBuf[:0]
	defer func() {
		for _, id := range forgets {
			rt.heads.forget(id)
		}
	}()
	var out *http.Request
	var rtp http.RoundTripper
	var h1 *h1Client // the HTTP/1 path, given st.send directly
	h1s := &st.send
	// A head parsed in place goes in st; its header map is built only
	// for the readers of the map (response captures, compression):
	// writeResponse and the rules read the ordered fields.
	lg := &h.f.px.Logging
	h1s.room, h1s.noHeader = &st.room, algo == "" && len(lg.ResCaptures) == 0 && lg.Cookie.Name == ""
	// request makes out for srv: over HTTP/2 when it speaks it
	// (h2_backend.go), else the HTTP/1.1 head appendHead writes.
	reuse, sendName := be.reuseMode(), be.px.SendNameHeader
	var builtFor *Server // the server the HTTP/1 head names
	if c.ss == nil {
		// Its HTTP/2 server connections (safe, never), its HTTP/1 ones
		// (never) and the key of its requests' pool (reuseHost).
		c.ss = newSrvSession()
	}
	request := func() {
		addr := srv.target(s.Frontend)
		st.srv, st.be = srv, be
		h1 = nil
		if rt.useH2(srv) {
			out, rtp, st.entry = h2Request(req, extra, addr, sendName, srv.Name()), rt.h2, nil
			if reuse != "always" {
				rtp = &sessionH2{rt: rt, ss: c.ss, srv: srv, addr: addr, trace: st.h2Conn}
			}
		} else {
			if st.entry == nil || out.ProtoMajor != 1 || (sendName != "" && builtFor != srv) {
				var target string
				var room []byte
				if n := req.headCap(extra); n <= len(st.headRoom) && !st.headUsed {
					// The first head goes in st (a retry's next one is
					// built apart: the first may still be registered).
					room, st.headUsed = st.headRoom[:0:n], true
				}
				head := req.appendHead(room, extra, headMode)
				if sendName != "" {
					head = withServerName(head, sendName, srv.Name())
				}
				builtFor = srv
				if !req.chunked && req.contentLength <= 0 {
					// Written as it is by h1Client (h1s.entry).
					st.ent = headEntry{head: head, wantTail: h.f.px.Options.LogASAP}
					st.entry = &st.ent
				} else {
					// Swapped in for Go's head of the body's request
					// under a placeholder target (headConn).
					var forget uint64
					target, st.entry, forget = rt.heads.add(head)
					st.entry.wantTail = h.f.px.Options.LogASAP
					forgets = append(forgets, forget)
				}
				// In st: nothing keeps the request once sent (a
				// retry sends this one again, or builds the next).
				st.url = url.URL{Scheme: "http", Opaque: target}
				st.out = http.Request{
					Method:     req.method,
					URL:        &st.url,
					Proto:      "HTTP/1.1",
					ProtoMajor: 1, ProtoMinor: 1,
					Header: noUserAgent,
					Body:   http.NoBody,
					// http-server-close and httpclose: a new server
					// connection for each request, closed after the response.
					Close: rt.mode != haproxycfg.HTTPKeepAlive,
				}
				out = &st.out
			}
			out.URL.Host, h1 = reuseHost(reuse, c.ss, srv, addr), rt.tr
			h1s.tgt = dialTarget{addr: addr, srv: srv}
			if reuse == "never" {
				// Private: the session's own (haproxy's
				// conn_set_private); else in its server's pool.
				h1s.tgt.ss = c.ss
			}
			h1s.target, h1s.entry, h1s.pp = &h1s.tgt, st.entry, nil
			h1s.notFirst = req.notFirst
			if be.pp.Load() {
				// Connections carrying a client's PROXY header serve that
				// client only (haproxy makes them private to the session).
				if c.private == nil {
					c.private = &privateTransports{}
				}
				h1 = c.private.get(be, rt.heads)
				h1s.ppv = ppClient{src: s.Client, dst: s.Frontend, conn: c.nc, uid: s.UniqueID}
				h1s.pp = &h1s.ppv
			}
		}
		switch {
		case req.chunked:
			out.Body, out.ContentLength = body, -1
		case req.contentLength > 0:
			out.Body, out.ContentLength = body, req.contentLength
		}
		if h1 == nil {
			ctx := st.context()
			if out.ProtoMajor == 2 {
				// The dial's TLS settings and ALPN verdict are the
				// request's server's, as on the HTTP/1 path (servers may
				// share an address).
				// Its own (x/net may still dial with it after a retry).
				ctx = withDialTarget(ctx, &dialTarget{addr: addr, srv: srv})
			}
			out = out.WithContext(httptrace.WithClientTrace(ctx, st.clientTrace()))
		}
	}
	request()
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		st.tConn, st.dialErr = time.Time{}, nil
		if out.ProtoMajor == 2 {
			ht := startH2HeaderTimer(srvTimeout, st.cancel)
			resp, err = rtp.RoundTrip(out)
			if ht.stop() && err != nil {
				err = fmt.Errorf("proxy: no response head within timeout server: %w", os.ErrDeadlineExceeded)
			}
			if errors.Is(err, errServerNotH2) && e.killed.Err() == nil {
				// ALPN chose HTTP/1.1: the same request, the HTTP/1 way.
				request()
				attempt--
				continue
			}
		} else if ownHdr != nil {
			ownHdr.arm()
			resp, err = h1.send(out, h1s)
			if ownHdr.stop() && err != nil {
				err = fmt.Errorf("proxy: no response head within timeout server: %w", os.ErrDeadlineExceeded)
			}
		} else {
			resp, err = h1.send(out, h1s)
		}
		if st.dialErr != nil && st.tConn.IsZero() && e.killed.Err() == nil {
			srv.observe(HanaL4Err)
		}
		if err == nil || st.dialErr == nil || !st.tConn.IsZero() || attempt >= be.px.Retries || e.killed.Err() != nil || aw.aborted() {
			break
		}
		// The connection was refused or timed out: retry after haproxy's
		// turn-around time, min(timeout connect, 1s), if it was refused.
		s.Retries++
		retryWait, rerr := retryServer(reqCtx, be, &srv, req, s, attempt, isTimeout(st.dialErr))
		if rerr != nil && aw.aborted() {
			s.Status, s.TermCause, s.TermState = -1, termClient, stateConnect
			be.ctr.cliAborts.Add(1)
			return false
		}
		if rerr != nil {
			s.Status, s.TermCause, s.TermState = http.StatusServiceUnavailable, termServer, stateConnect
			return h.errorPage(c, s, page503, false)
		}
		request() // the server may have changed
		if retryWait {
			wait := time.Second
			if bt.Connect > 0 && bt.Connect < wait {
				wait = bt.Connect
			}
			select {
			case <-time.After(wait):
			case <-reqCtx.Done():
			}
			if aw.aborted() {
				err = context.Canceled
				break
			}
		}
	}
	aw.end()         // the response head came, or the request failed
	c.acct.srv = srv // a retry may have moved it
	if rr != nil && srv != nil {
		rr.txn.Server = srv.fetchName()
	}
	if rr != nil && st.srvConn != nil {
		rr.txn.Env = withServerTLS(rr.txn.Env, st.srvConn)
	}
	if st.srvConn != nil {
		// %si:%sp and %bi:%bp: both ends of the server connection.
		s.ServerAddr, s.BackendSrc = addrPort(st.srvConn.RemoteAddr()), addrPort(st.srvConn.LocalAddr())
	}
	if sc := srvConnFacts(st.srvConn, st.dialErr); sc != nil && !(err != nil && remoteAlert(err)) {
		// (A server's alert after crypto/tls's handshake, as a TLS 1.3
		// server refusing the client certificate sends it, ends
		// haproxy's handshake: its codes are not known here.)
		if rr != nil {
			rr.txn.SrvConn = sc
		}
		if s.Txn != nil {
			// The log line's fetches see the server connection too,
			// still the stream's when haproxy logs.
			s.Txn.SrvConn = sc
			if st.srvConn != nil {
				s.Txn.Env = withServerTLS(s.Txn.Env, st.srvConn)
			}
		}
	}
	if !st.tConn.IsZero() {
		// The stream reached the server (haproxy's sess_establish).
		srv.observe(HanaL4OK)
		switch {
		case err == nil:
			srv.observe(httpHana(resp.StatusCode))
		case e.killed.Err() != nil || body.readErr() != nil:
		case isTimeout(err):
			srv.observe(HanaHTTPReadTimeout)
		default:
			srv.observe(HanaHTTPBrokenPipe)
		}
	}
	if err != nil {
		switch {
		case e.killed.Err() != nil:
			s.TermCause, s.TermState = termKilled, stateConnect
			if !st.tConn.IsZero() {
				s.Tc, s.TermState = st.tConn.Sub(tAssigned), 'H'
			}
			return false
		case aw.aborted():
			be.ctr.cliAborts.Add(1)
			srv.ctr.cliAborts.Add(1)
			if st.tConn.IsZero() {
				// Closed while connecting: no status, nothing sent (CC).
				s.Status, s.TermCause, s.TermState = -1, termClient, stateConnect
				return false
			}
			s.Tc = st.tConn.Sub(tAssigned)
			if overTLS(c.nc) {
				// A TLS client's end without close_notify is an error
				// to haproxy's TLS layer: no reply, "CD" (measured).
				s.Status, s.TermCause, s.TermState = -1, termClient, stateData
				return false
			}
			// Closed while the server prepared its response: haproxy
			// answers its 400 page to what may be a half-closed client
			// (CH), and closes the server connection.
			s.Status, s.TermCause, s.TermState = http.StatusBadRequest, termClient, 'H'
			h.errorPage(c, s, page400Abort, false)
			// What the client sent after its request is read, so that the
			// close is a FIN, not a reset losing the page.
			drainSocket(c.nc)
			if h.errorFile(http.StatusBadRequest) == nil {
				// haproxy's %B of this page counts a "connection: close"
				// field (measured: 206 bytes).
				s.BytesToClient += int64(len("connection") + len("close"))
			}
			return false
		case errors.Is(body.readErr(), errBadRequest):
			// A malformed chunked body: refused as a bad request.
			s.Status, s.TermCause, s.TermState = http.StatusBadRequest, 'P', stateData
			h.f.ctr.failedReq.Add(1)
			h.rawPage(c, http.StatusBadRequest, page400)
			return false
		case body.readErr() != nil:
			// The client went away while sending its body: haproxy logs
			// "CL" and no status.
			if !st.tConn.IsZero() {
				s.Tc = st.tConn.Sub(tAssigned)
			}
			s.Status = -1
			s.TermCause, s.TermState = termClient, 'L'
			be.ctr.cliAborts.Add(1)
			srv.ctr.cliAborts.Add(1)
			return false
		case st.tConn.IsZero() && st.dialErr == nil:
			// No connection was even tried: Go's client refused the
			// request (a Host it cannot write). Answer as to a bad request.
			h.f.ctr.failedReq.Add(1)
			s.Status, s.TermCause, s.TermState = http.StatusBadRequest, 'P', stateRequest
			h.rawPage(c, http.StatusBadRequest, page400)
			return false
		case st.tConn.IsZero():
			srv.ctr.connErrors.Add(1)
			be.ctr.connErrors.Add(1)
			s.Status = http.StatusServiceUnavailable
			s.TermCause, s.TermState = termServer, stateConnect
			if isTimeout(st.dialErr) {
				s.TermCause = termServerTimeout
			}
			// No byte reached a server: like haproxy, the client's
			// connection goes on once its body is read.
			return h.errorPage(c, s, page503, keep && drain(body))
		}
		s.Tc = st.tConn.Sub(tAssigned)
		s.TermCause, s.TermState = termServer, 'H'
		page := page502
		s.Status = http.StatusBadGateway
		if isTimeout(err) {
			s.TermCause, page, s.Status = termServerTimeout, page504, http.StatusGatewayTimeout
		}
		// No response: a failed response, not an abort (haproxy's
		// http_wait_for_response).
		be.ctr.failedResp.Add(1)
		srv.ctr.failedResp.Add(1)
		// haproxy's 502 and 504 leave a client whose request was read
		// whole connected (no "connection: close").
		return h.errorPage(c, s, page, keep && body.complete())
	}
	defer resp.Body.Close()
	serverResponse(srv, resp.StatusCode)
	established(rr, s, bt)
	st.tb = timedBody{r: resp.Body, c: resp.Body, d: srvTimeout, st: st}
	resp.Body = &st.tb
	if resp.ProtoMajor == 2 {
		// An HTTP/2 status has no reason: haproxy passes none on.
		resp.Status = strconv.Itoa(resp.StatusCode)
	}
	tResp := e.now()
	s.Tc = st.tConn.Sub(tAssigned)
	s.Tr = tResp.Sub(st.tConn)
	s.Status = resp.StatusCode
	captureResponse(h.f.px, resp, s)
	if !body.complete() {
		// The server answered before reading the whole body: the rest of
		// it cannot be told from a next request.
		keep = false
	}
	// The head as the server sent it: its fields when parsed in place
	// (the raw head only for a compression to rewrite), else its bytes.
	var raw []byte
	var parsed []header
	if st.entry != nil {
		raw, parsed = st.entry.final(algo != "")
	}
	if h.f.px.Options.LogASAP {
		// Copies: srv and resp captured by reference would be on the
		// heap for every request.
		asapSrv, asapResp := srv, resp
		c.asap = func(out int64) { h.logASAP(c, s, be, asapSrv, req, asapResp, st.entry, out) }
	}
	raw, cc := compressResponse(h.f.px, be.px, algo, req, resp, raw)
	if cc != nil {
		parsed = nil // raw is rewritten
	}
	n, err := c.writeResponse(req, resp, raw, parsed, &keep)
	c.asap = nil
	n = cc.account(n, err == nil, &h.f.ctr, &be.ctr)
	n += c.interimBytes()
	s.BytesToClient = n
	if err != nil {
		var we *clientWriteError
		if errors.As(err, &we) {
			s.TermCause, s.TermState = termClient, stateData
			be.ctr.cliAborts.Add(1)
			srv.ctr.cliAborts.Add(1)
			if isTimeout(err) {
				s.TermCause = termClientTimeout
			}
		} else {
			s.TermCause, s.TermState = termServer, stateData
			be.ctr.srvAborts.Add(1)
			srv.ctr.srvAborts.Add(1)
			be.ctr.failedResp.Add(1)
			srv.ctr.failedResp.Add(1)
			if isTimeout(err) {
				s.TermCause = termServerTimeout
			}
		}
		return false
	}
	s.TermCause, s.TermState = termNormal, termNormal
	if rr != nil {
		rr.logResponse(s)
	}
	return keep
}

// fwdState is what becomes of a request as forward sends it, written by
// the HTTP/1 client's hooks (h1Hooks) or an HTTP/2 trace.
type fwdState struct {
	e       *Engine
	c       *h1Conn
	ownHdr  *hdrTimer  // the head's wait, timed by forward (settimeout.go)
	tConn   time.Time  // the server connection was had (sent or reused)
	dialErr error      // the last connect's
	srvConn net.Conn   // the server connection (ssl_s_*, ssl_bc_* fetches)
	entry   *headEntry // the HTTP/1 head sent and the response head received
	// srv and be are the server and backend of the current attempt,
	// whose counters the hooks keep (connects, reuses, 1xx statuses).
	srv  *Server
	be   *Backend
	send h1Send
	tb   timedBody // the response body as forward reads it
	// The room of the HTTP/1 request given to h1Client, and of the
	// fields forwardfor and originalto add.
	extra [2]header
	out   http.Request
	url   url.URL
	ent   headEntry
	room  respRoom // the response head parsed in place, its body
	body  bodyReader
	// headRoom holds the first head sent to a server when it fits (a
	// head without cookies does).
	headRoom [512]byte
	headUsed bool

	mu        sync.Mutex // ctx and its cancel: cancel may come from a timer
	ctx       context.Context
	ctxCancel context.CancelFunc
	canceled  bool
}

// context is the request's context, made for an HTTP/2 server (the
// HTTP/1 client needs none); already ended after cancel.
func (st *fwdState) context() context.Context {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ctx == nil {
		st.ctx, st.ctxCancel = context.WithCancel(st.send.kill)
		if st.canceled {
			st.ctxCancel()
		}
	}
	return st.ctx
}

// cancel ends the request: its context and its HTTP/1 exchange.
func (st *fwdState) cancel() {
	st.mu.Lock()
	st.canceled = true
	if st.ctxCancel != nil {
		st.ctxCancel()
	}
	st.mu.Unlock()
	st.send.abort()
}

func (st *fwdState) connectDone(_, _ string, err error) {
	st.dialErr = err
	if st.srv != nil {
		st.srv.ctr.connects.Add(1)
		st.be.ctr.connects.Add(1)
	}
}

func (st *fwdState) gotConn(c net.Conn, reused bool) {
	st.tConn, st.srvConn = st.e.now(), c
	if reused && st.srv != nil {
		st.srv.ctr.reuses.Add(1)
		st.be.ctr.reuses.Add(1)
	}
}

func (st *fwdState) wroteRequest() {
	if st.ownHdr != nil {
		st.ownHdr.wrote()
	}
}

func (st *fwdState) got1xx(code int, _ textproto.MIMEHeader) (bool, error) {
	// haproxy passes interim responses on (103 Early Hints...); a 100
	// Continue is the client's business (interim).
	var raw []byte
	if st.entry != nil {
		raw = st.entry.nextInterim()
	}
	if st.srv != nil {
		serverResponse(st.srv, code)
	}
	if code != http.StatusContinue {
		st.c.interimResponse(code, raw)
	}
	return true, nil
}

// h2Conn is an HTTP/2 session connection's GotConn (sessionH2): a
// stream on a connection the session had is a reuse to haproxy.
func (st *fwdState) h2Conn(c net.Conn, reused bool) {
	st.tConn, st.srvConn = st.e.now(), c
	st.h2Stream()
	if reused && st.srv != nil {
		st.srv.ctr.reuses.Add(1)
		st.be.ctr.reuses.Add(1)
	}
}

// h2Stream counts a stream opened on an HTTP/2 server connection
// (h2_backend_total_streams; the open streams gauge is not kept).
func (st *fwdState) h2Stream() {
	if st.be != nil {
		st.be.ctr.h2.totalStreams.Add(1)
	}
}

// clientTrace is the trace of a request sent over HTTP/2.
func (st *fwdState) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn:        func(info httptrace.GotConnInfo) { st.h2Stream(); st.gotConn(info.Conn, info.Reused) },
		ConnectDone:    st.connectDone,
		WroteRequest:   func(httptrace.WroteRequestInfo) { st.wroteRequest() },
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error { _, err := st.got1xx(code, h); return err },
	}
}

// noUserAgent is the header of every request given to Go's client: no
// User-Agent of its own (the head sent is appendHead's). Shared, so
// read only: the client does not modify a request's header.
var noUserAgent = http.Header{"User-Agent": {""}}

// drain reads the rest of a request body before an error reply, so the
// connection can go on; false if it could not.
func drain(b *bodyReader) bool {
	_, err := io.Copy(io.Discard, io.LimitReader(b, 1<<20))
	return err == nil && b.complete()
}

// errorPage sends one of haproxy's own replies and records it.
func (h *h1Frontend) errorPage(c *h1Conn, s *accesslog.Session, p errorPage, keep bool) bool {
	stickAnswering(c.stk)
	r := h.errorFile(p.code)
	if r != nil && r.ret != nil {
		p = h.replyPage(c, c.rules, s, r.ret)
	}
	if r != nil && r.msg != nil {
		n, keep, err := c.writeErrorFile(r.msg, keep)
		s.BytesToClient = n
		if err != nil {
			return false
		}
		if s.TermCause == 0 {
			s.TermCause, s.TermState = termNormal, termNormal
		}
		return keep
	}
	s.BytesToClient = 0
	if c.rules != nil {
		// The http-after-response rules see the proxy's own replies too;
		// early hints sent count in %B.
		p = c.rules.afterPage(h, p)
		s.Status = p.code
		s.BytesToClient = c.interimBytes()
	}
	s.BytesToClient += p.htxSize()
	if c.req != nil && c.req.method == http.MethodHead {
		s.BytesToClient -= int64(len(p.body))
	}
	if err := c.writePage(p, keep); err != nil {
		return false
	}
	if s.TermCause == 0 {
		s.TermCause, s.TermState = termNormal, termNormal
	}
	return keep
}

type clientWriteError struct{ error }

func (e *clientWriteError) Unwrap() error { return e.error }

// notForwarded are the response fields haproxy 2.6 does not pass on as
// received: Connection (it writes its own), Transfer-Encoding (the
// framing is redone), Upgrade (no tunnel is relayed). Keep-Alive,
// Trailer and the like reach the client, as with haproxy.
var notForwarded = map[string]bool{
	"connection": true, "transfer-encoding": true, "upgrade": true,
}

// responseFields are the server's response fields in the order it sent
// them, names lower-cased and values trimmed, as haproxy 2.6 passes them
// on, read from the head as received (raw). Transfer-Encoding stays in
// the list to mark its place. ok is false when raw is missing or does not
// hold the same fields as Go's parse of it (then the caller falls back to
// sortedFields).
func responseFields(raw []byte, resp *http.Response, keepUpgrade bool) ([]header, bool) {
	if raw == nil {
		return nil, false
	}
	// One string for the whole head; lines, names and values are parts of
	// it (common names lower-cased without allocating).
	head := string(raw)
	out := make([]header, 0, strings.Count(head, "\n"))
	counted := 0 // fields Go's parse must hold too
	first := true
	for len(head) > 0 {
		l := head
		if i := strings.IndexByte(head, '\n'); i >= 0 {
			l, head = head[:i], head[i+1:]
		} else {
			head = ""
		}
		if n := len(l); n > 0 && l[n-1] == '\r' {
			l = l[:n-1]
		}
		if first { // the status line
			first = false
			continue
		}
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			return nil, false // folded: leave it to Go's parse
		}
		name, value, found := strings.Cut(l, ":")
		if !found {
			return nil, false
		}
		name = lowerName(name)
		value = strings.Trim(value, " \t")
		if !forwardedField(name, resp, keepUpgrade) {
			continue
		}
		out = append(out, header{name, value})
		if name != "transfer-encoding" && name != "trailer" && name != "connection" && name != "upgrade" {
			counted++
		}
	}
	// Go's parse must agree, Trailer aside (it moves it for chunks): as
	// many fields of each of its names (names compared without case, as
	// its canonical keys are), and no other field.
	matched := 0
	for k, vs := range resp.Header {
		if k == "Trailer" || strings.EqualFold(k, "connection") || strings.EqualFold(k, "transfer-encoding") || strings.EqualFold(k, "upgrade") {
			continue
		}
		n := 0
		for _, f := range out {
			if f.name != "transfer-encoding" && f.name != "trailer" && strings.EqualFold(f.name, k) {
				n++
			}
		}
		if n != len(vs) {
			return nil, false
		}
		matched += n
	}
	if matched != counted {
		return nil, false
	}
	return out, true
}

// forwardedField tells whether a response field (name lower-cased)
// goes on to the client; Transfer-Encoding stays to mark its place.
func forwardedField(name string, resp *http.Response, keepUpgrade bool) bool {
	switch name {
	case "content-length":
		// Dropped beside chunked, as Go's parse drops it.
		return resp.ContentLength >= 0 || len(resp.TransferEncoding) == 0
	case "connection", "upgrade":
		return keepUpgrade
	}
	return true
}

// forwardedFields keeps the fields of a head parsed in place
// (parseRespHead) that go on to the client, as responseFields does for
// a raw head; fields' room is reused.
func forwardedFields(fields []header, resp *http.Response, keepUpgrade bool) []header {
	out := fields[:0]
	for _, f := range fields {
		if forwardedField(f.name, resp, keepUpgrade) {
			out = append(out, f)
		}
	}
	return out
}

// upgradeAnswerFields completes the fields of a non-101 answer to an
// upgrade request as haproxy 2.6's HTTP/1 layer writes them: when they
// name the upgrade in Connection and websocket in Upgrade and carry no
// Sec-WebSocket-Accept, the one answering the client's key is added
// last. connUpgrade reports a Connection field naming upgrade (no
// "close" or "keep-alive" is added then).
func upgradeAnswerFields(req *httpRequest, fields []header) (out []header, connUpgrade bool) {
	ws, accept := false, false
	for _, f := range fields {
		switch f.name {
		case "connection":
			connUpgrade = connUpgrade || hasToken([]string{f.value}, "upgrade")
		case "upgrade":
			ws = ws || hasToken([]string{f.value}, "websocket")
		case "sec-websocket-accept":
			accept = true
		}
	}
	if connUpgrade && ws && !accept {
		for _, h := range req.headers {
			if h.name == "sec-websocket-key" && len(h.value) == 24 {
				fields = append(fields, header{"Sec-Websocket-Accept", webSocketAccept(h.value)}) // haproxy's spelling
				break
			}
		}
	}
	return fields, connUpgrade
}

// lowerName is strings.ToLower(name), without allocating for the field
// names servers commonly send.
func lowerName(name string) string {
	if len(name) < len(commonByLen) && name != "" {
		first := name[0] | 0x20 // common names start with a letter
		for _, c := range commonByLen[len(name)] {
			if c[0] == first && equalLower(c, name) {
				return c
			}
		}
	}
	return strings.ToLower(name)
}

// equalLower tells whether name is lower (lower-case ASCII, same length)
// but for the case of its letters.
func equalLower(lower, name string) bool {
	for i := 0; i < len(name); i++ {
		b := name[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != lower[i] {
			return false
		}
	}
	return true
}

// commonByLen are commonFields by their length: lowerName compares a
// name with the few of its length, each by its first letter first.
var commonByLen = func() (t [32][]string) {
	for _, c := range commonFields {
		t[len(c)] = append(t[len(c)], c)
	}
	return t
}()

// commonFields are lower-case field names frequent in requests and
// responses.
var commonFields = [...]string{
	"host", "server", "date", "content-type", "content-length", "last-modified",
	"connection", "etag", "accept-ranges", "user-agent", "accept", "accept-encoding",
	"accept-language", "cache-control", "expires", "vary", "location", "set-cookie",
	"cookie", "keep-alive", "transfer-encoding", "content-encoding", "referer",
	"x-forwarded-for", "authorization", "upgrade", "pragma", "if-modified-since",
	"if-none-match",
}

// sortedFields are the response fields from Go's parse, sorted by name:
// the order is lost there.
func sortedFields(resp *http.Response) []header {
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		if !notForwarded[strings.ToLower(k)] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []header
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			out = append(out, header{strings.ToLower(k), v})
		}
	}
	return out
}

// writeResponse sends the server's response to the client: status line,
// end-to-end headers with lower-case names (as haproxy 2.6 writes them),
// and the body, chunked towards an HTTP/1.1 client when the server gave no
// length. It returns what haproxy counts as bytes sent (%B): the size of
// the response in its internal HTX form (see htxSize).
//
// parsed are the head's fields in order when it was parsed in place
// (parseRespHead), else nil: the fields come from raw then, or from
// resp's header map.
func (c *h1Conn) writeResponse(req *httpRequest, resp *http.Response, raw []byte, parsed []header, keep *bool) (int64, error) {
	c.startResponse()
	bw := c.writer()
	code := resp.StatusCode
	var nb [20]byte
	codeText := strconv.AppendInt(nb[:0], int64(code), 10)
	reason := resp.Status
	if len(reason) >= len(codeText) && reason[:len(codeText)] == string(codeText) {
		reason = reason[len(codeText):]
	}
	reason = strings.TrimLeft(reason, " ")
	var size int64
	bodyless := req.method == http.MethodHead || code/100 == 1 || code == 204 || code == 304
	// An HTTP/1.0 server's version goes on to the client, as haproxy
	// passes any version below 1.1 (and writes 1.1 for the others).
	http10 := resp.ProtoMajor == 1 && resp.ProtoMinor == 0
	chunked := false
	if !bodyless && resp.ContentLength < 0 {
		if len(resp.TransferEncoding) > 0 {
			// haproxy keeps the server's "transfer-encoding: chunked"
			// header and ends the message with a one-byte block.
			size += int64(len("transfer-encoding")+len("chunked")) + htxEOT
		}
		// haproxy chunks only a body whose end its framing knew (a
		// server's chunked response, an HTTP/2 server's): a
		// close-delimited HTTP/1 response goes on as it came, the
		// client's connection closing after it (measured on 2.6.12:
		// "connection: close", no transfer-encoding).
		if req.http11() && (len(resp.TransferEncoding) > 0 || resp.ProtoMajor >= 2) {
			chunked = true
		}
		if !chunked || http10 {
			// The end of the body is the close; haproxy closes after a
			// chunked HTTP/1.0 response too.
			*keep = false
		}
	}
	var fields []header
	ordered := true
	if parsed != nil {
		fields = forwardedFields(parsed, resp, c.upgradeAnswer)
	} else if fields, ordered = responseFields(raw, resp, c.upgradeAnswer); !ordered {
		fields = sortedFields(resp)
	}
	var ruled int64 // what the rules changed in the head's %B (counted as received)
	if c.rules != nil {
		ruled = headSize(resp.Proto, reason, fields)
		var denied *errorPage
		c.rules.resp = resp
		code, reason, fields, denied = c.rules.responseRules(c.h, code, reason, fields)
		c.rules.resp = nil
		if denied != nil {
			return c.deniedResponse(*denied, keep, size+ruled, resp.Body)
		}
		bodyless = bodyless || c.rules.head
		ruled -= headSize(resp.Proto, reason, fields)
	}
	// The persistence cookie goes in after the rules, as haproxy inserts
	// it; like the rules' changes, %B does not count it (haproxy counts
	// the response as it came from the server).
	var cookied int64
	if req.persist != nil {
		before := headSize(resp.Proto, reason, fields)
		fields = req.persist.response(code, fields)
		cookied = headSize(resp.Proto, reason, fields) - before
	}
	connUpgrade := false
	if c.upgradeAnswer && ordered {
		fields, connUpgrade = upgradeAnswerFields(req, fields)
	}
	if http10 {
		bw.WriteString("HTTP/1.0 ")
	} else {
		bw.WriteString("HTTP/1.1 ")
	}
	writeStatusCode(bw, code)
	bw.WriteByte(' ')
	bw.WriteString(reason)
	bw.WriteString("\r\n")
	size += htxStartLine + int64(len(resp.Proto)+3+len(reason))
	teWritten := false
	for _, f := range fields {
		if f.name == "transfer-encoding" {
			// In the server's place, when the client gets chunks.
			if chunked && !teWritten {
				bw.WriteString("transfer-encoding: chunked\r\n")
				teWritten = true
			}
			continue
		}
		bw.WriteString(f.name)
		bw.WriteString(": ")
		bw.WriteString(f.value)
		bw.WriteString("\r\n")
		size += int64(len(f.name) + len(f.value))
	}
	if chunked && !teWritten {
		bw.WriteString("transfer-encoding: chunked\r\n")
	}
	// As haproxy's HTTP/1 layer: "close" only in an HTTP/1.1 message,
	// "keep-alive" when the client or the message is HTTP/1.0.
	switch {
	case connUpgrade:
		// haproxy leaves a Connection field naming upgrade as it is.
	case !*keep:
		if !http10 {
			bw.WriteString("connection: close\r\n")
		}
	case !req.http11() || http10:
		bw.WriteString("connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	size += htxEOH
	if c.asap != nil {
		// htx->data when haproxy logs: the head as the rules left it,
		// and the body that came with it.
		asap := size
		if resp.ContentLength < 0 && len(resp.TransferEncoding) > 0 {
			asap -= htxEOT
		}
		c.asap(asap)
	}
	size -= cookied
	if c.rules != nil {
		// haproxy counts the head as the server sent it, and a body
		// it does not send to a HEAD turned into another method.
		size += ruled
		if c.rules.head && req.method != http.MethodHead {
			n, _ := io.Copy(io.Discard, resp.Body)
			size += n
		}
	}
	if bodyless {
		if err := bw.Flush(); err != nil {
			return size, &clientWriteError{err}
		}
		return size, nil
	}
	var w io.Writer = bw
	var cw *chunkWriter
	if chunked {
		cw = &chunkWriter{w: bw}
		w = cw
	}
	n, err := copyBody(bw, w, resp.Body)
	size += n
	if err != nil {
		return size, err
	}
	if cw != nil {
		if _, err := bw.WriteString("0\r\n\r\n"); err != nil {
			return size, &clientWriteError{err}
		}
	}
	if err := bw.Flush(); err != nil {
		return size, &clientWriteError{err}
	}
	return size, nil
}

// writeStatusCode writes a status code without a buffer escaping to
// the heap (bufio's Write may pass its argument on).
func writeStatusCode(bw *bufio.Writer, code int) {
	if code < 100 || code > 999 {
		bw.WriteString(strconv.Itoa(code))
		return
	}
	bw.WriteByte(byte('0' + code/100))
	bw.WriteByte(byte('0' + code/10%10))
	bw.WriteByte(byte('0' + code%10))
}

// timedBody applies `timeout server` to each read of a server's body: a
// server silent that long has its request cancelled.
type timedBody struct {
	r       io.Reader
	c       io.Closer // the body's (Close is not timed)
	d       time.Duration
	st      *fwdState // cancelled when the server is silent for d
	expired atomic.Bool
	t       *time.Timer // made at the first read, re-armed at the next ones
}

func (b *timedBody) Close() error { return b.c.Close() }

func (b *timedBody) expire() {
	b.expired.Store(true)
	b.st.cancel()
}

// readyReader is a body that can tell a read will not wait for the
// server (what came with the head is buffered): no timer for it.
type readyReader interface{ ready() bool }

func (b *timedBody) Read(p []byte) (int, error) {
	if b.d <= 0 {
		return b.r.Read(p)
	}
	if rr, ok := b.r.(readyReader); ok && rr.ready() {
		return b.r.Read(p)
	}
	if b.t == nil {
		b.t = time.AfterFunc(b.d, b.expire)
	} else {
		b.t.Reset(b.d)
	}
	n, err := b.r.Read(p)
	b.t.Stop()
	if err != nil && err != io.EOF && b.expired.Load() {
		err = os.ErrDeadlineExceeded
	}
	return n, err
}

// copyBody copies the server's body as it comes, telling client write
// errors from server read errors; what arrived is passed on at once, as
// haproxy forwards it, even when the server then fails.
func copyBody(bw *bufio.Writer, w io.Writer, r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, &clientWriteError{werr}
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if ferr := bw.Flush(); ferr != nil {
			return total, &clientWriteError{ferr}
		}
		if err != nil {
			return total, err
		}
	}
}

type chunkWriter struct{ w *bufio.Writer }

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.w.WriteString(strconv.FormatInt(int64(len(p)), 16))
	c.w.WriteString("\r\n")
	c.w.Write(p)
	c.w.WriteString("\r\n")
	return len(p), c.w.Flush()
}
