package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"hapair/pkg/accesslog"
	"hapair/pkg/sample"
)

// HTTP/2 on the client side, as haproxy 2.6 serves it: on a TLS bind whose
// ALPN chose "h2", and on any bind with `proto h2` (prior knowledge, clear
// text or not). The framing, HPACK, flow control, stream states and the
// connection errors (GOAWAY on a bad frame, RST_STREAM on a bad stream)
// come from golang.org/x/net/http2's server: a maintained implementation
// of RFC 9113, fuzzed and used by Go's own net/http, where a home-made one
// would be a new attack surface. Each stream then goes through the very
// path of an HTTP/1 request (h1Frontend.forward: rules, use_backend,
// balancing, persistence, errorfiles, logs): the stream is given to it as
// an HTTP/1.1 request on an in-memory connection (h2StreamConn), and the
// HTTP/1.1 response it writes there is sent back on the stream. That is
// haproxy's own design: its HTX messages are version-neutral and each
// multiplexer translates.
//
// What the client sees differs from haproxy 2.6 in these points:
//   - response header fields reach the client sorted by name (Go's server
//     writes them so), where haproxy keeps the server's order; the server
//     gets the request fields with host first, then sorted by name;
//   - WINDOW_UPDATE frames are sent once 4 KiB or more were consumed (Go's
//     server batches them), haproxy sends one per DATA frame read;
//   - interim responses (1xx) from the server are not relayed; Go's
//     server answers "Expect: 100-continue" itself;
//   - a stream's request reaches the server as soon as its HEADERS are
//     read, even when a DATA frame read with it then resets the stream
//     (reg-test h2_to_h1, stream 7: haproxy forwards nothing);
//   - a stalled upload is bounded by the default backend's `timeout
//     server` (haproxy: that of the backend chosen), then 504 "sH".

// protoListener marks the listener of a bind with `proto`.
type protoListener struct {
	net.Listener
	proto string
}

// wrapProto returns the listener of bind number i of f, marked with the
// bind's `proto` if it has one.
func (e *Engine) wrapProto(f *Frontend, i int, ln net.Listener) net.Listener {
	if i >= len(f.px.Binds) || f.px.Binds[i].Proto == "" {
		return ln
	}
	return &protoListener{Listener: ln, proto: f.px.Binds[i].Proto}
}

// listenerProto is the `proto` of a listener given to serveH1.
func listenerProto(ln net.Listener) string {
	if pl, ok := ln.(*protoListener); ok {
		return pl.proto
	}
	return ""
}

// h2Server is the HTTP/2 side of one h1Frontend.
type h2Server struct {
	srv  *http2.Server
	base *http.Server // its Shutdown sends GOAWAY to every connection
}

// newH2Server sets up HTTP/2 for h with the tune.h2.* settings, haproxy
// 2.6's defaults without them: 100 concurrent streams, 16 kB frames, a 4 kB
// HPACK table, 65535-byte stream windows.
// A soft stop sends GOAWAY: the streams begun are served, no new one is
// accepted, as haproxy does.
func newH2Server(h *h1Frontend) *h2Server {
	t := h.e.cfg.Global.H2
	enableH2ExtendedConnect()
	s := &h2Server{
		srv: &http2.Server{
			MaxConcurrentStreams: uint32(firstInt(t.MaxConcurrentStreams, 100)),
			// haproxy announces min(tune.h2.max-frame-size, tune.bufsize),
			// 16384 with the default buffers (tune.bufsize is cosmetic here).
			MaxReadFrameSize: uint32(min(firstInt(t.MaxFrameSize, 16384), 16384)),
			// haproxy's windows (tune.h2.initial-window-size 65535, the
			// connection's left at the protocol's default): no early
			// WINDOW_UPDATE, a client's upload paced as by haproxy.
			MaxUploadBufferPerStream:     int32(firstInt(t.InitialWindowSize, 65535)),
			MaxUploadBufferPerConnection: 65535,
			MaxDecoderHeaderTableSize:    uint32(firstInt(t.HeaderTableSize, 4096)),
			IdleTimeout:                  firstSet(h.f.px.Timeouts.HTTPKeepAlive, h.f.px.Timeouts.Client),
		},
		base: &http.Server{ErrorLog: log.New(io.Discard, "", 0)},
	}
	_ = http2.ConfigureServer(s.base, s.srv)
	go func() {
		select {
		case <-h.e.stop:
		case <-h.e.killed.Done():
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no wait: the connections end with their streams
		_ = s.base.Shutdown(ctx)
	}()
	return s
}

func firstInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// h2Errors counts the protocol errors of HTTP/2 clients (bad frames,
// floods), which end their connection or stream.
var h2Errors atomic.Int64

// H2ProtocolErrors is the number of HTTP/2 protocol errors of clients
// (connection errors answered with GOAWAY, stream errors with
// RST_STREAM, floods cut), process-wide, for the stats.
func H2ProtocolErrors() int64 { return h2Errors.Load() }

// useH2 tells whether the connection speaks HTTP/2: `proto h2`, or ALPN
// chose h2 on a bind without `proto`.
func (h *h1Frontend) useH2(nc net.Conn) bool {
	switch h.proto {
	case "h2":
		return true
	case "":
		if tc := tlsOf(nc); tc != nil {
			return tc.ConnectionState().NegotiatedProtocol == "h2"
		}
	}
	return false
}

// upgradeH2 tells whether the first request of an HTTP/1 connection is
// the HTTP/2 connection preface, which haproxy 2.6 serves as HTTP/2 on a
// bind without `proto` unless `option disable-h2-upgrade` is set.
func (h *h1Frontend) upgradeH2(c *h1Conn) bool {
	if h.h2 == nil || h.proto != "" || h.f.px.Options.DisableH2Upgrade {
		return false
	}
	buf, _ := c.br.Peek(c.br.Buffered())
	if n := min(len(buf), len(http2.ClientPreface)); string(buf[:n]) != http2.ClientPreface[:n] {
		return false
	}
	// A prefix of the preface: wait for all of it (bounded by the
	// request timeout already set).
	full, err := c.br.Peek(len(http2.ClientPreface))
	return err == nil && string(full) == http2.ClientPreface
}

// pagePRI is the 400 of haproxy's HTTP analyser (not of its HTTP/1 layer:
// lower-case fields, counted in %B).
var pagePRI = newPage(400, "Bad request", "Your browser sent an invalid request.", false)

// refusePRI answers an HTTP/1 request with the method PRI, reserved for
// the HTTP/2 preface (RFC 9113 section 3.4), as haproxy 2.6 does when it
// does not upgrade: 400, logged as <BADREQ> with "PR--" and the page
// counted in %B; the connection closes.
func (h *h1Frontend) refusePRI(c *h1Conn, s *accesslog.Session, from time.Time) {
	e := h.e
	s.Status, s.TermCause, s.TermState = http.StatusBadRequest, 'P', stateRequest
	h.errorPage(c, s, pagePRI, false)
	// haproxy's analyser adds "connection: close" to the reply it closes
	// with, and counts it (seen: 206 bytes against the page's 191).
	s.BytesToClient += int64(len("connection") + len("close"))
	end := e.now()
	s.Tt = end.Sub(s.Accept)
	s.Ta = end.Sub(from)
	s.BytesFromClient = c.cnt.n.Load()
	s.ActConn = int(e.actconn.Load())
	s.FeConn = int(h.f.ctr.cur.Load())
	e.logSession(h.f.px, *s)
}

// serveUpgraded serves as HTTP/2 a connection whose read buffer holds
// the preface. The buffer is left to the garbage collector, not to the
// pool: the HTTP/2 server's reading goroutine may outlive ServeConn.
func (h *h1Frontend) serveUpgraded(c *h1Conn, start time.Time, th time.Duration) {
	h.serveH2(c, &bufferedConn{Conn: c.cnt, r: c.br}, start, th)
	c.br = nil
	buffersInUse.Add(-1)
}

// bufferedConn reads through r, which holds what was read ahead.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// h2Conn is one HTTP/2 client connection.
type h2Conn struct {
	h      *h1Frontend
	c      *h1Conn // the connection as h1Frontend.serve registered it
	start  time.Time
	th     time.Duration
	mu     sync.Mutex
	first  bool // no stream began yet
	ssl    bool
	cipher string
	tlsVer string
	scheme string
	logged bool // a <BADREQ> line was logged
	// sessVars are the set-var(sess.*) values, shared by the streams as
	// haproxy shares them within a session; each stream works on a copy
	// taken when it starts and written back when it ends.
	sessVars map[string]sample.Value
	// ss holds the server connections of the streams (srvreuse.go).
	ss *srvSession
}

// serveH2 serves the streams of an HTTP/2 connection until it ends.
func (h *h1Frontend) serveH2(c *h1Conn, conn net.Conn, start time.Time, th time.Duration) {
	hc := &h2Conn{h: h, c: c, start: start, th: th, first: true, scheme: "http", ss: newSrvSession()}
	defer hc.ss.close()
	hc.ssl = tlsOf(c.nc) != nil
	if hc.ssl {
		hc.scheme = "https"
	}
	hc.cipher, hc.tlsVer = tlsLogFields(c.nc)
	srv := h.h2.conf(func(string) { hc.badConn() })
	// The server logs the connection errors it answers with GOAWAY (a
	// bad frame, a bad preface): counted here instead.
	base := &http.Server{ErrorLog: log.New(errorCounter(hc.badConn), "", 0)}
	ctr := &h.f.ctr.h2
	// Writes are gathered (h2_wbuf.go). Reads are not buffered although Go's
	// server reads each frame's header and payload with a system call each:
	// with a buffer its reader outruns the goroutine that flushes its
	// writes, and a PING flood fills its queue of control frames, which it
	// answers by closing the connection (TestIntegrationH2FloodHaproxy,
	// where haproxy answers every PING).
	conn = newH2CountedConn(newCoalescedConn(conn), ctr, true)
	ctr.openConns.Add(1)
	ctr.totalConns.Add(1)
	defer ctr.openConns.Add(-1)
	if h.e.cfg.Global.H2.NoExtendedConnect {
		conn = &noExtConnectConn{Conn: conn}
	}
	srv.ServeConn(conn, &http2.ServeConnOpts{
		Context:    h.e.killed,
		BaseConfig: base,
		Handler:    http.HandlerFunc(hc.stream),
	})
}

// badConn logs a protocol error before any stream as haproxy does: a
// <BADREQ> line with status 0 and "PR--", once, when the error is seen.
func (hc *h2Conn) badConn() {
	hc.mu.Lock()
	log := hc.first && !hc.logged
	hc.logged = true
	hc.mu.Unlock()
	if !log {
		return
	}
	h, c := hc.h, hc.c
	s := accesslog.Session{
		Client: addrPort(c.nc.RemoteAddr()), Frontend: addrPort(c.nc.LocalAddr()), Accept: hc.start,
		FrontendName: h.f.Name(), BackendName: h.f.Name(), ServerName: "<NOSRV>",
		TR: -1, Tw: -1, Tc: -1, Tr: -1, SSL: hc.ssl, ReqCounter: h.e.nextStreamID(),
		SSLCipher: hc.cipher, SSLVersion: hc.tlsVer, Th: hc.th,
		TermCause: 'P', TermState: stateRequest,
	}
	end := h.e.now()
	s.Tt = end.Sub(hc.start)
	s.Ti = s.Tt - hc.th
	s.BytesFromClient = c.cnt.n.Load()
	s.ActConn = int(h.e.actconn.Load())
	s.FeConn = int(h.f.ctr.cur.Load())
	h.e.logSession(h.f.px, s)
}

// errorCounter counts the lines the HTTP/2 server logs: its connection
// errors.
type errorCounter func()

func (w errorCounter) Write(p []byte) (int, error) {
	h2Errors.Add(1)
	w()
	return len(p), nil
}

// conf is the HTTP/2 server for one connection, its errors counted by
// count as well as in h2Errors.
func (s *h2Server) conf(count func(string)) *http2.Server {
	// A copy shares the configured state, so that a soft stop still
	// reaches the connection (base.Shutdown).
	srv := *s.srv
	srv.CountError = func(what string) {
		h2Errors.Add(1)
		count(what)
	}
	return &srv
}

// stream serves one HTTP/2 stream: its request, as HTTP/1.1, goes through
// the HTTP/1 request path on this goroutine; the HTTP/1.1 answer written
// there becomes the stream's response as it is written (h2Resp).
func (hc *h2Conn) stream(w http.ResponseWriter, r *http.Request) {
	h := hc.h
	// haproxy's h2_backend_open_streams and h2_backend_total_streams
	// count a frontend's streams too.
	h.f.ctr.h2.openStreams.Add(1)
	h.f.ctr.h2.totalStreams.Add(1)
	defer h.f.ctr.h2.openStreams.Add(-1)
	now := h.e.now()
	hc.mu.Lock()
	accept, th, first := now, time.Duration(0), hc.first
	if first {
		accept, th, hc.first = hc.start, hc.th, false
	}
	hc.mu.Unlock()

	ext := r.Method == http.MethodConnect && r.Header.Get(":protocol") != ""
	method := r.Method
	if ext {
		method = http.MethodGet
	}
	sc := &h2StreamConn{parent: hc.c.nc, readIdle: h.stallTimeout(), extConnect: ext,
		out: h2Resp{w: w, method: method, ext: ext}}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	head, hasBody := h1RequestHead((*bp)[:0], r)
	if hasBody {
		// The body comes as the client sends it: through a pipe.
		sc.r, sc.rw = io.Pipe()
		go writeH1Request(sc.rw, r)
	} else {
		sc.pending = head
	}

	c := &h1Conn{nc: sc, cnt: &deadlineConn{Conn: sc}, h: h, private: hc.c.private, ss: hc.ss}
	hc.mu.Lock()
	if len(hc.sessVars) > 0 {
		c.sessVars = maps.Clone(hc.sessVars)
	}
	hc.mu.Unlock()
	func() {
		defer func() {
			if p := recover(); p != nil {
				h.e.recovered("http/2 stream", h.f.Name(), p)
				c.broken = true
			}
			c.release(true)
		}()
		hc.serveOne(c, r, accept, th, now)
		if c.sessVars != nil {
			hc.mu.Lock()
			hc.sessVars = c.sessVars
			hc.mu.Unlock()
		}
	}()
	// The stream is over for the client: what the path left reading
	// fails, and no timer outlives the stream.
	sc.end()
	if !sc.out.complete() {
		// No response (silent-drop, reject, a cut server connection), or
		// a body cut: the stream is reset, as haproxy does.
		panic(http.ErrAbortHandler)
	}
}

var errStreamClosed = errors.New("http/2 stream closed")

// stallTimeout is how long an HTTP/2 stream's body may pause: the
// server's timeout of the default backend (of the frontend without one).
func (h *h1Frontend) stallTimeout() time.Duration {
	if be := h.f.backend; be != nil {
		return be.px.Timeouts.Server
	}
	return h.f.px.Timeouts.Server
}

// serveOne runs one stream's request through the HTTP/1 request path and
// logs it as haproxy logs an HTTP/2 request: version "HTTP/2.0" and the
// URI in absolute form (scheme://authority/path).
func (hc *h2Conn) serveOne(c *h1Conn, r *http.Request, accept time.Time, th time.Duration, tFirst time.Time) {
	h := hc.h
	e, f := h.e, h.f
	s := accesslog.Session{
		Client: addrPort(c.nc.RemoteAddr()), Frontend: addrPort(c.nc.LocalAddr()), Accept: accept,
		FrontendName: f.Name(), BackendName: f.Name(), ServerName: "<NOSRV>",
		TR: -1, Tw: -1, Tc: -1, Tr: -1, SSL: hc.ssl, ReqCounter: e.nextStreamID(),
		SSLCipher: hc.cipher, SSLVersion: hc.tlsVer, Th: th,
	}
	s.Ti = tFirst.Sub(accept) - th
	if s.Ti < 0 {
		s.Ti = 0
	}
	c.br = getReader(c.cnt)
	req, err := readRequest(c.br)
	if err == nil && req.chunked {
		buf, _ := c.br.Peek(c.br.Buffered())
		err = checkBufferedChunks(buf)
	}
	s.Method, s.Version = r.Method, "HTTP/2.0"
	if sc, ok := c.nc.(*h2StreamConn); ok && sc.extConnect {
		s.Method = http.MethodGet
	}
	s.URI = hc.scheme + "://" + r.Host + r.RequestURI
	if err != nil {
		h.badRequest(c, &s, tFirst, err)
		return
	}
	req.notFirst = true // haproxy marks every HTTP/2 stream so
	if h.rules != nil && !h.tcpContent(c, &s, req) {
		return
	}
	f.ctr.request(tFirst)
	c.req = req
	c.cnt.idle.Store(int64(f.px.Timeouts.Client))
	h.forward(c, req, &s)
	if sc, ok := c.nc.(*h2StreamConn); ok && sc.stalled.Load() && s.TermCause == termClient && s.TermState == 'L' {
		// The body stalled until the server's timeout: haproxy answers
		// 504 and logs "sH", the server being the side it waited for.
		s.Status, s.TermCause, s.TermState = http.StatusGatewayTimeout, termServerTimeout, 'H'
		h.errorPage(c, &s, page504, false)
	}
	end := e.now()
	s.Tt = end.Sub(accept)
	s.Ta = end.Sub(tFirst)
	s.BytesFromClient = c.cnt.n.Load() - int64(c.br.Buffered())
	if req.upgrade == "" {
		s.BytesFromClient = h2RequestHTX(req, s.URI, c.body)
	}
	f.ctr.bytesIn.Add(s.BytesFromClient)
	f.ctr.bytesOut.Add(s.BytesToClient)
	h.endStream(c, &s)
	s.ActConn = int(e.actconn.Load())
	s.FeConn = int(f.ctr.cur.Load())
	if !c.nolog && !c.asapLogged { // option logasap logged it already
		e.logSession(f.px, s)
	}
}

// h2RequestHTX is %U (and bin) of an HTTP/2 request as haproxy 2.6
// counts it, in HTX form: its start line holds the absolute URI and
// "HTTP/2.0", its fields are the client's (host from :authority, cookies
// joined), then the body's data, without chunk framing. req is the
// HTTP/1.1 form writeH1Request made of it. Measured on 2.6.12: 107, 146
// and 176 bytes for curl's GET, GET with a field and POST.
func h2RequestHTX(req *httpRequest, uri string, body *bodyReader) int64 {
	n := req.htx - int64(len(req.uri)+len(req.version)) + int64(len(uri)+len("HTTP/2.0"))
	if req.chunked {
		// Ours, for the HTTP/1 path: not in haproxy's message.
		n -= int64(len("transfer-encoding") + len("chunked"))
	}
	if body != nil {
		n += body.got.Load()
	}
	return n
}

// writeH1Request writes an HTTP/2 request as the HTTP/1.1 request haproxy
// 2.6 sends a server for it: origin-form target, host first (from
// :authority), the other fields lower-cased, cookies joined with "; "
// (RFC 9113 section 8.2.3) and placed last, and the body chunked when the
// client gave no content-length.
func writeH1Request(pw *io.PipeWriter, r *http.Request) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	b, hasBody := h1RequestHead((*bp)[:0], r)
	if _, err := pw.Write(b); err != nil || !hasBody {
		pw.CloseWithError(err)
		return
	}
	buf := (*bp)[:cap(*bp)]
	var err error
	if r.ContentLength < 0 && r.Header.Get(":protocol") == "" {
		err = copyChunked(pw, r.Body, buf)
	} else {
		_, err = io.CopyBuffer(pw, struct{ io.Reader }{r.Body}, buf)
	}
	pw.CloseWithError(err)
}

// h1RequestHead appends the HTTP/1.1 head of writeH1Request to b, and
// tells whether a body follows.
func h1RequestHead(b []byte, r *http.Request) ([]byte, bool) {
	proto := ""
	if r.Method == http.MethodConnect {
		proto = r.Header.Get(":protocol")
	}
	target, method := r.RequestURI, r.Method
	if proto != "" {
		// An extended CONNECT (RFC 8441) is the GET of an HTTP/1.1
		// upgrade to :protocol, as haproxy 2.6 converts it.
		method = http.MethodGet
	} else if r.Method == http.MethodConnect || target == "" {
		target = r.Host
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\n"...)
	if r.Host != "" {
		b = append(b, "host: "...)
		b = append(b, r.Host...)
		b = append(b, "\r\n"...)
	}
	var kb [16]string
	keys := kb[:0]
	for k := range r.Header {
		switch k {
		case "Host", "Cookie", "Expect", "Connection", "Transfer-Encoding", ":protocol":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			b = appendLower(b, k)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if proto != "" {
		b = append(b, "upgrade: "...)
		b = append(b, proto...)
		b = append(b, "\r\nconnection: upgrade\r\n"...)
	}
	if cs := r.Header["Cookie"]; len(cs) > 0 {
		b = append(b, "cookie: "...)
		for i, c := range cs {
			if i > 0 {
				b = append(b, "; "...)
			}
			b = append(b, c...)
		}
		b = append(b, "\r\n"...)
	}
	// Go's server gives ContentLength 0 to a stream ended with its
	// HEADERS (or declaring 0), -1 to a body of unknown length.
	hasBody := r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
	// An extended CONNECT's DATA frames are the tunnel: raw bytes
	// after the head.
	if hasBody && r.ContentLength < 0 && proto == "" {
		b = append(b, "transfer-encoding: chunked\r\n"...)
	}
	b = append(b, "\r\n"...)
	return b, hasBody
}

// appendLower appends s lower-cased (ASCII).
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// copyChunked writes r to w as HTTP/1.1 chunks, each as it arrives.
func copyChunked(w io.Writer, r io.Reader, buf []byte) error {
	const room = 16 // for the size line and the CRLF after the data
	for {
		n, err := r.Read(buf[room : len(buf)-2])
		if n > 0 {
			size := strconv.AppendInt(buf[:0:room], int64(n), 16)
			start := room - len(size) - 2
			copy(buf[start:], size)
			copy(buf[room-2:], "\r\n")
			end := room + n
			copy(buf[end:], "\r\n")
			if _, werr := w.Write(buf[start : end+2]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			_, werr := io.WriteString(w, "0\r\n\r\n")
			return werr
		}
		if err != nil {
			return err
		}
	}
}

// h2StreamConn is one HTTP/2 stream seen by the HTTP/1 request path as a
// connection: reads give the request in HTTP/1.1 form (the head from
// memory, a body through a pipe), writes take the response (h2Resp); the
// addresses and TLS facts are the client connection's. Deadlines are kept
// with timers that fail the blocked call, so `timeout client` bounds a
// stalled upload or a client that reads nothing.
type h2StreamConn struct {
	parent  net.Conn
	pending []byte         // the request's head, not read yet
	r       *io.PipeReader // the body after it; nil without
	rw      *io.PipeWriter // the writing end of r, failed by a read deadline
	out     h2Resp
	mu      sync.Mutex
	rt, wt  *time.Timer
	ended   bool        // the handler is returning: the stream's writer is gone
	wexp    bool        // the write deadline passed
	closed  atomic.Bool // closed by the request path
	// readIdle bounds each wait for the client's body (0: none); stalled
	// is set when it expired.
	readIdle time.Duration
	stalled  atomic.Bool
	// extConnect marks an RFC 8441 extended CONNECT (":protocol"), which
	// reaches the HTTP/1 path as a GET with "connection: upgrade".
	extConnect bool
}

// Read reads the request; a wait longer than readIdle fails it (haproxy
// bounds a stalled HTTP/2 upload with the server's timeout, not the
// client's: the stream stays active).
func (s *h2StreamConn) Read(p []byte) (int, error) {
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
	if s.r == nil {
		s.mu.Lock()
		ended := s.ended
		s.mu.Unlock()
		if ended {
			return 0, io.ErrClosedPipe
		}
		return 0, io.EOF
	}
	if s.readIdle > 0 {
		s.mu.Lock()
		s.rt = rearm(s.rt, time.Now().Add(s.readIdle), s.readExpired)
		s.mu.Unlock()
	}
	return s.r.Read(p)
}

// Write takes the response, on the handler's goroutine (the request
// path runs there).
func (s *h2StreamConn) Write(p []byte) (int, error) {
	if s.closed.Load() {
		return 0, io.ErrClosedPipe
	}
	n, err := s.out.write(p)
	if err != nil {
		s.mu.Lock()
		if s.wexp {
			err = os.ErrDeadlineExceeded
		}
		s.mu.Unlock()
	}
	return n, err
}

// Close ends the response (a body without length ends there) and the
// request's body.
func (s *h2StreamConn) Close() error {
	if s.r != nil {
		s.r.CloseWithError(net.ErrClosed)
	}
	s.closed.Store(true)
	return nil
}

// end marks the stream over: reads fail from now on and the timers stop.
func (s *h2StreamConn) end() {
	s.mu.Lock()
	s.ended = true
	s.rt = rearm(s.rt, time.Time{}, nil)
	s.wt = rearm(s.wt, time.Time{}, nil)
	s.mu.Unlock()
	if s.r != nil {
		s.r.CloseWithError(errStreamClosed)
	}
}

func (s *h2StreamConn) LocalAddr() net.Addr  { return s.parent.LocalAddr() }
func (s *h2StreamConn) RemoteAddr() net.Addr { return s.parent.RemoteAddr() }

func (s *h2StreamConn) SetDeadline(t time.Time) error {
	if t.IsZero() {
		s.mu.Lock()
		s.rt = rearm(s.rt, t, s.readExpired)
		s.mu.Unlock()
	}
	return s.SetWriteDeadline(t)
}

// SetReadDeadline is ignored: `timeout client` does not apply to an
// HTTP/2 stream's reads (see Read).
func (s *h2StreamConn) SetReadDeadline(time.Time) error { return nil }

func (s *h2StreamConn) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.wt = rearm(s.wt, t, s.writeExpired)
	}
	return nil
}

func (s *h2StreamConn) readExpired() {
	s.stalled.Store(true)
	if s.rw != nil {
		s.rw.CloseWithError(os.ErrDeadlineExceeded)
	}
}

// writeExpired resets the stream, which fails a write blocked on the
// client's flow control, as the pipe to the handler failed before.
func (s *h2StreamConn) writeExpired() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.wexp = true
	_ = http.NewResponseController(s.out.w).SetWriteDeadline(time.Unix(1, 0))
}

// rearm moves timer t (made on first use) to deadline d, calling fire
// then; a zero d stops it. A deadline set again after it fired finds the
// stream failed already.
func rearm(t *time.Timer, d time.Time, fire func()) *time.Timer {
	if d.IsZero() {
		if t != nil {
			t.Stop()
		}
		return t
	}
	if t == nil {
		return time.AfterFunc(time.Until(d), fire)
	}
	t.Reset(time.Until(d))
	return t
}
