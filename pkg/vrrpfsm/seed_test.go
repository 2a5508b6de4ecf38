package vrrpfsm_test

import (
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

// seedPair builds the seed's two load balancers (conf/keepalived.conf):
// lb1 `state MASTER`, priority 101, lb2 `state BACKUP`, priority 100, both
// with AH and chk_haproxy (weight 2), on one link.
func seedPair(t *testing.T) (l *lab, lb1, lb2 *node) {
	l = newLab(t)
	mk := func(prio int, st vrrpfsm.State, ip string) vrrpfsm.Config {
		return vrrpfsm.Config{
			Name: "VI_1", VRID: 51, Version: 2, Priority: prio, InitialState: st,
			AdvertInt: time.Second, AuthAH: true, Address: addr(ip),
			Tracks: []vrrpfsm.Track{{Name: "chk_haproxy", Weight: 2}},
		}
	}
	lb1 = l.add(mk(101, vrrpfsm.Master, "192.168.1.80"))
	lb2 = l.add(mk(100, vrrpfsm.Backup, "192.168.1.81"))
	l.settle()
	// AH: both start as BACKUP.
	mustState(t, lb1, vrrpfsm.Backup)
	mustState(t, lb2, vrrpfsm.Backup)
	lb1.in.SetTrack("chk_haproxy", true)
	lb2.in.SetTrack("chk_haproxy", true)
	l.settle()
	mustLog(t, lb1, "(VI_1) Changing effective priority from 101 to 103")
	mustLog(t, lb2, "(VI_1) Changing effective priority from 100 to 102")
	l.advance(10 * time.Second)
	mustState(t, lb1, vrrpfsm.Master)
	mustState(t, lb2, vrrpfsm.Backup)
	// lb1's timer (skew of 103) ran out first.
	if got := lastTransition(lb1).Sub(t0); got != 3*time.Second+us(597656) {
		t.Fatalf("lb1 master at %v, want 3.597656s", got)
	}
	return l, lb1, lb2
}

// lastSentAt returns when n last sent an advert at prio before before.
func lastSentAt(n *node, prio uint8, before time.Time) time.Time {
	var at time.Time
	for _, s := range n.snd.Sent() {
		if s.Prio == prio && s.At.Before(before) {
			at = s.At
		}
	}
	return at
}

func TestSeedTimeline(t *testing.T) {
	l, lb1, lb2 := seedPair(t)
	if !lb1.fx.HoldsVIPs() || lb2.fx.HoldsVIPs() {
		t.Fatal("VIP not on lb1 only")
	}

	// haproxy dies on lb1: 103 -> 101. lb2 (102) discards its adverts and
	// takes over when its master-down timer, last reset by a 103 advert,
	// expires: 3 × 1 s + (256-102)/256 s.
	l.advance(400 * time.Millisecond)
	lb1.in.SetTrack("chk_haproxy", false)
	l.settle()
	mustLog(t, lb1, "(VI_1) Changing effective priority from 103 to 101")
	l.until(10*time.Second, 10*time.Millisecond, func() bool { return lb2.in.State() == vrrpfsm.Master })
	took := lastTransition(lb2)
	if got := took.Sub(lastSentAt(lb1, 103, took)); got != 3*time.Second+us(601562) {
		t.Fatalf("lb2 took over %v after lb1's last 103 advert, want 3.601562s", got)
	}
	mustLog(t, lb2, "(VI_1) received lower priority (101) advert from 192.168.1.80 - discarding")
	if c := lb2.logs.count("(VI_1) received lower priority (101) advert from 192.168.1.80 - discarding"); c != 3 {
		t.Fatalf("lb2 discarded %d adverts, want 3", c)
	}
	mustState(t, lb1, vrrpfsm.Backup)
	mustLog(t, lb1, "(VI_1) Master received advert from 192.168.1.81 with higher priority 102, ours 101")
	mustLog(t, lb1, "(VI_1) Entering BACKUP STATE")
	mustLog(t, lb2, "(VI_1) Entering MASTER STATE")
	if lb1.fx.HoldsVIPs() || !lb2.fx.HoldsVIPs() {
		t.Fatal("VIP did not move to lb2")
	}

	// haproxy is back on lb1: 101 -> 103; lb1 discards lb2's 102 adverts
	// and preempts 3 s + skew(103) after the last one it accepted.
	l.advance(5*time.Second + 300*time.Millisecond)
	lb1.in.SetTrack("chk_haproxy", true)
	l.settle()
	back := l.now()
	l.until(10*time.Second, 10*time.Millisecond, func() bool { return lb1.in.State() == vrrpfsm.Master })
	took = lastTransition(lb1)
	lastAccepted := lastSentAt(lb2, 102, back)
	if got := took.Sub(lastAccepted); got != 3*time.Second+us(597656) {
		t.Fatalf("lb1 preempted %v after lb2's last accepted advert, want 3.597656s", got)
	}
	mustLog(t, lb1, "(VI_1) received lower priority (102) advert from 192.168.1.81 - discarding")
	mustState(t, lb2, vrrpfsm.Backup)
	mustLog(t, lb2, "(VI_1) Master received advert from 192.168.1.80 with higher priority 103, ours 102")
	if !lb1.fx.HoldsVIPs() || lb2.fx.HoldsVIPs() {
		t.Fatal("VIP did not come back to lb1")
	}

	// lb2 master again, then stopped: its priority 0 advert lets lb1 take
	// over after its skew time only.
	lb1.in.SetTrack("chk_haproxy", false)
	l.settle()
	l.until(10*time.Second, 10*time.Millisecond, func() bool { return lb2.in.State() == vrrpfsm.Master })
	l.advance(1500 * time.Millisecond)
	stopAt := l.now()
	l.stop(lb2)
	if got := lb2.snd.Sent(); got[len(got)-1].Prio != 0 {
		t.Fatalf("lb2's last advert at priority %d", got[len(got)-1].Prio)
	}
	l.until(5*time.Second, time.Millisecond, func() bool { return lb1.in.State() == vrrpfsm.Master })
	if got := lastTransition(lb1).Sub(stopAt); got != us(605468) {
		t.Fatalf("lb1 master %v after lb2's priority 0, want skew(101) = 605468µs", got)
	}
	if s := lb1.in.Stats(); s.PriZeroRcvd != 1 {
		t.Fatalf("lb1 PriZeroRcvd = %d", s.PriZeroRcvd)
	}
}

func TestPairNoPreempt(t *testing.T) {
	l := newLab(t)
	a := l.add(vrrpfsm.Config{Name: "VI_1", Priority: 100, AdvertInt: time.Second, Address: addr("10.0.0.1"), NoPreempt: true})
	l.advance(5 * time.Second)
	mustState(t, a, vrrpfsm.Master)
	// A higher priority backup with nopreempt joins: it stays backup.
	b := l.add(vrrpfsm.Config{Name: "VI_1", Priority: 200, AdvertInt: time.Second, Address: addr("10.0.0.2"), NoPreempt: true})
	l.advance(30 * time.Second)
	mustState(t, a, vrrpfsm.Master)
	mustState(t, b, vrrpfsm.Backup)
}

func TestPairEqualPriorityHigherAddressWins(t *testing.T) {
	l := newLab(t)
	a := l.add(vrrpfsm.Config{Name: "VI_1", Priority: 100, AdvertInt: time.Second, Address: addr("10.0.0.1")})
	b := l.add(vrrpfsm.Config{Name: "VI_1", Priority: 100, AdvertInt: time.Second, Address: addr("10.0.0.2")})
	// Both time out together and both become master; the higher address
	// keeps it.
	l.advance(10 * time.Second)
	mustState(t, a, vrrpfsm.Backup)
	mustState(t, b, vrrpfsm.Master)
	mustLog(t, a, "(VI_1) Master received advert from 10.0.0.2 with same priority 100 but higher IP address than ours")
	mustLog(t, b, "(VI_1) Received advert from 10.0.0.1 with lower priority 100, ours 100, forcing new election")
}

func TestPairOwnerPreempts(t *testing.T) {
	l := newLab(t)
	b := l.add(vrrpfsm.Config{Name: "VI_1", Priority: 100, AdvertInt: time.Second, Address: addr("10.0.0.2")})
	l.advance(5 * time.Second)
	mustState(t, b, vrrpfsm.Master)
	o := l.add(vrrpfsm.Config{Name: "VI_1", Priority: 255, InitialState: vrrpfsm.Master, AdvertInt: time.Second, Address: addr("10.0.0.1")})
	l.settle()
	mustState(t, o, vrrpfsm.Master)
	mustState(t, b, vrrpfsm.Backup)
	mustLog(t, b, "(VI_1) Master received advert from 10.0.0.1 with higher priority 255, ours 100")
}

func TestPairV3IntervalAdoption(t *testing.T) {
	l := newLab(t)
	m := l.add(vrrpfsm.Config{Name: "VI_1", Version: 3, Priority: 200, AdvertInt: 200 * time.Millisecond, Address: addr("10.0.0.1")})
	b := l.add(vrrpfsm.Config{Name: "VI_1", Version: 3, Priority: 100, AdvertInt: 2 * time.Second, Address: addr("10.0.0.2")})
	l.advance(10 * time.Second)
	mustState(t, m, vrrpfsm.Master)
	mustState(t, b, vrrpfsm.Backup)
	if got := b.in.Status().MasterAdvertInt; got != 200*time.Millisecond {
		t.Fatalf("backup's master interval %v", got)
	}
	m.cut.Store(true)
	cut := lastSentAt(m, 200, l.now().Add(time.Nanosecond))
	l.until(5*time.Second, time.Millisecond, func() bool { return b.in.State() == vrrpfsm.Master })
	// 3 × 200 ms + 156 × 20 cs × 625/16 µs.
	if got := lastTransition(b).Sub(cut); got != 600*time.Millisecond+us(121875) {
		t.Fatalf("backup took over %v after the last advert, want 721.875ms", got)
	}
}
