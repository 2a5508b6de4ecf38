package track_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hapair/pkg/track"
)

// TestIntegrationProcessConnector: the real kernel's process events, as
// keepalived's track_process gets them. A copy of sleep named haproxy in a
// directory of the test's own (tracked by its full path, so no other
// haproxy on the machine counts) starts: the quorum is gained from the
// exec event; a second one starts and the first is killed, as
// `haproxy -sf` reloads: the quorum is never lost; the last is killed: the
// quorum is lost. Runs in the machine's namespaces (the kernel sends
// process events only there); it sends no network traffic.
func TestIntegrationProcessConnector(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (CAP_NET_ADMIN for the process connector): run as root (CI does)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "haproxy")
	src, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var changes []bool
	_, log := newLogger()
	w := track.StartProcessWatcher([]track.ProcessSpec{{Name: "chk", Process: bin, FullCommand: true, Quorum: 1, QuorumMax: 1 << 32}},
		func(name string, up bool) { mu.Lock(); changes = append(changes, up); mu.Unlock() }, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if w.Up("chk") {
		t.Fatal("up before any process started")
	}
	start := func() *exec.Cmd {
		c := exec.Command(bin, "30")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	stop := func(c *exec.Cmd) { c.Process.Kill(); c.Wait() }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if cond() {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s: not seen in 5 s (count %d, changes %v)", what, w.Count("chk"), changes)
	}
	nChanges := func() int { mu.Lock(); defer mu.Unlock(); return len(changes) }

	first := start()
	waitFor("quorum gained", func() bool { return w.Up("chk") && nChanges() == 1 })
	second := start()
	waitFor("second process counted", func() bool { return w.Count("chk") == 2 })
	stop(first)
	waitFor("first process uncounted", func() bool { return w.Count("chk") == 1 })
	if n := nChanges(); n != 1 || !w.Up("chk") {
		t.Errorf("reload: %d changes, up %v; want the quorum kept", n, w.Up("chk"))
	}
	stop(second)
	waitFor("quorum lost", func() bool { return !w.Up("chk") && nChanges() == 2 })
	mu.Lock()
	defer mu.Unlock()
	if changes[0] != true || changes[1] != false {
		t.Errorf("changes %v, want [true false]", changes)
	}
}
