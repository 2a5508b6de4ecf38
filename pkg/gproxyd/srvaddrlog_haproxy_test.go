package gproxyd_test

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationServerAddrLogLikeHaproxy: %si:%sp (the server connected
// to) and %bi:%bp (the local side of that connection) in a log-format,
// mode http and mode tcp, through haproxy 2.6 and gproxy, which printed
// "-" for all four before. The local port changes from run to run: it is
// masked, and checked to be the port the server saw.
func TestIntegrationServerAddrLogLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	// The server answers with the client port it saw.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", porttest.Free(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_, port, _ := net.SplitHostPort(c.RemoteAddr().String())
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(port), port)
			}()
		}
	}()
	srv := ln.Addr().String()
	bp := regexp.MustCompile(`bp=(\d+)`)
	run := func(bin string) (lines []string) {
		p := []int{porttest.Free(t), porttest.Free(t)}
		cfg := fmt.Sprintf(`defaults
    timeout client 5s
    timeout server 5s
    timeout connect 1s
    log stdout format raw local0
    log-format "%%b/%%s si=%%si sp=%%sp bi=%%bi bp=%%bp"
listen h
    mode http
    bind 127.0.0.1:%d
    server s1 %s
listen t
    mode tcp
    bind 127.0.0.1:%d
    server s1 %s
`, p[0], srv, p[1], srv)
		out, _, stop := startDB(t, bin, cfg, p...)
		defer stop()
		for _, port := range p {
			before := out.count()
			resp := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			out.waitFor(t, before+1)
			line := out.lines()[before]
			seen := resp[strings.LastIndex(resp, "\n")+1:]
			if m := bp.FindStringSubmatch(line); m == nil || m[1] != seen {
				t.Errorf("%s: %%bp in %q is not the port the server saw (%s)", bin, line, seen)
			}
			lines = append(lines, bp.ReplaceAllString(line, "bp=PORT"))
		}
		return lines
	}
	ref, got := run(haproxytest.Bin), run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("log lines differ\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	t.Logf("haproxy:\n%s", strings.Join(ref, "\n"))
}
