package haproxycfg

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// The `server` and `default-server` keywords (configuration manual
// section 5.2, "Server and default-server options").

// server parses `server NAME ADDR[:PORT] [options]`, or with def set,
// `default-server [options]`, which updates the template later servers
// of this proxy start from.
func (p *parser) server(args []string, def bool) {
	kw := args[0]
	if p.cur.isDefault && !def {
		p.diag(Alert, LocBracket, kw, "'%s' not allowed in 'defaults' section.", kw)
		return
	}
	if !p.cur.isDefault && !p.cur.px.Kind.HasBackend() {
		p.diag(Alert, LocBracket, kw, "parsing [%s:%d] : '%s' not allowed because %s '%s' has no backend capability.",
			p.file, p.line, kw, p.cur.px.Kind, p.cur.px.Name)
		return
	}
	srv := p.cur.defSrv // a copy: options apply to this server only
	srv.Pos = p.pos()
	if !def {
		// haproxy 2.6's srv_settings_cpy does not copy check-proto from
		// default-server (measured: `default-server check-proto none`
		// with option httpchk is valid, the server's checks speak HTTP/1)
		srv.CheckProto = ""
	}
	prefix := "" // haproxy's "'server be/name' : " in front of option errors
	opts := args[1:]
	if !def {
		if len(args) < 3 || args[1] == "" || args[2] == "" {
			p.diag(Alert, LocBracket, kw, "'server' expects <name> and <addr>[:<port>] as arguments.")
			return
		}
		srv.Name = args[1]
		if c, ok := validName(srv.Name); !ok {
			p.diag(Alert, LocBracket, kw, "character '%c' is not permitted in server name '%s'.", c, srv.Name)
			return
		}
		id := fmt.Sprintf("'server %s/%s'", p.cur.px.Name, srv.Name)
		prefix = id + " : "
		host, port, sock, ok := p.serverAddr(id, args[2])
		if !ok {
			return
		}
		srv.Host, srv.Port, srv.Sock = host, port, sock
		srv.DNS.Hostname = ""
		if !sock.IsSet() && isHostname(host) {
			srv.DNS.Hostname = host
		}
		opts = args[3:]
	}
	name := srv.Name
	if def {
		name = "default-server"
	}
	fail := func(format string, a ...any) {
		p.diag(Alert, LocBracket, kw, "%s%s.", prefix, fmt.Sprintf(format, a...))
	}
	tlsCloned := false
	for i := 0; i < len(opts); i++ {
		opt := opts[i]
		if n, handled, ok := p.serverTLSOption(&srv, &tlsCloned, opts, i, kw, prefix); handled {
			if !ok {
				return
			}
			i += n
			continue
		}
		if n, handled, ok := serverDNSOption(&srv, opts, i, fail); handled {
			if !ok {
				return
			}
			i += n
			continue
		}
		val, hasVal := "", i+1 < len(opts)
		if hasVal {
			val = opts[i+1]
		}
		switch opt {
		case "non-stick":
			srv.NonStick = true
		case "stick":
			srv.NonStick = false
		case "backup":
			srv.Backup = true
		case "no-backup":
			srv.Backup = false
		case "check":
			srv.Check = true
		case "no-check":
			srv.Check = false
		case "disabled":
			srv.Disabled = true
		case "enabled":
			srv.Disabled = false
		case "weight":
			i++
			n, ok := parseInt(val)
			if !ok {
				fail("'weight' expects an integer argument.")
				return
			}
			if n < 0 || n > 256 {
				fail("weight of server %s is not within 0 and 256 (%d).", name, n)
				return
			}
			srv.Weight = n
		case "id":
			i++
			if def {
				p.diag(Alert, LocParsing, kw, "'%s' option is not accepted in default-server sections", opt)
				continue
			}
			if !hasVal || val == "" {
				fail("'id' : expects an integer argument")
				return
			}
			n := atoi(val)
			if n <= 0 {
				fail("'id' : custom id has to be > 0")
				return
			}
			for _, o := range p.cur.px.Servers {
				if o.ID == n {
					fail("'id' : custom id %d already used at %s:%d ('server %s')", n, o.Pos.File, o.Pos.Line, o.Name)
					return
				}
			}
			srv.ID = n
		case "cookie":
			i++
			if !hasVal || val == "" {
				fail("'cookie' expects <value> as argument.")
				return
			}
			srv.Cookie = val
		case "maxconn":
			i++
			n, ok := parseUint(val, 1<<31-1)
			if !ok {
				fail("'maxconn' expects an integer argument.")
				return
			}
			srv.MaxConn = n
		case "max-reuse":
			// haproxy 2.6 applies it to HTTP/2 (and FastCGI) server
			// connections only: ignored for HTTP/1 servers, refused below
			// for HTTP/2 ones.
			i++
			if !hasVal || val == "" {
				fail("'%s' expects <value> as argument.", opt)
				return
			}
			srv.maxReuse, srv.maxReuseSet = atoi(val), true
			k, _ := lookup(CtxServer, opt)
			p.notImplemented(k, LocBracket, kw, prefix, fmt.Sprintf("server option '%s %s'", opt, val))
		case "pool-max-conn", "pool-low-conn", "pool-purge-delay":
			i++
			if !hasVal || val == "" {
				fail("'%s' expects <value> as argument.", opt)
				return
			}
			pool := srv.Pool() // a copy: default-server's stays as it is
			switch opt {
			case "pool-max-conn":
				n := atoi(val)
				if n < -1 {
					fail("'%s' must be >= -1", opt)
					return
				}
				pool.MaxConn = n
			case "pool-low-conn":
				pool.LowConn = atoi(val)
			default:
				tv := parseTime(val)
				switch {
				case tv.Err == timeBadChar:
					fail("unexpected character '%c' in argument to <%s>.", tv.BadChar, opt)
					return
				case tv.Err == timeOverflow:
					fail("timer overflow in argument '%s' to '%s' (maximum value is 2147483647 ms or ~24.8 days)", val, opt)
					return
				}
				pool.PurgeDelay = tv.D
			}
			srv.IdlePool = &pool
		case "minconn", "maxqueue":
			// haproxy reads both with atol: no error, garbage is 0.
			i++
			n := atoi(val)
			switch {
			case opt == "maxqueue":
				// haproxy limits the queue only when maxqueue > 0.
				srv.MaxQueue = max(n, 0)
			case n < 0:
				// haproxy would store a negative minconn unsigned (an
				// unlimited server); refuse rather than guess.
				fail("'minconn' expects a positive integer argument")
				return
			default:
				srv.MinConn = n
			}
		case "slowstart":
			i++
			if !hasVal || val == "" {
				fail("'%s' expects an argument.", opt)
				return
			}
			tv := parseTime(val)
			switch tv.Err {
			case timeBadChar:
				fail("unexpected character '%c' in 'slowstart' argument of server %s.", tv.BadChar, name)
				return
			case timeOverflow:
				fail("overflow in argument <%s> to <%s> of server %s, maximum value is 2147483647 ms (~24.8 days).", val, opt, name)
				return
			}
			if tv.Trailing != 0 {
				p.diag(Warning, LocBracket, kw, "%s%s", prefix, trailingWarning(tv, val))
			}
			// haproxy keeps whole seconds, rounded up.
			srv.SlowStart = int((tv.D.Milliseconds() + 999) / 1000)
		case "rise", "fall":
			i++
			n, ok := parseInt(val)
			if !ok {
				fail("'%s' expects an integer argument.", opt)
				return
			}
			if n <= 0 {
				fail("'%s' has to be > 0.", opt)
				return
			}
			if opt == "rise" {
				srv.Rise = n
			} else {
				srv.Fall = n
			}
		case "inter", "fastinter", "downinter":
			i++
			if !hasVal || val == "" {
				fail("'%s' expects a delay as argument.", opt)
				return
			}
			tv := parseTime(val)
			switch tv.Err {
			case timeBadChar:
				fail("unexpected character '%c' in '%s' argument of server %s.", tv.BadChar, opt, name)
				return
			case timeOverflow:
				fail("timer overflow in argument <%s> to <%s> of server %s, maximum value is 2147483647 ms (~24.8 days).", val, opt, name)
				return
			}
			if tv.D == 0 {
				fail("invalid value 0 for argument '%s' of server %s.", opt, name)
				return
			}
			if tv.Trailing != 0 {
				p.diag(Warning, LocBracket, kw, "%s%s", prefix, trailingWarning(tv, val))
			}
			*map[string]*time.Duration{"inter": &srv.Inter, "fastinter": &srv.FastInter, "downinter": &srv.DownInter}[opt] = tv.D
		case "agent-check":
			srv.Agent.Enabled = true
		case "no-agent-check":
			srv.Agent = AgentCheck{}
		case "agent-port":
			i++
			if !hasVal || val == "" {
				fail("'agent-port' expects a port number as argument.")
				return
			}
			n := atoi(val)
			if n < 0 || n > 65535 {
				// haproxy would truncate it to 16 bits.
				fail("'agent-port' : invalid port '%s'.", val)
				return
			}
			srv.Agent.Port = n
		case "agent-addr":
			i++
			if !hasVal || val == "" {
				fail("'agent-addr' expects an address as argument.")
				return
			}
			// haproxy's str2ip: an IP address alone (no port; an IPv6
			// one may be in brackets), or a name libc resolves once at
			// start (gproxyd's resolveConfig, with this message on
			// failure). libc's short forms (127.1) are refused.
			lit := val
			if len(lit) > 2 && lit[0] == '[' && lit[len(lit)-1] == ']' {
				lit = lit[1 : len(lit)-1]
			}
			if a, err := netip.ParseAddr(lit); err == nil && a.Zone() == "" && (lit == val || a.Is6()) {
				srv.Agent.Addr = a.Unmap().String()
				break
			}
			if h, ok := checkHost(val, famAny); !ok || h == "" || strings.ContainsAny(h, ":[]") {
				fail("parsing agent-addr failed. Check if '%s' is correct address.", val)
				return
			}
			srv.Agent.Addr = val
		case "agent-send":
			i++
			if !hasVal {
				fail("'agent-send' expects a string as argument.")
				return
			}
			srv.Agent.Send = val
		case "agent-inter":
			i++
			if !hasVal || val == "" {
				fail("'agent-inter' expects a delay as argument.")
				return
			}
			tv := parseTime(val)
			switch tv.Err {
			case timeBadChar:
				fail("unexpected character '%c' in 'agent-inter' argument of server %s.", tv.BadChar, name)
				return
			case timeOverflow:
				fail("timer overflow in argument <%s> to <%s> of server %s, maximum value is 2147483647 ms (~24.8 days).", val, opt, name)
				return
			}
			if tv.D == 0 {
				fail("invalid value 0 for argument '%s' of server %s.", opt, name)
				return
			}
			if tv.Trailing != 0 {
				p.diag(Warning, LocBracket, kw, "%s%s", prefix, trailingWarning(tv, val))
			}
			srv.Agent.Inter = tv.D
		case "port":
			i++
			if !hasVal || val == "" {
				fail("'port' expects a port number as argument.")
				return
			}
			n, ok := parsePortNum(val)
			if !ok {
				fail("'port' : invalid port '%s'.", val)
				return
			}
			srv.CheckPort = n
		case "addr":
			i++
			if !hasVal || val == "" {
				fail("'addr' expects <ipv4|ipv6> as argument.")
				return
			}
			// haproxy reads it as an address whose port, if any, is
			// ignored; the last colon starts the port.
			hp := splitHostPort(val)
			h, ok := checkHost(hp.Host, famAny)
			if !ok || h == "" {
				fail("'addr' : invalid address: '%s' in '%s'", hp.Raw, val)
				return
			}
			srv.CheckAddr = h
		case "track":
			i++
			if val == "" {
				fail("'track' expects [<proxy>/]<server> as argument.\n")
				return
			}
			srv.TrackBackend, srv.TrackServer = "", val
			if j := strings.LastIndexByte(val, '/'); j >= 0 {
				srv.TrackBackend, srv.TrackServer = val[:j], val[j+1:]
			}
		case "on-marked-down", "on-marked-up":
			i++
			want := map[string]string{"on-marked-down": "shutdown-sessions", "on-marked-up": "shutdown-backup-sessions"}[opt]
			if val != want {
				fail("'%s' expects '%s' but got '%s'", opt, want, val)
				return
			}
			if opt == "on-marked-down" {
				srv.ShutdownOnDown = true
			} else {
				srv.ShutdownBackupsOnUp = true
			}
		case "observe":
			i++
			switch val {
			case "none":
				srv.Observe = ObserveNone
			case "layer4":
				srv.Observe = ObserveLayer4
			case "layer7":
				// haproxy: an alert that does not stop the load; the
				// server keeps its previous mode.
				if p.cur.px.Mode != ModeHTTP {
					p.diag(AlertNonFatal, LocBracket, kw, "%s'%s' can only be used in http proxies..", prefix, val)
					break
				}
				srv.Observe = ObserveLayer7
			case "":
				fail("'%s' expects <mode> as argument.\n", opt)
				return
			default:
				fail("'%s' expects one of 'none', 'layer4', 'layer7' but got '%s'\n", opt, val)
				return
			}
		case "error-limit":
			i++
			if val == "" {
				fail("'%s' expects an integer argument", opt)
				return
			}
			if n := atoi(val); n <= 0 {
				fail("%s has to be > 0.", opt)
				return
			} else {
				srv.ErrorLimit = n
			}
		case "on-error":
			i++
			switch val {
			case "fastinter", "fail-check", "sudden-death", "mark-down":
				srv.OnError = val
			default:
				fail("'%s' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '%s'", opt, val)
				return
			}
		case "init-addr":
			i++
			if !hasVal || val == "" {
				fail("'init-addr' expects an argument.")
				return
			}
			methods, ok := p.initAddr(val, fail)
			if !ok {
				return
			}
			srv.InitAddr = methods
		case "source":
			// source ADDR[:PORT] [usesrc ADDR[:PORT]] [interface NAME]
			n := 1
			for j := i + 2; j+1 < len(opts) && (opts[j] == "usesrc" || opts[j] == "interface"); j += 2 {
				n += 2
			}
			k, _ := lookup(CtxServer, opt)
			p.notImplemented(k, LocBracket, kw, prefix, "server option 'source'")
			i += n
		case "send-proxy", "send-proxy-v2", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn",
			"no-send-proxy", "no-send-proxy-v2", "no-send-proxy-v2-ssl", "no-send-proxy-v2-ssl-cn":
			srv.SendProxy.setFlags(strings.TrimPrefix(opt, "no-"), !strings.HasPrefix(opt, "no-"))
		case "proxy-v2-options":
			i++
			if msg := p.proxyV2Options(&srv.SendProxy, val, kw, prefix); msg != "" {
				fail("%s", msg)
				return
			}
		case "check-send-proxy":
			srv.CheckSendProxy = true
		case "no-check-send-proxy":
			srv.CheckSendProxy = false
		case "proto":
			i++
			if !hasVal || val == "" {
				fail("'proto' : missing value")
				return
			}
			switch val {
			case "h2", "h1", "none", "fcgi":
				srv.Proto = val
			default:
				p.diag(Alert, LocBracket, kw, "%s'proto' :  unknown MUX protocol '%s'.", prefix, val)
				return
			}
		case "check-proto":
			i++
			if !hasVal || val == "" {
				fail("'check-proto' : missing value")
				return
			}
			switch val {
			case "h2", "h1", "none":
				srv.CheckProto = val
			case "fcgi":
				p.refuseForm(grpChecks, LocBracket, kw, prefix, "server option 'check-proto fcgi'")
				return
			default:
				p.diag(Alert, LocBracket, kw, "%s'check-proto' :  unknown MUX protocol '%s'.", prefix, val)
				return
			}
		default:
			k, known := lookup(CtxServer, opt)
			if !known {
				hint := didYouMean(opt, suggestServer)
				switch {
				case def && hint != "":
					p.diag(Alert, LocBracket, kw, "unknown keyword '%s'%s Hint: no address was expected for this server.", opt, hint)
				case def:
					fail("unknown keyword '%s'. Hint: no address was expected for this server", opt)
				case hint != "":
					p.diag(Alert, LocBracket, kw, "%sunknown keyword '%s'%s", prefix, opt, hint)
				default:
					fail("unknown keyword '%s'", opt)
				}
				return
			}
			n := k.Args
			if n > 0 && !hasVal {
				fail("'%s' expects an argument.", opt)
				return
			}
			shown := opt
			if n > 0 {
				shown += " " + val
			}
			p.notImplemented(k, LocBracket, kw, prefix, fmt.Sprintf("server option '%s'", shown))
			i += n
		}
	}
	if def {
		p.cur.defSrv = srv
		return
	}
	if srv.Agent.Enabled && srv.Agent.Port == 0 && srv.CheckPort == 0 {
		fail("server %s does not have agent port. Agent check has been disabled", name)
		return
	}
	defSSL := p.cur.defSrv.TLS != nil && p.cur.defSrv.TLS.raw.ssl
	if !p.finishServerTLS(&srv, defSSL, kw, prefix) {
		return
	}
	if srv.maxReuseSet && srv.maxReuse >= 0 && srv.SpeaksH2() {
		p.refuseForm(grpHTTP, LocBracket, kw, prefix, "server option 'max-reuse' on an HTTP/2 server")
		return
	}
	px := p.cur.px
	if o := px.Server(srv.Name); o != nil {
		p.diag(Alert, LocParsing, kw, "%s '%s', another server named '%s' was already defined at line %d, please use distinct names.",
			px.Kind, px.Name, srv.Name, o.Pos.Line)
		return
	}
	s := srv
	// As haproxy's check_config_validity: a minconn above maxconn (or
	// alone) becomes the limit.
	if s.MinConn > s.MaxConn {
		s.MaxConn = s.MinConn
	}
	px.Servers = append(px.Servers, &s)
}

// parseInt parses a possibly negative decimal integer.
func parseInt(s string) (int, bool) {
	if len(s) > 1 && s[0] == '-' {
		n, ok := parseUint(s[1:], 1<<31-1)
		return -n, ok
	}
	return parseUint(s, 1<<31-1)
}

// initAddr reads `init-addr METHOD[,METHOD...]`: "last", "libc", "none"
// or one IP address, tried in order at start.
func (p *parser) initAddr(val string, fail func(string, ...any)) ([]string, bool) {
	var out []string
	haveIP := false
	for _, m := range strings.Split(val, ",") {
		switch m {
		case "last", "libc", "none":
			out = append(out, m)
			continue
		}
		a, err := netip.ParseAddr(m)
		if err != nil || a.Zone() != "" {
			fail("'init-addr' : unknown init-addr method '%s', supported methods are 'libc', 'last', 'none'.", m)
			return nil, false
		}
		if haveIP {
			fail("'init-addr' : initial address already specified, cannot add '%s'.", m)
			return nil, false
		}
		haveIP = true
		out = append(out, a.String())
	}
	return out, true
}

// proxyV2Options reads `proxy-v2-options OPT[,OPT...]` (section 5.2) into
// o; an option haproxy does not know is its error message, one gproxy
// does not send is refused here with file:line.
// setFlags sets the flags a send-proxy keyword names to on (off for its
// no- form), as haproxy 2.6 does: the -ssl forms imply v2, -ssl-cn
// implies -ssl, in both directions.
func (o *SendProxy) setFlags(kw string, on bool) {
	switch kw {
	case "send-proxy":
		o.V1 = on
	case "send-proxy-v2-ssl-cn":
		o.SSLCN = on
		fallthrough
	case "send-proxy-v2-ssl":
		o.SSL = on
		fallthrough
	case "send-proxy-v2":
		o.V2 = on
	}
}

func (p *parser) proxyV2Options(o *SendProxy, val, kw, prefix string) string {
	for _, opt := range strings.Split(val, ",") {
		switch opt {
		case "ssl":
			o.SSL = true
		case "cert-cn":
			o.SSL, o.SSLCN = true, true
		case "ssl-cipher":
			o.SSL, o.SSLCipher = true, true
		case "authority":
			o.Authority = true
		case "crc32c":
			o.CRC32C = true
		case "unique-id":
			o.UniqueID = true
		case "cert-sig", "cert-key":
			// OpenSSL's names of the client certificate's signature and
			// key algorithms: not sent by gproxy yet.
			p.refuseForm(grpProxyProtocol, LocBracket, kw, prefix, fmt.Sprintf("server option 'proxy-v2-options %s'", opt))
		default:
			return fmt.Sprintf("'%s' : proxy v2 option not implemented", opt)
		}
	}
	return ""
}
