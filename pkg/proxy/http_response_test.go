package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// responseCases are server responses and what the client receives for
// them through haproxy 2.6.12 (TestIntegrationResponseFieldsHaproxy):
// the fields in the server's order, names lower-cased, values trimmed,
// Keep-Alive and Trailer passed on, Connection replaced.
var responseCases = []struct {
	name, server, client, log string
}{
	{"order",
		"HTTP/1.1 200 OK\r\nZ-Last: 1\r\nContent-Type: text/plain\r\nKeep-Alive: timeout=5\r\nA-First:   2  \r\nSet-Cookie: b=1\r\nTrailer: X\r\nX-Mid: 3\r\nSet-Cookie: a=2\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
		"HTTP/1.1 200 OK\r\nz-last: 1\r\ncontent-type: text/plain\r\nkeep-alive: timeout=5\r\na-first: 2\r\nset-cookie: b=1\r\ntrailer: X\r\nx-mid: 3\r\nset-cookie: a=2\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n", "200 148"},
	{"chunked",
		"HTTP/1.1 200 OK\r\nB: 1\r\nTransfer-Encoding: chunked\r\nA: 2\r\n\r\n3\r\nok\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nb: 1\r\ntransfer-encoding: chunked\r\na: 2\r\nconnection: close\r\n\r\n3\r\nok\n\r\n0\r\n\r\n", "200 66"},
	{"interim",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nY: 1\r\nX: 2\r\nContent-Length: 3\r\n\r\nok\n",
		"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ny: 1\r\nx: 2\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n", "200 107"},
	{"http10-length", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n",
		"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n", "200 52"},
	{"http10-chunked", "HTTP/1.0 200 Ok\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 Ok\r\ntransfer-encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n", "200 62"},
	{"http10-chunked-length", "HTTP/1.0 200 Ok\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 Ok\r\ntransfer-encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n", "200 62"},
	{"http10-close-delimited", "HTTP/1.0 200 OK\r\nX: 1\r\n\r\nok\n",
		"HTTP/1.0 200 OK\r\nx: 1\r\n\r\nok\n", "200 39"},
	{"http10-keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nok\n",
		"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n", "200 52"},
}

// keepAliveRequests are two pipelined requests, the first keeping the
// connection: the client gets the second response only when the first
// left the connection open.
const keepAliveRequests = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"

// responseKACases are server responses to a client that keeps its
// connection (keepAliveRequests) and what the client receives through
// haproxy 2.6.12: an HTTP/1.0 server's version is passed on, with
// "connection: keep-alive" when the client connection stays open.
var responseKACases = []struct {
	name, server, client string
}{
	{"http11-length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n",
		"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\nHTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n"},
	{"http10-length", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n",
		"HTTP/1.0 200 OK\r\ncontent-length: 3\r\nconnection: keep-alive\r\n\r\nok\nHTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n"},
	{"http10-keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nok\n",
		"HTTP/1.0 200 OK\r\ncontent-length: 3\r\nconnection: keep-alive\r\n\r\nok\nHTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n"},
	{"http10-chunked", "HTTP/1.0 200 Ok\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 Ok\r\ntransfer-encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n"},
	{"http10-close-delimited", "HTTP/1.0 200 OK\r\nX: 1\r\n\r\nok\n",
		"HTTP/1.0 200 OK\r\nx: 1\r\n\r\nok\n"},
	{"http10-close", "HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nok\n",
		"HTTP/1.0 200 OK\r\ncontent-length: 3\r\nconnection: keep-alive\r\n\r\nok\nHTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n"},
	{"http11-chunked-length", "HTTP/1.1 200 Ok\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 Ok\r\ntransfer-encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\nHTTP/1.1 200 Ok\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nok\n\r\n0\r\n\r\n"},
}

func checkKAResponses(t *testing.T, start func(t *testing.T, cfg, backend string) wireProxy) {
	t.Helper()
	for _, tc := range responseKACases {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, headConfig, rawServerKA(t, tc.server))
			got, _ := exchangeAll(t, p, startCaptureBackend(t), keepAliveRequests, 1)
			if got != tc.client {
				t.Errorf("the client got\n%q\nwant\n%q", got, tc.client)
			}
		})
	}
}

// TestResponseVersionAsHaproxy checks the responses of HTTP/1.0 servers
// to a client keeping its connection: gproxy sent them as HTTP/1.1 and
// passed a chunked HTTP/1.0 body as if delimited by the close.
func TestResponseVersionAsHaproxy(t *testing.T) {
	checkKAResponses(t, func(t *testing.T, cfg, backend string) wireProxy {
		return startWireGproxy(t, cfg, backend, nil)
	})
}

// TestIntegrationResponseVersionHaproxy checks the case table against
// the reference haproxy 2.6.12.
func TestIntegrationResponseVersionHaproxy(t *testing.T) {
	checkKAResponses(t, startWireHaproxy)
}

// rawServerKA answers every request with resp; it keeps its connection
// for the next request when resp is delimited by its Content-Length
// (else the close ends it), so that a proxy reusing it never races the
// server's close.
func rawServerKA(t *testing.T, resp string) string {
	t.Helper()
	loop := strings.Contains(resp, "Content-Length: 3\r\n") && !strings.Contains(resp, "Transfer-Encoding")
	b := startBackend(t, func(c *net.TCPConn) {
		_ = c.SetDeadline(time.Now().Add(deadline))
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			if _, err := io.WriteString(c, resp); err != nil || !loop {
				return
			}
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", b.port)
}

// rawServer answers every request with resp and closes.
func rawServer(t *testing.T, resp string) string {
	t.Helper()
	b := startBackend(t, func(c *net.TCPConn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			io.WriteString(c, resp)
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", b.port)
}

func checkResponses(t *testing.T, start func(t *testing.T, cfg, backend string) wireProxy) {
	t.Helper()
	for _, tc := range responseCases {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, headConfig, rawServer(t, tc.server))
			got, _ := exchangeAll(t, p, startCaptureBackend(t), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 1)
			if got != tc.client {
				t.Errorf("the client got\n%q\nwant\n%q", got, tc.client)
			}
			logs := p.logs()
			f, err := httpLogFields(logs[len(logs)-1])
			if err != nil {
				t.Fatal(err)
			}
			if got := f[4] + " " + f[5]; got != tc.log {
				t.Errorf("logged %q, want %q", got, tc.log)
			}
		})
	}
}

// TestResponseFieldsAsHaproxy checks that the client receives the
// server's fields as haproxy 2.6 passes them on (they used to be sorted by
// name, Keep-Alive and Trailer dropped).
func TestResponseFieldsAsHaproxy(t *testing.T) {
	checkResponses(t, func(t *testing.T, cfg, backend string) wireProxy {
		return startWireGproxy(t, cfg, backend, nil)
	})
}

// TestIntegrationResponseFieldsHaproxy checks the case table against the
// reference haproxy 2.6.12.
func TestIntegrationResponseFieldsHaproxy(t *testing.T) {
	checkResponses(t, startWireHaproxy)
}
