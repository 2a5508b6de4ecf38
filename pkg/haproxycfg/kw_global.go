package haproxycfg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Keywords of the `global` section (configuration manual section 3).

func (p *parser) globalKeyword(args []string) {
	g := &p.cfg.Global
	kw := args[0]
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch kw {
	case "localpeer":
		p.localPeerKeyword(args)
	case "setenv", "presetenv", "unsetenv":
		p.envKeyword(args)
	case "resetenv":
		p.resetEnv(args)
	case "set-var", "set-var-fmt":
		p.globalSetVar(args)
	case "expose-experimental-directives":
		p.experimental = true
	case "tune.pool-high-fd-ratio", "tune.pool-low-fd-ratio":
		if p.tooMany(args, 1) {
			return
		}
		n := -1
		if arg(1) != "" {
			n = atoi(arg(1))
		}
		if n < 0 || n > 100 {
			p.alert(kw, "'%s' expects an integer argument between 0 and 100.", kw)
			return
		}
		if kw == "tune.pool-high-fd-ratio" {
			g.PoolHighFDRatio = &n
		} else {
			g.PoolLowFDRatio = &n
		}
	case "tune.h2.header-table-size", "tune.h2.initial-window-size", "tune.h2.max-concurrent-streams", "tune.h2.max-frame-size":
		p.tuneH2(&g.H2, args)
	case "server-state-file", "server-state-base":
		p.globalServerState(args)
	case "h2-workaround-bogus-websocket-clients":
		if !p.tooMany(args, 0) {
			g.H2.NoExtendedConnect = true
		}
	case "daemon":
		if !p.tooMany(args, 0) {
			g.Daemon = true
		}
	case "quiet":
		if !p.tooMany(args, 0) {
			g.Quiet = true
		}
	case "maxconn":
		if p.tooMany(args, 1) {
			return
		}
		if g.MaxConn != 0 {
			p.diag(AlertNonFatal, LocParsing, kw, "'%s' already specified. Continuing.", kw)
			return
		}
		n, ok := p.intArg(kw, arg(1), fmt.Sprintf("'%s' expects an integer argument.", kw))
		if !ok {
			return
		}
		g.MaxConn = n
	case "user", "group":
		if p.tooMany(args, 1) {
			return
		}
		if arg(1) == "" {
			// haproxy resolves the name at once and reports the lookup
			// failure; gproxy resolves at startup, parsing stays pure.
			p.alert(kw, "'%s' expects a %s name as an argument.", kw, kw)
			return
		}
		if kw == "user" {
			if g.User != "" || g.UID != -1 {
				p.diag(AlertNonFatal, LocParsing, kw, "user/uid already specified. Continuing.")
				return
			}
			g.User = arg(1)
		} else {
			if g.Group != "" || g.GID != -1 {
				p.diag(AlertNonFatal, LocParsing, kw, "gid/group was already specified. Continuing.")
				return
			}
			g.Group = arg(1)
		}
	case "uid", "gid":
		if p.tooMany(args, 1) {
			return
		}
		if arg(1) == "" {
			p.alert(kw, "'%s' expects an integer argument.", kw)
			return
		}
		n, ok := parseUint(arg(1), 1<<31-1)
		if !ok {
			other := "user"
			if kw == "gid" {
				other = "group"
			}
			p.warn(kw, " %s: string '%s' is not a number.\n   | You might want to use the '%s' parameter to use a system %s name.",
				kw, arg(1), other, other)
			return
		}
		if kw == "uid" {
			if g.User != "" || g.UID != -1 {
				p.diag(AlertNonFatal, LocParsing, kw, "user/uid already specified. Continuing.")
				return
			}
			g.UID = n
		} else {
			if g.Group != "" || g.GID != -1 {
				p.diag(AlertNonFatal, LocParsing, kw, "group/gid already specified. Continuing.")
				return
			}
			g.GID = n
		}
	case "chroot", "pidfile":
		if p.tooMany(args, 1) {
			return
		}
		dst := &g.Chroot
		what := "a directory"
		if kw == "pidfile" {
			dst, what = &g.PIDFile, "a file name"
		}
		if *dst != "" {
			p.diag(AlertNonFatal, LocParsing, kw, "'%s' already specified. Continuing.", kw)
			return
		}
		if arg(1) == "" {
			p.alert(kw, "'%s' expects %s as an argument.", kw, what)
			return
		}
		*dst = arg(1)
	case "nbthread":
		if p.tooMany(args, 1) {
			return
		}
		n, err := strconv.Atoi(arg(1))
		if err != nil {
			p.alert(kw, "'%s' passed a missing or unparsable integer value in '%s'", kw, arg(1))
			return
		}
		if n < 1 || n > 64 {
			p.alert(kw, "'%s' value must be between 1 and 64 (was %d)", kw, n)
			return
		}
		g.NbThread = n
	case "nbproc":
		p.alert(kw, "nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available.")
	case "log-send-hostname":
		// The syslog header carries a host name (rfc3164 and rfc5424,
		// and the default format becomes rfc3164); without an argument
		// the machine's, read at startup.
		if g.LogSendHostname {
			p.diag(AlertNonFatal, LocParsing, kw, "'%s' already specified. Continuing.", kw)
			return
		}
		g.LogSendHostname, g.LogHostname = true, arg(1)
	case "log-tag":
		if p.tooMany(args, 1) {
			return
		}
		if arg(1) == "" {
			p.alert(kw, "'%s' expects a tag for use in syslog.", kw)
			return
		}
		g.LogTag = arg(1)
	case "log":
		if len(args) == 2 && args[1] == "global" {
			p.alert(kw, "log : 'global' is not supported for a global syslog server")
			return
		}
		if t, ok := p.logTarget(args); ok {
			g.Logs = append(g.Logs, t)
		}
	case "stats":
		p.globalStats(args)
	case "hard-stop-after":
		val := ""
		if len(args) > 1 {
			val = args[1]
		}
		tv := parseTime(val)
		switch tv.Err {
		case timeEmpty:
			p.alert(kw, "'%s' expects <time> as argument.", kw)
			return
		case timeBadChar:
			p.alert(kw, "unexpected character '%c' in argument to <%s>.", tv.BadChar, kw)
			return
		case timeOverflow:
			p.alert(kw, "timer overflow in argument <%s> to <%s> (maximum value is 2147483647 ms or ~24.8 days)", val, kw)
			return
		}
		g.HardStopAfter = tv.D
	case "max-spread-checks":
		if p.tooMany(args, 1) {
			return
		}
		if arg(1) == "" {
			p.diag(Alert, LocParsingTight, kw, "'%s' expects an integer argument (0..50).", kw)
			return
		}
		tv := parseTime(arg(1))
		switch tv.Err {
		case timeOverflow:
			p.diag(Alert, LocParsingTight, kw, "timer overflow in argument <%s> to <%s>, maximum value is 2147483647 ms (~24.8 days).", arg(1), kw)
			return
		case timeBadChar:
			p.diag(Alert, LocParsingTight, kw, "unsupported character '%c' in '%s' (wants an integer delay).", tv.BadChar, kw)
			return
		}
		g.MaxSpreadChecks = tv.D
	case "spread-checks":
		if p.tooMany(args, 1) {
			return
		}
		if arg(1) == "" {
			p.diag(Alert, LocParsingTight, kw, "'%s' expects an integer argument (0..50).", kw)
			return
		}
		n := atoi(arg(1)) // haproxy: atol, leading digits
		if n < 0 || n > 50 {
			p.diag(Alert, LocParsingTight, kw, "'spread-checks' needs a positive value in range 0..50.")
			return
		}
		g.SpreadChecks = n
	case "zero-warning":
		if !p.tooMany(args, 0) {
			g.ZeroWarning = true
		}
	case "external-check":
		if !p.tooMany(args, 0) {
			g.ExternalCheck = true
		}
	case "insecure-fork-wanted":
		if !p.tooMany(args, 0) {
			g.InsecureForkWanted = true
		}
	case "master-worker":
		if p.tooMany(args, 1) {
			return
		}
		if len(args) > 1 && args[1] != "no-exit-on-failure" {
			p.alert(kw, "'%s' only supports 'no-exit-on-failure' option.", kw)
			return
		}
		if len(args) > 1 {
			p.refuseForm(grpProcess, LocParsing, kw, "", "'master-worker no-exit-on-failure'")
			return
		}
		g.MasterWorker = true
	default:
		if p.globalTLS(args) {
			return
		}
		if k, ok := lookup(CtxGlobal, kw); ok {
			p.notImplemented(k, LocParsing, kw, "", fmt.Sprintf("'%s'", kw))
			return
		}
		p.alert(kw, "unknown keyword '%s' in '%s' section%s", kw, "global", didYouMean(kw, suggestGlobal))
	}
}

// globalStats is `stats socket|timeout|maxconn|bind-process` in global.
func (p *parser) globalStats(args []string) {
	g := &p.cfg.Global
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch sub {
	case "socket":
		if len(args) < 3 || args[2] == "" {
			p.alert("stats", "'stats socket' in global section expects an address or a path to a UNIX socket")
			return
		}
		s := StatsSocket{Path: args[2], Level: "operator", UID: -1, GID: -1, Pos: p.pos()}
		if !p.statsSocketAddr(&s, args[2]) {
			return
		}
		ok := true
		for i := 3; i < len(args) && ok; {
			opt := args[i]
			val := ""
			if i+1 < len(args) {
				val = args[i+1]
			}
			switch opt {
			case "mode":
				m, err := strconv.ParseUint(val, 8, 32)
				if err != nil || m > 0o7777 {
					p.alert("stats", "'stats socket' : ''mode' : missing or invalid mode '%s' (octal integer expected)'", val)
					ok = false
				}
				s.Mode = uint32(m)
				i += 2
			case "uid", "gid":
				if val == "" {
					p.alert("stats", "'stats socket' : ''%s' : missing value'", opt)
					ok = false
					break
				}
				n, okn := parseUint(val, 1<<31-1)
				if !okn {
					// haproxy reads it with atol ("abc" = 0, root); gproxy refuses.
					p.alert("stats", "'stats socket' : ''%s' : invalid value '%s' (integer expected)'", opt, val)
					ok = false
					break
				}
				if opt == "uid" {
					s.UID = n
				} else {
					s.GID = n
				}
				i += 2
			case "user", "group":
				if val == "" {
					p.alert("stats", "'stats socket' : ''%s' : missing %s name'", opt, opt)
					ok = false
					break
				}
				// Names are resolved by the runtime: parsing stays pure.
				if opt == "user" {
					s.User = val
				} else {
					s.Group = val
				}
				i += 2
			case "level":
				switch val {
				case "":
					p.alert("stats", "'stats socket' : ''level' : missing level'")
					ok = false
				case "user", "operator", "admin":
					s.Level = val
				default:
					p.alert("stats", "'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got '%s')'", val)
					ok = false
				}
				i += 2
			default:
				k, known := lookup(CtxBind, opt)
				if !known {
					p.alert("stats", "'stats socket' : unknown keyword '%s'.", opt)
					ok = false
					break
				}
				switch {
				case k.Class != Works:
				case opt == "v4v6" || opt == "v6only" || opt == "transparent":
					// About how an IP socket is bound only.
					k.Class = Cosmetic
				case opt == "accept-proxy":
					// A PROXY header in front of the CLI: not read there.
					k.Class, k.Group = Refused, grpProxyProtocol
				case opt == "proto":
					// A mux in front of the CLI: not there.
					k.Class, k.Group = Refused, grpHTTP
				default:
					// ssl, crt and the other TLS options: the CLI is served
					// in plaintext only, so a socket asking for TLS is
					// refused rather than served unencrypted.
					k.Class, k.Group = Refused, grpTLS
				}
				if p.notImplemented(k, LocParsing, "stats", "", fmt.Sprintf("'stats socket' option '%s'", opt)) {
					ok = false
				}
				i += 1 + k.Args
			}
		}
		if ok {
			g.StatsSockets = append(g.StatsSockets, s)
		}
	case "timeout":
		val := ""
		if len(args) > 2 {
			val = args[2]
		}
		tv := parseTime(val)
		switch tv.Err {
		case timeEmpty:
			p.alert("stats", "'stats timeout' expects a timeout value")
			return
		case timeBadChar:
			p.alert("stats", "'stats timeout' : unexpected character '%c'", tv.BadChar)
			return
		case timeOverflow:
			p.alert("stats", "timer overflow in argument '%s' to 'stats timeout' (maximum value is 2147483647 ms or ~24.8 days)", val)
			return
		}
		if tv.D == 0 {
			p.alert("stats", "'stats timeout' expects a positive value")
			return
		}
		if tv.Trailing != 0 {
			p.diag(Warning, LocNone, "stats", "%s", trailingWarning(tv, val))
		}
		g.StatsTimeout = tv.D
	case "maxconn", "bind-process":
		k, _ := lookup(CtxGlobalStats, sub)
		p.notImplemented(k, LocParsing, "stats", "", fmt.Sprintf("'stats %s'", sub))
	default:
		p.alert("stats", "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '%s')", sub)
	}
}

// statsSocketAddr reads the address of a `stats socket`: a UNIX socket
// path (plain or unix@), abns@, fd@, sockpair@, or an IP address and port
// (ipv4@, ipv6@ or bare), as haproxy 2.6 accepts any bind address there.
func (p *parser) statsSocketAddr(s *StatsSocket, arg string) bool {
	s.Path = ""
	arg = envExpand(arg, p.env)
	addr, fam, pfx := stripPrefix(arg, false)
	if fam == famUnix || fam == famOther {
		sa, msg, ok := p.parseSockAddr(pfx, addr, arg, true)
		switch {
		case !ok:
			p.refuseForm(grpAddress, LocParsing, "stats", "", fmt.Sprintf("a 'stats socket' on '%s'", arg))
			return false
		case msg != "":
			// haproxy names the place twice here.
			p.alert("stats", "parsing [%s:%d] : 'stats socket' : %s\n", p.file, p.line, msg)
			return false
		case sa.Kind == SockUnix:
			s.Path = sa.Path
		default:
			s.Sock = sa
		}
		return true
	}
	if strings.HasPrefix(pfx, "udp") {
		p.alert("stats", "'stats socket' : dgram-type address not acceptable in '%s'", arg)
		return false
	}
	// haproxy names the place twice in these messages.
	fail := func(format string, a ...any) bool {
		p.alert("stats", "parsing [%s:%d] : 'stats socket' : %s\n", p.file, p.line, fmt.Sprintf(format, a...))
		return false
	}
	hp := splitHostPort(addr)
	host, ok := checkHost(hp.Host, fam)
	port, okp := parsePortNum(hp.Port)
	switch {
	case !hp.HasPort || hp.Port == "":
		return fail("missing port specification in '%s'", arg)
	case !ok:
		return fail("invalid address: '%s' in '%s'", hp.Raw, arg)
	case !okp || port == 0:
		return fail("invalid port '%s'", hp.Port)
	}
	if a, err := netip.ParseAddr(host); err != nil && host != "" && host != "::" {
		p.refuseForm(grpAddress, LocParsing, "stats", "", fmt.Sprintf("a 'stats socket' on a host name ('%s')", arg))
		return false
	} else if err == nil && fam == famAny {
		fam = fam4
		if a.Is6() {
			fam = fam6
		}
	}
	b := Bind{Host: host, Port: port, Family: FamilyIPv4}
	if fam == fam6 {
		b.Family = FamilyIPv6
	}
	s.TCP = &b
	return true
}
