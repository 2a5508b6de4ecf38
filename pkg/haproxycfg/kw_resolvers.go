package haproxycfg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The `resolvers` section (configuration manual section 5.3.2) and the
// server options and `server-template` that use it (section 5.2).

// secResolvers is the section kind of a resolvers section.
const secResolvers sectionKind = 100

// newResolvers is a section with haproxy 2.6's defaults.
func newResolvers(name string, pos Pos) *Resolvers {
	return &Resolvers{Name: name, Pos: pos, AcceptedPayloadSize: 512,
		HoldNX: 30 * time.Second, HoldRefused: 30 * time.Second, HoldTimeout: 30 * time.Second,
		HoldOther: 30 * time.Second, HoldValid: 10 * time.Second,
		ResolveRetries: 3, TimeoutResolve: time.Second, TimeoutRetry: time.Second}
}

func (p *parser) startResolvers(args []string) {
	p.endSection()
	p.section = secResolvers
	p.sectionName = "resolvers"
	p.resolvers = nil
	if len(args) < 2 || args[1] == "" {
		p.alert(args[0], "missing name for resolvers section.")
		return
	}
	if c, ok := validName(args[1]); !ok {
		p.alert(args[0], "character '%c' is not permitted in '%s' name '%s'.", c, args[0], args[1])
		return
	}
	if o := p.cfg.Resolver(args[1]); o != nil {
		p.diag(Alert, LocParsingCap, args[0], "resolvers '%s' has same name as another resolvers (declared at %s:%d).", args[1], o.Pos.File, o.Pos.Line)
		return
	}
	p.resolvers = newResolvers(args[1], p.pos())
	p.cfg.Resolvers = append(p.cfg.Resolvers, p.resolvers)
}

func (p *parser) resolversKeyword(args []string) {
	r := p.resolvers
	if r == nil {
		return // a bad section header, already reported
	}
	kw := args[0]
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch kw {
	case "nameserver":
		if arg(2) == "" {
			p.alert(kw, "'%s' expects <name> and <addr>[:<port>] as arguments.", kw)
			return
		}
		if c, ok := validName(args[1]); !ok {
			p.alert(kw, "character '%c' is not permitted in server name '%s'.", c, args[1])
			return
		}
		for _, ns := range r.Nameservers {
			if ns.Name == args[1] {
				p.diag(Alert, LocParsingCap, kw, "nameserver '%s' has same name as another nameserver (declared at %s:%d).", args[1], ns.Pos.File, ns.Pos.Line)
			}
		}
		ap, err := nameserverAddr(args[2])
		if err != nil {
			p.alert(kw, "'%s %s' : %s", kw, args[1], err)
			return
		}
		r.Nameservers = append(r.Nameservers, Nameserver{Name: args[1], Addr: ap, Pos: p.pos()})
	case "parse-resolv-conf":
		r.ParseResolvConf = true
	case "hold":
		if arg(2) == "" {
			p.alert(kw, "'%s' expects an <event> and a <time> as arguments.", kw)
			p.diag(Alert, LocNone, kw, "<event> can be either 'valid', 'nx', 'refused', 'timeout', or 'other'")
			return
		}
		d, ok := p.resolversTime(kw, args[1], args[2])
		if !ok {
			return
		}
		dst := map[string]*time.Duration{"nx": &r.HoldNX, "other": &r.HoldOther, "refused": &r.HoldRefused,
			"timeout": &r.HoldTimeout, "valid": &r.HoldValid, "obsolete": &r.HoldObsolete}[args[1]]
		if dst == nil {
			p.alert(kw, "'%s' unknown <event>: '%s', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'.", kw, args[1])
			return
		}
		*dst = d
	case "accepted_payload_size":
		if arg(1) == "" {
			p.alert(kw, "'%s' expects <nb> as argument.", kw)
			return
		}
		n, _ := strconv.Atoi(args[1])
		// haproxy's bounds: a DNS header (12 bytes) to a UDP datagram.
		if n < 12 || n > 65535 {
			p.alert(kw, "'%s' must be between %d and %d inclusive (was %s).", kw, 12, 65535, args[1])
			return
		}
		r.AcceptedPayloadSize = n
	case "resolve_retries":
		if arg(1) == "" {
			p.alert(kw, "'%s' expects <nb> as argument.", kw)
			return
		}
		r.ResolveRetries = atoi(args[1])
	case "timeout":
		if arg(1) == "" {
			p.alert(kw, "'%s' expects 'retry' or 'resolve' and <time> as arguments.", kw)
			return
		}
		if args[1] != "retry" && args[1] != "resolve" {
			p.alert(kw, "'%s' expects 'retry' or 'resolve' and <time> as arguments got '%s'.", kw, args[1])
			return
		}
		if arg(2) == "" {
			p.alert(kw, "'%s %s' expects <time> as argument.", kw, args[1])
			return
		}
		d, ok := p.resolversTime(kw+" "+args[1], "", args[2])
		if !ok {
			return
		}
		if args[1] == "retry" {
			r.TimeoutRetry = d
		} else {
			r.TimeoutResolve = d
		}
	default:
		p.alert(kw, "unknown keyword '%s' in '%s' section", kw, "resolvers")
	}
}

// resolversTime reads a time argument of a resolvers keyword with
// haproxy's messages; name is the event of `hold`, "" for `timeout`.
func (p *parser) resolversTime(kw, name, v string) (time.Duration, bool) {
	where := kw // haproxy names the keyword, not the event
	_ = name
	tv := parseTime(v)
	switch {
	case tv.Err == timeOverflow:
		p.diag(Alert, LocParsingTight, kw, "timer overflow in argument <%s> to <%s>, maximum value is 2147483647 ms (~24.8 days).", v, where)
		return 0, false
	case tv.Err != timeOK:
		c := byte(0)
		if tv.Err == timeBadChar {
			c = tv.BadChar
		}
		p.diag(Alert, LocParsingTight, kw, "unexpected character '%c' in argument to <%s>.", c, where)
		return 0, false
	}
	return tv.D, true
}

// nameserverAddr reads a nameserver address: [udp@]IP:PORT, the port
// being mandatory. TCP name servers (tcp@) are not implemented.
func nameserverAddr(s string) (netip.AddrPort, error) {
	switch {
	case strings.HasPrefix(s, "udp@"), strings.HasPrefix(s, "udp4@"), strings.HasPrefix(s, "udp6@"):
		s = s[strings.IndexByte(s, '@')+1:]
	case strings.Contains(s, "@"):
		return netip.AddrPort{}, fmt.Errorf("address '%s' is not supported by gproxy (only UDP name servers are)", s)
	}
	hp := splitHostPort(s)
	a, err := netip.ParseAddr(hp.Host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("invalid address: '%s'", s)
	}
	if hp.Port == "" {
		return netip.AddrPort{}, fmt.Errorf("missing port specification in '%s'", s)
	}
	n, err := strconv.Atoi(hp.Port)
	if err != nil || n < 1 || n > 65535 {
		return netip.AddrPort{}, fmt.Errorf("invalid port '%s'", hp.Port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(n)), nil
}

// serverDNSOption parses the server options of run-time resolution. It
// reports how many values it consumed, whether opt was one of them, and
// whether it was valid.
func serverDNSOption(srv *Server, opts []string, i int, fail func(string, ...any)) (n int, handled, ok bool) {
	opt := opts[i]
	switch opt {
	case "resolvers", "resolve-prefer", "resolve-opts":
	default:
		return 0, false, true
	}
	val := ""
	if i+1 < len(opts) {
		val = opts[i+1]
	}
	if val == "" {
		fail("'%s' expects an argument", opt)
		return 1, true, false
	}
	switch opt {
	case "resolvers":
		srv.DNS.Resolvers = val
	case "resolve-prefer":
		switch val {
		case "ipv4":
			srv.DNS.PreferIPv4 = true
		case "ipv6":
			srv.DNS.PreferIPv4 = false
		default:
			fail("'%s' expects either ipv4 or ipv6 as argument.", opt)
			return 1, true, false
		}
	case "resolve-opts":
		for _, o := range strings.Split(val, ",") {
			switch o {
			case "allow-dup-ip":
				srv.DNS.AllowDupIP = true
			case "prevent-dup-ip":
				srv.DNS.AllowDupIP = false
			case "ignore-weight":
				srv.DNS.IgnoreWeight = true
			default:
				fail("'%s' : unknown resolve-opts option '%s', supported methods are 'allow-dup-ip', 'ignore-weight', and 'prevent-dup-ip'.", opt, o)
				return 1, true, false
			}
		}
	}
	return 1, true, true
}

// isHostname reports whether a server's host is a name to resolve.
func isHostname(host string) bool {
	if host == "" {
		return false
	}
	_, err := netip.ParseAddr(host)
	return err != nil
}

// serverTemplate parses `server-template PREFIX NUM|LOW-HIGH ADDR
// [options]`: servers PREFIX<LOW> to PREFIX<HIGH> with the same address
// and options, which run-time resolution fills with different addresses.
func (p *parser) serverTemplate(args []string) {
	kw := args[0]
	if len(args) < 4 || args[3] == "" {
		p.diag(Alert, LocBracket, kw, "'%s' expects <prefix> <nb | range> <addr>[:<port>] as arguments.", kw)
		return
	}
	if c, ok := validName(args[1]); !ok {
		p.diag(Alert, LocBracket, kw, "character '%c' is not permitted in %s prefix '%s'.", c, kw, args[1])
		return
	}
	lo, hi, ok := templateRange(args[2])
	if !ok {
		p.diag(Alert, LocBracket, kw, "Wrong %s number or range arg '%s'.", kw, args[2])
		return
	}
	if p.cur.isDefault || !p.cur.px.Kind.HasBackend() {
		p.server(append([]string{kw, args[1] + strconv.Itoa(lo)}, args[3:]...), false)
		return
	}
	px := p.cur.px
	before := len(px.Servers)
	p.server(append([]string{kw, args[1] + strconv.Itoa(lo)}, args[3:]...), false)
	if len(px.Servers) != before+1 {
		return
	}
	first := px.Servers[before]
	if first.ID != 0 {
		// `id` on a template would give every server the same one.
		p.diag(Alert, LocBracket, kw, "'%s %s' : 'id' is not accepted on a server template.", kw, args[1])
		px.Servers = px.Servers[:before]
		return
	}
	for n := lo + 1; n <= hi; n++ {
		s := *first
		s.Name = args[1] + strconv.Itoa(n)
		if o := px.Server(s.Name); o != nil {
			p.diag(Alert, LocParsing, kw, "%s '%s', another server named '%s' was already defined at line %d, please use distinct names.",
				px.Kind, px.Name, s.Name, o.Pos.Line)
			return
		}
		px.Servers = append(px.Servers, &s)
	}
}

// templateRange reads NUM (1 to NUM) or LOW-HIGH.
func templateRange(s string) (lo, hi int, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		n, err := strconv.Atoi(s)
		return 1, n, err == nil && n > 0
	}
	l, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	return l, h, err1 == nil && err2 == nil && l > 0 && l <= h
}

// finishResolvers checks the resolvers sections and the servers that
// name one.
func (p *parser) finishResolvers() {
	for _, px := range p.cfg.Proxies {
		for _, s := range px.Servers {
			if strings.HasPrefix(s.DNS.Hostname, "_") && (s.DNS.Resolvers == "" || px.LoadServerState != "") {
				// Filled from SRV answers only with resolvers; the
				// matching of a state file's servers to the records
				// (haproxy's named_servers) is not implemented.
				p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: s.Pos, Keyword: "server", Style: LocBracket,
					Msg: fmt.Sprintf("'server %s/%s' : SRV records ('%s') without 'resolvers' or with a server state file are not implemented by gproxy.", px.Name, s.Name, s.DNS.Hostname)})
				continue
			}
			if s.DNS.Resolvers == "" {
				continue
			}
			if p.cfg.Resolver(s.DNS.Resolvers) == nil && s.DNS.Resolvers != "default" {
				p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: s.Pos, Style: LocNone,
					Msg: fmt.Sprintf("%s '%s', server '%s': unable to find required resolvers '%s'", px.Kind, px.Name, s.Name, s.DNS.Resolvers)})
			}
		}
	}
	if p.cfg.Resolver("default") == nil {
		// haproxy 2.6 always has a "default" section reading
		// /etc/resolv.conf; it is only used when a server names it.
		for _, px := range p.cfg.Proxies {
			for _, s := range px.Servers {
				if s.DNS.Resolvers == "default" {
					r := newResolvers("default", Pos{})
					r.ParseResolvConf = true
					p.cfg.Resolvers = append(p.cfg.Resolvers, r)
					return
				}
			}
		}
	}
}
