package sample

import (
	"fmt"
)

// Map converters (map, map_<match>[_<output>]): the file is read once at
// parse time through ParseOptions.ReadFile and indexed; files named by
// several converters are shared per ParseOptions reader call.

type compiledMap struct {
	expr *refExpr
	def  Value
	hasD bool
}

var mapMatches = []struct {
	name string
	kind matchKind
	in   Type
}{
	{"str", mStr, TypeStr}, {"beg", mBeg, TypeStr}, {"sub", mSub, TypeStr},
	{"dir", mDir, TypeStr}, {"dom", mDom, TypeStr}, {"end", mEnd, TypeStr},
	{"reg", mReg, TypeStr}, {"regm", mReg, TypeStr}, {"ip", mIP, TypeAddr}, {"int", mInt, TypeInt},
}

var mapOutputs = []struct {
	name string
	out  Type
}{{"str", TypeStr}, {"int", TypeInt}, {"ip", TypeAddr}}

func init() {
	for _, m := range mapMatches {
		for _, o := range mapOutputs {
			names := []string{"map_" + m.name + "_" + o.name}
			if o.name == "str" {
				names = append(names, "map_"+m.name)
			}
			if m.name == "str" && o.name == "str" {
				names = append(names, "map")
			}
			m, o := m, o
			for _, n := range names {
				RegisterConverter(ConvDef{Name: n, Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr}, Min: 1},
					In: m.in, Out: o.out,
					Check: func(a []Arg, opt *ParseOptions) error { return loadMap(a, m.kind, m.name == "regm", o.out, opt) },
					Fn:    mapConv})
			}
		}
	}
}

// parseMapValue parses a map value or default for the output type.
func parseMapValue(s string, out Type) (Value, error) {
	switch out {
	case TypeInt:
		n, ok := strl2llrc(s)
		if !ok {
			return Value{}, fmt.Errorf("'%s' is not a number", s)
		}
		return Value{Type: TypeInt, Int: n}, nil
	case TypeAddr:
		a, err := parseAddrStrict(s)
		if err != nil {
			return Value{}, fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", s)
		}
		return Value{Type: TypeAddr, Addr: a}, nil
	}
	return Value{Type: TypeStr, Str: s}, nil
}

func loadMap(a []Arg, kind matchKind, regm bool, out Type, o *ParseOptions) error {
	name := a[0].Str
	ref, err := o.patRefs().fileRef(name, true, true, o.where(), o.readFn())
	if err != nil {
		return syntaxErr("%s", err)
	}
	e, err := ref.expr(kind, regm, false, false, true, out)
	if err != nil {
		return syntaxErr("%s", err)
	}
	cm := &compiledMap{expr: e}
	if len(a) > 1 {
		v, err := parseMapValue(a[1].Str, out)
		if err != nil {
			return syntaxErr("%s", err)
		}
		cm.def, cm.hasD = v, true
	}
	a[0].Data = cm
	return nil
}

// splitMapLines is pat_ref_read_from_file_smp: '#' in the first column
// comments, the key is the first word, the value the rest of the line
// with blanks trimmed.
func splitMapLines(data []byte, fn func(line int, key, val string) error) error {
	return splitLines(data, func(line int, l string) error {
		i := 0
		for i < len(l) && l[i] != ' ' && l[i] != '\t' {
			i++
		}
		key := l[:i]
		val := trimLWS(l[i:])
		return fn(line, key, val)
	})
}

func mapConv(_ *Txn, v Value, a []Arg) (Value, bool) {
	cm := a[0].Data.(*compiledMap)
	ps := cm.expr.set()
	if i := ps.match(v); i >= 0 {
		p := &ps.pats[i]
		if !p.hasValue {
			return Value{Type: TypeInt, Int: 1}, true // a match without data
		}
		if cm.expr.regm && p.re != nil {
			// map_regm: the value's \N are the groups the regex matched
			m := p.re.FindStringSubmatchIndex(v.Str)
			if m != nil {
				return Value{Type: TypeStr, Str: expandBackrefs(p.val.Str, v.Str, m)}, true
			}
		}
		return p.val, true
	}
	if cm.hasD {
		return cm.def, true
	}
	return Value{}, false
}
