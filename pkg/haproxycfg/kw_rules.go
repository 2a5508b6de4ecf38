package haproxycfg

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"hapair/pkg/logformat"
	"hapair/pkg/sample"
)

// Rule keywords of a proxy: http-request, http-response,
// http-after-response, redirect, use_backend, use-server, tcp-request,
// tcp-response, monitor-uri, monitor fail (configuration manual section 4,
// and "4.3. Actions"). Every rule is compiled here; the proxy engine runs
// the compiled form.

// ruleError is an error in a rule's arguments, worded as haproxy's
// action parsers word it; ruleSet prefixes it with the rule's place.
type ruleError string

// ruleCond compiles the condition words of a rule (args[0] is "if" or
// "unless"); none gives a nil condition (always true). what names the
// rule in haproxy's message ("an 'http-request deny'").
//
// It is the single place conditions are compiled, so the ACL keyword
// wiring replaces only this call.
func (p *parser) ruleCond(args []string) (*sample.Cond, error) {
	if len(args) == 0 {
		return nil, nil
	}
	if len(args) == 2 && (args[0] == "if" && args[1] == "TRUE" || args[0] == "unless" && args[1] == "FALSE") {
		return nil, nil // always: no condition to evaluate
	}
	return p.parseCond(p.cur.px, args)
}

// condError is a condition compile error without the package prefix
// haproxy would not print.
func condError(err error) string {
	s := err.Error()
	if errors.Is(err, logformat.ErrSyntax) {
		s = logformat.Message(err)
	}
	s = strings.TrimPrefix(s, "sample: ")
	return strings.TrimSuffix(s, ".")
}

// text compiles a log-format value; one without '%' is used as is.
func (p *parser) text(s string) (Text, error) {
	if !strings.Contains(s, "%") {
		return Text{Raw: s}, nil
	}
	f, err := logformat.ParseWith(s, logformat.Options{Sample: p.sampleOptions(), HTTP: true, Value: true, At: p.textAt})
	if err != nil {
		return Text{}, err
	}
	return Text{Raw: s, Format: f}, nil
}

// httpRuleKeyword parses one http-request, http-response or
// http-after-response rule.
func (p *parser) httpRuleKeyword(args []string) {
	kw := args[0]
	if p.cur.isDefault && p.cur.name == "" {
		p.alert(kw, "'%s' not allowed in anonymous 'defaults' section.", kw)
		return
	}
	action := argAt(args, 1)
	ctx, list := CtxHTTPRequest, httpRequestActionList
	switch kw {
	case "http-response":
		ctx, list = CtxHTTPResponse, httpResponseActionList
	case "http-after-response":
		ctx, list = CtxHTTPAfterResponse, httpAfterResponseActionList
	}
	norm := action
	if strings.HasPrefix(action, "track-sc") {
		norm = "track-sc(*)"
	} else if isStickAction(action) && !strings.Contains(action, "(") {
		norm = action + "(*)" // sc-inc-gpc0 is sc-inc-gpc0(0)
	}
	k, ok := lookup(ctx, norm)
	if !ok {
		p.diag(Alert, LocParsingTight, kw, "'%s' expects %s, but got '%s'.", kw, list, action)
		p.abort = true // haproxy stops reading the file (ERR_ABORT)
		return
	}
	if k.Class != Works {
		p.notImplemented(k, LocParsing, kw, "", fmt.Sprintf("'%s %s'", kw, action))
		return
	}
	if kw == "http-request" && action == "use-service" {
		p.httpRequest(args)
		return
	}
	if action == "normalize-uri" && !p.experimental {
		p.alert(kw, "'%s' action is experimental, must be allowed via a global 'expose-experimental-directives'", action)
		p.abort = true
		return
	}
	if p.cur.finalNoCond[kw] {
		p.diag(Warning, LocParsingTight, kw, "previous '%s' action is final and has no condition attached, further entries are NOOP.", kw)
	}
	r := &Rule{Pos: p.pos()}
	rest := args[2:]
	p.textAt = p.httpRuleWhere(kw)
	n, rerr := p.ruleArgs(kw, action, r, rest)
	p.textAt = nil
	if rerr != "" {
		p.alert(kw, "error detected in %s '%s' while parsing '%s %s' rule : %s.", p.proxyTypeName(), p.cur.px.Name, kw, action, rerr)
		p.abort = true
		return
	}
	rest = rest[n:]
	if len(rest) > 0 && rest[0] != "if" && rest[0] != "unless" {
		p.diag(Alert, LocParsingTight, kw, "'%s %s' expects either 'if' or 'unless' followed by a condition but found '%s'.", kw, action, rest[0])
		p.abort = true
		return
	}
	cond, err := p.ruleCond(rest)
	if err != nil {
		p.alert(kw, "error detected while parsing an '%s %s' condition : %s.", kw, action, condError(err))
		p.abort = true
		return
	}
	r.Cond = cond
	if p.cur.finalNoCond == nil {
		p.cur.finalNoCond = map[string]bool{}
	}
	p.cur.finalNoCond[kw] = len(rest) == 0 && finalActions[r.Action]
	if kw == "http-request" {
		p.misplaced(misplacedHTTPReq, kw)
	}
	rs := &p.cur.px.Rules
	switch kw {
	case "http-request":
		rs.HTTPRequest = append(rs.HTTPRequest, r)
	case "http-response":
		rs.HTTPResponse = append(rs.HTTPResponse, r)
	default:
		rs.HTTPAfterResponse = append(rs.HTTPAfterResponse, r)
	}
}

// httpRuleWhere are the checkpoints where an http-request (else
// http-response or http-after-response) rule of the current section
// runs: as frontend, as backend, or both (listen and defaults sections).
func (p *parser) httpRuleWhere(kw string) []sample.Checkpoint {
	fe, be := sample.AtFrontendHTTPRequest, sample.AtBackendHTTPRequest
	if kw != "http-request" {
		fe, be = sample.AtFrontendHTTPResponse, sample.AtBackendHTTPResponse
	}
	var out []sample.Checkpoint
	if p.cur.isDefault || p.cur.px.Kind.HasFrontend() {
		out = append(out, fe)
	}
	if p.cur.isDefault || p.cur.px.Kind.HasBackend() {
		out = append(out, be)
	}
	return out
}

// ruleArgs reads an action's arguments into r; it returns how many words
// it used, or haproxy's message.
func (p *parser) ruleArgs(kw, action string, r *Rule, rest []string) (int, ruleError) {
	// exactly counts the action's own words: those before if/unless.
	own := 0
	for own < len(rest) && rest[own] != "if" && rest[own] != "unless" {
		own++
	}
	name, _, _ := strings.Cut(action, "(")
	if isStickAction(action) {
		where := sample.AtBackendHTTPRequest
		switch {
		case kw == "http-request" && p.cur.px.Kind.HasFrontend():
			where = sample.AtFrontendHTTPRequest
		case kw != "http-request" && p.cur.px.Kind.HasBackend():
			where = sample.AtBackendHTTPResponse
		case kw != "http-request":
			where = sample.AtFrontendHTTPResponse
		}
		act, sa, n, err := p.stickArgs(action, rest, own, where)
		r.Action, r.Stick = act, sa
		return n, err
	}
	switch name {
	case "allow":
		r.Action = ActAllow
		return 0, ""
	case "reject":
		r.Action = ActReject
		return 0, ""
	case "silent-drop":
		r.Action = ActSilentDrop
		return 0, ""
	case "deny", "tarpit":
		r.Action = ActDeny
		if name == "tarpit" {
			r.Action = ActTarpit
		}
		return p.denyArgs(kw, r, rest)
	case "auth":
		r.Action = ActAuth
		if len(rest) > 0 && rest[0] == "realm" {
			if len(rest) < 2 {
				return 0, "missing realm value.\n"
			}
			r.Realm = rest[1]
			return 2, ""
		}
		return 0, ""
	case "redirect":
		r.Action = ActRedirect
		rd, n, err := p.redirectArgs(rest)
		if err == "" && kw == "http-response" && rd.Type != RedirectLocation {
			return 0, "response only supports redirect type 'location'"
		}
		r.Redirect = rd
		return n, err
	case "return":
		r.Action = ActReturn
		ret, n, err := p.replyArgs(kw, rest, 200)
		r.Return = ret
		return n, err
	case "set-header", "add-header", "early-hint":
		r.Action = map[string]Action{"set-header": ActSetHeader, "add-header": ActAddHeader, "early-hint": ActEarlyHint}[name]
		if own < 2 {
			return 0, "expects exactly 2 arguments"
		}
		r.Name = rest[0]
		v, err := p.text(rest[1])
		if err != nil {
			return 0, ruleError(condError(err))
		}
		r.Value = v
		return 2, ""
	case "del-header":
		r.Action = ActDelHeader
		if own < 1 {
			return 0, "expects at least 1 argument"
		}
		r.Name = rest[0]
		if own >= 3 && rest[1] == "-m" {
			switch rest[2] {
			case "str":
				r.Match = MatchStr
			case "beg":
				r.Match = MatchBeg
			case "end":
				r.Match = MatchEnd
			case "sub":
				r.Match = MatchSub
			case "reg":
				re, err := sample.CompileRegex(rest[0], false)
				if err != nil {
					return 0, ruleError(err.Error())
				}
				r.Match, r.NameRe = MatchReg, re
			default:
				return 0, ruleError(fmt.Sprintf("-m with unsupported matching method '%s'", rest[2]))
			}
			return 3, ""
		}
		if own >= 2 && rest[1] == "-m" {
			return 0, "-m with unsupported matching method ''"
		}
		return 1, ""
	case "replace-header", "replace-value":
		r.Action = ActReplaceHeader
		if name == "replace-value" {
			r.Action = ActReplaceValue
		}
		if own < 3 {
			return 0, "expects exactly 3 arguments"
		}
		re, err := sample.CompileRegex(rest[1], false)
		if err != nil {
			return 0, ruleError(err.Error())
		}
		// haproxy's replacement refers to groups as \1; Go's as ${1}.
		v, terr := p.text(rest[2])
		if terr != nil {
			return 0, ruleError(condError(terr))
		}
		r.Name, r.Regex, r.Value = rest[0], re, v
		return 3, ""
	case "replace-path", "replace-pathq", "replace-uri":
		r.Action = map[string]Action{"replace-path": ActReplacePath, "replace-pathq": ActReplacePathQ, "replace-uri": ActReplaceURI}[name]
		if own < 2 {
			return 0, "expects exactly 2 arguments <match-regex> and <replace-format>"
		}
		re, err := sample.CompileRegex(rest[0], false)
		if err != nil {
			return 0, ruleError("failed to parse the regex : " + err.Error())
		}
		v, terr := p.text(rest[1])
		if terr != nil {
			return 0, ruleError(condError(terr))
		}
		r.Regex, r.Value = re, v
		return 2, ""
	case "set-path", "set-pathq", "set-query", "set-uri", "set-method":
		r.Action = map[string]Action{"set-path": ActSetPath, "set-pathq": ActSetPathQ,
			"set-query": ActSetQuery, "set-uri": ActSetURI, "set-method": ActSetMethod}[name]
		if own < 1 {
			return 0, "expects exactly 1 argument <format>"
		}
		v, err := p.text(rest[0])
		if err != nil {
			return 0, ruleError(condError(err))
		}
		r.Value = v
		return 1, ""
	case "set-status":
		r.Action = ActSetStatus
		if own < 1 {
			return 0, "expects 1 argument: <status>; or 3 arguments: <status> reason <fmt>"
		}
		code, err := strconv.Atoi(rest[0])
		if err != nil || code < 100 || code > 999 {
			return 0, "expects an integer status code between 100 and 999"
		}
		r.Status = code
		if own >= 3 && rest[1] == "reason" {
			r.Reason = rest[2]
			return 3, ""
		}
		return 1, ""
	case "set-var", "set-var-fmt", "unset-var":
		r.Action = map[string]Action{"set-var": ActSetVar, "set-var-fmt": ActSetVarFmt, "unset-var": ActUnsetVar}[name]
		v, ok := strings.CutPrefix(action, name+"(")
		v, ok2 := strings.CutSuffix(v, ")")
		if !ok || !ok2 || v == "" {
			return 0, ruleError(fmt.Sprintf("invalid variable '%s'. Expects '%s(<var-name>)'", action, name))
		}
		vname, flags, _ := strings.Cut(v, ",")
		if flags != "" && r.Action == ActUnsetVar {
			return 0, ruleError("unset-var does not expect parameters after the variable name. Only \"set-var\" and \"set-var-fmt\" manage conditions")
		}
		if flags != "" {
			for _, f := range strings.Split(flags, ",") {
				if f == "" {
					break // haproxy stops at an empty condition
				}
				if err := sample.ParseVarCond(&r.VarCond, f); err != nil {
					return 0, ruleError(err.Error())
				}
			}
		}
		scope, _, _ := strings.Cut(vname, ".")
		switch scope {
		case "proc", "sess", "txn", "req", "res":
		default:
			return 0, ruleError(fmt.Sprintf("invalid variable name '%s'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'", vname))
		}
		r.Name = vname
		switch r.Action {
		case ActUnsetVar:
			return 0, ""
		case ActSetVarFmt:
			// haproxy takes the next word whatever it is (even "if");
			// with none or an empty one, haproxy 2.6.12 accepts the rule
			// and crashes (SIGSEGV) on the first request that runs it.
			if len(rest) == 0 || rest[0] == "" {
				return 0, "gproxy requires a non-empty format (haproxy 2.6 accepts none or an empty one, then crashes on the first request running the rule)"
			}
			v, err := p.text(rest[0])
			if err != nil {
				return 0, ruleError(condError(err))
			}
			r.Value = v
			return 1, ""
		}
		n, err := p.exprArg(r, rest, own)
		if err == "" && len(p.textAt) > 0 {
			if needs, ok := r.Expr.NeedsAny(p.textAt...); !ok {
				return 0, ruleError(fmt.Sprintf("fetch method '%s' extracts information from '%s', none of which is available here", action, needs))
			}
		}
		return n, err
	case "set-mark", "set-tos":
		r.Action = map[string]Action{"set-mark": ActSetMark, "set-tos": ActSetTOS}[name]
		if own == 0 || rest[0] == "" {
			return 0, "expects exactly 1 argument (integer/hex value)"
		}
		n, end := strtolBase0(rest[0])
		if end != "" {
			return 0, ruleError(fmt.Sprintf("invalid character starting at '%s' (integer/hex value expected)", end))
		}
		if name == "set-mark" {
			n = int64(uint32(n)) // strtoul into an unsigned int
		} else {
			n = int64(int32(n)) // strtol into an int
		}
		r.Num = n
		return 1, ""
	case "normalize-uri":
		r.Action = ActNormalizeURI
		return normalizeArgs(r, rest, own)
	case "set-src", "set-src-port", "set-dst", "set-dst-port":
		r.Action = map[string]Action{"set-src": ActSetSrc, "set-src-port": ActSetSrcPort, "set-dst": ActSetDst, "set-dst-port": ActSetDstPort}[name]
		n, err := p.exprArg(r, rest, own)
		if err != "" {
			return n, err
		}
		// haproxy checks the expression as an http-request one at every
		// level (tcp_parse_set_src_dst): HTTP headers pass at
		// tcp-request connection too, a response never does.
		var at []sample.Checkpoint
		if p.cur.isDefault || p.cur.px.Kind.HasFrontend() {
			at = append(at, sample.AtFrontendHTTPRequest)
		}
		if p.cur.isDefault || p.cur.px.Kind.HasBackend() {
			at = append(at, sample.AtBackendHTTPRequest)
		}
		if needs, ok := r.Expr.NeedsAny(at...); !ok {
			return 0, ruleError(fmt.Sprintf("fetch method '%s' extracts information from '%s', none of which is available here", rest[0], srcNames(needs)))
		}
		return n, ""
	case "capture":
		r.Action = ActCapture
		return p.captureArgs(kw, r, rest, own)
	case "set-log-level":
		r.Action = ActSetLogLevel
		if own < 1 {
			return 0, "expects exactly 1 argument (log level name or 'silent')"
		}
		if rest[0] == "silent" {
			r.LogLevel = -1
			return 1, ""
		}
		l, ok := lookupName(levels, rest[0])
		if !ok {
			return 0, "expects exactly 1 argument (log level name or 'silent')"
		}
		r.LogLevel = l + 1
		return 1, ""
	case "wait-for-body":
		r.Action = ActWaitForBody
		return p.waitForBodyArgs(r, rest, own)
	case "set-map", "del-map", "add-acl", "del-acl":
		return p.mapActionArgs(name, action, r, rest)
	case "set-timeout":
		r.Action = ActSetTimeout
		return p.setTimeoutArgs(r, rest)
	}
	return 0, ruleError(fmt.Sprintf("'%s' is not implemented by gproxy", action))
}

// setTimeoutArgs reads `http-request set-timeout server|tunnel
// TIMEOUT|EXPR` as haproxy's parse_http_set_timeout and
// cfg_parse_rule_set_timeout do, their messages included: a word that is
// not a time is a sample expression (any fetch: haproxy checks no place).
func (p *parser) setTimeoutArgs(r *Rule, rest []string) (int, ruleError) {
	if len(rest) < 2 || rest[0] == "" || rest[1] == "" {
		return 0, "expects exactly 2 arguments"
	}
	if !p.cur.isDefault && !p.cur.px.Kind.HasBackend() {
		return 0, ruleError(fmt.Sprintf("proxy '%s' has no backend capability", p.cur.px.Name))
	}
	name, val := rest[0], rest[1]
	if name != "server" && name != "tunnel" {
		return 0, ruleError(fmt.Sprintf("'set-timeout' rule supports 'server'/'tunnel' (got '%s')", name))
	}
	r.Name = name
	tv := parseTime(val)
	switch tv.Err {
	case timeOverflow:
		return 0, ruleError(fmt.Sprintf("timer overflow in argument '%s' to rule 'set-timeout %s' (maximum value is 2147483647 ms or ~24.8 days)", val, name))
	case timeBadChar:
		e, err := sample.ParseExpr(val, p.sampleOptions())
		if err != nil {
			return 0, ruleError(fmt.Sprintf("unexpected character '%c' in rule 'set-timeout %s'", tv.BadChar, name))
		}
		r.Expr = e
		return 2, ""
	}
	if tv.Trailing != 0 {
		p.diag(Warning, LocNone, "http-request", "%s", trailingWarning(tv, val))
	}
	if tv.D == 0 {
		return 0, ruleError(fmt.Sprintf("null value is not valid for a 'set-timeout %s' rule", name))
	}
	r.Wait = tv.D
	return 2, ""
}

// exprArg reads the sample expression of set-var and set-src.
func (p *parser) exprArg(r *Rule, rest []string, own int) (int, ruleError) {
	if own < 1 {
		return 0, "missing fetch method"
	}
	e, err := sample.ParseExpr(rest[0], p.sampleOptions())
	if err != nil {
		return 0, ruleError(condError(err))
	}
	r.Expr = e
	return 1, ""
}

// captureArgs reads `http-request capture SAMPLE len N|id N` and
// `http-response capture SAMPLE id N` (haproxy's parse_http_req_capture
// and parse_http_res_capture, their messages included); `len` declares a
// new request capture slot in the proxy.
func (p *parser) captureArgs(kw string, r *Rule, rest []string, own int) (int, ruleError) {
	res := kw != "http-request" // http-response, http-after-response
	if own < 3 {
		if res {
			return 0, "expects <expression> id <idx>"
		}
		return 0, "expects <expression> [ 'len' <length> | id <idx> ]"
	}
	e, err := sample.ParseExpr(rest[0], p.sampleOptions())
	if err != nil {
		return 0, ruleError(condError(err))
	}
	where := sample.AtFrontendHTTPRequest
	if res {
		where = sample.AtFrontendHTTPResponse
	}
	if needs, ok := e.Needs(where); !ok {
		return 0, ruleError(fmt.Sprintf("fetch method '%s' extracts information from '%s', none of which is available here", rest[0], srcNames(needs)))
	}
	r.Expr = e
	switch {
	case rest[1] == "len" && !res:
		px := p.cur.px
		if !p.cur.isDefault && !px.Kind.HasFrontend() {
			return 0, ruleError(fmt.Sprintf("proxy '%s' has no frontend capability", px.Name))
		}
		n := atoi(rest[2])
		if n <= 0 {
			return 0, "length must be > 0"
		}
		// In a defaults section the slot is the defaults' own: the
		// frontends using it start from its slots (proxy_defproxy_cpy)
		// and run its rules first, which fill them.
		r.CaptureID = px.Logging.AddCapture(false, n)
	case rest[1] == "id":
		id, err := strconv.ParseInt(rest[2], 10, 64)
		if rest[2] == "" {
			id, err = 0, nil // strtol reads an empty string as 0
		}
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, ruleError(fmt.Sprintf("cannot parse id '%s'", rest[2]))
		}
		r.CaptureID = int(max(min(id, 1<<31-1), -1<<31))
	case res:
		return 0, ruleError(fmt.Sprintf("expects 'id', found '%s'", rest[1]))
	default:
		return 0, ruleError(fmt.Sprintf("expects 'len' or 'id', found '%s'", rest[1]))
	}
	return 3, ""
}

// denyArgs reads deny's and tarpit's `deny_status N` (or `status N`).
func (p *parser) denyArgs(kw string, r *Rule, rest []string) (int, ruleError) {
	n := 0
	for n < len(rest) {
		switch rest[n] {
		case "deny_status", "status":
			if n+1 >= len(rest) {
				return 0, "'status' expects <status_code> as argument"
			}
			code, err := strconv.Atoi(rest[n+1])
			if err != nil || code < 200 || code > 599 {
				return 0, ruleError(fmt.Sprintf("Unexpected status code '%s'", rest[n+1]))
			}
			if !errorStatuses[code] {
				return 0, ruleError(fmt.Sprintf("status code '%d' not handled by default with 'default-errorfiles' argument.", code))
			}
			r.Status = code
			n += 2
		case "content-type", "string", "lf-string", "file", "lf-file", "hdr":
			// A reply of its own, as `return` builds one.
			status := r.Status
			if status == 0 {
				status = http.StatusForbidden
				if r.Action == ActTarpit {
					status = http.StatusInternalServerError
				}
			}
			ret, m, err := p.replyArgs(kw, rest[n:], status)
			if err != "" {
				return 0, err
			}
			r.Return, r.Status = ret, ret.Status
			return n + m, ""
		case "errorfile", "errorfiles", "default-errorfiles":
			status := r.Status
			if status == 0 {
				status = http.StatusForbidden
				if r.Action == ActTarpit {
					status = http.StatusInternalServerError
				}
			}
			ret, m, err := p.replyArgs(kw, rest[n:], status)
			if err != "" {
				return 0, err
			}
			r.Return, r.Status = ret, ret.Status
			return n + m, ""
		default:
			return n, ""
		}
	}
	return n, ""
}

var redirectCodes = map[int]bool{301: true, 302: true, 303: true, 307: true, 308: true}

// redirectArgs reads a redirect rule's words (the `redirect` keyword's
// and http-request redirect's), up to if/unless.
func (p *parser) redirectArgs(rest []string) (*Redirect, int, ruleError) {
	rd := &Redirect{Code: 302}
	typed := false
	n := 0
	for n < len(rest) {
		w := rest[n]
		switch w {
		case "if", "unless":
			if !typed {
				return nil, 0, "redirection type expected ('prefix', 'location', or 'scheme')"
			}
			return rd, n, ""
		case "location", "prefix", "scheme":
			if n+1 >= len(rest) {
				return nil, 0, ruleError(fmt.Sprintf("missing argument for '%s'", w))
			}
			rd.Type = map[string]RedirectType{"location": RedirectLocation, "prefix": RedirectPrefix, "scheme": RedirectScheme}[w]
			v, err := p.text(rest[n+1])
			if err != nil {
				return nil, 0, ruleError(condError(err))
			}
			rd.Value, typed = v, true
			n += 2
		case "code":
			if n+1 >= len(rest) {
				return nil, 0, ruleError(fmt.Sprintf("missing argument for '%s'", w))
			}
			c, _ := strconv.Atoi(rest[n+1])
			if !redirectCodes[c] {
				return nil, 0, ruleError(fmt.Sprintf("'%s': unsupported HTTP code '%s' (must be one of 301, 302, 303, 307 or 308)", w, rest[n+1]))
			}
			rd.Code = c
			n += 2
		case "set-cookie", "clear-cookie":
			if n+1 >= len(rest) {
				return nil, 0, ruleError(fmt.Sprintf("missing argument for '%s'", w))
			}
			if w == "set-cookie" {
				rd.SetCookie = rest[n+1]
			} else {
				rd.ClearCookie = rest[n+1]
			}
			n += 2
		case "drop-query":
			rd.DropQuery = true
			n++
		case "append-slash":
			rd.AppendSlash = true
			n++
		case "ignore-empty":
			rd.IgnoreEmpty = true
			n++
		default:
			return nil, 0, ruleError(fmt.Sprintf("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '%s')", w))
		}
	}
	if !typed {
		return nil, 0, "redirection type expected ('prefix', 'location', or 'scheme')"
	}
	return rd, n, ""
}

// replyArgs reads the words of a reply (return, deny, tarpit) whose
// status is status unless given.
func (p *parser) replyArgs(kw string, rest []string, status int) (*Return, int, ruleError) {
	ret := &Return{Status: status}
	n := 0
	hasBody := false
	for n < len(rest) {
		w := rest[n]
		val := argAt(rest, n+1)
		switch w {
		case "status":
			if n+1 >= len(rest) {
				return nil, 0, "'status' expects <status_code> as argument"
			}
			c, err := strconv.Atoi(val)
			if err != nil || c < 200 || c > 599 {
				return nil, 0, ruleError(fmt.Sprintf("Unexpected status code '%s'", val))
			}
			ret.Status = c
		case "content-type":
			if n+1 >= len(rest) {
				return nil, 0, "'content-type' expects <type> as argument"
			}
			ret.ContentType = val
		case "string", "lf-string", "file", "lf-file":
			if n+1 >= len(rest) {
				arg := "<str>"
				if strings.HasSuffix(w, "file") {
					arg = "<file>"
				}
				return nil, 0, ruleError(fmt.Sprintf("'%s' expects %s as argument", w, arg))
			}
			if ret.act != "" {
				return nil, 0, ruleError(fmt.Sprintf("unexpected '%s' argument, '%s' already defined", w, ret.act))
			}
			ret.act = w
			body := []byte(val)
			if strings.HasSuffix(w, "file") {
				if p.readFile != nil {
					b, err := p.readFile(val)
					if err != nil {
						return nil, 0, ruleError(fmt.Sprintf("error opening file '%s'", val))
					}
					body = b
				} else {
					body = nil
				}
			}
			hasBody = len(body) > 0 || !strings.HasSuffix(w, "file")
			if strings.HasPrefix(w, "lf-") {
				t, err := p.text(string(body))
				if err != nil {
					return nil, 0, ruleError(condError(err))
				}
				ret.BodyFormat = &t
			} else {
				ret.Body = body
			}
		case "hdr":
			if n+2 >= len(rest) {
				return nil, 0, "'hdr' expects <name> and <value> as arguments"
			}
			t, err := p.text(rest[n+2])
			if err != nil {
				return nil, 0, ruleError(condError(err))
			}
			if kw == "http-response" && t.Format.ReadsResponse() {
				// Measured on haproxy 2.6.12: the reply is dropped and
				// the client gets a bare close.
				return nil, 0, ruleError(fmt.Sprintf("a 'hdr' value reading the response on '%s' is not implemented by gproxy (haproxy 2.6 drops such a reply)", kw))
			}
			ret.Headers = append(ret.Headers, ReturnHeader{Name: val, Value: t})
			n++
		case "errorfile", "errorfiles", "default-errorfiles":
			if kw != "http-request" && kw != "http-error" {
				// The response side sends only replies it builds.
				return nil, 0, ruleError(fmt.Sprintf("'%s' on '%s' is not implemented by gproxy", w, kw))
			}
			m, err := p.replyErrorWords(ret, rest[n:])
			if err != "" {
				return nil, 0, err
			}
			n += m
			continue
		default:
			return ret, n, p.checkReturn(ret, hasBody)
		}
		n += 2
	}
	return ret, n, p.checkReturn(ret, hasBody)
}

func (p *parser) checkReturn(ret *Return, hasBody bool) ruleError {
	if !hasBody && ret.ContentType != "" && ret.ErrorFile == nil && !ret.ProxyErrors && ret.errorSection == "" {
		// No payload (none given, or an empty file): no content-type.
		if ret.act == "" {
			p.warn("", "content-type '%s' ignored by the http reply because neither errorfile nor payload defined.", ret.ContentType)
		} else {
			p.warn("", "content-type '%s' ignored by the http reply when used with an empty payload.", ret.ContentType)
		}
		ret.ContentType = ""
	}
	if ret.ErrorFile != nil || ret.ProxyErrors || ret.errorSection != "" {
		if (ret.ErrorFile == nil || ret.ErrorFile.Path == "") && !errorStatuses[ret.Status] {
			return ruleError(fmt.Sprintf("status code '%d' not handled by default with '%s' argument.", ret.Status, ret.act))
		}
		if ret.ContentType != "" {
			p.warn("", "content-type '%s' ignored by the http reply when used with an erorrfile.", ret.ContentType)
			ret.ContentType = ""
		}
		if len(ret.Headers) > 0 {
			p.warn("", "hdr parameters ignored by the http reply when used with an erorrfile.")
			ret.Headers = nil
		}
		return ""
	}
	if hasBody && ret.ContentType == "" {
		return "a content type must be defined when non-empty payload is configured"
	}
	if hasBody && (ret.Status == 204 || ret.Status == 304) {
		return ruleError(fmt.Sprintf("No body expected for %d responses", ret.Status))
	}
	return ""
}

// redirectKeyword is the `redirect` keyword (section 4.2, "redirect").
func (p *parser) redirectKeyword(args []string) {
	if p.notInDefaults("redirect") {
		return
	}
	rd, n, rerr := p.redirectArgs(args[1:])
	if rerr != "" {
		p.alert("redirect", "error detected in %s '%s' while parsing redirect rule : %s.", p.proxyTypeName(), p.cur.px.Name, rerr)
		return
	}
	rest := args[1+n:]
	cond, err := p.ruleCond(rest)
	if err != nil {
		p.alert("redirect", "error detected in %s '%s' while parsing redirect rule : error in condition: %s.", p.proxyTypeName(), p.cur.px.Name, condError(err))
		return
	}
	p.misplaced(misplacedRedirect, "redirect")
	rs := &p.cur.px.Rules
	rs.Redirects = append(rs.Redirects, &Rule{Action: ActRedirect, Redirect: rd, Cond: cond, Pos: p.pos()})
}

// useBackend is `use_backend NAME|%[expr] [if|unless COND]`.
func (p *parser) useBackend(args []string) {
	kw := args[0]
	if p.notInDefaults(kw) || !p.needCap(kw, true, "") {
		return
	}
	name := argAt(args, 1)
	if name == "" {
		p.alert(kw, "'%s' expects a backend name.", kw)
		return
	}
	ub := UseBackend{Name: name, Pos: p.pos()}
	if strings.Contains(name, "%[") || strings.Contains(name, "%") && len(name) > 1 {
		t, err := p.text(name)
		if err != nil {
			p.alert(kw, "error detected while parsing switching rule : %s.", condError(err))
			return
		}
		if t.Format != nil {
			ub.Name, ub.Format = "", &t
		}
	}
	if len(args) > 2 {
		if args[2] != "if" && args[2] != "unless" {
			p.alert(kw, "unexpected keyword '%s' after switching rule, only 'if' and 'unless' are allowed.", args[2])
			return
		}
		cond, err := p.ruleCond(args[2:])
		if err != nil {
			p.alert(kw, "error detected while parsing switching rule : %s.", condError(err))
			return
		}
		ub.Cond = cond
	}
	p.cur.px.UseBackends = append(p.cur.px.UseBackends, ub)
}

// monitor is `monitor-uri URI` and `monitor fail if|unless COND`.
func (p *parser) monitor(args []string) {
	kw := args[0]
	if !p.needCap(kw, true, "") {
		return
	}
	rs := &p.cur.px.Rules
	if kw == "monitor-uri" {
		if argAt(args, 1) == "" {
			p.alert(kw, "'%s' expects an URI.", kw)
			return
		}
		rs.MonitorURI = args[1]
		return
	}
	if argAt(args, 1) != "fail" {
		p.alert(kw, "'monitor' expects 'fail'.")
		return
	}
	if w := argAt(args, 2); w != "if" && w != "unless" {
		p.alert(kw, "'monitor fail' requires either 'if' or 'unless' followed by a condition.")
		return
	}
	cond, err := p.ruleCond(args[2:])
	if err != nil {
		p.alert(kw, "error detected while parsing a 'monitor fail' condition : %s.", condError(err))
		return
	}
	p.misplaced(misplacedMonitor, "monitor fail")
	rs.MonitorFail = append(rs.MonitorFail, cond)
	rs.MonitorFailPos = append(rs.MonitorFailPos, p.pos())
}

// tcpRuleKeyword is `tcp-request inspect-delay|connection|session|content`
// with the accept and reject actions, and `tcp-response inspect-delay|content`.
func (p *parser) tcpRuleKeyword(args []string) {
	kw, sub := args[0], argAt(args, 1)
	if kw == "tcp-response" {
		p.tcpResponseKeyword(args)
		return
	}
	k, ok := lookup(CtxTCPRequest, sub)
	if !ok {
		p.ruleKeyword(args)
		return
	}
	if k.Class != Works {
		p.notImplemented(k, LocParsing, kw, "", fmt.Sprintf("'%s %s'", kw, sub))
		return
	}
	if p.cur.isDefault && p.cur.name == "" {
		p.alert(kw, "'%s %s' is not allowed in anonymous 'defaults' sections.", kw, sub)
		return
	}
	rs := &p.cur.px.Rules
	if sub == "inspect-delay" {
		tv := parseTime(argAt(args, 2))
		if tv.Err != timeOK || tv.Trailing != 0 {
			p.alert(kw, "'%s inspect-delay' expects a positive delay in milliseconds, in %s '%s'", kw, p.proxyTypeName(), p.cur.px.Name)
			return
		}
		rs.InspectDelay = tv.D
		return
	}
	action := argAt(args, 2)
	var act Action
	switch action {
	case "accept":
		act = ActAccept
	case "reject":
		act = ActReject
	case "expect-proxy":
		// `expect-proxy layer4`: the connection starts with a PROXY
		// protocol header, as with `accept-proxy` on its bind.
		if argAt(args, 3) != "layer4" {
			p.alert(kw, "'%s %s %s' only supports 'layer4' in %s '%s' (got '%s')", kw, sub, action, p.proxyTypeName(), p.cur.px.Name, argAt(args, 3))
			return
		}
		if sub != "connection" {
			p.alert(kw, "'%s %s' is not allowed in '%s %s' rules in %s '%s'", action, args[3], kw, sub, p.proxyTypeName(), p.cur.px.Name)
			return
		}
		act = ActExpectProxy
		args = append(args[:3:3], args[4:]...)
	case "capture":
		p.tcpCapture(args, sub)
		return
	default:
		if isVarAction(action) || isAddrActionName(action) {
			p.tcpVarRule(args, sub, action)
			return
		}
		if isStickAction(action) {
			p.tcpStickRule(args, sub, action)
			return
		}
		if sub == "connection" && action == "" || !knownTCPAction(action) {
			p.alert(kw, "'%s %s' expects 'accept', 'reject', 'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-dst', 'set-dst-port', 'set-mark', 'set-src', 'set-src-port', 'set-tos', 'silent-drop' in %s '%s' (got '%s').\n", kw, sub, p.proxyTypeName(), p.cur.px.Name, action)
			return
		}
		p.refuseForm(grpRules, LocParsing, kw, "", fmt.Sprintf("'%s %s %s'", kw, sub, action))
		return
	}
	rest := args[3:]
	if len(rest) > 0 && rest[0] != "if" && rest[0] != "unless" {
		p.alert(kw, "'%s %s %s' only accepts 'if' or 'unless', in %s '%s' (got '%s')", kw, sub, action, p.proxyTypeName(), p.cur.px.Name, rest[0])
		return
	}
	cond, err := p.ruleCond(rest)
	if err != nil {
		p.alert(kw, "'%s %s %s' : error detected in %s '%s' while parsing '%s' condition : %s", kw, sub, action, p.proxyTypeName(), p.cur.px.Name, rest[0], condError(err))
		return
	}
	r := &TCPRule{Action: act, Cond: cond, Pos: p.pos()}
	p.misplaced(map[string]misplacedLevel{"connection": misplacedTCPConn, "session": misplacedTCPSess, "content": misplacedTCPCont}[sub], kw)
	switch {
	case sub == "connection":
		rs.TCPConnection = append(rs.TCPConnection, r)
	case sub == "session":
		rs.TCPSession = append(rs.TCPSession, r)
	default:
		rs.TCPContent = append(rs.TCPContent, r)
	}
}

// tcpCapture is `tcp-request content capture SAMPLE len N [if|unless
// COND]`: a new request capture slot of the frontend filled with the
// sample as a string (haproxy's tcp_parse_request_rule, its messages
// included).
func (p *parser) tcpCapture(args []string, sub string) {
	kw, px := args[0], p.cur.px
	rule := fmt.Sprintf("'%s %s capture'", kw, sub)
	if !p.cur.isDefault && !px.Kind.HasFrontend() {
		p.alert(kw, "%s : proxy '%s' has no frontend capability", rule, px.Name)
		return
	}
	if sub != "content" {
		p.alert(kw, "'capture %s' is not allowed in '%s %s' rules in %s '%s'", argAt(args, 3), kw, sub, p.proxyTypeName(), px.Name)
		return
	}
	rest := args[3:]
	if len(rest) == 0 || rest[0] == "" || rest[0] == "if" || rest[0] == "unless" {
		p.alert(kw, "%s : missing fetch method", rule)
		return
	}
	e, err := sample.ParseExpr(rest[0], p.sampleOptions())
	if err != nil {
		p.alert(kw, "%s : %s", rule, condError(err))
		return
	}
	if needs, ok := e.Needs(sample.AtFrontendTCPContent); !ok {
		p.alert(kw, "%s : fetch method '%s' extracts information from '%s', none of which is available here", rule, rest[0], srcNames(needs))
		return
	}
	n := 0
	if len(rest) > 1 && rest[1] == "len" {
		if n = atoi(argAt(rest, 2)); n <= 0 {
			p.alert(kw, "%s : length must be > 0", rule)
			return
		}
		rest = rest[3:]
	} else {
		rest = rest[1:]
	}
	if n == 0 {
		p.alert(kw, "%s : a positive 'len' argument is mandatory", rule)
		return
	}
	if len(rest) > 0 && rest[0] != "if" && rest[0] != "unless" {
		p.alert(kw, "%s only accepts 'if' or 'unless', in %s '%s' (got '%s')", rule, p.proxyTypeName(), px.Name, rest[0])
		return
	}
	cond, err := p.ruleCond(rest)
	if err != nil {
		p.alert(kw, "%s : error detected in %s '%s' while parsing '%s' condition : %s", rule, p.proxyTypeName(), px.Name, rest[0], condError(err))
		return
	}
	if p.cur.isDefault {
		// haproxy gives the slot to the defaults section, whose rules
		// run for the proxies using it: not done by gproxy.
		p.refuseForm(grpRules, LocParsing, kw, "", rule+" in a 'defaults' section")
		return
	}
	p.misplaced(misplacedTCPCont, kw)
	id := px.Logging.AddCapture(false, n)
	px.Rules.TCPContent = append(px.Rules.TCPContent, &TCPRule{Action: ActCapture, Cond: cond, Expr: e, CaptureID: id, Pos: p.pos()})
	if _, ok := e.Needs(sample.AtFrontendTCPSession); !ok {
		p.cur.tcpCaptureContent++
	}
}

// tcpResponseKeyword is `tcp-response inspect-delay DELAY` and
// `tcp-response content accept|reject|close|sc-inc-gpc0|sc-inc-gpc1|sc-set-gpt0
// [if|unless COND]` (section
// 4.2), allowed in backends and named defaults sections only.
func (p *parser) tcpResponseKeyword(args []string) {
	kw, sub := args[0], argAt(args, 1)
	if sub == "" {
		p.alert(kw, "missing argument for '%s' in %s '%s'", kw, p.proxyTypeName(), p.cur.px.Name)
		return
	}
	k, ok := lookup(CtxTCPResponse, sub)
	if !ok || k.Class != Works {
		p.ruleKeyword(args)
		return
	}
	if p.cur.isDefault && p.cur.name == "" || !p.cur.px.Kind.HasBackend() && !p.cur.isDefault {
		p.alert(kw, "%s %s is only allowed in 'backend' sections or 'defaults' section with a name", kw, sub)
		return
	}
	rs := &p.cur.px.Rules
	if sub == "inspect-delay" {
		tv := parseTime(argAt(args, 2))
		if argAt(args, 2) == "" || tv.Err != timeOK || tv.Trailing != 0 {
			why := ""
			switch {
			case argAt(args, 2) == "":
			case tv.Err == timeOverflow:
				why = fmt.Sprintf(" (timer overflow in '%s', maximum value is 2147483647 ms or ~24.8 days)", args[2])
			case tv.Err == timeBadChar:
				why = fmt.Sprintf(" (unexpected character '%c')", tv.BadChar)
			case tv.Trailing != 0:
				why = fmt.Sprintf(" (unexpected character '%c')", tv.Trailing)
			}
			p.alert(kw, "'%s inspect-delay' expects a positive delay in milliseconds, in %s '%s'%s", kw, p.proxyTypeName(), p.cur.px.Name, why)
			return
		}
		if rs.ResInspectDelay > 0 {
			p.warn(kw, "ignoring %s %s (was already defined) in %s '%s'", kw, sub, p.proxyTypeName(), p.cur.px.Name)
			return
		}
		rs.ResInspectDelay = tv.D
		return
	}
	action := argAt(args, 2)
	var act Action
	switch action {
	case "accept":
		act = ActAccept
	case "reject":
		act = ActReject
	case "close":
		act = ActClose
	default:
		if isVarAction(action) {
			p.tcpVarRule(args, sub, action)
			return
		}
		if isStickAction(action) && !strings.HasPrefix(action, "track-sc") {
			p.tcpStickRule(args, sub, action)
			return
		}
		if !knownTCPAction(action) || strings.HasPrefix(action, "track-sc") {
			p.alert(kw, "'%s %s' expects 'accept', 'close', 'reject', 'ot-group', 'set-log-level', 'set-nice', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-mark', 'set-tos', 'silent-drop' in %s '%s' (got '%s').", kw, sub, p.proxyTypeName(), p.cur.px.Name, action)
			return
		}
		p.refuseForm(grpRules, LocParsing, kw, "", fmt.Sprintf("'%s %s %s'", kw, sub, action))
		return
	}
	rest := args[3:]
	if len(rest) > 0 && rest[0] != "if" && rest[0] != "unless" {
		p.alert(kw, "'%s %s %s' only accepts 'if' or 'unless', in %s '%s' (got '%s')", kw, sub, action, p.proxyTypeName(), p.cur.px.Name, rest[0])
		return
	}
	cond, err := p.ruleCond(rest)
	if err != nil {
		p.alert(kw, "'%s %s %s' : error detected in %s '%s' while parsing '%s' condition : %s", kw, sub, action, p.proxyTypeName(), p.cur.px.Name, rest[0], condError(err))
		return
	}
	rs.TCPResponse = append(rs.TCPResponse, &TCPRule{Action: act, Cond: cond, Pos: p.pos()})
}

// isAddrActionName reports whether a tcp-request action is set-src,
// set-src-port, set-dst or set-dst-port, which every level runs: on the
// connection's addresses, the session's or the stream's.
func isAddrActionName(a string) bool {
	switch a {
	case "set-src", "set-src-port", "set-dst", "set-dst-port":
		return true
	}
	return false
}

// isVarAction reports whether a rule action is set-var(...),
// set-var-fmt(...) or unset-var(...).
func isVarAction(a string) bool {
	return strings.HasPrefix(a, "set-var(") || strings.HasPrefix(a, "set-var-fmt(") || strings.HasPrefix(a, "unset-var(")
}

// tcpVarRule is `tcp-request connection|session|content` and
// `tcp-response content` set-var, set-var-fmt and unset-var: their
// arguments read as the HTTP rules' are, checked against where the rule
// runs.
func (p *parser) tcpVarRule(args []string, sub, action string) {
	kw := args[0]
	where := map[string]sample.Checkpoint{"connection": sample.AtFrontendTCPConnection,
		"session": sample.AtFrontendTCPSession}[sub]
	switch {
	case kw == "tcp-response":
		where = sample.AtBackendTCPResponse
	case sub == "content":
		var at []sample.Checkpoint
		if p.cur.isDefault || p.cur.px.Kind.HasFrontend() {
			at = append(at, sample.AtFrontendTCPContent)
		}
		if p.cur.isDefault || p.cur.px.Kind.HasBackend() {
			at = append(at, sample.AtBackendTCPContent)
		}
		p.textAt = at
	}
	if p.textAt == nil {
		p.textAt = []sample.Checkpoint{where}
	}
	r := &Rule{}
	rest := args[3:]
	n, rerr := p.ruleArgs(kw, action, r, rest)
	p.textAt = nil
	if rerr != "" {
		p.alert(kw, "%s", strings.TrimSuffix(string(rerr), "."))
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
	tr := &TCPRule{Action: r.Action, Cond: cond, Var: r, Pos: p.pos()}
	rs := &p.cur.px.Rules
	if kw == "tcp-response" {
		rs.TCPResponse = append(rs.TCPResponse, tr)
		return
	}
	p.misplaced(map[string]misplacedLevel{"connection": misplacedTCPConn, "session": misplacedTCPSess, "content": misplacedTCPCont}[sub], kw)
	switch sub {
	case "connection":
		rs.TCPConnection = append(rs.TCPConnection, tr)
	case "session":
		rs.TCPSession = append(rs.TCPSession, tr)
	default:
		rs.TCPContent = append(rs.TCPContent, tr)
	}
}

// knownTCPAction reports whether haproxy knows a tcp-request/response
// action gproxy does not run (refused, not unknown).
func knownTCPAction(a string) bool {
	if i := strings.IndexByte(a, '('); i > 0 {
		a = a[:i]
	}
	switch a {
	case "capture", "expect-proxy", "expect-netscaler-cip", "track-sc0", "track-sc1", "track-sc2",
		"sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "set-var-fmt",
		"set-var", "unset-var", "set-dst", "set-dst-port", "set-mark", "set-src", "set-src-port",
		"set-tos", "silent-drop", "close", "do-resolve", "set-log-level", "set-nice", "switch-mode",
		"use-service", "send-spoe-group", "lua", "attach-srv", "set-priority-class", "set-priority-offset":
		return true
	}
	return strings.HasPrefix(a, "lua.")
}

// checkRules runs the whole-configuration checks of a proxy's rules
// (haproxy's check_config_validity): a backend has no connection-level
// rules nor monitor.
func (p *parser) checkRules(ps *proxyState) {
	px := ps.px
	rs := &px.Rules
	if px.Kind.HasFrontend() && !ps.isDefault && rs.InspectDelay == 0 {
		for range ps.tcpCaptureContent {
			p.postDiag(Warning, Pos{}, "tcp-request", "%s '%s' : a 'tcp-request capture' rule explicitly depending on request contents without any 'tcp-request inspect-delay' setting. This means that this rule will randomly find its contents. This can be fixed by setting the tcp-request inspect-delay.", typeStr(px.Kind), px.Name)
		}
	}
	if px.Kind.HasFrontend() && !ps.isDefault {
		// Capture ids name slots of this frontend (a backend's rules
		// fill its frontends' slots, unchecked), as check_http_req_capture.
		for i, list := range [][]*Rule{rs.HTTPRequest, rs.HTTPResponse, rs.HTTPAfterResponse} {
			slots, kw := len(px.Logging.ReqCaptures), "http-request"
			if i > 0 {
				// after-response rules say http-response, as haproxy.
				slots, kw = len(px.Logging.ResCaptures), "http-response"
			}
			for _, r := range list {
				if r.Action == ActCapture && r.CaptureID >= slots {
					p.postDiag(Alert, Pos{}, kw, "Proxy '%s': unable to find capture id '%d' referenced by %s capture rule.", px.Name, r.CaptureID, kw)
				}
			}
		}
	}
	if !px.Kind.HasFrontend() {
		rs.TCPConnection, rs.TCPSession, rs.MonitorURI, rs.MonitorFail, rs.MonitorFailPos = nil, nil, "", nil, nil
	}
	if !px.Kind.HasBackend() {
		rs.TCPResponse, rs.ResInspectDelay = nil, 0 // run by the backend only
	} else if px.Mode == ModeHTTP && len(rs.TCPResponse) > 0 {
		// haproxy runs them on the HTX response there: not done yet.
		at := rs.TCPResponse[0].Pos
		file, line := p.file, p.line
		p.file, p.line = at.File, at.Line
		p.refuseForm(grpRules, LocParsing, "tcp-response", "", "'tcp-response content' in mode http")
		p.file, p.line = file, line
	}
	p.checkStick(ps)
	p.checkStickRules(ps)
}

// tcpModeRules drops the HTTP rules of a mode tcp proxy with haproxy's
// warnings.
func (p *parser) tcpModeRules(px *Proxy) {
	rs := &px.Rules
	for _, set := range []struct {
		kw    string
		rules *[]*Rule
	}{{"http-request", &rs.HTTPRequest}, {"http-response", &rs.HTTPResponse}, {"http-after-response", &rs.HTTPAfterResponse}} {
		if len(*set.rules) > 0 {
			p.postDiag(Warning, Pos{}, set.kw, "'%s' rules ignored for %s '%s' as they require HTTP mode.", set.kw, typeStr(px.Kind), px.Name)
			*set.rules = nil
		}
	}
	if len(rs.Redirects) > 0 {
		p.postDiag(Warning, Pos{}, "redirect", "'redirect' rules ignored for %s '%s' as they require HTTP mode.", typeStr(px.Kind), px.Name)
		rs.Redirects = nil
	}
}

// finalActions end a rule set: a later rule after one without a
// condition never runs (haproxy's ACT_FLAG_FINAL).
var finalActions = map[Action]bool{
	ActAllow: true, ActDeny: true, ActTarpit: true, ActAuth: true, ActRedirect: true,
	ActReturn: true, ActAccept: true, ActReject: true,
}

// misplacedLevel is where a rule runs in haproxy's order; a rule written
// after one that runs later gets a warning.
type misplacedLevel int

const (
	misplacedRedirect misplacedLevel = iota
	misplacedHTTPReq
	misplacedMonitor
	misplacedTCPCont
	misplacedTCPSess
	misplacedTCPConn
)

// misplaced warns, as haproxy's warnif_misplaced_* do, when a rule
// follows one of a set that runs after it: the first such set is named.
func (p *parser) misplaced(level misplacedLevel, arg string) {
	px := p.cur.px
	rs := &px.Rules
	later := []struct {
		from  misplacedLevel
		name  string
		after bool
	}{
		{misplacedTCPConn, "a 'tcp-request session'", len(rs.TCPSession) > 0},
		{misplacedTCPSess, "a 'tcp-request content'", len(rs.TCPContent) > 0},
		{misplacedTCPCont, "a 'monitor fail'", len(rs.MonitorFail) > 0},
		{misplacedMonitor, "an 'http-request'", len(rs.HTTPRequest) > 0},
		{misplacedHTTPReq, "a 'redirect'", len(rs.Redirects) > 0},
		{misplacedRedirect, "a 'use_backend'", len(px.UseBackends) > 0},
	}
	for _, l := range later {
		if level >= l.from && l.after {
			p.warn(arg, "a '%s' rule placed after %s rule will still be processed before.", arg, l.name)
			return
		}
	}
}

// originalTo is `option originalto [except NETWORK] [header NAME]`
// (section 4.2, "option originalto").
func (p *parser) originalTo(args []string) {
	ot := &OriginalTo{Pos: p.pos()}
	for i := 2; i < len(args); i++ {
		switch args[i] {
		case "except":
			i++
			pfx, ok := netOrAddr(argAt(args, i))
			if !ok {
				p.alert("option", "'option originalto except' expects <address>[/mask] as argument.")
				return
			}
			ot.Except = pfx
		case "header":
			i++
			if argAt(args, i) == "" {
				p.alert("option", "'option originalto header' expects <header_name> as argument.")
				return
			}
			ot.Header = args[i]
		default:
			p.alert("option", "'option originalto' only supports optional values: 'except' and 'header'.")
			return
		}
	}
	p.cur.px.HTTP.OriginalTo = ot
}

// inheritRules applies haproxy 2.6's limits on a defaults section that
// defines TCP/HTTP rules: neither a defaults nor a listen section may use
// it, nor both frontends and backends, and a backend may not take its
// tcp-request connection or session rules. false stops the file, as
// haproxy's ERR_ABORT.
func (p *parser) inheritRules(kw string, base *proxyState) bool {
	rs := &base.px.Rules
	if len(rs.HTTPRequest) == 0 && len(rs.HTTPResponse) == 0 && len(rs.HTTPAfterResponse) == 0 &&
		len(rs.TCPConnection) == 0 && len(rs.TCPSession) == 0 && len(rs.TCPContent) == 0 && len(rs.TCPResponse) == 0 {
		return true
	}
	at := base.px.Pos
	fail := func(format string, a ...any) bool {
		p.diag(Alert, LocParsingTight, kw, format, a...)
		p.abort = true
		return false
	}
	switch kw {
	case "defaults":
		return fail("a defaults section cannot inherit from a defaults section defining TCP/HTTP rules (defaults section at %s:%d).", at.File, at.Line)
	case "listen":
		return fail("a listen section cannot inherit from a defaults section defining TCP/HTTP rules.")
	}
	k := KindFrontend
	if kw == "backend" {
		k = KindBackend
	}
	switch {
	case base.rulesUsers != nil && *base.rulesUsers != k:
		return fail("frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (defaults section at %s:%d).", at.File, at.Line)
	case k == KindBackend && (len(rs.TCPConnection) > 0 || len(rs.TCPSession) > 0):
		return fail("a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules (defaults section at %s:%d).", at.File, at.Line)
	case k == KindFrontend && len(rs.TCPResponse) > 0:
		return fail("a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules (defaults section at %s:%d).", at.File, at.Line)
	}
	base.rulesUsers = &k
	return true
}

// waitForBodyArgs reads wait-for-body's `time T [at-least SIZE]`.
func (p *parser) waitForBodyArgs(r *Rule, rest []string, own int) (int, ruleError) {
	const expects = "expects time <time> [ at-least <bytes> ]"
	if own == 0 {
		return 0, expects
	}
	n, timed := 0, false
	for n+1 <= own {
		switch rest[n] {
		case "time":
			if n+1 >= own || rest[n+1] == "" {
				return 0, ruleError(fmt.Sprintf("missing argument for '%s'", rest[n]))
			}
			tv := parseTime(rest[n+1])
			switch {
			case tv.Err == timeOverflow:
				return 0, "time overflow (maximum value is 2147483647 ms or ~24.8 days)"
			case tv.Err == timeBadChar:
				return 0, ruleError(fmt.Sprintf("unexpected character '%c'", tv.BadChar))
			case tv.Trailing != 0:
				return 0, ruleError(fmt.Sprintf("unexpected character '%c'", tv.Trailing))
			}
			r.Wait, timed = tv.D, true
		case "at-least":
			if n+1 >= own || rest[n+1] == "" {
				return 0, ruleError(fmt.Sprintf("missing argument for '%s'", rest[n]))
			}
			v, bad := parseSize(rest[n+1])
			if bad != 0 {
				return 0, ruleError(fmt.Sprintf("unexpected character '%c'", bad))
			}
			r.AtLeast = v
		default:
			if !timed {
				return 0, expects
			}
			return n, ""
		}
		n += 2
	}
	if !timed {
		return 0, expects
	}
	return n, ""
}

// parseSize is haproxy's parse_size_err: digits and an optional k, m or g
// (powers of 1024); bad is the first unexpected character, 0 if none.
func parseSize(s string) (int64, byte) {
	var v int64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + int64(s[i]-'0')
	}
	if i == 0 && s != "" {
		return 0, s[0]
	}
	if i < len(s) {
		switch s[i] {
		case 'k', 'K':
			v <<= 10
		case 'm', 'M':
			v <<= 20
		case 'g', 'G':
			v <<= 30
		default:
			return 0, s[i]
		}
		if i+1 < len(s) {
			return 0, s[i+1]
		}
	}
	return v, 0
}

// mapActionArgs reads `set-map(FILE) KEY VALUE`, `del-map(FILE) KEY`,
// `add-acl(FILE) KEY` and `del-acl(FILE) KEY` (parse_http_set_map): the
// key and value are log-format strings, taken whatever the words are.
func (p *parser) mapActionArgs(name, action string, r *Rule, rest []string) (int, ruleError) {
	r.Action = map[string]Action{"set-map": ActSetMap, "del-map": ActDelMap, "add-acl": ActAddACL, "del-acl": ActDelACL}[name]
	n := 1
	if r.Action == ActSetMap {
		n = 2
	}
	if len(rest) < n || rest[0] == "" || rest[n-1] == "" {
		if n == 2 {
			return 0, "expects exactly 2 arguments"
		}
		return 0, "expects exactly 1 arguments"
	}
	file, ok := strings.CutPrefix(action, name+"(")
	file, ok2 := strings.CutSuffix(file, ")")
	if !ok || !ok2 {
		return 0, ruleError(fmt.Sprintf("gproxy expects the file as '%s(<file>)'", name))
	}
	r.Name = file
	k, err := p.text(rest[0])
	if err != nil {
		return 0, ruleError(condError(err))
	}
	r.Key = &k
	if n == 2 {
		if r.Value, err = p.text(rest[1]); err != nil {
			return 0, ruleError(condError(err))
		}
	}
	p.mapRules = append(p.mapRules, r)
	return n, ""
}

// normalizeArgs reads normalize-uri's normalizer (haproxy's
// parse_http_normalize_uri, messages included). As in haproxy 2.6, a
// normalizer whose option is omitted before if/unless
// ("path-strip-dotdot if ...") is left unset, which runs the first one,
// path-merge-slashes.
func normalizeArgs(r *Rule, rest []string, own int) (int, ruleError) {
	if own == 0 || rest[0] == "" {
		return 0, "missing argument <normalizer>"
	}
	next := ""
	if len(rest) > 1 {
		next = rest[1]
	}
	switch n := rest[0]; n {
	case "path-merge-slashes", "path-strip-dot", "query-sort-by-name", "fragment-strip", "fragment-encode":
		r.Normalizer = n
		return 1, ""
	case "path-strip-dotdot", "percent-to-uppercase", "percent-decode-unreserved":
		opt := "strict"
		if n == "path-strip-dotdot" {
			opt = "full"
		}
		switch next {
		case opt:
			r.Normalizer = n + " " + opt
			return 2, ""
		case "":
			r.Normalizer = n
			return 1, ""
		case "if", "unless":
			r.Normalizer = "path-merge-slashes"
			return 1, ""
		}
		return 0, ruleError(fmt.Sprintf("unknown argument '%s' for '%s' normalizer", next, n))
	default:
		return 0, ruleError(fmt.Sprintf("unknown normalizer '%s'", n))
	}
}

// strtolBase0 is C's strtol(s, &end, 0): blanks, a sign, then a hex
// (0x), octal (0) or decimal number; it returns the value (wrapped as
// the C conversion does for a 64-bit long) and what follows it.
func strtolBase0(s string) (int64, string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	digit := func(c byte) int {
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
	base := 10
	if i < len(s) && s[i] == '0' {
		base = 8
		if i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && digit(s[i+2]) < 16 {
			base, i = 16, i+2
		}
	}
	start := i
	var n uint64
	for i < len(s) && digit(s[i]) < base {
		n = n*uint64(base) + uint64(digit(s[i]))
		i++
	}
	if i == start && base != 8 {
		return 0, s // no digits: strtol consumes nothing
	}
	v := int64(n)
	if neg {
		v = -v
	}
	return v, s[i:]
}
