package haproxycfg

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Keywords of the defaults, listen, frontend and backend sections
// (configuration manual section 4).

// optionsNoNegation are options for which haproxy refuses `no option`.
var optionsNoNegation = map[string]bool{
	"httplog": true, "tcplog": true, "httpchk": true, "httpslog": true,
	"forwardfor": true, "originalto": true, "ssl-hello-chk": true, "smtpchk": true,
	"pgsql-check": true, "redis-check": true, "mysql-check": true, "ldap-check": true,
	"spop-check": true, "tcp-check": true, "external-check": true, "tcpka": true,
	"http-restrict-req-hdr-names": true,
}

// legacyTimeouts are the pre-2.1 spellings, still accepted by gproxy.
var legacyTimeouts = map[string]string{
	"clitimeout": "client", "srvtimeout": "server", "contimeout": "connect",
}

// proxyTypeName is haproxy's proxy_type_str for the current section.
func (p *parser) proxyTypeName() string {
	if p.cur.isDefault {
		return "defaults"
	}
	return typeStr(p.cur.px.Kind)
}

func (p *parser) kindName() string {
	if p.cur.isDefault {
		return "defaults"
	}
	return p.cur.px.Kind.String()
}

// needCap implements haproxy's warnifnotcap: a keyword that makes no sense
// for this proxy's kind is ignored with a warning. It reports whether the
// keyword may proceed.
func (p *parser) needCap(kw string, frontend bool, hint string) bool {
	if p.cur.isDefault {
		return true
	}
	k := p.cur.px.Kind
	if frontend && k.HasFrontend() || !frontend && k.HasBackend() {
		return true
	}
	capName := "backend"
	if frontend {
		capName = "frontend"
	}
	p.warn(kw, "'%s' ignored because %s '%s' has no %s capability.%s", kw, k, p.cur.px.Name, capName, hint)
	return false
}

// notInDefaults alerts for keywords a defaults section cannot hold.
func (p *parser) notInDefaults(kw string) bool {
	if p.cur.isDefault {
		p.alert(kw, "'%s' not allowed in 'defaults' section.", kw)
		return true
	}
	return false
}

func (p *parser) proxyKeyword(args []string) {
	kw := args[0]
	no := false
	if kw == "no" || kw == "default" {
		if len(args) < 2 {
			p.alert(kw, "unknown keyword '%s' in '%s' section", kw, p.sectionName)
			return
		}
		if kw == "default" {
			// `default option X` resets an option to its built-in value.
			p.refuseForm(grpNone, LocParsing, args[1], "", fmt.Sprintf("'default %s'", strings.Join(args[1:], " ")))
			return
		}
		no = true
		args = args[1:]
		kw = args[0]
		if kw != "option" && kw != "log" {
			p.alert(kw, "'no' prefix is not supported for keyword '%s'.", kw)
			return
		}
	}
	px := p.cur.px
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch kw {
	case "clitcpka-cnt", "srvtcpka-cnt", "clitcpka-idle", "srvtcpka-idle", "clitcpka-intvl", "srvtcpka-intvl":
		p.tcpKeepAliveParam(args)
	case "load-server-state-from-file", "server-state-file-name":
		p.proxyServerState(args)
	case "bind":
		if p.notInDefaults(kw) || !p.needCap(kw, true, "") {
			return
		}
		p.bindKeyword(args)
	case "mode":
		if p.tooMany(args, 1) {
			return
		}
		switch arg(1) {
		case "tcp":
			px.Mode = ModeTCP
		case "http":
			px.Mode = ModeHTTP
		default:
			p.alert(kw, "unknown proxy mode '%s'.", arg(1))
		}
	case "balance":
		if !p.needCap(kw, false, "") {
			return
		}
		p.balance(args)
	case "cookie":
		p.cookie(args)
	case "hash-type":
		if !p.needCap(kw, false, "") {
			return
		}
		p.hashType(args)
	case "hash-balance-factor":
		if arg(1) == "" {
			p.alert(kw, "'%s' expects an integer argument.", kw)
			return
		}
		n := atoi(arg(1))
		if n != 0 && n <= 100 {
			p.alert(kw, "'%s' must be 0 or greater than 100.", kw)
			return
		}
		px.HashBalanceFactor = n
	case "maxconn":
		if !p.needCap(kw, true, " Maybe you want 'fullconn' instead ?") || p.tooMany(args, 1) {
			return
		}
		n, ok := p.intArg(kw, arg(1), fmt.Sprintf("'%s' expects an integer argument.", kw))
		if !ok {
			return
		}
		px.MaxConn = n
	case "fullconn":
		if !p.needCap(kw, false, " Maybe you want 'maxconn' instead ?") {
			return
		}
		if arg(1) == "" {
			p.alert(kw, "'%s' expects an integer argument.", kw)
			return
		}
		px.FullConn = atoi(arg(1))
		p.tooMany(args, 1)
	case "retries":
		if !p.needCap(kw, false, "") || p.tooMany(args, 1) {
			return
		}
		n, ok := p.intArg(kw, arg(1), fmt.Sprintf("'%s' expects an integer argument (dispatch counts for one).", kw))
		if !ok {
			return
		}
		px.Retries = n
	case "http-reuse":
		p.httpReuse(args)
	case "http-send-name-header":
		p.needCap(kw, false, "") // warned; set anyway, as haproxy does
		if arg(1) == "" {
			p.alert(kw, "'%s' requires a header string.", kw)
			return
		}
		px.SendNameHeader = strings.ToLower(arg(1))
	case "timeout":
		var rest []string
		if len(args) > 2 {
			rest = args[2:]
		}
		p.timeout(kw, arg(1), rest)
	case "clitimeout", "srvtimeout", "contimeout":
		name := legacyTimeouts[kw]
		if !p.warned[kw] {
			p.warned[kw] = true
			p.warn(kw, "the '%s' directive is now deprecated in favor of 'timeout %s', and will not be supported in future versions.", kw, name)
		}
		p.timeout(kw, name, args[1:])
	case "option":
		p.option(args, no)
	case "http-check", "tcp-check":
		p.checkRule(args)
	case "external-check":
		p.externalCheck(args)
	case "log":
		p.proxyLog(args, no)
	case "default_backend":
		if !p.needCap(kw, true, "") {
			return
		}
		if arg(1) == "" {
			p.alert(kw, "'%s' expects a backend name.", kw)
			return
		}
		if p.tooMany(args, 1) {
			return
		}
		if strings.Contains(arg(1), "%[") {
			p.refuseForm(grpRules, LocParsing, kw, "", fmt.Sprintf("a backend name built from a sample expression ('%s')", arg(1)))
			return
		}
		px.DefaultBackend = arg(1)
		p.cur.defBEPos = p.pos()
	case "use_backend":
		p.useBackend(args)
	case "use-server":
		p.useServer(args)
	case "dynamic-cookie-key":
		if !p.needCap(kw, false, "") {
			return
		}
		if arg(1) == "" {
			p.alert(kw, "'%s' expects <secret_key> as argument.", kw)
			return
		}
		px.DynamicCookieKey = arg(1)
	case "redirect":
		p.redirectKeyword(args)
	case "monitor-uri", "monitor":
		p.monitor(args)
	case "server":
		p.server(args, false)
	case "default-server":
		p.server(args, true)
	case "server-template":
		p.serverTemplate(args)
	case "stats":
		p.proxyStats(args)
	case "http-request", "http-response", "http-after-response":
		p.httpRuleKeyword(args)
	case "disabled", "enabled":
		if p.tooMany(args, 0) {
			return
		}
		px.Disabled = kw == "disabled"
	case "id":
		if p.notInDefaults(kw) || p.tooMany(args, 1) {
			return
		}
		if arg(1) == "" {
			p.alert(kw, "'%s' expects an integer argument.", kw)
			return
		}
		n, ok := parseUint(arg(1), 1<<31-1)
		if !ok || n == 0 {
			p.alert(kw, "%s: custom id has to be > 0.", kw)
			return
		}
		px.ID = n
		p.cur.explicitID = true
		p.cur.idPos = p.pos()
	case "acl":
		p.aclKeyword(args)
	case "errorfile":
		p.errorFile(args)
	case "errorloc", "errorloc302", "errorloc303":
		p.errorLoc(args)
	case "errorfiles":
		p.errorfilesKeyword(args)
	case "http-error":
		p.httpErrorKeyword(args)
	case "tcp-request", "tcp-response":
		p.tcpRuleKeyword(args)
	case "stick-table":
		p.stickTable(args)
	case "stick":
		p.stickRule(args)
	case "dispatch":
		p.dispatch(args)
	case "redisp", "redispatch":
		p.alert(kw, "keyword '%s' directive is not supported anymore since HAProxy 2.1. Use 'option redispatch'.", kw)
	case "block":
		p.alert(kw, "The 'block' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' which uses the exact same syntax.")
	case "appsession":
		p.alert(kw, "'appsession' is not supported anymore since HAProxy 1.6.")
	case "monitor-net":
		p.alert(kw, "'monitor-net' doesn't exist anymore. Please use 'http-request return status 200 if { src %s }' instead.", arg(1))
	default:
		if p.logKeyword(args) {
			return
		}
		if k, ok := lookup(CtxProxy, kw); ok {
			p.notImplemented(k, LocParsing, kw, "", fmt.Sprintf("'%s'", kw))
			return
		}
		p.alert(kw, "unknown keyword '%s' in '%s' section%s", kw, p.sectionName, didYouMean(kw, suggestListen))
	}
}

// ruleKeyword refuses http-response, http-after-response, tcp-request,
// tcp-response and tcp-check rules, naming the action or form; one
// haproxy does not know gets haproxy's message.
func (p *parser) ruleKeyword(args []string) {
	kw := args[0]
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	ctx := map[string]Context{"http-response": CtxHTTPResponse, "http-after-response": CtxHTTPAfterResponse,
		"tcp-request": CtxTCPRequest, "tcp-response": CtxTCPResponse, "tcp-check": CtxTCPCheck}[kw]
	k, ok := lookup(ctx, sub)
	if !ok {
		switch kw {
		case "http-response":
			p.diag(Alert, LocParsingTight, kw, "'http-response' expects %s, but got '%s'.", httpResponseActionList, sub)
		case "http-after-response":
			p.diag(Alert, LocParsingTight, kw, "'http-after-response' expects %s, but got '%s'.", httpAfterResponseActionList, sub)
		case "tcp-request":
			p.alert(kw, "'tcp-request' expects 'inspect-delay', 'connection', or 'content' in %s '%s' (got '%s')", p.proxyTypeName(), p.cur.px.Name, sub)
		case "tcp-response":
			p.alert(kw, "'tcp-response' expects 'inspect-delay' or 'content' in %s '%s' (got '%s')", p.proxyTypeName(), p.cur.px.Name, sub)
		case "tcp-check":
			p.alert(kw, "'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '%s'", sub)
		}
		return
	}
	p.notImplemented(k, LocParsing, kw, "", fmt.Sprintf("'%s %s'", kw, sub))
}

// balance is `balance ALGO [ARGS]` (section 4.2, "balance"), checked
// with haproxy's messages (backend_parse_balance).
func (p *parser) balance(args []string) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	fail := func(format string, a ...any) { p.alert("balance", "balance "+format, a...) }
	p.cur.balanceSet = true
	px := p.cur.px
	algo := arg(1)
	var ba BalanceArgs
	switch {
	case algo == "":
		px.Balance, px.BalanceArgs = RoundRobin, ba
		return
	case algo == string(RoundRobin) || algo == string(StaticRR) || algo == string(LeastConn) ||
		algo == string(Source) || algo == string(First):
		// haproxy ignores words after these algorithms; so do we.
		px.Balance, px.BalanceArgs = Algorithm(algo), ba
		return
	case strings.HasPrefix(algo, "random"):
		ba.Draws = 2
		if rest := algo[6:]; strings.HasPrefix(rest, "(") && !strings.HasPrefix(rest, "()") {
			n, end := strtol(rest[1:])
			switch {
			case end == "":
				fail("random : missing closing parenthesis.")
				return
			case end[0] != ')':
				fail("random : unexpected character '%c' after argument.", end[0])
				return
			case n < 1:
				fail("random : number of draws must be at least 1.")
				return
			}
			ba.Draws = n
		}
		px.Balance = Random
	case algo == "uri":
		for i := 2; arg(i) != ""; {
			switch arg(i) {
			case "len", "depth":
				n := atoi(arg(i + 1))
				if arg(i+1) == "" || n <= 0 {
					fail("%s : '%s' expects a positive integer (got '%s').", algo, arg(i), arg(i+1))
					return
				}
				if arg(i) == "len" {
					ba.URILen = n
				} else {
					ba.URIDepth = n
				}
				i += 2
			case "whole":
				ba.URIWhole = true
				i++
			case "path-only":
				ba.URIPathOnly = true
				i++
			default:
				fail("%s only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '%s').", algo, arg(i))
				return
			}
		}
		px.Balance = URI
	case algo == "url_param":
		if arg(2) == "" {
			fail("%s requires an URL parameter name.", algo)
			return
		}
		// check_post changes nothing in haproxy 2.6: a POST's body is
		// always looked into when the URI lacks the parameter.
		if arg(3) != "" && arg(3) != "check_post" {
			fail("%s only accepts 'check_post' modifier (got '%s').", algo, arg(3))
			return
		}
		ba.Param = arg(2)
		px.Balance = URLParam
	case strings.HasPrefix(algo, "hdr("):
		end := strings.IndexByte(algo[4:], ')')
		if end <= 0 {
			fail("hdr requires an http header field name.")
			return
		}
		ba.Header = algo[4 : 4+end]
		if arg(2) != "" {
			if arg(2) != "use_domain_only" {
				fail("%s only accepts 'use_domain_only' modifier (got '%s').", algo, arg(2))
				return
			}
			ba.UseDomainOnly = true
		}
		px.Balance = Hdr
	case algo == "hash":
		if arg(2) == "" {
			fail("%s requires a sample expression.", algo)
			return
		}
		if arg(3) != "" {
			fail("%s takes no other argument (got '%s').", algo, arg(3))
			return
		}
		ba.ExprText = arg(2)
		px.Balance = HashExpr
	case strings.HasPrefix(algo, "rdp-cookie"):
		name := "mstshash"
		switch rest := algo[10:]; {
		case rest == "":
		case rest[0] == '(' && strings.IndexByte(rest, ')') > 1:
			name = rest[1:strings.IndexByte(rest, ')')]
		default:
			fail("rdp-cookie : missing cookie name.")
			return
		}
		ba.ExprText = "req.rdp_cookie(" + name + ")"
		px.Balance = RDPCookie
	default:
		fail("only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.")
		return
	}
	px.BalanceArgs = ba
}

// hashType is `hash-type map-based|consistent [FUNC [avalanche]]`
// (section 4.2, "hash-type").
func (p *parser) hashType(args []string) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	var ht HashType
	switch arg(1) {
	case "consistent":
		ht.Consistent = true
	case "map-based":
	case "avalanche":
		p.alert("hash-type", "experimental feature '%s %s' is not supported anymore, please use '%s map-based sdbm avalanche' instead.", args[0], arg(1), args[0])
		return
	default:
		p.alert("hash-type", "'%s' only supports 'consistent' and 'map-based'.", args[0])
		return
	}
	ht.Func = "sdbm"
	if arg(2) == "" {
		// consistent alone also means avalanche
		ht.Avalanche = ht.Consistent
	} else {
		switch arg(2) {
		case "sdbm", "djb2", "wt6", "crc32":
			ht.Func = arg(2)
		default:
			p.alert("hash-type", "'%s' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.", args[0])
			return
		}
		switch arg(3) {
		case "avalanche":
			ht.Avalanche = true
		case "":
		default:
			p.alert("hash-type", "'%s' only supports 'avalanche' as a modifier for hash functions.", args[0])
			return
		}
	}
	p.cur.px.HashType = ht
}

// strtol reads a C strtol base-0 integer prefix (decimal, 0x hex, 0
// octal), returning the value and the rest.
func strtol(s string) (int, string) {
	i, neg := 0, false
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := 10
	switch {
	case strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X"):
		if i+2 < len(s) && isHex(s[i+2]) {
			base, i = 16, i+2
		}
	case strings.HasPrefix(s[i:], "0"):
		base = 8
	}
	start, n := i, 0
	for ; i < len(s); i++ {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		if n < 1<<31 {
			n = n*base + d
		}
	}
	if i == start {
		return 0, s
	}
	if neg {
		n = -n
	}
	return n, s[i:]
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// atoi is C's atoi: the leading decimal integer, 0 when there is none.
func atoi(s string) int {
	i, neg := 0, false
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<31; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// timeout sets one `timeout NAME VALUE` (section 4.2, "timeout").
func (p *parser) timeout(kw, name string, rest []string) {
	t := &p.cur.px.Timeouts
	var dst *time.Duration
	switch name {
	case "client":
		dst = &t.Client
	case "server":
		dst = &t.Server
	case "connect":
		dst = &t.Connect
	case "queue":
		dst = &t.Queue
	case "check":
		dst = &t.Check
	case "tunnel":
		dst = &t.Tunnel
	case "http-request":
		dst = &t.HTTPRequest
	case "http-keep-alive":
		dst = &t.HTTPKeepAlive
	case "client-fin":
		dst = &t.ClientFin
	case "server-fin":
		dst = &t.ServerFin
	case "tarpit":
		dst = &t.Tarpit
	default:
		p.alert(kw, "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '%s')", name)
		return
	}
	label := "timeout " + name
	if kw != "timeout" {
		label = kw
	}
	val := ""
	if len(rest) > 0 {
		val = rest[0]
	}
	tv := parseTime(val)
	switch tv.Err {
	case timeEmpty:
		p.alert(kw, "'%s' expects an integer value (in milliseconds)", label)
		return
	case timeBadChar:
		p.alert(kw, "unexpected character '%c' in '%s'", tv.BadChar, label)
		return
	case timeOverflow:
		p.alert(kw, "timer overflow in argument '%s' to '%s' (maximum value is 2147483647 ms or ~24.8 days)", val, label)
		return
	}
	if tv.Trailing != 0 {
		p.diag(Warning, LocNone, kw, "%s", trailingWarning(tv, val))
	}
	if len(rest) > 1 {
		p.alert(kw, "'%s' : unexpected extra argument '%s' after value '%s'.", label, rest[1], val)
		return
	}
	if px := p.cur.px; !p.cur.isDefault {
		// Timeouts of one side only; haproxy keeps the value but warns.
		needFE := name == "client" || name == "client-fin"
		needBE := name == "server" || name == "connect" || name == "queue" ||
			name == "check" || name == "tunnel" || name == "server-fin"
		switch {
		case needFE && !px.Kind.HasFrontend():
			p.warn(kw, "'%s' will be ignored because %s '%s' has no frontend capability", label, px.Kind, px.Name)
		case needBE && !px.Kind.HasBackend():
			p.warn(kw, "'%s' will be ignored because %s '%s' has no backend capability", label, px.Kind, px.Name)
		}
	}
	if dst == nil {
		k, _ := lookup(CtxTimeout, name)
		p.notImplemented(k, LocParsing, kw, "", fmt.Sprintf("'timeout %s'", name))
		return
	}
	*dst = tv.D
}

// tcpKeepAliveParam is `clitcpka-cnt|-idle|-intvl` and the srvtcpka
// ones (haproxy's proxy_parse_tcpka_*): a count read as C's strtol, or a
// time in seconds unless a unit says otherwise, rounded up to a second.
func (p *parser) tcpKeepAliveParam(args []string) {
	kw, val := args[0], argAt(args, 1)
	px := p.cur.px
	if val == "" {
		p.alert(kw, "'%s' expects an integer value", kw)
		return
	}
	ka := &px.ServerKeepAlive
	capOK, capName := p.cur.isDefault || px.Kind.HasBackend(), "backend"
	if strings.HasPrefix(kw, "cli") {
		ka = &px.ClientKeepAlive
		capOK, capName = p.cur.isDefault || px.Kind.HasFrontend(), "frontend"
	}
	if strings.HasSuffix(kw, "-cnt") {
		n, rest := strtol(val)
		if rest != "" {
			p.alert(kw, "'%s' : unexpected character '%c' in integer value '%s'", kw, rest[0], val)
			return
		}
		ka.Count = n
	} else {
		t := val
		if strings.Trim(t, "0123456789") == "" {
			t += "s" // a bare number is seconds here
		}
		tv := parseTime(t)
		switch tv.Err {
		case timeOverflow:
			p.alert(kw, "timer overflow in argument '%s' to '%s' (maximum value is 2147483647 ms or ~24.8 days)", val, kw)
			return
		case timeBadChar:
			p.alert(kw, "unexpected character '%c' in argument to <%s>.\n", tv.BadChar, kw)
			return
		}
		d := (tv.D + time.Second - 1).Truncate(time.Second)
		if strings.HasSuffix(kw, "-idle") {
			ka.Idle = d
		} else {
			ka.Interval = d
		}
	}
	if !capOK {
		p.warn(kw, "%s will be ignored because %s '%s' has no %s capability", kw, p.proxyTypeName(), px.Name, capName)
	}
}

// option is `[no] option NAME ...` (section 4.2).
func (p *parser) option(args []string, no bool) {
	px := p.cur.px
	if len(args) < 2 || args[1] == "" {
		p.alert("option", "'option' expects an option name.")
		return
	}
	name := args[1]
	k, known := lookup(CtxOption, name)
	if no && (!known || optionsNoNegation[name]) {
		p.diag(Alert, LocParsingTight, "option", "negation/default is not supported for option '%s'.", name)
		return
	}
	if !known {
		if hint := didYouMean(name, suggestOption); hint != "" {
			p.alert("option", "unknown option '%s'%s", name, hint)
		} else {
			p.alert("option", "unknown option '%s'.", name)
		}
		return
	}
	if k.Class != Works {
		shown := "'option " + name + "'"
		if no {
			shown = "'no option " + name + "'"
		}
		p.notImplemented(k, LocParsing, "option", "", shown)
		return
	}
	switch name {
	case "tcpka":
		if len(args) > 2 {
			p.alert("option", "'option tcpka' cannot handle unexpected argument '%s'.", args[2])
			return
		}
		kind := px.Kind
		if p.cur.isDefault || kind.HasFrontend() {
			px.ClientKeepAlive.On = true
		}
		if p.cur.isDefault || kind.HasBackend() {
			px.ServerKeepAlive.On = true
		}
	case "clitcpka":
		if p.needCap(name, true, "") {
			px.ClientKeepAlive.On = !no
		}
	case "srvtcpka":
		if p.needCap(name, false, "") {
			px.ServerKeepAlive.On = !no
		}
	case "redispatch":
		if p.needCap(name, false, "") {
			px.Options.Redispatch = !no
		}
	case "abortonclose":
		// haproxy checks its arguments before its capability.
		if len(args) > 2 {
			p.alert("option", "'option %s' cannot handle unexpected argument '%s'.", name, args[2])
			return
		}
		if p.needCap(name, false, "") {
			px.Options.AbortOnClose = !no
			p.cur.abortPos = p.pos()
		}
	case "allbackups":
		if p.needCap(name, false, "") {
			px.Options.AllBackups = !no
		}
	case "persist":
		if p.needCap(name, false, "") {
			px.Options.Persist = !no
		}
	case "log-health-checks":
		if p.needCap(name, false, "") {
			px.Options.LogHealthChecks = !no
		}
	case "dontlognull":
		if p.needCap(name, true, "") {
			px.Options.DontLogNull = !no
		}
	case "dontlog-normal", "log-separate-errors", "logasap", "http-ignore-probes":
		if !p.needCap(name, true, "") {
			return
		}
		if len(args) > 2 {
			p.alert("option", "'option %s' cannot handle unexpected argument '%s'.", name, args[2])
			return
		}
		*map[string]*bool{"dontlog-normal": &px.Options.DontLogNormal, "log-separate-errors": &px.Options.LogSeparateErrors,
			"logasap": &px.Options.LogASAP, "http-ignore-probes": &px.Options.IgnoreProbes}[name] = !no
		if name == "logasap" {
			p.cur.logasapPos = p.pos()
		}
	case "http-buffer-request":
		px.Options.BufferRequest = !no
	case "http-restrict-req-hdr-names":
		const expects = "option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option."
		switch v := argAt(args, 2); v {
		case "":
			p.alert("option", "missing parameter. %s", expects)
			return
		case "preserve", "delete", "reject":
			if len(args) > 3 {
				p.alert("option", "'option' cannot handle unexpected argument '%s'.", args[3])
				return
			}
			px.Options.RestrictHdrNames = v
			if v == "preserve" {
				px.Options.RestrictHdrNames = ""
			}
		default:
			p.alert("option", "invalid parameter '%s'. %s", v, expects)
			return
		}
	case "http-pretend-keepalive":
		if p.needCap(name, false, "") {
			px.Options.PretendKeepAlive = !no
		}
	case "disable-h2-upgrade":
		if p.needCap(name, true, "") {
			px.Options.DisableH2Upgrade = !no
		}
	case "tcplog", "httplog":
		if !p.cur.isDefault && !px.Kind.HasFrontend() {
			p.warn("option", "backend '%s' : 'option %s' directive is ignored in backends.", px.Name, name)
			return
		}
		if len(args) > 2 && !(name == "httplog" && args[2] == "clf") {
			p.alert("option", "'option %s' cannot handle unexpected argument '%s'.", name, args[2])
			return
		}
		px.Options.TCPLog = name == "tcplog"
		px.Options.HTTPLog = name == "httplog"
		if px.Options.HTTPLog {
			p.cur.httplogPos = p.pos()
		}
		p.logOption(name, len(args) > 2)
	case "httpslog":
		// haproxy 2.6 reads no further argument here, and names the
		// option "httplog" in its defaults override warning.
		if !p.cur.isDefault && !px.Kind.HasFrontend() {
			p.warn("option", "backend '%s' : 'option httpslog' directive is ignored in backends.", px.Name)
			return
		}
		px.Options.TCPLog, px.Options.HTTPLog = false, true
		p.cur.httplogPos = p.pos()
		p.logOption(name, false)
	case "httpchk", "tcp-check", "redis-check", "mysql-check", "pgsql-check", "ldap-check", "smtpchk", "ssl-hello-chk", "external-check":
		p.checkOption(name, args)
	case "forwardfor":
		p.forwardFor(args)
	case "originalto":
		p.originalTo(args)
	case "httpclose", "http-server-close", "http-keep-alive":
		if len(args) > 2 {
			p.alert("option", "'option %s' cannot handle unexpected argument '%s'.", name, args[2])
			return
		}
		px.HTTP.ConnMode = map[string]HTTPConnMode{"httpclose": HTTPClose,
			"http-server-close": HTTPServerClose, "http-keep-alive": HTTPKeepAlive}[name]
		if no {
			px.HTTP.ConnMode = HTTPKeepAlive
		}
	}
}

// forwardFor is `option forwardfor [except NETWORK] [header NAME]
// [if-none]` (section 4.2, "option forwardfor").
func (p *parser) forwardFor(args []string) {
	ff := &ForwardFor{Pos: p.pos()}
	for i := 2; i < len(args); i++ {
		switch args[i] {
		case "except":
			i++
			pfx, ok := netOrAddr(argAt(args, i))
			if !ok {
				p.alert("option", "'option forwardfor except' expects <address>[/mask] as argument.")
				return
			}
			ff.Except = pfx
		case "header":
			i++
			if argAt(args, i) == "" {
				p.alert("option", "'option forwardfor header' expects <header_name> as argument.")
				return
			}
			ff.Header = args[i]
		case "if-none":
			ff.IfNone = true
		default:
			p.alert("option", "'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.")
			return
		}
	}
	p.cur.px.HTTP.ForwardFor = ff
}

func argAt(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// netOrAddr reads ADDR[/MASK] as haproxy's str2net does: a prefix length
// or, for IPv4, a dotted mask; a bare address is a host network.
func netOrAddr(s string) (netip.Prefix, bool) {
	addr, mask, hasMask := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	if !hasMask {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	if n, ok := parseUint(mask, a.BitLen()); ok && mask != "" {
		return netip.PrefixFrom(a, n).Masked(), true
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !a.Is4() || !m.Is4() {
		return netip.Prefix{}, false
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&(1<<31) != 0 {
		n++
		v <<= 1
	}
	if v != 0 { // not a contiguous mask
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, n).Masked(), true
}

// httpRequestActionList is haproxy 2.6's list of `http-request` actions,
// in the order its error message gives them.
const httpRequestActionList = "'wait-for-handshake', 'ot-group', 'set-log-level', 'set-nice', 'use-service', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'do-resolve(*)', 'cache-use', 'add-acl(*)', 'add-header', 'allow', 'auth', 'capture', 'del-acl(*)', 'del-header', 'del-map(*)', 'deny', 'disable-l7-retry', 'early-hint', 'normalize-uri', 'redirect', 'reject', 'replace-header', 'replace-path', 'replace-pathq', 'replace-uri', 'replace-value', 'return', 'set-header', 'set-map(*)', 'set-method', 'set-path', 'set-pathq', 'set-query', 'set-uri', 'strict-mode', 'tarpit', 'track-sc(*)', 'set-timeout', 'wait-for-body', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-dst', 'set-dst-port', 'set-mark', 'set-src', 'set-src-port', 'set-tos', 'silent-drop', 'set-priority-class', 'set-priority-offset'"

// httpResponseActionList and httpAfterResponseActionList are haproxy
// 2.6's lists for the other two HTTP rule sets, in its message's order.
const httpResponseActionList = "'ot-group', 'set-log-level', 'set-nice', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'cache-store', 'add-acl(*)', 'add-header', 'allow', 'capture', 'del-acl(*)', 'del-header', 'del-map(*)', 'deny', 'redirect', 'replace-header', 'replace-value', 'return', 'set-header', 'set-map(*)', 'set-status', 'strict-mode', 'track-sc(*)', 'wait-for-body', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-mark', 'set-tos', 'silent-drop'"

const httpAfterResponseActionList = "'ot-group', 'add-header', 'allow', 'capture', 'del-header', 'replace-header', 'replace-value', 'set-header', 'set-status', 'strict-mode', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'"

// httpRequest handles `http-request use-service prometheus-exporter`;
// every other action is ignored with a warning.
func (p *parser) httpRequest(args []string) {
	if p.cur.isDefault && p.cur.name == "" {
		p.alert("http-request", "'http-request' not allowed in anonymous 'defaults' section.")
		return
	}
	action := ""
	if len(args) > 1 {
		action = args[1]
	}
	// track-sc0..2 are spelled with their index.
	norm := strings.TrimRight(action, "012")
	if !strings.HasPrefix(action, "track-sc") || norm != "track-sc" {
		norm = action
	} else {
		norm = "track-sc(*)"
	}
	k, ok := lookup(CtxHTTPRequest, norm)
	if !ok {
		p.diag(Alert, LocParsingTight, "http-request", "'http-request' expects %s, but got '%s'.", httpRequestActionList, action)
		return
	}
	if k.Class != Works {
		p.notImplemented(k, LocParsing, "http-request", "", fmt.Sprintf("'http-request %s'", action))
		return
	}
	if len(args) < 3 {
		p.alert("http-request", "error detected in %s '%s' while parsing 'http-request use-service' rule : 'use-service' expects a service name..", p.kindName(), p.cur.px.Name)
		return
	}
	if args[2] != "prometheus-exporter" {
		p.alert("http-request", "error detected in %s '%s' while parsing 'http-request use-service' rule : 'use-service' unknown service name '%s'..", p.kindName(), p.cur.px.Name, args[2])
		return
	}
	px := p.cur.px
	cond := args[3:]
	switch {
	case len(cond) == 0:
		px.Prometheus, px.PrometheusURI = true, ""
	case len(cond) == 5 && cond[0] == "if" && cond[1] == "{" && cond[2] == "path" && cond[4] == "}":
		px.Prometheus, px.PrometheusURI = true, cond[3]
	default:
		p.refuseForm(grpRules, LocParsing, "http-request", "", fmt.Sprintf("the condition of 'http-request use-service prometheus-exporter %s'", strings.Join(cond, " ")))
	}
}

// proxyStats is `stats ...` in a proxy (section 4.2, "stats *").
func (p *parser) proxyStats(args []string) {
	st := &p.cur.px.Stats
	const expects = "expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'."
	if len(args) < 2 {
		p.diag(Alert, LocParsingTight, "stats", "missing keyword in 'stats', "+expects)
		return
	}
	val := ""
	if len(args) > 2 {
		val = args[2]
	}
	switch args[1] {
	case "enable":
		st.Enabled = true
	case "uri":
		if val == "" {
			p.alert("stats", "'uri' needs an URI prefix.")
			return
		}
		st.Enabled, st.URI = true, val
	case "realm":
		if val == "" {
			p.alert("stats", "'realm' needs an realm name.")
			return
		}
		st.Enabled, st.Realm = true, val
	case "auth":
		if val == "" {
			p.alert("stats", "'auth' needs a user:password account.")
			return
		}
		u, pw, _ := strings.Cut(val, ":")
		st.Enabled = true
		st.Auth = append(st.Auth, UserPass{User: u, Pass: pw})
	case "refresh":
		if val == "" {
			p.alert("stats", "'refresh' needs a refresh period.")
			return
		}
		tv := parseTime(val)
		if tv.Err != timeOK {
			c := byte('?')
			if tv.Err == timeBadChar {
				c = tv.BadChar
			}
			p.diag(Alert, LocParsingTight, "stats", "unexpected character '%c' in argument to stats refresh interval.", c)
			return
		}
		st.Enabled, st.Refresh = true, tv.D
	case "hide-version":
		st.Enabled, st.HideVersion = true, true
	case "show-legends":
		st.Enabled, st.ShowLegends = true, true
	case "admin":
		if val != "if" && val != "unless" {
			p.alert("stats", "'stats admin' requires either 'if' or 'unless' followed by a condition.")
			return
		}
		cond := strings.Join(args[3:], " ")
		st.Enabled = true
		if val == "if" && cond == "TRUE" || val == "unless" && cond == "FALSE" {
			st.Admin = true
			return
		}
		p.refuseForm(grpRules, LocParsing, "stats", "", fmt.Sprintf("the condition of 'stats admin %s %s'", val, cond))
	default:
		if k, ok := lookup(CtxStats, args[1]); ok {
			st.Enabled = true
			p.notImplemented(k, LocParsing, "stats", "", fmt.Sprintf("'stats %s'", args[1]))
			return
		}
		p.diag(Alert, LocParsingTight, "stats", "unknown stats parameter '%s', "+expects, args[1])
	}
}

// errorStatuses are the status codes `errorfile` may replace in haproxy
// 2.6 (its http_err_codes).
var errorStatuses = map[int]bool{
	200: true, 400: true, 401: true, 403: true, 404: true, 405: true, 407: true,
	408: true, 410: true, 413: true, 421: true, 425: true, 429: true, 500: true,
	501: true, 502: true, 503: true, 504: true,
}

// errorLoc is `errorloc|errorloc302|errorloc303 CODE URL` (section 4.2):
// the error reply becomes a redirect to URL, made as haproxy makes it (an
// errorfile of its own, http_parse_errorloc) and used as an errorfile.
func (p *parser) errorLoc(args []string) {
	kw := args[0]
	if len(args) < 3 || args[1] == "" || args[2] == "" {
		p.alert(kw, "%s : expects <status_code> and <url> as arguments.", kw)
		return
	}
	code, _ := parseUint(args[1], 1<<31-1)
	if !errorStatuses[code] {
		p.alert(kw, "%s : status code '%d' not handled.", kw, code)
		return
	}
	head := "HTTP/1.1 302 Found\r\n"
	if kw == "errorloc303" {
		head = "HTTP/1.1 303 See Other\r\n"
	}
	content := []byte(head + "Cache-Control: no-cache\r\nContent-length: 0\r\nLocation: " + args[2] + "\r\n\r\n")
	m, err := ParseErrorFile(kw+" "+args[2], content)
	if err != nil {
		p.alert(kw, "%s : %v", kw, err)
		return
	}
	ef := ErrorFile{Path: kw + " " + args[2], Pos: p.pos(), Content: content, Message: m}
	p.cur.errOps = append(p.cur.errOps, errOp{code: code, ef: ef, pos: p.pos()})
	px := p.cur.px
	if px.ErrorFiles == nil {
		px.ErrorFiles = map[int]ErrorFile{}
	}
	px.ErrorFiles[code] = ef
}

// errorFile is `errorfile CODE FILE` (section 4.2, "errorfile"). The file
// is read now, as haproxy does, so that a chroot later does not hide it.
func (p *parser) errorFile(args []string) {
	if len(args) < 3 || args[1] == "" || args[2] == "" {
		p.alert("errorfile", "errorfile : expects <status_code> and <file> as arguments.")
		return
	}
	code, _ := parseUint(args[1], 1<<31-1) // haproxy's atol: garbage reads as 0
	ef, ok := p.loadErrorFile(code, args[2])
	if !ok {
		return
	}
	p.cur.errOps = append(p.cur.errOps, errOp{code: code, ef: ef, pos: p.pos()})
	px := p.cur.px
	if px.ErrorFiles == nil {
		px.ErrorFiles = map[int]ErrorFile{}
	}
	px.ErrorFiles[code] = ef
}

// httpReuse reads `http-reuse never|safe|aggressive|always` (section 4.2,
// "http-reuse") with haproxy's words (the pool's rules: pkg/proxy's
// idlepool.go).
func (p *parser) httpReuse(args []string) {
	kw := args[0]
	p.needCap(kw, false, "") // warned; set anyway, as haproxy does
	val := ""
	if len(args) > 1 {
		val = args[1]
	}
	switch val {
	case "never", "safe", "aggressive", "always":
	default:
		p.alert(kw, "'%s' only supports 'never', 'safe', 'aggressive', 'always'.", kw)
		return
	}
	if len(args) > 2 {
		p.alert(kw, "'%s %s' cannot handle unexpected argument '%s'.", kw, val, args[2])
		return
	}
	p.cur.px.HTTPReuse = val
}

// dispatch is `dispatch ADDR:PORT`. As haproxy, a frontend gets a warning
// but its address is still checked.
func (p *parser) dispatch(args []string) {
	if p.notInDefaults(args[0]) {
		return
	}
	backend := p.needCap(args[0], false, "")
	addr := ""
	if len(args) > 1 {
		addr = args[1]
	}
	host, port, ok := p.dispatchAddr(addr)
	if !ok || p.tooMany(args, 1) || !backend {
		return
	}
	p.cur.px.Dispatch = &Server{Name: "<NOSRV>", Host: host, Port: port, Weight: 1, Pos: p.pos()}
}
