package garp

import (
	"context"
	"sync"
	"time"
)

// Clock is the time source Schedule waits on; tests pass a fake.
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

// Config holds the MASTER-state GARP settings of a vrrp_instance (or
// global_defs vrrp_garp_*), keepalived.conf(5).
type Config struct {
	// Delay is garp_master_delay: a second burst this long after becoming
	// MASTER; 0 disables it.
	Delay time.Duration
	// Repeat is garp_master_repeat: rounds per burst.
	Repeat int
	// Refresh is garp_master_refresh: one more burst this often while
	// MASTER; 0 disables it.
	Refresh time.Duration
	// RefreshRepeat is garp_master_refresh_repeat: rounds per refresh.
	RefreshRepeat int
	// Interval is garp_interval: the pause between rounds; 0 sends a
	// burst back to back as keepalived does by default.
	Interval time.Duration
}

// DefaultConfig returns keepalived 2.2.7's defaults (vrrp.h VRRP_GARP_*):
// delay 5 s, repeat 5, refresh off, refresh repeat 1, no interval.
func DefaultConfig() Config {
	return Config{Delay: 5 * time.Second, Repeat: 5, RefreshRepeat: 1}
}

// Schedule runs the GARP schedule of one MASTER tenure, calling send for
// each round (one round announces every VIP once). It blocks until ctx is
// done, or until nothing is left to send when refresh is off; run it in a
// goroutine when entering MASTER and cancel ctx when leaving.
//
// As keepalived (vrrp_state_become_master, vrrp_state_master_tx): Repeat
// rounds at once, Repeat rounds again after Delay, and RefreshRepeat rounds
// every Refresh from the start. keepalived checks the refresh timer when it
// sends an advert, so its refreshes land on the next advert after the
// period; ours land on the period itself.
func Schedule(ctx context.Context, clk Clock, cfg Config, send func()) {
	if !burst(ctx, clk, cfg.Repeat, cfg.Interval, send) {
		return
	}
	start := clk.Now()
	delayPending := cfg.Delay > 0 && cfg.Repeat > 0
	delayAt := start.Add(cfg.Delay)
	refresh := cfg.Refresh > 0 && cfg.RefreshRepeat > 0
	refreshAt := start.Add(cfg.Refresh)
	for {
		var next time.Time
		if delayPending {
			next = delayAt
		}
		if refresh && (next.IsZero() || refreshAt.Before(next)) {
			next = refreshAt
		}
		if next.IsZero() {
			return
		}
		select {
		case <-clk.After(next.Sub(clk.Now())):
		case <-ctx.Done():
			return
		}
		now := clk.Now()
		if delayPending && !now.Before(delayAt) {
			delayPending = false
			if !burst(ctx, clk, cfg.Repeat, cfg.Interval, send) {
				return
			}
		}
		if refresh && !now.Before(refreshAt) {
			if !burst(ctx, clk, cfg.RefreshRepeat, cfg.Interval, send) {
				return
			}
			refreshAt = now.Add(cfg.Refresh)
		}
	}
}

// burst calls send n times, interval apart; false if ctx ended it.
func burst(ctx context.Context, clk Clock, n int, interval time.Duration, send func()) bool {
	for i := 0; i < n; i++ {
		if i > 0 && interval > 0 {
			select {
			case <-clk.After(interval):
			case <-ctx.Done():
				return false
			}
		}
		if ctx.Err() != nil {
			return false
		}
		send()
	}
	return true
}

// TimerClock is a Clock that also calls a function after a delay, from a
// goroutine of its own, as time.AfterFunc does; stop cancels a call that
// has not started and reports whether it did.
type TimerClock interface {
	Clock
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// AfterFunc returns time.AfterFunc(d, f).Stop.
func (RealClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Start runs the schedule Schedule runs, without a goroutine waiting for
// it: the first round is sent before Start returns, on the caller's
// goroutine (keepalived sends it from vrrp_state_become_master), the later
// rounds from clk's timers. stop ends the schedule: no round starts once
// it returned, and it waits for a round under way (so it must not be
// called from send). A goroutine per MASTER tenure, parked for
// garp_master_delay, cost a goroutine descriptor each that the runtime
// never frees: ~490 KiB after 1,000 instances became MASTER at once. With
// a clock that is not a TimerClock, Schedule runs on a goroutine.
//
// ended, if not nil, is called when nothing is left to send (refresh
// off), from the goroutine of the last round, possibly before Start
// returns; the schedule then holds nothing more than what stop needs.
func Start(clk Clock, cfg Config, send func(), ended func()) (stop func()) {
	tc, ok := clk.(TimerClock)
	if !ok {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			Schedule(ctx, clk, cfg, send)
			if ctx.Err() == nil && ended != nil {
				ended()
			}
		}()
		return func() { cancel(); <-done }
	}
	s := &timed{clk: tc, cfg: cfg, send: send, ended: ended, left: cfg.Repeat}
	s.fire = s.run
	s.run()
	return s.stop
}

// The phases of a timed schedule.
const (
	phFirst   = iota // the burst at the transition
	phDelay          // the burst garp_master_delay later
	phRefresh        // a garp_master_refresh burst
	phWait           // between bursts, a timer armed or nothing left
)

// timed is a schedule run by Start. run is called by Start and then by
// the timer it armed last: one call at a time.
type timed struct {
	clk   TimerClock
	cfg   Config
	send  func()
	ended func()
	fire  func() // s.run, made once

	mu      sync.Mutex
	stopped bool
	cancel  func() bool    // the timer armed last
	sending sync.WaitGroup // a round under way

	phase          int
	left, inBurst  int  // rounds left in, and sent by, the burst under way
	intervalWaited bool // the Interval before the next round has passed
	delayPending   bool
	refresh        bool
	delayAt        time.Time
	refreshAt      time.Time
	wake           time.Time // when the timer that started this burst fired
}

// run sends the rounds due and arms the timer for the next one.
func (s *timed) run() {
	for {
		if s.phase == phWait {
			// The timer fired: as Schedule after its wait, the delayed
			// burst first, then a refresh due by now.
			s.wake = s.clk.Now()
			switch {
			case s.delayPending && !s.wake.Before(s.delayAt):
				s.delayPending = false
				s.begin(phDelay, s.cfg.Repeat)
			case s.refresh && !s.wake.Before(s.refreshAt):
				s.begin(phRefresh, s.cfg.RefreshRepeat)
			default:
				s.armNext()
				return
			}
			continue
		}
		if s.left > 0 {
			if s.inBurst > 0 && s.cfg.Interval > 0 && !s.intervalWaited {
				s.intervalWaited = true
				s.arm(s.cfg.Interval)
				return
			}
			s.intervalWaited = false
			if !s.round() {
				return
			}
			s.left--
			s.inBurst++
			continue
		}
		switch s.phase {
		case phFirst:
			start := s.clk.Now()
			s.delayPending = s.cfg.Delay > 0 && s.cfg.Repeat > 0
			s.delayAt = start.Add(s.cfg.Delay)
			s.refresh = s.cfg.Refresh > 0 && s.cfg.RefreshRepeat > 0
			s.refreshAt = start.Add(s.cfg.Refresh)
		case phDelay:
			if s.refresh && !s.wake.Before(s.refreshAt) {
				s.begin(phRefresh, s.cfg.RefreshRepeat)
				continue
			}
		case phRefresh:
			s.refreshAt = s.wake.Add(s.cfg.Refresh)
		}
		s.phase = phWait
		s.armNext()
		return
	}
}

func (s *timed) begin(phase, rounds int) {
	s.phase, s.left, s.inBurst, s.intervalWaited = phase, rounds, 0, false
}

// armNext arms the timer for the next burst; nothing when none is left.
func (s *timed) armNext() {
	var next time.Time
	if s.delayPending {
		next = s.delayAt
	}
	if s.refresh && (next.IsZero() || s.refreshAt.Before(next)) {
		next = s.refreshAt
	}
	if next.IsZero() {
		// Over: let go of what send and ended hold.
		s.mu.Lock()
		ended := s.ended
		s.send, s.ended, s.fire, s.cancel = nil, nil, nil, nil
		s.mu.Unlock()
		if ended != nil {
			ended()
		}
		return
	}
	s.arm(next.Sub(s.clk.Now()))
}

func (s *timed) arm(d time.Duration) {
	s.mu.Lock()
	if !s.stopped {
		s.cancel = s.clk.AfterFunc(d, s.fire)
	}
	s.mu.Unlock()
}

// round sends one round unless the schedule was stopped.
func (s *timed) round() bool {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return false
	}
	s.sending.Add(1)
	s.mu.Unlock()
	defer s.sending.Done()
	s.send()
	return true
}

func (s *timed) stop() {
	s.mu.Lock()
	s.stopped = true
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.mu.Unlock()
	s.sending.Wait()
}
