package sticktable

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"hapair/pkg/sample"
)

// KeyType is a table's key type (`stick-table type ...`).
type KeyType int

const (
	KeyIP      KeyType = iota // IPv4 address
	KeyIPv6                   // IPv6 address
	KeyInteger                // 32-bit integer
	KeyString                 // string of at most Len bytes
	KeyBinary                 // Len bytes, zero-padded
)

var keyTypeNames = [...]string{KeyIP: "ip", KeyIPv6: "ipv6", KeyInteger: "integer", KeyString: "string", KeyBinary: "binary"}

func (k KeyType) String() string { return keyTypeNames[k] }

// ParseKeyType reads a `type` word.
func ParseKeyType(s string) (KeyType, bool) {
	for i, n := range keyTypeNames {
		if n == s {
			return KeyType(i), true
		}
	}
	return 0, false
}

// Config is a table's definition, from a `stick-table` line.
type Config struct {
	Name    string // the proxy's name
	Type    KeyType
	Len     int // string and binary keys (default 32)
	Size    int
	Expire  time.Duration // 0: entries never expire
	NoPurge bool
	Peers   string
	Stores  []Store
	// KeySize is haproxy's key_size when it differs from the default
	// of the type (strings with `len N`: N+1), for the peers protocol.
	KeySize int `json:",omitempty"`
}

// Clock gives the time; tests inject theirs.
type Clock func() time.Time

// Table is one stick table. It is safe for concurrent use.
type Table struct {
	cfg    Config
	stored [NumTypes]bool
	period [NumTypes]uint32 // ms, for rates
	now    Clock

	mu      sync.Mutex
	entries map[string]*Entry
	nextExp time.Time // no entry expires before; zero: none may
	// onUpdate, when set, is called (outside the lock) with an entry's
	// key after a local change: the peers protocol's hook (SetOnUpdate).
	onUpdate atomic.Pointer[func(key string)]
}

// Entry is one key's data. Its fields are guarded by the table's lock.
type Entry struct {
	key    string
	id     uint64 // stands in for haproxy's entry address in `show table`
	refs   int    // trackers
	expire time.Time
	vals   [NumTypes]int64
	freqs  [NumTypes]FreqCtr
	srvKey string
}

var entryIDs atomic.Uint64

// New builds a table; now nil is the wall clock.
func New(cfg Config, now Clock) *Table {
	if now == nil {
		now = time.Now
	}
	if (cfg.Type == KeyString || cfg.Type == KeyBinary) && cfg.Len <= 0 {
		cfg.Len = 32
	}
	t := &Table{cfg: cfg, now: now, entries: map[string]*Entry{}}
	for _, s := range cfg.Stores {
		t.stored[s.Type] = true
		if s.Type.IsRate() {
			t.period[s.Type] = uint32(s.Period / time.Millisecond)
		}
	}
	return t
}

// Name is the table's name (its proxy's).
func (t *Table) Name() string { return t.cfg.Name }

// Config is the table's definition.
func (t *Table) Config() Config { return t.cfg }

// Stores reports whether the table stores d.
func (t *Table) Stores(d DataType) bool { return d >= 0 && d < NumTypes && t.stored[d] }

// ticks is now as haproxy's wrapping millisecond clock.
func ticks(now time.Time) uint32 { return uint32(now.UnixMilli()) }

// Key converts a sample to this table's key, as haproxy's
// stktable_fetch_key casts it; ok is false when it cannot.
func (t *Table) Key(v sample.Value) (string, bool) {
	switch t.cfg.Type {
	case KeyIP:
		c, ok := sample.Cast(v, sample.TypeAddr)
		if !ok {
			return "", false
		}
		a := c.Addr.Unmap()
		if !a.Is4() {
			return "", false
		}
		b := a.As4()
		return string(b[:]), true
	case KeyIPv6:
		c, ok := sample.Cast(v, sample.TypeAddr)
		if !ok {
			return "", false
		}
		a := c.Addr
		if a.Is4() {
			a = netip.AddrFrom16(a.As16())
		}
		b := a.As16()
		return string(b[:]), true
	case KeyInteger:
		c, ok := sample.Cast(v, sample.TypeInt)
		if !ok {
			return "", false
		}
		var b [4]byte
		// Stored in host order (little-endian here), as haproxy does:
		// it decides the order of `show table`.
		binary.LittleEndian.PutUint32(b[:], uint32(c.Int))
		return string(b[:]), true
	case KeyString:
		c, ok := sample.Cast(v, sample.TypeStr)
		if !ok {
			return "", false
		}
		s := c.Str
		if len(s) > t.cfg.Len {
			s = s[:t.cfg.Len]
		}
		return s, true
	default:
		c, ok := sample.Cast(v, sample.TypeBin)
		if !ok {
			return "", false
		}
		b := make([]byte, t.cfg.Len)
		copy(b, c.Str)
		return string(b), true
	}
}

// ParseKey reads a key as the CLI gives it (`show table T key K`).
func (t *Table) ParseKey(s string) (string, error) {
	switch t.cfg.Type {
	case KeyIP:
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Unmap().Is4() {
			// haproxy's inetaddr_host gives 0.0.0.0 for what it cannot read.
			a = netip.IPv4Unspecified()
		}
		b := a.Unmap().As4()
		return string(b[:]), nil
	case KeyIPv6:
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() {
			return "", fmt.Errorf("Invalid key")
		}
		b := a.As16()
		return string(b[:]), nil
	case KeyInteger:
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return "", fmt.Errorf("Invalid key")
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		return string(b[:]), nil
	case KeyString:
		if len(s) > t.cfg.Len {
			s = s[:t.cfg.Len]
		}
		return s, nil
	}
	return "", errBinaryKey
}

var errBinaryKey = fmt.Errorf("binary keys")

// expireLocked drops the entries that expired and nobody tracks.
func (t *Table) expireLocked(now time.Time) {
	if t.nextExp.IsZero() || now.Before(t.nextExp) {
		return
	}
	var next time.Time
	for k, e := range t.entries {
		if e.expire.IsZero() {
			continue
		}
		if !now.Before(e.expire) && e.refs == 0 {
			delete(t.entries, k)
			continue
		}
		if next.IsZero() || e.expire.Before(next) {
			next = e.expire
		}
	}
	t.nextExp = next
}

// touchLocked pushes an entry's expiry to now + expire.
func (t *Table) touchLocked(e *Entry, now time.Time) {
	if t.cfg.Expire <= 0 {
		return
	}
	e.expire = now.Add(t.cfg.Expire)
	if t.nextExp.IsZero() || e.expire.Before(t.nextExp) {
		t.nextExp = e.expire
	}
}

// purgeLocked makes room when the table is full: the unreferenced
// entries closest to their expiry go first, as haproxy's
// stktable_trash_oldest, a batch of size/256+1. It reports whether there
// is room.
func (t *Table) purgeLocked() bool {
	if len(t.entries) < t.cfg.Size {
		return true
	}
	if t.cfg.NoPurge {
		return false
	}
	var cand []*Entry
	for _, e := range t.entries {
		if e.refs == 0 {
			cand = append(cand, e)
		}
	}
	sort.Slice(cand, func(i, j int) bool { return cand[i].expire.Before(cand[j].expire) })
	n := t.cfg.Size>>8 + 1
	for i := 0; i < n && i < len(cand); i++ {
		delete(t.entries, cand[i].key)
	}
	return len(t.entries) < t.cfg.Size
}

// getLocked finds or creates the entry for key; nil when the table is
// full and cannot purge.
func (t *Table) getLocked(key string, now time.Time) *Entry {
	t.expireLocked(now)
	if e := t.entries[key]; e != nil {
		return e
	}
	if !t.purgeLocked() {
		return nil
	}
	e := &Entry{key: key, id: entryIDs.Add(1)}
	t.entries[key] = e
	t.touchLocked(e, now)
	return e
}

// lookupLocked finds an entry without creating it.
func (t *Table) lookupLocked(key string, now time.Time) *Entry {
	t.expireLocked(now)
	return t.entries[key]
}

// Len is the number of entries (`used` in `show table`).
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(t.now())
	return len(t.entries)
}

// valueLocked reads one data type of an entry as the fetches see it.
func (t *Table) valueLocked(e *Entry, d DataType, now time.Time) int64 {
	if dataTypes[d].kind == kindFreq {
		return int64(e.freqs[d].Read(ticks(now), t.period[d]))
	}
	return e.vals[d]
}

// addLocked adds n to a counter or a rate, if stored.
func (t *Table) addLocked(e *Entry, d DataType, n int64, now time.Time) {
	if !t.stored[d] {
		return
	}
	if dataTypes[d].kind == kindFreq {
		e.freqs[d].Update(ticks(now), t.period[d], uint32(n))
		return
	}
	v := e.vals[d] + n
	switch dataTypes[d].kind {
	case kindUint:
		v = int64(uint32(v))
	case kindSint:
		v = int64(int32(v))
	}
	e.vals[d] = v
}

// Get reads one data type of the entry for key; ok is false when the
// table does not store it. found is false when there is no such entry.
func (t *Table) Get(key string, d DataType) (v int64, found, ok bool) {
	if !t.Stores(d) {
		return 0, false, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.lookupLocked(key, now)
	if e == nil {
		return 0, false, true
	}
	return t.valueLocked(e, d, now), true, true
}

// Has reports whether key has an entry (in_table).
func (t *Table) Has(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lookupLocked(key, t.now()) != nil
}

// Trackers is how many streams track the entry for key.
func (t *Table) Trackers(key string) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.lookupLocked(key, t.now())
	if e == nil {
		return 0, false
	}
	return e.refs, true
}

func (t *Table) changed(key string) {
	if f := t.onUpdate.Load(); f != nil {
		(*f)(key)
	}
}

// SetOnUpdate sets the function called with an entry's key after each
// local change (not after ApplyRemote): the peers protocol's hook. nil
// removes it.
func (t *Table) SetOnUpdate(f func(key string)) {
	if f == nil {
		t.onUpdate.Store(nil)
		return
	}
	t.onUpdate.Store(&f)
}

// LookupServer reads the server an entry stores (stick match): its name
// (server_key) and id (server_id), and refreshes the entry's expiry.
func (t *Table) LookupServer(key string) (name string, id int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.lookupLocked(key, now)
	if e == nil {
		return "", 0, false
	}
	t.touchLocked(e, now)
	return e.srvKey, e.vals[ServerID], true
}

// StoreServer stores the server a request went to under key (stick
// store-request), creating the entry.
func (t *Table) StoreServer(key string, id int64, name string) {
	t.mu.Lock()
	now := t.now()
	e := t.getLocked(key, now)
	if e == nil {
		t.mu.Unlock()
		return
	}
	if t.stored[ServerID] {
		e.vals[ServerID] = int64(int32(id))
	}
	if t.stored[ServerKey] {
		e.srvKey = name
	}
	t.touchLocked(e, now)
	t.mu.Unlock()
	t.changed(key)
}
