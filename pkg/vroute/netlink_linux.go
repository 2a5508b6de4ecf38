package vroute

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
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

// HasRoute reports whether the route is in its table (destination, table,
// metric and type compared). Equivalent to `ip route show table T DST`.
func (n *Netlink) HasRoute(r Route) (bool, error) {
	nr, err := n.toNL(r)
	if err != nil {
		return false, err
	}
	list, err := n.h.RouteListFiltered(nr.Family, &netlink.Route{Dst: nr.Dst, Table: nr.Table}, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		return false, fmt.Errorf("vroute: listing routes: %w", err)
	}
	for _, x := range list {
		if x.Type == nr.Type && (!r.HasMetric || x.Priority == nr.Priority) {
			return true, nil
		}
	}
	return false, nil
}

// HasRule reports whether a rule with the same preference, selectors and
// table is present. Equivalent to `ip rule show pref P`.
func (n *Netlink) HasRule(r Rule) (bool, error) {
	want := toNLRule(r)
	list, err := n.h.RuleList(want.Family)
	if err != nil {
		return false, fmt.Errorf("vroute: listing rules: %w", err)
	}
	same := func(a, b *net.IPNet) bool {
		if a == nil || b == nil {
			return (a == nil || a.IP.IsUnspecified()) && (b == nil || b.IP.IsUnspecified())
		}
		return a.String() == b.String()
	}
	for _, x := range list {
		if x.Priority == want.Priority && same(x.Src, want.Src) && same(x.Dst, want.Dst) &&
			x.Invert == want.Invert && (r.Action != ActionToTable || x.Table == want.Table) {
			return true, nil
		}
	}
	return false, nil
}

// WatchDeleted sends on the returned channel (coalesced) each time the
// kernel reports a route or a rule deleted, until ctx ends; the caller
// checks its own with HasRoute and HasRule. Equivalent to
// `ip monitor route rule`.
func (n *Netlink) WatchDeleted(ctx context.Context) (<-chan struct{}, error) {
	s, err := nl.SubscribeAt(n.ns, netns.None(), unix.NETLINK_ROUTE,
		unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE)
	if err != nil {
		return nil, fmt.Errorf("vroute: watching routes and rules: %w", err)
	}
	ch := make(chan struct{}, 1)
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	go func() {
		defer close(ch)
		for {
			msgs, _, err := s.Receive()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				// A lost message (ENOBUFS) may hide a deletion: check.
				select {
				case ch <- struct{}{}:
				default:
				}
				if !errors.Is(err, syscall.ENOBUFS) {
					return
				}
				continue
			}
			for _, m := range msgs {
				if m.Header.Type == unix.RTM_DELROUTE || m.Header.Type == unix.RTM_DELRULE {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return ch, nil
}
