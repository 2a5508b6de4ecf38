package gproxyd_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// stateRecorder is an HTTP server answering every request with status
// code; it keeps the distinct X-Haproxy-Server-State values it received.
type stateRecorder struct {
	addr string
	mu   sync.Mutex
	seen []string
}

func startStateRecorder(t *testing.T, code int) *stateRecorder {
	t.Helper()
	r := &stateRecorder{}
	ln := haproxytest.Serve(t, 5*time.Second, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
			if v, ok := strings.CutPrefix(l, "x-haproxy-server-state: "); ok {
				r.add(strings.TrimRight(v, "\r\n"))
			}
		}
		fmt.Fprintf(c, "HTTP/1.1 %d X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", code)
	})
	r.addr = ln.Addr().String()
	return r
}

func (r *stateRecorder) add(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.seen, v) {
		r.seen = append(r.seen, v)
	}
}

func (r *stateRecorder) has(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.seen, func(v string) bool { return strings.HasPrefix(v, prefix) })
}

func (r *stateRecorder) values() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.seen)
	slices.Sort(out)
	return out
}

// TestIntegrationSendState: `http-check send-state` with haproxy 2.6 and
// gproxy, one server a backend so that the totals are deterministic: a
// server coming up (UP 1/3 then UP), one failing (UP 1/3 then DOWN, whose
// weight leaves the total), a backup alone, a weight set at run time, a
// drained server and a soft-stopped one (NOLB); every distinct header value
// the servers received must be the same. `send-state` without `option
// httpchk` warns as haproxy does.
func TestIntegrationSendState(t *testing.T) {
	requireRootAndHAProxy(t)
	run := func(bin string) []string {
		ok1, bad, bck, drain, nolb := startStateRecorder(t, 200), startStateRecorder(t, 503), startStateRecorder(t, 200), startStateRecorder(t, 200), startStateRecorder(t, 200)
		sock := filepath.Join(t.TempDir(), "s.sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    option httpchk GET /
    http-check send-state
backend b1
    server s1 %s check inter 200ms rise 2 fall 3 weight 20
backend b2
    server s2 %s check inter 200ms rise 2 fall 3 weight 30
backend b3
    server s3 %s check inter 200ms backup
backend b4
    http-check send meth GET uri /x hdr x-a 1
    server s4 %s check inter 200ms weight 5
backend b5
    server s5 %s check inter 200ms
`, sock, ok1.addr, bad.addr, bck.addr, drain.addr, nolb.addr)
		_, _, stop := startDB(t, bin, cfg)
		defer stop()
		waitUntil(t, "the stats socket", func() bool { return cli(sock, "show info") != "" })
		for _, w := range []struct {
			r      *stateRecorder
			prefix string
		}{{ok1, "UP;"}, {bad, "DOWN;"}, {bck, "UP;"}, {drain, "UP;"}, {nolb, "UP;"}} {
			waitUntil(t, "header "+w.prefix, func() bool { return w.r.has(w.prefix) })
		}
		cli(sock, "set weight b1/s1 10")
		cli(sock, "set server b4/s4 state drain")
		cli(sock, "set server b5/s5 health stopping")
		defer func() {
			if t.Failed() {
				for _, r := range []*stateRecorder{ok1, bad, bck, drain, nolb} {
					t.Logf("%s: %q", bin, r.values())
				}
			}
		}()
		waitUntil(t, "the new weight", func() bool {
			return ok1.has("UP; address=127.0.0.1; port=" + port(ok1.addr) + "; name=b1/s1; node=" + host() + "; weight=10/10")
		})
		waitUntil(t, "the drained weight", func() bool {
			return drain.has("UP; address=127.0.0.1; port=" + port(drain.addr) + "; name=b4/s4; node=" + host() + "; weight=5/0")
		})
		waitUntil(t, "NOLB", func() bool { return nolb.has("NOLB") })
		var out []string
		for _, r := range []*stateRecorder{ok1, bad, bck, drain, nolb} {
			for _, v := range r.values() {
				out = append(out, strings.ReplaceAll(v, port(r.addr), "PORT"))
			}
		}
		return out
	}
	ref, got := run(haproxytest.Bin), run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("X-Haproxy-Server-State values differ\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	} else if testing.Verbose() {
		t.Logf("haproxy:\n%s", strings.Join(ref, "\n"))
	}

	// haproxy stops before its end-of-parse warnings when a line is in
	// error: one file each.
	dir := t.TempDir()
	for i, text := range []string{`
backend b
  option tcp-check
  http-check send-state
  server s1 127.0.0.1:9 check
`, `
backend b
  http-check send-state x
`} {
		cfg := filepath.Join(dir, fmt.Sprintf("w%d.cfg", i))
		if err := os.WriteFile(cfg, []byte(`defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend f
  bind 127.0.0.1:9
  default_backend b`+text), 0o644); err != nil {
			t.Fatal(err)
		}
		check := func(bin string) string {
			out, _ := exec.Command(bin, "-c", "-f", cfg).CombinedOutput()
			return pidRe.ReplaceAllString(noticeRe.ReplaceAllString(string(out), ""), "(PID)")
		}
		if r, g := check(haproxytest.Bin), check(gproxyBin); r != g {
			t.Errorf("-c differs:\nhaproxy:\n%s\ngproxy:\n%s", r, g)
		} else if !strings.Contains(r, "send-state' will be ignored") && !strings.Contains(r, "unexpected argument") {
			t.Errorf("haproxy -c said neither the warning nor the alert:\n%s", r)
		}
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func host() string {
	h, _ := os.Hostname()
	return h
}
