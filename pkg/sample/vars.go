package sample

import (
	"fmt"
	"strings"
)

// VarCond is the set of conditions of a set-var (haproxy 2.6's
// "set-var(NAME,COND...)"): the variable is set only when all hold.
type VarCond uint16

// The set-var conditions, as haproxy 2.6 names them.
const (
	VarIfExists    VarCond = 1 << iota // the variable exists (set, or created unset)
	VarIfNotExists                     // it does not exist
	VarIfEmpty                         // the sample is an empty string or binary
	VarIfNotEmpty                      // the sample is not an empty string or binary
	VarIfSet                           // the variable holds a value
	VarIfNotSet                        // it holds none
	VarIfGt                            // both integers: the variable's is greater than the sample's
	VarIfLt                            // both integers: the variable's is less than the sample's
)

var varCondNames = []string{"ifexists", "ifnotexists", "ifempty", "ifnotempty", "ifset", "ifnotset", "ifgt", "iflt"}

// ParseVarCond adds the condition named s to c; the error is haproxy's.
func ParseVarCond(c *VarCond, s string) error {
	for i, n := range varCondNames {
		if s == n {
			*c |= 1 << i
			return nil
		}
	}
	return fmt.Errorf("unknown condition \"%s\"", s)
}

// LookupVar is the value of variable name: a variable created without a
// value (by a set-var whose condition failed) has none.
func (t *Txn) LookupVar(name string) (Value, bool) {
	v, ok := t.Vars[name]
	if !ok || v.Type == TypeAny {
		return Value{}, false
	}
	return v, true
}

// VarKeeper keeps a variable set by a converter beyond the request's
// Vars (the session's and the process's); v nil removes it.
type VarKeeper interface {
	KeepVar(name string, v *Value)
}

// SetVar stores v in variable name under the conditions c, as haproxy
// 2.6's var_set does, and reports whether it did. A variable the
// conditions leave unset may still be created (Type TypeAny: it exists,
// var() finds no value); process variables always exist, haproxy making
// every one the configuration names when it starts. txn.*, req.* and
// res.* need a stream.
func (t *Txn) SetVar(name string, v Value, c VarCond) bool {
	scope, _, _ := strings.Cut(name, ".")
	proc := scope == "proc"
	if !t.Stream && !proc && scope != "sess" {
		return false
	}
	old, exists := t.Vars[name]
	exists = exists || proc
	if exists && c&VarIfNotExists != 0 || !exists && c&VarIfExists != 0 {
		return false
	}
	if t.Vars == nil {
		t.Vars = map[string]Value{}
	}
	create := func() {
		if _, ok := t.Vars[name]; !ok && !proc {
			t.Vars[name] = Value{}
		}
	}
	if c&VarIfSet != 0 && old.Type == TypeAny || c&VarIfNotSet != 0 && old.Type != TypeAny {
		create()
		return false
	}
	switch v.Type {
	case TypeStr, TypeBin:
		if c&VarIfNotEmpty != 0 && v.Str == "" || c&VarIfEmpty != 0 && v.Str != "" {
			create()
			return false
		}
	case TypeInt:
		if c&VarIfEmpty != 0 {
			create() // an integer is never empty
			return false
		}
		if old.Type == TypeInt && (c&VarIfGt != 0 && !(old.Int > v.Int) || c&VarIfLt != 0 && !(old.Int < v.Int)) {
			return false
		}
	default:
		if c&VarIfEmpty != 0 {
			create()
			return false
		}
	}
	t.Vars[name] = v
	return true
}

func init() {
	// set-var(NAME[,COND...]) stores its input and passes it on; no
	// sample when the conditions keep it from being set (haproxy's
	// smp_conv_store). unset-var(NAME) removes the variable.
	RegisterConverter(ConvDef{Name: "set-var", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr, ArgStr, ArgStr, ArgStr}, Min: 1}, In: TypeAny, Out: TypeAny,
		Check: func(a []Arg, _ *ParseOptions) error {
			if err := checkVarName(a[0].Str); err != nil {
				return err
			}
			var c VarCond
			for _, x := range a[1:] {
				if err := ParseVarCond(&c, x.Str); err != nil {
					return syntaxErr("%s", err.Error())
				}
			}
			return nil
		},
		Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
			var c VarCond
			for _, x := range a[1:] {
				if ParseVarCond(&c, x.Str) != nil {
					break
				}
			}
			if !t.SetVar(a[0].Str, v, c) {
				if _, created := t.Vars[a[0].Str]; created && t.Keeper != nil {
					kept := t.Vars[a[0].Str]
					t.Keeper.KeepVar(a[0].Str, &kept)
				}
				return Value{}, false
			}
			if t.Keeper != nil {
				t.Keeper.KeepVar(a[0].Str, &v)
			}
			return v, true
		}})
	RegisterConverter(ConvDef{Name: "unset-var", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, In: TypeAny, Out: TypeAny,
		Check: func(a []Arg, _ *ParseOptions) error { return checkVarName(a[0].Str) },
		Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
			scope, _, _ := strings.Cut(a[0].Str, ".")
			if !t.Stream && scope != "proc" && scope != "sess" {
				return Value{}, false
			}
			delete(t.Vars, a[0].Str)
			if t.Keeper != nil {
				t.Keeper.KeepVar(a[0].Str, nil)
			}
			return v, true
		}})
}
