package sample

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Converters (configuration manual 7.3.1).

func init() {
	strConv := func(name string, fn func(string) string) {
		RegisterConverter(ConvDef{Name: name, In: TypeStr, Out: TypeStr,
			Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) { return Value{Type: TypeStr, Str: fn(v.Str)}, true }})
	}
	strConv("lower", strings.ToLower)
	strConv("upper", strings.ToUpper)
	strConv("cut_crlf", func(s string) string {
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			return s[:i]
		}
		return s
	})
	RegisterConverter(ConvDef{Name: "length", In: TypeStr, Out: TypeInt,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			return Value{Type: TypeInt, Int: int64(len(v.Str))}, true
		}})
	RegisterConverter(ConvDef{Name: "hex", In: TypeBin, Out: TypeStr,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			return Value{Type: TypeStr, Str: strings.ToUpper(hex.EncodeToString([]byte(v.Str)))}, true
		}})
	RegisterConverter(ConvDef{Name: "base64", In: TypeBin, Out: TypeStr,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			return Value{Type: TypeStr, Str: base64.StdEncoding.EncodeToString([]byte(v.Str))}, true
		}})
	RegisterConverter(ConvDef{Name: "b64dec", In: TypeStr, Out: TypeBin,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			b, err := base64.StdEncoding.DecodeString(v.Str)
			return Value{Type: TypeBin, Str: string(b)}, err == nil
		}})
	RegisterConverter(ConvDef{Name: "hex2i", In: TypeStr, Out: TypeInt,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			var n int64
			for i := 0; i < len(v.Str); i++ {
				d, err := strconv.ParseInt(v.Str[i:i+1], 16, 8)
				if err != nil {
					return Value{}, false
				}
				n = n<<4 | d
			}
			return Value{Type: TypeInt, Int: n}, true
		}})
	RegisterConverter(ConvDef{Name: "url_dec", Args: ArgSpec{Types: []ArgType{ArgInt}}, In: TypeStr, Out: TypeStr,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			s, ok := urlDecode(v.Str, argInt(a, 0) != 0)
			return Value{Type: TypeStr, Str: s}, ok
		}})

	boolOut := func(name string, fn func(int64) bool) {
		RegisterConverter(ConvDef{Name: name, In: TypeInt, Out: TypeBool,
			Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) { return Value{Type: TypeBool, Bool: fn(v.Int)}, true }})
	}
	boolOut("bool", func(n int64) bool { return n != 0 })
	boolOut("not", func(n int64) bool { return n == 0 })
	boolOut("odd", func(n int64) bool { return n&1 == 1 })
	boolOut("even", func(n int64) bool { return n&1 == 0 })
	RegisterConverter(ConvDef{Name: "neg", In: TypeInt, Out: TypeInt,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) { return Value{Type: TypeInt, Int: -v.Int}, true }})
	RegisterConverter(ConvDef{Name: "cpl", In: TypeInt, Out: TypeInt,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) { return Value{Type: TypeInt, Int: ^v.Int}, true }})

	// Arithmetic takes an integer or a variable name.
	arith := func(name string, fn func(a, b int64) int64) {
		RegisterConverter(ConvDef{Name: name, Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, In: TypeInt, Out: TypeInt,
			Check: checkOperand,
			Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
				b, ok := operand(t, a[0])
				if !ok {
					return Value{}, false
				}
				return Value{Type: TypeInt, Int: fn(v.Int, b)}, true
			}})
	}
	arith("add", func(a, b int64) int64 { return satAdd(a, b) })
	arith("sub", func(a, b int64) int64 { return satAdd(a, satNeg(b)) })
	arith("mul", satMul)
	arith("div", func(a, b int64) int64 {
		if b == 0 {
			return 1<<63 - 1
		}
		if a == -1<<63 && b == -1 {
			return 1<<63 - 1
		}
		return a / b
	})
	arith("mod", func(a, b int64) int64 {
		if b == 0 || b == -1 {
			return 0
		}
		return a % b
	})
	arith("and", func(a, b int64) int64 { return a & b })
	arith("or", func(a, b int64) int64 { return a | b })
	arith("xor", func(a, b int64) int64 { return a ^ b })

	RegisterConverter(ConvDef{Name: "ipmask", Args: ArgSpec{Types: []ArgType{ArgMsk4, ArgMsk6}, Min: 1}, In: TypeAddr, Out: TypeIPv4,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			ad := v.Addr.Unmap() // a v4-mapped address is masked as IPv4
			m := a[0].Addr
			if ad.Is6() {
				if len(a) < 2 {
					return Value{}, false // IPv6 needs the second mask
				}
				m = a[1].Addr
			}
			return Value{Type: TypeAddr, Addr: andAddr(ad, m)}, true
		}})

	fieldCheck := func(a []Arg, _ *ParseOptions) error {
		if a[1].Str == "" {
			return syntaxErr("Empty separators list")
		}
		if a[0].Int == 0 {
			return syntaxErr("Unexpected value 0 for index")
		}
		return nil
	}
	RegisterConverter(ConvDef{Name: "field", Args: ArgSpec{Types: []ArgType{ArgInt, ArgStr, ArgInt}, Min: 2}, In: TypeStr, Out: TypeStr,
		Check: fieldCheck,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			f, ok := fieldConv(v.Str, a[0].Int, a[1].Str, countArg(a))
			return Value{Type: TypeStr, Str: f}, ok
		}})
	RegisterConverter(ConvDef{Name: "word", Args: ArgSpec{Types: []ArgType{ArgInt, ArgStr, ArgInt}, Min: 2}, In: TypeStr, Out: TypeStr,
		Check: fieldCheck,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			return Value{Type: TypeStr, Str: wordConv(v.Str, a[0].Int, a[1].Str, countArg(a))}, true
		}})
	RegisterConverter(ConvDef{Name: "regsub", Args: ArgSpec{Types: []ArgType{ArgReg, ArgStr, ArgStr}, Min: 2}, In: TypeStr, Out: TypeStr,
		Check: checkRegsub, Fn: regsubConv})
	RegisterConverter(ConvDef{Name: "strcmp", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, In: TypeStr, Out: TypeInt,
		Check: func(a []Arg, _ *ParseOptions) error { return checkVarName(a[0].Str) },
		Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
			o, ok := t.LookupVar(a[0].Str)
			if !ok {
				return Value{}, false
			}
			if o, ok = Cast(o, TypeStr); !ok {
				return Value{}, false
			}
			return Value{Type: TypeInt, Int: int64(strings.Compare(v.Str, o.Str))}, true
		}})
	RegisterConverter(ConvDef{Name: "concat", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr, ArgStr}, Min: 1}, In: TypeStr, Out: TypeStr,
		Check: func(a []Arg, _ *ParseOptions) error {
			if len(a) > 1 && a[1].Str != "" {
				if err := checkVarName(a[1].Str); err != nil {
					return err
				}
			}
			if a[0].Str == "" && (len(a) < 2 || a[1].Str == "") && (len(a) < 3 || a[2].Str == "") {
				return syntaxErr("one of the optional arguments has to be nonempty")
			}
			return nil
		},
		Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
			s := v.Str + a[0].Str
			if len(a) > 1 && a[1].Str != "" {
				if o, ok := t.LookupVar(a[1].Str); ok {
					s += o.String()
				}
			}
			if len(a) > 2 {
				s += a[2].Str
			}
			return Value{Type: TypeStr, Str: s}, true
		}})
	RegisterConverter(ConvDef{Name: "json", Args: ArgSpec{Types: []ArgType{ArgStr}}, In: TypeStr, Out: TypeStr,
		Check: func(a []Arg, _ *ParseOptions) error {
			if len(a) == 0 || a[0].Str == "" {
				return nil
			}
			switch a[0].Str {
			case "ascii", "utf8", "utf8s", "utf8p", "utf8ps":
				return nil
			}
			return syntaxErr("Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'")
		},
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			mode := ""
			if len(a) > 0 {
				mode = a[0].Str
			}
			out, ok := jsonConvert(v.Str, mode)
			return Value{Type: TypeStr, Str: out}, ok
		}})
}

// countArg is the optional count of field()/word(), 1 by default.
func countArg(a []Arg) int64 {
	if len(a) > 2 {
		return a[2].Int
	}
	return 1
}

func checkOperand(a []Arg, _ *ParseOptions) error {
	s := a[0].Str
	if s == "" {
		return syntaxErr("expects an integer or a variable name")
	}
	if isInt64Prefix(s) && s != "-" && s != "+" {
		a[0].Int = readInt64(s)
		a[0].Type = ArgInt
		return nil
	}
	if err := checkVarName(s); err != nil {
		return syntaxErr("expects an integer or a variable name")
	}
	a[0].Type = ArgVar
	return nil
}

func operand(t *Txn, a Arg) (int64, bool) {
	if a.Type == ArgInt {
		return a.Int, true
	}
	v, ok := t.LookupVar(a.Str)
	if !ok {
		return 0, false
	}
	v, ok = Cast(v, TypeInt)
	return v.Int, ok
}

func satAdd(a, b int64) int64 {
	s := a + b
	if a > 0 && b > 0 && s < 0 {
		return 1<<63 - 1
	}
	if a < 0 && b < 0 && s >= 0 {
		return -1 << 63
	}
	return s
}

func satNeg(b int64) int64 {
	if b == -1<<63 {
		return 1<<63 - 1
	}
	return -b
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	c := a * b
	if c/b != a || (a == -1 && b == -1<<63) || (b == -1 && a == -1<<63) {
		if (a < 0) != (b < 0) {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	return c
}

// fieldConv is field(): the index-th field (from the end when negative)
// of s split at any byte of delims, and count-1 more (0: all the rest).
// A field that does not exist gives no sample.
func fieldConv(s string, index int64, delims string, count int64) (string, bool) {
	isSep := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	if index > 0 {
		field, start := int64(1), 0
		for end := 0; end < len(s); end++ {
			if !isSep(s[end]) {
				continue
			}
			if field == index {
				if count == 1 {
					return s[start:end], true
				}
				if count > 1 {
					count--
				}
			} else {
				start = end + 1
				field++
			}
		}
		if field != index {
			return "", false
		}
		return s[start:], true
	}
	field, end := int64(-1), len(s)
	for start := len(s); start > 0; start-- {
		if !isSep(s[start-1]) {
			continue
		}
		if field == index {
			if count == 1 {
				return s[start:end], true
			}
			if count > 1 {
				count--
			}
		} else {
			end = start - 1
			field--
		}
	}
	if field != index {
		return "", false
	}
	return s[:end], true
}

// wordConv is word(): like field() but runs of delimiters count as one
// and delimiters at the ends are ignored; a missing word is empty.
func wordConv(s string, index int64, delims string, count int64) string {
	isSep := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	word := int64(0)
	in := false
	if index > 0 {
		start := 0
		for end := 0; end < len(s); end++ {
			sep := isSep(s[end])
			switch {
			case !in && !sep:
				if word != index {
					word++
					start = end
				}
				in = true
			case in && sep:
				if word == index {
					if count == 1 {
						return s[start:end]
					}
					if count > 1 {
						count--
					}
				}
				in = false
			}
		}
		if word != index {
			return ""
		}
		return s[start:]
	}
	end := len(s)
	for start := len(s); start > 0; start-- {
		sep := isSep(s[start-1])
		switch {
		case !in && !sep:
			if word != index {
				word--
				end = start
			}
			in = true
		case in && sep:
			if word == index {
				if count == 1 {
					return s[start:end]
				}
				if count > 1 {
					count--
				}
			}
			in = false
		}
	}
	if word != index {
		return ""
	}
	return s[:end]
}

// urlDecode is url_dec: %XX sequences, '+' as space in the query part
// (after '?') or everywhere when inQuery.
func urlDecode(s string, inQuery bool) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	var b strings.Builder
	q := inQuery
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '?':
			q = true
			b.WriteByte(c)
		case c == '+' && q:
			b.WriteByte(' ')
		case c == '%':
			if i+2 >= len(s)+0 && i+2 > len(s)-1 {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// jsonEscape is the json converter in its default mode.
func jsonEscape(s string) string {
	out, _ := jsonConvert(s, "")
	return out
}

// UTF-8 decoding outcomes of haproxy's utf8_next.
const (
	utf8Overlong = 0x10
	utf8InvRange = 0x20
	utf8BadSeq   = 0x40
)

// utf8Next decodes one character as haproxy's utf8_next: the value, the
// bytes it took and its defects (5- and 6-byte forms decode; an invalid
// lead or continuation byte is a bad sequence of the bytes read so far).
func utf8Next(s string) (c uint32, n int, code int) {
	b := s[0]
	var dec int
	switch {
	case b <= 0x7f:
		return uint32(b), 1, 0
	case b <= 0xbf || b >= 0xfe:
		return uint32(b), 1, utf8BadSeq
	case b <= 0xdf:
		c, dec = uint32(b&0x1f), 1
	case b <= 0xef:
		c, dec = uint32(b&0x0f), 2
	case b <= 0xf7:
		c, dec = uint32(b&0x07), 3
	case b <= 0xfb:
		c, dec = uint32(b&0x03), 4
	default:
		c, dec = uint32(b&0x01), 5
	}
	if len(s) < dec+1 {
		return uint32(b), 1, utf8BadSeq
	}
	n = 1
	for ; dec > 0; dec-- {
		if s[n]&0xc0 != 0x80 {
			return c, n, utf8BadSeq
		}
		c = c<<6 | uint32(s[n]&0x3f)
		n++
	}
	if c <= 0x7f && n > 1 || c >= 0x80 && c <= 0x7ff && n > 2 || c >= 0x800 && c <= 0xffff && n > 3 || c >= 0x10000 && c <= 0x1fffff && n > 4 {
		code |= utf8Overlong
	}
	if c >= 0xd800 && c <= 0xdfff || c >= 0xfffe && c <= 0xffff {
		code |= utf8InvRange
	}
	return c, n, code
}

// jsonConvert is haproxy's json converter: mode "" or ascii reads bytes;
// utf8 fails and utf8s skips on any defect; utf8p/utf8ps only on invalid
// ranges and bad sequences (overlong forms pass); characters above
// 0xffff fail (utf8, utf8p) or are skipped.
func jsonConvert(s, mode string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); {
		var c uint32
		if mode == "" || mode == "ascii" {
			c = uint32(s[i])
			i++
		} else {
			var n, code int
			c, n, code = utf8Next(s[i:])
			i += n
			switch mode {
			case "utf8":
				if code != 0 {
					return "", false
				}
			case "utf8s":
				if code != 0 {
					continue
				}
			case "utf8p":
				if code&(utf8InvRange|utf8BadSeq) != 0 {
					return "", false
				}
			case "utf8ps":
				if code&(utf8InvRange|utf8BadSeq) != 0 {
					continue
				}
			}
			if c > 0xffff {
				if mode == "utf8" || mode == "utf8p" {
					return "", false
				}
				continue
			}
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\u%04x`, uint16(c))
			} else {
				b.WriteByte(byte(c))
			}
		}
	}
	return b.String(), true
}

func checkRegsub(a []Arg, _ *ParseOptions) error {
	icase, global := false, false
	if len(a) > 2 {
		for _, c := range a[2].Str {
			switch c {
			case 'i':
				icase = true
			case 'g':
				global = true
			default:
				return syntaxErr("invalid regex flag '%c', only 'i' and 'g' are supported", c)
			}
		}
	}
	re, err := compileRegex(a[0].Str, icase)
	if err != nil {
		return err
	}
	a[0].Regex = re
	a[0].Data = global
	return nil
}

func regsubConv(_ *Txn, v Value, a []Arg) (Value, bool) {
	re := a[0].Regex.re
	global, _ := a[0].Data.(bool)
	repl := a[1].Str
	s := v.Str
	wide := !isASCII(s) || !isASCII(repl)
	if wide {
		s, repl = latin1(s), latin1(repl)
	}
	var b strings.Builder
	pos := 0
	for pos <= len(s) {
		m := re.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		b.WriteString(s[pos : pos+m[0]])
		b.WriteString(expandBackrefs(repl, s[pos:], m))
		if m[1] == m[0] {
			// empty match: copy one character and go on
			if pos+m[1] < len(s) {
				_, n := utf8.DecodeRuneInString(s[pos+m[1]:])
				b.WriteString(s[pos+m[1] : pos+m[1]+n])
				pos += m[1] + n
			} else {
				pos += m[1] + 1
			}
		} else {
			pos += m[1]
		}
		if !global {
			break
		}
	}
	if pos < len(s) {
		b.WriteString(s[pos:])
	}
	out := b.String()
	if wide {
		out = unLatin1(out)
	}
	return Value{Type: TypeStr, Str: out}, true
}

// expandBackrefs replaces \0..\9 in repl by the groups of m (haproxy's
// exp_replace).
func expandBackrefs(repl, s string, m []int) string {
	if !strings.Contains(repl, `\`) {
		return repl
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c == '\\' && i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
			g := int(repl[i+1] - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(s[m[2*g]:m[2*g+1]])
			}
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

var _ = netip.Addr{}

// andAddr masks a with m, bit by bit (both of the same family).
func andAddr(a, m netip.Addr) netip.Addr {
	if a.Is4() {
		x, y := a.As4(), m.As4()
		for i := range x {
			x[i] &= y[i]
		}
		return netip.AddrFrom4(x)
	}
	x, y := a.As16(), m.As16()
	for i := range x {
		x[i] &= y[i]
	}
	return netip.AddrFrom16(x)
}
