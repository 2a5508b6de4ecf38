package sticktable

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Set is every table of a configuration, in the order haproxy lists them
// (the last declared first).
type Set struct {
	list   []*Table
	byName map[string]*Table
}

// NewSet builds the set from the tables in declaration order.
func NewSet(tables []*Table) *Set {
	s := &Set{byName: map[string]*Table{}}
	for i := len(tables) - 1; i >= 0; i-- {
		s.list = append(s.list, tables[i])
		s.byName[tables[i].Name()] = tables[i]
	}
	return s
}

// Table finds a table by name; nil when there is none.
func (s *Set) Table(name string) *Table {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// Tables lists the tables.
func (s *Set) Tables() []*Table {
	if s == nil {
		return nil
	}
	return s.list
}

// CLI actions.
const (
	actShow = iota
	actClear
	actSet
)

// Show runs `show table [NAME [data.TYPE OP VALUE]... | [key KEY]]`;
// args are the words after "show table". oper says whether the session
// may see the contents (level operator or admin).
func (s *Set) Show(args []string, oper bool) string { return s.cli(actShow, args, oper) }

// Clear runs `clear table NAME [data.TYPE OP VALUE]... | [key KEY]`.
func (s *Set) Clear(args []string, oper bool) string { return s.cli(actClear, args, oper) }

// SetEntry runs `set table NAME key KEY [data.TYPE VALUE]...`.
func (s *Set) SetEntry(args []string, oper bool) string { return s.cli(actSet, args, oper) }

type filter struct {
	d   DataType
	op  string
	val int64
}

func argN(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func (s *Set) cli(act int, args []string, oper bool) string {
	name := argN(args, 0)
	if name == "" {
		if act != actShow {
			return argsError(act)
		}
		var b strings.Builder
		for _, t := range s.Tables() {
			t.head(&b, false, oper)
		}
		return b.String()
	}
	t := s.Table(name)
	if t == nil {
		return "No such table\n"
	}
	switch {
	case argN(args, 1) == "key":
		return t.perKey(act, args, oper)
	case strings.HasPrefix(argN(args, 1), "data."):
		if act != actShow && act != actClear {
			return "content-based lookup is only supported with the \"show\" and \"clear\" actions\n"
		}
		fs, msg := t.filters(args[1:])
		if msg != "" {
			return msg
		}
		return t.dump(act, fs, oper)
	case argN(args, 1) != "":
		return argsError(act)
	}
	if act == actSet {
		return argsError(act)
	}
	return t.dump(act, nil, oper)
}

func argsError(act int) string {
	switch act {
	case actShow:
		return "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n"
	case actClear:
		return "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n"
	}
	return "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n"
}

// filters reads up to four `data.TYPE OP VALUE` triplets.
func (t *Table) filters(args []string) ([]filter, string) {
	var fs []filter
	i := 0
	for ; i < 4; i++ {
		if i > 0 && argN(args, 3*i) == "" {
			break
		}
		d, ok := LookupDataType(strings.TrimPrefix(argN(args, 3*i), "data."))
		if !ok || !strings.HasPrefix(argN(args, 3*i), "data.") {
			return nil, fmt.Sprintf("Filter entry #%d: Unknown data type\n", i+1)
		}
		if !t.stored[d] {
			return nil, fmt.Sprintf("Filter entry #%d: Data type not stored in this table\n", i+1)
		}
		op := argN(args, 3*i+1)
		switch op {
		case "eq", "ne", "le", "ge", "lt", "gt":
		default:
			return nil, fmt.Sprintf("Filter entry #%d: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n", i+1)
		}
		v, err := strconv.ParseInt(argN(args, 3*i+2), 10, 64)
		if err != nil {
			return nil, fmt.Sprintf("Filter entry #%d: Require a valid integer value to compare against\n", i+1)
		}
		fs = append(fs, filter{d, op, v})
	}
	if w := argN(args, 3*i); w != "" {
		// Word numbers count "show table NAME" (haproxy's args[]).
		return nil, fmt.Sprintf("Detected extra data in filter, %dth word of input, after '%s'\n", 3+3*i+1, args[3*i-1])
	}
	return fs, ""
}

func (f filter) keep(v int64) bool {
	switch f.op {
	case "eq":
		return v == f.val
	case "ne":
		return v != f.val
	case "le":
		return v <= f.val
	case "ge":
		return v >= f.val
	case "lt":
		return v < f.val
	}
	return v > f.val
}

// head writes the table's summary line.
func (t *Table) head(b *strings.Builder, target, oper bool) {
	t.mu.Lock()
	t.expireLocked(t.now())
	t.headLocked(b, target, oper)
	t.mu.Unlock()
}

func (t *Table) headLocked(b *strings.Builder, target, oper bool) {
	fmt.Fprintf(b, "# table: %s, type: %s, size:%d, used:%d\n", t.cfg.Name, t.cfg.Type, t.cfg.Size, len(t.entries))
	if target && !oper {
		b.WriteString("# contents not dumped due to insufficient privileges\n")
	}
}

// sortedLocked lists the entries in haproxy's tree order: by key bytes.
func (t *Table) sortedLocked() []*Entry {
	out := make([]*Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// dump shows or clears the entries passing the filters.
func (t *Table) dump(act int, fs []filter, oper bool) string {
	var b strings.Builder
	// One instant for the head and the entries: an entry expiring in
	// between would leave the head counting it.
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.expireLocked(now)
	if act == actShow {
		t.headLocked(&b, true, oper)
	}
	if !oper || t.cfg.Size == 0 {
		return b.String()
	}
	for _, e := range t.sortedLocked() {
		skip := false
		for _, f := range fs {
			if !f.keep(t.valueLocked(e, f.d, now)) {
				skip = true
				break
			}
		}
		if skip {
			continue
		}
		if act == actShow {
			t.entryLocked(&b, e, now)
		} else if e.refs == 0 {
			delete(t.entries, e.key)
		}
	}
	return b.String()
}

// KeyString is a key as `show table` prints it.
func (t *Table) KeyString(key string) string {
	switch t.cfg.Type {
	case KeyIP:
		return netip.AddrFrom4([4]byte([]byte(key))).String()
	case KeyIPv6:
		return netip.AddrFrom16([16]byte([]byte(key))).String()
	case KeyInteger:
		return strconv.FormatUint(uint64(binary.LittleEndian.Uint32([]byte(key))), 10)
	case KeyString:
		return dumpText(key)
	}
	return fmt.Sprintf("%X", key)
}

// dumpText escapes a string key as haproxy's dump_text.
func dumpText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && s[i] != 0; i++ {
		c := s[i]
		switch {
		case c > 0x20 && c < 0x7f && c != '\\' && c != '=':
			b.WriteByte(c)
		case c == ' ' || c == '\\' || c == '=':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == 0x1b:
			b.WriteString(`\e`)
		default:
			fmt.Fprintf(&b, `\x%02X`, c)
		}
	}
	return b.String()
}

// entryLocked writes one entry's line.
func (t *Table) entryLocked(b *strings.Builder, e *Entry, now time.Time) {
	exp := int64(0)
	if !e.expire.IsZero() {
		exp = e.expire.UnixMilli() - now.UnixMilli()
		if exp < 0 {
			exp = 0
		}
	}
	fmt.Fprintf(b, "0x%x: key=%s use=%d exp=%d", 0x55d000000000+e.id*0x40, t.KeyString(e.key), e.refs, exp)
	nowT := ticks(now)
	for d := DataType(0); d < NumTypes; d++ {
		if !t.stored[d] {
			continue
		}
		switch dataTypes[d].kind {
		case kindFreq:
			fmt.Fprintf(b, " %s(%d)=%d", d, t.period[d], e.freqs[d].Read(nowT, t.period[d]))
		case kindDict:
			v := e.srvKey
			if v == "" {
				v = "-"
			}
			fmt.Fprintf(b, " %s=%s", d, v)
		default:
			fmt.Fprintf(b, " %s=%d", d, e.vals[d])
		}
	}
	b.WriteString("\n")
}

// perKey is the `key KEY` form of the three commands.
func (t *Table) perKey(act int, args []string, oper bool) string {
	k := argN(args, 2)
	if k == "" {
		return "Key value expected\n"
	}
	key, err := t.ParseKey(k)
	if err == errBinaryKey {
		switch act {
		case actShow:
			return "Showing keys from tables of type other than ip, ipv6, string and integer is not supported\n"
		case actClear:
			return "Removing keys from tables of type other than ip, ipv6, string and integer is not supported\n"
		}
		return "Inserting keys into tables of type other than ip, ipv6, string and integer is not supported\n"
	}
	if err != nil {
		return err.Error() + "\n"
	}
	if !oper {
		return ""
	}
	var b strings.Builder
	switch act {
	case actShow:
		t.mu.Lock()
		defer t.mu.Unlock()
		now := t.now()
		e := t.lookupLocked(key, now)
		if e == nil {
			return ""
		}
		t.headLocked(&b, true, oper)
		t.entryLocked(&b, e, now)
		return b.String()
	case actClear:
		t.mu.Lock()
		defer t.mu.Unlock()
		e := t.lookupLocked(key, t.now())
		if e == nil {
			return ""
		}
		if e.refs > 0 {
			return "Entry currently in use, cannot remove\n"
		}
		delete(t.entries, key)
		return ""
	}
	t.mu.Lock()
	now := t.now()
	e := t.getLocked(key, now)
	if e == nil {
		t.mu.Unlock()
		return "Unable to allocate a new entry\n"
	}
	msg := ""
	for i := 3; argN(args, i) != ""; i += 2 {
		w := args[i]
		if !strings.HasPrefix(w, "data.") {
			msg = "\"data.<type>\" followed by a value expected\n"
			break
		}
		d, ok := LookupDataType(w[5:])
		if !ok {
			msg = "Unknown data type\n"
			break
		}
		if !t.stored[d] {
			msg = "Data type not stored in this table\n"
			break
		}
		v, err := strconv.ParseInt(argN(args, i+1), 10, 64)
		if err != nil {
			msg = "Require a valid integer value to store\n"
			break
		}
		switch dataTypes[d].kind {
		case kindFreq:
			e.freqs[d].Set(ticks(now), uint32(v))
		case kindUint:
			e.vals[d] = int64(uint32(v))
		case kindSint:
			e.vals[d] = int64(int32(v))
		case kindULL:
			e.vals[d] = v
		}
	}
	t.touchLocked(e, now)
	t.mu.Unlock()
	t.changed(key)
	return msg
}
