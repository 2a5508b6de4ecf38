// Package vmac creates and removes the virtual MAC interfaces of
// keepalived's use_vmac: a macvlan in private mode on the instance's
// interface, with the VRRP MAC of RFC 5798 Section 7.3
// (00:00:5e:00:01:VRID, 00:00:5e:00:02:VRID for IPv6), up, without an
// automatic link-local address, and with what keepalived 2.2.7 gives it
// (vrrp_vmac.c netlink_link_add_vmac, vrrp_if_config.c
// set_interface_parameters): for IPv4 no IPv6 and its IPv4 sysctls; for
// IPv6 the instance's link-local source address, and no IPv4 sysctls.
package vmac

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MAC is the IPv4 VRRP virtual router MAC of vrid (RFC 5798 Section 7.3).
func MAC(vrid uint8) net.HardwareAddr {
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, vrid}
}

// MAC6 is the IPv6 VRRP virtual router MAC of vrid (RFC 5798 Section 7.3).
func MAC6(vrid uint8) net.HardwareAddr {
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x02, vrid}
}

// Spec is one VMAC to make.
type Spec struct {
	// Base is the instance's interface, Name the VMAC's.
	Base, Name string
	VRID       uint8
	// IPv6: the instance is an IPv6 one (MAC 00:00:5e:00:02:VRID, IPv6
	// on, none of the IPv4 sysctls).
	IPv6 bool
	// LinkLocal, for an IPv6 instance that sends from the VMAC (not
	// vmac_xmit_base), is the address its adverts leave from; keepalived
	// puts it on the VMAC as fe80::/64, nodad, preferred_lft 0 (its
	// add_link_local_address). Invalid: none.
	LinkLocal netip.Addr
}

func (s Spec) mac() net.HardwareAddr {
	if s.IPv6 {
		return MAC6(s.VRID)
	}
	return MAC(s.VRID)
}

// Sysctl reads and writes /proc/sys/net/ipv4/conf/IF/NAME; a seam for
// tests. The files belong to the network namespace of the process.
type Sysctl interface {
	Get(iface, name string) (int, error)
	Set(iface, name string, v int) error
}

// ProcSysctl is Sysctl on /proc/sys.
type ProcSysctl struct{}

func confPath(family, iface, name string) string {
	return filepath.Join("/proc/sys/net", family, "conf", iface, name)
}

// Get reads net.ipv4.conf.IF.NAME.
func (ProcSysctl) Get(iface, name string) (int, error) {
	b, err := os.ReadFile(confPath("ipv4", iface, name))
	if err != nil {
		return 0, fmt.Errorf("vmac: sysctl: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Set writes net.ipv4.conf.IF.NAME (IPv6 settings take iface "ipv6/IF").
func (ProcSysctl) Set(iface, name string, v int) error {
	p := confPath("ipv4", iface, name)
	if f, i, ok := strings.Cut(iface, "/"); ok {
		p = confPath(f, i, name)
	}
	if err := os.WriteFile(p, []byte(strconv.Itoa(v)), 0o644); err != nil {
		return fmt.Errorf("vmac: sysctl: %w", err)
	}
	return nil
}

// vmacSettings are what keepalived sets on an IPv4 VMAC: it answers ARP
// only for its own addresses, accepts packets from local addresses (the
// peer's adverts reach it from the base interface's subnet) and does no
// reverse path filtering; secondaries are promoted when a primary goes.
var vmacSettings = []struct {
	name string
	v    int
}{{"arp_ignore", 1}, {"accept_local", 1}, {"rp_filter", 0}, {"promote_secondaries", 1}}

// baseSettings: on the base interface, so that it does not answer ARP for
// the VIPs with its own MAC.
var baseSettings = []struct {
	name string
	v    int
}{{"arp_ignore", 1}, {"arp_filter", 1}}
