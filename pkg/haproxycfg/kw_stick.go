package haproxycfg

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"hapair/pkg/sample"
	"hapair/pkg/sticktable"
)

// stickTable is `stick-table type T [len N] size N [expire T] [nopurge]
// [peers P] [store D,...]` in a proxy (section 4.2), with haproxy's
// messages (parse_stick_table).
func (p *parser) stickTable(args []string) {
	kw := args[0]
	px := p.cur.px
	if p.cur.isDefault {
		p.alert(kw, "'%s' is not supported in 'defaults' section.", kw)
		return
	}
	// Tables are named after their proxy: one per name.
	if px.StickTable != nil {
		p.alert(kw, "stick-table name '%s' conflicts with table declared in %s '%s' at %s:%d.", px.Name, px.Kind, px.Name, p.cur.stickPos.File, p.cur.stickPos.Line)
		return
	}
	for _, q := range p.proxies {
		if q.px.Name == px.Name && q.px.StickTable != nil {
			p.alert(kw, "stick-table name '%s' conflicts with table declared in %s '%s' at %s:%d.", px.Name, q.px.Kind, q.px.Name, q.stickPos.File, q.stickPos.Line)
			return
		}
	}
	cfg := p.stickTableArgs(kw, args, 1, px.Name, true)
	if cfg == nil {
		return
	}
	px.StickTable = cfg
	p.cur.stickPos = p.pos()
}

// stickTableArgs reads the arguments of a table from args[start:]:
// `stick-table` in a proxy (withPeers: the `peers` argument is allowed) or
// `table NAME` in a peers section. It returns nil after an alert.
func (p *parser) stickTableArgs(kw string, args []string, start int, name string, withPeers bool) *sticktable.Config {
	cfg := &sticktable.Config{Name: name}
	typed := false
	for i := start; i < len(args); i++ {
		w := args[i]
		next := func() (string, bool) {
			if i+1 >= len(args) || args[i+1] == "" {
				p.alert(kw, "%s: missing argument after '%s'.", kw, w)
				return "", false
			}
			i++
			return args[i], true
		}
		switch w {
		case "size":
			v, ok := next()
			if !ok {
				return nil
			}
			n, bad := parseSizeUnit(v)
			if bad != 0 {
				p.alert(kw, "%s: unexpected character '%c' in argument of '%s'.", kw, bad, w)
				return nil
			}
			cfg.Size = n
		case "peers":
			if !withPeers {
				p.alert(kw, "%s: unknown argument '%s'.", kw, w)
				return nil
			}
			v, ok := next()
			if !ok {
				return nil
			}
			cfg.Peers = v
		case "expire":
			v, ok := next()
			if !ok {
				return nil
			}
			tv := parseTime(v)
			switch {
			case tv.Err == timeOverflow:
				p.alert(kw, "%s: timer overflow in argument <%s> to <%s>, maximum value is 2147483647 ms (~24.8 days).", kw, v, w)
				return nil
			case tv.Err == timeBadChar:
				p.alert(kw, "%s: unexpected character '%c' in argument of '%s'.", kw, tv.BadChar, w)
				return nil
			case tv.Trailing != 0:
				p.alert(kw, "%s: unexpected character '%c' in argument of '%s'.", kw, tv.Trailing, w)
				return nil
			}
			cfg.Expire = tv.D
		case "nopurge":
			cfg.NoPurge = true
		case "type":
			v := ""
			if i+1 < len(args) {
				v = args[i+1]
			}
			t, ok := sticktable.ParseKeyType(v)
			if !ok {
				p.alert(kw, "%s: unknown type '%s'.", kw, v)
				return nil
			}
			i++
			cfg.Type, typed = t, true
			if (t == sticktable.KeyString || t == sticktable.KeyBinary) && i+1 < len(args) && args[i+1] == "len" {
				n, err := strconv.Atoi(argAt(args, i+2))
				if err != nil || n <= 0 {
					p.alert(kw, "%s: unknown type '%s'.", kw, argAt(args, i+2))
					return nil
				}
				cfg.Len = n
				if t == sticktable.KeyString {
					cfg.KeySize = n + 1 // haproxy keeps the NUL
				}
				i += 2
			}
		case "store":
			v := ""
			if i+1 < len(args) {
				v = args[i+1]
			}
			i++
			for _, item := range splitStore(v) {
				st, err := sticktable.ParseStore(item)
				if errors.Is(err, sticktable.ErrUnsupported) {
					p.refuseForm(grpRouting, LocParsing, kw, "", fmt.Sprintf("'%s store %s'", kw, item))
					return nil
				}
				if err != nil {
					p.alert(kw, "%s: %s.", kw, err)
					return nil
				}
				dup := false
				for _, s := range cfg.Stores {
					dup = dup || s.Type == st.Type
				}
				if dup {
					name, _, _ := strings.Cut(item, "(")
					p.diag(Warning, LocParsingTight, kw, "%s: store option '%s' already enabled, ignored.", kw, name)
					continue
				}
				cfg.Stores = append(cfg.Stores, st)
			}
		case "srvkey":
			p.refuseForm(grpRouting, LocParsing, kw, "", fmt.Sprintf("'%s srvkey'", kw))
			return nil
		default:
			p.alert(kw, "%s: unknown argument '%s'.", kw, w)
			return nil
		}
	}
	if cfg.Size == 0 {
		p.alert(kw, "%s: missing size.", kw)
		return nil
	}
	if !typed {
		p.alert(kw, "%s: missing type.", kw)
		return nil
	}
	if (cfg.Type == sticktable.KeyString || cfg.Type == sticktable.KeyBinary) && cfg.Len == 0 {
		cfg.Len = 32
	}
	return cfg
}

// splitStore splits a store list on the commas outside parentheses.
func splitStore(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// parseSizeUnit is haproxy's parse_size_err: a number with an optional
// k, m or g suffix (powers of 1024); bad is the unexpected character.
func parseSizeUnit(s string) (n int, bad byte) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 && s != "" {
		return 0, s[0]
	}
	if i < len(s) {
		switch s[i] {
		case 'k', 'K':
			n <<= 10
		case 'm', 'M':
			n <<= 20
		case 'g', 'G':
			n <<= 30
		default:
			return 0, s[i]
		}
		if i+1 < len(s) {
			return 0, s[i+1]
		}
	}
	return n, 0
}

// isStickAction reports whether an action name is one of the stick
// counter actions (track-sc0..2, sc-inc-gpc0/1, sc-set-gpt0), with or
// without its counter in parentheses.
func isStickAction(action string) bool {
	if strings.HasPrefix(action, "track-sc") {
		return true
	}
	name, _, _ := strings.Cut(action, "(")
	switch name {
	case "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0":
		return true
	}
	return false
}

// stickArgs reads a stick counter action and its arguments; rest are the
// words after the action, own how many come before if/unless. where is
// the checkpoint the rule runs at (the key and value expressions must be
// available there). It returns the words it used.
func (p *parser) stickArgs(action string, rest []string, own int, where sample.Checkpoint) (Action, *StickAction, int, ruleError) {
	name, paren, hasParen := strings.Cut(action, "(")
	sa := &StickAction{}
	switch {
	case strings.HasPrefix(action, "track-sc"):
		num := action[8:]
		slot, err := strconv.ParseUint(num, 10, 64)
		switch {
		case err != nil:
			return 0, nil, 0, ruleError(fmt.Sprintf("Wrong track-sc number '%s'", num))
		case slot > 2:
			return 0, nil, 0, ruleError(fmt.Sprintf("%d track-sc number exceeding 2 (MAX_SESS_STKCTR-1) value", slot))
		}
		sa.Slot = int(slot)
		if own < 1 {
			return 0, nil, 0, "missing fetch method"
		}
		e, err := sample.ParseExpr(rest[0], p.sampleOptions())
		if err != nil {
			return 0, nil, 0, ruleError(condError(err))
		}
		if needs, ok := e.Needs(where); !ok {
			return 0, nil, 0, ruleError(fmt.Sprintf("fetch method '%s' extracts information from '%s', none of which is available here", rest[0], srcNames(needs)))
		}
		sa.Key = e
		n := 1
		if own > 1 && rest[1] == "table" {
			if own < 3 || rest[2] == "" {
				return 0, nil, 0, "missing table name"
			}
			sa.Table = rest[2]
			n = 3
		}
		return ActTrackSC, sa, n, ""
	case name == "sc-inc-gpc0" || name == "sc-inc-gpc1":
		sa.Idx = int(name[10] - '0')
		if hasParen {
			n, err := strconv.Atoi(strings.TrimSuffix(paren, ")"))
			if err != nil || !strings.HasSuffix(paren, ")") {
				return 0, nil, 0, ruleError(fmt.Sprintf("invalid stick table track ID. Expects %s(<Track ID>)", name))
			}
			if n < 0 || n > 2 {
				return 0, nil, 0, "invalid stick table track ID. The max allowed ID is 2"
			}
			sa.Slot = n
		}
		return ActIncGPC, sa, 0, ""
	}
	// sc-set-gpt0[(N)] VALUE|EXPR
	if hasParen {
		n, err := strconv.Atoi(strings.TrimSuffix(paren, ")"))
		if err != nil || !strings.HasSuffix(paren, ")") {
			return 0, nil, 0, ruleError(fmt.Sprintf("invalid stick table track ID '%s'. Expects sc-set-gpt0(<Track ID>)", action))
		}
		if n < 0 || n > 2 {
			return 0, nil, 0, ruleError(fmt.Sprintf("invalid stick table track ID '%s'. The max allowed ID is 2", action))
		}
		sa.Slot = n
	}
	if own < 1 {
		return 0, nil, 0, "missing fetch method"
	}
	if v, err := strconv.ParseInt(rest[0], 10, 64); err == nil {
		sa.Value = v
		return ActSetGPT, sa, 1, ""
	}
	e, err := sample.ParseExpr(rest[0], p.sampleOptions())
	if err != nil {
		return 0, nil, 0, ruleError(condError(err))
	}
	if needs, ok := e.Needs(where); !ok {
		return 0, nil, 0, ruleError(fmt.Sprintf("fetch method '%s' extracts information from '%s', none of which is available here", rest[0], srcNames(needs)))
	}
	sa.Expr = e
	return ActSetGPT, sa, 1, ""
}

// checkStick resolves the tables of a proxy's track-sc rules once every
// proxy is read (haproxy's check_trk_action): the named table, else the
// proxy's own, must exist. An empty Table stays empty (rules inherited
// from a defaults section are shared): the engine reads it as the table
// of the proxy running the rule.
func (p *parser) checkStick(ps *proxyState) {
	px := ps.px
	rs := &px.Rules
	check := func(sa *StickAction, content bool, cond *sample.Cond) {
		if sa == nil || sa.Key == nil {
			return
		}
		name := sa.Table
		if name == "" {
			name = px.Name
		}
		if p.cfg.StickTable(name) == nil {
			p.postDiag(Alert, Pos{}, "track-sc", "Proxy '%s': unable to find table '%s' referenced by track-sc%d.", px.Name, name, sa.Slot)
			return
		}
		if !content || !px.Kind.HasFrontend() || ps.isDefault {
			return
		}
		// haproxy's advice on a frontend's tcp-request content
		// track-sc: its key may not be there yet without an
		// inspect-delay, and an HTTP frontend's errors never reach
		// these rules, so a key not read from the request belongs to a
		// session rule.
		if _, atAccept := sa.Key.Needs(sample.AtFrontendTCPSession); rs.InspectDelay == 0 && !atAccept {
			p.postDiag(Warning, Pos{}, "track-sc", "%s '%s' : a 'tcp-request content track-sc*' rule explicitly depending on request contents without any 'tcp-request inspect-delay' setting. This means that this rule will randomly find its contents. This can be fixed by setting the tcp-request inspect-delay.", typeStr(px.Kind), px.Name)
		}
		if px.Mode == ModeHTTP && !sa.Key.ReadsRequest() && !cond.ReadsRequest() {
			p.postDiag(Warning, Pos{}, "track-sc", "%s '%s' : a 'tcp-request content track-sc*' rule not depending on request contents for an HTTP frontend should be executed at the session level, using a 'tcp-request session' rule (mandatory to track invalid HTTP requests).", typeStr(px.Kind), px.Name)
		}
	}
	// haproxy's order: tcp-request connection, session, content, then
	// http-request and http-response.
	for i, set := range [][]*TCPRule{rs.TCPConnection, rs.TCPSession, rs.TCPContent} {
		for _, r := range set {
			check(r.Stick, i == 2, r.Cond)
		}
	}
	for _, set := range [][]*Rule{rs.HTTPRequest, rs.HTTPResponse} {
		for _, r := range set {
			check(r.Stick, false, nil)
		}
	}
}

// StickTable finds a table by name: the table of the proxy of that name,
// or a peers section's (SECTION/NAME).
func (c *Config) StickTable(name string) *sticktable.Config {
	for _, px := range c.Proxies {
		if px.Name == name && px.StickTable != nil {
			return px.StickTable
		}
	}
	for _, t := range c.PeersTables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// tcpStickRule is `tcp-request connection|session|content ACTION ARGS
// [if|unless COND]` for the stick counter actions.
func (p *parser) tcpStickRule(args []string, sub, action string) {
	kw := args[0]
	where := map[string]sample.Checkpoint{"connection": sample.AtFrontendTCPConnection,
		"session": sample.AtFrontendTCPSession, "content": sample.AtFrontendTCPContent}[sub]
	if sub == "content" && !p.cur.px.Kind.HasFrontend() {
		where = sample.AtBackendTCPContent
	}
	if kw == "tcp-response" {
		where = sample.AtBackendTCPResponse
	}
	if where == sample.AtFrontendTCPConnection && strings.HasPrefix(action, "sc-set-gpt") {
		// haproxy 2.6 has no sc-set-gpt0 at the connection level.
		p.alert(kw, "'%s %s' expects 'accept', 'reject', 'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-dst', 'set-dst-port', 'set-mark', 'set-src', 'set-src-port', 'set-tos', 'silent-drop' in %s '%s' (got '%s').\n", kw, sub, p.proxyTypeName(), p.cur.px.Name, action)
		return
	}
	rest := args[3:]
	own := 0
	for own < len(rest) && rest[own] != "if" && rest[own] != "unless" {
		own++
	}
	act, sa, n, rerr := p.stickArgs(action, rest, own, where)
	if rerr != "" {
		if kw == "tcp-response" {
			p.alert(kw, "%s", rerr) // haproxy words it without the rule there
			return
		}
		p.alert(kw, "'%s %s %s' : %s", kw, sub, action, rerr)
		return
	}
	rest = rest[n:]
	if len(rest) > 0 && rest[0] != "if" && rest[0] != "unless" {
		p.alert(kw, "'%s %s %s' only accepts 'if' or 'unless', in %s '%s' (got '%s')", kw, sub, action, p.proxyTypeName(), p.cur.px.Name, rest[0])
		return
	}
	cond, err := p.ruleCond(rest)
	if err != nil {
		p.alert(kw, "'%s %s %s' : error detected in %s '%s' while parsing '%s' condition : %s", kw, sub, action, p.proxyTypeName(), p.cur.px.Name, rest[0], condError(err))
		return
	}
	sa.Session = sub != "content"
	r := &TCPRule{Action: act, Cond: cond, Stick: sa, Pos: p.pos()}
	rs := &p.cur.px.Rules
	if kw != "tcp-response" {
		p.misplaced(map[string]misplacedLevel{"connection": misplacedTCPConn, "session": misplacedTCPSess, "content": misplacedTCPCont}[sub], kw)
	}
	if kw == "tcp-response" {
		rs.TCPResponse = append(rs.TCPResponse, r)
		return
	}
	switch sub {
	case "connection":
		rs.TCPConnection = append(rs.TCPConnection, r)
	case "session":
		rs.TCPSession = append(rs.TCPSession, r)
	default:
		rs.TCPContent = append(rs.TCPContent, r)
	}
}

// stickRule is `stick match|on|store-request PATTERN [table T]
// [if|unless COND]`, with haproxy's messages; store-response is refused.
func (p *parser) stickRule(args []string) {
	kw := args[0]
	if p.notInDefaults(kw) || !p.needCap(kw, false, "") {
		return
	}
	r := &StickRule{Pos: p.pos()}
	switch argAt(args, 1) {
	case "store", "store-request":
		r.Store = true
	case "match":
		r.Match = true
	case "on":
		r.Match, r.Store = true, true
	case "store-response":
		p.refuseForm(grpRouting, LocParsing, kw, "", fmt.Sprintf("'%s store-response'", kw))
		return
	default:
		p.alert(kw, "'%s' expects 'on', 'match', or 'store'.", kw)
		return
	}
	if argAt(args, 2) == "" {
		p.alert(kw, "'%s' expects a fetch method.", kw)
		return
	}
	e, err := sample.ParseExpr(args[2], p.sampleOptions())
	if err != nil {
		p.alert(kw, "'%s': %s", kw, condError(err))
		return
	}
	if needs, ok := e.Needs(sample.AtUseServer); !ok {
		p.alert(kw, "'%s': fetch method '%s' extracts information from '%s', none of which is available during request.", kw, fetchKeyword(args[2]), srcNames(needs))
		return
	}
	r.Expr = e
	i := 3
	if argAt(args, i) == "table" {
		r.Table = argAt(args, i+1)
		i += 2
	}
	if w := argAt(args, i); w == "if" || w == "unless" {
		cond, err := p.ruleCond(args[i:])
		if err != nil {
			p.alert(kw, "'%s': error detected while parsing sticking condition : %s.", kw, condError(err))
			return
		}
		r.Cond = cond
	} else if w != "" {
		p.alert(kw, "'%s': unknown keyword '%s'.", kw, w)
		return
	}
	p.cur.px.StickRules = append(p.cur.px.StickRules, r)
}

// checkStickRules resolves the tables of a proxy's stick rules, which
// then store the server's id and name (haproxy's check_config_validity).
func (p *parser) checkStickRules(ps *proxyState) {
	px := ps.px
	for _, r := range px.StickRules {
		name := r.Table
		if name == "" {
			name = px.Name
		}
		t := p.cfg.StickTable(name)
		if t == nil {
			what := "stick-table"
			if !r.Match {
				what = "store table"
			}
			p.postDiag(Alert, Pos{}, "stick", "Proxy '%s': unable to find %s '%s'.", px.Name, what, name)
			continue
		}
		r.Table = name
		for _, d := range []sticktable.DataType{sticktable.ServerID, sticktable.ServerKey} {
			have := false
			for _, s := range t.Stores {
				have = have || s.Type == d
			}
			if !have {
				t.Stores = append(t.Stores, sticktable.Store{Type: d})
			}
		}
	}
}

// srcNames lists sample sources as haproxy's sample_src_names does in
// these messages: comma-separated without spaces.
func srcNames(s string) string { return strings.ReplaceAll(s, ", ", ",") }

// fetchKeyword is the fetch's name in an expression ("res.hdr(x),lower"
// gives "res.hdr").
func fetchKeyword(expr string) string {
	if i := strings.IndexAny(expr, "(,"); i >= 0 {
		return expr[:i]
	}
	return expr
}
