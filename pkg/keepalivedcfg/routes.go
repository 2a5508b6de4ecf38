package keepalivedcfg

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// virtual_routes, virtual_rules (in a vrrp_instance: present while MASTER)
// and static_ipaddress, static_routes, static_rules (top level: present
// while the daemon runs), read as keepalived 2.2.7 reads them
// (vrrp_iproute.c alloc_route, vrrp_iprule.c alloc_rule, vrrp_parser.c).
// Options keepalived knows that gkeepalived does not apply (metrics such as
// mtu, nexthop lists, encapsulation, realms, port ranges...) are refused
// with file:line rather than dropped.

// Route is one route line.
type Route struct {
	// Type is the route type: "unicast" (default), "blackhole",
	// "unreachable", "prohibit" or "throw".
	Type   string
	Dst    netip.Prefix
	Src    netip.Addr // src; invalid = none
	Via    netip.Addr // via / gw; invalid = none
	Dev    string     // dev / oif; "" = none (the kernel picks)
	Table  uint32     // default 254 (main)
	Metric uint32     // metric / priority / preference
	// HasMetric: a metric was given (0 is then sent as is).
	HasMetric bool
	Scope     uint8 // default 0 (universe), as keepalived sends it
	Protocol  uint8 // default 18 (keepalived)
	OnLink    bool
	// Or: the deprecated "via A or B": a multipath route over the two
	// gateways (Via is then invalid).
	Or []netip.Addr `json:",omitempty"`
	// NoTrack: the route's interface going down does not move the
	// instance (no_track, or no dev given).
	NoTrack bool
	Pos     Pos `json:"-"` // out of reload comparisons (a moved line is no change)
}

// Rule actions.
const (
	RuleToTable     = "table"
	RuleBlackhole   = "blackhole"
	RuleUnreachable = "unreachable"
	RuleProhibit    = "prohibit"
	RuleNop         = "nop"
	RuleGoto        = "goto"
)

// Rule is one rule line.
type Rule struct {
	From, To netip.Prefix // invalid = any
	Not      bool
	Action   string // Rule* constants
	Table    uint32 // for RuleToTable
	Goto     uint32 // for RuleGoto
	Priority uint32 // preference; keepalived assigns 16384, 16383... when absent
	FwMark   uint32
	FwMask   uint32
	// HasFwMark / HasFwMask: fwmark (and /mask) given.
	HasFwMark, HasFwMask bool
	TOS                  uint8
	IIf, OIf             string
	Protocol             uint8 // 18 (keepalived) unless no_track with protocol
	NoTrack              bool
	Family               int
	Pos                  Pos `json:"-"`
}

// routeRefused are the route options keepalived 2.2.7 knows that gkeepalived
// does not apply: refused, with the number of parameters each takes.
var routeRefused = map[string]int{
	"as": 1, "from": 1, "tos": 1, "dsfield": 1, "encap": 0, "expires": 1, "mtu": 1, "hoplimit": 1,
	"advmss": 1, "rtt": 1, "rttvar": 1, "reordering": 1, "window": 1, "cwnd": 1, "ssthresh": 1,
	"realms": 1, "rto_min": 1, "initcwnd": 1, "initrwnd": 1, "features": 1, "quickack": 1,
	"congctl": 1, "pref": 1, "ttl-propagate": 1, "fastopen_no_cookie": 1, "add": 0, "prepend": 0,
	"append": 0, "nexthop": 0, "track_group": 1, "vrf": 1,
}

// ruleRefused: the same for rules.
var ruleRefused = map[string]int{
	"realms": 1, "suppress_prefixlength": 1, "sup_pl": 1, "suppress_ifgroup": 1, "sup_group": 1,
	"tunnel-id": 1, "uidrange": 1, "l3mdev": 0, "ipproto": 1, "sport": 1, "dport": 1, "track_group": 1,
}

// routeValued and ruleValued are the options that take one value word
// (via/gw and "or" take theirs after their own messages).
var routeValued = map[string]bool{"src": true, "table": true, "protocol": true,
	"scope": true, "metric": true, "priority": true, "preference": true, "dev": true, "oif": true}

var ruleValued = map[string]bool{"from": true, "to": true, "table": true, "lookup": true, "preference": true,
	"order": true, "priority": true, "tos": true, "dsfield": true, "fwmark": true, "dev": true, "iif": true,
	"oif": true, "protocol": true}

var routeTypes = map[string]bool{"unicast": true, "blackhole": true, "unreachable": true, "prohibit": true, "throw": true}

// Other types keepalived accepts (find_rttables_rtntype).
var routeTypesRefused = map[string]bool{"local": true, "broadcast": true, "anycast": true, "multicast": true, "nat": true, "xresolve": true}

var rtnNames = []string{"unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve"}

// rtnType is find_rttables_rtntype: a route type name or number, as its
// name ("type12" beyond the named ones).
func rtnType(s string) (string, bool) {
	if routeTypes[s] || routeTypesRefused[s] {
		return s, true
	}
	v, ok := parseU32(s)
	if !ok || v > 255 {
		return "", false
	}
	if int(v) < len(rtnNames) {
		return rtnNames[v], true
	}
	return fmt.Sprintf("type%d", v), true
}

// rtTable is find_rttables_table for the tables iproute2 always names; a
// number is any 32-bit value.
func rtTable(s string) (uint32, bool) {
	switch s {
	case "main":
		return 254, true
	case "local":
		return 255, true
	case "default":
		return 253, true
	case "unspec":
		return 0, true
	}
	return parseU32(s)
}

func rtScope(s string) (uint8, bool) {
	switch s {
	case "global", "universe":
		return 0, true
	case "site":
		return 200, true
	case "link":
		return 253, true
	case "host":
		return 254, true
	case "nowhere":
		return 255, true
	}
	v, ok := parseU32(s)
	return uint8(v), ok && v <= 255
}

var rtProtos = map[string]uint8{"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4,
	"gated": 8, "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14, "ntk": 15,
	"dhcp": 16, "keepalived": 18, "babel": 42, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192}

func rtProto(s string) (uint8, bool) {
	if v, ok := rtProtos[s]; ok {
		return v, true
	}
	v, ok := parseU32(s)
	return uint8(v), ok && v <= 255
}

func rtDSField(s string) (uint8, bool) {
	v, err := strconv.ParseUint(s, 16, 8)
	return uint8(v), err == nil
}

// rtNames reads an iproute2 names file (/etc/iproute2/rt_tables...) as
// keepalived's rttables.c does: lines of exactly "ID NAME", ID a number
// up to max; comments and other lines skipped. Read once per parse.
func (p *parser) rtNames(path string, max uint32) map[string]uint32 {
	if m, ok := p.rtFiles[path]; ok {
		return m
	}
	m := map[string]uint32{}
	if b, err := p.opts.FS.ReadFile(path); err == nil {
		for _, ln := range strings.Split(string(b), "\n") {
			if i := strings.IndexByte(ln, '#'); i >= 0 {
				ln = ln[:i]
			}
			f := strings.Fields(ln)
			if len(f) != 2 {
				continue
			}
			if id, ok := parseU32(f[0]); ok && id <= max {
				if _, dup := m[f[1]]; !dup {
					m[f[1]] = id
				}
			}
		}
	}
	if p.rtFiles == nil {
		p.rtFiles = map[string]map[string]uint32{}
	}
	p.rtFiles[path] = m
	return m
}

// rtTable is find_rttables_table: the names iproute2 always has, those of
// /etc/iproute2/rt_tables, or a number.
func (p *parser) rtTable(s string) (uint32, bool) {
	if v, ok := rtTable(s); ok {
		return v, true
	}
	v, ok := p.rtNames("/etc/iproute2/rt_tables", math.MaxUint32)[s]
	return v, ok
}

// rtProto is find_rttables_proto, with /etc/iproute2/rt_protos.
func (p *parser) rtProto(s string) (uint8, bool) {
	if v, ok := rtProto(s); ok {
		return v, true
	}
	v, ok := p.rtNames("/etc/iproute2/rt_protos", 255)[s]
	return uint8(v), ok
}

// parseU32 reads a number as C's strtoul(s, &end, 0): decimal, 0x hex or 0
// octal, the whole string.
func parseU32(s string) (uint32, bool) {
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 0, 32)
	return uint32(v), err == nil
}

// readNum reads a number as keepalived's read_unsigned_base_strvec and
// get_u32 do (base 0: decimal, 0x hex, 0 octal), reporting a bad one with
// their words.
func (p *parser) readNum(l line, s string, max uint64) (uint32, bool) {
	t := strings.TrimLeft(s, whiteSpace)
	if strings.HasPrefix(t, "-") {
		p.reportAt(l.pos, Error, classInvalidNumber, "negative number '%s'", s)
		return 0, false
	}
	v, err := strconv.ParseUint(t, 0, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		p.reportAt(l.pos, Error, classInvalidNumber, "number '%s' outside unsigned integer range", s)
	case err != nil:
		p.reportAt(l.pos, Error, classInvalidNumber, "invalid number '%s'", s)
	case v > max:
		p.reportAt(l.pos, Error, classInvalidNumber, "number '%s' outside range [0, %d]", s, max)
	default:
		return uint32(v), true
	}
	return 0, false
}

// isAnyPrefix: parse_route's "default", "all" and "any", of no family
// until the other fields give one (IPv4 if none).
func isAnyPrefix(s string) bool { return s == "default" || s == "all" || s == "any" }

// anyPrefix is the zero-length prefix of a family.
func anyPrefix(fam int) netip.Prefix {
	if fam == 6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

// parseRoutePrefix is parse_route: an address with an optional /len, or
// "default" (given the family fam; see isAnyPrefix).
func parseRoutePrefix(s string, fam int) (netip.Prefix, bool) {
	if isAnyPrefix(s) {
		return anyPrefix(fam), true
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, false
		}
		return p, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func famOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// route is alloc_route for one line; it returns false when keepalived
// drops the line.
func (p *parser) route(l line) (Route, bool) {
	r := Route{Table: 254, Protocol: 18, Pos: l.pos, Type: "unicast"}
	w := l.words
	fam := 0
	setFam := func(f int, msg string, args ...any) bool {
		if fam == 0 {
			fam = f
			return true
		}
		if fam != f {
			p.errorf(l, msg, args...)
			return false
		}
		return true
	}
	hasProto, dstAny := false, false
	i := 0
	// take moves to the option's value, reporting it missing as keepalived.
	take := func() (string, bool) {
		if i+1 >= len(w) {
			p.arg(l, i+1)
			return "", false
		}
		i++
		return w[i], true
	}
	for ; i < len(w); i++ {
		s := w[i]
		if n, ok := routeRefused[s]; ok {
			p.refusedf(l, "route option '%s' is not implemented by gkeepalived", s)
			i += n
			continue
		}
		var v string
		if routeValued[s] {
			var ok bool
			if v, ok = take(); !ok {
				return r, false
			}
		}
		switch s {
		// keepalived skips the word after inet/inet6 as well.
		case "inet":
			if !setFam(4, "inet specified for IPv6 route") {
				return r, false
			}
			i++
		case "inet6":
			if !setFam(6, "inet6 specified for IPv4 route") {
				return r, false
			}
			i++
		case "src":
			a, err := netip.ParseAddr(v)
			if err != nil {
				p.errorf(l, "invalid route src address %s", v)
				return r, false
			}
			if !setFam(famOf(a), "Cannot mix IPv4 and IPv6 addresses for route") {
				return r, false
			}
			r.Src = a
		case "via", "gw":
			if s == "gw" {
				p.errorf(l, "\"gw\" for routes is deprecated. Please use \"via\"")
			}
			v, ok := take()
			if !ok {
				return r, false
			}
			if v == "inet" || v == "inet6" {
				if v, ok = take(); !ok {
					return r, false
				}
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				p.errorf(l, "invalid route via address %s", v)
				return r, false
			}
			if !setFam(famOf(a), "Cannot mix IPv4 and IPv6 addresses for route") {
				return r, false
			}
			r.Via = a
		case "table":
			t, ok := p.rtTable(v)
			if !ok {
				p.errorf(l, "Routing table %s not found for route", v)
				return r, false
			}
			r.Table = t
		case "protocol":
			pr, ok := p.rtProto(v)
			if !ok {
				p.errorf(l, "Protocol %s not found or invalid for route", v)
				return r, false
			}
			r.Protocol, hasProto = pr, true
		case "scope":
			sc, ok := rtScope(v)
			if !ok {
				p.errorf(l, "Scope %s not found or invalid for route", v)
				return r, false
			}
			r.Scope = sc
		case "metric", "priority", "preference":
			m, ok := p.readNum(l, v, math.MaxUint32)
			if !ok {
				p.errorf(l, "Invalid metric %s specified for route", v)
				return r, false
			}
			r.Metric, r.HasMetric = m, true
		case "dev", "oif":
			if p.opts.Interfaces != nil {
				if _, ok := p.opts.Interfaces(v); !ok {
					p.errorf(l, "WARNING - interface %s for VROUTE nexthop doesn't exist", v)
					p.noInterface(l)
					return r, false
				}
			}
			r.Dev = v
		case "onlink":
			r.OnLink = true
		case "or":
			p.errorf(l, "\"or\" for routes is deprecated. Please use \"nexthop\"")
			if len(r.Or) > 0 {
				p.errorf(l, "\"or\" route already specified - ignoring subsequent")
				i++
				continue
			}
			v, ok := take()
			if !ok {
				return r, false
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				p.errorf(l, "VRRP parsed invalid IP %s. skipping IP...", v)
				p.errorf(l, "Invalid \"or\" address %s", v)
				return r, false
			}
			if !r.Via.IsValid() {
				p.refusedf(l, "\"or\" without a preceding via is not implemented by gkeepalived")
			}
			r.Or = []netip.Addr{r.Via, a}
			r.Via = netip.Addr{}
		case "no_track":
			r.NoTrack = true
		default:
			// As keepalived: a type follows no "to" ("to blackhole X" is
			// an unknown keyword).
			if s == "to" {
				i++
			} else if typ, ok := rtnType(s); ok {
				if !routeTypes[typ] {
					p.refusedf(l, "route type '%s' is not implemented by gkeepalived", s)
				}
				r.Type = typ
				i++
			}
			if i >= len(w) {
				p.errorf(l, "Route must have a destination")
				return r, false
			}
			d, ok := parseRoutePrefix(w[i], fam)
			dstAny = isAnyPrefix(w[i])
			if !ok {
				p.errorf(l, "VRRP parsed invalid IP %s. skipping IP...", w[i])
				p.errorf(l, "unknown route keyword %s", w[i])
				return r, false
			}
			if !dstAny && !setFam(famOf(d.Addr()), "Cannot mix IPv4 and IPv6 addresses for route (%s)", w[i]) {
				return r, false
			}
			r.Dst = d
		}
	}
	if !r.Dst.IsValid() {
		p.errorf(l, "Route must have a destination")
		return r, false
	}
	if !r.NoTrack {
		if hasProto && r.Protocol != 18 {
			p.errorf(l, "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(%d), resetting protocol", 18)
		}
		r.Protocol = 18
		if r.Dev == "" {
			p.errorf(l, "Warning - cannot track route %s with no interface specified, not tracking", r.Dst)
			r.NoTrack = true
		}
	}
	if dstAny {
		r.Dst = anyPrefix(fam)
	}
	return r, true
}

// rule is alloc_rule for one line; false when keepalived drops it.
func (p *parser) rule(l line, prio *[2]uint32) (Rule, bool) {
	r := Rule{Pos: l.pos}
	w := l.words
	fam := 0
	setFam := func(f int) bool {
		if fam == 0 {
			fam = f
			return true
		}
		if fam != f {
			p.errorf(l, "rule specification has mixed IPv4 and IPv6")
			return false
		}
		return true
	}
	i := 0
	// take moves to the option's value, reporting it missing as keepalived.
	take := func() (string, bool) {
		if i+1 >= len(w) {
			p.arg(l, i+1)
			return "", false
		}
		i++
		return w[i], true
	}
	hasPrio, hasProto, fromAny, toAny := false, false, false, false
	setAction := func(a string) bool {
		if r.Action != "" {
			p.errorf(l, "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule")
			return false
		}
		r.Action = a
		return true
	}
	for ; i < len(w); i++ {
		s := w[i]
		if n, ok := ruleRefused[s]; ok {
			p.refusedf(l, "rule option '%s' is not implemented by gkeepalived", s)
			i += n
			continue
		}
		var v string
		if ruleValued[s] {
			var ok bool
			if v, ok = take(); !ok {
				return r, false
			}
		}
		switch s {
		case "inet":
			if fam == 6 {
				p.errorf(l, "inet specified for IPv6 rule")
				return r, false
			}
			fam = 4
			i++ // as keepalived, the next word is skipped
		case "inet6":
			if fam == 4 {
				p.errorf(l, "inet6 specified for IPv4 rule")
				return r, false
			}
			fam = 6
			i++
		case "from", "to":
			pf, ok := parseRoutePrefix(v, fam)
			if !ok {
				p.errorf(l, "VRRP parsed invalid IP %s. skipping IP...", v)
				p.errorf(l, "Invalid rule %s address %s", s, v)
				return r, false
			}
			anyAddr := isAnyPrefix(v)
			if !anyAddr && !setFam(famOf(pf.Addr())) {
				return r, false
			}
			if s == "from" {
				r.From, fromAny = pf, anyAddr
			} else {
				r.To, toAny = pf, anyAddr
			}
		case "table", "lookup":
			t, ok := p.rtTable(v)
			if !ok {
				p.errorf(l, "Routing table %s not found for rule", v)
				return r, false
			}
			if t == 0 {
				p.errorf(l, "Table 0 is not valid")
				return r, false
			}
			if !setAction(RuleToTable) {
				return r, false
			}
			r.Table = t
		case "not":
			r.Not = true
		case "preference", "order", "priority":
			n, ok := p.readNum(l, v, math.MaxUint32)
			if !ok {
				p.errorf(l, "Invalid rule preference %s specified", s)
				return r, false
			}
			r.Priority, hasPrio = n, true
		case "tos", "dsfield":
			t, ok := rtDSField(v)
			if !ok {
				p.errorf(l, "TOS value %s is invalid", v)
				return r, false
			}
			r.TOS = t
		case "fwmark":
			m, mask, hasMask := v, "", false
			if a, b, found := strings.Cut(v, "/"); found {
				m, mask, hasMask = a, b, true
			}
			mv, ok1 := parseU32(m)
			var kv uint32
			ok2 := true
			if hasMask {
				kv, ok2 = parseU32(mask)
			}
			if !ok1 || !ok2 {
				p.errorf(l, "Invalid rule fwmark %s specified", v)
				return r, false
			}
			r.FwMark, r.HasFwMark, r.FwMask, r.HasFwMask = mv, true, kv, hasMask
		case "dev", "iif", "oif":
			if p.opts.Interfaces != nil {
				if _, ok := p.opts.Interfaces(v); !ok {
					p.errorf(l, "WARNING - interface %s for rule doesn't exist", v)
					p.noInterface(l)
					return r, false
				}
			}
			if s == "oif" {
				r.OIf = v
			} else {
				r.IIf = v
			}
		case "protocol":
			pr, ok := p.readNum(l, v, 255)
			if !ok {
				// keepalived keeps the rule, without the protocol.
				p.errorf(l, "Invalid protocol %s", v)
				continue
			}
			r.Protocol, hasProto = uint8(pr), true
		case "no_track":
			r.NoTrack = true
		default:
			if s == "type" {
				v, ok := take()
				if !ok {
					return r, false
				}
				s = v
			}
			switch {
			case s == "goto":
				v, ok := take()
				if !ok {
					return r, false
				}
				n, ok := p.readNum(l, v, math.MaxUint32)
				if !ok {
					p.errorf(l, "Invalid target %s specified", s)
					return r, false
				}
				if !setAction(RuleGoto) {
					return r, false
				}
				r.Goto = n
			case s == "nop":
				if !setAction(s) {
					return r, false
				}
			case func() bool { _, ok := rtnType(s); return ok }():
				typ, _ := rtnType(s)
				if typ != "blackhole" && typ != "unreachable" && typ != "prohibit" {
					p.errorf(l, "Invalid rule action %s", s)
					return r, false
				}
				if !setAction(typ) {
					return r, false
				}
			default:
				p.errorf(l, "Unknown rule option %s", s)
				return r, false
			}
		}
	}
	if r.Action == RuleGoto {
		if !hasPrio {
			p.errorf(l, "Invalid rule - goto target %d specified without preference", r.Goto)
			return r, false
		}
		if r.Priority >= r.Goto {
			p.errorf(l, "Invalid rule - preference %d >= goto target %d", r.Priority, r.Goto)
			return r, false
		}
	}
	if r.Action == "" {
		p.errorf(l, "No action specified for rule - ignoring")
		return r, false
	}
	if !r.NoTrack {
		if hasProto && r.Protocol != 18 {
			p.errorf(l, "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(%d), resetting protocol", 18)
		}
		r.Protocol = 18
	}
	if fam == 0 {
		fam = 4
	}
	r.Family = fam
	if fromAny {
		r.From = anyPrefix(fam)
	}
	if toAny {
		r.To = anyPrefix(fam)
	}
	if !hasPrio {
		k := 0
		if fam == 6 {
			k = 1
		}
		r.Priority = prio[k]
		prio[k]--
		p.errorf(l, "Rule has no preference specified - setting to %d. This is probably not what you want.", r.Priority)
	}
	return r, true
}

// The handlers of the five blocks.

func (p *parser) routesBlock(l line, dst *[]Route) {
	p.valueBlock(l, func(v line) {
		if r, ok := p.route(v); ok {
			*dst = append(*dst, r)
		}
	})
}

func (p *parser) rulesBlock(l line, dst *[]Rule) {
	if p.rulePrio == nil {
		p.rulePrio = &[2]uint32{16384, 16384}
	}
	p.valueBlock(l, func(v line) {
		if r, ok := p.rule(v, p.rulePrio); ok {
			*dst = append(*dst, r)
		}
	})
}

func (p *parser) staticAddress(l line) {
	v, ok := p.parseIPAddress(l)
	if !ok {
		return
	}
	if v.Dev == "" {
		// keepalived's default interface: eth0 (default_interface is
		// refused).
		if p.opts.Interfaces != nil {
			if _, ok := p.opts.Interfaces("eth0"); !ok {
				p.reportAt(l.pos, Fatal, classGeneral, "Static address %s requires either an interface or default interface must exist", l.words[0])
				return
			}
		}
		v.Dev = "eth0"
	}
	p.cfg.StaticAddresses = append(p.cfg.StaticAddresses, v)
}
