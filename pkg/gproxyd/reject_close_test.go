package gproxyd_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationRejectCloseLikeHaproxy checks how a rejected client sees
// the end of its connection, against haproxy 2.6: `http-request reject`
// and `tcp-request content reject` (modes http and tcp) read what the
// client sent, even a 100 kB body, and close with a FIN, never a reset.
func TestIntegrationRejectCloseLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	body := strings.Repeat("x", 100000)
	reqs := []struct {
		port       int
		path, body string
	}{
		{0, "/r", ""}, {0, "/r", body}, {0, "/tcp", ""}, {0, "/tcp", body}, {1, "/t", body},
	}
	run := func(bin string) []string {
		ports := []int{porttest.Free(t), porttest.Free(t)}
		cfg := fmt.Sprintf(`defaults
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend h
    mode http
    bind 127.0.0.1:%d
    tcp-request content reject if { path /tcp }
    http-request reject if { path /r }
    http-request return status 200
frontend t
    mode tcp
    bind 127.0.0.1:%d
    tcp-request inspect-delay 1s
    tcp-request content reject if { req.len gt 0 }
    default_backend b
backend b
    mode tcp
    server s 127.0.0.1:%d
`, ports[0], ports[1], porttest.Free(t))
		_, _, stop := startDB(t, bin, cfg, ports...)
		defer stop()
		var out []string
		for _, r := range reqs {
			req := "GET " + r.path + " HTTP/1.1\r\nHost: h\r\n\r\n"
			if r.body != "" {
				req = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", r.path, len(r.body), r.body)
			}
			out = append(out, fmt.Sprintf("%s %d: %s", r.path, len(r.body), closeKind(t, fmt.Sprintf("127.0.0.1:%d", ports[r.port]), req)))
		}
		return out
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("closes differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	for _, l := range ref {
		if !strings.HasSuffix(l, ": FIN") {
			t.Errorf("haproxy: %s, expected a FIN", l)
		}
	}
}

// closeKind sends req and tells how the connection ends for the client:
// "FIN" (end of stream, nothing received), "reset", or what came.
func closeKind(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return "reset"
		}
		t.Fatal(err)
	}
	b := make([]byte, 100)
	n, err := c.Read(b)
	switch {
	case n > 0:
		return fmt.Sprintf("data %q", b[:n])
	case errors.Is(err, io.EOF):
		return "FIN"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	}
	return fmt.Sprint(err)
}
