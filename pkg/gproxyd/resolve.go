package gproxyd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/serverstate"
)

// Host names in the configuration are resolved once, at start, before the
// chroot and the privilege drop, as haproxy 2.6 does with libc (management
// guide, "init-addr"; configuration manual 5.2 "init-addr"): a name on a
// `bind` line or in a server's `addr` must resolve or the configuration is
// refused; a server's name is tried with its init-addr methods (default
// "last,libc"; there is no server state file here, so "last" finds
// nothing). The model is rewritten with the addresses found, so that no
// connection, health check or stats line resolves a name again.

// lookupFunc returns a name's addresses in the order libc's getaddrinfo
// would give them.
type lookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// resolveTimeout bounds one name's resolution (libc's default is 5 s per
// try, 2 tries).
const resolveTimeout = 10 * time.Second

// libcLookup resolves with Go's resolver (/etc/nsswitch.conf, /etc/hosts,
// /etc/resolv.conf) and orders the addresses as glibc's getaddrinfo does
// (RFC 3484 destination address selection): haproxy takes the first.
func libcLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	sortDestinations(addrs, sourceFor)
	return addrs, nil
}

// sourceFor is the source address the kernel would use towards dst, found
// with a connected UDP socket (nothing is sent); ok is false when dst is
// unreachable.
func sourceFor(dst netip.Addr) (netip.Addr, bool) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), true
}

// sortDestinations orders addresses by the rules of RFC 3484 section 6
// that decide between the families: reachable first (rule 1), matching
// scope (rule 2), higher precedence in glibc's default policy table (rule
// 6), smaller scope (rule 8); otherwise the resolver's order is kept.
func sortDestinations(addrs []netip.Addr, source func(netip.Addr) (netip.Addr, bool)) {
	type info struct {
		usable, scopeMatch bool
		prec, scope        int
	}
	infos := make(map[netip.Addr]info, len(addrs))
	for _, a := range addrs {
		src, ok := source(a)
		infos[a] = info{usable: ok, scopeMatch: ok && addrScope(src) == addrScope(a), prec: precedence(a), scope: addrScope(a)}
	}
	sort.SliceStable(addrs, func(i, j int) bool {
		a, b := infos[addrs[i]], infos[addrs[j]]
		switch {
		case a.usable != b.usable:
			return a.usable
		case a.scopeMatch != b.scopeMatch:
			return a.scopeMatch
		case a.prec != b.prec:
			return a.prec > b.prec
		}
		return a.scope < b.scope
	})
}

// precedence is glibc's default policy table (RFC 3484 section 2.1).
func precedence(a netip.Addr) int {
	switch {
	case a.Is4():
		return 10 // ::ffff:0:0/96
	case a == netip.IPv6Loopback():
		return 50
	case netip.MustParsePrefix("2002::/16").Contains(a):
		return 30
	case netip.MustParsePrefix("::/96").Contains(a):
		return 20
	}
	return 40
}

// addrScope is the scope of RFC 3484 section 3.1 (IPv4 loopback and
// link-local addresses are link-local, as glibc counts them).
func addrScope(a netip.Addr) int {
	switch {
	case a.Is4():
		if a.IsLoopback() || a.IsLinkLocalUnicast() {
			return 2
		}
		return 14
	case a.IsLoopback() || a.IsLinkLocalUnicast():
		return 2
	case netip.MustParsePrefix("fec0::/10").Contains(a):
		return 5
	}
	return 14
}

// resolution is what resolveConfig found: diagnostics in haproxy's words,
// and whether the configuration may be used.
type resolution struct {
	diags []haproxycfg.Diagnostic
	// parseErrors: a bind or `addr` name did not resolve; haproxy reports
	// these while parsing, then "Error(s) found in configuration file".
	parseErrors bool
	// fatal: the configuration as a whole is refused (modes).
	fatal bool
	// serverErrors: a server address could not be initialised.
	serverErrors bool
}

func (r resolution) ok() bool { return !r.parseErrors && !r.fatal && !r.serverErrors }

// resolveConfig resolves every host name of cfg (bind lines, log targets,
// check and server addresses) and rewrites the model with the addresses;
// it also makes the other checks of checks.go, in haproxy's order. dontFail is -dr: a server whose name does not
// resolve starts in maintenance instead of failing the start. A server
// left without an address gets an empty Host (the engine keeps it in
// maintenance, "MAINT (resolution)") and no health check.
func resolveConfig(ctx context.Context, cfg *haproxycfg.Config, lookup lookupFunc, dontFail bool) resolution {
	var r resolution
	bad := map[string]bool{} // files with parse-time errors
	add := func(sev haproxycfg.Severity, style haproxycfg.LocStyle, pos haproxycfg.Pos, kw, format string, a ...any) {
		r.diags = append(r.diags, haproxycfg.Diagnostic{Severity: sev, Pos: pos, Keyword: kw, Style: style, Msg: fmt.Sprintf(format, a...)})
	}
	first := func(host string, fam haproxycfg.Family) (netip.Addr, bool) {
		addrs, err := lookup(ctx, host)
		if err != nil {
			return netip.Addr{}, false
		}
		for _, a := range addrs {
			if fam == haproxycfg.FamilyIPv4 && !a.Is4() || fam == haproxycfg.FamilyIPv6 && !a.Is6() {
				continue
			}
			return a, true
		}
		return netip.Addr{}, false
	}
	isName := func(h string) bool {
		_, err := netip.ParseAddr(h)
		return h != "" && err != nil
	}
	for _, px := range cfg.Proxies {
		for i := range px.Binds {
			b := &px.Binds[i]
			if !isName(b.Host) {
				continue
			}
			a, ok := first(b.Host, b.Family)
			if !ok {
				add(haproxycfg.Alert, haproxycfg.LocParsing, b.Pos, "bind", "'bind' : invalid address: '%s' in '%s'", b.Host, b.Host+":"+strconv.Itoa(b.Port))
				bad[b.Pos.File] = true
				continue
			}
			b.Host = a.String()
			if b.Family == haproxycfg.FamilyAny {
				b.Family = haproxycfg.FamilyIPv4
				if a.Is6() {
					b.Family = haproxycfg.FamilyIPv6
				}
			}
		}
		for _, s := range px.Servers {
			if !isName(s.CheckAddr) {
				continue
			}
			a, ok := first(s.CheckAddr, haproxycfg.FamilyAny)
			if !ok {
				add(haproxycfg.Alert, haproxycfg.LocBracket, s.Pos, "server", "'server %s/%s' : 'addr' : invalid address: '%s' in '%s'.", px.Name, s.Name, s.CheckAddr, s.CheckAddr)
				bad[s.Pos.File] = true
				continue
			}
			s.CheckAddr = a.String()
		}
		for _, s := range px.Servers {
			if !isName(s.Agent.Addr) {
				continue
			}
			// haproxy resolves agent-addr while parsing (str2ip).
			a, ok := first(s.Agent.Addr, haproxycfg.FamilyAny)
			if !ok {
				add(haproxycfg.Alert, haproxycfg.LocBracket, s.Pos, "server", "'server %s/%s' : parsing agent-addr failed. Check if '%s' is correct address..", px.Name, s.Name, s.Agent.Addr)
				bad[s.Pos.File] = true
				continue
			}
			s.Agent.Addr = a.String()
		}
	}
	seenLog := map[haproxycfg.Pos]bool{}
	resolveLogs := func(logs []haproxycfg.LogTarget) {
		for i := range logs {
			l := &logs[i]
			host, port, err := net.SplitHostPort(l.Address)
			if l.Network != "udp" || err != nil || !isName(host) {
				continue
			}
			a, ok := first(host, haproxycfg.FamilyAny)
			if !ok {
				if !seenLog[l.Pos] {
					add(haproxycfg.Alert, haproxycfg.LocParsing, l.Pos, "log", "log : invalid address: '%s' in '%s'\n", host, l.Address) // haproxy adds an empty line
					bad[l.Pos.File] = true
				}
				seenLog[l.Pos] = true
				continue
			}
			l.Address = net.JoinHostPort(a.String(), port)
		}
	}
	resolveLogs(cfg.Global.Logs)
	for _, px := range cfg.Proxies {
		resolveLogs(px.Logs)
	}
	if d := checkCredentials(cfg.Global); len(d) > 0 {
		r.diags = append(r.diags, d...)
		r.parseErrors = true
	}
	for _, f := range cfgFiles(cfg, bad) {
		r.parseErrors = true
		add(haproxycfg.Alert, haproxycfg.LocNone, haproxycfg.Pos{File: f}, "", "Error(s) found in configuration file : %s", f)
	}
	if r.parseErrors {
		return r
	}
	// haproxy checks the whole configuration before it resolves servers.
	if d := checkModes(cfg); len(d) > 0 {
		r.diags = append(r.diags, d...)
		r.fatal = true
		return r
	}
	var states *serverstate.Set
	for _, px := range cfg.Proxies {
		for _, s := range px.Servers {
			if !isName(s.Host) {
				continue
			}
			who := fmt.Sprintf("'server %s/%s' : ", px.Name, s.Name)
			methods := s.InitAddr
			if methods == nil {
				methods = []string{"last", "libc"}
				if s.DNS.Resolvers != "" {
					// haproxy's srv_iterate_initaddr: a server
					// resolved at run time does not fail the start.
					methods = append(methods, "none")
				}
			}
			done, libcFailed := false, false
			for _, m := range methods {
				switch m {
				case "last":
					// The address the server had before the reload,
					// from the server state file.
					if states == nil {
						states = serverstate.Load(cfg)
					}
					if l, ok := states.Server(px, s.Name); ok && l.Addr != "" {
						s.Host = l.Addr
						done = true
					}
				case "libc":
					if strings.HasPrefix(s.Host, "_") {
						// An SRV name: haproxy's libc method skips
						// servers without a host name of their own.
						continue
					}
					if a, ok := first(s.Host, haproxycfg.FamilyAny); ok {
						s.Host = a.String()
						done = true
					} else {
						libcFailed = true
					}
				case "none":
					if libcFailed {
						add(haproxycfg.Warning, haproxycfg.LocBracket, s.Pos, "server", "%scould not resolve address '%s', disabling server.", who, s.Host)
					}
					unresolved(s)
					done = true
				default: // an IP address
					if libcFailed {
						add(haproxycfg.Warning, haproxycfg.LocBracket, s.Pos, "server", "%scould not resolve address '%s', falling back to configured address.", who, s.Host)
					}
					s.Host = m
					done = true
				}
				if done {
					break
				}
			}
			switch {
			case done:
			case dontFail:
				if libcFailed {
					add(haproxycfg.Warning, haproxycfg.LocBracket, s.Pos, "server", "%scould not resolve address '%s', disabling server.", who, s.Host)
				}
				unresolved(s)
			case libcFailed:
				add(haproxycfg.Alert, haproxycfg.LocBracket, s.Pos, "server", "%scould not resolve address '%s'.", who, s.Host)
				r.serverErrors = true
			default:
				add(haproxycfg.Alert, haproxycfg.LocBracket, s.Pos, "server", "%sno method found to resolve address '%s'.", who, s.Host)
				r.serverErrors = true
			}
		}
	}
	if r.serverErrors {
		add(haproxycfg.Alert, haproxycfg.LocNone, haproxycfg.Pos{}, "", "Failed to initialize server(s) addr.")
	}
	return r
}

// unresolved leaves a server without an address: in maintenance until an
// operator gives it one, never checked, never dialled.
func unresolved(s *haproxycfg.Server) {
	s.Host = ""
	if s.DNS.Resolvers == "" {
		// Nothing will give it one: never checked. A server with
		// `resolvers` is checked once DNS gives it an address.
		s.Check = false
	}
}

// cfgFiles lists the files of cfg that are in set, in the order the
// proxies were read.
func cfgFiles(cfg *haproxycfg.Config, set map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	note := func(f string) {
		if set[f] && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, px := range cfg.Proxies {
		note(px.Pos.File)
		for _, b := range px.Binds {
			note(b.Pos.File)
		}
		for _, s := range px.Servers {
			note(s.Pos.File)
		}
	}
	return out
}
