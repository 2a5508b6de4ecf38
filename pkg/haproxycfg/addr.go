package haproxycfg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Address parsing, modelled on what haproxy 2.6's str2sa_range accepts
// (configuration manual section 11, "Address formats").

// addrFamily is the family a prefix such as "ipv4@" forces.
type addrFamily int

const (
	famAny addrFamily = iota
	fam4
	fam6
	famUnix  // a path, unix@, abns@: not supported by gproxy
	famOther // fd@, sockpair@, quic4@, ...: not supported by gproxy
)

// stripPrefix removes an address family prefix and reports the family.
func stripPrefix(s string, dgram bool) (string, addrFamily, string) {
	i := strings.Index(s, "@")
	if i < 0 {
		if strings.HasPrefix(s, "/") {
			return s, famUnix, ""
		}
		return s, famAny, ""
	}
	pfx, rest := s[:i], s[i+1:]
	switch pfx {
	case "ipv4", "tcp4":
		return rest, fam4, pfx
	case "ip":
		return rest, famAny, pfx
	case "ipv6", "tcp6":
		return rest, fam6, pfx
	case "tcp":
		return rest, famAny, pfx
	case "udp", "udp4", "udp6":
		if dgram {
			switch pfx {
			case "udp4":
				return rest, fam4, pfx
			case "udp6":
				return rest, fam6, pfx
			}
			return rest, famAny, pfx
		}
		return rest, famOther, pfx
	case "unix", "abns", "uxst", "uxdg":
		return rest, famUnix, pfx
	}
	return rest, famOther, pfx
}

// hostPort is an address split at its port separator.
type hostPort struct {
	Raw     string // the host as written, brackets included, for messages
	Host    string // without brackets; "" for "*" or empty
	Port    string // "" when absent
	HasPort bool
}

// splitHostPort splits "host:port", "[v6]:port", ":port", "*:port",
// and unbracketed IPv6 ("::1:80": the last colon separates the port).
func splitHostPort(s string) hostPort {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return hostPort{Host: s}
		}
		host, rest := s[1:end], s[end+1:]
		if strings.HasPrefix(rest, ":") {
			return hostPort{Raw: s[:end+1], Host: host, Port: rest[1:], HasPort: true}
		}
		return hostPort{Raw: s, Host: host + rest}
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return hostPort{Raw: s, Host: s}
	}
	return hostPort{Raw: s[:i], Host: s[:i], Port: s[i+1:], HasPort: true}
}

// checkHost validates an IP literal or a host name. Names are not resolved
// here (parsing is pure); the runtime resolves them as haproxy does at
// startup. It returns the canonical host and whether it is acceptable.
func checkHost(h string, fam addrFamily) (string, bool) {
	if h == "" || h == "*" {
		if fam == fam6 {
			return "::", true
		}
		return "", true
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return "", false
		}
		if fam == fam4 && !a.Is4() || fam == fam6 && !a.Is6() {
			return "", false
		}
		return a.String(), true
	}
	// Not an IP literal: a DNS name. Dotted numbers that failed the IP
	// parse (300.1.1.1) are not names.
	allDigits := true
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(isAlnum(c) || c == '-' || c == '.' || c == '_') {
			return "", false
		}
		if isAlpha(c) {
			allDigits = false
		}
	}
	if allDigits {
		return "", false
	}
	return h, true
}

// parsePortNum parses a decimal port 0..65535 with no sign.
func parsePortNum(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, n <= 65535
}

// bindAddr parses one `bind` argument (possibly a comma list, possibly
// with port ranges) and appends the addresses to the current proxy.
// tmpl carries the bind line's options that each address inherits.
func (p *parser) bindAddr(kw, arg string, tmpl Bind) {
	parts := strings.Split(arg, ",")
	for n, one := range parts {
		if orig := one; one != "" {
			if one = envExpand(one, p.env); one == "" {
				p.alert(kw, "'%s' : '%s' resolves to an empty address (environment variable missing?)", kw, orig)
				continue
			}
		}
		if one == "" {
			if n < len(parts)-1 {
				p.alert(kw, "'%s' : '' resolves to an empty address (environment variable missing?)", kw)
			}
			continue
		}
		addr, fam, pfx := stripPrefix(one, false)
		if strings.HasPrefix(pfx, "udp") {
			p.alert(kw, "'%s' : dgram-type address not acceptable in '%s'", kw, one)
			continue
		}
		if fam == famUnix || fam == famOther {
			sa, msg, ok := p.parseSockAddr(pfx, addr, one, true)
			switch {
			case pfx == "uxdg":
				p.alert(kw, "'%s' : dgram-type address not acceptable in '%s'", kw, one)
			case !ok:
				p.refuseAddr(LocParsing, kw, "", pfx, one)
			case msg != "":
				p.alert(kw, "'%s' : %s", kw, msg)
			case p.cur != nil:
				b := tmpl
				b.Sock, b.Pos = sa, p.pos()
				p.cur.px.Binds = append(p.cur.px.Binds, b)
			}
			continue
		}
		hp := splitHostPort(addr)
		if !hp.HasPort || hp.Port == "" {
			p.alert(kw, "'%s' : missing port specification in '%s'", kw, one)
			continue
		}
		host, ok := checkHost(hp.Host, fam)
		if !ok {
			p.alert(kw, "'%s' : invalid address: '%s' in '%s'", kw, hp.Raw, one)
			continue
		}
		if hp.Port[0] == '+' || hp.Port[0] == '-' {
			p.alert(kw, "'%s' : port offset not permitted here in '%s'", kw, one)
			continue
		}
		ends := strings.SplitN(hp.Port, "-", 2)
		var nums [2]int
		bad := false
		for k, e := range ends {
			for j := 0; j < len(e); j++ {
				if e[j] < '0' || e[j] > '9' {
					// haproxy reads "8x" as 8; gproxy refuses it.
					p.alert(kw, "'%s' : invalid character '%c' in port number '%s' in '%s'", kw, e[j], e, one)
					bad = true
					break
				}
			}
			if bad {
				break
			}
			v, okp := parsePortNum(e)
			if !okp || v == 0 {
				p.alert(kw, "'%s' : invalid port '%s'", kw, e)
				bad = true
				break
			}
			nums[k] = v
		}
		if bad {
			continue
		}
		l, h := nums[0], nums[0]
		if len(ends) == 2 {
			h = nums[1]
			if h < l {
				p.alert(kw, "'%s' : invalid port range '%s'", kw, hp.Port)
				continue
			}
		}
		if p.cur == nil {
			continue
		}
		b := tmpl
		b.Host, b.Pos = host, p.pos()
		switch {
		case fam == fam4:
			b.Family = FamilyIPv4
		case fam == fam6:
			b.Family = FamilyIPv6
		default:
			if a, err := netip.ParseAddr(host); err == nil {
				b.Family = FamilyIPv4
				if a.Is6() {
					b.Family = FamilyIPv6
				}
			}
		}
		for port := l; port <= h; port++ {
			b.Port = port
			p.cur.px.Binds = append(p.cur.px.Binds, b)
		}
	}
}

// serverAddr parses a `server` address: host with an optional port.
// It returns ok=false after reporting an alert.
func (p *parser) serverAddr(id, arg string) (host string, port int, sock SockAddr, ok bool) {
	if orig := arg; arg != "" {
		if arg = envExpand(arg, p.env); arg == "" {
			p.diag(Alert, LocBracket, "server", "%s : '%s' resolves to an empty address (environment variable missing?)\n", id, orig)
			return "", 0, sock, false
		}
	}
	addr, fam, pfx := stripPrefix(arg, false)
	switch {
	case strings.HasPrefix(pfx, "udp"):
		p.diag(Alert, LocBracket, "server", "%s : dgram-type address not acceptable in '%s'", id, arg)
		return "", 0, sock, false
	case pfx == "uxdg":
		p.diag(Alert, LocBracket, "server", "%s : dgram-type address not acceptable in '%s'\n", id, arg)
		return "", 0, sock, false
	case fam == famUnix || fam == famOther:
		sa, msg, ok := p.parseSockAddr(pfx, addr, arg, false)
		switch {
		case !ok:
			p.refuseAddr(LocBracket, "server", id+" : ", pfx, arg)
		case msg != "":
			p.diag(Alert, LocBracket, "server", "%s : %s\n", id, msg)
		default:
			return "", 0, sa, true
		}
		return "", 0, sock, false
	}
	hp := splitHostPort(addr)
	h, okh := checkHost(hp.Host, fam)
	if okh && (h == "" || h == "0.0.0.0" || h == "::") {
		// Any address (":", "*", "0.0.0.0", "[::]", and unset variables
		// around the colon): haproxy connects such a server to the
		// address the client reached (backend.c, alloc_dst_address).
		if h == "" {
			h = "0.0.0.0"
		}
	}
	if !okh {
		p.diag(Alert, LocBracket, "server", "%s : invalid address: '%s' in '%s'", id, hp.Host, arg)
		return "", 0, sock, false
	}
	if hp.HasPort && hp.Port != "" {
		if hp.Port[0] == '+' || hp.Port[0] == '-' {
			p.refuseForm(grpRouting, LocBracket, "server", id+" : ", fmt.Sprintf("a port offset ('%s')", arg))
			return "", 0, sock, false
		}
		if strings.IndexByte(hp.Port, '-') >= 0 {
			p.diag(Alert, LocBracket, "server", "%s : port range not permitted here in '%s'", id, arg)
			return "", 0, sock, false
		}
		for j := 0; j < len(hp.Port); j++ {
			if c := hp.Port[j]; c < '0' || c > '9' {
				p.diag(Alert, LocBracket, "server", "%s : invalid character '%c' in port number '%s' in '%s'", id, c, hp.Port, arg)
				return "", 0, sock, false
			}
		}
		n, okp := parsePortNum(hp.Port)
		if !okp {
			p.diag(Alert, LocBracket, "server", "%s : invalid port '%s'", id, hp.Port)
			return "", 0, sock, false
		}
		port = n
	}
	return h, port, sock, true
}

// logAddr parses a `log` target address. It returns network "udp" or
// "unixgram" and the address with its default port 514, or ok=false
// after reporting (alert for bad input, warning for unsupported kinds).
func (p *parser) logAddr(arg string) (network, address string, ok bool) {
	if orig := arg; orig != "" {
		if arg = envExpand(arg, p.env); arg == "" {
			p.alert("log", "log : '%s' resolves to an empty address (environment variable missing?)", orig)
			return "", "", false
		}
	}
	if fd, ok := stdLogTargets[arg]; ok {
		return "fd", fd, true
	}
	kind := arg
	if i := strings.IndexByte(arg, '@'); i >= 0 {
		kind = arg[:i+1]
	}
	if k, ok := lookup(CtxLogTarget, kind); ok {
		p.notImplemented(k, LocParsing, "log", "", fmt.Sprintf("log target '%s'", arg))
		return "", "", false
	}
	addr, fam, pfx := stripPrefix(arg, true)
	switch fam {
	case famUnix:
		if pfx != "" && pfx != "unix" {
			p.refuseAddr(LocParsing, "log", "", pfx, arg)
			return "", "", false
		}
		return "unixgram", addr, true
	case famOther:
		p.refuseAddr(LocParsing, "log", "", pfx, arg)
		return "", "", false
	}
	hp := splitHostPort(addr)
	host, okh := checkHost(hp.Host, fam)
	if okh && host == "" && hp.Raw == "" && hp.HasPort {
		// ":PORT" (or ":" from unset variables): haproxy's any address.
		host = "0.0.0.0"
	}
	if !okh || host == "" {
		p.alert("log", "log : invalid address: '%s' in '%s'", hp.Host, arg)
		return "", "", false
	}
	port := 514
	if hp.HasPort && hp.Port != "" {
		for j := 0; j < len(hp.Port); j++ {
			if c := hp.Port[j]; c < '0' || c > '9' {
				p.alert("log", "log : invalid character '%c' in port number '%s' in '%s'", c, hp.Port, arg)
				return "", "", false
			}
		}
		n, okp := parsePortNum(hp.Port)
		if !okp || n == 0 {
			p.alert("log", "log : invalid port '%s'", hp.Port)
			return "", "", false
		}
		port = n
	}
	return "udp", Bind{Host: host, Port: port}.Address(), true
}

// refuseAddr alerts for an address whose family gproxy does not serve:
// a UNIX socket path, unix@, abns@, fd@, sockpair@, quic4@...
func (p *parser) refuseAddr(style LocStyle, kw, prefix, pfx, arg string) {
	name := pfx + "@"
	if pfx == "" {
		name = "/"
	}
	k, ok := lookup(CtxAddress, name)
	if !ok || k.Class == Works {
		// unix@ and abns@ work on bind and server lines, not everywhere.
		k = Keyword{Class: Refused, Group: grpAddress}
	}
	shown := fmt.Sprintf("address prefix '%s' in '%s'", name, arg)
	if pfx == "" {
		shown = fmt.Sprintf("UNIX socket address '%s'", arg)
	}
	p.notImplemented(k, style, kw, prefix, shown)
}

// dispatchAddr parses the address of `dispatch`: an IP address with a
// mandatory port (haproxy's str2sa_range with PA_O_PORT_MAND), in
// haproxy's words for bad input. Forms gproxy does not serve (socket
// paths, host names haproxy resolves at start-up) are refused.
func (p *parser) dispatchAddr(arg string) (host string, port int, ok bool) {
	const kw = "dispatch"
	orig := arg
	if arg = envExpand(arg, p.env); arg == "" {
		p.alert(kw, "'%s' : '%s' resolves to an empty address (environment variable missing?)\n", kw, orig)
		return "", 0, false
	}
	addr, fam, pfx := stripPrefix(arg, false)
	switch {
	case strings.HasPrefix(pfx, "udp") || pfx == "uxdg":
		p.alert(kw, "'%s' : dgram-type address not acceptable in '%s'\n", kw, orig)
		return "", 0, false
	case fam == famUnix || fam == famOther:
		p.refuseAddr(LocParsing, kw, "'dispatch' : ", pfx, orig)
		return "", 0, false
	}
	hp := splitHostPort(addr)
	h, okh := checkHost(hp.Host, fam)
	if !okh {
		p.alert(kw, "'%s' : invalid address: '%s' in '%s'\n", kw, hp.Host, orig)
		return "", 0, false
	}
	if !hp.HasPort || hp.Port == "" {
		p.alert(kw, "'%s' : missing port specification in '%s'", kw, orig)
		return "", 0, false
	}
	switch {
	case hp.Port[0] == '+' || hp.Port[0] == '-':
		p.alert(kw, "'%s' : port offset not permitted here in '%s'", kw, orig)
		return "", 0, false
	case strings.IndexByte(hp.Port, '-') >= 0:
		p.alert(kw, "'%s' : port range not permitted here in '%s'", kw, orig)
		return "", 0, false
	}
	for j := 0; j < len(hp.Port); j++ {
		if c := hp.Port[j]; c < '0' || c > '9' {
			p.alert(kw, "'%s' : invalid character '%c' in port number '%s' in '%s'\n", kw, c, hp.Port, orig)
			return "", 0, false
		}
	}
	n, okp := parsePortNum(hp.Port)
	if !okp || n == 0 {
		p.alert(kw, "'%s' : invalid port '%s'", kw, hp.Port)
		return "", 0, false
	}
	if isHostname(h) {
		// haproxy resolves it once at start-up; gproxy's resolver order
		// may pick another address.
		p.refuseForm(grpRouting, LocParsing, kw, "'dispatch' : ", fmt.Sprintf("a host name ('%s')", hp.Host))
		return "", 0, false
	}
	if h == "" {
		h = "0.0.0.0" // any address: Linux connects it to the local host, as haproxy does
	}
	return h, n, true
}
