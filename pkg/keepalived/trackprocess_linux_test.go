package keepalived

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/vrrp/vrrptest"
)

// TestIntegrationDaemonTrackProcess: in the machine's namespaces (where
// the kernel sends process events; no network traffic: the instance runs
// on an in-memory link), an instance tracking a process by its full path
// (weight 5) gains the weight when the process starts, keeps it across a
// reload-like overlap of two processes, and loses it when the last exits.
func TestIntegrationDaemonTrackProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (the process connector): run as root (CI does)")
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
	conf := "vrrp_track_process chk {\n  process " + bin + "\n  full_command\n  weight 5\n}\n" +
		"vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n" +
		"  virtual_ipaddress {\n    192.168.1.84\n  }\n  track_process {\n    chk\n  }\n}\n"
	opts := keepalivedcfg.DefaultOptions()
	opts.FS = nil
	cfg, _, err := keepalivedcfg.Parse("keepalived.conf", []byte(conf), opts)
	if err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, vrrptest.NewLink(), "lb1", 2, "192.168.1.80/24", cfg)
	prio := func(step string, want int) {
		t.Helper()
		waitFor(t, 5*time.Second, step, func() bool {
			st, ok := n.d.Status("VI_1")
			return ok && st.EffectivePriority == want
		})
	}
	start := func() *exec.Cmd {
		c := exec.Command(bin, "30")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	prio("no process", 100)
	first := start()
	prio("process started", 105)
	count := func() int { n.d.mu.Lock(); defer n.d.mu.Unlock(); return n.d.procs.w.Count("chk") }
	second := start()
	waitFor(t, 5*time.Second, "the second process counted", func() bool { return count() == 2 })
	first.Process.Kill()
	first.Wait()
	waitFor(t, 5*time.Second, "the first process uncounted", func() bool { return count() == 1 })
	if st, _ := n.d.Status("VI_1"); st.EffectivePriority != 105 || strings.Contains(n.log.String(), "Quorum lost") {
		t.Errorf("overlap: priority %d, want 105 and the quorum kept:\n%s", st.EffectivePriority, n.log.String())
	}
	second.Process.Kill()
	second.Wait()
	prio("last process gone", 100)
	if !strings.Contains(n.log.String(), "Quorum lost for tracked process chk") {
		t.Errorf("log lacks the quorum line:\n%s", n.log.String())
	}
}
