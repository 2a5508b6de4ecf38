package garp

import (
	"context"
	"strings"
	"sync"
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
		t.Run(tc.name, func(t *testing.T) {
			got, finished := run(t, tc.cfg, tc.until)
			if got != tc.want {
				t.Errorf("sends at\n got %q\nwant %q", got, tc.want)
			}
			if finished != tc.finishes {
				t.Errorf("returned by itself = %v, want %v", finished, tc.finishes)
			}
		})
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
