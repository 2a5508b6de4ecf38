package vrrpfsm_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/vrrpfsm"
	"hapair/pkg/vrrpfsm/fsmtest"
)

// slowEffects is an Effects whose BecomeMaster takes d of the fake clock,
// as a netlink call takes real time.
type slowEffects struct {
	fsmtest.Effects
	clk *fsmtest.Clock
	d   time.Duration
}

func (e *slowEffects) BecomeMaster(ctx context.Context) {
	e.Effects.BecomeMaster(ctx)
	e.clk.Advance(e.d)
}

// TestLoopInstancesDueTogetherStayTogether: instances launched under Hold
// start in one pass, and instances due in one pass time their next
// deadline from the pass's time, as keepalived's time_now, however long
// the pass took: two masters started together advertise together from
// then on (one wake-up of the loop for both). With a clock reading per
// instance, the second's deadlines fell 1 ms (its predecessor's
// BecomeMaster) later every time.
func TestLoopInstancesDueTogetherStayTogether(t *testing.T) {
	clk := fsmtest.NewClock(t0)
	l := vrrpfsm.NewLoop(clk)
	release := l.Hold()
	var ins []*vrrpfsm.Instance
	var snds []*fsmtest.Sender
	for i, vrid := range []uint8{51, 52} {
		cfg := vrrpfsm.Config{Name: "VI_" + string(rune('1'+i)), VRID: vrid, Priority: 100,
			AdvertInt: time.Second, InitialState: vrrpfsm.Master,
			Address: netip.MustParseAddr("192.168.1.80")}
		snd := &fsmtest.Sender{Clock: clk}
		in := vrrpfsm.New(cfg, clk, snd, &slowEffects{clk: clk, d: time.Millisecond}, zerolog.Nop())
		if _, err := l.Launch(context.Background(), in, nil); err != nil {
			t.Fatal(err)
		}
		ins, snds = append(ins, in), append(snds, snd)
		// The next launch comes later: held, both still start together.
		clk.Advance(5 * time.Millisecond)
	}
	start := clk.Now()
	release()
	release() // a second call does nothing
	for _, in := range ins {
		in.Sync()
		st := in.Status()
		if st.State != vrrpfsm.Backup || !st.LastTransition.Equal(start) {
			t.Fatalf("%v at %v, want BACKUP at the release, %v", st.State, st.LastTransition, start)
		}
	}
	down, ok := clk.Next()
	if !ok {
		t.Fatal("no master-down timer armed")
	}
	clk.AdvanceTo(down)
	for _, in := range ins {
		in.Sync()
		if st := in.Status(); st.State != vrrpfsm.Master || !st.LastTransition.Equal(down) {
			t.Fatalf("%v at %v, want MASTER at the pass's time %v", st.State, st.LastTransition, down)
		}
	}
	// The pass took 2 ms (two BecomeMaster): both adverts are due one
	// interval after its start.
	for k := 1; k <= 3; k++ {
		at := down.Add(time.Duration(k) * time.Second)
		next, _ := clk.Next()
		if !next.Equal(at) {
			t.Fatalf("advert %d: the loop's next deadline is %v, want %v", k, next, at)
		}
		clk.AdvanceTo(at)
		for i, in := range ins {
			in.Sync()
			sent := snds[i].Sent()
			if len(sent) != k+1 || !sent[k].At.Equal(at) {
				t.Fatalf("instance %d after advert %d: sent %v, want %d adverts, the last at %v", i+1, k, sent, k+1, at)
			}
		}
	}
}

// TestLoopNoAdvertsBackToBack: a pass that lasted longer than the advert
// interval (here each send takes 2 s of the fake clock) times the next
// advert from the clock, not from the pass: a full interval after the
// send, not at once.
func TestLoopNoAdvertsBackToBack(t *testing.T) {
	clk := fsmtest.NewClock(t0)
	cfg := vrrpfsm.Config{Name: "VI_1", VRID: 51, Priority: 100, AdvertInt: time.Second,
		InitialState: vrrpfsm.Master, Address: netip.MustParseAddr("192.168.1.80")}
	var slow atomic.Int32 // sends left that take 2 s
	snd := &fsmtest.Sender{Clock: clk}
	snd.OnSend = func(uint8) {
		if slow.Add(-1) >= 0 {
			clk.Advance(2 * time.Second)
		}
	}
	in := vrrpfsm.New(cfg, clk, snd, &fsmtest.Effects{}, zerolog.Nop())
	if _, err := vrrpfsm.NewLoop(clk).Launch(context.Background(), in, nil); err != nil {
		t.Fatal(err)
	}
	in.Sync()
	down, _ := clk.Next()
	clk.AdvanceTo(down)
	in.Sync()
	if st := in.Status().State; st != vrrpfsm.Master {
		t.Fatalf("state %v, want MASTER", st)
	}
	slow.Store(3)
	for k := 0; k < 4; k++ {
		next, _ := clk.Next()
		clk.AdvanceTo(next)
		in.Sync()
	}
	sent := snd.Sent()
	if len(sent) < 5 {
		t.Fatalf("%d adverts, want 5 (MASTER's and four timed)", len(sent))
	}
	// Adverts 1-3 took 2 s each: 2-4 follow them.
	for k := 2; k <= 4; k++ {
		if gap := sent[k].At.Sub(sent[k-1].At); gap < 3*time.Second {
			t.Errorf("advert %d %v after the one before, which took 2 s: want the interval after it (3 s)", k, gap)
		}
	}
}
