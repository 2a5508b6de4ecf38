package proxy

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
)

// The server names haproxy 2.6 logs for requests its own services answer.
const (
	localStats  = "<STATS>"
	localPromex = "<PROMEX>"
)

// localService tells which of the proxy's own services answers a request,
// as haproxy 2.6 intercepts them, or "" when the request goes to the
// backend:
//   - the Prometheus exporter (`http-request use-service
//     prometheus-exporter [if { path P }]`): any method, the path without
//     the query equal to P;
//   - the stats page (`stats enable`, `stats uri U`): GET, HEAD or POST
//     (case-sensitive), the URI from its path on (an absolute-form target
//     loses its scheme and authority) beginning with U.
//
// Any other request, /x/stats or PUT /stats for instance, is forwarded.
func localService(px *haproxycfg.Proxy, method, uri string) string {
	p := uriPath(uri)
	if px.Prometheus {
		path, _, _ := strings.Cut(p, "?")
		if px.PrometheusURI == "" || path == px.PrometheusURI {
			return localPromex
		}
	}
	if px.Stats.Enabled && (method == http.MethodGet || method == http.MethodHead || method == http.MethodPost) {
		su := px.Stats.URI
		if su == "" {
			su = "/haproxy?stats"
		}
		target := uri
		if strings.HasPrefix(su, "/") {
			target = p
		}
		if strings.HasPrefix(target, su) {
			return localStats
		}
	}
	return ""
}

// uriPath is the request target from its path on: an absolute-form
// target ("http://h/p?q") loses its scheme and authority ("/p?q").
func uriPath(uri string) string {
	if i := strings.Index(uri, "://"); i > 0 && !strings.ContainsAny(uri[:i], "/?") {
		rest := uri[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			return rest[j:]
		}
		return ""
	}
	return uri
}

// bufferedResponse collects what a local service answers, to send it with
// the engine's own response writer.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}

// serveLocal answers a request with the proxy's stats page or Prometheus
// exporter (Options.HTTPHandler), logged as haproxy logs its applets:
// server <STATS> or <PROMEX>, zero timers, termination "LR". Without a
// handler the request gets the 503 page.
func (h *h1Frontend) serveLocal(c *h1Conn, rr *ruleRun, local http.Handler, req *httpRequest, body *bodyReader, s *accesslog.Session, name string, keep bool) bool {
	if local == nil {
		s.TermCause, s.TermState = termServer, stateConnect
		s.Status = http.StatusServiceUnavailable
		return h.errorPage(c, s, page503, keep && drain(body))
	}
	s.ServerName = name
	c.intercepted(h.f)
	s.Tw, s.Tc, s.Tr = 0, 0, 0
	s.TermCause, s.TermState = 'L', stateRequest
	hr := &http.Request{
		Method:     req.method,
		RequestURI: req.uri,
		Proto:      req.version,
		ProtoMajor: 1, ProtoMinor: 1,
		Header:     make(http.Header, len(req.headers)),
		Host:       req.host,
		Body:       body,
		RemoteAddr: s.Client.String(),
	}
	if req.version == "HTTP/1.0" {
		hr.ProtoMinor = 0
	}
	if u, err := url.ParseRequestURI(req.uri); err == nil {
		hr.URL = u
	} else {
		hr.URL = &url.URL{Path: uriPath(req.uri)}
	}
	for _, hd := range req.headers {
		k := http.CanonicalHeaderKey(hd.name)
		hr.Header[k] = append(hr.Header[k], hd.value)
	}
	switch {
	case req.contentLength > 0:
		hr.ContentLength = req.contentLength
	case req.chunked:
		hr.ContentLength = -1
	default:
		hr.Body = http.NoBody
	}
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, net.Addr(net.TCPAddrFromAddrPort(s.Frontend)))
	hr = hr.WithContext(ctx)
	rec := &bufferedResponse{header: http.Header{}}
	local.ServeHTTP(rec, hr)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	if !drain(body) {
		keep = false
	}
	p := localHead(rec)
	if rr != nil {
		// Its response goes through the http-after-response rules, the
		// backend's then the frontend's, as a server's would.
		p = rr.afterPage(h, p)
	}
	s.Status = p.code
	n, err := c.writeLocal(req, p, rec.body.Bytes(), keep)
	s.BytesToClient = n
	if err != nil {
		s.TermCause, s.TermState = termClient, stateData
		return false
	}
	return keep
}

// localHead is a local service's status and header fields as haproxy
// sends them: names in lower case, sorted, without the Date,
// Content-Length and Connection fields the writer sets.
func localHead(rec *bufferedResponse) errorPage {
	p := errorPage{code: rec.code, reason: http.StatusText(rec.code)}
	rec.header.Del("Date")
	rec.header.Del("Content-Length")
	rec.header.Del("Connection")
	keys := make([]string, 0, len(rec.header))
	for k := range rec.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range rec.header[k] {
			p.headers = append(p.headers, header{strings.ToLower(k), v})
		}
	}
	return p
}

// writeLocal sends a local service's response and returns its size as
// haproxy counts it (%B, HTX form).
func (c *h1Conn) writeLocal(req *httpRequest, p errorPage, body []byte, keep bool) (int64, error) {
	c.startResponse()
	bw := c.writer()
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(p.code))
	bw.WriteByte(' ')
	bw.WriteString(p.reason)
	bw.WriteString("\r\n")
	size := htxStartLine + int64(len("HTTP/1.1")+3+len(p.reason)) + htxEOH
	for _, hd := range p.headers {
		bw.WriteString(hd.name)
		bw.WriteString(": ")
		bw.WriteString(hd.value)
		bw.WriteString("\r\n")
		size += int64(len(hd.name) + len(hd.value))
	}
	bodyless := req.method == http.MethodHead || p.code == http.StatusNoContent || p.code == http.StatusNotModified
	if !bodyless || len(body) > 0 {
		cl := strconv.Itoa(len(body))
		bw.WriteString("content-length: ")
		bw.WriteString(cl)
		bw.WriteString("\r\n")
		size += int64(len("content-length") + len(cl))
	}
	switch {
	case !keep:
		bw.WriteString("connection: close\r\n")
	case !req.http11():
		bw.WriteString("connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if !bodyless {
		bw.Write(body)
		size += int64(len(body))
	}
	if err := bw.Flush(); err != nil {
		return size, &clientWriteError{err}
	}
	return size, nil
}

// localHandler is the backend's stats page or exporter handler.
func (b *Backend) localHandler(e *Engine) http.Handler {
	b.localOnce.Do(func() {
		if e.opts.HTTPHandler != nil {
			b.local = e.opts.HTTPHandler(b.px)
		}
	})
	return b.local
}
