package gproxyd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckNoListener: a configuration that listens nowhere is valid but
// would not start: haproxy's -c says so and exits 2, and the start fails
// with its alert (before: exit 0, and a daemon serving nothing).
func TestCheckNoListener(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"disabled.cfg": "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten x\n  bind 127.0.0.1:1234\n  disabled\n  server s 127.0.0.1:1\n",
		"backend.cfg":  "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nbackend x\n  server a 127.0.0.1:1\n",
		"socket.cfg":   "global\n  stats socket " + filepath.Join(dir, "s.sock") + "\ndefaults\n  mode tcp\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, wantCode := range map[string]int{"disabled.cfg": 2, "backend.cfg": 2, "socket.cfg": 0} {
		ref, got, rc, gc := runBoth(t, dir, "-c", "-f", name)
		if gc != wantCode || rc != gc || got != ref {
			t.Errorf("-c %s: haproxy %d %q, gproxy %d %q", name, rc, ref, gc, got)
		}
	}
	cmd := exec.Command(gproxyBin, "-db", "-f", "backend.cfg")
	cmd.Dir = dir
	done := make(chan struct{})
	var out []byte
	go func() { out, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("gproxy with no listener still runs after 10 s")
	}
	want := "[ALERT]    (PID) : [PROG.main()] No enabled listener found (check for 'bind' directives) ! Exiting."
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(normalize(string(out)), want) {
		t.Errorf("start with no listener: exit %d, want 1 and %q:\n%s", cmd.ProcessState.ExitCode(), want, out)
	}
}
