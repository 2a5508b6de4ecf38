package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
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
