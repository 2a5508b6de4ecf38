package garp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hapair/pkg/garp/garptest"
)

// run drives Schedule on a fake clock for `until` of fake time and returns
// the offsets of each send ("0s 0s 5s ..."), and whether Schedule returned
// by itself.
func run(t *testing.T, cfg Config, until time.Duration) (string, bool) {
	t.Helper()
	start := time.Unix(1700000000, 0)
	clk := garptest.NewClock(start)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var sends []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		Schedule(ctx, clk, cfg, func() {
			mu.Lock()
			sends = append(sends, clk.Now().Sub(start).String())
			mu.Unlock()
		})
	}()
	finished := false
	for steps := 0; steps < 1000; steps++ {
		// Wait until Schedule either sleeps on the clock or returns.
		for clk.Waiters() == 0 {
			select {
			case <-done:
				finished = true
			case <-time.After(time.Millisecond):
			}
			if finished {
				break
			}
		}
		if finished {
			break
		}
		next, _ := clk.Next()
		if next.Sub(start) > until {
			break
		}
		clk.Step()
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Schedule did not return after cancel")
	}
	mu.Lock()
	defer mu.Unlock()
	return strings.Join(sends, " "), finished
}

// countingClock counts the AfterFunc calls registered and not yet
// returned (or stopped), so a test knows when Start's timers settled.
type countingClock struct {
	*garptest.Clock
	pending atomic.Int32
}

func (c *countingClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.pending.Add(1)
	stop := c.Clock.AfterFunc(d, func() { defer c.pending.Add(-1); f() })
	return func() bool {
		ok := stop()
		if ok {
			c.pending.Add(-1)
		}
		return ok
	}
}

// runStart is run for Start: the same sends, and whether the schedule
// ended by itself (no timer left).
func runStart(t *testing.T, cfg Config, until time.Duration) (string, bool) {
	t.Helper()
	start := time.Unix(1700000000, 0)
	clk := &countingClock{Clock: garptest.NewClock(start)}
	var mu sync.Mutex
	var sends []string
	var ended atomic.Int32
	stop := Start(clk, cfg, func() {
		mu.Lock()
		sends = append(sends, clk.Now().Sub(start).String())
		mu.Unlock()
	}, func() { ended.Add(1) })
	finished := false
	for steps := 0; steps < 1000; steps++ {
		// Wait until every timer armed is waiting (none running).
		deadline := time.Now().Add(10 * time.Second)
		for int(clk.pending.Load()) != clk.Waiters() {
			if time.Now().After(deadline) {
				t.Fatal("a timer's call never returned")
			}
			time.Sleep(100 * time.Microsecond)
		}
		if clk.Waiters() == 0 {
			finished = true
			break
		}
		next, _ := clk.Next()
		if next.Sub(start) > until {
			break
		}
		clk.Step()
	}
	stop()
	if n := clk.Waiters(); n != 0 {
		t.Errorf("%d timers left after stop", n)
	}
	if want := map[bool]int32{true: 1}[finished]; ended.Load() != want {
		t.Errorf("ended called %d times, want %d", ended.Load(), want)
	}
	mu.Lock()
	defer mu.Unlock()
	return strings.Join(sends, " "), finished
}

func TestSchedule(t *testing.T) {
	five := func(at string) string { return strings.TrimSpace(strings.Repeat(at+" ", 5)) }
	for _, tc := range []struct {
		name     string
		cfg      Config
		until    time.Duration
		want     string
		finishes bool
	}{
		{"keepalived defaults: 5 now, 5 after 5s", DefaultConfig(), time.Minute,
			five("0s") + " " + five("5s"), true},
		{"no delay", Config{Repeat: 5, RefreshRepeat: 1}, time.Minute, five("0s"), true},
		{"repeat 1 delay 2s", Config{Delay: 2 * time.Second, Repeat: 1}, time.Minute, "0s 2s", true},
		{"repeat 0 sends nothing", Config{Delay: 5 * time.Second}, time.Minute, "", true},
		{"refresh every 20s", Config{Delay: 5 * time.Second, Repeat: 2, Refresh: 20 * time.Second, RefreshRepeat: 1},
			65 * time.Second, "0s 0s 5s 5s 20s 40s 1m0s", false},
		{"refresh repeat 3, before the delay", Config{Delay: 5 * time.Second, Repeat: 1, Refresh: 3 * time.Second, RefreshRepeat: 3},
			7 * time.Second, "0s 3s 3s 3s 5s 6s 6s 6s", false},
		{"interval spaces rounds", Config{Delay: time.Second, Repeat: 3, Interval: 100 * time.Millisecond}, time.Minute,
			"0s 100ms 200ms 1.2s 1.3s 1.4s", true},
	} {
		for _, r := range []struct {
			name string
			run  func(*testing.T, Config, time.Duration) (string, bool)
		}{{"Schedule", run}, {"Start", runStart}} {
			t.Run(r.name+"/"+tc.name, func(t *testing.T) {
				got, finished := r.run(t, tc.cfg, tc.until)
				if got != tc.want {
					t.Errorf("sends at\n got %q\nwant %q", got, tc.want)
				}
				if finished != tc.finishes {
					t.Errorf("returned by itself = %v, want %v", finished, tc.finishes)
				}
			})
		}
	}
}

func TestScheduleCancelStopsSending(t *testing.T) {
	clk := garptest.NewClock(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Schedule(ctx, clk, DefaultConfig(), func() { n++ })
	}()
	if !clk.BlockUntil(1, 10*time.Second) {
		t.Fatal("Schedule never waited for the delayed burst")
	}
	cancel() // leaving MASTER before garp_master_delay
	<-done
	clk.Advance(time.Minute)
	if n != 5 {
		t.Fatalf("sends = %d, want only the first burst of 5", n)
	}
}

// TestStartStopStopsSending: leaving MASTER before garp_master_delay
// cancels the delayed burst, and Start's first burst was sent before it
// returned.
func TestStartStopStopsSending(t *testing.T) {
	clk := garptest.NewClock(time.Unix(0, 0))
	var n atomic.Int32
	stop := Start(clk, DefaultConfig(), func() { n.Add(1) }, nil)
	if got := n.Load(); got != 5 {
		t.Fatalf("sends when Start returned = %d, want the first burst of 5", got)
	}
	if clk.Waiters() != 1 {
		t.Fatalf("%d timers pending, want the delayed burst's", clk.Waiters())
	}
	stop() // leaving MASTER before garp_master_delay
	if clk.Waiters() != 0 {
		t.Fatal("the delayed burst's timer is still pending after stop")
	}
	clk.Advance(time.Minute)
	time.Sleep(10 * time.Millisecond)
	if got := n.Load(); got != 5 {
		t.Fatalf("sends = %d, want only the first burst of 5", got)
	}
}

// TestStartTimers runs a short schedule on Timers (the system clock):
// the delayed burst arrives from its timer, then the schedule ends.
func TestStartTimers(t *testing.T) {
	var mu sync.Mutex
	var sends int
	done := make(chan struct{})
	stop := Start(&Timers{}, Config{Delay: time.Millisecond, Repeat: 2}, func() {
		mu.Lock()
		defer mu.Unlock()
		sends++
	}, func() { close(done) })
	defer stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the schedule never ended")
	}
	mu.Lock()
	defer mu.Unlock()
	if sends != 4 {
		t.Fatalf("%d sends, want 2 now and 2 after the delay", sends)
	}
}

// TestTimersOrderAndStop: Timers runs the functions due in time order,
// not those stopped, and nothing after its last one.
func TestTimersOrderAndStop(t *testing.T) {
	var w Timers
	var mu sync.Mutex
	var got []int
	done := make(chan struct{})
	add := func(i int, d time.Duration) func() bool {
		return w.AfterFunc(d, func() {
			mu.Lock()
			got = append(got, i)
			mu.Unlock()
			if i == 3 {
				close(done)
			}
		})
	}
	add(3, 30*time.Millisecond)
	add(1, 10*time.Millisecond)
	stop2 := add(2, 20*time.Millisecond)
	add(0, 0)
	if !stop2() {
		t.Fatal("stop of a pending call reported false")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the last call never ran")
	}
	if stop2() {
		t.Error("a second stop reported true")
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[0 1 3]" {
		t.Errorf("calls ran in order %v, want [0 1 3]", got)
	}
}
