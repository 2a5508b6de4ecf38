package proxy

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// `http-response wait-for-body` (reg-test http-messaging/http_wait_for_body)
// through haproxy 2.6.12 and gproxy: the server sends its head and part of
// its body, pauses, then the rest; the client's response (res.body seen by
// a later rule) and the log line must be the same.
//
// Not covered, a known difference: without wait-for-body, res.body in
// haproxy holds what came with the head in the same read; gproxy's is
// empty.

const waitBodyConfig = `global
    log 127.0.0.1:LOGPORT local0
defaults
    log global
    mode http
    option httplog
    timeout connect 2s
    timeout client 5s
    # Longer than the exchange's deadline: the 504s must come from
    # wait-for-body's time (a server timeout would give the same 504).
    timeout server 20s
listen web
    bind FRONT
    http-response wait-for-body time 1s if { status eq 200 }
    http-response wait-for-body time 300ms at-least 6 if { status eq 201 }
    http-response wait-for-body time 300ms at-least 5 if { status eq 203 }
    http-response set-header X-Body "%[res.body]"
    server s1 BACKEND
`

// pausingServer answers with status, a Content-Length of 10, "hello"
// at once and "world" after pause (never, if pause is 0).
func pausingServer(t *testing.T, status int, pause time.Duration) string {
	t.Helper()
	ln := haproxytest.Serve(t, deadline, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write([]byte("HTTP/1.1 " + strconv.Itoa(status) + " X\r\nContent-Length: 10\r\n\r\nhello"))
		if pause == 0 {
			buf := make([]byte, 1)
			c.Read(buf) // until the proxy closes
			return
		}
		time.Sleep(pause)
		c.Write([]byte("world"))
		buf := make([]byte, 1)
		c.Read(buf)
	})
	return ln.Addr().String()
}

// TestIntegrationWaitForBodyHaproxy: a body complete in time is seen by
// res.body and sent; one incomplete when the time passes (at-least not
// reached) is a 504 logged sR.
func TestIntegrationWaitForBodyHaproxy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		pause  time.Duration
	}{
		{"complete-in-time", 200, 50 * time.Millisecond},
		{"never-complete", 200, 0},
		{"at-least", 201, 0},
		{"at-least-reached", 203, 600 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]wireResult
			for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
				startWireHaproxy,
				func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
			} {
				p := start(t, waitBodyConfig, pausingServer(t, tc.status, tc.pause))
				got[i] = exchange(t, p, startCaptureBackend(t), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
				got[i].head = ""
			}
			if got[0] != got[1] {
				t.Errorf("gproxy:\n%q\n%s %s\nhaproxy:\n%q\n%s %s", got[1].response, got[1].log, got[1].bytes, got[0].response, got[0].log, got[0].bytes)
			}
		})
	}
}

// TestIntegrationWaitForBodyCompressedHaproxy: with compression, res.body
// after wait-for-body is the server's body before compression, as in
// haproxy 2.6, which compresses what it forwards after the rules.
func TestIntegrationWaitForBodyCompressedHaproxy(t *testing.T) {
	cfg := waitBodyConfig + "    compression algo gzip\n    compression type text/plain\n"
	var seen [2]string
	for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
		startWireHaproxy,
		func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
	} {
		srv := haproxytest.Serve(t, deadline, func(c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nhelloworld"))
			buf := make([]byte, 1)
			c.Read(buf)
		})
		p := start(t, cfg, srv.Addr().String())
		c, err := net.DialTimeout("tcp", p.addr, deadline)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(deadline))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.Close()
		seen[i] = fmt.Sprintf("%d x-body=%q content-encoding=%q", resp.StatusCode, resp.Header.Get("X-Body"), resp.Header.Get("Content-Encoding"))
	}
	if seen[0] != seen[1] {
		t.Errorf("gproxy %s, haproxy %s", seen[1], seen[0])
	}
	if want := `200 x-body="helloworld" content-encoding="gzip"`; seen[0] != want {
		t.Errorf("haproxy: %s, want %s", seen[0], want)
	}
}
