package haproxycfg

import (
	"errors"
	"fmt"
	"strings"

	"hapair/pkg/sample"
)

// The environment keywords of the global section (configuration manual
// section 3.1, "setenv", "presetenv", "unsetenv") and the process-wide
// variables set there ("set-var", "set-var-fmt").
//
// haproxy changes its own environment while it reads the file, so that
// the lines after see the change in "${NAME}"; parsing stays pure here:
// the changes go to an overlay the parser's lookups read first, and to
// Global.Env, which the daemon applies to its environment once the
// configuration is loaded (env() then sees them, and child processes).

// EnvOp is one setenv, presetenv, unsetenv or resetenv line.
type EnvOp struct {
	Op    string // "setenv", "presetenv", "unsetenv" or "resetenv"
	Name  string
	Value string `json:",omitempty"`
	// Keep are the names resetenv keeps; it unsets every other.
	Keep []string `json:",omitempty"`
}

// envVal is an overlay entry: a value, or unset.
type envVal struct {
	v   string
	set bool
}

// lookupOverlay is the parser's environment: the overlay, else the base.
func (p *parser) lookupOverlay(name string, base func(string) (string, bool)) (string, bool) {
	if o, ok := p.envOver[name]; ok {
		return o.v, o.set
	}
	if p.envReset {
		return "", false
	}
	return base(name)
}

// resetEnv is `resetenv [NAME...]`: every variable but the names given
// is unset (haproxy walks its environment and unsets the others).
func (p *parser) resetEnv(args []string) {
	var keep []string
	over := map[string]envVal{}
	for _, n := range args[1:] {
		if n == "" {
			break // haproxy stops at the first empty word
		}
		keep = append(keep, n)
		if v, set := p.env(n); set {
			over[n] = envVal{v: v, set: true}
		}
	}
	p.envOver, p.envReset = over, true
	p.cfg.Global.Env = append(p.cfg.Global.Env, EnvOp{Op: "resetenv", Keep: keep})
}

// validEnvName is what setenv(3) and unsetenv(3) accept.
func validEnvName(n string) bool { return n != "" && !strings.Contains(n, "=") }

// envKeyword is setenv, presetenv and unsetenv.
func (p *parser) envKeyword(args []string) {
	kw := args[0]
	g := &p.cfg.Global
	if p.envOver == nil {
		p.envOver = map[string]envVal{}
	}
	if kw == "unsetenv" {
		if argAt(args, 1) == "" {
			p.diag(Alert, LocParsingTight, kw, "'%s' expects at least one variable name.", kw)
			return
		}
		for _, n := range args[1:] {
			if n == "" {
				break // haproxy stops at the first empty word
			}
			if !validEnvName(n) {
				p.diag(Alert, LocParsingTight, kw, "'%s' failed on variable '%s' : Invalid argument.", kw, n)
				return
			}
			p.envOver[n] = envVal{}
			g.Env = append(g.Env, EnvOp{Op: kw, Name: n})
		}
		return
	}
	if p.tooMany(args, 3) {
		return
	}
	name, val := argAt(args, 1), argAt(args, 2)
	if val == "" {
		p.diag(Alert, LocParsingTight, kw, "'%s' expects a name and a value.", kw)
		return
	}
	if !validEnvName(name) {
		p.diag(Alert, LocParsingTight, kw, "'%s' failed on variable '%s' : Invalid argument.", kw, name)
		return
	}
	if kw == "presetenv" {
		if _, set := p.env(name); set {
			return
		}
	}
	p.envOver[name] = envVal{v: val, set: true}
	g.Env = append(g.Env, EnvOp{Op: kw, Name: name, Value: val})
}

// parserEnv answers env() while the global section is read: the
// environment as the lines so far changed it.
type parserEnv struct {
	sample.Env
	p *parser
}

// LookupEnv is env()'s source (sample checks for it).
func (e parserEnv) LookupEnv(name string) (string, bool) { return e.p.env(name) }

// globalSetVar is `set-var proc.NAME EXPR` and `set-var-fmt proc.NAME
// FMT`: evaluated once, while parsing, with only the fetches the
// configuration parser has (constants, env()...).
func (p *parser) globalSetVar(args []string) {
	kw := args[0]
	if argAt(args, 1) == "" || argAt(args, 2) == "" {
		what := "a sample expression"
		if kw == "set-var-fmt" {
			what = "a format string"
		}
		p.alert(kw, "'%s' requires a process-wide variable name ('proc.<name>') and %s.", kw, what)
		return
	}
	name, conds, _ := strings.Cut(args[1], ",")
	var cond sample.VarCond
	if conds != "" {
		for _, c := range strings.Split(conds, ",") {
			if c == "" {
				break // haproxy stops at an empty condition
			}
			if err := sample.ParseVarCond(&cond, c); err != nil {
				p.alert(kw, "%s", err)
				return
			}
		}
	}
	scope, _, _ := strings.Cut(name, ".")
	switch scope {
	case "proc", "sess", "txn", "req", "res":
	default:
		p.alert(kw, "invalid variable name '%s'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'", name)
		return
	}
	if scope != "proc" {
		p.alert(kw, "'%s': cannot set variable '%s', only scope 'proc' is permitted in the global section.", kw, name)
		return
	}
	v, set, err := p.procVarValue(name, args[2], kw == "set-var-fmt", p.cfg.Global.Vars)
	if err != nil {
		p.alert(kw, "%s", err)
		return
	}
	if !set {
		return
	}
	if p.cfg.Global.Vars == nil {
		p.cfg.Global.Vars = map[string]sample.Value{}
	}
	t := sample.Txn{Vars: p.cfg.Global.Vars}
	t.SetVar(name, v, cond)
}

// procVarValue evaluates the value of `set-var NAME EXPR` or `set-var-fmt
// NAME FMT` (format) where only the configuration parser's fetches work
// (constants, env(), var() of the process variables in vars); set is
// false when the expression gives no sample.
func (p *parser) procVarValue(name, text string, format bool, vars map[string]sample.Value) (v sample.Value, set bool, err error) {
	t := &sample.Txn{Env: parserEnv{p: p}, Vars: vars}
	if format {
		p.textAt = []sample.Checkpoint{sample.AtConfigParser}
		f, err := p.text(text)
		p.textAt = nil
		if err != nil {
			return v, false, errors.New(condError(err))
		}
		v = sample.Value{Type: sample.TypeStr, Str: f.Raw}
		if f.Format != nil {
			v.Str = string(f.Format.Append(nil, t, nil))
		}
		return v, true, nil
	}
	e, err := sample.ParseExpr(text, p.sampleOptions())
	if err != nil {
		return v, false, errors.New(condError(err))
	}
	if needs, ok := e.Needs(sample.AtConfigParser); !ok {
		return v, false, fmt.Errorf("fetch method 'set-var(%s)' extracts information from '%s', none of which is available here", name, needs)
	}
	v, set = e.Eval(t)
	return v, set, nil
}

// CLISetVar evaluates the stats socket's `set var NAME [expr|fmt] TEXT`
// (format: fmt) as haproxy 2.6 does, against the process variables vars:
// the value to store (set false when the expression gave no sample), or
// the error the socket prints.
func CLISetVar(name, text string, format bool, vars map[string]sample.Value) (v sample.Value, set bool, err error) {
	scope, _, _ := strings.Cut(name, ".")
	switch scope {
	case "proc", "sess", "txn", "req", "res":
	default:
		return v, false, fmt.Errorf("invalid variable name '%s'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'", name)
	}
	if strings.Contains(name, ",") {
		return v, false, fmt.Errorf("conditions on the variable ('%s') are not implemented by gproxy", name)
	}
	p := newParser(ParseOptions{})
	p.file = "CLI"
	if v, set, err = p.procVarValue(name, text, format, vars); err != nil {
		return v, false, err
	}
	if scope != "proc" {
		return v, false, fmt.Errorf("'set var': cannot set variable '%s', only scope 'proc' is permitted here.", name)
	}
	return v, set, nil
}
