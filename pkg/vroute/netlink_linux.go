package vroute

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Netlink manages routes and rules in the network namespace that was
// current when NewNetlink was called.
type Netlink struct {
	h  *netlink.Handle
	ns netns.NsHandle
}

// NewNetlink opens a netlink route socket in the calling thread's network
// namespace.
func NewNetlink() (*Netlink, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("vroute: current network namespace: %w", err)
	}
	h, err := netlink.NewHandleAt(ns, syscall.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("vroute: netlink socket: %w", err)
	}
	return &Netlink{h: h, ns: ns}, nil
}

// Close releases the socket.
func (n *Netlink) Close() error {
	n.h.Close()
	return n.ns.Close()
}

func ipnet(p netip.Prefix) *net.IPNet {
	if !p.IsValid() {
		return nil
	}
	a := p.Masked().Addr()
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}

func ip(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return a.AsSlice()
}

func (n *Netlink) toNL(r Route) (*netlink.Route, error) {
	nr := &netlink.Route{
		Dst: ipnet(r.Dst), Src: ip(r.Src), Gw: ip(r.Via), Table: int(r.Table),
		Scope: netlink.Scope(r.Scope), Protocol: netlink.RouteProtocol(r.Protocol), Type: r.Type,
		Family: netlink.FAMILY_V4,
	}
	if r.Dst.Addr().Is6() {
		nr.Family = netlink.FAMILY_V6
	}
	for _, g := range r.Gateways {
		nr.MultiPath = append(nr.MultiPath, &netlink.NexthopInfo{Gw: ip(g)})
	}
	if r.HasMetric {
		nr.Priority = int(r.Metric)
	}
	if r.OnLink {
		nr.Flags = int(netlink.FLAG_ONLINK)
	}
	if r.Dev != "" {
		l, err := n.h.LinkByName(r.Dev)
		if err != nil {
			return nil, fmt.Errorf("vroute: interface %s: %w", r.Dev, err)
		}
		nr.LinkIndex = l.Attrs().Index
	}
	return nr, nil
}

// AddRoute adds a route. Equivalent to:
// `ip route add DST [via VIA] [dev DEV] [src SRC] table T proto P scope S [metric M]`.
// A route already there counts as added.
func (n *Netlink) AddRoute(r Route) error {
	nr, err := n.toNL(r)
	if err != nil {
		return err
	}
	if err := n.h.RouteAdd(nr); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("vroute: adding route %v: %w", r, err)
	}
	return nil
}

// DelRoute removes a route. Equivalent to `ip route del DST ... table T`.
// A route already gone counts as removed.
func (n *Netlink) DelRoute(r Route) error {
	nr, err := n.toNL(r)
	if err != nil {
		return err
	}
	// As keepalived: deletion matches on scope "nowhere" (any scope).
	nr.Scope = netlink.SCOPE_NOWHERE
	if err := n.h.RouteDel(nr); err != nil && !errors.Is(err, syscall.ESRCH) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("vroute: removing route %v: %w", r, err)
	}
	return nil
}

func toNLRule(r Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = netlink.FAMILY_V4
	if r.Family == 6 {
		nr.Family = netlink.FAMILY_V6
	}
	nr.Src, nr.Dst = ipnet(r.From), ipnet(r.To)
	nr.Invert = r.Not
	nr.Priority = int(r.Priority)
	nr.Tos = uint(r.TOS)
	nr.IifName, nr.OifName = r.IIf, r.OIf
	nr.Protocol = r.Protocol
	if r.HasFwMark {
		nr.Mark = r.FwMark
		if r.HasFwMask {
			m := r.FwMask
			nr.Mask = &m
		}
	}
	switch r.Action {
	case ActionToTable:
		nr.Table = int(r.Table)
		nr.Type = ActionToTable
	case ActionGoto:
		nr.Goto = int(r.Goto)
		nr.Table = -1
	default:
		nr.Table = -1
		nr.Type = uint8(r.Action)
	}
	return nr
}

// AddRule adds a rule. Equivalent to:
// `ip rule add [not] [from F] [to T] [fwmark M/K] [iif I] [oif O] pref P lookup T proto keepalived`.
// A rule already there counts as added.
func (n *Netlink) AddRule(r Rule) error {
	if err := n.h.RuleAdd(toNLRule(r)); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("vroute: adding rule %v: %w", r, err)
	}
	return nil
}

// DelRule removes a rule. Equivalent to `ip rule del ...` with the same
// selectors. A rule already gone counts as removed.
func (n *Netlink) DelRule(r Rule) error {
	if err := n.h.RuleDel(toNLRule(r)); err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("vroute: removing rule %v: %w", r, err)
	}
	return nil
}
