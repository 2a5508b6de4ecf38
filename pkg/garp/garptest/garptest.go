// Package garptest has a fake clock (usable wherever a Clock with Now and
// After is wanted, e.g. garp.Clock and track.Clock) and a recording
// garp.Sender.
package garptest

import (
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"
)

type waiter struct {
	at time.Time
	c  chan time.Time
	f  *func() // AfterFunc's function, called from a goroutine of its own
}

// Clock is a manual clock: time moves only by Advance or Step.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the fake time once it has moved d
// forward; at once if d <= 0.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), c: ch})
	sort.SliceStable(c.waiters, func(i, j int) bool { return c.waiters[i].at.Before(c.waiters[j].at) })
	return ch
}

// Advance moves time forward by d, firing every waiter due by then.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fire()
}

// AfterFunc calls f from a goroutine of its own once the fake time has
// moved d forward (at the next Advance or Step if d <= 0), as
// time.AfterFunc; it counts as a waiter until then. stop removes the call
// if it has not fired and reports whether it did.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fp := &f
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), f: fp})
	sort.SliceStable(c.waiters, func(i, j int) bool { return c.waiters[i].at.Before(c.waiters[j].at) })
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, w := range c.waiters {
			if w.f == fp {
				c.waiters = append(c.waiters[:i:i], c.waiters[i+1:]...)
				return true
			}
		}
		return false
	}
}

func (c *Clock) fire() {
	for len(c.waiters) > 0 && !c.waiters[0].at.After(c.now) {
		if w := c.waiters[0]; w.f != nil {
			go (*w.f)()
		} else {
			w.c <- c.now
		}
		c.waiters = c.waiters[1:]
	}
}

// Step moves time to the earliest pending waiter and fires it (and any due
// at the same instant). It reports false if nothing was waiting.
func (c *Clock) Step() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		return false
	}
	c.now = c.waiters[0].at
	c.fire()
	return true
}

// Waiters returns how many After channels and AfterFunc calls have not
// fired yet.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// Next returns the time of the earliest pending waiter.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		return time.Time{}, false
	}
	return c.waiters[0].at, true
}

// BlockUntil waits (in real time, up to limit) until at least n waiters are
// pending: the way a test knows the code under test is now asleep. It
// reports whether that happened.
func (c *Clock) BlockUntil(n int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for c.Waiters() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Microsecond)
	}
	return true
}

// Sent is one Sender call.
type Sent struct {
	Iface string
	IP    netip.Addr
}

// Sender records sends instead of sending.
type Sender struct {
	mu   sync.Mutex
	sent []Sent
	// Err is returned by Send when set.
	Err error
}

// Send records the call.
func (s *Sender) Send(ifi *net.Interface, ip netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, Sent{ifi.Name, ip})
	return s.Err
}

// Sent returns the recorded calls.
func (s *Sender) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}
