package haproxycfg

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"hapair/pkg/logformat"
	"hapair/pkg/sample"
)

// The health-check keywords: `option httpchk|tcp-check|redis-check|
// mysql-check|pgsql-check|ldap-check|smtpchk|ssl-hello-chk`, and the
// `tcp-check` and `http-check` rules (configuration manual 4.2). Rule sets
// follow haproxy 2.6's tcpcheck.c: each section has its own tcp-check and
// http-check rule set; a proxy that adds no rule of its own uses the one
// it inherited from its defaults section; the implicit connect, the
// `option httpchk` request and the implicit final expect are placed when
// the section ends.

// rawRule is a rule while its section is read: comments are rules too
// (they take a step number), and the request of `option httpchk` is a
// send rule that later merges with the first `http-check send`.
type rawRule struct {
	CheckRule
	comment bool
	fromOpt bool
}

// ruleSet is one section's rule set, or an inherited one.
type ruleSet struct {
	rules []rawRule
	next  int // the index of the next rule
}

// skip reports whether haproxy's rule walks pass over the rule
// (get_first/last/next_tcpcheck_rule skip comments and action rules).
func (r *rawRule) skip() bool {
	return r.comment || r.Action == RuleSetVar || r.Action == RuleUnsetVar
}

func (rs *ruleSet) clone() *ruleSet {
	if rs == nil {
		return nil
	}
	return &ruleSet{rules: append([]rawRule(nil), rs.rules...), next: rs.next}
}

// checkState is the check part of a proxyState.
type checkState struct {
	tcpOwn, httpOwn *ruleSet // this section's rule sets (nil until used)
	used            *ruleSet // the rule set the check runs (own or inherited)
	usedHTTP        bool     // used is an http-check set (else tcp-check)
	defTCP          *ruleSet // the defaults section's own tcp-check set
	// ssl is haproxy's PR_O_TCPCHK_SSL: a `connect ssl` rule was read in
	// this section or its defaults, so every server of the proxy gets
	// its TLS settings resolved (and verified) as for check-ssl.
	ssl bool
	// plain holds the TLS options of the servers that had neither `ssl`
	// nor check-ssl, resolved at the end if ssl is set.
	plain map[string]plainTLS
}

// plainTLS is a server line's TLS options kept for a `connect ssl` rule.
type plainTLS struct {
	raw    sslOpts
	pos    Pos
	prefix string
}

func (cs checkState) clone() checkState {
	return checkState{used: cs.used.clone(), usedHTTP: cs.usedHTTP, defTCP: cs.tcpOwn.clone(), ssl: cs.ssl}
}

// checkOption handles the options that choose a check type.
func (p *parser) checkOption(name string, args []string) {
	if !p.needCap(name, false, "") {
		return
	}
	px, cs := p.cur.px, &p.cur.chk
	maxArgs := map[string]int{"httpchk": 3, "tcp-check": 0, "redis-check": 0, "ldap-check": 0,
		"ssl-hello-chk": 0, "smtpchk": 2, "pgsql-check": 2, "mysql-check": 3, "external-check": 0}[name]
	if len(args) > 2+maxArgs {
		p.alert("option", "'option %s' cannot handle unexpected argument '%s'.", name, args[2+maxArgs])
		return
	}
	arg := func(i int) string { return argAt(args, i) }
	c := &px.Check
	setProto := func(t CheckType) {
		c.Type, c.User, c.MySQLPre41, c.SMTPHello = t, "", false, ""
		cs.used, cs.usedHTTP = nil, false
	}
	switch name {
	case "redis-check":
		setProto(CheckRedis)
	case "external-check":
		setProto(CheckExternal)
	case "ldap-check":
		setProto(CheckLDAP)
	case "ssl-hello-chk":
		setProto(CheckSSLHello)
	case "smtpchk":
		setProto(CheckSMTP)
		c.SMTPHello = "HELO localhost"
		if (arg(2) == "EHLO" || arg(2) == "HELO") && arg(3) != "" {
			c.SMTPHello = arg(2) + " " + arg(3)
		}
	case "pgsql-check":
		if arg(2) == "" || arg(3) == "" || arg(2) != "user" {
			p.alert("option", "'%s %s' expects 'user <username>' as argument.", args[0], name)
			return
		}
		setProto(CheckPgSQL)
		c.User = arg(3)
	case "mysql-check":
		user, pre41 := "", false
		if arg(2) != "" {
			if arg(2) != "user" {
				p.alert("option", "'%s %s' only supports optional values: 'user'.", args[0], name)
				return
			}
			if arg(3) == "" {
				p.alert("option", "'%s %s %s' expects <username> as argument.", args[0], name, arg(2))
				return
			}
			switch arg(4) {
			case "", "post-41":
			case "pre-41":
				pre41 = true
			default:
				p.alert("option", "'%s' only supports 'post-41' and 'pre-41' (got '%s').", arg(2), arg(4))
				return
			}
			user = arg(3)
		}
		setProto(CheckMySQL)
		c.User, c.MySQLPre41 = user, pre41
	case "tcp-check":
		wasTCP := c.Type == CheckTCP
		c.Type = CheckTCP
		switch {
		case wasTCP && cs.used != nil && !cs.usedHTTP:
			// a tcp-check rule set is already in use
		case cs.tcpOwn != nil:
			cs.used, cs.usedHTTP = cs.tcpOwn, false
		case wasTCP && cs.defTCP != nil:
			cs.used, cs.usedHTTP = cs.defTCP, false
		default:
			cs.tcpOwn = &ruleSet{}
			cs.used, cs.usedHTTP = cs.tcpOwn, false
		}
	case "httpchk":
		req := &HTTPRequest{}
		switch {
		case arg(3) == "":
			req.URI = arg(2)
		default:
			req.Method, req.URI = arg(2), arg(3)
		}
		if v := arg(4); v != "" {
			hdrs, body := strings.Index(v, "\r\n"), strings.Index(v, "\r\n\r\n")
			if hdrs == body {
				hdrs = -1
			}
			if hdrs >= 0 || body >= 0 {
				p.diag(Warning, LocParsingTight, "option", "'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.")
			}
			end := len(v)
			if body >= 0 {
				req.Body, req.HasBody = v[body+4:], true
				end = body
			}
			if hdrs >= 0 {
				for _, l := range strings.Split(v[hdrs+2:end], "\r\n") {
					n, val, ok := strings.Cut(l, ":")
					if !ok || n == "" {
						p.alert("option", "'option httpchk' : invalid header line '%s'.", l)
						return
					}
					req.Headers = append(req.Headers, [2]string{n, strings.TrimSpace(val)})
				}
				end = hdrs
			}
			req.Version = v[:end]
		}
		c.Type, c.User, c.MySQLPre41, c.SMTPHello = CheckHTTP, "", false, ""
		if cs.httpOwn == nil {
			cs.httpOwn = &ruleSet{}
		}
		cs.used, cs.usedHTTP = cs.httpOwn, true
		chk := rawRule{CheckRule: CheckRule{Action: RuleSend, Step: 1, HTTP: req, MinRecv: -1, Pos: p.pos()}, fromOpt: true}
		if msg := addHTTPRule(cs.httpOwn, chk); msg != "" {
			p.alert("option", "'option httpchk' : %s.", msg)
		}
	}
}

// addHTTPRule places an http-check rule as haproxy's tcpcheck_add_http_rule
// does; it returns an error message, or "".
func addHTTPRule(rs *ruleSet, chk rawRule) string {
	first := func() int {
		for i := range rs.rules {
			if !rs.rules[i].skip() {
				return i
			}
		}
		return -1
	}
	if chk.fromOpt {
		i := first()
		if i >= 0 && rs.rules[i].Action == RuleConnect {
			i = nextRule(rs.rules, i)
		}
		switch {
		case i < 0 || rs.rules[i].Action != RuleSend:
			rs.rules = append([]rawRule{chk}, rs.rules...)
		case rs.rules[i].fromOpt:
			rs.rules = append(rs.rules[:i:i], rs.rules[i+1:]...)
			rs.rules = append([]rawRule{chk}, rs.rules...)
		default:
			overwriteSend(rs.rules[i].HTTP, chk.HTTP)
		}
		return ""
	}
	last := -1
	for i := len(rs.rules) - 1; i >= 0; i-- {
		if !rs.rules[i].skip() {
			last = i
			break
		}
	}
	if chk.skip() {
		rs.rules = append(rs.rules, chk)
		return ""
	}
	if last >= 0 && !(rs.rules[last].Action == RuleSend && rs.rules[last].fromOpt) {
		r := rs.rules[last]
		switch {
		case r.Action != RuleConnect && chk.Action == RuleSend:
			return fmt.Sprintf("unable to add http-check send rule at step %d (missing connect rule).", chk.Step)
		case r.Action != RuleSend && r.Action != RuleExpect && chk.Action == RuleExpect:
			return fmt.Sprintf("unable to add http-check expect rule at step %d (missing send rule).", chk.Step)
		case r.Action != RuleExpect && chk.Action == RuleConnect:
			return fmt.Sprintf("unable to add http-check connect rule at step %d (missing expect rule).", chk.Step)
		}
	}
	if chk.Action == RuleSend {
		if i := first(); i >= 0 && rs.rules[i].Action == RuleSend && rs.rules[i].fromOpt {
			opt := rs.rules[i]
			overwriteSend(opt.HTTP, chk.HTTP)
			opt.fromOpt = false
			opt.Step, opt.Comment, opt.Pos = chk.Step, chk.Comment, chk.Pos
			rs.rules = append(rs.rules[:i:i], rs.rules[i+1:]...)
			chk = opt
		}
	}
	rs.rules = append(rs.rules, chk)
	return ""
}

// overwriteSend merges a later request into an earlier one as haproxy's
// tcpcheck_overwrite_send_http_rule: what the later one sets wins, and its
// headers replace the earlier ones.
func overwriteSend(old, nw *HTTPRequest) {
	if nw.Method != "" {
		old.Method = nw.Method
	}
	if nw.URI != "" {
		old.URI, old.URIFmt = nw.URI, nw.URIFmt
	}
	if nw.Version != "" {
		old.Version = nw.Version
	}
	old.Headers, old.HeaderFmts = nw.Headers, nw.HeaderFmts
	if nw.HasBody {
		old.Body, old.HasBody, old.BodyFmt = nw.Body, true, nw.BodyFmt
	}
}

func nextRule(rules []rawRule, i int) int {
	for j := i + 1; j < len(rules); j++ {
		if !rules[j].skip() {
			return j
		}
	}
	return -1
}

// checkRule handles `tcp-check ...` and `http-check ...`.
func (p *parser) checkRule(args []string) {
	kw := args[0]
	http := kw == "http-check"
	if !p.needCap(kw, false, "") {
		return
	}
	sub := argAt(args, 1)
	ctx := CtxTCPCheck
	if http {
		ctx = CtxHTTPCheck
	}
	k, ok := lookup(ctx, sub)
	if !ok {
		// haproxy finds its action keywords by prefix: "set-var" alone
		// or "set-varx" reach the variable parser and its messages.
		for _, v := range []string{"set-var-fmt", "set-var", "unset-var"} {
			if strings.HasPrefix(sub, v) {
				k, ok = lookup(ctx, v+"(*)")
				break
			}
		}
	}
	if !ok {
		if http {
			p.alert(kw, "'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '%s'", sub)
		} else {
			p.alert(kw, "'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '%s'", sub)
		}
		return
	}
	if k.Class != Works {
		p.notImplemented(k, LocParsing, kw, "", fmt.Sprintf("'%s %s'", kw, sub))
		return
	}
	verb := sub
	for _, v := range []string{"set-var-fmt", "set-var", "unset-var"} {
		if strings.HasPrefix(sub, v) {
			verb = v
			break
		}
	}
	if sub == "disable-on-404" || sub == "send-state" {
		if len(args) > 2 {
			p.alert(kw, "'%s' cannot handle unexpected argument '%s'.", kw, args[2])
			return
		}
		if sub == "send-state" {
			p.cur.px.Check.SendState = true
		} else {
			p.cur.px.Check.DisableOn404 = true
		}
		return
	}
	px, cs := p.cur.px, &p.cur.chk
	own := &cs.tcpOwn
	if http {
		own = &cs.httpOwn
	}
	if *own == nil {
		*own = &ruleSet{}
	}
	rs := *own
	r := rawRule{CheckRule: CheckRule{Step: rs.next + 1, MinRecv: -1, Pos: p.pos()}}
	fail := func(format string, a ...any) {
		p.alert(kw, "'%s %s' : %s.", kw, sub, fmt.Sprintf(format, a...))
	}
	var msg string
	switch sub {
	case "comment":
		if argAt(args, 2) == "" {
			fail("expects a string as argument")
			return
		}
		if len(args) > 3 {
			fail("'%s' cannot handle unexpected argument '%s'", sub, args[3])
			return
		}
		r.comment, r.Comment = true, args[2]
	case "connect":
		msg = p.connectRule(rs, &r, args[2:], http)
		if msg == "" && r.SSL {
			cs.ssl = true
		}
	case "send", "send-binary":
		if http {
			var refused string
			msg, refused = p.sendHTTPRule(&r, args[2:])
			if refused != "" {
				p.refuseForm(grpLogs, LocParsing, kw, "", refused)
				return
			}
		} else {
			msg = sendRule(&r, sub, args[2:])
		}
	case "send-lf", "send-binary-lf":
		var refused string
		msg, refused = p.sendLFRule(&r, sub, args[2:])
		if refused != "" {
			p.refuseForm(grpLogs, LocParsing, kw, "", refused)
			return
		}
	case "expect":
		var refused string
		msg, refused = p.expectRule(&r, args[2:], http)
		if refused != "" {
			p.refuseForm(grpChecks, LocParsing, kw, "", refused)
			return
		}
	default:
		switch verb {
		case "set-var", "set-var-fmt", "unset-var":
			var refused string
			msg, refused = p.varRule(&r, verb, sub, args[2:])
			if refused != "" {
				p.refuseForm(grpChecks, LocParsing, kw, "", refused)
				return
			}
		}
	}
	if msg != "" {
		fail("%s", msg)
		return
	}
	rs.next++
	if !http {
		rs.rules = append(rs.rules, r)
		if px.Check.Type == CheckTCP {
			cs.used, cs.usedHTTP = rs, false
		}
		return
	}
	if px.Check.Type == CheckHTTP {
		cs.used, cs.usedHTTP = rs, true
		if r.comment {
			rs.rules = append(rs.rules, r)
			return
		}
		if m := addHTTPRule(rs, r); m != "" {
			fail("%s", m)
		}
		return
	}
	rs.rules = append(rs.rules, r)
}

func (p *parser) connectRule(rs *ruleSet, r *rawRule, args []string, http bool) string {
	for _, o := range rs.rules {
		if o.Action == RuleConnect && !o.comment {
			break
		}
		if o.skip() || (o.Action == RuleSend && o.fromOpt) {
			continue
		}
		return "first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset"
	}
	r.Action = RuleConnect
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "default":
			r.Default = true
		case "send-proxy":
			r.SendProxy = true
		case "linger":
			r.Linger = true
		case "comment":
			if argAt(args, i+1) == "" {
				return "'comment' expects a string as argument."
			}
			i++
			r.Comment = args[i]
		case "port":
			if argAt(args, i+1) == "" {
				return "'port' expects a port number or a sample expression as argument."
			}
			i++
			r.Port, r.PortExpr = 0, nil
			n, err := strconv.ParseUint(args[i], 10, 32)
			if err != nil || strings.HasPrefix(args[i], "+") {
				e, perr := sample.ParseExpr(args[i], p.sampleOptions())
				if perr != nil {
					return fmt.Sprintf("error detected while parsing port expression : %s", condError(perr))
				}
				if needs, ok := e.Needs(sample.AtTCPCheck); !ok {
					return fmt.Sprintf("error detected while parsing port expression :  fetch method '%s' extracts information from '%s', none of which is available here.\n", args[i], srcNames(needs))
				}
				r.PortExpr = e
				continue
			}
			if n < 1 || n > 65535 {
				return fmt.Sprintf("expects a valid TCP port (from range 1 to 65535) or a sample expression, got %s.", args[i])
			}
			r.Port = int(n)
		case "addr":
			if argAt(args, i+1) == "" {
				return "'addr' expects <ipv4|ipv6> as argument."
			}
			i++
			hp := splitHostPort(args[i])
			h, ok := checkHost(hp.Host, famAny)
			if !ok || h == "" {
				return fmt.Sprintf("'addr' : invalid address: '%s'.", args[i])
			}
			r.Addr = h
			// the address's port, used when the rule has no `port`,
			// read as haproxy's str2sa_range reads it (0 or none: none)
			if ps := hp.Port; ps != "" {
				switch {
				case ps[0] == '+' || ps[0] == '-':
					return fmt.Sprintf("'addr' : port offset not permitted here in '%s'.", args[i])
				case strings.Contains(ps, "-"):
					return fmt.Sprintf("'addr' : port range not permitted here in '%s'.", args[i])
				case ps[0] < '0' || ps[0] > '9':
					return fmt.Sprintf("'addr' : invalid character '%c' in port number '%s' in '%s'\n.", ps[0], ps, args[i])
				}
				n := 0
				for _, c := range ps {
					if c < '0' || c > '9' || n > 65535 {
						break
					}
					n = n*10 + int(c-'0')
				}
				if n > 65535 {
					return fmt.Sprintf("'addr' : invalid port '%s'.", ps)
				}
				r.AddrPort = n
			}
		case "ssl":
			r.SSL = true
		case "sni":
			if argAt(args, i+1) == "" {
				return "'sni' expects a string as argument."
			}
			i++
			r.SNI = args[i]
		case "alpn":
			if argAt(args, i+1) == "" {
				return "'alpn' : missing the comma-delimited ALPN protocol suite"
			}
			i++
			for _, a := range strings.Split(args[i], ",") {
				if len(a) > 255 {
					return fmt.Sprintf("'alpn' : ALPN protocol name too long : '%s'", a)
				}
				if a == "" {
					// haproxy sends an empty name; crypto/tls refuses one.
					return "an empty protocol name in 'alpn' is not implemented by gproxy (health-check rules): remove it, or keep haproxy for this configuration"
				}
			}
			r.ALPN = strings.Split(args[i], ",")
			if http && slices.Contains(r.ALPN, "h2") {
				// haproxy picks the check's mux by the protocol agreed.
				return "HTTP health checks over HTTP/2 ('alpn h2') are not implemented by gproxy (health-check rules): remove it, or keep haproxy for this configuration"
			}
		case "proto":
			if argAt(args, i+1) == "" {
				return fmt.Sprintf("'%s' expects a MUX protocol as argument.", args[i])
			}
			i++
			kw := "tcp-check"
			if http {
				kw = "http-check"
			}
			switch v := args[i]; {
			case v != "h2" && v != "h1" && v != "fcgi" && v != "none":
				return fmt.Sprintf("'%s' : unknown MUX protocol '%s'.", args[i-1], v)
			case (v == "none") == http:
				return fmt.Sprintf("'%s' : invalid MUX protocol '%s' for %s", args[i-1], v, kw)
			case v == "fcgi":
				return "'proto fcgi' on a check connect rule is not implemented by gproxy (health-check rules): remove it, or keep haproxy for this configuration"
			}
			r.Proto = args[i]
		case "via-socks4":
			return fmt.Sprintf("'%s' on a check connect rule is not implemented by gproxy (health-check rules): remove it, or keep haproxy for this configuration", args[i])
		default:
			opts := "'comment', 'port', 'addr', 'send-proxy', 'via-socks4', 'ssl', 'sni', 'alpn', 'proto', 'linger' or 'default'"
			if http {
				opts = "'comment', 'port', 'addr', 'send-proxy', 'via-socks4', 'ssl', 'sni', 'alpn', 'proto', 'linger' or 'default'"
			}
			return fmt.Sprintf("expects %s but got '%s' as argument.", opts, args[i])
		}
	}
	if r.Proto == "h2" && r.SSL {
		return "'proto h2' with 'ssl' on a check connect rule (HTTP/2 checks over TLS) is not implemented by gproxy (health-check rules): remove it, or keep haproxy for this configuration"
	}
	return ""
}

func sendRule(r *rawRule, sub string, args []string) string {
	r.Action = RuleSend
	if argAt(args, 0) == "" {
		what := "string"
		if sub == "send-binary" {
			what = "binary string"
		}
		return fmt.Sprintf("'%s' expects a %s as argument", what, sub)
	}
	data := []byte(args[0])
	if sub == "send-binary" {
		b, err := hexBytes(args[0])
		if err != "" {
			return fmt.Sprintf("'%s' invalid binary string (%s).\n", args[0], err)
		}
		data = b
	}
	r.Data = data
	for i := 1; i < len(args); i++ {
		if args[i] != "comment" {
			return fmt.Sprintf("expects 'comment' but got '%s' as argument.", args[i])
		}
		if argAt(args, i+1) == "" {
			return "'comment' expects a string as argument."
		}
		i++
		r.Comment = args[i]
	}
	return ""
}

// hexBytes is haproxy's parse_binary: an even number of hex digits.
func hexBytes(s string) ([]byte, string) {
	if len(s)%2 != 0 {
		return nil, "an even number of hex digit is expected"
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		n, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Sprintf("an hex digit is expected (found '%s')", s[2*i:2*i+1])
		}
		out[i] = byte(n)
	}
	return out, ""
}

// sendHTTPRule reads `http-check send` as haproxy's
// parse_tcpcheck_send_http; it returns a syntax error, or the form gproxy
// refuses.
func (p *parser) sendHTTPRule(r *rawRule, args []string) (msg, refused string) {
	r.Action = RuleSend
	req := &HTTPRequest{}
	r.HTTP = req
	uriLF, bodyLF, host := false, false, -1
	for i := 0; i < len(args); i++ {
		val := argAt(args, i+1)
		switch args[i] {
		case "meth", "uri", "uri-lf", "ver", "body", "body-lf", "comment":
			if val == "" {
				return fmt.Sprintf("'%s' expects a string as argument.", args[i]), ""
			}
			i++
			switch args[i-1] {
			case "meth":
				req.Method = val
			case "uri", "uri-lf":
				req.URI, uriLF = val, args[i-1] == "uri-lf"
			case "ver":
				req.Version = val
			case "body", "body-lf":
				req.Body, req.HasBody, bodyLF = val, true, args[i-1] == "body-lf"
			case "comment":
				r.Comment = val
			}
		case "hdr":
			if val == "" || argAt(args, i+2) == "" {
				return "'hdr' expects <name> and <value> as arguments", ""
			}
			switch {
			case strings.EqualFold(val, "host"):
				if host >= 0 {
					return fmt.Sprintf("'%s' header already defined (previous value is '%s')", val, req.Headers[host][1]), ""
				}
				host = len(req.Headers)
				fallthrough
			case !strings.EqualFold(val, "content-length") && !strings.EqualFold(val, "transfer-encoding"):
				// haproxy drops these two: it writes the body's length itself.
				req.Headers = append(req.Headers, [2]string{val, args[i+2]})
			}
			i += 2
		default:
			return fmt.Sprintf("expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got '%s' as argument.", args[i]), ""
		}
	}
	if uriLF {
		f, m, ref := p.checkFormat(req.URI, "uri-lf")
		if m != "" || ref != "" {
			return m, ref
		}
		req.URIFmt = f
	}
	// Every header value is a log-format string in haproxy.
	for i, h := range req.Headers {
		if !strings.Contains(h[1], "%") {
			continue
		}
		f, m, ref := p.checkFormat(h[1], "hdr")
		if m != "" || ref != "" {
			if m != "" {
				// haproxy prints the log-format parser's words alone here
				m = strings.TrimSuffix(strings.TrimPrefix(m, "'"+h[1]+"' invalid log-format string ("), ").\n")
			}
			return m, ref
		}
		if req.HeaderFmts == nil {
			req.HeaderFmts = make([]*logformat.Format, len(req.Headers))
		}
		req.HeaderFmts[i] = f
	}
	if bodyLF {
		f, m, ref := p.checkFormat(req.Body, "body-lf")
		if m != "" || ref != "" {
			return m, ref
		}
		req.BodyFmt = f
	}
	return "", ""
}

// checkFormat compiles a log-format value of a check rule as haproxy's
// parse_logformat_string with SMP_VAL_BE_CHK_RUL: no HTTP encoding, only
// the fetches a check has. gproxy evaluates the sample expressions
// (%[...]) and plain text; the other fields (%ci, %b, %T...), which
// haproxy fills from a check's session, are refused.
func (p *parser) checkFormat(s, what string) (f *logformat.Format, msg, refused string) {
	f, err := logformat.ParseWith(s, logformat.Options{Sample: p.sampleOptions(), HTTP: true, At: []sample.Checkpoint{sample.AtTCPCheck}})
	if err != nil {
		return nil, fmt.Sprintf("'%s' invalid log-format string (%s).\n", s, condError(err)), ""
	}
	if f.HasFields() {
		return nil, "", fmt.Sprintf("a log-format field other than %%[...] in a check rule's '%s' value ('%s')", what, s)
	}
	return f, "", ""
}

// sendLFRule reads `tcp-check send-lf FMT` and `send-binary-lf FMT`.
func (p *parser) sendLFRule(r *rawRule, sub string, args []string) (msg, refused string) {
	r.Action = RuleSend
	if argAt(args, 0) == "" {
		// sic: haproxy's words in this order
		return fmt.Sprintf("'string' expects a %s as argument", sub), ""
	}
	for i := 1; i < len(args); i++ {
		if args[i] != "comment" {
			return fmt.Sprintf("expects 'comment' but got '%s' as argument.", args[i]), ""
		}
		if argAt(args, i+1) == "" {
			return "'comment' expects a string as argument.", ""
		}
		i++
		r.Comment = args[i]
	}
	f, m, ref := p.checkFormat(args[0], sub)
	if m != "" || ref != "" {
		return m, ref
	}
	r.Fmt, r.Binary = f, sub == "send-binary-lf"
	return "", ""
}

// varRule reads `set-var(NAME) EXPR`, `set-var-fmt(NAME) FMT` and
// `unset-var(NAME)` as haproxy's parse_store for tcp-check rules; sub is
// the keyword as written. Words after the value are ignored, as haproxy
// ignores them in check rules.
func (p *parser) varRule(r *rawRule, verb, sub string, args []string) (msg, refused string) {
	errf := func(format string, a ...any) (string, string) {
		return fmt.Sprintf("'%s' : ", verb) + fmt.Sprintf(format, a...), ""
	}
	inner := strings.TrimPrefix(sub, verb)
	if !strings.HasPrefix(inner, "(") {
		return errf("invalid or incomplete action '%s'. Expects 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'", sub)
	}
	inner, ok := strings.CutSuffix(inner[1:], ")")
	if !ok {
		return errf("incomplete argument after action '%s'. Expects 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'", sub)
	}
	name, conds, hasConds := strings.Cut(inner, ",")
	if hasConds && conds != "" && verb == "unset-var" {
		return errf("unset-var does not expect parameters after the variable name. Only \"set-var\" and \"set-var-fmt\" manage conditions")
	}
	scope, _, _ := strings.Cut(name, ".")
	switch scope {
	case "proc", "sess", "txn", "req", "res", "check":
	default:
		return errf("invalid variable name '%s'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'", name)
	}
	if hasConds && conds != "" {
		return "", fmt.Sprintf("a condition on a variable ('%s') in '%s'", conds, sub)
	}
	r.Var = name
	switch verb {
	case "unset-var":
		r.Action = RuleUnsetVar
		return "", ""
	case "set-var-fmt":
		r.Action = RuleSetVar
		if argAt(args, 0) == "" {
			// haproxy 2.6 accepts it and crashes when the rule runs
			// (action_store evaluates a missing expression).
			return errf("gproxy requires a non-empty format (haproxy 2.6 accepts none or an empty one, then crashes when the rule runs)")
		}
		f, m, ref := p.checkFormat(args[0], sub)
		if m != "" {
			return errf("%s", strings.TrimSuffix(strings.TrimPrefix(m, "'"+args[0]+"' invalid log-format string ("), ").\n"))
		}
		if ref != "" {
			return "", ref
		}
		r.Fmt = f
		return "", ""
	}
	r.Action = RuleSetVar
	if argAt(args, 0) == "" {
		return errf("missing fetch method")
	}
	e, err := sample.ParseExpr(args[0], p.sampleOptions())
	if err != nil {
		return errf("%s", condError(err))
	}
	if needs, ok := e.Needs(sample.AtTCPCheck); !ok {
		return errf("fetch method '%s' extracts information from '%s', none of which is available here", sub, srcNames(needs))
	}
	r.VarExpr = e
	return "", ""
}

// expectRule reads `expect [!] MATCH PATTERN [options]`; it returns a
// syntax error, or the form gproxy refuses.
func (p *parser) expectRule(r *rawRule, args []string, http bool) (msg, refused string) {
	r.Action = RuleExpect
	kw := "tcp-check"
	if http {
		kw = "http-check"
	}
	if argAt(args, 0) == "" {
		return "expects at least a matching pattern as arguments", ""
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		inPattern := false
		if strings.HasPrefix(a, "!") {
			r.Inverse, inPattern = true, true
			a = a[1:]
			if a == "" {
				i++
				a = argAt(args, i)
			}
		}
		val := argAt(args, i+1)
		switch a {
		case "min-recv":
			if inPattern {
				return fmt.Sprintf("[!] not supported with '%s'", a), ""
			}
			if val == "" {
				return fmt.Sprintf("'%s' expects a integer as argument", a), ""
			}
			n, err := strconv.Atoi(val)
			if err != nil || n < -1 {
				return fmt.Sprintf("'%s' expects -1 or an integer from 0 to INT_MAX", a), ""
			}
			r.MinRecv = n
			i++
		case "string", "rstring", "binary", "rbinary":
			if http && (a == "binary" || a == "rbinary") {
				return badHTTPExpect(a), ""
			}
			if r.Match != "" {
				return "only on pattern expected", ""
			}
			if val == "" {
				return fmt.Sprintf("'%s' expects a <pattern> as argument", a), ""
			}
			r.Match, r.Pattern = a, val
			if a == "binary" {
				b, err := hexBytes(val)
				if err != "" {
					return fmt.Sprintf("'%s' invalid binary string (%s)", val, err), ""
				}
				r.Pattern = string(b)
			}
			if a[0] == 'r' {
				if _, err := regexp.Compile(val); err != nil {
					return fmt.Sprintf("'%s' : regex '%s' not supported by gproxy (%v)", a, val, err), ""
				}
			}
			i++
		case "status", "rstatus":
			if !http {
				return badTCPExpect(a), ""
			}
			if r.Match != "" {
				return "only on pattern expected", ""
			}
			if val == "" {
				return fmt.Sprintf("'%s' expects a <pattern> as argument", a), ""
			}
			r.Match, r.Pattern = a, val
			if a == "status" {
				codes, m := statusRanges(val)
				if m != "" {
					return m, ""
				}
				r.Statuses = codes
			} else if _, err := regexp.Compile(val); err != nil {
				return fmt.Sprintf("'%s' : regex '%s' not supported by gproxy (%v)", a, val, err), ""
			}
			i++
		case "hdr", "fhdr":
			if !http {
				return badTCPExpect(a), ""
			}
			if r.Match != "" {
				return "only on pattern expected", ""
			}
			h := &HeaderMatch{Full: a == "fhdr"}
			j := i + 1
			if (argAt(args, j) != "name" && argAt(args, j) != "name-lf") || argAt(args, j+1) == "" {
				return fmt.Sprintf("'%s' expects at the name keyword as first argument followed by a pattern", a), ""
			}
			nameLF := args[j] == "name-lf"
			j++
			h.NameMatch = "str"
			if args[j] == "-m" {
				if argAt(args, j+1) == "" {
					return fmt.Sprintf("'%s' : '%s' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')", a, args[j]), ""
				}
				h.NameMatch = args[j+1]
				if msg := matchMethod(a, h.NameMatch, nameLF); msg != "" {
					return msg, ""
				}
				j += 2
			}
			h.Name = argAt(args, j)
			valueLF := false
			if v := argAt(args, j+1); v == "value" || v == "value-lf" {
				valueLF = v == "value-lf"
				j += 2
				h.ValueMatch = "str"
				if argAt(args, j) == "-m" {
					if argAt(args, j+1) == "" {
						return fmt.Sprintf("'%s' : '%s' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')", a, args[j]), ""
					}
					h.ValueMatch = argAt(args, j+1)
					if msg := matchMethod(a, h.ValueMatch, valueLF); msg != "" {
						return msg, ""
					}
					j += 2
				}
				if argAt(args, j) == "" {
					return fmt.Sprintf("'%s' expect a pattern with the value keyword", a), ""
				}
				h.Value, h.HasValue = args[j], true
			}
			if nameLF {
				f, m, ref := p.checkFormat(h.Name, "name-lf")
				if m != "" || ref != "" {
					return m, ref
				}
				h.NameFmt = f
			}
			if valueLF {
				f, m, ref := p.checkFormat(h.Value, "value-lf")
				if m != "" || ref != "" {
					// haproxy names the name pattern in this message
					return strings.Replace(m, "'"+h.Value+"'", "'"+h.Name+"'", 1), ref
				}
				h.ValueFmt = f
			}
			if h.NameMatch == "reg" {
				if _, err := regexp.Compile(h.Name); err != nil {
					return fmt.Sprintf("'%s' : regex '%s' not supported by gproxy (%v)", a, h.Name, err), ""
				}
			}
			if h.ValueMatch == "reg" {
				if _, err := regexp.Compile(h.Value); err != nil {
					return fmt.Sprintf("'%s' : regex '%s' not supported by gproxy (%v)", a, h.Value, err), ""
				}
			}
			r.Match, r.Header = a, h
			i = j
		case "string-lf", "binary-lf":
			if http && a == "binary-lf" {
				return badHTTPExpect(a), ""
			}
			if r.Match != "" {
				return "only on pattern expected", ""
			}
			if val == "" {
				return fmt.Sprintf("'%s' expects a <pattern> as argument", a), ""
			}
			f, m, ref := p.checkFormat(val, a)
			if m != "" || ref != "" {
				return m, ref
			}
			r.Match, r.Pattern, r.Fmt, r.Binary = a, val, f, a == "binary-lf"
			i++
		case "custom":
			return "", fmt.Sprintf("'%s expect %s'", kw, a)
		case "comment", "on-success", "on-error", "ok-status", "error-status", "tout-status", "status-code":
			if inPattern {
				return fmt.Sprintf("[!] not supported with '%s'", a), ""
			}
			if val == "" {
				return fmt.Sprintf("'%s' expects a string as argument", a), ""
			}
			i++
			switch a {
			case "comment":
				r.Comment = val
			case "on-success", "on-error":
				if a == "on-success" {
					r.OnOK = val
				} else {
					r.OnError = val
				}
			case "status-code":
				e, err := sample.ParseExpr(val, p.sampleOptions())
				if err != nil {
					return fmt.Sprintf("error detected while parsing status-code expression : %s", condError(err)), ""
				}
				r.StatusCode = e
			case "ok-status":
				v := strings.ToUpper(val)
				if v != "L7OK" && v != "L7OKC" && v != "L6OK" && v != "L4OK" {
					return fmt.Sprintf("'%s' only supports 'L4OK', 'L6OK', 'L7OK' or 'L7OKC' status (got '%s').", a, val), ""
				}
				if v == "L7OKC" {
					// a conditional pass puts the server in NOLB (stopping) mode
					return "", fmt.Sprintf("'ok-status %s' in '%s expect'", val, kw)
				}
				r.OKStatus = v
			case "error-status":
				v := strings.ToUpper(val)
				if v != "L7RSP" && v != "L7STS" && v != "L7OKC" && v != "L6RSP" && v != "L4CON" {
					return fmt.Sprintf("'%s' only supports 'L4CON', 'L6RSP', 'L7RSP' or 'L7STS' status (got '%s').", a, val), ""
				}
				if v == "L7OKC" {
					return "", fmt.Sprintf("'error-status %s' in '%s expect'", val, kw)
				}
				r.ErrStatus = v
			case "tout-status":
				v := strings.ToUpper(val)
				if v != "L7TOUT" && v != "L6TOUT" && v != "L4TOUT" {
					return fmt.Sprintf("'%s' only supports 'L4TOUT', 'L6TOUT', or 'L7TOUT' status (got '%s').", a, val), ""
				}
				r.ToutStatus = v
			}
		default:
			if http {
				return badHTTPExpect(a), ""
			}
			return badTCPExpect(a), ""
		}
	}
	if r.Match == "" {
		return "expects at least a matching pattern as arguments", ""
	}
	for _, m := range []struct {
		src string
		dst **logformat.Format
		kw  string
	}{{r.OnOK, &r.OnOKFmt, "on-success"}, {r.OnError, &r.OnErrorFmt, "on-error"}} {
		if !strings.Contains(m.src, "%") {
			continue
		}
		f, msg, ref := p.checkFormat(m.src, m.kw)
		if msg != "" || ref != "" {
			return msg, ref
		}
		*m.dst = f
	}
	return "", ""
}

// badHTTPExpect is haproxy's bad_http_kw message, quotes as written.
func badHTTPExpect(a string) string {
	return fmt.Sprintf("'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got '%s' as argument.", a)
}

// badTCPExpect is haproxy's bad_tcp_kw message, quotes as written.
func badTCPExpect(a string) string {
	return fmt.Sprintf("'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '%s' as argument.", a)
}

// matchMethod checks a `-m` method of http-check expect hdr; a log-format
// pattern cannot be a regex.
func matchMethod(kw, m string, lf bool) string {
	switch m {
	case "str", "beg", "end", "sub":
	case "reg":
		if lf {
			return fmt.Sprintf("'%s': log-format string is not supported with a regex matching method", kw)
		}
	default:
		return fmt.Sprintf("'%s' : '-m' only supports 'str', 'beg', 'end', 'sub' or 'reg' (got '%s')", kw, m)
	}
	return ""
}

// statusRanges reads `status 200`, `200-399`, `200,302,400-499`.
func statusRanges(v string) ([][2]int, string) {
	var out [][2]int
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Sprintf("invalid range of status codes '%s'", part)
		}
		out = append(out, [2]int{a, b})
	}
	return out, ""
}

// finishChecks completes the check of a proxy at the end of the parse, as
// haproxy's check_proxy_tcpcheck: the request of `option httpchk` after
// the first connect, an implicit `expect status 200-399` after a final
// send, an implicit connect first, comments given to the rules after them.
func (p *parser) finishChecks(ps *proxyState) {
	p.finishExternal(ps)
	c := &ps.px.Check
	if c.DisableOn404 && c.Type >= CheckTCP && c.Type <= CheckSSLHello {
		p.postDiag(Warning, Pos{}, "", "'%s' will be ignored for %s '%s' (requires 'option httpchk').", "disable-on-404", typeStr(ps.px.Kind), ps.px.Name)
		c.DisableOn404 = false
	}
	if c.SendState && c.Type >= CheckTCP && c.Type <= CheckSSLHello {
		p.postDiag(Warning, Pos{}, "", "'%s' will be ignored for %s '%s' (requires 'option httpchk').", "send-state", typeStr(ps.px.Kind), ps.px.Name)
		c.SendState = false
	}
	var rules []rawRule
	if ps.chk.used != nil {
		rules = append(rules, ps.chk.used.rules...)
	}
	p.checkPorts(ps, rules)
	if c.Type != CheckTCP && c.Type != CheckHTTP {
		c.Rules = nil
		return
	}
	if c.Type == CheckHTTP {
		first := -1
		for i := range rules {
			if !rules[i].skip() {
				first = i
				break
			}
		}
		if first >= 0 && rules[first].Action == RuleSend && rules[first].fromOpt {
			if n := nextRule(rules, first); n >= 0 && rules[n].Action == RuleConnect {
				send := rules[first]
				send.Step = rules[n].Step + 1
				rules = append(rules[:first:first], rules[first+1:]...)
				n--
				rules = append(rules[:n+1:n+1], append([]rawRule{send}, rules[n+1:]...)...)
			}
		}
		last := -1
		for i := len(rules) - 1; i >= 0; i-- {
			if !rules[i].skip() {
				last = i
				break
			}
		}
		if last >= 0 && rules[last].Action == RuleSend {
			rules = append(rules, rawRule{CheckRule: CheckRule{Action: RuleExpect, Step: rules[last].Step + 1,
				Match: "status", Pattern: "200-399", Statuses: [][2]int{{200, 399}}, MinRecv: -1, Pos: ps.px.Pos}})
		}
	}
	first := -1
	for i := range rules {
		if !rules[i].skip() {
			first = i
			break
		}
	}
	if first < 0 || rules[first].Action != RuleConnect {
		rules = append([]rawRule{{CheckRule: CheckRule{Action: RuleConnect, Step: 0, MinRecv: -1}}}, rules...)
	}
	var out []CheckRule
	comment, prevComment, prev := "", true, RuleAction(-1)
	for _, r := range rules {
		if r.comment {
			comment, prevComment = r.Comment, true
			continue
		}
		if r.Action != prev && !prevComment {
			comment = ""
		}
		prev, prevComment = r.Action, false
		if r.Action == RuleSetVar || r.Action == RuleUnsetVar {
			// haproxy's action rules take no comment and end one
			comment = ""
			out = append(out, r.CheckRule)
			continue
		}
		if r.Comment == "" {
			r.Comment = comment
		}
		if r.Action == RuleConnect {
			comment = ""
		}
		if r.Action == RuleSend && r.HTTP != nil {
			h := *r.HTTP
			r.HTTP = &h
		}
		out = append(out, r.CheckRule)
	}
	c.Rules = out
}

// checkPorts refuses, as haproxy's init_srv_check, a checked server on
// an IP address without a port when nothing gives its check one: no
// `port`, and no first `connect` rule with a port (rules in the order
// they were declared, an option's own first).
func (p *parser) checkPorts(ps *proxyState, rules []rawRule) {
	if !ps.px.Kind.HasBackend() {
		return
	}
	hasPort := func(r rawRule) bool {
		if r.Port != 0 {
			return true
		}
		hp := splitHostPort(r.Addr)
		n, ok := parsePortNum(hp.Port)
		return hp.HasPort && ok && n != 0
	}
	c := &ps.px.Check
	for _, s := range ps.px.Servers {
		if !s.Check || s.CheckPort != 0 || s.Port != 0 || s.Sock.IsSet() {
			continue
		}
		// Names are resolved after this in haproxy, and an any address
		// is not an address to it (is_inet_addr).
		if a, err := netip.ParseAddr(s.Host); err != nil || a.IsUnspecified() {
			continue
		}
		where := fmt.Sprintf("config: %s '%s': server '%s' has neither service port nor check port", typeStr(ps.px.Kind), ps.px.Name, s.Name)
		var first *rawRule
		for i := range rules {
			if !rules[i].skip() {
				first = &rules[i]
				break
			}
		}
		switch {
		case c.Type == CheckConnect || c.Type == CheckExternal || c.Type == CheckTCP && first == nil:
			p.postDiag(Alert, Pos{}, "", "%s.", where)
		case c.Type != CheckTCP && c.Type != CheckHTTP || first.Action != RuleConnect || !hasPort(*first):
			p.postDiag(Alert, Pos{}, "", "%s nor tcp_check rule 'connect' with port information.", where)
		default:
			for _, r := range rules {
				if !r.skip() && r.Action == RuleConnect && !hasPort(r) {
					p.postDiag(Alert, Pos{}, "", "%s, and a tcp_check rule 'connect' with no port information.", where)
					break
				}
			}
		}
	}
}

// externalCheck is `external-check command CMD` and `external-check path
// PATH` (configuration manual 4.2).
func (p *parser) externalCheck(args []string) {
	if !p.needCap("external-check", false, "") {
		return
	}
	sub := argAt(args, 1)
	if sub == "" {
		p.alert("external-check", "missing argument after '%s'.\n", args[0])
		return
	}
	if sub != "command" && sub != "path" {
		p.alert("external-check", "'%s' only supports 'command' and 'path'. but got '%s'.", args[0], sub)
		return
	}
	if len(args) > 3 {
		p.alert("external-check", "'%s %s' cannot handle unexpected argument '%s'.", args[0], sub, args[3])
		return
	}
	if argAt(args, 2) == "" {
		p.alert("external-check", "missing argument after '%s'.", sub)
		return
	}
	if sub == "command" {
		p.cur.px.Check.Command = args[2]
	} else {
		p.cur.px.Check.Path = args[2]
	}
}

// finishExternal checks `option external-check` as haproxy's
// check_config_validity does.
func (p *parser) finishExternal(ps *proxyState) {
	px := ps.px
	c := &px.Check
	if c.Type == CheckExternal {
		if !p.cfg.Global.ExternalCheck {
			p.postDiag(Alert, Pos{}, "", "Proxy '%s' : '%s' unable to find required 'global.external-check'.", px.Name, "option external-check")
		}
		if c.Command == "" {
			p.postDiag(Alert, Pos{}, "", "Proxy '%s' : '%s' unable to find required 'external-check command'.", px.Name, "option external-check")
		}
		if !p.cfg.Global.InsecureForkWanted {
			p.postDiag(Warning, Pos{}, "", "Proxy '%s' : 'insecure-fork-wanted' not enabled in the global section, '%s' will likely fail.", px.Name, "option external-check")
			// Whether haproxy's fork then fails depends on its privileges
			// (RLIMIT_NPROC is not enforced for root): gproxy does not guess.
			p.postDiag(Alert, Pos{}, "", "Proxy '%s' : gproxy runs 'option external-check' only with 'insecure-fork-wanted' in the global section (without it, whether haproxy's checks can fork depends on its privileges): add it, or keep haproxy for this configuration.", px.Name)
		}
	}
	if c.Command != "" {
		if c.Type != CheckExternal {
			p.postDiag(Warning, Pos{}, "", "'%s' will be ignored for %s '%s' (requires 'option external-check').", "external-check command", typeStr(px.Kind), px.Name)
		}
		if c.Command[0] != '/' && c.Path == "" {
			p.postDiag(Alert, Pos{}, "", "Proxy '%s': '%s' does not have a leading '/' and 'external-check path' is not set.", px.Name, "external-check command")
		}
		if c.Type != CheckExternal {
			c.Command = ""
		}
	}
}

// finishTracks resolves `track` as haproxy's srv_apply_track does, with
// its alerts. A server with both `track` and `check` is refused: gproxy
// does not combine the two.
func (p *parser) finishTracks() {
	for _, ps := range p.proxies {
		px := ps.px
		if !px.Kind.HasBackend() {
			continue
		}
		for _, s := range px.Servers {
			if s.TrackServer == "" {
				continue
			}
			alert := func(format string, a ...any) {
				p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: s.Pos, Keyword: "server",
					Msg: fmt.Sprintf("'server %s/%s' : ", px.Name, s.Name) + fmt.Sprintf(format, a...), Style: LocBracket})
			}
			tpx := px
			if s.TrackBackend != "" {
				tpx = p.cfg.Proxy(s.TrackBackend, KindListen, KindBackend)
				if tpx == nil {
					alert("unable to find required proxy '%s' for tracking.", s.TrackBackend)
					continue
				}
			}
			s.TrackBackend = tpx.Name
			t := tpx.Server(s.TrackServer)
			if t == nil {
				alert("unable to find required server '%s' for tracking.", s.TrackServer)
				continue
			}
			if !t.Check && t.TrackServer == "" {
				alert("unable to use %s/%s for tracking as it does not have any check nor agent enabled.", tpx.Name, t.Name)
				continue
			}
			if tpx != px && tpx.Check.DisableOn404 != px.Check.DisableOn404 {
				alert("unable to use %s/%s fortracking: disable-on-404 option inconsistency.", tpx.Name, t.Name)
				continue
			}
			loop := t
			seen := map[*Server]bool{}
			for loop != nil && loop != s && !seen[loop] && loop.TrackServer != "" {
				seen[loop] = true
				lpx := p.cfg.Proxy(loop.TrackBackend, KindListen, KindBackend)
				if loop.TrackBackend == "" || lpx == nil {
					lpx = tpx
				}
				loop = lpx.Server(loop.TrackServer)
			}
			if t == s || loop == s {
				alert("unable to track %s/%s as it belongs to a tracking chain looping back to %s/%s.", tpx.Name, t.Name, tpx.Name, t.Name)
				continue
			}
			if s.Check {
				alert("'track' with 'check' on the same server is not implemented by gproxy (health-check rules): remove one, or keep haproxy for this configuration.")
			}
		}
	}
}
