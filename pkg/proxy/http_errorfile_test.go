package proxy

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/haproxycfg"
)

// errorFileConfig is a listen whose server is down, with the errorfiles
// ERRORFILES (lines "errorfile CODE PATH").
const errorFileConfig = `global
    log 127.0.0.1:LOGPORT local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 300ms
    timeout connect 1s
    timeout http-request 300ms
    retries 0
listen web
    bind FRONT
ERRORFILES    server s1 BACKEND
`

// Files for the errorfile cases, beside Debian's /etc/haproxy/errors.
var errorFileContents = map[string]string{
	"odd.http":     "HTTP/1.1 503 Custom Thing\r\nX-Odd:   spaced value  \r\nContent-Type: text/plain\r\nCONTENT-length: 6\r\nConnection: close\r\nX-Fold: a\r\n b\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello\n",
	"nolen10.http": "HTTP/1.0 503 NoLen\r\nX-A: 1\r\n\r\nbody without length\n",
	"nolen11.http": "HTTP/1.1 503 X\r\nX-A: 1\r\n\r\nbody\n",
	"cl10.http":    "HTTP/1.0 503 Y\r\nContent-Length: 5\r\n\r\nbody\n",
	"empty.http":   "",
	"c408.http":    "HTTP/1.1 408 Custom Slow\r\nX-Odd: v\r\n\r\ncustom408\n",
}

const (
	debian503Body = "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n\n"
	debian503Head = "HTTP/1.0 503 Service Unavailable\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
	builtin400    = "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"
)

// errorFileCases are exchanges with a proxy using errorfiles and what
// haproxy 2.6.12 answers (seen with TestIntegrationErrorFilesHaproxy):
// the bytes and the log's status, bytes and termination.
var errorFileCases = []struct {
	name, files, req, resp, log string
}{
	{"debian-503", "503=/etc/haproxy/errors/503.http", "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
		debian503Head + debian503Body, "503 216 SC--"},
	{"debian-503-head", "503=/etc/haproxy/errors/503.http", "HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		debian503Head, "503 108 SC--"},
	{"debian-503-http10", "503=/etc/haproxy/errors/503.http", "GET / HTTP/1.0\r\n\r\n",
		debian503Head + debian503Body, "503 216 SC--"},
	// A malformed request gets haproxy's own page even with an errorfile.
	{"debian-400-bad-request", "400=/etc/haproxy/errors/400.http", "GARBAGE\r\n\r\n",
		builtin400, "400 0 PR--"},
	{"odd-headers", "503=odd.http", "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 503 Custom Thing\r\nx-odd: spaced value\r\ncontent-type: text/plain\r\ncontent-length: 6\r\nx-fold: a   b\r\nset-cookie: a=1\r\nset-cookie: b=2\r\nconnection: close\r\n\r\nhello\n", "503 156 SC--"},
	{"http10-no-length", "503=nolen10.http", "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
		"HTTP/1.0 503 NoLen\r\nx-a: 1\r\n\r\nbody without length\n", "503 61 SC--"},
	{"http11-no-length", "503=nolen11.http", "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
		"HTTP/1.1 503 X\r\nx-a: 1\r\nconnection: close\r\n\r\nbody\n", "503 42 SC--"},
	{"http10-length-keep-alive", "503=cl10.http", "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
		"HTTP/1.0 503 Y\r\ncontent-length: 5\r\nconnection: keep-alive\r\n\r\nbody\n", "503 53 SC--"},
	{"empty-503", "503=empty.http", "GET / HTTP/1.1\r\nHost: t\r\n\r\n", "", "503 0 SC--"},
	{"empty-400", "400=empty.http", "GARBAGE\r\n\r\n", "", "400 0 PR--"},
	// Debian's other pages, for the statuses gproxy produces itself: a
	// server closing without an answer (502), one too slow (504).
	{"debian-502", "502=/etc/haproxy/errors/502.http", "GET /close HTTP/1.1\r\nHost: t\r\n\r\n",
		"HTTP/1.0 502 Bad Gateway\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n\n", "502 208 SH--"},
	{"debian-504", "504=/etc/haproxy/errors/504.http", "GET /silent HTTP/1.1\r\nHost: t\r\n\r\n",
		"HTTP/1.0 504 Gateway Time-out\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n\n", "504 198 sH--"},
	// A request too slow: the same rule for 408.
	{"custom-408", "408=c408.http", "GET / HTTP/1.1\r\nHost: t\r\n",
		"HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n", "408 0 cR--"},
	{"empty-408", "408=empty.http", "GET / HTTP/1.1\r\nHost: t\r\n", "", "408 0 cR--"},
}

// errorFileRun writes the case files and runs each case through the proxy
// start gives for a configuration.
func checkErrorFiles(t *testing.T, start func(t *testing.T, cfg, backend string) wireProxy) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range errorFileContents {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := startCaptureBackend(t)
	dead := fmt.Sprintf("127.0.0.1:%d", deadPort(t))
	// A server that closes at once, and one that never answers.
	closing := startBackend(t, func(c *net.TCPConn) { _, _ = c.Read(make([]byte, 1024)) })
	silent := startBackend(t, func(c *net.TCPConn) { _, _ = io.Copy(io.Discard, c) })
	servers := map[string]string{
		"/close":  fmt.Sprintf("127.0.0.1:%d", closing.port),
		"/silent": fmt.Sprintf("127.0.0.1:%d", silent.port),
	}
	for _, tc := range errorFileCases {
		t.Run(tc.name, func(t *testing.T) {
			var lines strings.Builder
			for _, f := range strings.Split(tc.files, " ") {
				code, path, _ := strings.Cut(f, "=")
				if !strings.HasPrefix(path, "/") {
					path = filepath.Join(dir, path)
				}
				fmt.Fprintf(&lines, "    errorfile %s %s\n", code, path)
			}
			cfg := strings.Replace(errorFileConfig, "ERRORFILES", lines.String(), 1)
			backend := dead
			for path, addr := range servers {
				if strings.Contains(tc.req, " "+path+" ") {
					backend = addr
				}
			}
			r := exchange(t, start(t, cfg, backend), b, tc.req)
			if r.response != tc.resp {
				t.Errorf("the client got\n%q\nwant\n%q", r.response, tc.resp)
			}
			f := strings.Fields(r.log)
			if got := f[2] + " " + r.bytes + " " + f[3]; got != tc.log {
				t.Errorf("logged %q, want %q (%s)", got, tc.log, r.log)
			}
		})
	}
}

// TestErrorFilesAsHaproxy checks that gproxy sends an errorfile's reply
// instead of its own page, on the wire as haproxy 2.6 does (issue 10:
// errorfile was parsed, then ignored).
func TestErrorFilesAsHaproxy(t *testing.T) {
	checkErrorFiles(t, func(t *testing.T, cfg, backend string) wireProxy {
		return startWireGproxy(t, cfg, backend, nil)
	})
}

// TestIntegrationErrorFilesHaproxy checks the case table against the
// reference haproxy 2.6.12.
func TestIntegrationErrorFilesHaproxy(t *testing.T) {
	checkErrorFiles(t, startWireHaproxy)
}

// An errorfile haproxy refuses stops the engine, with haproxy's words;
// so does one whose content was not read with the configuration.
func TestEngineRefusesBadErrorFile(t *testing.T) {
	for _, tc := range []struct {
		content []byte
		want    string
	}{
		{[]byte("garbage\n"), "errorfile : '/x/503.http': unable to parse headers (error offset: 0)"},
		{[]byte("HTTP/1.0 503 Oops\r\nContent-Length: 3\r\n\r\nabcdef"), "payload size does not match the announced content-length (6 != 3)"},
		{nil, "was not read with the configuration"},
	} {
		_, bind := listen(t)
		px := listenProxy("web", bind, server("s1", 9))
		px.Mode = haproxycfg.ModeHTTP
		px.ErrorFiles = map[int]haproxycfg.ErrorFile{503: {Path: "/x/503.http", Content: tc.content}}
		_, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v, want an error with %q", err, tc.want)
		}
	}
}

// builtinHeadCase: a HEAD answered by the built-in 503 page, then a GET
// on the same connection, as haproxy 2.6.12 answers them.
const (
	builtinHeadReq  = "HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	builtin503Head  = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
	builtinHeadResp = builtin503Head + "\r\n" + builtin503Head + "connection: close\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
)

// checkBuiltinHead checks that the reply to HEAD has no body (it used to
// carry one, which a kept-alive client reads as the next response), and
// the bytes logged.
func checkBuiltinHead(t *testing.T, p wireProxy, b *captureBackend) {
	t.Helper()
	resp, _ := exchangeAll(t, p, b, builtinHeadReq, 2)
	if resp != builtinHeadResp {
		t.Errorf("the client got\n%q\nwant\n%q", resp, builtinHeadResp)
	}
	logs := p.logs()
	var bytes []string
	for _, l := range logs[len(logs)-2:] {
		f, err := httpLogFields(l)
		if err != nil {
			t.Fatal(err)
		}
		bytes = append(bytes, f[4]+" "+f[5])
	}
	if got := strings.Join(bytes, ", "); got != "503 110, 503 217" {
		t.Errorf("logged %s, want 503 110, 503 217", got)
	}
}

func TestBuiltinPageHeadAsHaproxy(t *testing.T) {
	b := startCaptureBackend(t)
	cfg := strings.Replace(errorFileConfig, "ERRORFILES", "", 1)
	checkBuiltinHead(t, startWireGproxy(t, cfg, fmt.Sprintf("127.0.0.1:%d", deadPort(t)), nil), b)
}

func TestIntegrationBuiltinPageHeadHaproxy(t *testing.T) {
	b := startCaptureBackend(t)
	cfg := strings.Replace(errorFileConfig, "ERRORFILES", "", 1)
	checkBuiltinHead(t, startWireHaproxy(t, cfg, fmt.Sprintf("127.0.0.1:%d", deadPort(t))), b)
}
