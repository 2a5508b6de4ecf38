package tlsconf

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
)

// CrtList is a crt-list file or a `crt` directory as haproxy 2.6's CLI
// knows them (`show/del ssl crt-list`): its entries in order, each loaded
// into the store of every bind line that names the list.
type CrtList struct {
	Path string // as named in the configuration, without trailing '/'
	Dir  bool

	mu      sync.Mutex
	entries []*CrtListEntry
	binds   []ListBind
	lines   int // lines of the file: an added entry takes the next number
}

// ListBind is a bind line that loads a crt-list.
type ListBind struct {
	Store *Store
	// Pos is the bind line ("file:line"), for the CLI's messages.
	Pos string
	// Strict is strict-sni: the default certificate is never served.
	Strict bool
	// Base is what the options of the lines added on the stats socket
	// are resolved against (nil: options are refused).
	Base *EntryBase
}

// CrtListEntry is one line of a crt-list (one file of a directory).
type CrtListEntry struct {
	Cert    string // the certificate file, as loaded (crt-base applied)
	Line    int    // 1 = first line; 0 for a directory's files
	Filters []string
	Opts    *EntryOptions     // the line's bracketed options, nil for none
	ids     map[*Store]uint64 // the entry's certificate in each bind's store
}

// Entries are the list's entries in order.
func (l *CrtList) Entries() []*CrtListEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*CrtListEntry(nil), l.entries...)
}

// Binds are the bind lines that load the list.
func (l *CrtList) Binds() []ListBind {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ListBind(nil), l.binds...)
}

// AddBind records that a bind line loaded certs, the entries of the list
// in order (one per entry, as LoadCrtListEntries returns them).
func (l *CrtList) AddBind(b ListBind, certs []*Cert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.binds = append(l.binds, b)
	for i, c := range certs {
		if i < len(l.entries) {
			if l.entries[i].ids == nil {
				l.entries[i].ids = map[*Store]uint64{}
			}
			l.entries[i].ids[b.Store] = c.id
		}
	}
}

// SetEntries sets the list's entries and its file's number of lines
// (from the first bind that loads it).
func (l *CrtList) SetEntries(e []*CrtListEntry, lines int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries, l.lines = e, lines
	}
}

// Add appends an entry for certificate c (its path, the entry's
// filters) to the list and to the store of every bind that loads it, for
// new handshakes, as `add ssl crt-list`; it returns how many binds took
// it.
func (l *CrtList) Add(c *Cert, filters []string) int {
	n, _ := l.AddWithOptions(c, filters, nil, nil)
	return n
}

// ErrNoEntryBase is a line with options added to a list whose bind lines
// were read without their settings.
var ErrNoEntryBase = errors.New("per-certificate options are not available for this crt-list")

// AddWithOptions is Add for a line with options o (nil for none),
// resolved for every bind line of the list (load finds their CA and CRL
// files) before the line is added anywhere.
func (l *CrtList) AddWithOptions(c *Cert, filters []string, o *EntryOptions, load func(path string, kind CAKind) (*CAFile, error)) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	entries := make([]*Entry, len(l.binds))
	if o != nil {
		for i, b := range l.binds {
			if b.Base == nil || b.Base.Settings == nil {
				return 0, ErrNoEntryBase
			}
			e, err := ResolveEntry(b.Base, o, load)
			if err != nil {
				return 0, err
			}
			entries[i] = e
		}
	}
	l.lines++
	e := &CrtListEntry{Cert: c.Path, Line: l.lines, Filters: filters, Opts: o, ids: map[*Store]uint64{}}
	for i, b := range l.binds {
		nc := *c
		nc.Filters, nc.Entry, nc.id = filters, entries[i], 0
		nc.ensureID()
		b.Store.add(&nc)
		e.ids[b.Store] = nc.id
	}
	l.entries = append(l.entries, e)
	return len(l.binds), nil
}

// IsDefault tells whether the entry's certificate is the default of a
// bind line without strict-sni, and which lines.
func (l *CrtList) IsDefault(e *CrtListEntry) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, b := range l.binds {
		if id, ok := e.ids[b.Store]; ok && !b.Strict && b.Store.defaultID() == id {
			out = append(out, b.Pos)
		}
	}
	return out
}

// Remove deletes the entry: its certificate leaves every bind's store.
func (l *CrtList) Remove(e *CrtListEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.entries {
		if x == e {
			l.entries = append(l.entries[:i:i], l.entries[i+1:]...)
			break
		}
	}
	for st, id := range e.ids {
		st.remove(id)
	}
}

// NewCrtList makes the list of path (a crt-list file, or a directory).
func NewCrtList(path string, dir bool) *CrtList {
	return &CrtList{Path: strings.TrimRight(path, "/"), Dir: dir}
}

var certIDs atomic.Uint64

// ensureID gives c an identity kept across Replace.
func (c *Cert) ensureID() {
	if c.id == 0 {
		c.id = certIDs.Add(1)
	}
}

func (s *Store) defaultID() uint64 {
	if d := s.idx.Load().def; d != nil {
		return d.id
	}
	return 0
}

// add puts c after the store's certificates (not as the default).
func (s *Store) add(c *Cert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.idx.Load()
	ix := newIndex(append(old.certs[:len(old.certs):len(old.certs)], c))
	ix.def = old.def
	s.idx.Store(ix)
}

// remove takes the certificate of identity id out of the store.
func (s *Store) remove(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.idx.Load()
	certs := make([]*Cert, 0, len(old.certs))
	for _, c := range old.certs {
		if c.id != id {
			certs = append(certs, c)
		}
	}
	ix := newIndex(certs)
	// haproxy keeps the bind's default: only a strict-sni one (which
	// never serves it) may lose its default entry.
	ix.def = old.def
	if ix.def != nil && ix.def.id == id {
		ix.def = nil
	}
	s.idx.Store(ix)
}
