package logformat

import (
	"errors"
	"fmt"
	"strings"

	"hapair/pkg/sample"
)

// ErrSyntax is wrapped by every parse error; the message is haproxy's.
var ErrSyntax = errors.New("logformat: syntax error")

// CLFLogFormat is `option httplog clf` (configuration manual section
// 8.2.3), the Common Log Format with haproxy's fields appended.
const CLFLogFormat = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`

// Node options, haproxy's LOG_OPT_*: set with %{+Q,+X} on one variable or
// with %{+Q}o for all that follow.
const (
	optMandatory uint8 = 1 << iota // M: an empty text prints '-'
	optQuote                       // Q: text in double quotes
	optHexa                        // X: addresses, ports and counters in hex
	optEscape                      // E: '"', '\' and ']' escaped with '\'
)

var flagNames = map[string]uint8{"M": optMandatory, "Q": optQuote, "X": optHexa, "E": optEscape}

type kind uint8

const (
	kText kind = iota
	kSep       // a run of spaces in an access-log line
	kExpr      // %[sample expression]
	kVar       // %name
)

type node struct {
	kind kind
	v    varID
	opts uint8
	text string
	expr *sample.Expr
}

type formatImpl struct {
	src   string
	nodes []node
	http  bool // mode http timers and fields
	value bool // sample values %-encoded for HTTP
	exprs bool // has %[...]
	asap  bool // '+' before %B %Ta %Tt %Tu
}

type varID uint8

const (
	vGlobal varID = iota
	vB
	vCC
	vCS
	vH
	vID
	vST
	vT
	vTa
	vTc
	vTh
	vTi
	vTl
	vTq
	vTr
	vTR
	vTd
	vTs
	vTt
	vTu
	vTw
	vU
	vac
	vb
	vbc
	vbi
	vbp
	vbq
	vci
	vcp
	vf
	vfc
	vfi
	vfp
	vft
	vhr
	vhrl
	vhs
	vhsl
	vHM
	vHP
	vHPO
	vHQ
	vHU
	vHV
	vlc
	vms
	vpid
	vr
	vrc
	vrt
	vs
	vsc
	vsi
	vsp
	vsq
	vsslc
	vsslv
	vt
	vtr
	vtrg
	vtrl
	vts
	vtsc
)

type varDef struct {
	id   varID
	http bool // reserved for mode http
}

// vars is haproxy 2.6's table of log-format variables (section 8.2.4).
var vars = map[string]varDef{
	"o": {vGlobal, false}, "B": {vB, false}, "CC": {vCC, true}, "CS": {vCS, true},
	"H": {vH, false}, "ID": {vID, false}, "ST": {vST, false}, "T": {vT, false},
	"Ta": {vTa, true}, "Tc": {vTc, false}, "Th": {vTh, false}, "Ti": {vTi, true},
	"Tl": {vTl, false}, "Tq": {vTq, true}, "Tr": {vTr, true}, "TR": {vTR, true},
	"Td": {vTd, false}, "Ts": {vTs, false}, "Tt": {vTt, false}, "Tu": {vTu, false},
	"Tw": {vTw, false}, "U": {vU, false}, "ac": {vac, false}, "b": {vb, false},
	"bc": {vbc, false}, "bi": {vbi, false}, "bp": {vbp, false}, "bq": {vbq, false},
	"ci": {vci, false}, "cp": {vcp, false}, "f": {vf, false}, "fc": {vfc, false},
	"fi": {vfi, false}, "fp": {vfp, false}, "ft": {vft, false}, "hr": {vhr, false},
	"hrl": {vhrl, false}, "hs": {vhs, false}, "hsl": {vhsl, false}, "HM": {vHM, true},
	"HP": {vHP, true}, "HPO": {vHPO, true}, "HQ": {vHQ, true}, "HU": {vHU, true},
	"HV": {vHV, true}, "lc": {vlc, false}, "ms": {vms, false}, "pid": {vpid, false},
	"r": {vr, true}, "rc": {vrc, false}, "rt": {vrt, false}, "s": {vs, false},
	"sc": {vsc, false}, "si": {vsi, false}, "sp": {vsp, false}, "sq": {vsq, false},
	"sslc": {vsslc, false}, "sslv": {vsslv, false}, "t": {vt, false}, "tr": {vtr, true},
	"trg": {vtrg, true}, "trl": {vtrl, true}, "ts": {vts, false}, "tsc": {vtsc, false},
}

func errf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, a...)...)
}

// Message returns the text of a parse error without the package prefix,
// as haproxy prints it after "failed to parse log-format : ".
func Message(err error) string {
	s := err.Error()
	p := ErrSyntax.Error() + ": "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isIDChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == ':'
}

// parse reads the string as haproxy's parse_logformat_string does: text,
// spaces (separators in a log line), %var, %{flags}var, %[expr],
// %{flags}[expr], "%%" for a literal '%'. A '%' followed by any other
// non-letter is dropped.
func parse(s string, o Options) (*Format, error) {
	f := &Format{impl: formatImpl{src: s, http: o.HTTP, value: o.Value, asap: o.ASAP}}
	var defOpts uint8
	if o.Log {
		defOpts = optMandatory
	}
	nodes := []node{}
	addText := func(t string) {
		if t == "" {
			return
		}
		if n := len(nodes); n > 0 && nodes[n-1].kind == kText {
			nodes[n-1].text += t
			return
		}
		nodes = append(nodes, node{kind: kText, text: t})
	}
	i := 0
	text := 0 // start of the pending text
	for i < len(s) {
		c := s[i]
		if c == ' ' && (o.Log || o.Merge) {
			addText(s[text:i])
			nodes = append(nodes, node{kind: kSep})
			i++
			text = i
			continue
		}
		if c != '%' {
			i++
			continue
		}
		addText(s[text:i])
		i++ // past '%'
		if i >= len(s) {
			return nil, errf("truncated line after '%%'")
		}
		c = s[i]
		var arg string
		hasArg := false
		switch {
		case c == '%':
			text = i // the second '%' starts literal text
			i++
			continue
		case isDigit(c) || c == ' ' || c == '\t':
			return nil, errf("unexpected variable name near '%c' at position %d line : '%s'. Maybe you want to write a single '%%', use the syntax '%%%%'", c, i, s)
		case c == '{':
			end := -1
			for j := i + 1; j < len(s); j++ {
				if s[j] == '}' {
					end = j
					break
				}
			}
			if end < 0 {
				return nil, errf("truncated line after '%s'", s[i+1:])
			}
			arg, hasArg = s[i+1:end], true
			i = end + 1
			if i >= len(s) || (s[i] != '[' && !isAlnum(s[i])) {
				return nil, errf("parse argument modifier without variable name near '%%{%s}'", arg)
			}
		case c != '[' && !isAlpha(c):
			// Another character after '%': the '%' is dropped and the
			// character starts literal text.
			text = i
			continue
		}
		opts := defOpts
		if hasArg {
			opts = applyFlags(opts, arg)
		}
		if s[i] == '[' {
			n, next, err := parseExpr(s, i+1, o, opts)
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
			f.impl.exprs = true
			i = next
			text = i
			continue
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		name := s[i:j]
		d, ok := vars[name]
		if !ok {
			return nil, errf("no such format variable '%s'. If you wanted to emit the '%%' character verbatim, you need to use '%%%%'", name)
		}
		if d.http && !o.HTTP {
			return nil, errf("format variable '%s' is reserved for HTTP mode", name)
		}
		if d.id == vGlobal {
			defOpts = opts
		} else {
			nodes = append(nodes, node{kind: kVar, v: d.id, opts: opts})
		}
		i = j
		text = i
	}
	addText(s[text:])
	f.impl.nodes = nodes
	return f, nil
}

// applyFlags applies "+Q,-X,..." as haproxy's parse_logformat_var_args:
// each comma-separated word is a sign and a flag name; the last sign seen
// in a word decides; unknown names are ignored.
func applyFlags(opts uint8, arg string) uint8 {
	sign := 0
	start := -1
	for k := 0; k <= len(arg); k++ {
		if k == len(arg) || arg[k] == ',' {
			if start >= 0 {
				if m, ok := flagNames[arg[start:k]]; ok {
					if sign == 1 {
						opts |= m
					} else {
						opts &^= m
					}
				}
			}
			start = -1
			continue
		}
		switch arg[k] {
		case '+':
			sign, start = 1, k+1
		case '-':
			sign, start = 2, k+1
		}
	}
	return opts
}

// exprEnd returns the index of the first byte after the sample expression
// starting at i: fetch and converters are identifier characters, each
// optionally followed by "(args)" (quotes and backslashes protect a ')'),
// chained with commas; as haproxy's sample_parse_expr stops.
func exprEnd(s string, i int) int {
	for {
		for i < len(s) && isIDChar(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '(' {
			i++
			var quote byte
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					i += 2
					continue
				}
				if quote != 0 {
					if c == quote {
						quote = 0
					}
				} else if c == '"' || c == '\'' {
					quote = c
				} else if c == ')' {
					break
				}
				i++
			}
			if i < len(s) {
				i++ // past ')'
			}
		}
		if i < len(s) && s[i] == ',' {
			for i < len(s) && s[i] == ',' {
				i++
			}
			continue
		}
		return i
	}
}

func parseExpr(s string, start int, o Options, opts uint8) (node, int, error) {
	end := exprEnd(s, start)
	e, err := sample.ParseExpr(s[start:end], o.Sample)
	if err != nil {
		msg := err.Error()
		if p := sample.ErrSyntax.Error() + ": "; len(msg) > len(p) && msg[:len(p)] == p {
			msg = msg[len(p):]
		}
		return node{}, 0, errf("failed to parse sample expression <%s> : %s", s[start:], msg)
	}
	name := s[start:end]
	for k := 0; k < len(name); k++ {
		if !isIDChar(name[k]) {
			name = name[:k]
			break
		}
	}
	need := unavailable(name, o)
	if len(o.At) > 0 && need == "" {
		if n, ok := e.NeedsAny(o.At...); !ok {
			need = n
		}
	}
	if need != "" {
		return node{}, 0, errf("sample fetch <%s> may not be reliably used here because it needs '%s' which is not available here", s[start:], need)
	}
	if end >= len(s) {
		return node{}, 0, errf("missing ']' after '%s'", s[start:end])
	}
	if s[end] != ']' {
		if c := s[end]; c >= 32 && c < 127 {
			return node{}, 0, errf("expected ']' after '%s', but found '%c'", s[start:end], c)
		}
		return node{}, 0, errf("missing ']' after '%s'", s[start:end])
	}
	return node{kind: kExpr, expr: e, opts: opts, text: s[start:end]}, end + 1, nil
}

// unavailable names what a fetch needs that is gone where the format is
// evaluated, as haproxy's sample capabilities say (an access log is
// written after the stream, without its buffers or HTTP headers; a unique
// id is made before the response); "" when the fetch may be used.
func unavailable(fetch string, o Options) string {
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(fetch, p) {
				return true
			}
		}
		return false
	}
	var need string
	switch {
	case fetch == "method" || fetch == "status" || has("capture."):
		return ""
	case has("req.len", "req_len", "req.payload", "payload", "req.ssl_", "req_ssl_", "req.rdp_cookie", "rdp_cookie", "req.proto_http", "req_proto_http"):
		need = "request buffer"
	case has("res.len", "res.payload", "res.ssl_", "rep_ssl_"):
		need = "response buffer"
	case has("res.", "shdr", "scook", "set-cookie", "resp_ver"):
		need = "HTTP response headers"
	case has("req.", "hdr", "fhdr", "cook", "path", "base", "url", "query", "http_auth", "urlp", "req_ver", "http_first_req"):
		need = "HTTP request headers"
	default:
		return ""
	}
	if o.Log {
		return need
	}
	if o.Value && o.Merge && (need == "HTTP response headers" || need == "response buffer") {
		return need // unique-id-format
	}
	return ""
}
