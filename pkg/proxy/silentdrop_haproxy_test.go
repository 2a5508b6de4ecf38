package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
)

// `http-request silent-drop` run by haproxy 2.6.12 and by gproxy (both
// as root, so TCP_REPAIR works): the client sees nothing at all, no
// reply, no FIN, no reset, where a request the rule does not drop is
// answered. (`http-request reject`, which closes with a FIN, is compared
// by gproxyd's TestIntegrationRejectCloseLikeHaproxy.)

func silentDropConfig(port int, srv string) string {
	return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend sd
    bind 127.0.0.1:%d
    http-request silent-drop if { path /drop }
    default_backend be

backend be
    server s %s
`, port, srv)
}

// silentOutcome sends a request for path and tells what the client saw
// within 1.5 s: "quiet" (nothing), "reset", "closed" (a FIN) or the
// response's status line.
func silentOutcome(t *testing.T, addr, path string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	b, err := io.ReadAll(c)
	var ne net.Error
	switch {
	case len(b) > 0:
		return statusLine(string(b))
	case errors.As(err, &ne) && ne.Timeout():
		return "quiet"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case err == nil:
		return "closed"
	}
	return "error " + err.Error()
}

func TestIntegrationSilentDropHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root: silent-drop's TCP_REPAIR needs CAP_NET_ADMIN, for haproxy as for gproxy")
	}
	srv := startEchoServer(t, "one")
	hp := haproxytest.FreePort(t)
	haproxytest.Start(t, silentDropConfig(hp, srv))
	haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", hp))

	ln, bind := listen(t)
	cfg, diags, err := haproxycfg.Parse("silentdrop.cfg", []byte(silentDropConfig(bind.Port, srv)), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	serveHTTPLogged(t, cfg, map[string]net.Listener{bind.Address(): ln}, nil, nil)

	for path, want := range map[string]string{"/drop": "quiet", "/ok": "HTTP/1.1 200 OK"} {
		h := silentOutcome(t, fmt.Sprintf("127.0.0.1:%d", hp), path)
		g := silentOutcome(t, bind.Address(), path)
		if h != want {
			t.Errorf("%s: haproxy: %s, want %s", path, h, want)
		}
		if g != h {
			t.Errorf("%s: haproxy: %s, gproxy: %s", path, h, g)
		}
	}
}
