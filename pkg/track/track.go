// Package track runs keepalived's track scripts (vrrp_script): a command
// run every interval, killed at its timeout, its exit status debounced by
// rise and fall into OK or failed, each change published with the weight
// the VRRP instances apply.
//
// Behaviour and log lines follow keepalived 2.2.7 (vrrp_scheduler.c
// vrrp_script_thread and vrrp_script_child_thread, lib/notify.c).
package track

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of a vrrp_script (vrrp_track.h, vrrp_data.c alloc_vrrp_script).
const (
	DefaultInterval = time.Second
	DefaultRise     = 1
	DefaultFall     = 1
)

// Grace periods after a timeout: SIGTERM, then SIGKILL 2 s later, then
// SIGKILL again every 10 s (vrrp_script_child_thread).
const (
	termGrace  = 2 * time.Second
	killGrace  = 2 * time.Second
	killRepeat = 10 * time.Second
)

// Script is one vrrp_script block.
type Script struct {
	Name    string
	Command string
	// Interval between runs, start to start; 0 means DefaultInterval.
	Interval time.Duration
	// Timeout kills a run that lasts longer; 0 means Interval.
	Timeout time.Duration
	// Rise successes make a failed script OK; Fall failures make an OK one
	// failed. 0 means 1.
	Rise, Fall int
	// Weight and Reverse are passed through in Results: the instance adds
	// a positive weight while OK, a negative one while failed; 0 means
	// FAULT while failed. Reverse swaps OK and failed for the instance.
	Weight  int
	Reverse bool
	// User and Group: the script's `user` keyword.
	User, Group string
	// InitFail is `init_fail`: the script starts failed instead of
	// undecided.
	InitFail bool
}

func (s Script) interval() time.Duration {
	if s.Interval <= 0 {
		return DefaultInterval
	}
	return s.Interval
}

func (s Script) timeout() time.Duration {
	if s.Timeout <= 0 {
		return s.interval()
	}
	return s.Timeout
}

func orOne(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// Result is published when a script's state changes, and for its first
// verdict (keepalived's update_script_priorities).
type Result struct {
	Name    string
	OK      bool
	Weight  int
	Reverse bool
	// Status is the last exit status; -1 if killed by a signal.
	Status int
}

// Clock is the time source; tests pass a fake (garptest.Clock fits).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the system clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Runner runs scripts. Zero fields take the real clock and Exec.
type Runner struct {
	Clock   Clock
	Starter Starter
	Log     zerolog.Logger
}

// debounce is keepalived's result counter: 0..rise+fall-1, OK when >= rise.
type debounce struct {
	rise, fall int
	result     int
	init       bool // no verdict yet (SCRIPT_INIT_STATE_INIT)
}

func newDebounce(s Script) *debounce {
	d := &debounce{rise: orOne(s.Rise), fall: orOne(s.Fall)}
	if s.InitFail {
		d.result = 0
	} else {
		d.result = d.rise - 1 // one success is enough
		d.init = true
	}
	return d
}

func (d *debounce) ok() bool { return d.result >= d.rise }

// add applies one run's outcome and reports whether the state was
// (re)decided: a change, or the first verdict.
func (d *debounce) add(success bool) bool {
	changed := false
	if success {
		if d.result < d.rise-1 {
			d.result++
		} else if d.result != d.rise+d.fall-1 {
			if d.result < d.rise {
				changed = true
			}
			d.result = d.rise + d.fall - 1
		}
	} else {
		if d.result > d.rise {
			d.result--
		} else {
			if d.result == d.rise || d.init {
				changed = true
			}
			d.result = 0
		}
	}
	d.init = false
	return changed
}

// Run runs one prepared script until ctx is done, calling publish (from
// Run's goroutine) for each Result. A run still going when ctx ends is
// killed with its process group before Run returns.
func (r *Runner) Run(ctx context.Context, s Script, cmd Command, publish func(Result)) {
	clk := r.Clock
	if clk == nil {
		clk = RealClock{}
	}
	st := r.Starter
	if st == nil {
		st = Exec{}
	}
	d := newDebounce(s)
	lastStatus := 0
	interval := s.interval()
	next := clk.Now()
	for ctx.Err() == nil {
		out, ok := r.runOnce(ctx, clk, st, s, cmd)
		if !ok {
			return
		}
		status := -1
		if out.exit.Exited {
			status = out.exit.Status
			if status != lastStatus {
				r.Log.Info().Msgf("Script `%s` now returning %d", s.Name, status)
			}
			lastStatus = status
		}
		success := out.exit.Exited && status == 0 && !out.startErr
		if d.add(success) {
			switch {
			case success:
				r.Log.Info().Msgf("VRRP_Script(%s) succeeded", s.Name)
			case out.timedOut:
				r.Log.Info().Msgf("VRRP_Script(%s) timed_out", s.Name)
			case out.exit.Exited:
				r.Log.Info().Msgf("VRRP_Script(%s) failed (exited with status %d)", s.Name, status)
			default:
				r.Log.Info().Msgf("VRRP_Script(%s) failed (due to signal %d)", s.Name, int(out.exit.Signal))
			}
			publish(Result{Name: s.Name, OK: d.ok(), Weight: s.Weight, Reverse: s.Reverse, Status: status})
		}

		// Next run on the interval grid; a run that overran its slot
		// (timeout > interval) is followed by the next one at once.
		next = next.Add(interval)
		now := clk.Now()
		if !next.After(now) {
			what := "already running"
			if out.timedOut {
				what = "being timed out"
			}
			r.Log.Info().Msgf("Track script %s is %s, expect idle - skipping run", s.Name, what)
			next = now
			continue
		}
		select {
		case <-clk.After(next.Sub(now)):
		case <-ctx.Done():
			return
		}
	}
}

type outcome struct {
	exit     Exit
	timedOut bool
	startErr bool
}

// runOnce starts the script and waits for it, enforcing the timeout.
// ok is false when ctx ended the run.
func (r *Runner) runOnce(ctx context.Context, clk Clock, st Starter, s Script, cmd Command) (outcome, bool) {
	p, err := st.Start(cmd)
	if err != nil {
		r.Log.Info().Msgf("Error exec-ing command '%s', error %d: %s", cmd.Args[0], errnoOf(err), err)
		return outcome{exit: Exit{Exited: true, Status: 127}, startErr: true}, true
	}
	pid := p.Pid()
	const (
		running = iota
		terminating
		forcing
	)
	state := running
	timer := clk.After(s.timeout())
	for {
		select {
		case e := <-p.Done():
			o := outcome{exit: e}
			if !e.Exited {
				if state == terminating && e.Signal == syscall.SIGTERM {
					// The leader obeyed; make sure its children go too.
					_ = p.Signal(syscall.SIGKILL)
				}
				o.timedOut = (state == terminating && e.Signal == syscall.SIGTERM) ||
					(state == forcing && (e.Signal == syscall.SIGKILL || e.Signal == syscall.SIGTERM))
			}
			return o, true
		case <-timer:
			var sig syscall.Signal
			var wait time.Duration
			switch state {
			case running:
				state, sig, wait = terminating, syscall.SIGTERM, termGrace
			case terminating:
				state, sig, wait = forcing, syscall.SIGKILL, killGrace
			default:
				r.Log.Info().Msgf("Script %s child (PID %d) failed to terminate after kill", s.Name, pid)
				sig, wait = syscall.SIGKILL, killRepeat
			}
			if err := p.Signal(sig); err != nil && errors.Is(err, syscall.ESRCH) {
				r.Log.Info().Msgf("Script %s child (PID %d) lost", s.Name, pid)
			}
			timer = clk.After(wait)
		case <-ctx.Done():
			_ = p.Signal(syscall.SIGKILL)
			<-p.Done() // SIGKILL cannot be ignored: reaped promptly
			return outcome{}, false
		}
	}
}

func errnoOf(err error) int {
	var en syscall.Errno
	if errors.As(err, &en) {
		return int(en)
	}
	return 0
}
