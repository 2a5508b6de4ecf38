package sticktable

import "time"

// Replication (haproxy's peers protocol, package peers): an entry's
// data as it travels between peers, read with Snapshot and written with
// ApplyRemote.

// EntryState is an entry's replicated data: its key, remaining expiry,
// counters, frequency counters and server name.
type EntryState struct {
	Key    string
	Expire time.Duration // remaining; 0 when the table has no expiry
	Vals   [NumTypes]int64
	// Freqs are the frequency counters, their Tick holding the ms since
	// the current period started (the protocol sends it so).
	Freqs  [NumTypes]FreqCtr
	SrvKey string
}

// IsLocal reports whether d stays on its node (conn_cur: haproxy's
// is_local data types are never taken from a peer).
func (d DataType) IsLocal() bool { return d == ConnCur }

// Keys lists the keys of the live entries, in `show table` order.
func (t *Table) Keys() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(t.now())
	es := t.sortedLocked()
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.key
	}
	return out
}

// Snapshot reads the entry for key; ok is false when there is none.
func (t *Table) Snapshot(key string) (EntryState, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.lookupLocked(key, now)
	if e == nil {
		return EntryState{}, false
	}
	st := EntryState{Key: key, Vals: e.vals, SrvKey: e.srvKey}
	if !e.expire.IsZero() {
		if st.Expire = e.expire.Sub(now); st.Expire < 0 {
			st.Expire = 0
		}
	}
	tk := ticks(now)
	for d := DataType(0); d < NumTypes; d++ {
		if t.stored[d] && dataTypes[d].kind == kindFreq {
			f := e.freqs[d]
			f.Tick = tk - f.Tick
			st.Freqs[d] = f
		}
	}
	return st, true
}

// ApplyRemote stores an entry a peer sent (haproxy's
// peer_treat_updatemsg): it creates the entry if needed (purging as a
// local one would), sets each data type has reports the peer sent and the
// table stores, except the local ones, and sets the entry's expiry to
// expire from now. It does not call the update hook: what is learnt is not
// pushed back. It reports whether the entry was stored.
func (t *Table) ApplyRemote(st EntryState, has func(DataType) bool, expire time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.getLocked(st.Key, now)
	if e == nil {
		return false
	}
	tk := ticks(now)
	for d := DataType(0); d < NumTypes; d++ {
		if !t.stored[d] || !has(d) || d.IsLocal() {
			continue
		}
		switch dataTypes[d].kind {
		case kindFreq:
			f := st.Freqs[d]
			f.Tick = (tk - f.Tick) &^ 1
			e.freqs[d] = f
		case kindDict:
			e.srvKey = st.SrvKey
		case kindUint:
			e.vals[d] = int64(uint32(st.Vals[d]))
		case kindSint:
			e.vals[d] = int64(int32(st.Vals[d]))
		default:
			e.vals[d] = st.Vals[d]
		}
	}
	if t.cfg.Expire > 0 {
		e.expire = now.Add(expire)
		if t.nextExp.IsZero() || e.expire.Before(t.nextExp) {
			t.nextExp = e.expire
		}
	}
	return true
}
