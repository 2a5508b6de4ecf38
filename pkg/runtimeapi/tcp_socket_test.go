package runtimeapi_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/porttest"
	"hapair/pkg/runtimeapi"
)

// TestStatsSocketTCP: `stats socket ipv4@127.0.0.1:PORT` (as haproxy's
// reg-tests use) serves the CLI over TCP: one command per connection,
// answered and closed, with no socket file left behind.
func TestStatsSocketTCP(t *testing.T) {
	addr := porttest.FreeAddr(t)
	cfg, _, err := haproxycfg.Parse("s.cfg", []byte("global\n stats socket ipv4@"+addr+" level admin\n"), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sock := cfg.Global.StatsSockets[0]
	if sock.Path != "" || sock.TCP == nil {
		t.Fatalf("parsed as %+v, want a TCP socket", sock)
	}
	srv, err := runtimeapi.Listen(sock, time.Second, &runtimeapi.Commands{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("nothing listens on %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("help\n")); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(out.String(), "show info") {
		t.Errorf("help over TCP gave %q", out.String())
	}
}
