// Package vroute adds and removes the routes and policy rules keepalived
// manages (virtual_routes, virtual_rules, static_routes, static_rules)
// through netlink, with the attributes keepalived 2.2.7 sends
// (vrrp_iproute.c netlink_route, vrrp_iprule.c netlink_rule).
package vroute

import (
	"fmt"
	"net/netip"
)

// Route types (linux/rtnetlink.h RTN_*).
const (
	TypeUnicast     = 1
	TypeBlackhole   = 6
	TypeUnreachable = 7
	TypeProhibit    = 8
	TypeThrow       = 9
)

// ProtoKeepalived is RTPROT_KEEPALIVED: keepalived marks its routes and
// rules with it ("proto keepalived" in `ip route`).
const ProtoKeepalived = 18

// Route is one route.
type Route struct {
	Type      int // Type*
	Dst       netip.Prefix
	Src       netip.Addr // invalid = none
	Via       netip.Addr // invalid = none
	Dev       string     // "" = none
	Table     uint32
	Metric    uint32
	HasMetric bool
	Scope     uint8
	Protocol  uint8
	OnLink    bool
	// Gateways: a multipath route over these gateways (Via unset).
	Gateways []netip.Addr
}

func (r Route) String() string {
	s := r.Dst.String()
	if r.Via.IsValid() {
		s += " via " + r.Via.String()
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Table != 254 {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	return s
}

// Rule actions (linux/fib_rules.h FR_ACT_*).
const (
	ActionToTable     = 1
	ActionGoto        = 2
	ActionNop         = 3
	ActionBlackhole   = 6
	ActionUnreachable = 7
	ActionProhibit    = 8
)

// Rule is one policy routing rule.
type Rule struct {
	Family    int // 4 or 6
	From, To  netip.Prefix
	Not       bool
	Action    int
	Table     uint32
	Goto      uint32
	Priority  uint32
	FwMark    uint32
	FwMask    uint32
	HasFwMark bool
	HasFwMask bool
	TOS       uint8
	IIf, OIf  string
	Protocol  uint8
}

func (r Rule) String() string {
	s := fmt.Sprintf("%d:", r.Priority)
	if r.From.IsValid() {
		s += " from " + r.From.String()
	}
	if r.To.IsValid() {
		s += " to " + r.To.String()
	}
	if r.Action == ActionToTable {
		s += fmt.Sprintf(" lookup %d", r.Table)
	}
	return s
}
