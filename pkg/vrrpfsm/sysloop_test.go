package vrrpfsm_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/vrrpfsm"
	"hapair/pkg/vrrpfsm/fsmtest"
)

// openFDs counts this process's descriptors (-1 where /proc is missing).
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// waitFor polls cond every 5 ms for up to bound.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(bound); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, bound)
		}
	}
}

// TestSystemClockLoop runs instances on a loop timed by the system clock
// (on Linux, its goroutine parks on a timerfd): masters started together
// (deadlines microseconds apart, the short waits) keep advertising; an
// event queued from another goroutine reaches an instance whose own timer
// is far off, every one of 50 times (a lost wake-up would wait for that
// timer); once the last instance stopped the loop lets its descriptor go,
// and the next Launch runs it again.
func TestSystemClockLoop(t *testing.T) {
	fds0 := openFDs()
	l := vrrpfsm.NewLoop(nil)
	clk := vrrpfsm.SystemClock()
	ctx := context.Background()
	launch := func(cfg vrrpfsm.Config) (*vrrpfsm.Instance, *fsmtest.Sender, func()) {
		snd := &fsmtest.Sender{Clock: clk}
		in := vrrpfsm.New(cfg, clk, snd, &fsmtest.Effects{}, zerolog.Nop())
		stop, err := l.Launch(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		return in, snd, stop
	}

	// A backup whose master-down timer is 30 s away, alone on the loop.
	b, _, stopB := launch(vrrpfsm.Config{Name: "VI_B", VRID: 1, Version: 2, Priority: 100,
		AdvertInt: 10 * time.Second, InitialState: vrrpfsm.Backup, Address: netip.MustParseAddr("192.168.1.80")})
	waitFor(t, 10*time.Second, "backup started", func() bool { return b.State() == vrrpfsm.Backup })
	for i := range 50 {
		b.Receive(vrrpfsm.Advert{Src: netip.MustParseAddr("192.168.1.81"), Priority: 200, AdvertInt: 10 * time.Second})
		// 10 s: a third of the timer that would otherwise wake the loop.
		waitFor(t, 10*time.Second, fmt.Sprintf("advert %d handled", i+1), func() bool { return b.Stats().AdvertRcvd == uint64(i+1) })
		if i%10 == 0 {
			runtime.Gosched()
			time.Sleep(time.Duration(i) * time.Millisecond) // parked by then, mostly
		}
	}

	// 20 masters with 30 and 50 ms intervals, started together.
	var snds []*fsmtest.Sender
	var stops []func()
	for i := range 20 {
		_, snd, stop := launch(vrrpfsm.Config{Name: fmt.Sprintf("VI_%d", i), VRID: uint8(10 + i), Version: 3, Priority: 100,
			AdvertInt: time.Duration(30+20*(i%2)) * time.Millisecond, InitialState: vrrpfsm.Master,
			Address: netip.MustParseAddr("192.168.1.80")})
		snds = append(snds, snd)
		stops = append(stops, stop)
	}
	for i, snd := range snds {
		waitFor(t, 60*time.Second, fmt.Sprintf("VI_%d's 10 adverts", i), func() bool { return len(snd.Sent()) >= 10 })
	}
	if got := b.Stats().AdvertRcvd; got != 50 || b.State() != vrrpfsm.Backup {
		t.Errorf("backup: %v with %d adverts, want BACKUP with 50", b.State(), got)
	}

	stopB()
	for _, stop := range stops {
		stop()
	}
	<-b.Done()
	if fds0 >= 0 {
		waitFor(t, 10*time.Second, "the loop's descriptor closed", func() bool { return openFDs() <= fds0 })
	}

	// The loop starts again with the next instance.
	_, snd, stop := launch(vrrpfsm.Config{Name: "VI_again", VRID: 99, Version: 3, Priority: 100,
		AdvertInt: 20 * time.Millisecond, InitialState: vrrpfsm.Master, Address: netip.MustParseAddr("192.168.1.80")})
	waitFor(t, 60*time.Second, "VI_again's 5 adverts", func() bool { return len(snd.Sent()) >= 5 })
	stop()
}
