package proxy

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// `option abortonclose` through haproxy 2.6.12 and gproxy (reg-test
// http-messaging/http_abortonclose): a client that half-closes after its
// request is aborted while queued (CQ, nothing sent), between connection
// attempts (CC) and while the server prepares its answer (CH, haproxy's
// 400 page); without the option it gets its response.
const abortCloseConfig = `global
    log 127.0.0.1:LOGPORT local0
defaults
    log global
    mode http
    option httplog
    option abortonclose
    retries 3
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
frontend fe
    bind FRONT
    use_backend refused if { path /refused }
    use_backend plain if { path /plain }
    default_backend slow
backend slow
    server s1 BACKEND maxconn 1
backend refused
    server s1 DEADADDR
backend plain
    no option abortonclose
    server s1 BACKEND
`

// abortServer answers /plain after a pause, /hold once release is
// closed, and never answers the others (it reads until the proxy closes).
func abortServer(t *testing.T, release <-chan struct{}) string {
	t.Helper()
	ln := haproxytest.Serve(t, deadline, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		switch req.URL.Path {
		case "/plain":
			time.Sleep(300 * time.Millisecond)
		case "/hold":
			select {
			case <-release:
			case <-time.After(deadline):
			}
		default:
			_, _ = io.Copy(io.Discard, c)
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
	})
	return ln.Addr().String()
}

// halfClose sends a request, shuts the sending side after wait and
// returns what came back until the proxy closed.
func halfClose(t *testing.T, addr, path string, wait time.Duration) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(wait)
	_ = c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		return string(b) + fmt.Sprintf(" (read error %v)", err)
	}
	return string(b)
}

func TestIntegrationAbortOnCloseHaproxy(t *testing.T) {
	var got [2][]string
	for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
		startWireHaproxy,
		func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
	} {
		release := make(chan struct{})
		cfg := strings.ReplaceAll(abortCloseConfig, "DEADADDR", fmt.Sprintf("127.0.0.1:%d", deadPort(t)))
		p := start(t, cfg, abortServer(t, release))
		var out []string
		logLine := func(n int) string {
			eventually(t, "the log line", func() bool { return len(p.logs()) > n })
			f, err := httpLogFields(p.logs()[n])
			if err != nil {
				t.Fatal(err)
			}
			conns := strings.Split(f[9], "/")
			return strings.Join([]string{f[2], f[3], f[4], f[5], f[8], "retries=" + conns[len(conns)-1]}, " ")
		}
		// CH: connected, the server says nothing yet.
		n := len(p.logs())
		out = append(out, "response: "+halfClose(t, p.addr, "/wait", 0), logLine(n))
		// No abortonclose: the half-closed client is answered.
		n = len(p.logs())
		out = append(out, "plain: "+halfClose(t, p.addr, "/plain", 0), logLine(n))
		// CC: the client closes while the proxy waits to retry.
		n = len(p.logs())
		out = append(out, "refused: "+halfClose(t, p.addr, "/refused", 200*time.Millisecond), logLine(n))
		// CQ: the only slot is taken by /hold.
		n = len(p.logs())
		held := make(chan string, 1)
		go func() {
			c, err := net.DialTimeout("tcp", p.addr, 2*time.Second)
			if err != nil {
				held <- err.Error()
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(deadline))
			_, _ = io.WriteString(c, "GET /hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
			b, _ := io.ReadAll(c)
			held <- statusLine(string(b))
		}()
		time.Sleep(300 * time.Millisecond) // /hold takes the slot
		out = append(out, "queued: "+halfClose(t, p.addr, "/queued", 200*time.Millisecond), logLine(n))
		close(release)
		out = append(out, "held: "+<-held, logLine(n+1))
		got[i] = out
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		t.Errorf("gproxy:\n%s\nhaproxy:\n%s", strings.Join(got[1], "\n"), strings.Join(got[0], "\n"))
	}
	t.Logf("haproxy:\n%s", strings.Join(got[0], "\n"))
}

// TestIntegrationAbortOnCloseTLSHaproxy: a TLS client that goes away
// (TCP close, no close_notify) while the server prepares its answer: an
// error to haproxy's TLS layer, logged CD with no status and no reply.
func TestIntegrationAbortOnCloseTLSHaproxy(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	pem := filepath.Join(dir, "site.pem")
	tlstest.Write(t, pem, ca.Issue(t, tlstest.ECDSA, "site.test", "site.test").Bundle())
	cfg := strings.Replace(abortCloseConfig, "bind FRONT", "bind FRONT ssl crt "+pem, 1)
	var got [2]string
	for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
		startWireHaproxy,
		func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
	} {
		c := strings.ReplaceAll(cfg, "DEADADDR", fmt.Sprintf("127.0.0.1:%d", deadPort(t)))
		p := start(t, c, abortServer(t, make(chan struct{})))
		n := len(p.logs())
		raw, err := net.DialTimeout("tcp", p.addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = raw.SetDeadline(time.Now().Add(deadline))
		tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
		if _, err := io.WriteString(tc, "GET /wait HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // the request reaches the server
		raw.Close()                        // no close_notify
		eventually(t, "the log line", func() bool { return len(p.logs()) > n })
		f, err := httpLogFields(p.logs()[n])
		if err != nil {
			t.Fatal(err)
		}
		got[i] = strings.Join([]string{f[2], f[3], f[4], f[5], f[8]}, " ")
	}
	if got[0] != got[1] {
		t.Errorf("gproxy: %s\nhaproxy: %s", got[1], got[0])
	}
	t.Logf("haproxy: %s", got[0])
}
