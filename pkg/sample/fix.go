package sample

import (
	"bytes"

	"strings"
)

// The FIX protocol converters fix_is_valid and fix_tag_value, with the
// checks haproxy 2.6 makes: tag=value fields each ended by SOH (0x01);
// BeginString (8), BodyLength (9) and MsgType (35) first; the body length
// and the CheckSum (10) verified; tag numbers in the range of the
// message's FIX version.

const (
	fixDelim      = 0x01
	fixMinSize    = 26 // the shortest message haproxy looks at
	fixBeginStr   = 8
	fixBodyLength = 9
	fixCheckSum   = 10
	fixMsgType    = 35
)

// fixState is what fixValidate says of a buffer.
type fixState int

const (
	fixInvalid fixState = iota
	fixMore             // not whole yet
	fixValid
)

// fixMaxTag is the highest standard tag of each FIX version ("FIXT.1.1"
// stands for all of 5.0).
var fixMaxTag = map[string]uint32{"FIX.4.0": 140, "FIX.4.1": 211, "FIX.4.2": 446, "FIX.4.3": 659, "FIX.4.4": 956, "FIXT.1.1": 1621}

// fixUint reads the decimal digits at the start of s (as a C unsigned
// int, wrapping), and how many there were.
func fixUint(s []byte) (uint32, int) {
	var n uint32
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + uint32(s[i]-'0')
	}
	return n, i
}

// fixTagID is the number of tag, 0 when it is not all digits, is 0, or
// is out of version's range (version "" checks no range; user-defined
// tags 10000-19999 are always in range).
func fixTagID(tag []byte, version string) uint32 {
	n, used := fixUint(tag)
	if used != len(tag) || n == 0 {
		return 0
	}
	if version == "" || n >= 10000 && n <= 19999 {
		return n
	}
	if max, ok := fixMaxTag[version]; ok && n <= max {
		return n
	}
	return 0
}

// fixField splits the field at the start of p: its tag and value, and
// more true when its delimiter has not come yet.
func fixField(p []byte) (tag, value []byte, more bool) {
	eq := bytes.IndexByte(p, '=')
	if eq < 0 {
		return nil, nil, true
	}
	end := bytes.IndexByte(p[eq:], fixDelim)
	if end < 0 {
		return nil, nil, true
	}
	return p[:eq], p[eq+1 : eq+end], false
}

func fixValidate(msg []byte) fixState {
	if len(msg) < fixMinSize {
		return fixMore
	}
	p := msg
	version := ""
	var sum byte
	var n int
	var bodyLen uint32
	body := -1 // offset of the body in msg
	for len(p) > 0 {
		tag, value, more := fixField(p)
		if more {
			return fixMore
		}
		if len(tag) == 0 {
			return fixInvalid
		}
		id := fixTagID(tag, version)
		if id == 0 {
			return fixInvalid
		}
		n++
		at := len(msg) - len(p)
		switch {
		case n == 1:
			if id != fixBeginStr {
				return fixInvalid
			}
			if _, ok := fixMaxTag[string(value)]; !ok {
				return fixInvalid
			}
			version = string(value)
		case n == 2:
			if id != fixBodyLength {
				return fixInvalid
			}
			l, used := fixUint(value)
			if used != len(value) || l == 0 {
				return fixInvalid
			}
			bodyLen = l
			body = at + len(tag) + 1 + len(value) + 1
		case n == 3:
			if id != fixMsgType {
				return fixInvalid
			}
		case id == fixCheckSum:
			// The last field: not in the sum nor the body length; three
			// digits.
			if int64(bodyLen) != int64(at-body) || len(value) != 3 {
				return fixInvalid
			}
			if got, _ := fixUint(value); uint32(sum) != got {
				return fixInvalid
			}
			return fixValid
		}
		for _, c := range p[:len(tag)+1+len(value)+1] {
			sum += c
		}
		p = p[len(tag)+1+len(value)+1:]
	}
	if body >= 0 {
		return fixMore
	}
	return fixInvalid
}

// fixTagValue is the value of tag id in msg; more when msg ends before
// it (or the value is empty), ok false when the tag is not there or a
// field is malformed.
func fixTagValue(msg []byte, id uint32) (value []byte, more, ok bool) {
	p := msg
	for len(p) > 0 {
		tag, v, short := fixField(p)
		if short {
			break
		}
		if len(tag) == 0 {
			return nil, false, false
		}
		got := fixTagID(tag, "")
		if got == 0 {
			return nil, false, false
		}
		if got == id {
			return v, len(v) == 0, len(v) > 0
		}
		if got == fixCheckSum {
			return nil, false, false
		}
		p = p[len(tag)+1+len(v)+1:]
	}
	return nil, true, false
}

// fixTagNames are the tag names fix_tag_value takes besides numbers.
var fixTagNames = map[string]int64{"msgtype": fixMsgType, "checksum": fixCheckSum, "bodylength": fixBodyLength,
	"targetcompid": 56, "beginstring": fixBeginStr, "sendercompid": 49}

func fixTagArg(s string) (int64, bool) {
	if id := fixTagID([]byte(s), ""); id != 0 {
		return int64(id), true
	}
	id, ok := fixTagNames[strings.ToLower(s)]
	return id, ok
}

func init() {
	RegisterConverter(ConvDef{Name: "fix_is_valid", In: TypeBin, Out: TypeBool,
		Fn: func(t *Txn, v Value, _ []Arg) (Value, bool) {
			t.mayChange = false // the converter decides
			switch fixValidate([]byte(v.Str)) {
			case fixValid:
				return Value{Type: TypeBool, Bool: true}, true
			case fixMore:
				t.MayChange()
				return Value{}, false
			}
			return Value{Type: TypeBool}, true
		}})
	RegisterConverter(ConvDef{Name: "fix_tag_value", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, In: TypeBin, Out: TypeBin,
		Check: func(a []Arg, _ *ParseOptions) error {
			if _, ok := fixTagArg(a[0].Str); !ok {
				return syntaxErr("Unknown FIX tag name '%s'", a[0].Str)
			}
			return nil
		},
		Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
			t.mayChange = false
			id, _ := fixTagArg(a[0].Str)
			val, more, ok := fixTagValue([]byte(v.Str), uint32(id))
			if more {
				t.MayChange()
			}
			if !ok {
				return Value{}, false
			}
			return Value{Type: TypeBin, Str: string(val)}, true
		}})
}
