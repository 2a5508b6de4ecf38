package gproxyd_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationSetMarkTOSLikeHaproxy runs haproxy 2.6 and gproxy on
// http-request and http-response set-mark and set-tos, and compares the
// netfilter mark and TOS that ss reports on the proxy's side of the
// client connection (kept open after one request).
func TestIntegrationSetMarkTOSLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if _, err := exec.LookPath("ss"); err != nil {
		t.Fatalf("needs ss (apt-get install iproute2): %v", err)
	}
	web := uidEchoBackend(t)
	fieldRe := regexp.MustCompile(`(fwmark|tos):0x[0-9a-f]+`)
	run := func(bin string) []string {
		p := []int{porttest.Free(t), porttest.Free(t), porttest.Free(t)}
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend req
    bind 127.0.0.1:%d
    http-request set-mark 0x12 if { path /m }
    http-request set-tos 0x28 if { path /m }
    http-request set-tos 010 if { path /o }
    default_backend web
frontend res
    bind 127.0.0.1:%d
    http-response set-mark 52
    http-response set-tos 0x48
    default_backend web
frontend none
    bind 127.0.0.1:%d
    default_backend web
backend web
    server s %s
`, p[0], p[1], p[2], web)
		_, _, stop := startDB(t, bin, cfg, p...)
		defer stop()
		var out []string
		for _, c := range []struct {
			port int
			path string
		}{{p[0], "/m"}, {p[0], "/o"}, {p[0], "/x"}, {p[1], "/"}, {p[2], "/"}} {
			conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.port), 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", c.path)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			local := conn.LocalAddr().String()
			ssOut, err := exec.Command("ss", "-tnie", "--tos").Output()
			if err != nil {
				t.Fatal(err)
			}
			line := ""
			for _, l := range strings.Split(string(ssOut), "\n") {
				if f := strings.Fields(l); len(f) >= 5 && f[3] == fmt.Sprintf("127.0.0.1:%d", c.port) && f[4] == local {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("ss shows no socket 127.0.0.1:%d <- %s", c.port, local)
			}
			got := fieldRe.FindAllString(line, -1)
			out = append(out, fmt.Sprintf("%s: %s", c.path, strings.Join(got, " ")))
			conn.Close()
		}
		return out
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	t.Logf("haproxy:\n%s", strings.Join(ref, "\n"))
	if strings.Join(ref, "\n") != strings.Join(got, "\n") {
		t.Errorf("marks differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	if !strings.Contains(ref[0], "fwmark:0x12") || !strings.Contains(ref[3], "tos:0x48") {
		t.Errorf("haproxy's sockets do not show the rules:\n%s", strings.Join(ref, "\n"))
	}
}
