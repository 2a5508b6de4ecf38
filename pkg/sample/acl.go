package sample

import (
	"fmt"
	"strings"
)

// aclExpr is one `acl` line: an expression and its patterns. Each -f
// file is a set compiled with the flags given before it; the patterns on
// the line are the last set (haproxy keeps one pattern expression per
// reference, each with its own flags).
type aclExpr struct {
	expr  *exprImpl
	kind  matchKind
	files []*refExpr
	pats  *refExpr
}

// match reports whether v (of the type the match method wants) matches
// one of the sets.
func (e *aclExpr) match(v Value) bool {
	for _, f := range e.files {
		if f.set().match(v) >= 0 {
			return true
		}
	}
	return e.pats.set().match(v) >= 0
}

type aclImpl struct {
	exprs []*aclExpr
}

// Tri-state results of haproxy's ACL engine (enum acl_test_res): MISS
// means "not known yet"; AND/OR/NOT are the bitwise ones on these values.
const (
	triFail = 0
	triMiss = 1
	triPass = 3
)

// triNegate is acl_neg: PASS and FAIL swap, MISS stays.
func triNegate(r int) int {
	switch r {
	case triPass:
		return triFail
	case triFail:
		return triPass
	}
	return r
}

// test is the ORed result of the ACL's lines: a line matches when one of
// the values its expression yields matches one of its patterns.
func (a *ACL) test(t *Txn) bool { return a.testTri(t, true) == triPass }

func (a *ACL) testTri(t *Txn, final bool) int {
	res := triFail
	if t.scratch == nil {
		t.scratch = t.scratchRoom[:0]
	}
	for _, e := range a.impl.exprs {
		mt := e.kind.matchType()
		t.mayChange = false
		vals := e.expr.values(t, t.scratch[:0])
		for _, v := range vals {
			if e.kind != mFound {
				var ok bool
				if v, ok = Cast(v, mt); !ok {
					continue
				}
			}
			if e.match(v) {
				res = triPass
				break
			}
		}
		// keep the grown buffer for the next evaluation, emptied so that
		// it holds no reference to this request's strings
		clear(vals)
		t.scratch = vals[:0]
		if res == triPass {
			return res
		}
		if t.mayChange && !final {
			res |= triMiss
		}
	}
	return res
}

// Refs lists the arguments of the ACL's lines that name configuration
// objects.
func (a *ACL) Refs() []ArgRef {
	var out []ArgRef
	for _, e := range a.impl.exprs {
		out = e.expr.refs(out)
	}
	return out
}

// Refs lists the arguments naming configuration objects in the
// condition's anonymous ACLs ({ ... }); named ACLs report theirs where
// they are defined.
func (c *Cond) Refs() []ArgRef {
	var out []ArgRef
	if c == nil {
		return nil
	}
	for _, suite := range c.impl.suites {
		for _, term := range suite {
			if term.acl.Name == "" {
				out = append(out, term.acl.Refs()...)
			}
		}
	}
	return out
}

// Test reports whether the ACL matches t.
func (a *ACL) Test(t *Txn) bool { return a.test(t) }

func addACL(s ACLSet, a *ACL) {
	if cur, ok := s[a.Name]; ok && cur != a {
		cur.impl.exprs = append(cur.impl.exprs, a.impl.exprs...)
		return
	}
	s[a.Name] = a
}

// invalidACLChar is invalid_char(): ACL names are letters, digits and
// ".-_:".
func invalidACLChar(name string) (byte, bool) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':') {
			return c, true
		}
	}
	return 0, false
}

func parseACL(name string, args []string, o *ParseOptions) (*ACL, error) {
	if c, bad := invalidACLChar(name); bad {
		return nil, syntaxErr("invalid character in ACL name : '%c'", c)
	}
	e, err := parseACLExpr(args, o)
	if err != nil {
		return nil, err
	}
	if o != nil && o.Warn != nil && len(args) > 1 && !strings.Contains(args[0], "(") && strings.HasPrefix(args[1], "(") {
		o.Warn(fmt.Sprintf("parsing acl '%s' :\n"+
			"  matching '%s' for pattern '%s' is likely a mistake and probably\n"+
			"  not what you want. Maybe you need to remove the extraneous space before '('.\n"+
			"  If you are really sure this is not an error, please insert '--' between the\n"+
			"  match and the pattern to make this warning message disappear.", name, args[0], args[1]))
	}
	return &ACL{Name: name, impl: aclImpl{exprs: []*aclExpr{e}}}, nil
}

// parseACLExpr is parse_acl_expr: args[0] is an ACL keyword or a sample
// expression, then flags, then patterns.
func parseACLExpr(args []string, o *ParseOptions) (*aclExpr, error) {
	if len(args) == 0 || args[0] == "" {
		return nil, syntaxErr("missing fetch method in ACL expression ''")
	}
	// an empty word ends the line for haproxy (its argument list ends
	// with one)
	for i := 1; i < len(args); i++ {
		if args[i] == "" {
			args = args[:i]
			break
		}
	}
	orig := args
	var ex *exprImpl
	var kind matchKind
	haveKind := false
	dotted := false
	kwName := args[0]
	next := 1
	if kw := lookupACLKeyword(baseName(args[0])); kw != nil {
		f := lookupFetch(kw.Fetch)
		if f == nil {
			return nil, syntaxErr("unknown fetch method '%s' in ACL expression '%s'", kw.Fetch, args[0])
		}
		n := idLen(args[0])
		cargs, rest, _, _, err := parseArgs(args[0][n:], f.Args)
		if err != nil {
			return nil, syntaxErr("ACL keyword '%s' : %s", kw.Name, err)
		}
		if f.Check != nil {
			if err := f.Check(cargs, o); err != nil {
				return nil, syntaxErr("in argument to '%s', %s", kw.Name, err)
			}
		}
		ex = &exprImpl{kw: kw.Name, fetch: f, args: cargs, out: f.Out}
		ckw := ""
		for rest != "" {
			if rest[0] != ',' {
				if ckw != "" {
					return nil, syntaxErr("ACL keyword '%s' : missing comma after converter '%s'.", kw.Name, ckw)
				}
				return nil, syntaxErr("ACL keyword '%s' : missing comma after fetch keyword.", kw.Name)
			}
			rest = strings.TrimLeft(rest, ",")
			if rest == "" {
				break
			}
			m := idLen(rest)
			ckw = rest[:m]
			c := lookupConv(ckw)
			if c == nil {
				if haproxyConverters[ckw] {
					return nil, syntaxErr("ACL keyword '%s' : converter '%s' is not implemented by gproxy.", kw.Name, ckw)
				}
				return nil, syntaxErr("ACL keyword '%s' : unknown converter '%s'.", kw.Name, ckw)
			}
			if !canCast(ex.out, c.In) {
				return nil, syntaxErr("ACL keyword '%s' : converter '%s' cannot be applied.", kw.Name, ckw)
			}
			a, r, cnt, pos, err := parseArgs(rest[m:], c.Args)
			if err != nil {
				return nil, syntaxErr("ACL keyword '%s' : invalid arg %d in converter '%s' : %s.", kw.Name, pos+1, ckw, err)
			}
			if cnt > 0 && len(c.Args.Types) == 0 {
				return nil, syntaxErr("converter '%s' does not support any args", ckw)
			}
			if c.Check != nil {
				if err := c.Check(a, o); err != nil {
					return nil, syntaxErr("ACL keyword '%s' : invalid args in converter '%s' : %s.", kw.Name, ckw, err)
				}
			}
			ex.convs = append(ex.convs, convStep{def: c, args: a})
			ex.out = c.Out // TypeAny (json_query) too: any converter may follow
			rest = r
		}
		if len(ex.convs) == 0 {
			kwName = kw.Name
			if kw.Match != "" {
				kind, haveKind = matchByName(kw.Match), true
				dotted = kw.Dotted
			}
		} else {
			kwName = f.Name
		}
	} else if w := baseName(args[0]); haproxyACLKeywords[w] && !haproxyFetches[w] {
		return nil, syntaxErr("ACL keyword '%s' is not implemented by gproxy", w)
	} else {
		idx := 0
		e, _, err := parseExprWords(args, &idx, false, o)
		if err != nil {
			return nil, syntaxErr("%s in ACL expression '%s'", err, args[0])
		}
		ex = &e.impl
		kwName = ex.fetch.Name
		// haproxy skips one word only, even when converters were read
		// from the following words: those words are patterns as well
		// (`acl q str(lower) lower` is true in haproxy 2.6)
		next = 1
	}
	if !haveKind {
		switch ex.out {
		case TypeBool:
			kind, haveKind = mBool, true
		case TypeInt:
			kind, haveKind = mInt, true
		case TypeAddr, TypeIPv4, TypeIPv6:
			kind, haveKind = mIP, true
		case TypeStr:
			kind, haveKind = mStr, true
		}
	}
	ae := &aclExpr{expr: ex}
	args = args[next:]
	if haveKind && ex.out != TypeBool && (len(orig) < 2 || orig[1] == "") && o != nil && o.Warn != nil {
		o.Warn(fmt.Sprintf("parsing acl keyword '%s' :\n"+
			"  no pattern to match against were provided, so this ACL will never match.\n"+
			"  If this is what you intended, please add '--' to get rid of this warning.\n"+
			"  If you intended to match only for existence, please use '-m found'.\n"+
			"  If you wanted to force an int to match as a bool, please use '-m bool'.\n", orig[0]))
	}
	icase := false
	var uid *int
	loaded := false
	explicitM := false
	asMap := false
	var files []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-i":
			icase = true
		case "-n":
			// no DNS: host names are refused anyway
		case "-u":
			if len(args) < 2 || !isInt64Prefix(args[1]) {
				return nil, syntaxErr("the argument of -u must be an integer")
			}
			id := int(int32(readInt64(args[1])))
			if o.patRefs().idUsed(id) {
				return nil, syntaxErr("the id is already used")
			}
			uid = &id
			args = args[1:]
		case "-f":
			if !haveKind {
				return nil, syntaxErr("matching method must be specified first (using '-m') when using a sample fetch of this type ('%s')", kwName)
			}
			f := ""
			if len(args) > 1 {
				f = args[1]
				args = args[1:]
			}
			files = append(files, f)
			loaded = true
		case "-m":
			if loaded {
				return nil, syntaxErr("'-m' must only be specified before patterns and files in parsing ACL expression")
			}
			m := ""
			if len(args) > 1 {
				m = args[1]
			}
			k, ok := matchNames[m]
			if !ok {
				return nil, syntaxErr("unknown matching method '%s' when parsing ACL expression", m)
			}
			if k != mFound && !canCast(ex.out, k.matchType()) {
				return nil, syntaxErr("matching method '%s' cannot be used with fetch keyword '%s'", m, kwName)
			}
			kind, haveKind, dotted = k, true, false
			explicitM = true
			args = args[1:]
		case "-M":
			asMap = true // -f files that follow are maps: the key is the pattern
		case "--":
			args = args[1:]
			goto patterns
		default:
			return nil, syntaxErr("'%s' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'", args[0])
		}
		args = args[1:]
		// -f files are read in order with the flags known so far
		if len(files) > 0 {
			for _, f := range files {
				k := kind
				if kind == mStr && kwName == "method" && !explicitM {
					k = mMeth
				}
				ref, err := o.patRefs().fileRef(f, asMap, asMap, o.where(), o.readFn())
				if err != nil {
					return nil, syntaxErr("%s", err)
				}
				e, err := ref.expr(k, false, icase, dotted, false, TypeStr)
				if err != nil {
					return nil, syntaxErr("%s", err)
				}
				ae.files = append(ae.files, e)
			}
			files = files[:0]
		}
	}
patterns:
	if !haveKind {
		return nil, syntaxErr("matching method must be specified first (using '-m') when using a sample fetch of this type ('%s')", kwName)
	}
	if kwName == "method" && kind == mStr && !explicitM {
		kind = mMeth // the ACL keyword's own pat_match_meth
	}
	ae.kind = kind
	w := o.where()
	ref := o.patRefs().inlineRef(fmt.Sprintf("acl '%s' file '%s' line %d", kwName, w.File, w.Line), uid)
	ae.pats, _ = ref.expr(kind, false, icase, dotted, false, TypeStr)
	op := "eq"
	for _, arg := range args {
		if kind == mInt || kind == mLen {
			if o := stdOp(arg); o != "" {
				op = o
				continue
			}
			if !strings.ContainsAny(arg, ":-") && op != "eq" {
				var err error
				if arg, err = opRange(arg, op, dotted); err != nil {
					return nil, err
				}
			}
		}
		if _, err := ref.load(0, arg, "", false, 0); err != nil {
			return nil, syntaxErr("%s", err)
		}
	}
	return ae, nil
}

// baseName is the keyword part of "word(args),convs".
func baseName(s string) string { return s[:idLen(s)] }

func matchByName(n string) matchKind {
	if k, ok := matchNames[n]; ok {
		return k
	}
	return mStr
}

func stdOp(s string) string {
	switch s {
	case "eq", "gt", "ge", "lt", "le":
		return s
	}
	return ""
}

// opRange rewrites "OP value" into a range as parse_acl_expr does.
func opRange(arg, op string, dotted bool) (string, error) {
	majS, minS, hasDot := strings.Cut(arg, ".")
	var minor int64
	if dotted && hasDot {
		m, ok := strl2llrc(minS)
		if !ok {
			return "", syntaxErr("'%s' is neither a number nor a supported operator", arg)
		}
		if m >= 65536 {
			return "", syntaxErr("'%s' contains too large a minor value", arg)
		}
		minor = m
	}
	if !dotted {
		majS = arg
		if hasDot {
			majS = arg[:strings.IndexByte(arg, '.')]
		}
	}
	v, ok := strl2llrc(majS)
	if !ok {
		return "", syntaxErr("'%s' is neither a number nor a supported operator", arg)
	}
	if dotted {
		if v >= 65536 {
			return "", syntaxErr("'%s' contains too large a major value", arg)
		}
		v = v<<16 | minor&0xffff
	}
	switch op {
	case "gt":
		v++
		fallthrough
	case "ge":
		if dotted {
			return fmt.Sprintf("%d.%d:", v>>16, v&0xffff), nil
		}
		return fmt.Sprintf("%d:", v), nil
	case "lt":
		v--
		fallthrough
	default:
		if dotted {
			return fmt.Sprintf(":%d.%d", v>>16, v&0xffff), nil
		}
		return fmt.Sprintf(":%d", v), nil
	}
}

// predefined are haproxy's default ACLs (default_acl_list in acl.c).
var predefined = map[string][]string{
	"TRUE":           {"always_true"},
	"FALSE":          {"always_false"},
	"LOCALHOST":      {"src", "127.0.0.1/8", "::1"},
	"HTTP":           {"req.proto_http"},
	"HTTP_1.0":       {"req.ver", "1.0"},
	"HTTP_1.1":       {"req.ver", "1.1"},
	"HTTP_2.0":       {"req.ver", "2.0"},
	"METH_CONNECT":   {"method", "CONNECT"},
	"METH_DELETE":    {"method", "DELETE"},
	"METH_GET":       {"method", "GET", "HEAD"},
	"METH_HEAD":      {"method", "HEAD"},
	"METH_OPTIONS":   {"method", "OPTIONS"},
	"METH_POST":      {"method", "POST"},
	"METH_PUT":       {"method", "PUT"},
	"METH_TRACE":     {"method", "TRACE"},
	"HTTP_URL_ABS":   {"url_reg", "^[^/:]*://"},
	"HTTP_URL_SLASH": {"url_beg", "/"},
	"HTTP_URL_STAR":  {"url", "*"},
	"HTTP_CONTENT":   {"req.hdr_val(content-length)", "gt", "0"},
	"RDP_COOKIE":     {"req.rdp_cookie_cnt", "gt", "0"},
	"REQ_CONTENT":    {"req.len", "gt", "0"},
	"WAIT_END":       {"wait_end"},
}

// Predefined compiles one of haproxy's predefined ACLs; ok is false for
// another name.
func Predefined(name string) (*ACL, bool) { return predefinedACL(name, nil) }

func predefinedACL(name string, o *ParseOptions) (*ACL, bool) {
	words, ok := predefined[name]
	if !ok {
		return nil, false
	}
	var po *ParseOptions
	if o != nil {
		po = &ParseOptions{Refs: o.Refs, Where: o.Where}
	}
	a, err := parseACL(name, words, po)
	if err != nil {
		panic("sample: predefined ACL " + name + ": " + err.Error())
	}
	return a, true
}

type condTerm struct {
	acl *ACL
	neg bool
}

type condImpl struct {
	unless bool
	suites [][]condTerm
}

func (c condImpl) eval(t *Txn) bool { return c.evalTri(t, true) == triPass }

// evalTri is acl_exec_cond then the if/unless polarity.
func (c condImpl) evalTri(t *Txn, final bool) int {
	res := triFail
	for _, suite := range c.suites {
		sres := triPass
		for _, term := range suite {
			r := term.acl.testTri(t, final)
			if term.neg {
				r = triNegate(r)
			}
			sres &= r
			if sres != triPass {
				break
			}
		}
		res |= sres
		if res == triPass {
			break
		}
	}
	if c.unless {
		res = triNegate(res)
	}
	return res
}

func parseCond(args []string, acls ACLSet, o *ParseOptions) (*Cond, error) {
	var c condImpl
	switch {
	case len(args) > 0 && args[0] == "if":
	case len(args) > 0 && args[0] == "unless":
		c.unless = true
	default:
		return nil, syntaxErr("conditions must start with either 'if' or 'unless'")
	}
	args = args[1:]
	var suite []condTerm
	neg := false
	for i := 0; i < len(args); i++ {
		w := args[i]
		if w == "" {
			break
		}
		for strings.HasPrefix(w, "!") {
			neg = !neg
			w = w[1:]
		}
		if w == "" {
			continue
		}
		if strings.EqualFold(w, "or") || w == "||" {
			if suite != nil {
				c.suites = append(c.suites, suite)
			}
			suite = nil
			neg = false
			continue
		}
		var a *ACL
		if w == "{" {
			end := i + 1
			for end < len(args) && args[end] != "" && args[end] != "}" {
				end++
			}
			if end >= len(args) || args[end] != "}" {
				return nil, syntaxErr("missing closing '}' in condition")
			}
			var err error
			a, err = parseACL("", args[i+1:end], o)
			if err != nil {
				return nil, err
			}
			i = end
		} else if a = acls[w]; a == nil {
			var ok bool
			if a, ok = predefinedACL(w, o); !ok {
				return nil, syntaxErr("no such ACL : '%s'", w)
			}
			if acls != nil {
				// find_acl_default adds it to the proxy's ACLs: later
				// uses share it (and its pattern reference)
				acls[w] = a
			}
		}
		suite = append(suite, condTerm{acl: a, neg: neg})
		neg = false
	}
	if suite != nil {
		c.suites = append(c.suites, suite)
	}
	return &Cond{impl: c}, nil
}
