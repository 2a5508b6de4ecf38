package proxy

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

// headConfig forwards everything to one server.
const headConfig = `global
    log 127.0.0.1:LOGPORT local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen web
    bind FRONT
    server s1 BACKEND
`

// headCases are requests and the head haproxy 2.6.12 sends to the server
// for each (seen with TestIntegrationRequestHeadHaproxy), or the status it
// answers itself when it sends nothing ("" head).
var headCases = []struct {
	name, req, head, status string
}{
	// TE: only "trailers" goes on, as haproxy 2.6's HTTP/1 layer sends it
	// (reg-test http-messaging/http_transfer_encoding).
	{"te-trailers-gzip", "GET /te HTTP/1.1\r\nHost: t\r\nTE: trailers, gzip\r\nConnection: close\r\n\r\n",
		"GET /te HTTP/1.1\r\nhost: t\r\nte: trailers\r\n\r\n", "200"},
	{"te-gzip", "GET /te HTTP/1.1\r\nHost: t\r\nTE: gzip\r\nConnection: close\r\n\r\n",
		"GET /te HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"te-trailers-q", "GET /te HTTP/1.1\r\nHost: t\r\nTE: trailers;q=0.5\r\nConnection: close\r\n\r\n",
		"GET /te HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"te-gzip-trailers", "GET /te HTTP/1.1\r\nHost: t\r\nTE: gzip, trailers\r\nConnection: close\r\n\r\n",
		"GET /te HTTP/1.1\r\nhost: t\r\nte: trailers\r\n\r\n", "200"},
	{"te-trailers-space", "GET /te HTTP/1.1\r\nHost: t\r\nTE: trailers , gzip\r\nConnection: close\r\n\r\n",
		"GET /te HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"te-upper", "GET /te HTTP/1.1\r\nHost: t\r\nTE: Trailers\r\nConnection: close\r\n\r\n",
		"GET /te HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"te-xtrailers", "GET /te HTTP/1.1\r\nHost: t\r\nTE: xtrailers\r\nConnection: close\r\n\r\n",
		"GET /te HTTP/1.1\r\nhost: t\r\nte: trailers\r\n\r\n", "200"},
	// Transfer codings: only "chunked", once and last; another before it
	// is a 422 (reg-test http-messaging/http_transfer_encoding).
	{"te-gzip-chunked", "POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "", "422"},
	{"te-gzip-chunked-fields", "POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "", "422"},
	{"te-chunked-gzip", "POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", "", "400"},
	{"te-gzip-only", "POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", "", "400"},
	// issue 10: a target beginning with "//" reached the server as
	// "http://evil.example/x".
	{"double-slash", "GET //evil.example/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"GET //evil.example/x HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"double-slash-short", "GET //a/b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"GET //a/b HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"double-slash-pipe", "GET //a/b|c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"GET //a/b|c HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"double-slash-http10", "GET //h/p HTTP/1.0\r\n\r\n",
		"GET //h/p HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", "200"},
	{"encoded-slash", "GET /%2F HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"GET /%2F HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nhost: t\r\n\r\n", "200"},
	{"absolute", "GET http://h/p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET http://h/p HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-no-path", "GET http://h HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET http://h HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-no-host", "GET http://h/p HTTP/1.1\r\nConnection: close\r\n\r\n",
		"GET http://h/p HTTP/1.1\r\n\r\n", "200"},
	{"absolute-host-case", "GET http://H/p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET http://H/p HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-userinfo", "GET http://u@h/p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET http://u@h/p HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-default-port", "GET http://h:80/p HTTP/1.1\r\nHost: h:80\r\nConnection: close\r\n\r\n",
		"GET http://h/p HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-default-port-https", "GET https://h:443/p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET https://h/p HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-empty-port", "GET http://h:/p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET http://h/p HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-host-default-port", "GET http://h/p HTTP/1.1\r\nHost: H:80\r\nConnection: close\r\n\r\n",
		"GET http://h/p HTTP/1.1\r\nhost: H:80\r\n\r\n", "200"},
	{"absolute-other-port", "GET http://h:8080/p HTTP/1.1\r\nHost: h:8080\r\nConnection: close\r\n\r\n",
		"GET http://h:8080/p HTTP/1.1\r\nhost: h:8080\r\n\r\n", "200"},
	{"absolute-upper-scheme", "GET HTTP://h:80 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET HTTP://h HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-ftp", "GET ftp://h/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET ftp://h/x HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"absolute-host-mismatch", "GET http://h/p?q HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "", "400"},
	{"absolute-query-authority", "GET http://h?q HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "", "400"},
	{"absolute-ftp-mismatch", "GET ftp://h/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "", "400"},
	{"not-absolute", "GET h/p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET h/p HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	// The fields: lower-case names in the client's order, Host not
	// invented, hop-by-hop fields but Connection passed on.
	{"http10-no-host", "GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", "200"},
	{"http11-no-host", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n", "200"},
	{"order-and-case", "GET /a HTTP/1.0\r\nX-A: 1\r\nHost: h\r\nX-B: 2\r\n\r\n",
		"GET /a HTTP/1.0\r\nx-a: 1\r\nhost: h\r\nx-b: 2\r\nconnection: keep-alive\r\n\r\n", "200"},
	{"hop-by-hop", "GET /b HTTP/1.1\r\nHost: h\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X\r\nConnection: close\r\nX-Z: z\r\n\r\n",
		"GET /b HTTP/1.1\r\nhost: h\r\nkeep-alive: timeout=5\r\nproxy-connection: keep-alive\r\nte: trailers\r\ntrailer: X\r\nx-z: z\r\n\r\n", "200"},
	{"content-length-list", "POST /c HTTP/1.1\r\nhOsT: h\r\nContent-Length: 5, 5\r\nX-Y: y\r\nConnection: close\r\n\r\nhello",
		"POST /c HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\nx-y: y\r\n\r\n", "200"},
	{"content-length-leading-zero", "POST /k HTTP/1.1\r\nHost: h\r\nContent-Length: 05\r\nConnection: close\r\n\r\nhello",
		"POST /k HTTP/1.1\r\nhost: h\r\ncontent-length: 05\r\n\r\n", "200"},
	{"content-length-and-chunked", "POST /d HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /d HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n", "200"},
	// Without "Connection: close" too: haproxy answers with it and closes
	// (http-messaging/http_transfer_encoding in haproxy's reg-tests).
	{"content-length-and-chunked-keepalive", "POST /d HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /d HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n", "200"},
	{"http2-version", "GET /e HTTP/2.0\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET /e HTTP/1.1\r\nhost: h\r\n\r\n", "200"},
	{"fold-empty-spaces", "GET /f HTTP/1.1\r\nHost: h\r\nHost: h\r\nX-Fold: a\r\n  b\r\nX-Empty:\r\nX-Sp:   v  \r\nConnection: close\r\n\r\n",
		"GET /f HTTP/1.1\r\nhost: h\r\nx-fold: a    b\r\nx-empty: \r\nx-sp: v\r\n\r\n", "200"},
	{"fold-bare-lf", "GET /fold HTTP/1.1\r\nHost: h\r\nX-A: a\n b\r\nConnection: close\r\n\r\n",
		"GET /fold HTTP/1.1\r\nhost: h\r\nx-a: a  b\r\n\r\n", "200"},
	{"http10-keep-alive", "GET /g HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n",
		"GET /g HTTP/1.0\r\nhost: h\r\nconnection: keep-alive\r\n\r\n", "200"},
	{"connection-tokens", "GET /j HTTP/1.1\r\nHost: h\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n\r\n",
		"GET /j HTTP/1.1\r\nhost: h\r\nconnection: X-Hop\r\nx-hop: 1\r\n\r\n", "200"},
	{"expect", "GET /h HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"GET /h HTTP/1.1\r\nhost: h\r\nexpect: 100-continue\r\ncontent-length: 0\r\n\r\n", "200"},
}

// checkHeads sends every head case through p and checks what the server
// received, byte for byte, and the status the client got.
func checkHeads(t *testing.T, p wireProxy, b *captureBackend) {
	t.Helper()
	for _, tc := range headCases {
		r := exchange(t, p, b, tc.req)
		if r.head != tc.head {
			t.Errorf("%s: the server received\n%q\nwant\n%q", tc.name, r.head, tc.head)
		}
		if got := statusLine(r.response); !strings.HasPrefix(got, "HTTP/1.1 "+tc.status+" ") {
			t.Errorf("%s: the client got %q, want status %s", tc.name, got, tc.status)
		}
		if strings.HasSuffix(tc.name, "-keepalive") && !strings.Contains(strings.ToLower(r.response), "\r\nconnection: close\r\n") {
			t.Errorf("%s: the response does not close the connection:\n%q", tc.name, r.response)
		}
	}
}

// TestRequestHeadAsHaproxy checks the request line and header fields a
// server receives through gproxy against what haproxy 2.6 sends.
func TestRequestHeadAsHaproxy(t *testing.T) {
	b := startCaptureBackend(t)
	checkHeads(t, startWireGproxy(t, headConfig, b.addr, nil), b)
}

// TestIntegrationRequestHeadHaproxy checks the case table against the
// reference haproxy 2.6.12.
func TestIntegrationRequestHeadHaproxy(t *testing.T) {
	b := startCaptureBackend(t)
	checkHeads(t, startWireHaproxy(t, headConfig, b.addr), b)
}

// TestHeadConnReplacesOnlyPlaceholders checks that the server connection
// swaps the head of a placeholder request only: other writes, a body
// beginning like a request line included, pass unchanged.
func TestHeadConnReplacesOnlyPlaceholders(t *testing.T) {
	tab := newHeadTable()
	target, _, forget := tab.add([]byte("GET //a/b HTTP/1.1\r\nhost: t\r\n\r\n"))
	var got bytes.Buffer
	c := &headConn{Conn: &writeConn{w: &got}, t: tab}
	for _, w := range []string{
		"GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUser-Agent: Go\r\n\r\nbody",
		"GET /.gproxy-0123-1 HTTP/1.1\r\n\r\n",
		"more body",
	} {
		if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	want := "GET //a/b HTTP/1.1\r\nhost: t\r\n\r\nbodyGET /.gproxy-0123-1 HTTP/1.1\r\n\r\nmore body"
	if got.String() != want {
		t.Errorf("wrote %q, want %q", got.String(), want)
	}
	tab.forget(forget)
	if _, ok := tab.lookup([]byte("GET " + target + " HTTP/1.1\r\n")); ok {
		t.Error("a forgotten head is still found")
	}
}

// A request without a body has its registered head written as is, in
// one write, found by its placeholder target alone; other targets are not
// taken for placeholders.
func TestHeadConnWritesRegisteredHead(t *testing.T) {
	tab := newHeadTable()
	head := []byte("GET //a/b HTTP/1.1\r\nhost: t\r\n\r\n")
	target, _, forget := tab.add(head)
	e, ok := tab.lookupTarget(target)
	if !ok {
		t.Fatalf("lookupTarget(%q) found nothing", target)
	}
	var got bytes.Buffer
	c := &headConn{Conn: &writeConn{w: &got}, t: tab}
	if n, err := c.writeHead(e); n != len(head) || err != nil {
		t.Fatalf("writeHead = %d, %v", n, err)
	}
	if got.String() != string(head) {
		t.Errorf("wrote %q, want %q", got.String(), head)
	}
	for _, other := range []string{"", "/a/b", target + "x", target[:len(target)-1] + "-", "/.gproxy-0123-1", string(tab.prefix)} {
		if _, ok := tab.lookupTarget(other); ok && other != target {
			t.Errorf("lookupTarget(%q) found an entry", other)
		}
	}
	tab.forget(forget)
	if _, ok := tab.lookupTarget(target); ok {
		t.Error("a forgotten head is still found")
	}
}

// writeConn is a net.Conn that records what is written.
type writeConn struct {
	net.Conn
	w *bytes.Buffer
}

func (c *writeConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// TestIntegrationUnknownCodingHaproxy compares, byte for byte, the reply
// and the log fields of a request whose transfer codings haproxy 2.6
// cannot undo (422, its HTTP/1 layer's page, "PR" in the log) and of
// malformed codings (400, "PR"), through haproxy and gproxy.
func TestIntegrationUnknownCodingHaproxy(t *testing.T) {
	b := startCaptureBackend(t)
	hp, gp := startWireHaproxy(t, headConfig, b.addr), startWireGproxy(t, headConfig, b.addr, nil)
	for _, te := range []string{"gzip, chunked", "deflate,chunked", "chunked, gzip", "gzip"} {
		req := "POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + te + "\r\n\r\n0\r\n\r\n"
		want, got := exchange(t, hp, b, req), exchange(t, gp, b, req)
		if got.response != want.response || got.log != want.log || got.bytes != want.bytes {
			t.Errorf("Transfer-Encoding: %s: gproxy\n%q\n%s %s\nhaproxy\n%q\n%s %s", te, got.response, got.log, got.bytes, want.response, want.log, want.bytes)
		}
	}
}
