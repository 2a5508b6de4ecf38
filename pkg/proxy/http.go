package proxy

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"hapair/pkg/accesslog"
)

// serveHTTP serves a `mode http` frontend on one listener: the stats page
// for a proxy with `stats enable` (or the Prometheus exporter), else a reverse proxy balancing each
// request over the backend's servers (serveH1). e.mu is held.
func (e *Engine) serveHTTP(f *Frontend, ln net.Listener) {
	if !f.px.Stats.Enabled && !f.px.Prometheus {
		e.serveH1(f, ln)
		return
	}
	var h http.Handler
	if e.opts.HTTPHandler != nil {
		h = e.opts.HTTPHandler(f.px)
	}
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "503 Service Unavailable\nNo server is available to handle this request.", http.StatusServiceUnavailable)
		})
	}
	t := f.px.Timeouts
	hs := &http.Server{
		Handler:           e.logHTTP(f, h),
		ReadHeaderTimeout: firstSet(t.HTTPRequest, t.Client),
		IdleTimeout:       firstSet(t.HTTPKeepAlive, t.Client),
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	e.https = append(e.https, hs)
	e.acceptWG.Add(1)
	go func() {
		defer e.acceptWG.Done()
		_ = hs.Serve(&gateListener{Listener: ln, e: e, f: f})
	}()
}

func firstSet(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
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
	e.connected(f, c)
	f.ctr.open(e.now())
	e.wg.Add(1)
	return &gatedConn{Conn: c, l: l}, nil
}

type gatedConn struct {
	net.Conn
	l    *gateListener
	once sync.Once
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.f.ctr.cur.Add(-1)
		c.l.f.gate.release()
		c.l.e.global.release()
		c.l.e.wg.Done()
	})
	return err
}

type ctxKey int

const reqStateKey ctxKey = 0

// reqState is what the stats handler's wrapper records about one request
// for its log line.
type reqState struct {
	log accesslog.Session
}

// countingBody counts the request body read from the client.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// recorder counts the response bytes sent to the client.
type recorder struct {
	http.ResponseWriter
	n      int64
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logHTTP records one accesslog.Session per request of the stats page.
// haproxy 2.6 logs such a request as served by "<STATS>", with zero
// queue, connect and response times and the termination state "LR" (the
// local applet answered during the request).
func (e *Engine) logHTTP(f *Frontend, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := e.now()
		st := &reqState{log: accesslog.Session{
			Accept:       start,
			FrontendName: f.Name(),
			BackendName:  f.Name(),
			ServerName:   "<STATS>",
			Method:       r.Method,
			URI:          r.RequestURI,
			Version:      r.Proto,
			TermCause:    'L',
			TermState:    stateRequest,
		}}
		if ap, err := netipAddrPort(r.RemoteAddr); err == nil {
			st.log.Client = ap
		}
		if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			st.log.Frontend = addrPort(la)
		}
		body := &countingBody{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), reqStateKey, st)))
		st.log.Tt = e.now().Sub(start)
		st.log.Ta = st.log.Tt
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		st.log.Status = rec.status
		// %B as haproxy counts it: the response in HTX form (http_pages.go).
		st.log.BytesToClient = htxStartLine + int64(len("HTTP/1.1")+3+len(http.StatusText(rec.status))) + htxEOH + rec.n
		for k, vs := range w.Header() {
			for _, v := range vs {
				st.log.BytesToClient += int64(len(k) + len(v))
			}
		}
		st.log.BytesFromClient = body.n.Load()
		f.ctr.bytesIn.Add(st.log.BytesFromClient)
		f.ctr.bytesOut.Add(st.log.BytesToClient)
		st.log.ActConn = int(e.actconn.Load())
		st.log.FeConn = int(f.ctr.cur.Load())
		if f.backend != nil {
			st.log.BeConn = int(f.backend.ctr.cur.Load())
		}
		// An HTTP request always carries bytes from the client, so
		// dontlognull never drops it.
		st.log.BytesFromClient += approxHeaderSize(r)
		e.logSession(f.px, st.log)
	})
}

// approxHeaderSize estimates the request head, which net/http does not
// expose, so %U counts it as haproxy does.
func approxHeaderSize(r *http.Request) int64 {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n + 2)
}

func netipAddrPort(s string) (ap netip.AddrPort, err error) {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		return ap, err
	}
	return addrPort(a), nil
}
