package sample

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ArgType is the type of one fetch or converter argument (haproxy's
// ARGT_*). Arguments naming configuration objects (frontend, backend,
// server, table, userlist) are kept as strings; the configuration reader
// resolves them once every section is read.
type ArgType int

const (
	ArgStr  ArgType = iota // string
	ArgInt                 // integer (Int)
	ArgIPv4                // IPv4 address (Addr)
	ArgMsk4                // IPv4 mask, dotted or bit count (Addr holds the mask)
	ArgIPv6                // IPv6 address (Addr)
	ArgMsk6                // IPv6 mask, hex groups or bit count (Addr holds the mask)
	ArgTime                // delay, in milliseconds by default (Int, ms)
	ArgSize                // size with k/m/g suffix (Int)
	ArgFE                  // frontend name (Str)
	ArgBE                  // backend name (Str)
	ArgTab                 // stick table name (Str)
	ArgSrv                 // server as [backend/]server (Str)
	ArgUsr                 // userlist name (Str)
	ArgReg                 // regex (Str; Regex compiled by the definition's Check)
	ArgVar                 // variable name (Str)
)

var argTypeNames = [...]string{
	ArgStr: "string", ArgInt: "integer", ArgIPv4: "IPv4 address", ArgMsk4: "IPv4 mask",
	ArgIPv6: "IPv6 address", ArgMsk6: "IPv6 mask", ArgTime: "delay", ArgSize: "size",
	ArgFE: "frontend", ArgBE: "backend", ArgTab: "table", ArgSrv: "server",
	ArgUsr: "user list", ArgReg: "regex", ArgVar: "variable",
}

// String is haproxy's name for the type, as its error messages print it.
func (t ArgType) String() string {
	if t >= 0 && int(t) < len(argTypeNames) {
		return argTypeNames[t]
	}
	return "end of arguments"
}

// Arg is one parsed argument. Str always holds the text as written (after
// unquoting); Int and Addr hold the typed value. Regex and Data are set by
// a definition's Check to keep what it compiles (regexes, map files) so
// that evaluation never compiles.
type Arg struct {
	Type  ArgType
	Str   string
	Int   int64
	Addr  netip.Addr
	Regex *Regex
	Data  any
}

// ArgSpec says which arguments a fetch or converter takes: the types in
// order, the first Min mandatory.
type ArgSpec struct {
	Types []ArgType
	Min   int
}

// parseArgs is haproxy's make_arg_list: in starts right after the keyword;
// without a '(' there are no arguments. It returns the arguments, the rest
// of the string after ')' (or in itself when there was no list), how many
// were read, and the error and the position (1-based) of the failing one.
func parseArgs(in string, spec ArgSpec) (args []Arg, rest string, n int, errPos int, err error) {
	empty := true
	if strings.HasPrefix(in, "(") {
		empty = false
		in = in[1:]
	}
	nb := len(spec.Types)
	pos := 0
	if nb == 0 || (empty && spec.Min == 0) {
		goto end
	}
	for pos < nb {
		var sb strings.Builder
		squote, dquote := false, false
		for len(in) > 0 {
			c := in[0]
			if c == '"' && !squote {
				dquote = !dquote
				in = in[1:]
				continue
			}
			if c == '\'' && !dquote {
				squote = !squote
				in = in[1:]
				continue
			}
			if c == '\\' && !squote && len(in) > 1 {
				switch in[1] {
				case '\\', ' ', '"', '\'':
					sb.WriteByte(in[1])
					in = in[2:]
				case 'r':
					sb.WriteByte('\r')
					in = in[2:]
				case 'n':
					sb.WriteByte('\n')
					in = in[2:]
				case 't':
					sb.WriteByte('\t')
					in = in[2:]
				default:
					sb.WriteByte('\\')
					in = in[1:]
				}
				continue
			}
			if !squote && !dquote && (c == ',' || c == ')') {
				break
			}
			sb.WriteByte(c)
			in = in[1:]
		}
		word := sb.String()
		t := spec.Types[pos]
		a := Arg{Type: t, Str: word}
		emptyErr := func() error {
			if pos >= spec.Min {
				return nil
			}
			return fmt.Errorf("expected type '%s' at position %d, but got nothing", t, pos+1)
		}
		parseErr := func() error {
			return fmt.Errorf("failed to parse '%s' as type '%s' at position %d", word, t, pos+1)
		}
		switch t {
		case ArgInt:
			if word == "" {
				if e := emptyErr(); e != nil {
					return nil, in, pos, pos, e
				}
				if pos == 0 {
					args = nil
				}
				goto end
			}
			a.Int = readInt64(word)
			if !isInt64Prefix(word) {
				return nil, in, pos, pos, parseErr()
			}
		case ArgIPv4, ArgIPv6:
			if word == "" {
				if e := emptyErr(); e != nil {
					return nil, in, pos, pos, e
				}
				goto end
			}
			ad, perr := netip.ParseAddr(word)
			if perr != nil || (t == ArgIPv4) != ad.Is4() || ad.Zone() != "" {
				return nil, in, pos, pos, parseErr()
			}
			a.Addr = ad
		case ArgMsk4, ArgMsk6:
			if word == "" {
				if e := emptyErr(); e != nil {
					return nil, in, pos, pos, e
				}
				goto end
			}
			m, ok := parseMask(word, t == ArgMsk6)
			if !ok {
				return nil, in, pos, pos, parseErr()
			}
			a.Addr = m
		case ArgTime:
			if word == "" {
				if e := emptyErr(); e != nil {
					return nil, in, pos, pos, e
				}
				goto end
			}
			ms, ok := parseTimeMS(word)
			if !ok {
				return nil, in, pos, pos, parseErr()
			}
			a.Int = ms
		case ArgSize:
			if word == "" {
				if e := emptyErr(); e != nil {
					return nil, in, pos, pos, e
				}
				goto end
			}
			sz, ok := parseSize(word)
			if !ok {
				return nil, in, pos, pos, parseErr()
			}
			a.Int = sz
		}
		args = append(args, a)
		pos++
		if len(in) == 0 || in[0] == ')' || pos >= nb {
			break
		}
		in = in[1:] // the comma
	}
end:
	if pos < spec.Min {
		t := ArgType(-1)
		if pos < len(spec.Types) {
			t = spec.Types[pos]
		}
		return nil, in, pos, pos, fmt.Errorf("missing arguments (got %d/%d), type '%s' expected", pos, spec.Min, t)
	}
	if !empty {
		if strings.HasPrefix(in, ")") {
			in = in[1:]
		} else {
			p := pos
			if p > 1 {
				p--
			}
			if in != "" {
				return nil, in, p, p, fmt.Errorf("expected ')' before '%s'", in)
			}
			return nil, in, p, p, fmt.Errorf("expected ')'")
		}
	}
	return args, in, pos, pos, nil
}

// isInt64Prefix reports whether read_int64 consumes all of s.
func isInt64Prefix(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i == len(s)
}

// parseMask reads a mask as haproxy's str2mask/str2mask6 do: a bit count,
// or an address written out (dotted for IPv4, hex groups for IPv6), whose
// bits need not be contiguous (ipmask(24,ffff::ff00) is valid).
func parseMask(s string, v6 bool) (netip.Addr, bool) {
	sep, max := ".", 32
	if v6 {
		sep, max = ":", 128
	}
	if strings.Contains(s, sep) {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || a.Is6() != v6 {
			return netip.Addr{}, false
		}
		return a, true
	}
	// strtol: an optional sign, then digits, all of the word.
	d := strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	n, err := strconv.ParseUint(d, 10, 16)
	if d == "" || err != nil || n > uint64(max) || (n != 0 && strings.HasPrefix(s, "-")) {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i := 0; i < int(n); i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	if v6 {
		return netip.AddrFrom16(b), true
	}
	return netip.AddrFrom4([4]byte(b[:4])), true
}

// parseTimeMS reads a haproxy delay (default unit ms; us, ms, s, m, h, d).
func parseTimeMS(s string) (int64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	var v int64
	switch s[i:] {
	case "", "ms":
		v = n
	case "us":
		v = n / 1000
	case "s":
		v = n * 1000
	case "m":
		v = n * 60000
	case "h":
		v = n * 3600000
	case "d":
		v = n * 86400000
	default:
		return 0, false
	}
	if v > 1<<31-1 || v < 0 {
		return 0, false
	}
	return v, true
}

// parseSize reads a size with an optional k, m or g suffix (powers of 1024).
func parseSize(s string) (int64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	switch strings.ToLower(s[i:]) {
	case "":
	case "k":
		n <<= 10
	case "m":
		n <<= 20
	case "g":
		n <<= 30
	default:
		return 0, false
	}
	if n > 1<<32-1 {
		return 0, false
	}
	return n, true
}
