package gproxyd

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health/healthtest"
	"hapair/pkg/proxy"
)

// TestOperatorServices starts the operator services as serve does, for a
// config with a stats socket, a stats page and a checked server that is
// down: the socket answers with the configured mode, the page serves the
// CSV, and the server's DOWN line reaches the proxy's syslog target as
// haproxy 2.6 sends it.
func TestOperatorServices(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	st, dead := healthtest.FreePort(t), healthtest.FreePort(t)
	cfgText := fmt.Sprintf(`
global
    log %s local0
    stats socket %s mode 600 level admin
defaults
    log global
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
    stats auth admin:supersecret
backend be
    server s1 127.0.0.1:%d check inter 100ms
`, udp.LocalAddr(), sock, st, dead)
	cfg, _, err := haproxycfg.Parse("test.cfg", []byte(cfgText), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := newSessionLogs(cfg, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var ops *operatorServices
	eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop(), HTTPHandler: func(px *haproxycfg.Proxy) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ops.handler(px).ServeHTTP(w, r) })
	}})
	if err != nil {
		t.Fatal(err)
	}
	ops, err = startOperatorServices(zerolog.Nop(), cfg, eng, logs, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	if err := eng.Bind(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = eng.Serve(t.Context()) }()
	defer eng.Close()

	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("stats socket: %v %v", err, fi)
	}
	_ = udp.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	n, _, err := udp.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no syslog line: %v", err)
	}
	msg := string(buf[:n])
	want := fmt.Sprintf(`haproxy[%d]: Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: `, os.Getpid())
	if !strings.HasPrefix(msg, "<129>") || !strings.Contains(msg, want) {
		t.Errorf("syslog line %q, want <129>... %q", msg, want)
	}

	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "show stat\n")
	out, _ := io.ReadAll(c)
	c.Close()
	if !strings.Contains(string(out), "\nbe,s1,") || !strings.Contains(string(out), ",DOWN,") {
		t.Errorf("show stat:\n%s", out)
	}

	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/stats;csv", st), nil)
	req.SetBasicAuth("admin", "supersecret")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "# pxname,svname,") {
		t.Errorf(";csv: %s %.80q", resp.Status, body)
	}
}
