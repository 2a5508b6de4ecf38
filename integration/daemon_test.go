package integration

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/integration/lab"
)

// A config warning is printed once when haproxy starts in daemon mode:
// `service haproxy start` shows it once. Both proxies start with the same
// file (no timeouts: haproxy 2.6 warns "missing timeouts for proxy 'x'"),
// on a lab host of their own, and their console output is compared.
func TestIntegrationDaemonWarningsOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	bins := buildOurs(t)
	const cfg = `global
    maxconn 100
    daemon
listen x
    bind 10.0.0.1:8080
    mode tcp
    server s1 10.0.0.2:80
`
	console := func(t *testing.T, name, bin string) string {
		l := lab.NewT(t)
		h, err := l.AddHost(name, netip.MustParsePrefix("10.0.0.1/24"))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "console")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// As an init script does: the command returns once the daemon runs.
		if b, err := h.Run(ctx, "sh", "-c", `"$0" -f "$1" -p /run/haproxy.pid >"$2" 2>&1 </dev/null`, bin, file, out); err != nil {
			t.Fatalf("%s: %v\n%s", bin, err, b)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if ok, _ := h.Listening("tcp", 8080); ok {
				break
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(out)
				t.Fatalf("%s: not listening on 8080 within 5 s; console:\n%s", bin, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // a late duplicate would be written by now
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s console:\n%s", bin, b)
		return string(b)
	}
	const warning = "missing timeouts for proxy 'x'"
	theirs := console(t, "haproxy", "/usr/sbin/haproxy")
	gproxy := filepath.Join(bins, "gproxy")
	ours := console(t, "gproxy", gproxy)
	t.Run("warning printed once", func(t *testing.T) {
		want := strings.Count(theirs, warning)
		if want != 1 {
			t.Fatalf("haproxy printed the warning %d times; the reference changed?", want)
		}
		if got := strings.Count(ours, warning); got != want {
			t.Errorf("gproxy printed %q %d times in daemon mode; haproxy 2.6 prints it %d time(s)", warning, got, want)
		}
	})
	// With a warning or an alert haproxy 2.6 first says which binary and
	// version printed it.
	t.Run("version and path notices", func(t *testing.T) {
		for _, notice := range []string{"[NOTICE]   (", ") : haproxy version is ", ") : path to executable is "} {
			if !strings.Contains(theirs, notice) {
				t.Fatalf("haproxy's console lacks %q; the reference changed?", notice)
			}
			if !strings.Contains(ours, notice) {
				t.Errorf("gproxy's console lacks %q (haproxy 2.6 prints it before its warnings)", notice)
			}
		}
	})
}
