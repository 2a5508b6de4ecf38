package keepalivedcfg

import (
	"net/netip"
	"strconv"
	"time"
)

// The bgp block is gkeepalived's extension (keepalived 2.2.7 has none): it
// announces service prefixes to routers over BGP while the tracked checks
// are healthy, for ECMP anycast in front of several balancers.
//
//	bgp {
//	    router_id 10.0.1.11
//	    local_as 65001
//	    neighbor 10.0.1.1 {
//	        remote_as 65000
//	        hold_time 3          # seconds, 0 or >= 3 (default 90)
//	        keepalive 1          # seconds, below hold_time (default hold_time/3)
//	        connect_retry 1      # seconds (default 5)
//	    }
//	    announce {               # IPv4 prefixes or addresses
//	        10.0.0.100/32
//	    }
//	    next_hop 10.0.1.11       # default: the session's local address
//	    track_script {
//	        chk_haproxy
//	    }
//	    track_process {
//	        haproxy
//	    }
//	}
//
// bfd, bfd_interval and bfd_multiplier in a neighbor are refused for now:
// FRR 8.4's bgpd re-registers its BFD session as the BGP session comes up;
// the re-created session's first Down makes GoBGP v4.8.0 reset the BGP
// session, again at every establishment (seen in integration/scaleout's
// lab, README "Scaling out").
//
// Every error in it is fatal (the start is refused, `-t` fails): a node that
// announces what the operator did not mean attracts traffic it cannot serve.

// BGP is the bgp block.
type BGP struct {
	RouterID  netip.Addr
	LocalAS   uint32
	Neighbors []BGPNeighbor
	Announce  []netip.Prefix
	NextHop   netip.Addr // unset: the session's local address
	// TrackScripts and TrackProcesses name vrrp_script and
	// vrrp_track_process blocks: the prefixes are announced while every
	// one of them is up, withdrawn as soon as one is down.
	TrackScripts   []string `json:",omitempty"`
	TrackProcesses []string `json:",omitempty"`
	Pos            Pos
}

// BGPNeighbor is a neighbor block inside bgp.
type BGPNeighbor struct {
	Address      netip.Addr
	RemoteAS     uint32
	HoldTime     time.Duration
	Keepalive    time.Duration
	ConnectRetry time.Duration
	Pos          Pos
}

// Defaults of the bgp block: RFC 4271's suggested timers, a short connect
// retry (a balancer should rejoin fast).
const (
	DefaultBGPHoldTime     = 90 * time.Second
	DefaultBGPConnectRetry = 5 * time.Second
	bgpKeyword             = "bgp"
	bgpNeighborKeyword     = "neighbor"
	BlockBGP               = bgpKeyword
	BlockBGPNeighbor       = bgpKeyword + " " + bgpNeighborKeyword
	bgpMaxTimerSeconds     = 65535
)

func (p *parser) bgpErr(pos Pos, format string, args ...any) {
	p.reportAt(pos, Fatal, classUnsupported, "bgp: "+format+" - refusing this configuration", args...)
	p.diags[len(p.diags)-1].extra = true
}

func (p *parser) bgpBlock(l line) {
	if p.cfg.BGP != nil {
		p.bgpErr(l.pos, "a second bgp block (the first is at %s)", p.cfg.BGP.Pos)
	}
	p.cfg.BGP = &BGP{Pos: l.pos}
	if len(l.words) > 1 {
		p.bgpErr(l.pos, "unexpected %q after bgp", l.words[1])
	}
}

// bgpNeighbor is the neighbor being read.
func (p *parser) bgpNeighbor() *BGPNeighbor {
	ns := p.cfg.BGP.Neighbors
	return &ns[len(ns)-1]
}

// bgpUint reads word 1 as an unsigned integer in [min, max].
func (p *parser) bgpUint(l line, what string, min, max uint64) (uint64, bool) {
	if len(l.words) != 2 {
		p.bgpErr(l.pos, "%s takes one value", what)
		return 0, false
	}
	v, err := strconv.ParseUint(l.words[1], 10, 64)
	if err != nil || v < min || v > max {
		p.bgpErr(l.pos, "%s %q: want an integer in [%d, %d]", what, l.words[1], min, max)
		return 0, false
	}
	return v, true
}

func (p *parser) bgpAddr(l line, what string) (netip.Addr, bool) {
	if len(l.words) != 2 {
		p.bgpErr(l.pos, "%s takes one address", what)
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(l.words[1])
	if err != nil || a.Zone() != "" {
		p.bgpErr(l.pos, "%s %q: not an IP address", what, l.words[1])
		return netip.Addr{}, false
	}
	return a, true
}

var bgpKeywords = []keyword{
	{name: "router_id", handler: func(p *parser, l line) {
		if a, ok := p.bgpAddr(l, "router_id"); ok {
			if !a.Is4() {
				p.bgpErr(l.pos, "router_id %s: want an IPv4 address (a BGP identifier is 32 bits)", a)
				return
			}
			p.cfg.BGP.RouterID = a
		}
	}},
	{name: "local_as", handler: func(p *parser, l line) {
		if v, ok := p.bgpUint(l, "local_as", 1, 4294967295); ok {
			p.cfg.BGP.LocalAS = uint32(v)
		}
	}},
	{name: "next_hop", handler: func(p *parser, l line) {
		if a, ok := p.bgpAddr(l, "next_hop"); ok {
			p.cfg.BGP.NextHop = a
		}
	}},
	{name: "announce", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) {
			for _, w := range v.words {
				pf, err := netip.ParsePrefix(w)
				if err != nil {
					a, aerr := netip.ParseAddr(w)
					if aerr != nil {
						p.bgpErr(v.pos, "announce %q: not a prefix or address", w)
						continue
					}
					pf = netip.PrefixFrom(a, a.BitLen())
				}
				if pf != pf.Masked() {
					p.bgpErr(v.pos, "announce %s: host bits set (did you mean %s?)", pf, pf.Masked())
					continue
				}
				p.cfg.BGP.Announce = append(p.cfg.BGP.Announce, pf)
			}
		})
	}},
	{name: "track_script", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) {
			for _, w := range v.words {
				if p.findScript(w) == nil {
					p.bgpErr(v.pos, "track_script %s: no vrrp_script %s above", w, w)
					continue
				}
				p.cfg.BGP.TrackScripts = appendNew(p.cfg.BGP.TrackScripts, w)
			}
		})
	}},
	{name: "track_process", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) {
			for _, w := range v.words {
				if p.cfg.TrackedProcess(w) == nil {
					p.bgpErr(v.pos, "track_process %s: no vrrp_track_process %s above", w, w)
					continue
				}
				p.cfg.BGP.TrackProcesses = appendNew(p.cfg.BGP.TrackProcesses, w)
			}
		})
	}},
	{name: bgpNeighborKeyword, handler: func(p *parser, l line) {
		n := BGPNeighbor{Pos: l.pos, HoldTime: -1, Keepalive: -1, ConnectRetry: DefaultBGPConnectRetry}
		if len(l.words) != 2 {
			p.bgpErr(l.pos, "neighbor takes one address and a block")
		} else if a, err := netip.ParseAddr(l.words[1]); err != nil || a.Zone() != "" {
			p.bgpErr(l.pos, "neighbor %q: not an IP address", l.words[1])
		} else {
			n.Address = a
			for _, o := range p.cfg.BGP.Neighbors {
				if o.Address == a {
					p.bgpErr(l.pos, "neighbor %s twice (first at %s)", a, o.Pos)
				}
			}
		}
		p.cfg.BGP.Neighbors = append(p.cfg.BGP.Neighbors, n)
	}, sub: bgpNeighborKeywords, close: (*parser).bgpNeighborEnd},
}

var bgpNeighborKeywords = []keyword{
	{name: "remote_as", handler: func(p *parser, l line) {
		if v, ok := p.bgpUint(l, "remote_as", 1, 4294967295); ok {
			p.bgpNeighbor().RemoteAS = uint32(v)
		}
	}},
	{name: "hold_time", handler: func(p *parser, l line) {
		if v, ok := p.bgpUint(l, "hold_time", 0, bgpMaxTimerSeconds); ok {
			if v == 1 || v == 2 {
				p.bgpErr(l.pos, "hold_time %d: must be 0 or at least 3 seconds (RFC 4271, Section 4.2)", v)
				return
			}
			p.bgpNeighbor().HoldTime = time.Duration(v) * time.Second
		}
	}},
	{name: "keepalive", handler: func(p *parser, l line) {
		if v, ok := p.bgpUint(l, "keepalive", 0, bgpMaxTimerSeconds); ok {
			p.bgpNeighbor().Keepalive = time.Duration(v) * time.Second
		}
	}},
	{name: "connect_retry", handler: func(p *parser, l line) {
		if v, ok := p.bgpUint(l, "connect_retry", 1, bgpMaxTimerSeconds); ok {
			p.bgpNeighbor().ConnectRetry = time.Duration(v) * time.Second
		}
	}},
}

func (p *parser) bgpNeighborEnd() {
	n := p.bgpNeighbor()
	if n.RemoteAS == 0 {
		p.bgpErr(n.Pos, "neighbor %s: remote_as missing", n.Address)
	}
	switch {
	case n.HoldTime < 0 && n.Keepalive < 0:
		n.HoldTime, n.Keepalive = DefaultBGPHoldTime, DefaultBGPHoldTime/3
	case n.HoldTime < 0:
		n.HoldTime = 3 * n.Keepalive
		if n.HoldTime > 0 && n.HoldTime < 3*time.Second {
			n.HoldTime = 3 * time.Second
		}
	case n.Keepalive < 0:
		n.Keepalive = n.HoldTime / 3
	}
	if n.HoldTime == 0 && n.Keepalive != 0 || n.HoldTime != 0 && n.Keepalive >= n.HoldTime {
		p.bgpErr(n.Pos, "neighbor %s: keepalive %v must be below hold_time %v (or both 0)", n.Address, n.Keepalive, n.HoldTime)
	}
}

// bgpEnd checks the block as a whole.
func (p *parser) bgpEnd() {
	b := p.cfg.BGP
	if !b.RouterID.IsValid() {
		p.bgpErr(b.Pos, "router_id missing")
	}
	if b.LocalAS == 0 {
		p.bgpErr(b.Pos, "local_as missing")
	}
	if len(b.Neighbors) == 0 {
		p.bgpErr(b.Pos, "no neighbor")
	}
	if len(b.Announce) == 0 {
		p.bgpErr(b.Pos, "nothing to announce (announce { PREFIX })")
	}
	// IPv4 only for now: GoBGP sends a session only the address family of
	// its neighbor's address unless told otherwise, and IPv6 is untested.
	for _, pf := range b.Announce {
		if !pf.Addr().Is4() {
			p.bgpErr(b.Pos, "announce %s: IPv6 prefixes are not implemented yet", pf)
		}
	}
	for _, n := range b.Neighbors {
		if n.Address.IsValid() && !n.Address.Is4() {
			p.bgpErr(n.Pos, "neighbor %s: IPv6 neighbors are not implemented yet", n.Address)
		}
	}
	if b.NextHop.IsValid() && !b.NextHop.Is4() {
		p.bgpErr(b.Pos, "next_hop %s: IPv6 next hops are not implemented yet", b.NextHop)
	}
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
