package track_test

import (
	"strings"
	"testing"
	"time"

	"hapair/pkg/track"
)

// fakeProcs is a process table and a manual timer list for track.Processes.
type fakeProcs struct {
	procs   map[int]track.ProcInfo
	timers  []*fakeTimer
	changes []string
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func newFake() *fakeProcs { return &fakeProcs{procs: map[int]track.ProcInfo{}} }

func (f *fakeProcs) read(pid int) (track.ProcInfo, bool) {
	p, ok := f.procs[pid]
	return p, ok
}

func (f *fakeProcs) after(d time.Duration, fn func()) func() bool {
	t := &fakeTimer{d: d, f: fn}
	f.timers = append(f.timers, t)
	return func() bool { t.stopped = true; return true }
}

// fire runs the timers not stopped, once.
func (f *fakeProcs) fire() {
	ts := f.timers
	f.timers = nil
	for _, t := range ts {
		if !t.stopped {
			t.f()
		}
	}
}

func (f *fakeProcs) start(pid int, comm string, args ...string) {
	f.procs[pid] = track.ProcInfo{Comm: comm, Cmdline: []byte(strings.Join(args, "\x00") + "\x00")}
}

func (f *fakeProcs) watcher(t *testing.T, specs ...track.ProcessSpec) *track.Processes {
	_, log := newLogger()
	var pids []int
	for pid := range f.procs {
		pids = append(pids, pid)
	}
	p := track.NewProcesses(specs, f.read, f.after, func(name string, up bool) {
		s := name + " down"
		if up {
			s = name + " up"
		}
		f.changes = append(f.changes, s)
	}, log)
	p.Scan(pids)
	return p
}

func (f *fakeProcs) take() string {
	s := strings.Join(f.changes, ",")
	f.changes = nil
	return s
}

// TestTrackProcessHaproxyReload: the events of haproxy's life seen by
// keepalived's track_process (comm "haproxy", quorum 1): the scan finds
// it; a reload with -sf starts the new process (exec) before the old one
// exits, so the quorum is never lost; stopping it loses the quorum;
// starting it again gains it. Forked children count for their parent's
// tracked process.
func TestTrackProcessHaproxyReload(t *testing.T) {
	f := newFake()
	f.start(100, "haproxy", "/usr/sbin/haproxy", "-f", "/etc/haproxy/haproxy.cfg")
	f.start(1, "systemd", "/sbin/init")
	p := f.watcher(t, track.ProcessSpec{Name: "chk_haproxy", Process: "haproxy", Quorum: 1, QuorumMax: 1 << 32})
	if !p.Up("chk_haproxy") || p.Count("chk_haproxy") != 1 {
		t.Fatalf("after the scan: up %v count %d, want up with 1", p.Up("chk_haproxy"), p.Count("chk_haproxy"))
	}
	// systemd forks (not counted), the child execs haproxy -sf 100.
	p.Fork(1, 200)
	f.start(200, "haproxy", "/usr/sbin/haproxy", "-f", "/etc/haproxy/haproxy.cfg", "-sf", "100")
	p.Exec(200)
	delete(f.procs, 100)
	p.Exit(100)
	if got := f.take(); got != "" || p.Count("chk_haproxy") != 1 {
		t.Errorf("reload with -sf: changes %q count %d, want none and 1", got, p.Count("chk_haproxy"))
	}
	// The new one forks a worker: counted; the worker exits: uncounted.
	p.Fork(200, 201)
	if p.Count("chk_haproxy") != 2 {
		t.Errorf("after a fork: count %d, want 2", p.Count("chk_haproxy"))
	}
	p.Exit(201)
	p.Exit(200)
	if got := f.take(); got != "chk_haproxy down" {
		t.Errorf("haproxy stopped: changes %q, want a quorum loss", got)
	}
	p.Fork(1, 300)
	f.start(300, "sh", "/bin/sh")
	p.Exec(300) // a shell: nothing
	f.start(300, "haproxy", "/usr/sbin/haproxy")
	p.Exec(300)
	if got := f.take(); got != "chk_haproxy up" {
		t.Errorf("haproxy started: changes %q, want a quorum gain", got)
	}
	// It renames itself: no longer counted.
	p.Comm(300, "other")
	if got := f.take(); got != "chk_haproxy down" {
		t.Errorf("renamed: changes %q, want a quorum loss", got)
	}
}

// TestTrackProcessDelays: terminate_delay holds a lost quorum back and a
// process starting meanwhile cancels it; fork_delay holds a gain by fork.
func TestTrackProcessDelays(t *testing.T) {
	f := newFake()
	f.start(10, "haproxy", "haproxy")
	p := f.watcher(t, track.ProcessSpec{Name: "h", Process: "haproxy", Quorum: 1, QuorumMax: 1 << 32, ForkDelay: time.Second, TerminateDelay: 2 * time.Second})
	p.Exit(10)
	if got := f.take(); got != "" || len(f.timers) != 1 || f.timers[0].d != 2*time.Second {
		t.Fatalf("exit with terminate_delay: changes %q timers %d, want none and one 2s timer", got, len(f.timers))
	}
	f.start(11, "haproxy", "haproxy")
	p.Exec(11) // back before the delay: the timer is cancelled, no change
	f.fire()
	if got := f.take(); got != "" {
		t.Errorf("restart within terminate_delay: changes %q, want none", got)
	}
	p.Exit(11)
	f.fire()
	if got := f.take(); got != "h down" {
		t.Errorf("terminate_delay expired: changes %q, want down", got)
	}
	// quorum 1 again by fork of a counted process is not possible with
	// none left; use quorum 2 on a fresh tracker for fork_delay.
	f2 := newFake()
	f2.start(20, "haproxy", "haproxy")
	p2 := f2.watcher(t, track.ProcessSpec{Name: "h", Process: "haproxy", Quorum: 2, QuorumMax: 1 << 32, ForkDelay: time.Second})
	p2.Fork(20, 21)
	if got := f2.take(); got != "" || len(f2.timers) != 1 {
		t.Fatalf("fork with fork_delay: changes %q timers %d, want none and one", got, len(f2.timers))
	}
	f2.fire()
	if got := f2.take(); got != "h up" {
		t.Errorf("fork_delay expired: changes %q, want up", got)
	}
}

// TestTrackProcessParams: param_match and quorum_max as keepalived
// applies them to /proc/PID/cmdline.
func TestTrackProcessParams(t *testing.T) {
	f := newFake()
	f.start(1, "haproxy", "/usr/sbin/haproxy", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid")
	f.start(2, "haproxy", "/usr/sbin/haproxy", "-f", "/etc/haproxy/other.cfg")
	f.start(3, "haproxy", "haproxy", "-f", "/etc/haproxy/haproxy.cfg")
	spec := func(name string, m track.ParamMatch, params ...string) track.ProcessSpec {
		return track.ProcessSpec{Name: name, Process: "/usr/sbin/haproxy", Params: params, Match: m, FullCommand: true, Quorum: 1, QuorumMax: 1 << 32}
	}
	p := f.watcher(t,
		spec("exact", track.MatchExact, "-f", "/etc/haproxy/haproxy.cfg"),
		spec("exact-all", track.MatchExact, "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid"),
		spec("partial", track.MatchPartial, "-f", "/etc/haproxy/haproxy.cfg"),
		spec("initial", track.MatchInitial, "-f", "/etc/haproxy/"),
		spec("none", track.MatchNone),
		track.ProcessSpec{Name: "comm", Process: "haproxy", Quorum: 1, QuorumMax: 2},
		// param_match without full_command: the name is the comm, the
		// parameters still the command line's.
		track.ProcessSpec{Name: "comm-partial", Process: "haproxy", Params: []string{"-f", "/etc/haproxy/haproxy.cfg"}, Match: track.MatchPartial, Quorum: 1, QuorumMax: 1 << 32},
		track.ProcessSpec{Name: "comm-exact", Process: "haproxy", Params: []string{"-f", "/etc/haproxy/other.cfg"}, Match: track.MatchExact, Quorum: 1, QuorumMax: 1 << 32},
	)
	for name, want := range map[string]int{"exact": 0, "exact-all": 1, "partial": 1, "initial": 2, "none": 2, "comm": 3, "comm-partial": 2, "comm-exact": 1} {
		if got := p.Count(name); got != want {
			t.Errorf("%s: %d processes counted, want %d", name, got, want)
		}
	}
	if p.Up("comm") || p.Up("exact") || !p.Up("initial") {
		t.Errorf("up: comm %v (3 > quorum_max 2), exact %v (none), initial %v", p.Up("comm"), p.Up("exact"), p.Up("initial"))
	}
	p.Exit(3)
	if got := f.take(); got != "comm up" {
		t.Errorf("back to quorum_max: changes %q, want comm up", got)
	}
}
