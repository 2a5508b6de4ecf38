package vmac

import (
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
