package vrrpfsm_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/vrrpfsm"
)

// groupFx records a sync group's notifications.
type groupFx struct {
	mu  sync.Mutex
	got []string
}

func (f *groupFx) NotifyGroup(to vrrpfsm.State) {
	f.mu.Lock()
	f.got = append(f.got, to.String())
	f.mu.Unlock()
}

func (f *groupFx) notifies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// router is one keepalived process of the lab: a sync group G1 of two
// instances, VI_1 (VRID 1) and VI_2 (VRID 2), sharing one address.
type router struct {
	g      *vrrpfsm.Group
	fx     *groupFx
	logs   *logSink // the group's own lines
	vi1    *node
	vi2    *node
	config [2]vrrpfsm.Config
}

// member returns the usual instance config of a group member.
func member(name string, vrid uint8, address string, prio int) vrrpfsm.Config {
	// LogDetail: the reference runs were logged with -D.
	return vrrpfsm.Config{Name: name, VRID: vrid, Priority: prio, InitialState: vrrpfsm.Backup, Address: addr(address), LogDetail: true}
}

// addRouter creates both members, groups them and starts them.
func (l *lab) addRouter(c1, c2 vrrpfsm.Config) *router {
	l.t.Helper()
	r := &router{fx: &groupFx{}, logs: &logSink{}}
	r.vi1, r.vi2 = l.create(c1), l.create(c2)
	g, err := vrrpfsm.NewGroup("G1", []*vrrpfsm.Instance{r.vi1.in, r.vi2.in}, r.fx, zerolog.New(r.logs))
	if err != nil {
		l.t.Fatal(err)
	}
	r.g = g
	l.mu.Lock()
	l.groups = append(l.groups, g)
	l.mu.Unlock()
	l.run(r.vi1)
	l.run(r.vi2)
	l.settle()
	return r
}

// states returns "VI_1 state/VI_2 state".
func (r *router) states() string {
	return r.vi1.in.State().String() + "/" + r.vi2.in.State().String()
}

func mustStates(t *testing.T, r *router, want string) {
	t.Helper()
	if got := r.states(); got != want {
		t.Fatalf("states %s, want %s\nVI_1:\n%s\nVI_2:\n%s\ngroup:\n%s", got, want,
			strings.Join(r.vi1.logs.info(), "\n"), strings.Join(r.vi2.logs.info(), "\n"), strings.Join(r.logs.info(), "\n"))
	}
}

func mustGroupNotifies(t *testing.T, r *router, want ...string) {
	t.Helper()
	if got := r.fx.notifies(); !slices.Equal(got, want) {
		t.Fatalf("group notifications %v, want %v", got, want)
	}
}

func mustNotifies(t *testing.T, n *node, want ...string) {
	t.Helper()
	if got := n.fx.Notifies(); !slices.Equal(got, want) {
		t.Fatalf("%s notifications %v, want %v", n.in.Config().Name, got, want)
	}
}

// twoRouters is the lab of the interop run: routers A (150) and B (100),
// each with a sync group of VI_1 and VI_2.
func twoRouters(t *testing.T, a1, a2, b1, b2 int) (*lab, *router, *router) {
	l := newLab(t)
	a := l.addRouter(member("VI_1", 1, "10.0.0.1", a1), member("VI_2", 2, "10.0.0.1", a2))
	b := l.addRouter(member("VI_1", 1, "10.0.0.2", b1), member("VI_2", 2, "10.0.0.2", b2))
	return l, a, b
}

// TestGroupElection: both members of the higher priority group become
// MASTER together; the first whose timer expires waits for the other, as
// keepalived logs "(VI_1) Receive advertisement timeout" twice before
// "(VI_2) Entering MASTER STATE" and "VRRP_Group(G1) Syncing instances to
// MASTER state".
func TestGroupElection(t *testing.T) {
	l, a, b := twoRouters(t, 150, 150, 100, 100)
	mustGroupNotifies(t, a, "BACKUP")
	l.advance(5 * time.Second)
	mustStates(t, a, "MASTER/MASTER")
	mustStates(t, b, "BACKUP/BACKUP")
	if !a.logs.has("VRRP_Group(G1) Syncing instances to MASTER state") {
		t.Fatalf("group log: %v", a.logs.info())
	}
	// One member went MASTER by itself, the other was ordered; exactly one
	// group notification and one MASTER notification per member.
	mustGroupNotifies(t, a, "BACKUP", "MASTER")
	mustGroupNotifies(t, b, "BACKUP")
	mustNotifies(t, a.vi1, "INIT->BACKUP", "BACKUP->MASTER")
	mustNotifies(t, a.vi2, "INIT->BACKUP", "BACKUP->MASTER")
	if !a.vi1.fx.HoldsVIPs() || !a.vi2.fx.HoldsVIPs() || b.vi1.fx.HoldsVIPs() || b.vi2.fx.HoldsVIPs() {
		t.Fatal("VIPs are not all on A")
	}
	// Both went MASTER at the same instant: the later member's timer,
	// 3 * 1 s + (256-150)/256 s after start.
	want := t0.Add(3*time.Second + us(414062))
	if at1, at2 := lastTransition(a.vi1), lastTransition(a.vi2); !at1.Equal(want) || !at2.Equal(want) {
		t.Fatalf("MASTER at %v and %v, want both at %v", at1.Sub(t0), at2.Sub(t0), want.Sub(t0))
	}
	if a.g.State() != vrrpfsm.Master || b.g.State() != vrrpfsm.Backup {
		t.Fatalf("group states %v, %v", a.g.State(), b.g.State())
	}
}

// TestGroupHeldByLiveMaster: a member that hears a live master holds its
// whole group in BACKUP, even where the other member has the highest
// priority: A's VI_1 (150) never takes over from B's VI_1 (100) because A's
// VI_2 (50) accepts B's VI_2.
func TestGroupHeldByLiveMaster(t *testing.T) {
	l, a, b := twoRouters(t, 150, 50, 100, 100)
	l.advance(20 * time.Second)
	mustStates(t, b, "MASTER/MASTER")
	mustStates(t, a, "BACKUP/BACKUP")
	if n := a.vi1.logs.count("(VI_1) received lower priority (100) advert from 10.0.0.2 - discarding"); n < 10 {
		t.Fatalf("A's VI_1 discarded %d lower priority adverts, want one a second", n)
	}
	mustNotifies(t, a.vi1, "INIT->BACKUP")
	mustGroupNotifies(t, a, "BACKUP")
}

// TestGroupFault: a member's failing track script takes its whole group to
// FAULT, the other side's group takes over, and when the script recovers
// both come back as BACKUP and preempt together.
func TestGroupFault(t *testing.T) {
	l := newLab(t)
	c1 := member("VI_1", 1, "10.0.0.1", 150)
	c1.Tracks = []vrrpfsm.Track{{Name: "chk", Initial: vrrpfsm.TrackUp}}
	a := l.addRouter(c1, member("VI_2", 2, "10.0.0.1", 150))
	d1 := member("VI_1", 1, "10.0.0.2", 100)
	d1.Tracks = []vrrpfsm.Track{{Name: "chk", Initial: vrrpfsm.TrackUp}}
	b := l.addRouter(d1, member("VI_2", 2, "10.0.0.2", 100))
	l.advance(5 * time.Second)
	mustStates(t, a, "MASTER/MASTER")
	sent1, sent2 := len(a.vi1.snd.Sent()), len(a.vi2.snd.Sent())

	a.vi1.in.SetTrack("chk", false)
	l.settle()
	mustStates(t, a, "FAULT/FAULT")
	mustLog(t, a.vi1, "(VI_1) Entering FAULT STATE")
	mustLog(t, a.vi2, "(VI_2) Entering FAULT STATE")
	if !a.logs.has("VRRP_Group(G1) Syncing instances to FAULT state") {
		t.Fatalf("group log: %v", a.logs.info())
	}
	// The faulty member resigns with two priority 0 adverts, the ordered
	// one with one (as keepalived: B's VI_1 logs the line twice, VI_2 once).
	zeros := func(n *node, from int) int {
		c := 0
		for _, s := range n.snd.Sent()[from:] {
			if s.Prio == 0 {
				c++
			}
		}
		return c
	}
	if z1, z2 := zeros(a.vi1, sent1), zeros(a.vi2, sent2); z1 != 2 || z2 != 1 {
		t.Fatalf("priority 0 adverts: VI_1 %d, VI_2 %d; want 2 and 1", z1, z2)
	}
	if a.vi1.fx.HoldsVIPs() || a.vi2.fx.HoldsVIPs() {
		t.Fatal("A kept VIPs in FAULT")
	}
	mustGroupNotifies(t, a, "BACKUP", "MASTER", "FAULT")
	mustNotifies(t, a.vi2, "INIT->BACKUP", "BACKUP->MASTER", "MASTER->FAULT")

	// B takes both after the priority 0 adverts' skew time.
	l.advance(2 * time.Second)
	mustStates(t, b, "MASTER/MASTER")

	// Recovery: both BACKUP together, then A preempts B's lower priority.
	a.vi1.in.SetTrack("chk", true)
	l.settle()
	mustStates(t, a, "BACKUP/BACKUP")
	mustLog(t, a.vi2, "(VI_2) Entering BACKUP STATE")
	mustGroupNotifies(t, a, "BACKUP", "MASTER", "FAULT", "BACKUP")
	l.advance(5 * time.Second)
	mustStates(t, a, "MASTER/MASTER")
	mustStates(t, b, "BACKUP/BACKUP")
	// B left MASTER on a higher priority advert to one member and the group
	// took the other along.
	if !b.logs.has("VRRP_Group(G1) Syncing instances to BACKUP state") {
		t.Fatalf("B's group log: %v", b.logs.info())
	}
	mustGroupNotifies(t, b, "BACKUP", "MASTER", "BACKUP")

	// B's VI_1 script fails while B is BACKUP: its VI_2 is ordered to FAULT
	// without an "Entering FAULT STATE" line, but with its notification.
	b.vi1.in.SetTrack("chk", false)
	l.settle()
	mustStates(t, b, "FAULT/FAULT")
	mustLog(t, b.vi1, "(VI_1) Entering FAULT STATE")
	if b.vi2.logs.has("(VI_2) Entering FAULT STATE") {
		t.Fatal("VI_2 logged the FAULT line keepalived omits for an ordered BACKUP member")
	}
	mustNotifies(t, b.vi2, "INIT->BACKUP", "BACKUP->MASTER", "MASTER->BACKUP", "BACKUP->FAULT")
	mustStates(t, a, "MASTER/MASTER")

	// Stop: members' STOP notifications, then the group's.
	l.stop(a.vi1)
	if a.g.State() == vrrpfsm.Stop {
		t.Fatal("group stopped with a member still running")
	}
	l.stop(a.vi2)
	mustGroupNotifies(t, a, "BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP")
	l.advance(5 * time.Second)
	mustStates(t, b, "FAULT/FAULT") // B's VI_1 is still faulty
}

// TestGroupFaultHeldByOtherMember: a member whose own fault clears stays in
// FAULT while the other member is still faulty; the last to recover brings
// the group back (keepalived's start with the interface down).
func TestGroupFaultHeldByOtherMember(t *testing.T) {
	l := newLab(t)
	c1, c2 := member("VI_1", 1, "10.0.0.1", 150), member("VI_2", 2, "10.0.0.1", 150)
	c1.InterfaceDown, c2.InterfaceDown = true, true
	a := l.addRouter(c1, c2)
	mustStates(t, a, "FAULT/FAULT")
	if !a.logs.has("VRRP_Group(G1): Syncing VI_1 to FAULT state") {
		t.Fatalf("group log: %v", a.logs.info())
	}
	mustLog(t, a.vi2, "(VI_2) entering FAULT state")
	mustGroupNotifies(t, a, "FAULT")
	mustNotifies(t, a.vi1, "INIT->FAULT")

	a.vi1.in.InterfaceUp(true)
	l.advance(10 * time.Second)
	mustStates(t, a, "FAULT/FAULT")
	a.vi2.in.InterfaceUp(true)
	l.settle()
	mustStates(t, a, "BACKUP/BACKUP")
	mustLog(t, a.vi1, "(VI_1) Entering BACKUP STATE")
	mustGroupNotifies(t, a, "FAULT", "BACKUP")
	l.advance(5 * time.Second)
	mustStates(t, a, "MASTER/MASTER")
}

// TestGroupPendingScript: while a member waits for its first script result
// the group is in INIT, every member in FAULT without a word; the result
// brings both to BACKUP with one group notification.
func TestGroupPendingScript(t *testing.T) {
	l := newLab(t)
	c1 := member("VI_1", 1, "10.0.0.1", 150)
	c1.Tracks = []vrrpfsm.Track{{Name: "chk"}}
	a := l.addRouter(c1, member("VI_2", 2, "10.0.0.1", 150))
	mustStates(t, a, "FAULT/FAULT")
	if a.g.State() != vrrpfsm.Init {
		t.Fatalf("group %v, want INIT", a.g.State())
	}
	l.advance(5 * time.Second)
	mustStates(t, a, "FAULT/FAULT")
	mustGroupNotifies(t, a)
	mustNotifies(t, a.vi2)
	a.vi1.in.SetTrack("chk", true)
	l.settle()
	mustStates(t, a, "BACKUP/BACKUP")
	mustLog(t, a.vi1, "(VI_1) Entering BACKUP STATE")
	mustLog(t, a.vi2, "(VI_2) Entering BACKUP STATE")
	mustGroupNotifies(t, a, "BACKUP")
	l.advance(5 * time.Second)
	mustStates(t, a, "MASTER/MASTER")
	mustGroupNotifies(t, a, "BACKUP", "MASTER")
}

// TestGroupStateMasterWaits: `state MASTER` below 255 in a group starts as
// any backup does, with the full master-down interval (keepalived clears
// wantstate MASTER in a group that is not all address owners).
func TestGroupStateMasterWaits(t *testing.T) {
	l := newLab(t)
	c1, c2 := member("VI_1", 1, "10.0.0.1", 150), member("VI_2", 2, "10.0.0.1", 150)
	c1.InitialState, c2.InitialState = vrrpfsm.Master, vrrpfsm.Master
	a := l.addRouter(c1, c2)
	l.advance(3 * time.Second)
	mustStates(t, a, "BACKUP/BACKUP")
	l.advance(time.Second)
	mustStates(t, a, "MASTER/MASTER")
	if got := lastTransition(a.vi1).Sub(t0); got != 3*time.Second+us(414062) {
		t.Fatalf("MASTER after %v, want the master-down interval 3.414062s", got)
	}
}

// TestNewGroupRefusesMemberTwice: an instance belongs to one group.
func TestNewGroupRefusesMemberTwice(t *testing.T) {
	l := newLab(t)
	n := l.create(member("VI_1", 1, "10.0.0.1", 150))
	if _, err := vrrpfsm.NewGroup("G1", []*vrrpfsm.Instance{n.in}, &groupFx{}, nopLog()); err != nil {
		t.Fatal(err)
	}
	if _, err := vrrpfsm.NewGroup("G2", []*vrrpfsm.Instance{n.in}, &groupFx{}, nopLog()); err == nil {
		t.Fatal("a second group accepted the same instance")
	}
	l.run(n)
}

// TestGroupReferenceRun replays a run of two keepalived 2.2.7 processes
// (A: `state MASTER`, VI_1 150, VI_2 50; B: 100 and 100), with the times
// keepalived logged: A alone goes MASTER when VI_2's master-down timer
// (3.805 s) expires, not after one advert interval; B, started later, is
// held in BACKUP by its VI_1 hearing A's VI_1 although its VI_2 outranks
// A's; when A stops, B's members take over together at the priority 0
// skew time (0.609 s), VI_2 still wanting MASTER since its held timeout; A
// restarted is held in turn by its VI_2.
func TestGroupReferenceRun(t *testing.T) {
	l := newLab(t)
	c1, c2 := member("VI_1", 1, "10.0.0.1", 150), member("VI_2", 2, "10.0.0.1", 50)
	c1.InitialState, c2.InitialState = vrrpfsm.Master, vrrpfsm.Master
	a := l.addRouter(c1, c2)
	l.advance(8 * time.Second)
	mustStates(t, a, "MASTER/MASTER")
	if got := lastTransition(a.vi1).Sub(t0); got != 3*time.Second+us(804687) {
		t.Fatalf("A MASTER after %v, want VI_2's master-down interval 3.804687s", got)
	}

	b := l.addRouter(member("VI_1", 1, "10.0.0.2", 100), member("VI_2", 2, "10.0.0.2", 100))
	l.advance(10 * time.Second)
	mustStates(t, a, "MASTER/MASTER")
	mustStates(t, b, "BACKUP/BACKUP")
	if n := b.vi2.logs.count("(VI_2) received lower priority (50) advert from 10.0.0.1 - discarding"); n < 9 {
		t.Fatalf("B's VI_2 discarded %d adverts, want one a second", n)
	}
	// Held, its timer restarts with the whole master-down interval (3.609 s)
	// and the discarded adverts do not touch it: keepalived timed out at
	// +3.6 s and +7.2 s after start.
	if n := b.vi2.logs.count("(VI_2) Receive advertisement timeout"); n != 2 {
		t.Fatalf("B's VI_2 timed out %d times in 10 s, want 2", n)
	}

	stopAt := l.now()
	l.stop(a.vi1)
	l.stop(a.vi2)
	l.advance(2 * time.Second)
	mustStates(t, b, "MASTER/MASTER")
	mustLog(t, b.vi2, "(VI_2) Backup received priority 0 advertisement")
	for _, n := range []*node{b.vi1, b.vi2} {
		if got := lastTransition(n).Sub(stopAt); got != us(609375) {
			t.Fatalf("%s MASTER %v after A stopped, want the skew time 0.609375s", n.in.Config().Name, got)
		}
	}
	mustGroupNotifies(t, a, "BACKUP", "MASTER", "STOP")
	mustGroupNotifies(t, b, "BACKUP", "MASTER")

	a2 := l.addRouter(c1, c2)
	l.advance(12 * time.Second)
	mustStates(t, a2, "BACKUP/BACKUP")
	mustStates(t, b, "MASTER/MASTER")
	if n := a2.vi1.logs.count("(VI_1) received lower priority (100) advert from 10.0.0.2 - discarding"); n < 11 {
		t.Fatalf("A's VI_1 discarded %d adverts, want one a second", n)
	}
}
