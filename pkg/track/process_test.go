package track_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/track"
)

// recStarter is the real Exec, remembering the process groups it made.
type recStarter struct {
	mu   sync.Mutex
	pids []int
}

func (r *recStarter) Start(c track.Command) (track.Process, error) {
	p, err := track.Exec{}.Start(c)
	if err == nil {
		r.mu.Lock()
		r.pids = append(r.pids, p.Pid())
		r.mu.Unlock()
	}
	return p, err
}

func (r *recStarter) groups() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.pids...)
}

// groupGone polls (up to 10 s) until no process is left in the group.
func groupGone(pgid int) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
			return true
		}
	}
	return false
}

// runReal runs a script with the real clock and Exec; results arrive on
// the channel. The runner is stopped (and its processes killed) at cleanup.
func runReal(t *testing.T, s track.Script) (<-chan track.Result, *recStarter, *logBuf) {
	t.Helper()
	lb, log := newLogger()
	c, err := track.Prepare(s.Command, track.Options{}, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	st := &recStarter{}
	r := &track.Runner{Starter: st, Log: log}
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan track.Result, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, s, c, func(res track.Result) { results <- res })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, pgid := range st.groups() {
			if !groupGone(pgid) {
				syscall.Kill(-pgid, syscall.SIGKILL)
				t.Errorf("process group %d left behind", pgid)
			}
		}
	})
	return results, st, lb
}

func next(t *testing.T, c <-chan track.Result) track.Result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("no result within 15s")
	}
	return track.Result{}
}

func TestProcessTrueFalse(t *testing.T) {
	for _, tc := range []struct {
		cmd    string
		ok     bool
		status int
	}{
		{"/bin/true", true, 0},
		{"false", false, 1}, // found by PATH search, as keepalived
		{`/bin/sh -c "exit 3"`, false, 3},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			res, _, _ := runReal(t, track.Script{Name: "chk", Command: tc.cmd, Interval: time.Minute})
			r := next(t, res)
			if r.OK != tc.ok || r.Status != tc.status {
				t.Errorf("%s: %+v, want OK=%v status %d", tc.cmd, r, tc.ok, tc.status)
			}
		})
	}
}

func TestProcessTimeoutKillsGroup(t *testing.T) {
	// sh starts a background sleep and waits on another: three processes,
	// one group. The timeout must take them all.
	s := track.Script{Name: "chk_hang", Command: `/bin/sh -c "sleep 100 & sleep 100"`,
		Interval: time.Minute, Timeout: 500 * time.Millisecond}
	start := time.Now()
	res, st, lb := runReal(t, s)
	r := next(t, res)
	took := time.Since(start)
	t.Logf("verdict after %v", took)
	if r.OK {
		t.Fatal("hanging script reported OK")
	}
	if took < 400*time.Millisecond || took > 10*time.Second {
		t.Errorf("verdict after %v, want about the 500ms timeout", took)
	}
	groups := st.groups()
	if len(groups) != 1 || !groupGone(groups[0]) {
		t.Fatalf("process group %v still has processes after the timeout", groups)
	}
	if l := lb.Lines(); len(l) == 0 || l[0] != "VRRP_Script(chk_hang) timed_out" {
		t.Errorf("log %q", l)
	}
}

func TestProcessKillall(t *testing.T) {
	// A process with a name of our own, as haproxy is for the seed's check.
	bin := filepath.Join(t.TempDir(), "gtrkprobe")
	data, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	probe := exec.Command(bin, "100")
	if err := probe.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			probe.Process.Kill()
			probe.Wait()
		}
	})

	res, _, lb := runReal(t, track.Script{Name: "chk_probe", Command: "killall -0 gtrkprobe",
		Interval: 200 * time.Millisecond, Weight: 2})
	if r := next(t, res); !r.OK || r.Weight != 2 {
		t.Fatalf("with the probe running: %+v, want OK", r)
	}
	probe.Process.Kill()
	probe.Wait() // reaped: a zombie would still match killall
	reaped = true
	if r := next(t, res); r.OK || r.Status != 1 {
		t.Fatalf("after killing the probe: %+v, want failed with status 1", r)
	}
	want := []string{
		"VRRP_Script(chk_probe) succeeded",
		"Script `chk_probe` now returning 1",
		"VRRP_Script(chk_probe) failed (exited with status 1)",
	}
	got := lb.Lines()
	if len(got) < 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("log %q, want %q", got, want)
	}
}
