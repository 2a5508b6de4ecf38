// Package vip adds and removes keepalived's virtual IP addresses
// (virtual_ipaddress) on Linux interfaces through netlink, and watches
// interfaces for track_interface and the FAULT state.
//
// Every operation is the netlink form of an iproute2 command, named in its
// comment, so an operator can reproduce or undo by hand what the daemon did.
package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Scope values as iproute2 names them (ip-address(8) "scope"), the same
// numbers as the kernel's RT_SCOPE_*.
const (
	ScopeGlobal = 0   // "global", the default
	ScopeSite   = 200 // "site"
	ScopeLink   = 253 // "link"
	ScopeHost   = 254 // "host"
)

// ErrNoInterface is returned (wrapped, with the name) when a VIP's device
// does not exist.
var ErrNoInterface = errors.New("vip: no such interface")

// VIP is one virtual_ipaddress line of keepalived.conf:
//
//	<IP>[/<len>] [brd <IP>] [dev <STRING>] [scope <SCOPE>] [label <LABEL>] [peer <IP>]
type VIP struct {
	// Prefix is the address and its length. keepalived uses /32 (IPv4) or
	// /128 (IPv6) when the config gives no length: use Host to build one.
	Prefix netip.Prefix
	// Dev is the interface name (the instance's interface unless `dev`).
	Dev string
	// Label is the IPv4 address label ("eth0:1"); empty for none.
	Label string
	// Broadcast is the IPv4 broadcast address; zero value for none.
	Broadcast netip.Addr
	// Scope is one of the Scope* constants; zero is global.
	Scope int
	// Peer is the other end of a point-to-point address (`peer`): the
	// kernel gets the VIP as the local address and Peer as the address,
	// with Prefix's length applying to Peer, as `ip addr add A peer P`.
	// Zero value for none.
	Peer netip.Addr
	// PreferredLft is an IPv6 VIP's preferred lifetime in seconds
	// (`preferred_lft`), LftForever for none. nil means keepalived's
	// default: 0 for a /128, which marks the address deprecated so that it
	// is not picked as a source address (RFC 3484), forever otherwise.
	PreferredLft *uint32
}

// LftForever is the infinite address lifetime (INFINITY_LIFE_TIME).
const LftForever = ^uint32(0)

// preferredLft returns the lifetime to set for an IPv6 VIP.
func (v VIP) preferredLft() uint32 {
	if v.PreferredLft != nil {
		return *v.PreferredLft
	}
	if v.Prefix.Bits() == 128 {
		return 0
	}
	return LftForever
}

// Host returns the VIP for a bare address as keepalived reads it: /32 for
// IPv4, /128 for IPv6 (vrrp_ipaddress.c, parse_ipaddress).
func Host(addr netip.Addr, dev string) VIP {
	addr = addr.Unmap()
	return VIP{Prefix: netip.PrefixFrom(addr, addr.BitLen()), Dev: dev}
}

// ParsePrefix reads "192.168.1.84" or "192.168.1.84/24" the way keepalived
// does: no length means a host prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("vip: %w", err)
		}
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("vip: %s: IPv4-mapped prefix shorter than /96", s)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("vip: %w", err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// String formats the VIP like iproute2's arguments:
// "192.168.1.84/32 dev eth0 label eth0:1", "10.0.0.1 peer 10.0.0.2/32 dev ppp0".
func (v VIP) String() string {
	var b strings.Builder
	if v.Peer.IsValid() {
		b.WriteString(v.Prefix.Addr().String() + " peer " + netip.PrefixFrom(v.Peer, v.Prefix.Bits()).String())
	} else {
		b.WriteString(v.Prefix.String())
	}
	if v.Broadcast.IsValid() {
		b.WriteString(" brd " + v.Broadcast.String())
	}
	if v.Dev != "" {
		b.WriteString(" dev " + v.Dev)
	}
	if v.Scope != ScopeGlobal {
		b.WriteString(" scope " + ScopeName(v.Scope))
	}
	if v.Label != "" {
		b.WriteString(" label " + v.Label)
	}
	return b.String()
}

// ScopeName returns iproute2's name for a scope number.
func ScopeName(s int) string {
	switch s {
	case ScopeGlobal:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	}
	return fmt.Sprint(s)
}

// ParseScope reads an iproute2 scope name or number.
func ParseScope(s string) (int, error) {
	switch s {
	case "global", "universe":
		return ScopeGlobal, nil
	case "site":
		return ScopeSite, nil
	case "link":
		return ScopeLink, nil
	case "host":
		return ScopeHost, nil
	case "nowhere":
		return 255, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("vip: invalid scope %q", s)
	}
	return n, nil
}

// Manager adds, removes and looks up VIPs. The netlink implementation is
// NewNetlink; viptest.Manager is an in-memory fake.
type Manager interface {
	// Add assigns the VIP; an address already present is not an error.
	Add(ctx context.Context, v VIP) error
	// Remove deletes the VIP; an address already gone is not an error.
	Remove(ctx context.Context, v VIP) error
	// Has reports whether the VIP's address and length are on its device.
	Has(v VIP) (bool, error)
}

// LinkWatcher reports an interface's state: true when it is up and running
// (IFF_UP and IFF_RUNNING, keepalived's FLAGS_UP in vrrp_if.h).
type LinkWatcher interface {
	// WatchLink sends the current state at once, then every change, until
	// ctx is done; then the channel is closed.
	WatchLink(ctx context.Context, name string) (<-chan bool, error)
}

// Removed is an address deleted from an interface.
type Removed struct {
	Dev  string
	Addr netip.Addr
}

// AddrWatcher reports deleted addresses, so that an instance notices when
// someone else removes its VIP (keepalived watches RTM_DELADDR).
type AddrWatcher interface {
	// WatchRemoved sends each address deleted from any interface until
	// ctx is done; then the channel is closed. A receiver that falls
	// behind loses events rather than blocking others.
	WatchRemoved(ctx context.Context) (<-chan Removed, error)
}
