package vrrpfsm_test

import (
	"slices"
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

func vi1(prio int, state vrrpfsm.State) vrrpfsm.Config {
	return vrrpfsm.Config{
		Name: "VI_1", VRID: 51, Version: 2, Priority: prio, InitialState: state,
		AdvertInt: time.Second, Address: addr("192.168.1.80"),
	}
}

func TestStartOwnerIsMasterAtOnce(t *testing.T) {
	l := newLab(t)
	n := l.add(vi1(255, vrrpfsm.Master))
	l.settle()
	mustState(t, n, vrrpfsm.Master)
	if got := n.logs.info(); !slices.Equal(got, []string{"(VI_1) Entering MASTER STATE"}) {
		t.Fatalf("log = %q", got)
	}
	l.advance(3500 * time.Millisecond)
	var at []time.Duration
	for _, s := range n.snd.Sent() {
		if s.Prio != 255 {
			t.Fatalf("advert at priority %d", s.Prio)
		}
		at = append(at, s.At.Sub(t0))
	}
	want := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}
	if !slices.Equal(at, want) {
		t.Fatalf("adverts at %v, want %v", at, want)
	}
	if got := n.fx.Notifies(); !slices.Equal(got, []string{"INIT->MASTER"}) {
		t.Fatalf("notifies %v", got)
	}
	if !n.fx.HoldsVIPs() {
		t.Fatal("owner does not hold the VIPs")
	}
}

func TestStartTimers(t *testing.T) {
	tests := []struct {
		name   string
		cfg    vrrpfsm.Config
		master time.Duration // when it becomes master, alone on the link
	}{
		// state MASTER below 255 (no sync group) waits the whole
		// master-down interval as keepalived 2.2.7's vrrp_init_state does
		// (its log: "Receive advertisement timeout" 3.6 s after "Entering
		// BACKUP STATE (init)").
		{"state MASTER prio 101", vi1(101, vrrpfsm.Master), 3*time.Second + us(605468)},
		{"state BACKUP prio 100", vi1(100, vrrpfsm.Backup), 3*time.Second + us(609375)},
		// AH turns state MASTER into BACKUP: the full master-down timer.
		{"state MASTER prio 101 with AH", func() vrrpfsm.Config {
			c := vi1(101, vrrpfsm.Master)
			c.AuthAH = true
			return c
		}(), 3*time.Second + us(605468)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			n := l.add(tt.cfg)
			l.settle()
			mustState(t, n, vrrpfsm.Backup)
			mustLog(t, n, "(VI_1) Entering BACKUP STATE (init)")
			l.advance(tt.master - time.Microsecond)
			mustState(t, n, vrrpfsm.Backup)
			if len(n.snd.Sent()) != 0 {
				t.Fatal("backup sent an advert")
			}
			l.advance(time.Microsecond)
			mustState(t, n, vrrpfsm.Master)
			mustLog(t, n, "(VI_1) Entering MASTER STATE")
			if got := n.fx.Notifies(); !slices.Equal(got, []string{"INIT->BACKUP", "BACKUP->MASTER"}) {
				t.Fatalf("notifies %v", got)
			}
			if s := n.in.Stats(); s.BecomeMaster != 1 || s.AdvertSent != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestStartPendingScriptHoldsFaultSilently(t *testing.T) {
	l := newLab(t)
	cfg := vi1(100, vrrpfsm.Backup)
	cfg.Tracks = []vrrpfsm.Track{{Name: "chk"}} // weight 0, not yet run
	n := l.add(cfg)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	if got := n.logs.info(); len(got) != 0 {
		t.Fatalf("pending script logged %q", got)
	}
	if got := n.fx.Notifies(); len(got) != 0 {
		t.Fatalf("pending script notified %v", got)
	}
	l.advance(10 * time.Second)
	mustState(t, n, vrrpfsm.Fault)
	n.in.SetTrack("chk", true)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	mustLog(t, n, "(VI_1) Entering BACKUP STATE")
	start := l.now()
	l.until(10*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	if got := lastTransition(n).Sub(start); got != 3*time.Second+us(609375) {
		t.Fatalf("master after %v", got)
	}
}

func TestStartOwnerWithPendingScriptGoesMasterWhenItPasses(t *testing.T) {
	l := newLab(t)
	cfg := vi1(255, vrrpfsm.Master)
	cfg.Tracks = []vrrpfsm.Track{{Name: "chk"}}
	n := l.add(cfg)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	n.in.SetTrack("chk", true)
	l.settle()
	mustState(t, n, vrrpfsm.Master)
	if n.logs.has("(VI_1) Entering BACKUP STATE") {
		t.Fatal("owner went through BACKUP")
	}
}

func TestStartInterfaceDownIsFault(t *testing.T) {
	l := newLab(t)
	cfg := vi1(100, vrrpfsm.Backup)
	cfg.InterfaceDown = true
	cfg.Interface = "eth0"
	n := l.add(cfg)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	if got := n.logs.info(); !slices.Equal(got, []string{"(VI_1): entering FAULT state (interface eth0 down)", "(VI_1) entering FAULT state"}) {
		t.Fatalf("log %q", got)
	}
	// keepalived 2.2.7 runs notify_fault for a FAULT at start (seen:
	// the interface down at start, the notify_fault script ran).
	if got := n.fx.Notifies(); !slices.Equal(got, []string{"INIT->FAULT"}) {
		t.Fatalf("notifies %v", got)
	}
	n.in.InterfaceUp(true)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	mustLog(t, n, "(VI_1) Entering BACKUP STATE")
	if got := n.fx.Notifies(); !slices.Equal(got, []string{"INIT->FAULT", "FAULT->BACKUP"}) {
		t.Fatalf("notifies %v", got)
	}
}

func TestStartFailedScriptIsFault(t *testing.T) {
	l := newLab(t)
	cfg := vi1(100, vrrpfsm.Backup)
	cfg.Tracks = []vrrpfsm.Track{{Name: "chk", Initial: vrrpfsm.TrackDown}}
	n := l.add(cfg)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	if got := n.logs.info(); !slices.Equal(got, []string{"(VI_1): entering FAULT state due to script chk", "(VI_1) entering FAULT state"}) {
		t.Fatalf("log %q", got)
	}
}

func TestRunTwice(t *testing.T) {
	l := newLab(t)
	n := l.add(vi1(100, vrrpfsm.Backup))
	l.settle()
	if err := n.in.Run(t.Context()); err != vrrpfsm.ErrRunning {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
}

// keepalived 2.2.7 measured: `state MASTER`, priority 101, a weight 2
// script that succeeds right after start: the priority change resets the
// short start timer to the full master-down interval (vrrp_track.c moves the
// deadline by the difference of the two), so MASTER comes 3 s + skew(103)
// after start, not 1 s + 1/256 s.
func TestStartMasterPriorityChangeExtendsStartTimer(t *testing.T) {
	l := newLab(t)
	cfg := vi1(101, vrrpfsm.Master)
	cfg.Tracks = []vrrpfsm.Track{{Name: "chk", Weight: 2}}
	n := l.add(cfg)
	l.settle()
	l.advance(100 * time.Millisecond)
	n.in.SetTrack("chk", true)
	l.settle()
	if got := n.logs.info(); !slices.Equal(got, []string{
		"(VI_1) Entering BACKUP STATE (init)",
		"(VI_1) Changing effective priority from 101 to 103",
	}) {
		t.Fatalf("log %q", got)
	}
	l.until(5*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	if got := lastTransition(n).Sub(t0); got != 3*time.Second+us(597656) {
		t.Fatalf("master at %v, want 3.597656s", got)
	}
}
