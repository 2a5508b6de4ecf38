package sample

import (
	"sync"
)

// FetchDef describes a sample fetch keyword. Packages register theirs
// from an init function (RegisterFetch); a later registration of the same
// name replaces the earlier one, so that e.g. TLS replaces the always-false
// ssl_fc placeholder.
type FetchDef struct {
	Name string
	Args ArgSpec
	Out  Type
	// Check validates and compiles the arguments at parse time (haproxy's
	// val_args); its error is reported as "invalid args in fetch method".
	Check func(args []Arg, o *ParseOptions) error
	// Fn returns the sample; ok false is "no sample".
	Fn func(t *Txn, args []Arg) (Value, bool)
	// Each, when set, appends to out every value of a multi-valued fetch
	// (all the occurrences of a header) for ACL matching, which tests each
	// of them, and returns out (out is scratch space reused per Txn, so
	// that matching does not allocate). Fn still gives the single value
	// of a sample expression.
	Each func(t *Txn, args []Arg, out []Value) []Value
}

// ConvDef describes a converter. In is the type the input is cast to
// before Fn runs (TypeAny: no cast).
type ConvDef struct {
	Name  string
	Args  ArgSpec
	In    Type
	Out   Type
	Check func(args []Arg, o *ParseOptions) error
	Fn    func(t *Txn, in Value, args []Arg) (Value, bool)
}

// ACLKeyword is an ACL-only keyword: a fetch with a default match method
// (path_beg is the fetch path matched with -m beg).
type ACLKeyword struct {
	Name  string
	Fetch string // the fetch it reads
	Match string // match method name (str, beg, ..., int, ip, bool); "" uses the output type
	// Dotted makes integer patterns dotted versions ("3.1"), as req.ssl_ver.
	Dotted bool
}

var registry = struct {
	sync.RWMutex
	fetches  map[string]*FetchDef
	convs    map[string]*ConvDef
	aclWords map[string]*ACLKeyword
}{
	fetches:  map[string]*FetchDef{},
	convs:    map[string]*ConvDef{},
	aclWords: map[string]*ACLKeyword{},
}

// RegisterFetch adds or replaces a fetch keyword. Call it from init.
func RegisterFetch(d FetchDef) {
	registry.Lock()
	defer registry.Unlock()
	registry.fetches[d.Name] = &d
}

// RegisterConverter adds or replaces a converter keyword. Call it from init.
func RegisterConverter(d ConvDef) {
	registry.Lock()
	defer registry.Unlock()
	registry.convs[d.Name] = &d
}

// RegisterACLKeyword adds or replaces an ACL keyword. Call it from init.
func RegisterACLKeyword(k ACLKeyword) {
	registry.Lock()
	defer registry.Unlock()
	registry.aclWords[k.Name] = &k
}

func lookupFetch(name string) *FetchDef {
	registry.RLock()
	defer registry.RUnlock()
	return registry.fetches[name]
}

func lookupConv(name string) *ConvDef {
	registry.RLock()
	defer registry.RUnlock()
	return registry.convs[name]
}

func lookupACLKeyword(name string) *ACLKeyword {
	registry.RLock()
	defer registry.RUnlock()
	return registry.aclWords[name]
}

// FetchNames lists the registered fetch keywords (for suggestions).
func FetchNames() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.fetches))
	for n := range registry.fetches {
		out = append(out, n)
	}
	return out
}
