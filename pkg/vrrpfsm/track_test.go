package vrrpfsm_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

func TestWeights(t *testing.T) {
	tests := []struct {
		name  string
		base  int
		track vrrpfsm.Track
		up    bool
		want  int
	}{
		{"positive weight while up", 101, vrrpfsm.Track{Name: "s", Weight: 2}, true, 103},
		{"positive weight while down", 101, vrrpfsm.Track{Name: "s", Weight: 2}, false, 101},
		{"negative weight while down", 101, vrrpfsm.Track{Name: "s", Weight: -20}, false, 81},
		{"negative weight while up", 101, vrrpfsm.Track{Name: "s", Weight: -20}, true, 101},
		{"reverse positive while up", 101, vrrpfsm.Track{Name: "s", Weight: 2, Reverse: true}, true, 99},
		{"reverse negative while down", 101, vrrpfsm.Track{Name: "s", Weight: -2, Reverse: true}, false, 103},
		{"clamped to 254", 250, vrrpfsm.Track{Name: "s", Weight: 10}, true, 254},
		{"clamped to 1", 5, vrrpfsm.Track{Name: "s", Weight: -10}, false, 1},
		{"owner unchanged", 255, vrrpfsm.Track{Name: "s", Weight: -10}, false, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			cfg := vi1(tt.base, vrrpfsm.Backup)
			cfg.Tracks = []vrrpfsm.Track{tt.track}
			n := l.add(cfg)
			l.settle()
			if got := n.in.EffectivePriority(); got != tt.base {
				t.Fatalf("pending track changed priority to %d", got)
			}
			n.in.SetTrack("s", tt.up)
			l.settle()
			if got := n.in.EffectivePriority(); got != tt.want {
				t.Fatalf("priority %d, want %d", got, tt.want)
			}
			if tt.want != tt.base {
				mustLog(t, n, fmt.Sprintf("(VI_1) Changing effective priority from %d to %d", tt.base, tt.want))
			}
			// Back and forth returns to the same value.
			n.in.SetTrack("s", !tt.up)
			n.in.SetTrack("s", tt.up)
			l.settle()
			if got := n.in.EffectivePriority(); got != tt.want {
				t.Fatalf("after flapping priority %d, want %d", got, tt.want)
			}
			mustState(t, n, vrrpfsm.Backup)
		})
	}
}

func TestInitialTrackStateSetsPriorityAtStart(t *testing.T) {
	l := newLab(t)
	cfg := vi1(101, vrrpfsm.Backup)
	cfg.Tracks = []vrrpfsm.Track{{Name: "s", Weight: 2, Initial: vrrpfsm.TrackUp}}
	n := l.add(cfg)
	l.settle()
	if got := n.logs.info(); !slices.Equal(got, []string{
		"(VI_1) Changing effective priority from 101 to 103",
		"(VI_1) Entering BACKUP STATE (init)",
	}) {
		t.Fatalf("log %q", got)
	}
}

func TestFaultFromMaster(t *testing.T) {
	for _, viaInterface := range []bool{false, true} {
		name := "script"
		if viaInterface {
			name = "interface"
		}
		t.Run(name, func(t *testing.T) {
			l, n := masterOf(t, 150, func(c *vrrpfsm.Config) {
				c.Tracks = []vrrpfsm.Track{{Name: "chk", Initial: vrrpfsm.TrackUp}}
			})
			at := l.now().Add(time.Nanosecond)
			l.advance(time.Nanosecond)
			if viaInterface {
				n.in.InterfaceUp(false)
			} else {
				n.in.SetTrack("chk", false)
			}
			l.settle()
			mustState(t, n, vrrpfsm.Fault)
			mustLog(t, n, "(VI_1) Entering FAULT STATE")
			// keepalived sends priority 0 twice when a master faults.
			if got := sentSince(n, at); !slices.Equal(got, []uint8{0, 0}) {
				t.Fatalf("sent %v", got)
			}
			if n.fx.HoldsVIPs() {
				t.Fatal("VIPs kept in FAULT")
			}
			if got := n.fx.Notifies(); got[len(got)-1] != "MASTER->FAULT" {
				t.Fatalf("notifies %v", got)
			}
			// FAULT ignores adverts and sends none.
			rcvd := n.in.Stats().AdvertRcvd
			l.inject(n, "192.168.1.81", 100)
			l.advance(20 * time.Second)
			if got := n.in.Stats().AdvertRcvd; got != rcvd {
				t.Fatal("advert counted in FAULT")
			}
			if got := sentSince(n, at); len(got) != 2 {
				t.Fatalf("sent %v in FAULT", got)
			}
			// Recovery: BACKUP, then master after the full master-down timer.
			if viaInterface {
				n.in.InterfaceUp(true)
			} else {
				n.in.SetTrack("chk", true)
			}
			l.settle()
			mustState(t, n, vrrpfsm.Backup)
			up := l.now()
			l.until(5*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
			if got := lastTransition(n).Sub(up); got != 3*time.Second+us(414062) {
				t.Fatalf("master %v after recovery", got)
			}
			want := []string{"INIT->BACKUP", "BACKUP->MASTER", "MASTER->FAULT", "FAULT->BACKUP", "BACKUP->MASTER"}
			if got := n.fx.Notifies(); !slices.Equal(got, want) {
				t.Fatalf("notifies %v, want %v", got, want)
			}
		})
	}
}

func TestFaultNeedsEveryTrackUp(t *testing.T) {
	l, n := backupOf(t, 100, func(c *vrrpfsm.Config) {
		c.Tracks = []vrrpfsm.Track{{Name: "a", Initial: vrrpfsm.TrackUp}, {Name: "b", Initial: vrrpfsm.TrackUp}}
	})
	n.in.SetTrack("a", false)
	n.in.SetTrack("b", false)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	n.in.SetTrack("a", true)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	n.in.InterfaceUp(false)
	n.in.SetTrack("b", true)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	n.in.InterfaceUp(true)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	if c := n.logs.count("(VI_1) Entering FAULT STATE"); c != 1 {
		t.Fatalf("FAULT entered %d times", c)
	}
}

func TestOwnerRecoversFromFaultAsBackup(t *testing.T) {
	l, n := masterOf(t, 255, func(c *vrrpfsm.Config) {
		c.Tracks = []vrrpfsm.Track{{Name: "chk", Initial: vrrpfsm.TrackUp}}
	})
	n.in.SetTrack("chk", false)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	n.in.SetTrack("chk", true)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	up := l.now()
	l.until(5*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	if got := lastTransition(n).Sub(up); got != 3*time.Second+us(3906) {
		t.Fatalf("owner master %v after recovery", got)
	}
}

func TestUnknownTrackIgnored(t *testing.T) {
	l, n := backupOf(t, 100, nil)
	n.in.SetTrack("nope", false)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	mustLog(t, n, "(VI_1) unknown tracked object nope - ignoring")
}

func TestReverseUnweightedTrack(t *testing.T) {
	l, n := backupOf(t, 100, func(c *vrrpfsm.Config) {
		c.Tracks = []vrrpfsm.Track{{Name: "r", Reverse: true, Initial: vrrpfsm.TrackDown}}
	})
	n.in.SetTrack("r", true)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	n.in.SetTrack("r", false)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
}

// TestValuedTrack: a track_file's value (the file's number times the
// weight) is added to the priority, clamped to 253; -254 or below is
// FAULT, logged at start with the status as keepalived logs it; a value
// above it again leaves FAULT (vrrp_track.c, track_file.c).
func TestValuedTrack(t *testing.T) {
	l := newLab(t)
	cfg := vi1(100, vrrpfsm.Backup)
	cfg.Tracks = []vrrpfsm.Track{{Name: "file:tf", Valued: true, InitialValue: 7}}
	n := l.add(cfg)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	if got := n.in.EffectivePriority(); got != 107 {
		t.Fatalf("priority %d, want 107", got)
	}
	n.in.SetTrackValue("file:tf", -300)
	l.settle()
	mustState(t, n, vrrpfsm.Fault)
	n.in.SetTrackValue("file:tf", -20)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	if got := n.in.EffectivePriority(); got != 80 {
		t.Fatalf("priority %d, want 80", got)
	}

	l2 := newLab(t)
	cfg = vi1(100, vrrpfsm.Backup)
	cfg.Tracks = []vrrpfsm.Track{{Name: "file:tf", Valued: true, InitialValue: -254}}
	n = l2.add(cfg)
	l2.settle()
	mustState(t, n, vrrpfsm.Fault)
	mustLog(t, n, "(VI_1): entering FAULT state (tracked file tf has status -254)")
}
