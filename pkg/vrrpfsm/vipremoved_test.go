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
