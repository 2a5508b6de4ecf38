package haproxytest

import (
	"net"
	"strings"
	"testing"
	"time"

	"hapair/pkg/porttest"
)

// Start returns once the configuration's binds listen, and at once when
// haproxy refuses the configuration; tcpBinds finds the addresses to probe.
func TestStartWaitsForBinds(t *testing.T) {
	p := porttest.FreeAddr(t)
	start := time.Now()
	Start(t, "defaults\n mode tcp\n timeout client 1s\n timeout server 1s\n timeout connect 1s\nlisten l\n bind "+p+"\n server s 127.0.0.1:1\n")
	c, err := net.Dial("tcp", p)
	if err != nil {
		t.Fatalf("not listening right after Start: %v", err)
	}
	c.Close()
	t.Logf("started in %v", time.Since(start))
	start = time.Now()
	Start(t, "listen l\n bind "+p+"\n bogus\n")
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a failing haproxy took %v", d)
	}
	if got := tcpBinds("frontend f\n  bind :80,127.0.0.2:81 ssl crt x\n bind \"fd@${fe1}\"\n bind ipv4@127.0.0.1:82\n bind /x.sock\n bind :8000-8010\n"); strings.Join(got, " ") != "127.0.0.1:80 127.0.0.2:81 127.0.0.1:82" {
		t.Fatalf("tcpBinds: %q", got)
	}
}
