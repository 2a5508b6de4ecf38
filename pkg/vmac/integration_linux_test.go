package vmac

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"hapair/pkg/netnstest"
)

// inNewNetns moves the test's locked OS thread into a fresh network
// namespace with a veth pair eth0/eth1, undone at cleanup. /proc/sys/net
// follows the opening thread's namespace.
func inNewNetns(t *testing.T) {
	t.Helper()
	netnstest.Enter(t)
	netnstest.Veth(t, "eth0", "eth1")
}

func run(t *testing.T, cmd string, args ...string) string {
	t.Helper()
	return strings.TrimSpace(netnstest.Run(t, cmd, args...))
}

// TestIntegrationCreateRemove: the VMAC as `ip -d link` shows it, its
// sysctls and the base interface's; taken over when it exists already,
// replaced when it has the wrong MAC, refused over a non-macvlan; removed.
func TestIntegrationCreateRemove(t *testing.T) {
	inNewNetns(t)
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ifi, err := m.Create(Spec{Base: "eth0", Name: "vrrp.51", VRID: 51})
	if err != nil {
		t.Fatal(err)
	}
	if ifi.HardwareAddr.String() != "00:00:5e:00:01:33" {
		t.Errorf("MAC %v", ifi.HardwareAddr)
	}
	link := run(t, "ip", "-d", "link", "show", "vrrp.51")
	for _, want := range []string{"vrrp.51@eth0", "UP", "link/ether 00:00:5e:00:01:33", "macvlan mode private", "addrgenmode none"} {
		if !strings.Contains(link, want) {
			t.Errorf("ip -d link lacks %q:\n%s", want, link)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"ipv4/conf/vrrp.51/arp_ignore", "1"}, {"ipv4/conf/vrrp.51/accept_local", "1"}, {"ipv4/conf/vrrp.51/rp_filter", "0"},
		{"ipv4/conf/vrrp.51/promote_secondaries", "1"}, {"ipv6/conf/vrrp.51/disable_ipv6", "1"},
		{"ipv4/conf/eth0/arp_ignore", "1"}, {"ipv4/conf/eth0/arp_filter", "1"},
	} {
		if got := run(t, "cat", "/proc/sys/net/"+c.path); got != c.want {
			t.Errorf("%s = %s, want %s", c.path, got, c.want)
		}
	}
	before := run(t, "ip", "-o", "link", "show", "vrrp.51")
	if _, err := m.Create(Spec{Base: "eth0", Name: "vrrp.51", VRID: 51}); err != nil {
		t.Fatal(err)
	}
	if after := run(t, "ip", "-o", "link", "show", "vrrp.51"); after != before {
		t.Errorf("a matching VMAC was not kept:\n%s\n%s", before, after)
	}
	run(t, "ip", "link", "set", "vrrp.51", "address", "00:00:5e:00:01:34")
	if _, err := m.Create(Spec{Base: "eth0", Name: "vrrp.51", VRID: 51}); err != nil {
		t.Fatal(err)
	}
	if l := run(t, "ip", "link", "show", "vrrp.51"); !strings.Contains(l, "00:00:5e:00:01:33") {
		t.Errorf("a VMAC with the wrong MAC was not replaced:\n%s", l)
	}
	if _, err := m.Create(Spec{Base: "eth0", Name: "eth1", VRID: 52}); err == nil || !strings.Contains(err.Error(), "conflicts with existing interface") {
		t.Errorf("Create over a veth: %v", err)
	}
	if err := m.Remove("vrrp.51"); err != nil {
		t.Fatal(err)
	}
	if l := run(t, "ip", "-o", "link"); strings.Contains(l, "vrrp.51") {
		t.Errorf("vrrp.51 left:\n%s", l)
	}
}

// TestIntegrationCreateIPv6: an IPv6 instance's VMAC has the MAC
// 00:00:5e:00:02:VRID, IPv6 on, none of the IPv4 settings (on it or on the
// base interface), and the given link-local address, nodad and
// deprecated as keepalived adds it; without one (vmac_xmit_base) it has
// no IPv6 address at all.
func TestIntegrationCreateIPv6(t *testing.T) {
	inNewNetns(t)
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ll := netip.MustParseAddr("fe80::1234:56ff:fe78:9abc")
	ifi, err := m.Create(Spec{Base: "eth0", Name: "vrrp.51", VRID: 51, IPv6: true, LinkLocal: ll})
	if err != nil {
		t.Fatal(err)
	}
	if ifi.HardwareAddr.String() != "00:00:5e:00:02:33" {
		t.Errorf("MAC %v", ifi.HardwareAddr)
	}
	link := run(t, "ip", "-d", "link", "show", "vrrp.51")
	for _, want := range []string{"vrrp.51@eth0", "UP", "link/ether 00:00:5e:00:02:33", "macvlan mode private", "addrgenmode none"} {
		if !strings.Contains(link, want) {
			t.Errorf("ip -d link lacks %q:\n%s", want, link)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"ipv4/conf/vrrp.51/arp_ignore", "0"}, {"ipv4/conf/vrrp.51/accept_local", "0"},
		{"ipv4/conf/vrrp.51/promote_secondaries", "0"}, {"ipv6/conf/vrrp.51/disable_ipv6", "0"},
		{"ipv4/conf/eth0/arp_ignore", "0"}, {"ipv4/conf/eth0/arp_filter", "0"},
	} {
		if got := run(t, "cat", "/proc/sys/net/"+c.path); got != c.want {
			t.Errorf("%s = %s, want %s", c.path, got, c.want)
		}
	}
	addrs := run(t, "ip", "-6", "-o", "addr", "show", "dev", "vrrp.51")
	if !strings.Contains(addrs, "inet6 "+ll.String()+"/64 scope link nodad deprecated") || strings.Count(addrs, "inet6") != 1 {
		t.Errorf("vrrp.51's addresses:\n%s\nwant only %v/64 nodad deprecated", addrs, ll)
	}
	if err := m.Remove("vrrp.51"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(Spec{Base: "eth0", Name: "vrrp.52", VRID: 52, IPv6: true}); err != nil {
		t.Fatal(err)
	}
	if addrs := run(t, "ip", "-6", "-o", "addr", "show", "dev", "vrrp.52"); addrs != "" {
		t.Errorf("vrrp.52 (no link-local given) has addresses:\n%s", addrs)
	}
}

// TestIntegrationNftablesReports: keepalived's nftables table that sends a
// VMAC's IGMP/MLD reports from the base interface, per family, made once
// even over a table a crashed process left, and deleted by Close.
func TestIntegrationNftablesReports(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/nft"); err != nil {
		t.Fatal("needs Debian's nftables package (/usr/sbin/nft) to read the rules back: apt-get install nftables")
	}
	inNewNetns(t)
	crashed, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.Create(Spec{Base: "eth0", Name: "vrrp.51", VRID: 51, IPv6: true}); err != nil {
		t.Fatal(err)
	}
	m, err := New() // the respawned process: crashed never closes
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(Spec{Base: "eth0", Name: "vrrp.51", VRID: 51, IPv6: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(Spec{Base: "eth0", Name: "vrrp.52", VRID: 52}); err != nil {
		t.Fatal(err)
	}
	rs := run(t, "nft", "list", "ruleset")
	for _, want := range []string{
		`table ip6 keepalived {`,
		`icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr device oif map @vmac_map drop`,
		`icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop`,
		`table ip keepalived {`, `ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map drop`,
		`elements = { "vrrp.51" }`,
	} {
		if strings.Count(rs, want) != 1 {
			t.Errorf("nft list ruleset has %q %d times, want once:\n%s", want, strings.Count(rs, want), rs)
		}
	}
	if n := strings.Count(rs, `type filter hook output priority filter - 1; policy accept;`); n != 2 {
		t.Errorf("%d output chains, want one per family:\n%s", n, rs)
	}
	if err := m.Remove("vrrp.52"); err != nil {
		t.Fatal(err)
	}
	if rs := run(t, "nft", "list", "map", "ip", "keepalived", "vmac_map"); strings.Contains(rs, "elements") {
		t.Errorf("vrrp.52 still in the map after Remove:\n%s", rs)
	}
	m.Close()
	if rs := run(t, "nft", "list", "ruleset"); rs != "" {
		t.Errorf("after Close:\n%s", rs)
	}
}
