package vrrpfsm_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

// TestMasterVIPRemoved: a MASTER whose VIP was deleted by someone else
// goes to BACKUP sending priority 0, drops its addresses, and after its
// skew time is MASTER again with the addresses back, as keepalived 2.2.7
// did in a lab run (`ip addr del` of a VIP: "Entering BACKUP STATE",
// "sent 0 priority", "removing VIPs.", "Receive advertisement timeout",
// "Entering MASTER STATE", "setting VIPs." within milliseconds).
func TestMasterVIPRemoved(t *testing.T) {
	l, n := masterOf(t, 150, func(c *vrrpfsm.Config) { c.LogDetail = true })
	l.advance(300 * time.Millisecond)
	at := l.now()
	n.in.VIPRemoved()
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	if got := sentSince(n, at); !slices.Equal(got, []uint8{0}) {
		t.Fatalf("sent %v on leaving, want one priority 0 advert", got)
	}
	if n.fx.HoldsVIPs() {
		t.Fatal("VIPs kept in BACKUP")
	}
	// Skew time for priority 150 (VRRPv2): (256-150)/256 s.
	skew := vrrpfsm.SkewTime(2, 150, time.Second)
	l.advance(skew - time.Millisecond)
	mustState(t, n, vrrpfsm.Backup)
	l.advance(2 * time.Millisecond)
	mustState(t, n, vrrpfsm.Master)
	if !n.fx.HoldsVIPs() {
		t.Fatal("VIPs not restored")
	}
	for _, line := range []string{"(VI_1) Entering BACKUP STATE", "(VI_1) sent 0 priority", "(VI_1) Receive advertisement timeout"} {
		mustLog(t, n, line)
	}
	if got := strings.Join(n.fx.Notifies(), " "); !strings.HasSuffix(got, "MASTER->BACKUP BACKUP->MASTER") {
		t.Errorf("notifications %s, want ... MASTER->BACKUP BACKUP->MASTER", got)
	}
}

// TestVIPRemovedOnlyInMaster: in BACKUP the report changes nothing (the
// instance does not hold the addresses).
func TestVIPRemovedOnlyInMaster(t *testing.T) {
	l := newLab(t)
	n := l.add(vi1(100, vrrpfsm.Backup))
	l.advance(100 * time.Millisecond)
	n.in.VIPRemoved()
	l.settle()
	mustState(t, n, vrrpfsm.Backup)
	if got := sentSince(n, time.Time{}); len(got) != 0 {
		t.Fatalf("BACKUP sent %v", got)
	}
}

// TestGroupVIPRemoved: in a sync group, a member whose VIP was deleted
// takes every MASTER member to BACKUP with priority 0 and the whole group
// is MASTER again after the skew time, without a "Syncing instances to
// BACKUP" line or a group BACKUP notification, as keepalived 2.2.7 did in a
// lab run (both instances "Entering BACKUP STATE", "sent 0 priority", then
// "VRRP_Group(G) Syncing instances to MASTER state" in the same second).
func TestGroupVIPRemoved(t *testing.T) {
	l := newLab(t)
	r := l.addRouter(member("VI_1", 1, "10.0.0.1", 150), member("VI_2", 2, "10.0.0.1", 150))
	l.advance(5 * time.Second)
	mustStates(t, r, "MASTER/MASTER")
	mustGroupNotifies(t, r, "BACKUP", "MASTER")
	at := l.now()
	r.vi1.in.VIPRemoved()
	l.settle()
	mustStates(t, r, "BACKUP/BACKUP")
	for _, n := range []*node{r.vi1, r.vi2} {
		if got := sentSince(n, at); !slices.Equal(got, []uint8{0}) {
			t.Fatalf("%s sent %v on leaving, want one priority 0 advert", n.in.Config().Name, got)
		}
		if n.fx.HoldsVIPs() {
			t.Fatalf("%s kept its VIPs", n.in.Config().Name)
		}
	}
	l.advance(vrrpfsm.SkewTime(2, 150, time.Second) + time.Millisecond)
	mustStates(t, r, "MASTER/MASTER")
	mustGroupNotifies(t, r, "BACKUP", "MASTER", "MASTER")
	if r.logs.has("VRRP_Group(G1) Syncing instances to BACKUP state") {
		t.Errorf("group log: %v", r.logs.info())
	}
	for _, n := range []*node{r.vi1, r.vi2} {
		if !n.fx.HoldsVIPs() {
			t.Errorf("%s has no VIPs", n.in.Config().Name)
		}
	}
}
