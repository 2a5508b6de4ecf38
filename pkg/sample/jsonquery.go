package sample

import (
	"math"
	"strconv"
	"strings"
)

// The json_query converter (configuration manual 7.3.1). haproxy 2.6 runs
// it with the mjson library: a one-pass tokenizer calling back on each
// token, and a path matcher ("$", ".key", "[N]") following the callbacks.
// Both are reproduced here with their quirks, since what a query finds in
// malformed or unusual JSON is what users see: the scan stops at the first
// match (garbage after it does not matter), a trailing comma is accepted
// before ']', "[N]" is read as one digit wide, numbers are read the way
// mjson reads them, and the integer output goes through strtoll(base 0).

// mjson token kinds; structural tokens are the character itself.
const (
	jtInvalid = 0
	jtKey     = 1
	jtString  = 11
	jtNumber  = 12
	jtTrue    = 13
	jtFalse   = 14
	jtNull    = 15
	jtArray   = '['
	jtObject  = '{'

	jsonMaxDepth = 20        // MJSON_MAX_DEPTH
	jsonIntMax   = 1<<53 - 1 // RFC 7159's interoperable integers
)

func jtIsValue(t int) bool { return t > 10 && t < 20 }

// at is s[i], or 0 past its end (C's terminating NUL).
func at(s string, i int) byte {
	if i >= 0 && i < len(s) {
		return s[i]
	}
	return 0
}

// jsonEscaped reports whether c is a character mjson accepts escaped by
// a backslash while skipping a string: the control characters it knows,
// the backslash and the quote (not their letters).
func jsonEscaped(c byte) bool { return strings.IndexByte("\b\f\n\r\t\\\"", c) >= 0 && c != 0 }

// jsonSkipString is the offset of the closing quote in s (which starts
// after the opening one), or -1 for an unterminated string or a NUL.
func jsonSkipString(s string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && jsonEscaped(s[i+1]):
			i++
		case s[i] == 0:
			return -1
		case s[i] == '"':
			return i
		}
	}
	return -1
}

// jsonNumber is mjson's number reader on s: the value and how many bytes
// it took (0 when none).
func jsonNumber(s string) (float64, int) {
	d, sign, p, end := 0.0, 1.0, 0, 0
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	switch at(s, p) {
	case '-':
		sign = -1
		p++
	case '+':
		p++
	}
	if isDigit(at(s, p)) {
		for isDigit(at(s, p)) {
			d = d*10 + float64(s[p]-'0')
			p++
		}
		end = p
	} else if at(s, p) != '.' {
		return d, end
	}
	d *= sign
	if at(s, p) == '.' {
		f, base := 0.0, 0.1
		p++
		for isDigit(at(s, p)) {
			f += base * float64(s[p]-'0')
			base /= 10
			p++
		}
		d += f * sign
		end = p
	}
	if c := at(s, p); c == 'e' || c == 'E' {
		p++
		e, neg := 0, false
		if at(s, p) == '-' {
			p++
			neg = true
		}
		if at(s, p) == '+' {
			p++
		}
		for isDigit(at(s, p)) && e < 1<<20 {
			e = e*10 + int(s[p]-'0')
			p++
		}
		for isDigit(at(s, p)) {
			p++ // an exponent this large only saturates
		}
		if neg {
			e = -e
		}
		for i := 0; i < e && !math.IsInf(d, 0); i++ {
			d *= 10
		}
		for i := 0; i < -e && d != 0; i++ {
			d /= 10
		}
		end = p
	} else if p > 0 && !isDigit(s[p-1]) {
		return d, 0
	}
	return d, end
}

// jsonFind is mjson_find: the kind of the value at path in s, and its
// offset and length in s.
func jsonFind(s, path string) (tok, off, size int) {
	if at(path, 0) != '$' {
		return jtInvalid, 0, 0
	}
	m := jsonMatcher{path: path, pos: 1, obj: -1}
	if jsonScan(s, m.token) < 0 {
		return jtInvalid, 0, 0
	}
	return m.tok, m.off, m.size
}

// jsonScan tokenizes s, calling cb with each token's kind, offset and
// length until cb returns true; it returns a negative number when s is
// not valid JSON before that.
func jsonScan(s string, cb func(tok int, s string, off, n int) bool) int {
	const (
		expValue = iota
		expKey
		expColon
		expCommaOrEnd
	)
	expecting := expValue
	var nesting [jsonMaxDepth]byte
	depth := 0
	for i := 0; i < len(s); i++ {
		start := i
		c := s[i]
		tok := int(c)
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		// closes ends an object or array; done: the outermost one ended.
		closes := func() (ok, done bool) {
			if c != nesting[depth-1]+2 { // '['+2 == ']', '{'+2 == '}'
				return false, false
			}
			depth--
			return true, depth == 0
		}
		switch expecting {
		case expValue:
			switch {
			case c == '{' || c == '[':
				if depth >= len(nesting) {
					return -2
				}
				nesting[depth] = c
				depth++
				if c == '{' {
					expecting = expKey
				}
				if cb(tok, s, start, i-start+1) {
					return i + 1
				}
				continue
			case c == ']' && depth > 0:
				ok, done := closes()
				if !ok {
					return -1
				}
				if done {
					cb(tok, s, start, i-start+1)
					return i + 1
				}
			case c == 't' && i+3 < len(s) && s[i:i+4] == "true":
				i += 3
				tok = jtTrue
			case c == 'n' && i+3 < len(s) && s[i:i+4] == "null":
				i += 3
				tok = jtNull
			case c == 'f' && i+4 < len(s) && s[i:i+5] == "false":
				i += 4
				tok = jtFalse
			case c == '-' || (c >= '0' && c <= '9'):
				_, n := jsonNumber(s[i:])
				i += n - 1
				tok = jtNumber
			case c == '"':
				n := jsonSkipString(s[i+1:])
				if n < 0 {
					return -1
				}
				i += n + 1
				tok = jtString
			default:
				return -1
			}
			if depth == 0 {
				cb(tok, s, start, i-start+1)
				return i + 1
			}
			expecting = expCommaOrEnd
		case expKey:
			switch c {
			case '"':
				n := jsonSkipString(s[i+1:])
				if n < 0 {
					return -1
				}
				i += n + 1
				tok = jtKey
				expecting = expColon
			case '}':
				ok, done := closes()
				if !ok {
					return -1
				}
				if done {
					cb(tok, s, start, i-start+1)
					return i + 1
				}
				expecting = expCommaOrEnd
			default:
				return -1
			}
		case expColon:
			if c != ':' {
				return -1
			}
			expecting = expValue
		case expCommaOrEnd:
			if depth <= 0 {
				return -1
			}
			switch c {
			case ',':
				if nesting[depth-1] == '{' {
					expecting = expKey
				} else {
					expecting = expValue
				}
			case ']', '}':
				ok, done := closes()
				if !ok {
					return -1
				}
				if done {
					cb(tok, s, start, i-start+1)
					return i + 1
				}
			default:
				return -1
			}
		}
		if cb(tok, s, start, i-start+1) {
			return i + 1
		}
	}
	return -1
}

// jsonMatcher follows the tokens along a path (mjson's get callback).
type jsonMatcher struct {
	path           string
	pos            int // where the path is read
	d1, d2         int // depth of the scan, depth the path reached
	i1, i2         int // element index in the array, index wanted
	obj            int // offset of the object or array the path ends at
	tok, off, size int // what was found
}

// keyLen is how many characters the path's next key has (an escaped
// one counting once), and how many bytes it takes.
func keyLen(p string) (chars, bytes int) {
	for i := 0; at(p, i) != 0 && at(p, i) != '.' && at(p, i) != '['; chars++ {
		if p[i] == '\\' {
			i += 2
		} else {
			i++
		}
		bytes = i
	}
	return chars, bytes
}

// keyEqual compares n bytes of a JSON key with the path's key, whose
// backslashes escape the next character.
func keyEqual(key, p string, n int) bool {
	for i, j := 0, 0; j < n; i, j = i+1, j+1 {
		if at(p, i) == '\\' {
			i++
		}
		if at(key, j) != at(p, i) {
			return false
		}
	}
	return true
}

func (m *jsonMatcher) token(tok int, s string, off, n int) bool {
	if m.tok != jtInvalid {
		return true
	}
	switch {
	case tok == '{':
		if at(m.path, m.pos) == 0 && m.d1 == m.d2 {
			m.obj = off
		}
		m.d1++
	case tok == '[':
		if m.d1 == m.d2 && at(m.path, m.pos) == '[' {
			m.i1 = 0
			idx, _ := jsonNumber(m.path[m.pos+1:])
			m.i2 = int(idx)
			if m.i1 == m.i2 {
				m.d2++
				m.pos += 3
			}
		}
		if at(m.path, m.pos) == 0 && m.d1 == m.d2 {
			m.obj = off
		}
		m.d1++
	case tok == ',':
		if m.d1 == m.d2+1 {
			m.i1++
			if m.i1 == m.i2 {
				for m.pos < len(m.path) && m.path[m.pos] != ']' {
					m.pos++
				}
				m.pos++
				m.d2++
			}
		}
	case tok == jtKey && m.d1 == m.d2+1 && at(m.path, m.pos) == '.' && at(s, off) == '"' && at(s, off+n-1) == '"' &&
		func() bool { c, _ := keyLen(m.path[m.pos+1:]); return c == n-2 }() &&
		keyEqual(s[off+1:], m.path[m.pos+1:], n-2):
		_, b := keyLen(m.path[m.pos+1:])
		m.d2++
		m.pos += b + 1
	case tok == jtKey && m.d1 == m.d2:
		return true // the path is exhausted: not found
	case tok == '}' || tok == ']':
		m.d1--
		if at(m.path, m.pos) == 0 && m.d1 == m.d2 && m.obj != -1 {
			m.tok, m.off, m.size = tok-2, m.obj, off-m.obj+1
			return true
		}
	case jtIsValue(tok):
		if m.d1 == m.d2 && at(m.path, m.pos) == 0 {
			m.tok, m.off, m.size = tok, off, n
			return true
		}
	}
	return false
}

// jsonUnescape is mjson's string decoding: the JSON escapes, \u00XX
// only; ok false for any other escape or a result of bufSize or more.
func jsonUnescape(s string, bufSize int) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+5 < len(s) && s[i+1] == 'u':
			if s[i+2] != '0' || s[i+3] != '0' {
				return "", false
			}
			b.WriteByte(unhexPair(s[i+4], s[i+5]))
			i += 5
		case s[i] == '\\' && i+1 < len(s):
			k := strings.IndexByte("bfnrt\\\"", s[i+1])
			if k < 0 {
				return "", false
			}
			b.WriteByte("\b\f\n\r\t\\\""[k])
			i++
		default:
			b.WriteByte(s[i])
		}
		if b.Len() >= bufSize {
			return "", false
		}
	}
	return b.String(), true
}

// unhexPair is mjson's two hex digits: no check, a non-digit gives what
// its arithmetic on a signed char gives.
func unhexPair(a, b byte) byte {
	val := func(c byte) int {
		n := int(int8(c))
		switch {
		case n >= '0' && n <= '9':
			return n - '0'
		case n >= 'A' && n <= 'F':
			return n - '7'
		}
		return n - 'W'
	}
	v := byte(val(a))
	v <<= 4
	return v | byte(val(b))
}

// cFormatG is C's printf("%g") (6 significant digits, trailing zeros
// removed).
func cFormatG(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		return "nan"
	}
	const prec = 6
	e := strconv.FormatFloat(v, 'e', prec-1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	var out string
	if exp < -4 || exp >= prec {
		mant, ex, _ := strings.Cut(e, "e")
		out = trimZeros(mant) + "e" + ex
	} else {
		out = trimZeros(strconv.FormatFloat(v, 'f', prec-1-exp, 64))
	}
	return out
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// strtollBase0 is strtoll(s, NULL, 0): optional blanks and sign, then a
// hex (0x), octal (0) or decimal number; it saturates on overflow.
func strtollBase0(s string) int64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := uint64(10)
	if at(s, i) == '0' {
		if (at(s, i+1) == 'x' || at(s, i+1) == 'X') && hexVal(at(s, i+2)) < 16 {
			base, i = 16, i+2
		} else {
			base = 8
		}
	}
	var n uint64
	over := false
	for ; i < len(s); i++ {
		d := uint64(hexVal(s[i]))
		if d >= base {
			break
		}
		if n > (math.MaxUint64-d)/base {
			over = true
		}
		n = n*base + d
	}
	switch {
	case neg && (over || n > 1<<63):
		return math.MinInt64
	case neg:
		return -int64(n)
	case over || n > math.MaxInt64:
		return math.MaxInt64
	}
	return int64(n)
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// jsonQuery is the converter: a number (an integer with "int", else the
// %g text of its value), a boolean, or a decoded string; nothing for
// null, arrays, objects and paths that match nothing.
func jsonQuery(in, path string, asInt bool) (Value, bool) {
	tok, off, n := jsonFind(in, path)
	switch tok {
	case jtNumber:
		if asInt {
			i := strtollBase0(in[off:])
			if i < -jsonIntMax || i > jsonIntMax {
				return Value{}, false
			}
			return Value{Type: TypeInt, Int: i}, true
		}
		f, _ := jsonNumber(in[off:])
		return Value{Type: TypeStr, Str: cFormatG(f)}, true
	case jtTrue, jtFalse:
		return Value{Type: TypeBool, Bool: tok == jtTrue}, true
	case jtString:
		str, ok := jsonUnescape(in[off+1:off+n-1], 16384)
		return Value{Type: TypeStr, Str: str}, ok
	}
	return Value{}, false
}

func init() {
	RegisterConverter(ConvDef{Name: "json_query", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr}, Min: 1}, In: TypeStr, Out: TypeAny,
		Check: func(a []Arg, _ *ParseOptions) error {
			if a[0].Str == "" {
				return syntaxErr("json_path must not be empty")
			}
			if len(a) > 1 && a[1].Str != "" && a[1].Str != "int" {
				return syntaxErr("output_type only supports \"int\" as argument")
			}
			return nil
		},
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			return jsonQuery(v.Str, a[0].Str, len(a) > 1 && a[1].Str == "int")
		}})
}
