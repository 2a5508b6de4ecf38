package vrrpfsm_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

// TestOnLate: an instance reports how late its timer is handled (what
// keepalived's max_auto_priority reacts to): never while the clock runs
// timer by timer, 1.5 s when the process runs 1.5 s after the advert was
// due.
func TestOnLate(t *testing.T) {
	var mu sync.Mutex
	var lates []time.Duration
	cfg := vi1(255, vrrpfsm.Master)
	cfg.OnLate = func(d time.Duration) {
		mu.Lock()
		lates = append(lates, d)
		mu.Unlock()
	}
	l := newLab(t)
	n := l.add(cfg)
	l.settle()
	mustState(t, n, vrrpfsm.Master)
	l.advance(3 * time.Second) // adverts at 1, 2, 3 s, each on time
	mu.Lock()
	if len(lates) != 0 {
		t.Fatalf("on-time timers reported late: %v", lates)
	}
	mu.Unlock()
	// The next advert is due at 4 s; the process runs again at 5.5 s.
	l.clk.AdvanceTo(t0.Add(5500 * time.Millisecond))
	l.settle()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(lates, []time.Duration{1500 * time.Millisecond}) {
		t.Fatalf("reported %v, want [1.5s]", lates)
	}
}
