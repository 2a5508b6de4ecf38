package track_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/porttest"
	"hapair/pkg/track"
)

// TestIntegrationProcessConnectorGproxyReloads (issue 16): the seed's
// `killall -0 haproxy` turned into vrrp_track_process on the process name
// haproxy, against gproxy itself installed as the package installs it
// (haproxy -> gproxy) and run master-worker (-W) as Debian's unit does;
// three reloads (SIGUSR2, as `systemctl reload`) must never lose the
// quorum, and the processes must keep the name haproxy (comm) across
// them; stopping gproxy loses it. The tracked command line (param_match
// partial on this test's -f) keeps other haproxy processes on the machine
// out of the count. Runs in the machine's namespaces (the kernel sends
// process events only there); gproxy listens on 127.0.0.1 and nothing
// connects to it.
func TestIntegrationProcessConnectorGproxyReloads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (CAP_NET_ADMIN for the process connector): run as root (CI does)")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "gproxy"), "hapair/cmd/gproxy")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build gproxy: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "haproxy")
	if err := os.Symlink("gproxy", bin); err != nil {
		t.Fatal(err)
	}
	addr := porttest.FreeAddr(t)
	cfg := filepath.Join(dir, "haproxy.cfg")
	conf := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    server s 127.0.0.1:9\n", addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var changes []bool
	lb, log := newLogger()
	w := track.StartProcessWatcher([]track.ProcessSpec{{Name: "chk_haproxy", Process: "haproxy",
		Params: []string{"-W", "-f", cfg}, Match: track.MatchPartial, Quorum: 1, QuorumMax: 1 << 32}},
		func(name string, up bool) { mu.Lock(); changes = append(changes, up); mu.Unlock() }, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	out := &lockedBuffer{}
	cmd := exec.Command(bin, "-W", "-f", cfg)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	nChanges := func() int { mu.Lock(); defer mu.Unlock(); return len(changes) }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		// 30 s: a machine loaded past 30 takes seconds to start a worker.
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("%s: not seen in 30 s (count %d, changes %d)\ngproxy said:\n%s\nthe watcher logged:\n%s", what, w.Count("chk_haproxy"), nChanges(), out.String(), strings.Join(lb.Lines(), "\n"))
	}
	// workers are the master's children named haproxy.
	workers := func() string {
		// A Go program forks from any of its threads: read every
		// thread's children.
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", cmd.Process.Pid))
		var b []byte
		for _, f := range tasks {
			c, _ := os.ReadFile(f)
			b = append(append(b, c...), ' ')
		}
		var named []string
		for _, pid := range strings.Fields(string(b)) {
			if c, _ := os.ReadFile("/proc/" + pid + "/comm"); strings.TrimSpace(string(c)) == "haproxy" {
				named = append(named, pid)
			}
		}
		return strings.Join(named, " ")
	}
	comm := func() string {
		c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		return strings.TrimSpace(string(c))
	}

	// The master says "Loading success." once its new worker serves (and
	// has been told to the old one to leave). A child seen before that may
	// be the probe the Go runtime forks once to check pidfd support.
	loaded := func() int { return strings.Count(out.String(), "Loading success.") }
	waitFor("quorum gained when gproxy starts", func() bool { return w.Up("chk_haproxy") && nChanges() == 1 })
	waitFor("a worker named haproxy", func() bool { return loaded() == 1 && workers() != "" && !strings.Contains(workers(), " ") })
	for i := 1; i <= 3; i++ {
		before := workers()
		sent := time.Now()
		if err := cmd.Process.Signal(syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		waitFor(fmt.Sprintf("reload %d: the new worker serving", i), func() bool { return loaded() == i+1 })
		started := time.Now()
		// The old worker has no session: it leaves at once (haproxy's
		// leaves as soon as its sessions end).
		waitFor(fmt.Sprintf("reload %d: a new worker named haproxy alone", i), func() bool {
			now := workers()
			return now != "" && !strings.Contains(" "+now+" ", " "+before+" ") && !strings.Contains(now, " ")
		})
		if c := comm(); c != "haproxy" {
			t.Errorf("reload %d: the master is called %q, want haproxy (killall -0 haproxy would miss it)", i, c)
		}
		if n := nChanges(); n != 1 || !w.Up("chk_haproxy") {
			t.Fatalf("reload %d: %d quorum changes, up %v; want the quorum kept", i, n, w.Up("chk_haproxy"))
		}
		t.Logf("reload %d: worker %s → %s, new worker serving %.3f s after USR2, old one gone %.3f s later, %d tracked processes",
			i, before, workers(), started.Sub(sent).Seconds(), time.Since(started).Seconds(), w.Count("chk_haproxy"))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-exited
	waitFor("quorum lost when gproxy stops", func() bool { return !w.Up("chk_haproxy") && nChanges() == 2 })
}

// lockedBuffer collects gproxy's output, written by os/exec's copying
// goroutine while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
