package peers

import (
	"encoding/binary"
	"sort"
	"sync"
	"time"

	"hapair/pkg/peers/wire"
	"hapair/pkg/sticktable"
)

// Table is one stick table a section replicates.
type Table struct {
	T *sticktable.Table
	// Name is the table's name on the wire (haproxy's nid): the proxy's
	// name for a proxy's table.
	Name string
	// KeySize is haproxy's key_size: 4 for ip and integer, 16 for ipv6,
	// the length for binary, and for strings 32 by default or the `len`
	// plus one for the NUL.
	KeySize int
}

// DefaultKeySize is haproxy's key_size of a table type whose length was
// not given (`len` adds one for strings: pass it explicitly then).
func DefaultKeySize(t sticktable.KeyType) int {
	switch t {
	case sticktable.KeyIPv6:
		return 16
	case sticktable.KeyString, sticktable.KeyBinary:
		return 32
	}
	return 4
}

// wireKeyType is the protocol's number for a key type.
func wireKeyType(t sticktable.KeyType) wire.KeyType {
	switch t {
	case sticktable.KeyIPv6:
		return wire.KeyIPv6
	case sticktable.KeyInteger:
		return wire.KeySInt
	case sticktable.KeyString:
		return wire.KeyStr
	case sticktable.KeyBinary:
		return wire.KeyBin
	}
	return wire.KeyIPv4
}

// rec is one local change of an entry.
type rec struct {
	seq uint64
	key string
}

// table is a replicated table with its log of local changes, which each
// session pushes from its own cursor (haproxy's update tree and
// localupdate).
type table struct {
	Table
	id  uint64 // our id for it on the wire, from 1
	def wire.Definition

	mu    sync.Mutex
	seq   uint64            // the last local change (haproxy's localupdate)
	order []rec             // changes in seq order; stale ones where last differs
	last  map[string]uint64 // each key's last change
}

func newTable(tb Table, id uint64) *table {
	t := &table{Table: tb, id: id, last: map[string]uint64{}}
	cfg := tb.T.Config()
	d := wire.Definition{ID: id, Name: tb.Name, KeyType: wireKeyType(cfg.Type), KeyLen: uint64(tb.KeySize),
		HasExpire: true, Expire: uint64(cfg.Expire / time.Millisecond), Params: map[int]wire.Param{}}
	for _, s := range cfg.Stores {
		d.Data |= 1 << uint(s.Type)
		if s.Type.IsRate() {
			d.Params[int(s.Type)] = wire.Param{Period: uint64(s.Period / time.Millisecond)}
		}
	}
	t.def = d
	return t
}

// add records a local change of key.
func (t *table) add(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	t.last[key] = t.seq
	t.order = append(t.order, rec{t.seq, key})
	if len(t.order) > 2*len(t.last)+1024 {
		t.compactLocked()
	}
}

// compactLocked drops the stale records and the keys whose entry is gone.
func (t *table) compactLocked() {
	out := t.order[:0]
	for _, r := range t.order {
		if t.last[r.key] != r.seq {
			continue
		}
		if !t.T.Has(r.key) {
			delete(t.last, r.key)
			continue
		}
		out = append(out, r)
	}
	t.order = out
}

// since lists up to max live changes after cursor, oldest first.
func (t *table) since(cursor uint64, max int) []rec {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.order), func(i int) bool { return t.order[i].seq > cursor })
	var out []rec
	for ; i < len(t.order) && len(out) < max; i++ {
		if r := t.order[i]; t.last[r.key] == r.seq {
			out = append(out, r)
		}
	}
	return out
}

// current is the last local change.
func (t *table) current() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

// widen turns a 32-bit update id a peer acked back into a cursor near
// the current one; an id from the future (a peer acking what an older
// process sent) restarts from the beginning, as haproxy does.
func (t *table) widen(id uint32) uint64 {
	cur := t.current()
	c := cur&^0xffffffff | uint64(id)
	if c > cur {
		if cur < 1<<32 {
			return 0
		}
		c -= 1 << 32
	}
	return c
}

// wireKey is a table key as the protocol sends it.
func (t *table) wireKey(key string) []byte {
	switch t.T.Config().Type {
	case sticktable.KeyInteger:
		// gproxy keeps integer keys in host order, the wire in network order.
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], binary.LittleEndian.Uint32([]byte(key)))
		return b[:]
	case sticktable.KeyBinary:
		b := make([]byte, t.KeySize)
		copy(b, key)
		return b
	}
	return []byte(key)
}

// tableKey is a key from the wire as the table keeps it.
func (t *table) tableKey(b []byte) (string, bool) {
	cfg := t.T.Config()
	switch cfg.Type {
	case sticktable.KeyInteger:
		if len(b) != 4 {
			return "", false
		}
		var k [4]byte
		binary.LittleEndian.PutUint32(k[:], binary.BigEndian.Uint32(b))
		return string(k[:]), true
	case sticktable.KeyString:
		if len(b) > cfg.Len {
			b = b[:cfg.Len]
		}
		return string(b), true
	case sticktable.KeyBinary:
		k := make([]byte, cfg.Len)
		copy(k, b)
		return string(k), true
	}
	return string(b), true
}

// layout is how updates for this table are encoded.
func (t *table) layout() wire.Layout {
	return wire.Layout{KeyType: t.def.KeyType, KeyLen: t.def.KeyLen, Data: t.def.Data}
}
