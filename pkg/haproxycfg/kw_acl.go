package haproxycfg

import (
	"fmt"
	"sort"
	"strings"

	"hapair/pkg/sample"
)

// ACLs and conditions (configuration manual section 7): `acl` lines are
// compiled when read, into the proxy's set (parser state only: the model
// carries the compiled conditions of the rules that use them).

// sampleOptions are the sample parser's view of this parser: pattern and
// map files are read through the configuration's file reader (paths as
// written, relative to the working directory, as haproxy opens them), and
// its warnings are haproxy's, printed without a location.
func (p *parser) sampleOptions() *sample.ParseOptions {
	o := &sample.ParseOptions{
		Refs:  p.cfg.PatRefs,
		Where: sample.Where{File: p.file, Line: p.line},
		Warn: func(msg string) {
			p.diags = append(p.diags, Diagnostic{Severity: Warning, Pos: p.pos(), Keyword: "acl", Msg: msg, Style: LocNone})
		},
	}
	if p.readFile != nil {
		o.ReadFile = p.readFile
	}
	if at := p.exprAt; at != nil {
		ps := p.exprPS
		o.Parsed = func(refs []sample.ArgRef) {
			for _, r := range refs {
				ps.argRefs = append(ps.argRefs, argRef{pos: p.pos(), ctx: at.ctx, where: at.where, late: at.late, ref: r})
			}
		}
	}
	return o
}

// exprPlace is where haproxy says a sample expression's argument was
// written (its ARGC_* context), for the resolution alerts.
type exprPlace struct {
	ctx, where string
	// late: haproxy compiles these once the whole configuration is read,
	// so their alerts come after the others of the proxy.
	late bool
}

var (
	placeHRQ     = &exprPlace{ctx: "sample fetch keyword", where: "in http-request expression in"}
	placeHRS     = &exprPlace{ctx: "sample fetch keyword", where: "in http-response response in"}
	placeTrack   = &exprPlace{ctx: "sample fetch keyword", where: "in tracking rule in"}
	placeStick   = &exprPlace{ctx: "sample fetch keyword", where: "in stick rule in"}
	placeServer  = &exprPlace{ctx: "sample fetch keyword", where: "in server directive in"}
	placeTCK     = &exprPlace{ctx: "sample fetch keyword", where: "in tcp-check expression in"}
	placeTRS     = &exprPlace{ctx: "sample fetch keyword", where: "in tcp-response content expression in"}
	placeUBK     = &exprPlace{ctx: "sample fetch keyword", where: "in use_backend expression in", late: true}
	placeLog     = &exprPlace{ctx: "sample fetch keyword", where: "in log-format string in", late: true}
	placeLogSD   = &exprPlace{ctx: "sample fetch keyword", where: "in log-format-sd string in", late: true}
	placeUID     = &exprPlace{ctx: "sample fetch keyword", where: "in unique-id-format string in", late: true}
	placeBalance = &exprPlace{ctx: "sample fetch keyword", where: "in use-server or balance expression in", late: true}
	placeTCP     = map[string]*exprPlace{
		"connection": {ctx: "sample fetch keyword", where: "in tcp-request connection expression in"},
		"session":    {ctx: "sample fetch keyword", where: "in tcp-request session expression in"},
		"content":    {ctx: "sample fetch keyword", where: "in tcp-request content expression in"},
	}
)

// exprPlaceOf is the place of the sample expressions of a proxy section's
// line, as measured with haproxy 2.6's -c; nil for the lines whose
// expressions haproxy does not resolve (a redirect's format) or that are
// not tried here: their arguments stay unresolved, as before.
func exprPlaceOf(args []string) *exprPlace {
	action := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch args[0] {
	case "http-request", "http-response", "http-after-response":
		switch a := action(1); {
		case strings.HasPrefix(a, "track-sc"):
			return placeTrack
		case args[0] == "http-request":
			return placeHRQ
		}
		return placeHRS
	case "http-check", "tcp-check":
		// haproxy parses a check's set-var in its tcp-check context
		// (ARGC_TCK), the other expressions and formats of check rules
		// as a server's (ARGC_SRV).
		if a := action(1); strings.HasPrefix(a, "set-var") || strings.HasPrefix(a, "unset-var") {
			return placeTCK
		}
		return placeServer
	case "tcp-request":
		if strings.HasPrefix(action(2), "track-sc") {
			return placeTrack
		}
		return placeTCP[action(1)]
	case "tcp-response":
		return placeTRS
	case "stick":
		return placeStick
	case "server", "default-server", "server-template":
		return placeServer
	case "use_backend":
		return placeUBK
	case "log-format", "error-log-format":
		return placeLog
	case "log-format-sd":
		return placeLogSD
	case "unique-id-format":
		return placeUID
	}
	return nil
}

// aclKeyword is `acl NAME FETCH[,CONV...] [FLAGS] PATTERNS...`.
func (p *parser) aclKeyword(args []string) {
	if p.cur.isDefault && p.cur.name == "" {
		p.alert("acl", "'%s' not allowed in anonymous 'defaults' section.", args[0])
		return
	}
	name := ""
	if len(args) > 1 {
		name = args[1]
	}
	if c, bad := invalidNameChar(name); bad || name == "" {
		p.alert("acl", "character '%s' is not permitted in acl name '%s'.", c, name)
		return
	}
	if strings.EqualFold(name, "or") {
		p.alert("acl", "acl name '%s' will never match. 'or' is used to express a logical disjunction within a condition.", name)
		return
	}
	a, err := sample.ParseACL(name, args[2:], p.sampleOptions())
	if err != nil {
		p.alert("acl", "error detected while parsing ACL '%s' : %s.", name, err)
		return
	}
	if p.cur.acls == nil {
		p.cur.acls = sample.ACLSet{}
	}
	p.addArgRefs(p.cur, "ACL keyword", "in", a.Refs())
	p.cur.acls.Add(a)
}

// argRef is one sample argument naming a configuration object, with what
// haproxy's resolution messages say of where it was written.
type argRef struct {
	pos   Pos
	ctx   string // "ACL keyword", "sample fetch keyword"
	where string // "in", "in http-request expression in", ...
	late  bool   // reported after the others (see exprPlace)
	ref   sample.ArgRef
}

// addArgRefs queues refs written at the current line for resolution once
// the whole configuration is read. ctx and where are haproxy's words for
// the place (ARGC_*): ("ACL keyword", "in") for ACLs and conditions,
// ("sample fetch keyword", "in http-request expression in") for a sample
// in an http-request rule, and so on.
func (p *parser) addArgRefs(ps *proxyState, ctx, where string, refs []sample.ArgRef) {
	for _, r := range refs {
		ps.argRefs = append(ps.argRefs, argRef{pos: p.pos(), ctx: ctx, where: where, ref: r})
	}
}

// resolveArgs is smp_resolve_args for one proxy: every backend, frontend,
// server and userlist a sample names must exist (an empty backend or
// frontend is this proxy); the names are filled in for the runtime.
// Tables are the stick tables of the proxies of that name. One alert per
// proxy, as haproxy's.
func (p *parser) resolveArgs(ps *proxyState) {
	var errs []string
	sort.SliceStable(ps.argRefs, func(i, j int) bool { return !ps.argRefs[i].late && ps.argRefs[j].late })
	// proxy_fe_by_name / proxy_be_by_name: only proxies with the
	// capability are found by name
	find := func(name string, be bool) *Proxy {
		for _, q := range p.proxies {
			if q.px.Name == name && (be && q.px.Kind.HasBackend() || !be && q.px.Kind.HasFrontend()) {
				return q.px
			}
		}
		return nil
	}
	for _, r := range ps.argRefs {
		a := r.ref.Arg
		conv := ""
		if r.ref.Conv != "" {
			conv = "conversion keyword '" + r.ref.Conv + "' for "
		}
		of := fmt.Sprintf("arg %d of %s%s '%s' %s proxy '%s'", r.ref.Pos, conv, r.ctx, r.ref.Keyword, r.where, ps.px.Name)
		at := fmt.Sprintf("parsing [%s:%d]: ", r.pos.File, r.pos.Line)
		switch a.Type {
		case sample.ArgBE, sample.ArgFE:
			name := a.Str
			px := ps.px
			if name != "" {
				px = find(name, a.Type == sample.ArgBE)
			} else {
				name = ps.px.Name
			}
			what, hasCap := "backend", func(q *Proxy) bool { return q.Kind.HasBackend() }
			if a.Type == sample.ArgFE {
				what, hasCap = "frontend", func(q *Proxy) bool { return q.Kind.HasFrontend() }
			}
			switch {
			case px == nil:
				errs = append(errs, fmt.Sprintf("%sunable to find %s '%s' referenced in %s.", at, what, name, of))
			case !hasCap(px):
				errs = append(errs, fmt.Sprintf("%sproxy '%s', referenced in %s, has not %s capability.", at, name, of, what))
			default:
				a.Str = name
			}
		case sample.ArgSrv:
			if a.Str == "" {
				errs = append(errs, fmt.Sprintf("%smissing server name in %s.", at, of))
				continue
			}
			px, pname, sname := ps.px, ps.px.Name, a.Str
			if i := strings.LastIndexByte(a.Str, '/'); i >= 0 {
				pname, sname = a.Str[:i], a.Str[i+1:]
				if px = find(pname, true); px == nil {
					errs = append(errs, fmt.Sprintf("%sunable to find proxy '%s' referenced in %s.", at, pname, of))
					continue
				}
			}
			srv := px.Server(sname)
			if srv == nil {
				errs = append(errs, fmt.Sprintf("%sunable to find server '%s' in proxy '%s', referenced in %s.", at, sname, pname, of))
				continue
			}
			srv.Referenced = true
			a.Str = pname + "/" + sname
		case sample.ArgTab:
			name := a.Str
			if name == "" {
				if ps.isDefault {
					errs = append(errs, fmt.Sprintf("%stable name must be set in %s.", at, of))
					continue
				}
				name = ps.px.Name
			}
			if p.cfg.StickTable(name) == nil {
				errs = append(errs, fmt.Sprintf("%sunable to find table '%s' referenced in %s.", at, name, of))
				continue
			}
			a.Str = name
		case sample.ArgUsr:
			if a.Str == "" {
				errs = append(errs, fmt.Sprintf("%smissing userlist name in %s.", at, of))
				continue
			}
			if p.userlistExists == nil || !p.userlistExists(a.Str) {
				errs = append(errs, fmt.Sprintf("%sunable to find userlist '%s' referenced in %s.", at, a.Str, of))
			}
		}
	}
	switch {
	case len(errs) == 1:
		p.diags = append(p.diags, Diagnostic{Severity: Alert, Keyword: "acl", Msg: errs[0], Style: LocNone})
	case len(errs) > 1:
		p.diags = append(p.diags, Diagnostic{Severity: Alert, Keyword: "acl", Style: LocNone,
			Msg: "multiple argument resolution errors:\n        " + strings.Join(errs, "\n        ")})
	}
}

// invalidNameChar is haproxy's invalid_char for names: letters, digits
// and ".-_:" only.
func invalidNameChar(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':') {
			return string(c), true
		}
	}
	return "", false
}

// parseCond compiles the condition of a rule line of proxy px (args from
// "if"/"unless" to the end) against px's ACLs, the predefined ones and
// anonymous { } ACLs. The error text is haproxy's; the caller words the
// alert for its keyword, e.g.
//
//	p.alert(kw, "error detected while parsing an '%s %s' condition : %s.", kw, action, err)
func (p *parser) parseCond(px *Proxy, args []string) (*sample.Cond, error) {
	ps := p.cur
	if ps == nil || ps.px != px {
		ps = nil
		for _, q := range p.proxies {
			if q.px == px {
				ps = q
				break
			}
		}
	}
	var acls sample.ACLSet
	if ps != nil {
		if ps.acls == nil {
			ps.acls = sample.ACLSet{}
		}
		acls = ps.acls
	}
	c, err := sample.ParseCond(args, acls, p.sampleOptions())
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	if ps != nil {
		p.addArgRefs(ps, "ACL keyword", "in", c.Refs())
	}
	return c, nil
}

// finishPatRefs adds the references haproxy 2.6's internal HTTP client
// creates after the configuration: its rules hold two ACLs when the
// "default" resolvers exist, declared or built from /etc/resolv.conf
// (httpclient_resolve_init). `show acl` lists them last.
func (p *parser) finishPatRefs() {
	defer p.cfg.PatRefs.Finalize()
	for _, r := range p.mapRules {
		r.MapRef = p.cfg.PatRefs.ByFile(r.Name)
	}
	if p.cfg.Resolver("default") == nil {
		if p.readFile == nil {
			return
		}
		data, err := p.readFile("/etc/resolv.conf")
		if err != nil || !resolvConfHasNameserver(data) {
			return
		}
	}
	p.cfg.PatRefs.HTTPClientACLs()
}

func resolvConfHasNameserver(data []byte) bool {
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "nameserver" {
			return true
		}
	}
	return false
}
