package sample

import (
	"fmt"
)

// Map converters (map, map_<match>[_<output>]): the file is read once at
// parse time through ParseOptions.ReadFile and indexed; files named by
// several converters are shared per ParseOptions reader call.

type compiledMap struct {
	pats patternSet
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
					Check: func(a []Arg, opt *ParseOptions) error { return loadMap(a, m.kind, o.out, opt) },
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

func loadMap(a []Arg, kind matchKind, out Type, o *ParseOptions) error {
	name := a[0].Str
	if o == nil || o.ReadFile == nil {
		return syntaxErr("failed to open pattern file <%s>", name)
	}
	data, err := o.ReadFile(name)
	if err != nil {
		return syntaxErr("failed to open pattern file <%s>", name)
	}
	cm := &compiledMap{pats: patternSet{kind: kind}}
	err = splitMapLines(data, func(line int, key, val string) error {
		v, err := parseMapValue(val, out)
		if err != nil {
			return fmt.Errorf("unable to parse '%s' at line %d of file '%s'", val, line, name)
		}
		if err := cm.pats.add(key); err != nil {
			return fmt.Errorf("%s at line %d of file '%s'", err, line, name)
		}
		p := &cm.pats.pats[len(cm.pats.pats)-1]
		p.val, p.hasValue = v, true
		return nil
	})
	if err != nil {
		return syntaxErr("%s", err)
	}
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
	if i := cm.pats.match(v); i >= 0 {
		return cm.pats.pats[i].val, true
	}
	if cm.hasD {
		return cm.def, true
	}
	return Value{}, false
}
