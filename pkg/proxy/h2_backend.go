package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http2"

	"hapair/pkg/haproxycfg"
)

// HTTP/2 to servers, as haproxy 2.6 speaks it: to a server with `proto
// h2` (prior knowledge, in clear text or over TLS) and to a TLS server
// whose ALPN answer is "h2" (`ssl alpn h2,http/1.1`). Framing, HPACK,
// flow control and the connection pool come from golang.org/x/net/http2's
// client, the same maintained implementation as the client side
// (h2_frontend.go). The request is the one the HTTP/1 path would send,
// its fields translated as haproxy's H2 multiplexer translates an HTX
// message (mux_h2.c, h2s_bck_make_req_headers): the connection-specific
// fields are dropped, `te` keeps "trailers" only, an absolute-form target
// gives :scheme and :authority.
//
// What a server sees differs from haproxy 2.6 in these points:
//   - the host is sent as :authority (Go's client always sends one; the
//     server's address when the request had no Host), where haproxy sends
//     a regular "host" field for an origin-form target; servers read the
//     same host either way;
//   - :scheme is "https" for an origin-form target, as haproxy does for
//     an HTTP/1 client, also for a request that came from an HTTP/2
//     client with :scheme http (haproxy keeps the client's);
//   - the fields are sent in no particular order, and several user-agent
//     fields are sent as the first one;
//   - with `alpn h2,http/1.1`, a server whose ALPN answer is not h2 gets
//     its first request over a second, HTTP/1.1, connection; the server
//     is then remembered as speaking HTTP/1.1;
//   - interim responses are passed on without their fields;
//   - with `http-reuse safe` (or never), each client session has its own
//     HTTP/2 connection to a server (sessionH2, srvreuse.go); haproxy
//     2.6.12 was seen giving an HTTP/2 client's first stream the idle
//     connection another live session had opened; with `always` the
//     connections are shared by every client (x/net's pool).

// errServerNotH2 is a TLS server that did not choose h2 by ALPN.
var errServerNotH2 = errors.New("proxy: server did not choose h2 by ALPN")

// backendH2Transport is the HTTP/2 client towards the servers of be that
// may speak it; nil when none does and none can be added (`add server ...
// proto h2` or `alpn h2` needs the client ready: it is made here for every
// HTTP backend that takes dynamic servers, and opens no connection until
// such a server is used).
func backendH2Transport(be *Backend) *http2.Transport {
	if be == nil {
		return nil
	}
	h2 := be.px.Mode == haproxycfg.ModeHTTP && be.DynamicLB()
	for _, s := range be.Servers() {
		h2 = h2 || s.cfg.SpeaksH2()
	}
	if !h2 {
		return nil
	}
	bt := be.px.Timeouts
	d := be.dialer
	t := &http2.Transport{
		AllowHTTP:          true,
		DisableCompression: true,
		// haproxy's defaults towards servers: 16 kB frames, a 4 kB table.
		MaxReadFrameSize:          16384,
		MaxDecoderHeaderTableSize: 4096,
	}
	t.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		c, err := dialServer(ctx, d, network, addr)
		if err != nil {
			return nil, err
		}
		if c, err = dialTLS(ctx, be, network, addr, c, bt.Connect); err != nil {
			return nil, err
		}
		if tc, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok && tc.ConnectionState().NegotiatedProtocol != "h2" {
			// The request's server (dialTarget): others may share its
			// address without offering h2.
			srv := serverAt(be, addr)
			if t := dialTargetOf(ctx); t != nil && t.srv != nil {
				srv = t.srv
			}
			if srv != nil && srv.cfg.Proto != "h2" {
				// ALPN chose HTTP/1.1 or nothing: HTTP/1.1 it is.
				srv.alpnH1.Store(true)
				c.Close()
				return nil, errServerNotH2
			}
		}
		return newH2CountedConn(c, &be.ctr.h2, false), nil
	}
	return t
}

// serverAt is the server of be dialled at addr, or nil.
func serverAt(be *Backend, addr string) *Server {
	for _, s := range be.Servers() {
		if s.dialsTo(addr) {
			return s
		}
	}
	return nil
}

func addrPortNum(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// useH2 tells whether a request to srv goes over HTTP/2.
func (rt *route) useH2(srv *Server) bool {
	return rt.h2 != nil && srv.cfg.SpeaksH2() && !srv.alpnH1.Load()
}

// h2Request is the request for an HTTP/2 server: the target and fields
// of the head the HTTP/1 path would send (req's fields, then extra),
// translated as haproxy's H2 multiplexer does.
func h2Request(req *httpRequest, extra []header, addr, sendName, server string) *http.Request {
	out := &http.Request{
		Method:     req.method,
		URL:        &url.URL{Scheme: "https", Host: addr, Opaque: req.uri},
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     make(http.Header, len(req.headers)+len(extra)+1),
		Body:       http.NoBody,
	}
	authority := false
	if u := req.uri; u != "" && u[0] != '/' && u[0] != '*' {
		// Absolute form: scheme and authority leave the path.
		if scheme, rest, ok := strings.Cut(u, "://"); ok && !strings.ContainsAny(scheme, "/?#") {
			auth, path := rest, "/"
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				auth, path = rest[:i], rest[i:]
			}
			out.URL.Scheme, out.URL.Opaque, out.Host = strings.ToLower(scheme), path, auth
			authority = true
		}
	}
	if out.URL.Opaque == "" {
		out.URL.Opaque = "/"
		if req.method == http.MethodOptions {
			out.URL.Opaque = "*"
		}
	}
	add := func(h header) {
		switch h.name {
		case "host":
			if !authority && out.Host == "" {
				out.Host = h.value
			}
			return
		case "connection", "proxy-connection", "keep-alive", "upgrade", "transfer-encoding", "content-length":
			// Not in HTTP/2 (the length is the client's own to write).
			return
		case "te":
			i := strings.Index(h.value, "trailers")
			if i < 0 || (len(h.value) > i+8 && h.value[i+8] != ',') {
				return
			}
			h.value = "trailers"
		}
		out.Header[h.name] = append(out.Header[h.name], h.value)
	}
	for _, h := range req.headers {
		if sendName == "" || h.name != sendName {
			add(h)
		}
	}
	for _, h := range extra {
		if sendName == "" || h.name != sendName {
			add(h)
		}
	}
	if sendName != "" {
		// http-send-name-header, as haproxy 2.6.12 sends it to HTTP/2
		// servers too.
		out.Header[sendName] = []string{server}
	}
	if _, ok := out.Header["user-agent"]; !ok {
		out.Header["user-agent"] = []string{""} // no Go default
	}
	return out
}

// h2HeaderTimer applies `timeout server` to the wait for an HTTP/2
// server's response head (the HTTP/1 client's ResponseHeaderTimeout):
// cancel ends the request; expired tells it happened.
type h2HeaderTimer struct {
	t       *time.Timer
	expired bool
	done    chan struct{}
}

func startH2HeaderTimer(d time.Duration, cancel func()) *h2HeaderTimer {
	ht := &h2HeaderTimer{done: make(chan struct{})}
	if d > 0 {
		ht.t = time.AfterFunc(d, func() {
			ht.expired = true
			close(ht.done)
			cancel()
		})
	}
	return ht
}

// stop stops the timer; true when it had already fired.
func (ht *h2HeaderTimer) stop() bool {
	if ht.t == nil || ht.t.Stop() {
		return false
	}
	<-ht.done
	return ht.expired
}
