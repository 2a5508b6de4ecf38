package vmac

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// in6AddrGenModeNone is IN6_ADDR_GEN_MODE_NONE: no link-local address
// made from the VRRP MAC (RFC 5798 Section 7.4).
const in6AddrGenModeNone = 1

// Manager creates VMACs in the network namespace that was current when
// New was called.
type Manager struct {
	h      *netlink.Handle
	ns     netns.NsHandle
	Sysctl Sysctl

	mu sync.Mutex
	// allRPFilter is net.ipv4.conf.all.rp_filter before the first VMAC
	// when it had to be cleared (-1: untouched), restored by Close.
	allRPFilter     int
	defaultRPFilter int
	// savedRPFilter: interfaces whose rp_filter was raised, with the old
	// value, restored by Close.
	savedRPFilter map[string]int
	ours          map[string]bool
	// nft: the nftables table keepalived keeps per family (true: IPv6),
	// and what each VMAC added to it.
	nft     map[bool]*nftTable
	nftVMAC map[string]nftEntry
	// Logf, if set, receives keepalived's NOTICE lines about rp_filter.
	Logf func(format string, args ...any)
}

// New opens a netlink socket in the calling thread's network namespace.
func New() (*Manager, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("vmac: current network namespace: %w", err)
	}
	h, err := netlink.NewHandleAt(ns, syscall.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("vmac: netlink socket: %w", err)
	}
	return &Manager{h: h, ns: ns, Sysctl: ProcSysctl{}, allRPFilter: -1, defaultRPFilter: -1, ours: map[string]bool{}, savedRPFilter: map[string]int{},
		nft: map[bool]*nftTable{}, nftVMAC: map[string]nftEntry{}}, nil
}

// Close restores net.ipv4.conf.all.rp_filter if Create cleared it, and
// releases the socket. VMACs still there stay.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.allRPFilter > 0 {
		// Only what still has the values set here is put back.
		if cur, err := m.Sysctl.Get("all", "rp_filter"); err == nil && cur == 0 {
			m.logf("NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to %d", m.allRPFilter)
			_ = m.Sysctl.Set("all", "rp_filter", m.allRPFilter)
		}
		if m.defaultRPFilter >= 0 {
			if cur, err := m.Sysctl.Get("default", "rp_filter"); err == nil && cur == m.allRPFilter {
				m.logf("NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to %d", m.defaultRPFilter)
				_ = m.Sysctl.Set("default", "rp_filter", m.defaultRPFilter)
			}
		}
		for name, old := range m.savedRPFilter {
			if cur, err := m.Sysctl.Get(name, "rp_filter"); err == nil && cur == m.allRPFilter {
				_ = m.Sysctl.Set(name, "rp_filter", old)
			}
		}
		m.allRPFilter = -1
	}
	m.nftClose()
	m.mu.Unlock()
	m.h.Close()
	return m.ns.Close()
}

func (m *Manager) logf(format string, args ...any) {
	if m.Logf != nil {
		m.Logf(format, args...)
	}
}

// clearRPFilter lets a VMAC have rp_filter 0, which needs
// net.ipv4.conf.all.rp_filter 0 (the kernel uses the larger of "all" and
// the interface's): as keepalived (clear_rp_filter), it first raises
// "default" and the base interface to the old "all" value so they filter
// as before, then clears "all". keepalived raises the interfaces its
// configuration names; here each VMAC's base interface is raised when
// its VMAC is made.
func (m *Manager) clearRPFilter(base string) error {
	if m.allRPFilter == -1 {
		all, err := m.Sysctl.Get("all", "rp_filter")
		if err != nil {
			return err
		}
		m.allRPFilter = all
		if all == 0 {
			return nil
		}
		if def, err := m.Sysctl.Get("default", "rp_filter"); err == nil && def < all {
			m.logf("NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from %d to %d", def, all)
			m.defaultRPFilter = def
			if err := m.Sysctl.Set("default", "rp_filter", all); err != nil {
				return err
			}
		}
		if err := m.raiseRPFilter(base); err != nil {
			return err
		}
		m.logf("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from %d to 0", all)
		return m.Sysctl.Set("all", "rp_filter", 0)
	}
	if m.allRPFilter == 0 {
		return nil
	}
	return m.raiseRPFilter(base)
}

func (m *Manager) raiseRPFilter(name string) error {
	if _, done := m.savedRPFilter[name]; done {
		return nil
	}
	v, err := m.Sysctl.Get(name, "rp_filter")
	if err != nil || v >= m.allRPFilter {
		return err
	}
	m.savedRPFilter[name] = v
	return m.Sysctl.Set(name, "rp_filter", m.allRPFilter)
}

// Create makes (or takes over) the VMAC s.Name on s.Base for s.VRID and
// returns it, up. For an IPv4 instance, equivalent to:
//
//	ip link add link BASE name NAME address 00:00:5e:00:01:VRID type macvlan mode private
//	sysctl net.ipv4.conf.NAME.{arp_ignore=1,accept_local=1,rp_filter=0,promote_secondaries=1}
//	sysctl net.ipv4.conf.BASE.{arp_ignore=1,arp_filter=1}
//	sysctl net.ipv6.conf.NAME.disable_ipv6=1; ip link set NAME addrgenmode none
//	ip link set NAME up
//
// For an IPv6 one (keepalived sets no IPv4 sysctl then, and keeps IPv6):
//
//	ip link add link BASE name NAME address 00:00:5e:00:02:VRID type macvlan mode private
//	sysctl net.ipv6.conf.NAME.disable_ipv6=0; ip link set NAME addrgenmode none
//	ip link set NAME up
//	ip addr add LINKLOCAL/64 dev NAME nodad preferred_lft 0   (unless vmac_xmit_base)
//
// A macvlan of that name on another interface, or with another MAC or mode,
// is replaced (keepalived: "Removing old VMAC interface"); any other
// interface of that name is an error.
func (m *Manager) Create(s Spec) (*net.Interface, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	base, name := s.Base, s.Name
	parent, err := m.h.LinkByName(base)
	if err != nil {
		return nil, fmt.Errorf("vmac: base interface %s: %w", base, err)
	}
	mac := s.mac()
	create := true
	if old, err := m.h.LinkByName(name); err == nil {
		mv, ok := old.(*netlink.Macvlan)
		switch {
		case !ok:
			return nil, fmt.Errorf("vmac: VMAC %s conflicts with existing interface", name)
		case mv.ParentIndex == parent.Attrs().Index && mv.Mode == netlink.MACVLAN_MODE_PRIVATE && bytes.Equal(mv.HardwareAddr, mac):
			create = false
		default:
			if err := m.h.LinkDel(old); err != nil {
				return nil, fmt.Errorf("vmac: removing old VMAC interface %s: %w", name, err)
			}
		}
	} else {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("vmac: interface %s: %w", name, err)
		}
	}
	if create {
		if !s.IPv6 {
			if err := m.clearRPFilter(base); err != nil {
				return nil, err
			}
		}
		la := netlink.NewLinkAttrs()
		la.Name, la.ParentIndex, la.HardwareAddr = name, parent.Attrs().Index, mac
		if err := m.h.LinkAdd(&netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_PRIVATE}); err != nil {
			return nil, fmt.Errorf("vmac: creating %s on %s: %w", name, base, err)
		}
	}
	m.ours[name] = true
	link, err := m.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("vmac: %s: %w", name, err)
	}
	if create && !s.IPv6 {
		for _, s := range vmacSettings {
			if err := m.Sysctl.Set(name, s.name, s.v); err != nil {
				return nil, err
			}
		}
		for _, s := range baseSettings {
			if v, err := m.Sysctl.Get(base, s.name); err == nil && v != s.v {
				if err := m.Sysctl.Set(base, s.name, s.v); err != nil {
					return nil, err
				}
			}
		}
	}
	// IPv6 only on an IPv6 VMAC, and never a link-local address made from
	// its MAC (RFC 5798 Section 7.4).
	disable := 1
	if s.IPv6 {
		disable = 0
	}
	if err := m.Sysctl.Set("ipv6/"+name, "disable_ipv6", disable); err != nil {
		return nil, err
	}
	if err := m.h.LinkSetIP6AddrGenMode(link, in6AddrGenModeNone); err != nil {
		return nil, fmt.Errorf("vmac: addrgenmode none on %s: %w", name, err)
	}
	if err := m.h.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("vmac: setting %s up: %w", name, err)
	}
	m.nftAdd(name, s.IPv6, link.Attrs().Index, parent.Attrs().Index)
	if s.IPv6 && s.LinkLocal.IsValid() {
		// The adverts' source: the instance's own link-local address, so
		// they come from a non-VIP address but with the VRRP MAC.
		a := &netlink.Addr{IPNet: &net.IPNet{IP: s.LinkLocal.AsSlice(), Mask: net.CIDRMask(64, 128)},
			Flags: unix.IFA_F_NODAD, PreferedLft: 0, ValidLft: int(lftForever)}
		if err := m.h.AddrAdd(link, a); err != nil && !errors.Is(err, syscall.EEXIST) {
			return nil, fmt.Errorf("vmac: adding link-local address %v to %s: %w", s.LinkLocal, name, err)
		}
	}
	ifi, err := net.InterfaceByIndex(link.Attrs().Index)
	if err != nil {
		return nil, fmt.Errorf("vmac: %s: %w", name, err)
	}
	return ifi, nil
}

// nftEntry is what a VMAC put in the nftables table.
type nftEntry struct {
	v6         bool
	vmac, base int
}

// nftAdd puts the VMAC in keepalived's nftables table (nft_linux.go). As
// keepalived, a failure is logged and the VMAC kept.
func (m *Manager) nftAdd(name string, v6 bool, vmac, base int) {
	if old, ok := m.nftVMAC[name]; ok && old != (nftEntry{v6, vmac, base}) {
		_ = m.nftRemoveVMAC(old.v6, old.vmac, old.base)
		delete(m.nftVMAC, name)
	}
	if len(m.nft) == 0 {
		m.logf("use_vmac or no_accept/strict specified, but no firewall configured - using nftables")
	}
	if err := m.nftAddVMAC(v6, vmac, base); err != nil {
		m.logf("%v", err)
		return
	}
	m.nftVMAC[name] = nftEntry{v6, vmac, base}
}

// lftForever is INFINITY_LIFE_TIME.
const lftForever = 0xffffffff

// Remove deletes a VMAC this Manager created. Equivalent to
// `ip link del NAME`. keepalived 2.2.7 leaves the base interface's
// arp_ignore and arp_filter at 1 (seen with Debian's keepalived), and so
// does Remove.
func (m *Manager) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.ours[name] {
		return fmt.Errorf("vmac: %s was not created here", name)
	}
	delete(m.ours, name)
	if e, ok := m.nftVMAC[name]; ok {
		delete(m.nftVMAC, name)
		if err := m.nftRemoveVMAC(e.v6, e.vmac, e.base); err != nil {
			m.logf("%v", err)
		}
	}
	l, err := m.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("vmac: %s: %w", name, err)
	}
	if err := m.h.LinkDel(l); err != nil {
		return fmt.Errorf("vmac: removing %s: %w", name, err)
	}
	return nil
}
