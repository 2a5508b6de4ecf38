package haproxycfg

import (
	"fmt"
	"strconv"
	"strings"
)

// Conditional blocks (configuration manual section 2.4): .if/.elif/.else/
// .endif, and the .diag/.notice/.warning/.alert messages.

// haproxyVersion is the version the conditions compare against: the one
// gproxy stands in for.
const haproxyVersion = "2.6.12"

// features are the build features `feature(NAME)` reports: the "+" ones
// of Debian's haproxy 2.6.12 ("Feature list" in `haproxy -vv`).
var features = map[string]bool{
	"ACCEPT4": true, "BACKTRACE": true, "CPU_AFFINITY": true, "CRYPT_H": true,
	"DL": true, "EPOLL": true, "GETADDRINFO": true, "LIBCRYPT": true,
	"LINUX_SPLICE": true, "LINUX_TPROXY": true, "LUA": true, "NETFILTER": true,
	"NS": true, "OPENSSL": true, "OT": true, "PCRE2": true, "PCRE2_JIT": true,
	"POLL": true, "PRCTL": true, "PROMEX": true, "RT": true, "SLZ": true,
	"SYSTEMD": true, "TFO": true, "THREAD": true, "THREAD_DUMP": true, "TPROXY": true,
}

// opensslVersionNumber is OPENSSL_VERSION_NUMBER of the OpenSSL Debian's
// haproxy 2.6.12 is built with (3.0.22, OpenSSL 3 layout MNN00PP0).
const opensslVersionNumber = 0x30000160

// opensslVersionValue encodes "M.N.F[letters|-betaN]" in the OpenSSL 1.x
// layout MNNFFPPS, as haproxy's openssl_version_* predicates do; against
// an OpenSSL 3 number this makes "3.0.1" newer than 3.0.22 (haproxy's own
// quirk, reproduced). It returns 0 for an unparsable version.
func opensslVersionValue(v string) uint32 {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) != 3 {
		return 0
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || major < 0 || major > 0xf || minor < 0 || minor > 0xff {
		return 0
	}
	i := 0
	for i < len(parts[2]) && parts[2][i] >= '0' && parts[2][i] <= '9' {
		i++
	}
	fix, _ := strconv.Atoi(parts[2][:i])
	if fix > 0xff {
		return 0
	}
	rest := parts[2][i:]
	var patch, status uint32
	switch {
	case rest == "":
		status = 0xf
	case rest[0] == '-':
		if b, ok := strings.CutPrefix(rest[1:], "beta"); ok {
			n, _ := strconv.Atoi(b)
			if n > 14 {
				return 0
			}
			status = uint32(n)
		}
	default:
		patch = 1
		for j := 0; j < len(rest); j++ {
			patch += uint32(rest[j]&^0x20) - 'A'
		}
		status = 0xf
	}
	return uint32(major)<<28 | uint32(minor)<<20 | uint32(fix)<<12 | (patch&0xff)<<4 | status
}

// maxNestedConds is haproxy's MAXNESTEDCONDS.
const maxNestedConds = 100

type condFrame struct {
	line       int
	parentOn   bool // whether the enclosing block is active
	taken      bool // whether a branch of this block was already taken
	on         bool // whether the current branch is active
	seenElse   bool
	terminated bool
}

func (p *parser) condActive() bool {
	if len(p.cond) == 0 {
		return true
	}
	return p.cond[len(p.cond)-1].on
}

// directive handles a line starting with '.'; it reports whether the line
// was a directive (otherwise it is an ordinary keyword such as ".foo" that
// must be reported as unknown by the caller).
func (p *parser) directive(args []string) bool {
	kw := args[0]
	expr := strings.Join(args[1:], " ")
	switch kw {
	case ".if":
		if len(p.cond)+1 >= maxNestedConds {
			p.diag(Alert, LocParsingTight, kw, "too many nested '.if', max is %d.", maxNestedConds)
			p.abort = true
			return true
		}
		on := false
		parent := p.condActive()
		if parent {
			on = p.evalCond(kw, expr)
		}
		p.cond = append(p.cond, condFrame{line: p.line, parentOn: parent, taken: on, on: on && parent})
	case ".elif":
		if len(p.cond) == 0 {
			p.diag(Alert, LocParsingTight, kw, "lone '.elif' with no matching '.if'.")
			return true
		}
		f := &p.cond[len(p.cond)-1]
		if f.seenElse {
			p.diag(Alert, LocParsingTight, kw, "'.elif' after '.else' is not permitted.")
			return true
		}
		if f.taken || !f.parentOn {
			f.on = false
			return true
		}
		f.on = p.evalCond(kw, expr)
		f.taken = f.on
	case ".else":
		if len(p.cond) == 0 {
			p.diag(Alert, LocParsingTight, kw, "lone '.else' with no matching '.if'.")
			return true
		}
		f := &p.cond[len(p.cond)-1]
		if f.seenElse {
			p.diag(Alert, LocParsingTight, kw, "'.else' after '.else' is not permitted.")
			return true
		}
		f.seenElse = true
		f.on = f.parentOn && !f.taken
		f.taken = true
	case ".endif":
		if len(p.cond) == 0 {
			p.diag(Alert, LocParsingTight, kw, "lone '.endif' with no matching '.if'.")
			return true
		}
		p.cond = p.cond[:len(p.cond)-1]
	case ".diag":
		// Only shown by haproxy -dD; nothing to report.
	case ".notice", ".warning", ".alert":
		if !p.condActive() {
			return true
		}
		if len(args) > 2 {
			p.diag(Alert, LocParsingTight, kw, "Unexpected argument '%s' for '%s'. Use quotes if the message should contain spaces.", args[2], kw)
			return true
		}
		sev := map[string]Severity{".notice": Notice, ".warning": Warning, ".alert": Alert}[kw]
		p.diag(sev, LocParsingTight, kw, "'%s'.", expr)
	default:
		if !p.condActive() {
			return true
		}
		p.diag(Alert, LocParsingTight, kw, "unknown directive '%s'.", kw)
	}
	return true
}

// evalCond evaluates a condition, reporting errors the way haproxy does
// (with the expression echoed and a caret under the faulty position).
func (p *parser) evalCond(kw, expr string) bool {
	e := &condEval{s: expr, env: p.env}
	v := e.or()
	if e.err == "" {
		e.skip()
		if e.i < len(e.s) {
			e.fail(e.i, "unparsable conditional expression '"+e.s[e.i:]+"'")
		}
	}
	if e.err != "" {
		line := kw + " " + expr
		p.diag(Alert, LocParsingTight, kw, "%s in '%s' at position %d:\n  %s\n  %*s",
			e.err, kw, e.errAt+1, sanitize(line), len(kw)+1+e.errAt+1, "^")
		return false
	}
	return v
}

type condEval struct {
	env   envFunc
	s     string
	i     int
	err   string
	errAt int
}

func (e *condEval) fail(at int, msg string) {
	if e.err == "" {
		e.err, e.errAt = msg, at
	}
}

func (e *condEval) skip() {
	for e.i < len(e.s) && isSpace(e.s[e.i]) {
		e.i++
	}
}

func (e *condEval) or() bool {
	v := e.and()
	for e.err == "" {
		e.skip()
		if !strings.HasPrefix(e.s[e.i:], "||") {
			return v
		}
		e.i += 2
		w := e.and()
		v = v || w
	}
	return v
}

func (e *condEval) and() bool {
	v := e.term()
	for e.err == "" {
		e.skip()
		if !strings.HasPrefix(e.s[e.i:], "&&") {
			return v
		}
		e.i += 2
		w := e.term()
		v = v && w
	}
	return v
}

func (e *condEval) term() bool {
	e.skip()
	if e.i >= len(e.s) {
		return false
	}
	switch e.s[e.i] {
	case '!':
		e.i++
		return !e.term()
	case '(':
		e.i++
		v := e.or()
		e.skip()
		if e.i >= len(e.s) || e.s[e.i] != ')' {
			e.fail(e.i, "expected ')' in conditional expression")
			return false
		}
		e.i++
		return v
	}
	start := e.i
	for e.i < len(e.s) && (isAlnum(e.s[e.i]) || e.s[e.i] == '_' || e.s[e.i] == '-') {
		e.i++
	}
	word := e.s[start:e.i]
	if e.i < len(e.s) && e.s[e.i] == '(' {
		return e.predicate(start, word)
	}
	if n, err := strconv.Atoi(word); err == nil && word != "" {
		return n != 0
	}
	e.fail(start, "unparsable conditional expression '"+e.s[start:]+"'")
	return false
}

func (e *condEval) predicate(start int, name string) bool {
	nargs := map[string]int{
		"defined": 1, "feature": 1, "streq": 2, "strneq": 2,
		"version_atleast": 1, "version_before": 1,
		"openssl_version_atleast": 1, "openssl_version_before": 1,
		"ssllib_name_startswith": 1,
	}
	n, ok := nargs[name]
	if !ok {
		e.fail(start, "unparsable conditional expression '"+e.s[start:]+"'")
		return false
	}
	e.i++ // '('
	var args []string
	for k := 0; k < n; k++ {
		a := e.i
		for e.i < len(e.s) && e.s[e.i] != ',' && e.s[e.i] != ')' {
			e.i++
		}
		args = append(args, e.s[a:e.i])
		want := byte(',')
		if k == n-1 {
			want = ')'
		}
		if e.i >= len(e.s) || e.s[e.i] != want {
			e.fail(e.i, "expected '"+string(want)+"' in argument "+strconv.Itoa(k+1)+
				" of predicate '"+name+"' used in conditional expression")
			return false
		}
		e.i++
	}
	switch name {
	case "defined":
		_, ok := e.env(args[0])
		return ok
	case "feature":
		return features[args[0]]
	case "streq":
		return args[0] == args[1]
	case "strneq":
		return args[0] != args[1]
	case "version_atleast":
		return compareVersions(haproxyVersion, args[0]) >= 0
	case "version_before":
		return compareVersions(haproxyVersion, args[0]) < 0
	case "openssl_version_atleast":
		v := opensslVersionValue(args[0])
		return v != 0 && v <= opensslVersionNumber
	case "openssl_version_before":
		v := opensslVersionValue(args[0])
		return v != 0 && v > opensslVersionNumber
	case "ssllib_name_startswith":
		return strings.HasPrefix("OpenSSL", args[0])
	}
	return false
}

// compareVersions compares dotted numeric versions ("2.6.12" vs "2.6").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// HAProxyVersion is the haproxy version gproxy stands in for, as the
// conditions of `.if` and `-cc` compare against it.
const HAProxyVersion = haproxyVersion

// FeatureList is the "Feature list" line of `haproxy -vv` for the build
// gproxy stands in for (Debian's 2.6.12): "+NAME" for what `feature(NAME)`
// reports true, "-NAME" for the rest haproxy 2.6 lists.
func FeatureList() string {
	all := []string{"51DEGREES", "ACCEPT4", "BACKTRACE", "CLOSEFROM", "CPU_AFFINITY", "CRYPT_H",
		"DEVICEATLAS", "DL", "ENGINE", "EPOLL", "EVPORTS", "GETADDRINFO", "KQUEUE", "LIBCRYPT",
		"LINUX_SPLICE", "LINUX_TPROXY", "LUA", "MEMORY_PROFILING", "NETFILTER", "NS",
		"OBSOLETE_LINKER", "OPENSSL", "OT", "PCRE", "PCRE2", "PCRE2_JIT", "PCRE_JIT", "POLL",
		"PRCTL", "PROCCTL", "PROMEX", "QUIC", "RT", "SLZ", "STATIC_PCRE", "STATIC_PCRE2",
		"SYSTEMD", "TFO", "THREAD", "THREAD_DUMP", "TPROXY", "WURFL", "ZLIB"}
	var b strings.Builder
	for i, f := range all {
		if i > 0 {
			b.WriteByte(' ')
		}
		if features[f] {
			b.WriteByte('+')
		} else {
			b.WriteByte('-')
		}
		b.WriteString(f)
	}
	return b.String()
}

// EvalCondition evaluates a condition as `haproxy -cc EXPR` does (the
// syntax of `.if`), with environment variables from env (nil: none). An
// unparsable expression is an error naming the position.
func EvalCondition(expr string, env func(string) (string, bool)) (bool, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	// As haproxy, the argument is first split as a configuration line
	// (quotes, escapes, "$VAR"), its words joined again by spaces.
	res, lerr := tokenize(expr, env)
	if lerr != nil {
		if strings.Contains(lerr.What, "quote") {
			return false, fmt.Errorf("Syntax Error in condition: Unmatched quote.")
		}
		return false, fmt.Errorf("Syntax Error in condition: %s.", lerr.What)
	}
	expr = strings.Join(res.Args, " ")
	e := &condEval{s: expr, env: env}
	v := e.or()
	if e.err == "" {
		e.skip()
		if e.i < len(e.s) {
			e.fail(e.i, "unparsable conditional expression '"+e.s[e.i:]+"'")
		}
	}
	if e.err != "" {
		return false, fmt.Errorf("%s at position %d", e.err, e.errAt+1)
	}
	return v, nil
}
