package vrrpfsm_test

import (
	"fmt"
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

// backupOf starts a lone BACKUP instance at priority prio with extra config.
func backupOf(t *testing.T, prio int, mod func(c *vrrpfsm.Config)) (*lab, *node) {
	l := newLab(t)
	cfg := vi1(prio, vrrpfsm.Backup)
	if mod != nil {
		mod(&cfg)
	}
	n := l.add(cfg)
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	return l, n
}

// feed sends an advert from src at prio every second for count seconds.
func feed(l *lab, n *node, src string, prio uint8, count int) {
	for range count {
		l.advance(time.Second)
		l.inject(n, src, prio)
	}
}

func TestBackupAcceptsHigherAndEqualPriority(t *testing.T) {
	for _, prio := range []uint8{100, 150} {
		t.Run(fmt.Sprint(prio), func(t *testing.T) {
			l, n := backupOf(t, 100, nil)
			feed(l, n, "192.168.1.81", prio, 10)
			mustState(t, n, vrrpfsm.Backup)
			last := l.now()
			l.until(10*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
			if got := lastTransition(n).Sub(last); got != 3*time.Second+us(609375) {
				t.Fatalf("master %v after the last advert, want 3.609375s", got)
			}
			if st := n.in.Status(); st.MasterAddr != addr("192.168.1.81") || st.MasterPriority != int(prio) {
				t.Fatalf("status %+v", st)
			}
			if s := n.in.Stats(); s.AdvertRcvd != 10 {
				t.Fatalf("AdvertRcvd = %d", s.AdvertRcvd)
			}
		})
	}
}

func TestBackupPriorityZeroTakesOverAfterSkew(t *testing.T) {
	l, n := backupOf(t, 100, nil)
	feed(l, n, "192.168.1.81", 150, 2)
	l.advance(500 * time.Millisecond)
	l.inject(n, "192.168.1.81", 0)
	at := l.now()
	l.until(5*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	if got := lastTransition(n).Sub(at); got != us(609375) {
		t.Fatalf("master %v after priority 0, want skew 609375µs", got)
	}
	if s := n.in.Stats(); s.PriZeroRcvd != 1 {
		t.Fatalf("PriZeroRcvd = %d", s.PriZeroRcvd)
	}
	if n.logs.has("(VI_1) Backup received priority 0 advertisement") {
		t.Fatal("detail line logged at info without LogDetail")
	}
}

func TestBackupPriorityZeroDetailLog(t *testing.T) {
	l, n := backupOf(t, 100, func(c *vrrpfsm.Config) { c.LogDetail = true })
	l.inject(n, "192.168.1.81", 0)
	mustLog(t, n, "(VI_1) Backup received priority 0 advertisement")
	l.advance(time.Second)
	mustLog(t, n, "(VI_1) Receive advertisement timeout")
}

func TestBackupDiscardsLowerPriority(t *testing.T) {
	l, n := backupOf(t, 100, nil)
	// Adverts from a lower priority master do not reset the timer: the backup
	// preempts it when the timer set at start expires.
	l.advance(500 * time.Millisecond)
	for range 3 {
		l.inject(n, "192.168.1.81", 90)
		l.advance(time.Second)
	}
	l.until(2*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	if got := lastTransition(n).Sub(t0); got != 3*time.Second+us(609375) {
		t.Fatalf("master at %v, want 3.609375s after start", got)
	}
	if c := n.logs.count("(VI_1) received lower priority (90) advert from 192.168.1.81 - discarding"); c != 3 {
		t.Fatalf("discard line %d times, want 3", c)
	}
}

func TestBackupNoPreemptAcceptsLowerPriority(t *testing.T) {
	l, n := backupOf(t, 100, func(c *vrrpfsm.Config) { c.NoPreempt = true })
	feed(l, n, "192.168.1.81", 50, 20)
	mustState(t, n, vrrpfsm.Backup)
	if n.logs.count("(VI_1) received lower priority (50) advert from 192.168.1.81 - discarding") != 0 {
		t.Fatal("nopreempt discarded an advert")
	}
	last := l.now()
	l.until(10*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	if got := lastTransition(n).Sub(last); got != 3*time.Second+us(609375) {
		t.Fatalf("master %v after the last advert", got)
	}
}

func TestBackupPreemptDelay(t *testing.T) {
	l, n := backupOf(t, 100, func(c *vrrpfsm.Config) { c.PreemptDelay = 5 * time.Second })
	// Lower priority adverts at t=1..: the first starts the 5 s delay; they
	// are accepted until t=6, discarded from then on.
	var tookOver time.Time
	for range 15 {
		l.advance(time.Second)
		if n.in.State() == vrrpfsm.Master {
			tookOver = lastTransition(n)
			break
		}
		l.inject(n, "192.168.1.81", 50)
	}
	if tookOver.IsZero() {
		t.Fatal("never preempted")
	}
	// Last accepted advert at t=5; master-down 3.609375 s later.
	if got := tookOver.Sub(t0); got != 8*time.Second+us(609375) {
		t.Fatalf("preempted at %v, want 8.609375s", got)
	}
	if c := n.logs.count("(VI_1) received lower priority (50) advert from 192.168.1.81 - discarding"); c != 3 {
		t.Fatalf("discarded %d adverts, want 3 (t=6,7,8)", c)
	}
}

func TestBackupPreemptDelayStoppedByHigherPriority(t *testing.T) {
	l, n := backupOf(t, 100, func(c *vrrpfsm.Config) {
		c.PreemptDelay = 3 * time.Second
		c.LogDetail = true
	})
	l.advance(time.Second)
	l.inject(n, "192.168.1.81", 50)
	mustLog(t, n, "(VI_1) start preempt delay (3.000000)")
	l.advance(time.Second)
	l.inject(n, "192.168.1.82", 200)
	mustLog(t, n, "(VI_1) stop preempt delay")
	// The delay restarts at the next lower advert, so the one at t=4 is
	// accepted although the first delay would have ended at t=4.
	l.advance(time.Second)
	l.inject(n, "192.168.1.81", 50)
	l.advance(time.Second)
	l.inject(n, "192.168.1.81", 50)
	if n.logs.count("(VI_1) received lower priority (50) advert from 192.168.1.81 - discarding") != 0 {
		t.Fatal("discarded during the restarted delay")
	}
	mustState(t, n, vrrpfsm.Backup)
}

func TestBackupV3AdoptsMasterInterval(t *testing.T) {
	l, n := backupOf(t, 100, func(c *vrrpfsm.Config) { c.Version = 3; c.LogDetail = true })
	for range 5 {
		l.advance(500 * time.Millisecond)
		n.in.Receive(vrrpfsm.Advert{Src: addr("192.168.1.81"), Priority: 150, AdvertInt: 500 * time.Millisecond})
		l.settle()
	}
	if got := n.in.Status().MasterAdvertInt; got != 500*time.Millisecond {
		t.Fatalf("MasterAdvertInt = %v", got)
	}
	mustLog(t, n, "(VI_1) advertisement interval updated from 1000ms to 500ms by master")
	last := l.now()
	l.until(5*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	// 3 × 0.5 s + 156 × 50 cs × 625/16 µs.
	if got := lastTransition(n).Sub(last); got != 1500*time.Millisecond+us(304687) {
		t.Fatalf("master %v after the last advert, want 1.804687s", got)
	}
	mustLog(t, n, "(VI_1) changing advert interval from 500ms to locally configured 1000ms")
	// As master it advertises its own interval again.
	l.advance(2 * time.Second)
	sent := n.snd.Sent()
	if d := sent[len(sent)-1].At.Sub(sent[len(sent)-2].At); d != time.Second {
		t.Fatalf("master advert spacing %v, want 1s", d)
	}
}

func TestBackupV2IgnoresAdvertInterval(t *testing.T) {
	l, n := backupOf(t, 100, nil)
	n.in.Receive(vrrpfsm.Advert{Src: addr("192.168.1.81"), Priority: 150, AdvertInt: 3 * time.Second})
	l.settle()
	if got := n.in.Status().MasterAdvertInt; got != time.Second {
		t.Fatalf("v2 adopted interval %v", got)
	}
}

func TestBackupPriorityChangeMovesTimerBySkew(t *testing.T) {
	l, n := backupOf(t, 100, func(c *vrrpfsm.Config) {
		c.Tracks = []vrrpfsm.Track{{Name: "chk", Weight: 50, Initial: vrrpfsm.TrackDown}}
	})
	l.advance(time.Second)
	l.inject(n, "192.168.1.81", 200)
	l.advance(time.Second)
	n.in.SetTrack("chk", true)
	l.settle()
	mustLog(t, n, "(VI_1) Changing effective priority from 100 to 150")
	l.until(5*time.Second, time.Millisecond, func() bool { return n.in.State() == vrrpfsm.Master })
	// Deadline was 1 s + 3 s + skew(100); it moves by skew(150) - skew(100).
	if got := lastTransition(n).Sub(t0); got != 4*time.Second+us(414062) {
		t.Fatalf("master at %v, want 4.414062s", got)
	}
}
