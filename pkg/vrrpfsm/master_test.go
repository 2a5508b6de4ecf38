package vrrpfsm_test

import (
	"slices"
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

// masterOf starts a lone instance and lets it become master.
func masterOf(t *testing.T, prio int, mod func(c *vrrpfsm.Config)) (*lab, *node) {
	l := newLab(t)
	cfg := vi1(prio, vrrpfsm.Master)
	if mod != nil {
		mod(&cfg)
	}
	n := l.add(cfg)
	l.until(5*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	return l, n
}

func sentSince(n *node, at time.Time) []uint8 {
	var out []uint8
	for _, s := range n.snd.Sent() {
		if !s.At.Before(at) {
			out = append(out, s.Prio)
		}
	}
	return out
}

func TestMasterAdvertisesEveryInterval(t *testing.T) {
	l, n := masterOf(t, 150, nil)
	from := l.now()
	l.advance(5*time.Second + time.Millisecond)
	if got := sentSince(n, from.Add(time.Nanosecond)); !slices.Equal(got, []uint8{150, 150, 150, 150, 150}) {
		t.Fatalf("sent %v", got)
	}
}

func TestMasterLowerPriorityForcesElection(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		prio     uint8
		noAdvert bool
		line     string
		answered bool
	}{
		{"lower priority", "192.168.1.81", 100, false,
			"(VI_1) Received advert from 192.168.1.81 with lower priority 100, ours 150, forcing new election", true},
		{"equal priority lower address", "192.168.1.79", 150, false,
			"(VI_1) Received advert from 192.168.1.79 with lower priority 150, ours 150, forcing new election", true},
		{"lower_prio_no_advert", "192.168.1.81", 100, true,
			"(VI_1) Received advert from 192.168.1.81 with lower priority 100, ours 150", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, n := masterOf(t, 150, func(c *vrrpfsm.Config) { c.LowerPrioNoAdvert = tt.noAdvert })
			l.advance(300 * time.Millisecond)
			at := l.now()
			l.inject(n, tt.src, tt.prio)
			mustState(t, n, vrrpfsm.Master)
			mustLog(t, n, tt.line)
			got := sentSince(n, at)
			if tt.answered != (len(got) == 1) {
				t.Fatalf("sent %v at once, answered=%v", got, tt.answered)
			}
			// The periodic advert follows one interval after the answer.
			l.advance(999 * time.Millisecond)
			if n := len(sentSince(n, at)); tt.answered && n != 1 {
				t.Fatalf("%d adverts within the interval after the answer", n)
			}
		})
	}
}

func TestMasterYieldsToHigher(t *testing.T) {
	tests := []struct {
		name, src string
		prio      uint8
		line      string
	}{
		{"higher priority", "192.168.1.79", 200,
			"(VI_1) Master received advert from 192.168.1.79 with higher priority 200, ours 150"},
		{"equal priority higher address", "192.168.1.81", 150,
			"(VI_1) Master received advert from 192.168.1.81 with same priority 150 but higher IP address than ours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, n := masterOf(t, 150, nil)
			l.inject(n, tt.src, tt.prio)
			mustState(t, n, vrrpfsm.Backup)
			mustLog(t, n, tt.line)
			mustLog(t, n, "(VI_1) Entering BACKUP STATE")
			if n.fx.HoldsVIPs() {
				t.Fatal("VIPs kept after yielding")
			}
			if got := n.fx.Notifies(); !slices.Equal(got, []string{"INIT->BACKUP", "BACKUP->MASTER", "MASTER->BACKUP"}) {
				t.Fatalf("notifies %v", got)
			}
			if s := n.in.Stats(); s.ReleaseMaster != 1 {
				t.Fatalf("ReleaseMaster = %d", s.ReleaseMaster)
			}
			at := l.now()
			l.until(5*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
			if got := lastTransition(n).Sub(at); got != 3*time.Second+us(414062) {
				t.Fatalf("back to master after %v", got)
			}
		})
	}
}

func TestMasterHigherPrioSendAdvert(t *testing.T) {
	l, n := masterOf(t, 150, func(c *vrrpfsm.Config) { c.HigherPrioSendAdvert = true })
	at := l.now().Add(time.Nanosecond)
	l.advance(time.Nanosecond)
	l.inject(n, "192.168.1.90", 200)
	mustState(t, n, vrrpfsm.Backup)
	if got := sentSince(n, at); !slices.Equal(got, []uint8{150}) {
		t.Fatalf("sent %v, want one last advert", got)
	}
}

func TestMasterAnswersPriorityZero(t *testing.T) {
	l, n := masterOf(t, 150, nil)
	l.advance(200 * time.Millisecond)
	at := l.now()
	l.inject(n, "192.168.1.81", 0)
	mustState(t, n, vrrpfsm.Master)
	if got := sentSince(n, at); !slices.Equal(got, []uint8{150}) {
		t.Fatalf("sent %v", got)
	}
	if s := n.in.Stats(); s.PriZeroRcvd != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMasterEqualPriorityOwnAddress(t *testing.T) {
	l, n := masterOf(t, 150, nil)
	l.inject(n, "192.168.1.80", 150)
	mustState(t, n, vrrpfsm.Master)
	mustLog(t, n, "(VI_1) WARNING - equal priority advert received from remote host with our IP address.")
}

func TestTwoOwnersLowerThemselves(t *testing.T) {
	l, n := masterOf(t, 255, nil)
	l.inject(n, "192.168.1.70", 255)
	mustLog(t, n, "(VI_1) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority")
	// Now 254 against 255: we yield.
	mustState(t, n, vrrpfsm.Backup)
	if got := n.in.EffectivePriority(); got != 254 {
		t.Fatalf("priority %d, want 254", got)
	}
}

func TestShutdown(t *testing.T) {
	t.Run("master resigns", func(t *testing.T) {
		l, n := masterOf(t, 150, nil)
		at := l.now()
		l.stop(n)
		if got := sentSince(n, at); !slices.Equal(got, []uint8{0}) {
			t.Fatalf("sent %v on shutdown, want one priority 0 advert", got)
		}
		if n.fx.HoldsVIPs() {
			t.Fatal("VIPs kept on shutdown")
		}
		if got := n.fx.Notifies(); got[len(got)-1] != "MASTER->STOP" {
			t.Fatalf("notifies %v", got)
		}
		if n.in.State() != vrrpfsm.Stop {
			t.Fatalf("state %v", n.in.State())
		}
		if s := n.in.Stats(); s.PriZeroSent != 1 {
			t.Fatalf("PriZeroSent = %d", s.PriZeroSent)
		}
	})
	t.Run("backup stays quiet", func(t *testing.T) {
		l, n := backupOf(t, 100, nil)
		l.stop(n)
		if len(n.snd.Sent()) != 0 {
			t.Fatal("backup sent on shutdown")
		}
		if got := n.fx.Notifies(); !slices.Equal(got, []string{"INIT->BACKUP", "BACKUP->STOP"}) {
			t.Fatalf("notifies %v", got)
		}
	})
}

// TestMasterSetPriorityKeepsState: a reload that changes the priority of a
// master keeps it MASTER with its VIPs (as keepalived 2.2.7 does); the next
// advert carries the new priority. The owner's 255 cannot be changed this way.
func TestMasterSetPriorityKeepsState(t *testing.T) {
	l, n := masterOf(t, 101, nil)
	l.advance(300 * time.Millisecond)
	masters := len(n.fx.Events())
	if !n.in.SetPriority(110) {
		t.Fatal("SetPriority(110) refused")
	}
	at := l.now()
	l.advance(time.Second)
	mustState(t, n, vrrpfsm.Master)
	if got := sentSince(n, at); !slices.Equal(got, []uint8{110}) {
		t.Fatalf("sent %v after the change, want [110]", got)
	}
	if got := n.in.Status(); got.BasePriority != 110 || got.EffectivePriority != 110 {
		t.Fatalf("status base %d effective %d, want 110 110", got.BasePriority, got.EffectivePriority)
	}
	if got := n.fx.Events(); len(got) != masters || !n.fx.HoldsVIPs() {
		t.Fatalf("effects after the change: %v (VIPs held %v), want none new", got[masters:], n.fx.HoldsVIPs())
	}
	mustLog(t, n, "(VI_1) Changing effective priority from 101 to 110")

	_, owner := masterOf(t, 255, nil)
	if owner.in.SetPriority(100) {
		t.Error("the owner's priority was changed in place")
	}
	if n.in.SetPriority(255) {
		t.Error("a priority was raised to 255 in place")
	}
}
