package sticktable

// Ref is one tracked entry (a stick counter, haproxy's stkctr): while it
// is held the entry does not expire.
type Ref struct {
	t *Table
	e *Entry
}

// Table is the table of the tracked entry.
func (r *Ref) Table() *Table { return r.t }

// Key is the tracked entry's key.
func (r *Ref) Key() string { return r.e.key }

// Track finds or creates the entry for key and tracks it, counting a new
// connection on it (conn_cur, conn_cnt, conn_rate), as haproxy's
// stream_track_stkctr does. It returns nil when the table is full and
// cannot purge (nopurge).
func (t *Table) Track(key string) *Ref {
	t.mu.Lock()
	now := t.now()
	e := t.getLocked(key, now)
	if e == nil {
		t.mu.Unlock()
		return nil
	}
	e.refs++
	t.addLocked(e, ConnCur, 1, now)
	t.addLocked(e, ConnCnt, 1, now)
	t.addLocked(e, ConnRate, 1, now)
	t.touchLocked(e, now)
	t.mu.Unlock()
	t.changed(key)
	return &Ref{t: t, e: e}
}

// Release stops tracking: conn_cur goes down and the entry may expire.
func (r *Ref) Release() {
	t := r.t
	t.mu.Lock()
	now := t.now()
	if t.stored[ConnCur] && r.e.vals[ConnCur] > 0 {
		r.e.vals[ConnCur]--
	}
	r.e.refs--
	// An entry that expired while tracked goes now (stksess_kill_if_expired).
	if r.e.refs == 0 && !r.e.expire.IsZero() && !now.Before(r.e.expire) && t.entries[r.e.key] == r.e {
		delete(t.entries, r.e.key)
	}
	t.mu.Unlock()
	t.changed(r.e.key)
}

// Add adds n to each stored data type of ds, refreshing the expiry.
func (r *Ref) Add(n int64, ds ...DataType) {
	t := r.t
	t.mu.Lock()
	now := t.now()
	touched := false
	for _, d := range ds {
		if t.stored[d] {
			t.addLocked(r.e, d, n, now)
			touched = true
		}
	}
	if touched {
		t.touchLocked(r.e, now)
	}
	t.mu.Unlock()
	if touched {
		t.changed(r.e.key)
	}
}

// Value reads a data type; ok is false when the table does not store it.
func (r *Ref) Value(d DataType) (int64, bool) {
	t := r.t
	if !t.stored[d] {
		return 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.valueLocked(r.e, d, t.now()), true
}

// Trackers is how many hold the entry.
func (r *Ref) Trackers() int {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	return r.e.refs
}

// gpcTypes are the counter and rate of gpc0 and gpc1.
var gpcTypes = [2][2]DataType{{GPC0, GPC0Rate}, {GPC1, GPC1Rate}}

// IncGPC increments gpc0 or gpc1 (and its rate) and returns the new
// counter, ok false when neither is stored (sc_inc_gpc0).
func (r *Ref) IncGPC(idx int) (int64, bool) {
	c, rate := gpcTypes[idx][0], gpcTypes[idx][1]
	t := r.t
	if !t.stored[c] && !t.stored[rate] {
		return 0, false
	}
	r.Add(1, rate, c)
	v, _ := r.Value(c)
	return v, true
}

// ClrGPC zeroes gpc0 or gpc1 and returns its former value.
func (r *Ref) ClrGPC(idx int) (int64, bool) {
	c := gpcTypes[idx][0]
	t := r.t
	if !t.stored[c] {
		return 0, false
	}
	t.mu.Lock()
	now := t.now()
	old := r.e.vals[c]
	r.e.vals[c] = 0
	t.touchLocked(r.e, now)
	t.mu.Unlock()
	t.changed(r.e.key)
	return old, true
}

// SetGPT0 stores v in gpt0 (sc-set-gpt0).
func (r *Ref) SetGPT0(v int64) {
	t := r.t
	if !t.stored[GPT0] {
		return
	}
	t.mu.Lock()
	r.e.vals[GPT0] = int64(uint32(v))
	t.touchLocked(r.e, t.now())
	t.mu.Unlock()
	t.changed(r.e.key)
}

// Slots are the three stick counters sc0..sc2.
type Slots [3]*Ref

// Counters are a stream's stick counters: its own (tracked by
// tcp-request content and http-request rules, released when the stream
// ends) and its session's (tcp-request connection and session rules,
// released with the connection). A fetch of scN reads the stream's
// counter, else the session's, as haproxy does.
type Counters struct {
	Sess *Slots
	Strm Slots
	// ended: EndStream released the stream's counters; they still
	// receive the stream's last counts (errors, bytes).
	ended bool
	// early: the stream's counter i started tracking on the response
	// (http-response track-sc) and had its error or failure counted
	// then; the request's end does not count it again.
	early [3]bool
}

// Slot is counter i as fetches see it; nil when not tracked.
func (c *Counters) Slot(i int) *Ref {
	if c == nil || i < 0 || i > 2 {
		return nil
	}
	if r := c.Strm[i]; r != nil {
		return r
	}
	if c.Sess != nil {
		return c.Sess[i]
	}
	return nil
}

// each calls f on counter i of each slot, the stream's first, else the
// session's: how haproxy counts HTTP requests, errors and bytes.
func (c *Counters) each(f func(*Ref)) {
	for i := 0; i < 3; i++ {
		if r := c.Slot(i); r != nil {
			f(r)
		}
	}
}

// HTTPRequest counts a new HTTP request (http_req_cnt, http_req_rate).
func (c *Counters) HTTPRequest() { c.each(func(r *Ref) { r.Add(1, HTTPReqCnt, HTTPReqRate) }) }

// HTTPError counts a request that ended in a 4xx or was denied.
func (c *Counters) HTTPError() { c.eachLate(func(r *Ref) { r.Add(1, HTTPErrCnt, HTTPErrRate) }) }

// HTTPFailure counts a 5xx response other than 501 and 505.
func (c *Counters) HTTPFailure() { c.eachLate(func(r *Ref) { r.Add(1, HTTPFailCnt, HTTPFailRate) }) }

// eachLate is each but for the counters tracked on the response, whose
// error and failure were counted then (TrackedOnResponse).
func (c *Counters) eachLate(f func(*Ref)) {
	for i := 0; i < 3; i++ {
		if r := c.Slot(i); r != nil && !(c.early[i] && r == c.Strm[i]) {
			f(r)
		}
	}
}

// TrackedOnResponse counts on the stream's counter i, which an
// http-response track-sc just took, the request and the response's
// status, as haproxy's http_action_track_sc does: the entry missed the
// request's start, and the error (4xx) or failure (5xx but 501 and 505)
// counted when the response arrived.
func (c *Counters) TrackedOnResponse(i, status int) {
	r := c.Strm[i]
	if r == nil {
		return
	}
	r.Add(1, HTTPReqCnt, HTTPReqRate)
	switch {
	case status >= 400 && status < 500:
		r.Add(1, HTTPErrCnt, HTTPErrRate)
	case status >= 500 && status < 600 && status != 501 && status != 505:
		r.Add(1, HTTPFailCnt, HTTPFailRate)
	}
	c.early[i] = true
}

// Bytes counts what the client sent and received.
func (c *Counters) Bytes(in, out int64) {
	c.each(func(r *Ref) {
		if in > 0 {
			r.Add(in, BytesInCnt, BytesInRate)
		}
		if out > 0 {
			r.Add(out, BytesOutCnt, BytesOutRate)
		}
	})
}

// SessionStarted counts a new session on the session's counters
// (sess_cnt, sess_rate), once its tcp-request session rules ran.
func (c *Counters) SessionStarted() {
	if c.Sess == nil {
		return
	}
	for _, r := range c.Sess {
		if r != nil {
			r.Add(1, SessCnt, SessRate)
		}
	}
}

// EndStream releases the stream's own counters while it finishes its
// answer (haproxy frees a stream that answers by itself at once); the
// stream's last counts still go to them.
func (c *Counters) EndStream() {
	if c.ended {
		return
	}
	for _, r := range c.Strm {
		if r != nil {
			r.Release()
		}
	}
	c.ended = true
}

// ReleaseStream releases the stream's own counters.
func (c *Counters) ReleaseStream() {
	for i, r := range c.Strm {
		if r != nil {
			if !c.ended {
				r.Release()
			}
			c.Strm[i] = nil
		}
	}
	c.ended, c.early = false, [3]bool{}
}

// ReleaseSession releases the session's counters.
func (c *Counters) ReleaseSession() {
	if c.Sess == nil {
		return
	}
	for i, r := range c.Sess {
		if r != nil {
			r.Release()
			c.Sess[i] = nil
		}
	}
}
