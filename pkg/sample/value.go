package sample

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// String names a type as haproxy's smp_to_type[] does ("str", "sint", ...).
func (t Type) String() string {
	switch t {
	case TypeAny:
		return "any"
	case TypeBool:
		return "bool"
	case TypeInt:
		return "sint"
	case TypeAddr:
		return "addr"
	case TypeStr:
		return "str"
	case TypeBin:
		return "bin"
	case TypeMeth:
		return "meth"
	case TypeIPv4:
		return "ipv4"
	case TypeIPv6:
		return "ipv6"
	}
	return "?"
}

// Declared-only types: a fetch or converter definition may declare
// TypeIPv4 or TypeIPv6 as its output or input (haproxy's SMP_T_IPV4 and
// SMP_T_IPV6, which decide which converters may follow at parse time);
// values always carry TypeAddr.
const (
	TypeIPv4 Type = 100 + iota
	TypeIPv6
)

// canCast is haproxy's cast table (sample_casts[][] in sample.c) on
// declared types: whether a converter taking `to` may follow an output of
// type `from`.
func canCast(from, to Type) bool {
	if from == TypeAny || to == TypeAny {
		return true
	}
	switch from {
	case TypeBool:
		return to == TypeBool || to == TypeInt || to == TypeStr || to == TypeBin
	case TypeInt:
		return to == TypeBool || to == TypeInt || to == TypeAddr || to == TypeIPv4 || to == TypeIPv6 || to == TypeStr || to == TypeBin
	case TypeAddr:
		return false
	case TypeIPv4:
		return to == TypeInt || to == TypeAddr || to == TypeIPv4 || to == TypeIPv6 || to == TypeStr || to == TypeBin
	case TypeIPv6:
		return to == TypeAddr || to == TypeIPv4 || to == TypeIPv6 || to == TypeStr || to == TypeBin
	case TypeStr:
		return true
	case TypeBin:
		return to == TypeStr || to == TypeBin || to == TypeMeth
	case TypeMeth:
		return to == TypeStr || to == TypeBin || to == TypeMeth
	}
	return false
}

// readInt64 is haproxy's read_int64: an optional sign and the leading
// digits, saturating; what follows the digits is ignored.
func readInt64(s string) int64 {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var u uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if over {
			continue
		}
		d := uint64(s[i] - '0')
		if u > (^uint64(0)-d)/10 {
			u = ^uint64(0)
			over = true
			continue
		}
		u = u*10 + d
	}
	if neg {
		if u > 1<<63 {
			return -1 << 63
		}
		return -int64(u)
	}
	if u > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(u)
}

// v6tov4 maps an IPv4-mapped (::ffff:a.b.c.d) or 6to4 (2002:AABB:CCDD::)
// IPv6 address to IPv4, as haproxy's v6tov4.
func v6tov4(a netip.Addr) (netip.Addr, bool) {
	if a.Is4() {
		return a, true
	}
	if a.Is4In6() {
		return a.Unmap(), true
	}
	b := a.As16()
	if b[0] == 0x20 && b[1] == 0x02 {
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// Cast converts v to type to as haproxy's cast table does; ok is false
// when the cast is impossible for this value (the sample is dropped).
func Cast(v Value, to Type) (Value, bool) {
	switch to {
	case TypeIPv4:
		v, ok := Cast(v, TypeAddr)
		if !ok {
			return Value{}, false
		}
		a, ok := v6tov4(v.Addr)
		return Value{Type: TypeAddr, Addr: a}, ok
	case TypeIPv6:
		v, ok := Cast(v, TypeAddr)
		if !ok {
			return Value{}, false
		}
		if v.Addr.Is4() {
			v.Addr = netip.AddrFrom16(v.Addr.As16())
		}
		return v, true
	}
	if to == TypeAny || v.Type == to {
		return v, true
	}
	switch v.Type {
	case TypeBool:
		switch to {
		case TypeInt:
			n := int64(0)
			if v.Bool {
				n = 1
			}
			return Value{Type: TypeInt, Int: n}, true
		case TypeStr, TypeBin:
			s := "0"
			if v.Bool {
				s = "1"
			}
			if to == TypeBin {
				// c_bool2bin: the 8-byte big-endian integer.
				var b [8]byte
				if v.Bool {
					b[7] = 1
				}
				s = string(b[:])
			}
			return Value{Type: to, Str: s}, true
		}
	case TypeInt:
		switch to {
		case TypeBool:
			return Value{Type: TypeBool, Bool: v.Int != 0}, true
		case TypeAddr:
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(v.Int))
			return Value{Type: TypeAddr, Addr: netip.AddrFrom4(b)}, true
		case TypeStr:
			return Value{Type: TypeStr, Str: strconv.FormatInt(v.Int, 10)}, true
		case TypeBin:
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], uint64(v.Int))
			return Value{Type: TypeBin, Str: string(b[:])}, true
		}
	case TypeAddr:
		switch to {
		case TypeInt:
			if !v.Addr.Is4() {
				return Value{}, false
			}
			b := v.Addr.As4()
			return Value{Type: TypeInt, Int: int64(binary.BigEndian.Uint32(b[:]))}, true
		case TypeStr:
			return Value{Type: TypeStr, Str: v.Addr.String()}, true
		case TypeBin:
			return Value{Type: TypeBin, Str: string(v.Addr.AsSlice())}, true
		}
	case TypeStr:
		switch to {
		case TypeBool, TypeInt:
			if v.Str == "" {
				return Value{}, false
			}
			n := readInt64(v.Str)
			if to == TypeBool {
				return Value{Type: TypeBool, Bool: n != 0}, true
			}
			return Value{Type: TypeInt, Int: n}, true
		case TypeAddr:
			a, err := netip.ParseAddr(v.Str)
			if err != nil || a.Zone() != "" {
				return Value{}, false
			}
			return Value{Type: TypeAddr, Addr: a}, true
		case TypeBin, TypeMeth:
			return Value{Type: to, Str: v.Str}, true
		}
	case TypeBin:
		switch to {
		case TypeStr:
			// c_bin2str stops at the first NUL.
			s := v.Str
			for i := 0; i < len(s); i++ {
				if s[i] == 0 {
					s = s[:i]
					break
				}
			}
			return Value{Type: TypeStr, Str: s}, true
		case TypeMeth:
			return Value{Type: TypeMeth, Str: v.Str}, true
		}
	case TypeMeth:
		switch to {
		case TypeStr, TypeBin:
			return Value{Type: to, Str: v.Str}, true
		}
	}
	return Value{}, false
}

// Str is v's string form (cast to str), as a log-format %[...] prints it;
// ok is false when v has none.
func (v Value) String() string {
	s, ok := Cast(v, TypeStr)
	if !ok {
		return ""
	}
	return s.Str
}
