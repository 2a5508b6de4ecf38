// Package fsmtest has fakes for testing code built on vrrpfsm: a clock that
// tests advance by hand, a recording Sender and a recording Effects.
package fsmtest

import (
	"sort"
	"sync"
	"time"

	"hapair/pkg/vrrpfsm"
)

// Clock is a fake vrrpfsm.Clock. Time moves only when the test calls
// Advance or AdvanceTo; timers due by then fire (their channel receives the
// deadline) in deadline order.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*Timer
}

// NewClock returns a fake clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer firing d after the fake now.
func (c *Clock) NewTimer(d time.Duration) vrrpfsm.Timer {
	t := &Timer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Next returns the earliest deadline of an active timer.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best time.Time
	found := false
	for _, t := range c.timers {
		if t.active && (!found || t.when.Before(best)) {
			best, found = t.when, true
		}
	}
	return best, found
}

// Advance moves the clock d forward, firing due timers.
func (c *Clock) Advance(d time.Duration) { c.AdvanceTo(c.Now().Add(d)) }

// AdvanceTo moves the clock to t (never backwards), firing every timer due
// by then in deadline order.
func (c *Clock) AdvanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	c.fireLocked()
}

func (c *Clock) fireLocked() {
	var due []*Timer
	for _, t := range c.timers {
		if t.active && !t.when.After(c.now) {
			due = append(due, t)
		}
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].when.Before(due[j].when) })
	for _, t := range due {
		t.active = false
		select {
		case t.ch <- t.when:
		default:
		}
	}
	c.compactLocked()
}

func (c *Clock) compactLocked() {
	live := c.timers[:0]
	for _, t := range c.timers {
		if t.active {
			live = append(live, t)
		}
	}
	clear(c.timers[len(live):])
	c.timers = live
}

// Timer is a fake timer; see Clock.
type Timer struct {
	c      *Clock
	ch     chan time.Time
	when   time.Time
	active bool
}

// C returns the channel the deadline is sent on.
func (t *Timer) C() <-chan time.Time { return t.ch }

// Stop disarms the timer and drains a fired but unread value, as time.Timer
// does since Go 1.23. It reports whether the timer was active.
func (t *Timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	t.drain()
	t.c.compactLocked()
	return was
}

// Reset rearms the timer d after the fake now; d <= 0 fires at once.
func (t *Timer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.drain()
	t.when = t.c.now.Add(d)
	if !t.active {
		t.active = true
		t.c.timers = append(t.c.timers, t)
	}
	t.c.fireLocked()
	return was
}

func (t *Timer) drain() {
	select {
	case <-t.ch:
	default:
	}
}
