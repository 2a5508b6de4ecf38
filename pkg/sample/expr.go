package sample

import (
	"fmt"
	"strings"
)

type convStep struct {
	def  *ConvDef
	args []Arg
}

type exprImpl struct {
	kw    string // the keyword as messages name it
	fetch *FetchDef
	args  []Arg
	convs []convStep
	out   Type
}

func (e *exprImpl) convert(t *Txn, v Value) (Value, bool) {
	for i := range e.convs {
		c := &e.convs[i]
		in, ok := Cast(v, c.def.In)
		if !ok {
			return Value{}, false
		}
		if v, ok = c.def.Fn(t, in, c.args); !ok {
			return Value{}, false
		}
	}
	return v, true
}

func (e exprImpl) eval(t *Txn) (Value, bool) {
	if e.fetch == nil || t.ReqGone && requestOnly(e.fetch) {
		return Value{}, false
	}
	var v Value
	ok := false
	t.withRawRequest(e.fetch, func() { v, ok = e.fetch.Fn(t, e.args) })
	if !ok {
		return Value{}, false
	}
	return e.convert(t, v)
}

// values appends to out every value of the expression (every
// occurrence for a multi-valued fetch), converted; an ACL tests each.
func (e *exprImpl) values(t *Txn, out []Value) []Value {
	if e.fetch.Each == nil {
		if v, ok := e.eval(t); ok {
			out = append(out, v)
		}
		return out
	}
	if t.ReqGone && requestOnly(e.fetch) {
		return out
	}
	start := len(out)
	t.withRawRequest(e.fetch, func() { out = e.fetch.Each(t, e.args, out) })
	if len(e.convs) == 0 {
		return out
	}
	keep := start
	for i := start; i < len(out); i++ {
		if v, ok := e.convert(t, out[i]); ok {
			out[keep] = v
			keep++
		}
	}
	return out[:keep]
}

// OutType is the type of the expression's result as known at parse time.
func (e *Expr) OutType() Type { return e.impl.out }

// isIDChar is haproxy's is_idchar: what a fetch or converter name is made of.
func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '+' || c == ':'
}

func idLen(s string) int {
	i := 0
	for i < len(s) && isIDChar(s[i]) {
		i++
	}
	return i
}

func parseExpr(s string, o *ParseOptions) (*Expr, error) {
	idx := 0
	e, _, err := parseExprWords([]string{s}, &idx, false, o)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ParseExprPrefix compiles the expression at the start of s and returns
// what follows it (for log-format's %[expr] where ']' ends it).
func ParseExprPrefix(s string, o *ParseOptions) (*Expr, string, error) {
	idx := 0
	return parseExprWords([]string{s}, &idx, true, o)
}

func syntaxErr(format string, a ...any) error {
	return &Error{msg: fmt.Sprintf(format, a...)}
}

// Error is a parse error; its text is haproxy's wording, and it wraps
// ErrSyntax.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Unwrap makes errors.Is(err, ErrSyntax) hold.
func (e *Error) Unwrap() error { return ErrSyntax }

// parseExprWords is sample_parse_expr: words[*idx] starts with the fetch;
// after a trailing comma the converter list continues in the next word.
// With prefix, parsing stops at the first character that cannot continue
// the expression and the rest is returned.
func parseExprWords(words []string, idx *int, prefix bool, o *ParseOptions) (*Expr, string, error) {
	s := words[*idx]
	n := idLen(s)
	if n == 0 {
		return nil, "", syntaxErr("missing fetch method")
	}
	fkw := s[:n]
	f := lookupFetch(fkw)
	if f == nil {
		if haproxyFetches[fkw] {
			return nil, "", syntaxErr("fetch method '%s' is not implemented by gproxy", fkw)
		}
		return nil, "", syntaxErr("unknown fetch method '%s'", fkw)
	}
	args, rest, _, _, err := parseArgs(s[n:], f.Args)
	if err != nil {
		return nil, "", syntaxErr("fetch method '%s' : %s", fkw, err)
	}
	if f.Check != nil && len(args) > 0 || f.Check != nil && f.Args.Min == 0 {
		if err := f.Check(args, o); err != nil {
			return nil, "", syntaxErr("invalid args in fetch method '%s' : %s", fkw, err)
		}
	}
	e := &Expr{impl: exprImpl{kw: fkw, fetch: f, args: args, out: f.Out}}
	ckw := ""
	for {
		if rest != "" && rest[0] != ',' {
			if prefix {
				break
			}
			if ckw != "" {
				return nil, "", syntaxErr("missing comma after converter '%s'", ckw)
			}
			return nil, "", syntaxErr("missing comma after fetch keyword '%s'", fkw)
		}
		rest = strings.TrimLeft(rest, ",")
		newWord := false
		if rest == "" {
			*idx++
			if *idx >= len(words) || words[*idx] == "" {
				break
			}
			rest = words[*idx]
			newWord = true
		}
		n := idLen(rest)
		ckw = rest[:n]
		c := lookupConv(ckw)
		if c == nil {
			if newWord {
				// an isolated word that is not a converter ends the expression
				rest = ""
				break
			}
			if haproxyConverters[ckw] {
				return nil, "", syntaxErr("converter '%s' is not implemented by gproxy", ckw)
			}
			return nil, "", syntaxErr("unknown converter '%s'", ckw)
		}
		if !canCast(e.impl.out, c.In) {
			return nil, "", syntaxErr("converter '%s' cannot be applied", ckw)
		}
		cargs, r, cnt, errPos, err := parseArgs(rest[n:], c.Args)
		if err != nil {
			return nil, "", syntaxErr("invalid arg %d in converter '%s' : %s", errPos+1, ckw, err)
		}
		if cnt > 0 && len(c.Args.Types) == 0 {
			return nil, "", syntaxErr("converter '%s' does not support any args", ckw)
		}
		if c.Check != nil {
			if err := c.Check(cargs, o); err != nil {
				return nil, "", syntaxErr("invalid args in converter '%s' : %s", ckw, err)
			}
		}
		rest = r
		e.impl.convs = append(e.impl.convs, convStep{def: c, args: cargs})
		e.impl.out = c.Out // TypeAny (json_query) too: any converter may follow
	}
	return e, rest, nil
}

// ArgRef is an argument naming a configuration object (backend, frontend,
// server, table, userlist). haproxy resolves these once the whole
// configuration is read (smp_resolve_args); the configuration reader does
// the same with Refs and may fill Arg.Str, e.g. with the name of the
// proxy an empty backend argument stands for.
type ArgRef struct {
	Arg     *Arg
	Pos     int    // 1-based position among the keyword's arguments
	Keyword string // the fetch or ACL keyword
	Conv    string // the converter, when the argument is a converter's
}

func isObjectArg(t ArgType) bool {
	return t == ArgFE || t == ArgBE || t == ArgSrv || t == ArgTab || t == ArgUsr
}

func (e *exprImpl) refs(out []ArgRef) []ArgRef {
	for i := range e.args {
		if isObjectArg(e.args[i].Type) {
			out = append(out, ArgRef{Arg: &e.args[i], Pos: i + 1, Keyword: e.kw})
		}
	}
	for _, c := range e.convs {
		for i := range c.args {
			if isObjectArg(c.args[i].Type) {
				out = append(out, ArgRef{Arg: &c.args[i], Pos: i + 1, Keyword: e.kw, Conv: c.def.Name})
			}
		}
	}
	return out
}

// Refs lists the expression's arguments naming configuration objects.
func (e *Expr) Refs() []ArgRef { return e.impl.refs(nil) }
