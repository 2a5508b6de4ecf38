package vroute

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"hapair/pkg/netnstest"
)

// inNewNetns moves the test's locked OS thread into a fresh network
// namespace with a veth pair eth0/eth1 (eth0 192.168.1.80/24), undone at
// cleanup, and returns a Netlink bound to it.
func inNewNetns(t *testing.T) *Netlink {
	t.Helper()
	netnstest.Enter(t)
	n, err := NewNetlink()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	l := netnstest.Veth(t, "eth0", "eth1")
	a, _ := netlink.ParseAddr("192.168.1.80/24")
	if err := netlink.AddrAdd(l, a); err != nil {
		t.Fatal(err)
	}
	return n
}

// iproute runs iproute2 in the test thread's namespace, as a user would.
func iproute(t *testing.T, args ...string) string {
	t.Helper()
	return netnstest.Run(t, "ip", args...)
}

// TestIntegrationRoutesRules: what AddRoute and AddRule put in the kernel
// is what `ip route`/`ip rule` show for keepalived's routes (proto
// keepalived), Has* see them, Del* remove them, and WatchDeleted reports a
// deletion made by someone else.
func TestIntegrationRoutesRules(t *testing.T) {
	n := inNewNetns(t)
	routes := []Route{
		{Type: TypeUnicast, Dst: netip.MustParsePrefix("10.50.0.0/16"), Via: netip.MustParseAddr("192.168.1.1"), Dev: "eth0", Table: 100, Metric: 5, HasMetric: true, Protocol: ProtoKeepalived},
		{Type: TypeBlackhole, Dst: netip.MustParsePrefix("10.71.0.0/16"), Table: 254, Protocol: ProtoKeepalived},
		{Type: TypeUnicast, Dst: netip.MustParsePrefix("10.74.0.0/16"), Table: 103, Protocol: ProtoKeepalived,
			Gateways: []netip.Addr{netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("192.168.1.2")}},
	}
	rules := []Rule{
		{Family: 4, From: netip.MustParsePrefix("10.80.0.0/16"), Action: ActionToTable, Table: 101, Priority: 300, Protocol: ProtoKeepalived},
		{Family: 4, From: netip.MustParsePrefix("10.82.0.0/16"), Not: true, Action: ActionToTable, Table: 103, Priority: 302,
			FwMark: 0x10, FwMask: 0xff, HasFwMark: true, HasFwMask: true, IIf: "eth0", Protocol: ProtoKeepalived},
		{Family: 4, From: netip.MustParsePrefix("10.83.0.0/16"), Action: ActionBlackhole, Priority: 303, Protocol: ProtoKeepalived},
	}
	for _, r := range routes {
		if err := n.AddRoute(r); err != nil {
			t.Fatal(err)
		}
		if err := n.AddRoute(r); err != nil {
			t.Errorf("adding %v again: %v (already there is not an error)", r, err)
		}
	}
	for _, r := range rules {
		if err := n.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	got := iproute(t, "route", "show", "table", "all") + iproute(t, "rule")
	for _, want := range []string{
		"10.50.0.0/16 via 192.168.1.1 dev eth0 table 100 proto keepalived metric 5",
		"blackhole 10.71.0.0/16 proto keepalived",
		"10.74.0.0/16 table 103 proto keepalived \n\tnexthop via 192.168.1.1 dev eth0 weight 1 \n\tnexthop via 192.168.1.2 dev eth0 weight 1",
		"300:\tfrom 10.80.0.0/16 lookup 101 proto keepalived",
		"302:\tnot from 10.82.0.0/16 fwmark 0x10/0xff iif eth0 lookup 103 proto keepalived",
		"303:\tfrom 10.83.0.0/16 blackhole proto keepalived",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("kernel lacks %q:\n%s", want, got)
		}
	}
	for _, r := range routes {
		if ok, err := n.HasRoute(r); !ok || err != nil {
			t.Errorf("HasRoute(%v) = %v, %v", r, ok, err)
		}
	}
	for _, r := range rules {
		if ok, err := n.HasRule(r); !ok || err != nil {
			t.Errorf("HasRule(%v) = %v, %v", r, ok, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := n.WatchDeleted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	iproute(t, "rule", "del", "pref", "300")
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatal("no deletion reported after `ip rule del pref 300`")
	}
	if ok, _ := n.HasRule(rules[0]); ok {
		t.Error("HasRule true after `ip rule del`")
	}

	for _, r := range routes {
		if err := n.DelRoute(r); err != nil {
			t.Error(err)
		}
		if ok, _ := n.HasRoute(r); ok {
			t.Errorf("%v still there after DelRoute", r)
		}
	}
	for _, r := range rules {
		if err := n.DelRule(r); err != nil {
			t.Errorf("%v (already gone is not an error)", err)
		}
	}
	if got := iproute(t, "route", "show", "table", "all") + iproute(t, "rule"); strings.Contains(got, "keepalived") {
		t.Errorf("keepalived routes or rules left:\n%s", got)
	}
}
