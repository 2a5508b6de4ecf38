package sample

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Pattern references (haproxy's struct pat_ref, pattern.c): the patterns
// of a pattern or map file, or of one ACL line, kept as text so that the
// stats socket (`show/add/del/set/clear map|acl`) and the set-map,
// del-map, add-acl and del-acl actions change them while running. Every
// ACL line or map converter that uses a reference matches through a
// compiled expression of it (refExpr), rebuilt when the reference
// changes and swapped in atomically: matching takes no lock.

// PatRefs is a configuration's pattern references, in the order haproxy
// creates them (which sets their ids).
type PatRefs struct {
	mu     sync.Mutex
	refs   []*PatRef
	nextID uint64 // element identifiers, printed as haproxy prints pointers
}

// NewPatRefs returns an empty set.
func NewPatRefs() *PatRefs { return &PatRefs{nextID: 0x55d0c0de0000} }

// PatRef is one reference.
type PatRef struct {
	owner *PatRefs
	mu    sync.Mutex
	// Reference is the file name; "" for an ACL line's own patterns.
	Reference string
	display   string
	IsMap     bool // used by a map (or an ACL with -M)
	IsACL     bool // used by an ACL
	smp       bool // entries carry a value (two-column file)
	ID        int
	userID    bool // ID given by the ACL's -u
	batch     bool // AddBatch compiles once at the end
	elts      []*patElt
	currGen   uint32
	nextGen   uint32
	entryCnt  uint64
	exprs     []*refExpr
}

type patElt struct {
	id      uint64
	pattern string
	sample  string
	hasSmp  bool
	gen     uint32
	line    int
}

// refExpr is one compiled form of a reference: a match method with its
// flags, and for maps the value type.
type refExpr struct {
	ref    *PatRef
	kind   matchKind
	regm   bool
	icase  bool
	dotted bool
	smp    bool
	out    Type
	cur    atomic.Pointer[patternSet]
}

func (e *refExpr) set() *patternSet { return e.cur.Load() }

func (r *PatRefs) add(ref *PatRef) *PatRef {
	ref.owner = r
	r.mu.Lock()
	if !ref.userID {
		ref.ID = -1 // set by Finalize
	}
	r.refs = append(r.refs, ref)
	r.mu.Unlock()
	return ref
}

func (r *PatRefs) eltID() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID += 0x90
	return r.nextID
}

// List returns the references in id order.
func (r *PatRefs) List() []*PatRef {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*PatRef(nil), r.refs...)
}

// byFile is pat_ref_lookup: the reference loaded from a file.
func (r *PatRefs) byFile(name string) *PatRef {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ref := range r.refs {
		if ref.Reference != "" && ref.Reference == name {
			return ref
		}
	}
	return nil
}

// ByFile finds the reference of a file (as the set-map actions name it).
func (r *PatRefs) ByFile(name string) *PatRef { return r.byFile(name) }

// Lookup is pat_ref_lookup_ref: "#ID" or a file name.
func (r *PatRefs) Lookup(s string) *PatRef {
	if r == nil {
		return nil
	}
	if strings.HasPrefix(s, "#") {
		id, err := strconv.ParseInt(s[1:], 10, 32)
		if err != nil || s[1:] == "" {
			// strtol reads "" as 0 with *error == '\0'
			if s[1:] != "" {
				return nil
			}
			id = 0
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, ref := range r.refs {
			if int64(ref.ID) == id {
				return ref
			}
		}
		return nil
	}
	return r.byFile(s)
}

// Where names a configuration line for a reference's description.
type Where struct {
	File string
	Line int
}

// fileRef is the first half of pattern_read_from_file: the reference of
// a file, read (once) as one column or two.
func (r *PatRefs) fileRef(name string, isMap, smp bool, w Where, read func(string) ([]byte, error)) (*PatRef, error) {
	what := "acl"
	if isMap {
		what = "map"
	}
	if ref := r.byFile(name); ref != nil {
		if smp && !ref.smp {
			return nil, fmt.Errorf("The file \"%s\" is already used as one column file and cannot be used by as two column file.", name)
		}
		if !smp && ref.smp {
			return nil, fmt.Errorf("The file \"%s\" is already used as two column file and cannot be used by as one column file.", name)
		}
		ref.mu.Lock()
		ref.display += fmt.Sprintf(", by %s at file '%s' line %d", what, w.File, w.Line)
		ref.IsMap = ref.IsMap || isMap
		ref.IsACL = ref.IsACL || !isMap
		ref.mu.Unlock()
		return ref, nil
	}
	if read == nil {
		return nil, fmt.Errorf("failed to open pattern file <%s>", name)
	}
	data, err := read(name)
	if err != nil {
		return nil, fmt.Errorf("failed to open pattern file <%s>", name)
	}
	ref := &PatRef{Reference: name, IsMap: isMap, IsACL: !isMap, smp: smp,
		display: fmt.Sprintf("pattern loaded from file '%s' used by %s at file '%s' line %d", name, what, w.File, w.Line)}
	r.add(ref)
	add := func(line int, key, val string, has bool) {
		ref.elts = append(ref.elts, &patElt{id: r.eltID(), pattern: key, sample: val, hasSmp: has, line: line})
	}
	if smp {
		_ = splitMapLines(data, func(line int, key, val string) error { add(line, key, val, true); return nil })
	} else {
		_ = splitLines(data, func(line int, text string) error { add(line, text, "", false); return nil })
	}
	return ref, nil
}

// inlineRef is the reference of an ACL line's own patterns; uid is the
// id -u gave (nil: none).
func (r *PatRefs) inlineRef(display string, uid *int) *PatRef {
	ref := &PatRef{display: display, IsACL: true}
	if uid != nil {
		ref.ID, ref.userID = *uid, true
	}
	return r.add(ref)
}

// idUsed is pat_ref_lookupid while parsing: only ids given by -u are
// known then (the others are -1 until Finalize).
func (r *PatRefs) idUsed(id int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ref := range r.refs {
		if ref.ID == id {
			return true
		}
	}
	return false
}

// Finalize is pattern_finalize_config: the references without an id get
// the smallest ones -u left free, in creation order, and the list is
// sorted by id.
func (r *PatRefs) Finalize() {
	r.mu.Lock()
	defer r.mu.Unlock()
	used := map[int]bool{}
	for _, ref := range r.refs {
		if ref.userID {
			used[ref.ID] = true
		}
	}
	next := 0
	for _, ref := range r.refs {
		if ref.userID {
			continue
		}
		for used[next] {
			next++
		}
		ref.ID = next
		next++
	}
	sort.SliceStable(r.refs, func(i, j int) bool { return r.refs[i].ID < r.refs[j].ID })
}

// HTTPClientACLs adds the two references haproxy 2.6's internal HTTP
// client creates after the configuration when a `default` resolvers
// section exists or can be built from /etc/resolv.conf (its rules test
// `var(txn.hc_ip) -m ip 0.0.0.0`): `show acl` lists them.
func (r *PatRefs) HTTPClientACLs() {
	for i := 0; i < 2; i++ {
		ref := r.inlineRef("acl 'var' file 'httpclient' line 0", nil)
		e, _ := ref.expr(mIP, false, false, false, false, TypeStr)
		_ = e
		_, _ = ref.load(ref.currGen, "0.0.0.0", "", false, 0)
	}
}

// expr is pattern_new_expr then the load of pattern_read_from_file: the
// compiled form for a match method, shared with an identical one.
func (ref *PatRef) expr(kind matchKind, regm, icase, dotted, smp bool, out Type) (*refExpr, error) {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	for _, e := range ref.exprs {
		if e.kind == kind && e.regm == regm && e.icase == icase && e.dotted == dotted && e.smp == smp && (!smp || e.out == out) {
			return e, nil
		}
	}
	e := &refExpr{ref: ref, kind: kind, regm: regm, icase: icase, dotted: dotted, smp: smp, out: out}
	for _, el := range ref.elts {
		if err := e.check(el); err != nil {
			if el.line > 0 {
				return nil, fmt.Errorf("%s at line %d of file '%s'", err, el.line, ref.Reference)
			}
			return nil, err
		}
	}
	ref.exprs = append(ref.exprs, e)
	ref.entryCnt += uint64(len(ref.elts))
	e.rebuild()
	return e, nil
}

// check is pat_ref_push's parsing: the pattern for the match method,
// the value for the map's output type.
func (e *refExpr) check(el *patElt) error {
	if e.smp && el.hasSmp {
		if _, err := parseMapValue(el.sample, e.out); err != nil {
			return fmt.Errorf("unable to parse '%s'", el.sample)
		}
	}
	ps := patternSet{kind: e.kind, icase: e.icase, dotted: e.dotted}
	return ps.add(el.pattern)
}

// rebuild compiles the current generation's entries. The caller holds
// the reference's lock (or owns it alone).
func (e *refExpr) rebuild() {
	ps := &patternSet{kind: e.kind, icase: e.icase, dotted: e.dotted}
	for _, el := range e.ref.elts {
		if el.gen != e.ref.currGen {
			continue
		}
		if err := ps.add(el.pattern); err != nil {
			continue // checked when added
		}
		p := &ps.pats[len(ps.pats)-1]
		p.elt = el
		if e.smp && el.hasSmp {
			if v, err := parseMapValue(el.sample, e.out); err == nil {
				p.val, p.hasValue = v, true
			}
		}
	}
	e.cur.Store(ps)
}

func (ref *PatRef) rebuildAll() {
	for _, e := range ref.exprs {
		e.rebuild()
	}
}

// load is pat_ref_load: append an entry of generation gen, checked
// against every compiled form first. The caller holds ref.mu.
func (ref *PatRef) load(gen uint32, pattern, sample string, hasSmp bool, line int) (*patElt, error) {
	el := &patElt{pattern: pattern, sample: sample, hasSmp: hasSmp, gen: gen, line: line}
	for i, e := range ref.exprs {
		if err := e.check(el); err != nil {
			// haproxy indexed it in the forms before, then deletes it
			// counting one entry (its figure, kept as it prints it)
			ref.entryCnt += uint64(i) - 1
			return nil, err
		}
	}
	el.id = ref.owner.eltID()
	ref.elts = append(ref.elts, el)
	ref.entryCnt += uint64(len(ref.exprs))
	if gen == ref.currGen && !ref.batch {
		ref.rebuildAll()
	}
	return el, nil
}

// Entry is one pattern (and value) for AddBatch.
type Entry struct{ Pattern, Sample string }

// AddBatch is Add for the lines of a payload, compiled once at the end:
// it stops at the first entry that fails, keeping those before, as
// haproxy does.
func (ref *PatRef) AddBatch(gen uint32, current bool, entries []Entry, hasSmp bool) error {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	if current {
		gen = ref.currGen
	}
	ref.batch = true
	defer func() {
		ref.batch = false
		if gen == ref.currGen {
			ref.rebuildAll()
		}
	}()
	for _, e := range entries {
		if _, err := ref.load(gen, e.Pattern, e.Sample, hasSmp, -1); err != nil {
			return err
		}
	}
	return nil
}

// Description is the line `show map`/`show acl` prints for the reference.
func (ref *PatRef) Description() string {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	return fmt.Sprintf("%d (%s) %s. curr_ver=%d next_ver=%d entry_cnt=%d\n", ref.ID, ref.Reference, ref.display, ref.currGen, ref.nextGen, ref.entryCnt)
}

// Dump lists the entries of generation gen (the current one when
// current is true), as `show map/acl <ref>` does.
func (ref *PatRef) Dump(gen uint32, current bool) string {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	if current {
		gen = ref.currGen
	}
	var b strings.Builder
	for _, el := range ref.elts {
		if el.gen != gen {
			continue
		}
		if el.hasSmp {
			fmt.Fprintf(&b, "0x%x %s %s\n", el.id, el.pattern, el.sample)
		} else {
			fmt.Fprintf(&b, "0x%x %s\n", el.id, el.pattern)
		}
	}
	return b.String()
}

// HasSamples reports whether entries carry values (a map's file).
func (ref *PatRef) HasSamples() bool { return ref.smp }

// CurrGen and NextGen are the versions (`prepare`, `commit`).
func (ref *PatRef) Gens() (curr, next uint32) {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	return ref.currGen, ref.nextGen
}

// Add is pat_ref_load for the CLI and the add-acl/set-map actions:
// gen is the version (current when current is true).
func (ref *PatRef) Add(gen uint32, current bool, pattern, sample string, hasSmp bool) error {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	if current {
		gen = ref.currGen
	}
	_, err := ref.load(gen, pattern, sample, hasSmp, -1)
	return err
}

// AddIfAbsent is add-acl: add the pattern unless an entry has it.
func (ref *PatRef) AddIfAbsent(pattern string) {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	if ref.find(pattern) == nil {
		_, _ = ref.load(ref.currGen, pattern, "", false, -1)
	}
}

// SetOrAdd is set-map: change the value of the entries holding key, or
// add one.
func (ref *PatRef) SetOrAdd(key, value string) {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	if ref.find(key) != nil {
		if ref.changes(key, value) {
			_ = ref.set(key, value)
		}
		return
	}
	_, _ = ref.load(ref.currGen, key, value, true, -1)
}

func (ref *PatRef) find(key string) *patElt {
	for _, el := range ref.elts {
		if el.pattern == key {
			return el
		}
	}
	return nil
}

// setElt is pat_ref_set_elt. The caller holds ref.mu and rebuilds.
func (ref *PatRef) setElt(el *patElt, value string) error {
	for _, e := range ref.exprs {
		if !e.smp {
			continue
		}
		if _, err := parseMapValue(value, e.out); err != nil {
			return fmt.Errorf("unable to parse '%s'", value)
		}
	}
	el.sample, el.hasSmp = value, true
	return nil
}

// changes reports whether setting value changes an entry holding key.
func (ref *PatRef) changes(key, value string) bool {
	for _, el := range ref.elts {
		if el.pattern == key && (!el.hasSmp || el.sample != value) {
			return true
		}
	}
	return false
}

// set is pat_ref_set: every entry holding key gets value. A value one
// of the compiled forms cannot read leaves that entry as it was, and is
// not an error (pat_ref_set still returns success then).
func (ref *PatRef) set(key, value string) error {
	found := false
	for _, el := range ref.elts {
		if el.pattern == key {
			_ = ref.setElt(el, value)
			found = true
		}
	}
	ref.rebuildAll()
	if !found {
		return fmt.Errorf("entry not found")
	}
	return nil
}

// Set is `set map <ref> <key> <value>`.
func (ref *PatRef) Set(key, value string) error {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	return ref.set(key, value)
}

// SetByID is `set map <ref> #<id> <value>`.
func (ref *PatRef) SetByID(id uint64, value string) error {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	for _, el := range ref.elts {
		if el.id == id {
			err := ref.setElt(el, value)
			ref.rebuildAll()
			return err
		}
	}
	return fmt.Errorf("key or pattern not found")
}

// Delete is pat_ref_delete: remove every entry holding key.
func (ref *PatRef) Delete(key string) bool {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	return ref.deleteIf(func(el *patElt) bool { return el.pattern == key })
}

// DeleteByID removes the entry with that id.
func (ref *PatRef) DeleteByID(id uint64) bool {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	return ref.deleteIf(func(el *patElt) bool { return el.id == id })
}

func (ref *PatRef) deleteIf(f func(*patElt) bool) bool {
	kept := ref.elts[:0]
	n := 0
	for _, el := range ref.elts {
		if f(el) {
			n++
			continue
		}
		kept = append(kept, el)
	}
	clear(ref.elts[len(kept):])
	ref.elts = kept
	if n == 0 {
		return false
	}
	// pat_delete_gen counts one per entry, whatever the number of
	// compiled forms (haproxy's figure, kept as it prints it)
	ref.entryCnt -= uint64(n)
	ref.rebuildAll()
	return true
}

// Purge is pat_ref_purge_range: remove the entries whose version is in
// [from, to], wrapping.
func (ref *PatRef) Purge(from, to uint32) {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	ref.deleteIf(func(el *patElt) bool { return el.gen-from <= to-from })
}

// NewGen is pat_ref_newgen (`prepare map|acl`): a new version, empty.
func (ref *PatRef) NewGen() uint32 {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	ref.nextGen++
	return ref.nextGen
}

// Commit is `commit map|acl @<ver>`: make ver the current version and
// drop the older ones; false when ver is out of range.
func (ref *PatRef) Commit(gen uint32) bool {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	if gen-(ref.currGen+1) >= ref.nextGen-ref.currGen {
		return false
	}
	ref.currGen = gen
	prev := gen - 1
	from := prev - (^uint32(0) >> 1)
	ref.deleteIf(func(el *patElt) bool { return el.gen-from <= prev-from })
	ref.rebuildAll()
	return true
}

// LookupResult is one line of `get map|acl`: how one compiled form
// matches a string.
type LookupResult struct {
	Method  string // the match method's name
	ICase   bool
	Found   bool
	Tree    bool   // indexed in a tree (idx=tree) rather than a list
	Key     string // the matching entry's pattern
	Value   string
	HasVal  bool
	ValType string // the value's type as haproxy names it
}

// Get is `get map|acl <ref> <value>`: each compiled form's result.
func (ref *PatRef) Get(s string) []LookupResult {
	ref.mu.Lock()
	exprs := append([]*refExpr(nil), ref.exprs...)
	ref.mu.Unlock()
	var out []LookupResult
	for _, e := range exprs {
		r := LookupResult{Method: e.methodName(), ICase: e.icase}
		ps := e.set()
		v, ok := Cast(Value{Type: TypeStr, Str: s}, e.kind.matchType())
		i := -1
		if ok {
			i = ps.match(v)
		}
		if i >= 0 {
			p := &ps.pats[i]
			r.Found = true
			r.Tree = e.tree(p)
			if p.elt != nil {
				r.Key = p.elt.pattern
				if p.hasValue {
					r.Value, r.HasVal = p.elt.sample, true
					r.ValType = valueTypeName(p.val)
				}
			}
		}
		out = append(out, r)
	}
	return out
}

func valueTypeName(v Value) string {
	switch v.Type {
	case TypeInt:
		return "sint"
	case TypeAddr, TypeIPv4, TypeIPv6:
		if v.Addr.Is4() {
			return "ipv4"
		}
		return "ipv6"
	}
	return "str"
}

// methodName is pat_match_names for the method's match function.
func (e *refExpr) methodName() string {
	if e.regm {
		return "regm"
	}
	for n, k := range matchNames {
		if k == e.kind {
			return n
		}
	}
	return "unknown"
}

// tree reports whether haproxy indexes the pattern in a tree: exact and
// prefix strings without -i, and IP networks (IPv4 with a contiguous
// mask, IPv6).
func (e *refExpr) tree(p *pattern) bool {
	switch e.kind {
	case mStr, mBeg:
		return !e.icase
	case mIP:
		return true
	}
	return false
}

// patRefs is the set references go to: the configuration's, or a
// private one when parsing outside a configuration.
func (o *ParseOptions) patRefs() *PatRefs {
	if o != nil && o.Refs != nil {
		return o.Refs
	}
	return NewPatRefs()
}

func (o *ParseOptions) where() Where {
	if o == nil {
		return Where{}
	}
	return o.Where
}

func (o *ParseOptions) readFn() func(string) ([]byte, error) {
	if o == nil {
		return nil
	}
	return o.ReadFile
}
