package garp

import (
	"context"
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
