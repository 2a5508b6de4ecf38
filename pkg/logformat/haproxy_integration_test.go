package logformat

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

var update = flag.Bool("update", false, "rewrite testdata golden files from a real haproxy run")

// httpRequests are sent to every mode http frontend, each on its own
// connection: a query with quotes, an absolute-form URI with bytes the
// captures encode, a body, and a request haproxy cannot parse.
var httpRequests = []string{
	"GET /a/b?x=1&y=\"2\" HTTP/1.1\r\nHost: example.com\r\nX-Long: 1234567890\r\nCookie: SRV=abc123456789xyz; other=1\r\nConnection: close\r\n\r\n",
	"GET http://example.org:8080/p/q?z HTTP/1.0\r\nHost: example.org:8080\r\nX-Long: #{|}\"x\r\n\r\n",
	"GET /empty HTTP/1.1\r\nHost: e\r\nX-Long:\r\nConnection: close\r\n\r\n",
	"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
	"GARBAGE\r\n\r\n",
}

func cfgQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestIntegrationHaproxyLogFormats runs haproxy 2.6 with one frontend per
// case of diffCases, logging to its stdout in raw format a prefix that
// shows every field of the stream, then the case's format. Each line is
// checked as TestGoldenHaproxyLogFormats does; -update rewrites the golden
// file from this run.
func TestIntegrationHaproxyLogFormats(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	loc, err := time.LoadLocation(goldenTZ)
	if err != nil {
		t.Fatal(err)
	}
	web := serveHTTP(t)
	echo := serveEcho(t)
	var cfg strings.Builder
	// One thread: a line's counters are read while no other connection
	// is accepted, so the prefix and the format agree.
	fmt.Fprintf(&cfg, `global
    nbthread 1
defaults
    timeout client 5s
    timeout server 5s
    timeout connect 1s
backend be_http
    mode http
    server s1 %s
backend be_tcp
    mode tcp
    server s1 %s
`, web, echo)
	ports := map[string]int{}
	for _, c := range diffCases {
		ports[c.name] = haproxytest.FreePort(t)
		mode, prefix, be := "tcp", tcpPrefix, "be_tcp"
		if c.http {
			mode, prefix, be = "http", httpPrefix, "be_http"
		}
		fmt.Fprintf(&cfg, "frontend %s\n    bind 127.0.0.1:%d\n    mode %s\n    log stdout format raw local0\n    log-format %s\n%s    default_backend %s\n",
			c.name, ports[c.name], mode, cfgQuote(prefix+sep+c.format), c.extra, be)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(haproxytest.Bin, "-db", "-f", path)
	cmd.Env = append(os.Environ(), "TZ="+goldenTZ)
	out := &lines{}
	cmd.Stdout = out
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy stderr:\n%s", stderr.String())
		}
	})
	want := 0
	for _, c := range diffCases {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[c.name])
		haproxytest.WaitBound(t, addr)
		if !c.http {
			exchange(t, addr, "hello\n", true)
			want++
			continue
		}
		for _, r := range httpRequests {
			exchange(t, addr, r, false)
			want++
		}
	}
	got := out.wait(t, want)
	var golden []string
	for _, l := range got {
		f := strings.Split(l, "~~")
		if len(f) < 10 {
			t.Fatalf("unexpected line %q", l)
		}
		golden = append(golden, f[9]+"\t"+l)
		checkLine(t, f[9], l, loc)
	}
	if *update {
		sort.SliceStable(golden, func(i, j int) bool {
			return strings.SplitN(golden[i], "\t", 2)[0] < strings.SplitN(golden[j], "\t", 2)[0]
		})
		if err := os.WriteFile(goldenFile, []byte(strings.Join(golden, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lines collects a process's output lines.
type lines struct {
	mu   sync.Mutex
	buf  []byte
	done []string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		l.done = append(l.done, string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// wait polls for n lines, at most 10 s.
func (l *lines) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		got := append([]string(nil), l.done...)
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines after 10s, want %d:\n%s", len(got), n, strings.Join(got, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func serveHTTP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Add("Set-Cookie", "SRV=s1; path=/")
		_, _ = io.WriteString(w, "hello\n")
	})}
	t.Cleanup(func() { srv.Close() })
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String()
}

func serveEcho(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, line)
			}()
		}
	}()
	return l.Addr().String()
}

// exchange sends req, half-closes when asked, and reads until the proxy
// closes, bounded to 5 s.
func exchange(t *testing.T, addr, req string, halfClose bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	_, _ = io.Copy(io.Discard, c)
}
