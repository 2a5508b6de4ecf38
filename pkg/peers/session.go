package peers

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"hapair/pkg/peers/wire"
	"hapair/pkg/sticktable"
)

// session is one connection with a peer, established in either
// direction. Its fields after conn are guarded by the section's lock.
type session struct {
	s    *Section
	p    *peer
	conn net.Conn
	wake chan struct{}
	once sync.Once
	done chan struct{}

	established bool
	downgrade   bool // the peer speaks 2.0: no expiry in updates
	tables      map[*table]*sessTable
	remote      *sessTable // the table the peer's updates are for
	lastDefined *table     // the table our last updates were for
	learning    bool       // we learn from this peer
	teaching    bool       // we teach it everything (a resync)
	teachSent   bool       // ...and said so
	taught      bool       // it confirmed the lesson (local peer, stopping)
	confirm     int        // confirmations to send
	heartbeat   bool
	lastSent    time.Time
	dictNext    uint64
	dictRx      [128]string
}

// sessTable is a table's state in one session.
type sessTable struct {
	t           *table
	pushed      uint64 // the last local change sent (haproxy's last_pushed)
	origin      uint64 // where a lesson started (teaching_origin)
	teachDone   bool
	teachKeys   []string // the entries of a lesson still to send
	remoteID    uint64   // the peer's id for the table, 0 before its definition
	remoteData  uint64
	remoteElems map[int]uint64
	lastGet     uint32 // the last update id received
	lastAcked   uint32 // the last one acked
}

func (s *Section) newSession(p *peer, c net.Conn) *session {
	sess := &session{s: s, p: p, conn: c, wake: make(chan struct{}, 1), done: make(chan struct{}),
		tables: map[*table]*sessTable{}}
	for _, t := range s.tables {
		sess.tables[t] = &sessTable{t: t}
	}
	return sess
}

func (sess *session) poke() {
	select {
	case sess.wake <- struct{}{}:
	default:
	}
}

// close ends the session; safe from any goroutine, with or without the
// section's lock.
func (sess *session) close() {
	sess.once.Do(func() {
		close(sess.done)
		if sess.conn != nil {
			sess.conn.Close()
		}
	})
}

// connect dials the peer, says hello as local (our name), and runs the
// session; it returns the peer's status.
func (sess *session) connect(local string) wire.Status {
	s := sess.s
	d := net.Dialer{Timeout: s.cfg.Timers.Reconnect}
	c, err := d.Dial("tcp", sess.p.Addr)
	if err != nil {
		s.log.Debug().Err(err).Msgf("peers %s: connect to %s", s.cfg.Name, sess.p.Name)
		sess.end()
		return 100
	}
	s.mu.Lock()
	select {
	case <-sess.done:
		s.mu.Unlock()
		c.Close()
		sess.end()
		return 100
	default:
	}
	sess.conn = c
	s.mu.Unlock()
	hello, _ := wire.Hello{Major: wire.Major, Minor: wire.Minor, Remote: sess.p.Name, Local: local,
		PID: s.cfg.PID, RelPID: 1}.MarshalBinary()
	_ = c.SetDeadline(time.Now().Add(s.cfg.Timers.Reconnect))
	r := bufio.NewReader(c)
	if _, err := c.Write(hello); err != nil {
		sess.end()
		return 110
	}
	st, err := wire.ReadStatus(r)
	if err != nil {
		sess.end()
		return 110
	}
	s.mu.Lock()
	sess.p.status = st
	s.mu.Unlock()
	if st != wire.StatusSuccess {
		s.log.Warn().Msgf("peers %s: peer %s answered %d", s.cfg.Name, sess.p.Name, int(st))
		sess.end()
		return st
	}
	_ = c.SetDeadline(time.Time{})
	s.mu.Lock()
	sess.start(false)
	s.mu.Unlock()
	sess.run(r)
	return st
}

// accepted runs a session a peer opened.
func (s *Section) accepted(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(s.cfg.Timers.Reconnect))
	r := bufio.NewReader(c)
	refuse := func(st wire.Status) {
		_, _ = c.Write(wire.AppendStatus(nil, st))
		c.Close()
	}
	h, st, err := wire.ReadHello(r)
	if err != nil {
		if st != 0 {
			refuse(st)
		} else {
			c.Close()
		}
		return
	}
	if h.Remote != s.cfg.Local {
		refuse(wire.StatusErrHost)
		return
	}
	s.mu.Lock()
	var p *peer
	for _, q := range s.peers {
		if q.Name == h.Local {
			p = q
		}
	}
	if p == nil {
		s.mu.Unlock()
		refuse(wire.StatusErrPeer)
		return
	}
	if s.stopping {
		s.mu.Unlock()
		c.Close()
		return
	}
	if old := p.sess; old != nil {
		if p.Local {
			s.mu.Unlock()
			refuse(wire.StatusTryAgain)
			return
		}
		// Both ends connected at once: keep this one, and let ours retry
		// after a random delay, as haproxy does.
		old.close()
		old.detach()
		p.next = time.Now().Add(randomDelay())
	}
	sess := s.newSession(p, c)
	sess.downgrade = h.Minor == wire.DowngradeMinor
	s.setSess(p, sess)
	if _, err := c.Write(wire.AppendStatus(nil, wire.StatusSuccess)); err != nil {
		sess.detach()
		s.mu.Unlock()
		c.Close()
		return
	}
	p.status = wire.StatusSuccess
	_ = c.SetDeadline(time.Time{})
	sess.start(true)
	s.mu.Unlock()
	sess.run(r)
}

// start initialises an established session (haproxy's init_accepted_peer
// and init_connected_peer). Called with the section's lock.
func (sess *session) start(accepted bool) {
	s, p := sess.s, sess.p
	sess.established = true
	for t, st := range sess.tables {
		acked := p.acked[t]
		if acked > t.current() {
			acked = 0
		}
		st.pushed, st.origin = acked, acked
	}
	switch {
	case p.Local && accepted:
		// The old process of a reload: it teaches without being asked.
		if s.state == fromLocal && s.assigned == nil {
			s.assign(sess)
		}
	case p.Local:
		sess.teaching = true // we are that old process
	case s.state == fromRemote && s.assigned == nil:
		s.assign(sess)
	}
	sess.poke()
	s.log.Debug().Msgf("peers %s: session with %s established", s.cfg.Name, p.Name)
}

// detach unlinks the session from its peer, giving up a lesson from it.
// Called with the section's lock.
func (sess *session) detach() {
	s, p := sess.s, sess.p
	if p.sess == sess {
		s.setSess(p, nil)
		if sess.established {
			// Reconnect soon, but not in step with the other end (which
			// would collide again).
			if next := time.Now().Add(randomDelay()); next.After(p.next) {
				p.next = next
			}
		}
	}
	if sess.learning && s.assigned == p {
		s.assigned = nil
		s.requested = false
		s.deadline = time.Now().Add(s.cfg.Timers.Resync)
	}
	sess.learning = false
}

// end closes the session and unlinks it.
func (sess *session) end() {
	sess.close()
	sess.s.mu.Lock()
	sess.detach()
	sess.s.mu.Unlock()
	sess.s.poke()
}

// run reads and writes until the session ends.
func (sess *session) run(r *bufio.Reader) {
	defer sess.end()
	go sess.writer()
	for {
		_ = sess.conn.SetReadDeadline(time.Now().Add(sess.s.cfg.Timers.Dead))
		m, err := wire.ReadMessage(r, wire.MaxBody)
		if err != nil {
			if errors.Is(err, wire.ErrTooBig) {
				sess.sendError(wire.ErrorSizeLimit)
			} else if errors.Is(err, wire.ErrLength) {
				sess.sendError(wire.ErrorProtocol)
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
				sess.s.log.Debug().Err(err).Msgf("peers %s: session with %s", sess.s.cfg.Name, sess.p.Name)
			}
			return
		}
		sess.s.mu.Lock()
		ok, stop := sess.handle(m)
		sess.s.mu.Unlock()
		if !ok {
			sess.sendError(wire.ErrorProtocol)
			return
		}
		if stop {
			return
		}
		if r.Buffered() == 0 {
			// Answer (acks, confirmations) once what arrived is read.
			sess.poke()
		}
	}
}

func (sess *session) sendError(typ uint8) {
	b, _ := wire.Message{Class: wire.ClassError, Type: typ}.MarshalBinary()
	_ = sess.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = sess.conn.Write(b)
}

// handle treats one message (haproxy's peer_treat_awaited_msg); ok is
// false on a protocol error, stop true when the session is over. Called
// with the section's lock.
func (sess *session) handle(m wire.Message) (ok, stop bool) {
	s, p := sess.s, sess.p
	switch m.Class {
	case wire.ClassControl:
		switch m.Type {
		case wire.ControlResyncRequest:
			for _, st := range sess.tables {
				st.origin = p.acked[st.t]
				if st.origin > st.t.current() {
					st.origin = 0
				}
				st.pushed, st.teachDone, st.teachKeys = st.origin, false, nil
			}
			sess.teaching, sess.teachSent = true, false
		case wire.ControlResyncFinished, wire.ControlResyncPartial:
			if sess.learning {
				sess.learning = false
				s.learnt(p, m.Type == wire.ControlResyncPartial)
			}
			sess.confirm++
		case wire.ControlResyncConfirm:
			if s.stopping && p.Local {
				sess.taught = true
				return true, true
			}
			for _, st := range sess.tables {
				st.pushed = st.origin
			}
			sess.teaching, sess.teachSent = false, false
		}
	case wire.ClassStickTable:
		switch m.Type {
		case wire.TableDefine:
			return sess.define(m.Body), false
		case wire.TableSwitch:
			var sw wire.Switch
			if sw.UnmarshalBinary(m.Body) != nil {
				return false, false
			}
			sess.remote = nil
			for _, st := range sess.tables {
				if st.remoteID == sw.ID {
					sess.remote = st
				}
			}
		case wire.TableUpdate, wire.TableIncUpdate, wire.TableUpdateTimed, wire.TableIncUpdateTimed:
			return sess.update(m), false
		case wire.TableAck:
			if sess.teaching {
				return true, false
			}
			var a wire.Ack
			if a.UnmarshalBinary(m.Body) != nil {
				return false, false
			}
			for t := range sess.tables {
				if t.id == a.TableID {
					p.acked[t] = t.widen(a.Update)
				}
			}
		}
	case wire.ClassReserved:
		return false, false
	}
	return true, false
}

// define treats a table definition.
func (sess *session) define(body []byte) bool {
	var d wire.Definition
	err := d.UnmarshalBinary(body)
	if errors.Is(err, wire.ErrName) || errors.Is(err, io.ErrUnexpectedEOF) {
		return false
	}
	sess.remote = nil
	for _, st := range sess.tables {
		if st.remoteID == d.ID {
			st.remoteID = 0
		}
	}
	if err != nil {
		return true // haproxy ignores a table whose parameters it cannot read
	}
	t := sess.s.byName[d.Name]
	if t == nil || t.def.KeyType != d.KeyType || t.def.KeyLen != d.KeyLen {
		return true
	}
	st := sess.tables[t]
	st.remoteID, st.remoteData = d.ID, d.Data
	st.remoteElems = map[int]uint64{}
	for typ, prm := range d.Params {
		if prm.NbElem > 0 {
			st.remoteElems[typ] = prm.NbElem
		}
	}
	sess.remote = st
	return true
}

// update treats an entry update.
func (sess *session) update(m wire.Message) bool {
	st := sess.remote
	if st == nil {
		return true
	}
	t := st.t
	l := wire.Layout{KeyType: t.def.KeyType, KeyLen: t.def.KeyLen, Data: st.remoteData, NbElem: st.remoteElems}
	u, err := wire.ParseUpdate(m.Type, m.Body, l)
	if err != nil {
		return false
	}
	if u.HasID {
		st.lastGet = u.ID
	} else {
		st.lastGet++
	}
	key, ok := t.tableKey(u.Key)
	if !ok {
		return false
	}
	es := sticktable.EntryState{Key: key}
	for _, v := range u.Values {
		if v.Type >= int(sticktable.NumTypes) {
			continue
		}
		d := sticktable.DataType(v.Type)
		switch wire.DataTypes[v.Type].Std {
		case wire.StdFreq:
			es.Freqs[d] = sticktable.FreqCtr{Tick: uint32(v.Freq.Elapsed), Curr: uint32(v.Freq.Curr), Prev: uint32(v.Freq.Prev)}
		case wire.StdDict:
			if v.Dict.ID == 0 {
				continue
			}
			if v.Dict.ID > uint64(len(sess.dictRx)) {
				return false
			}
			if v.Dict.HasValue {
				sess.dictRx[v.Dict.ID-1] = v.Dict.Value
			}
			es.SrvKey = sess.dictRx[v.Dict.ID-1]
		default:
			es.Vals[d] = int64(v.Int)
		}
	}
	expire := t.T.Config().Expire
	if u.Timed {
		expire = time.Duration(u.Expire) * time.Millisecond
	}
	has := func(d sticktable.DataType) bool {
		if d == sticktable.ServerKey {
			return st.remoteData&(1<<uint(d)) != 0 && es.SrvKey != ""
		}
		return st.remoteData&(1<<uint(d)) != 0
	}
	t.T.ApplyRemote(es, has, expire)
	return true
}

// maxBatch bounds the updates written at once.
const maxBatch = 512

// writer sends what there is to send whenever woken, and heartbeats.
func (sess *session) writer() {
	hb := sess.s.cfg.Timers.Heartbeat
	timer := time.NewTimer(hb)
	defer timer.Stop()
	for {
		sess.s.mu.Lock()
		out, more := sess.batch(time.Now())
		sess.s.mu.Unlock()
		if len(out) > 0 {
			_ = sess.conn.SetWriteDeadline(time.Now().Add(sess.s.cfg.Timers.Dead))
			if _, err := sess.conn.Write(out); err != nil {
				sess.close()
				return
			}
		}
		if more {
			continue
		}
		timer.Reset(hb / 4)
		select {
		case <-sess.done:
			return
		case <-sess.wake:
		case <-timer.C:
		}
	}
}

// batch builds the next messages (haproxy's peer_send_msgs); more is
// true when it stopped early. Called with the section's lock.
func (sess *session) batch(now time.Time) (out []byte, more bool) {
	s, p := sess.s, sess.p
	ctl := func(typ uint8) { out = append(out, byte(wire.ClassControl), typ) }
	if sess.learning && s.assigned == p && !s.requested {
		ctl(wire.ControlResyncRequest)
		s.requested = true
	}
	n := 0
	for _, t := range s.tables {
		st := sess.tables[t]
		if st.lastGet != st.lastAcked && st.remoteID != 0 {
			body, _ := wire.Ack{TableID: st.remoteID, Update: st.lastGet}.MarshalBinary()
			out = appendMsg(out, wire.TableAck, body)
			st.lastAcked = st.lastGet
		}
		switch {
		case !sess.teaching:
			if sess.learning {
				continue
			}
			for _, r := range t.since(st.pushed, maxBatch-n) {
				out = sess.appendEntry(out, t, r.key, uint32(r.seq), false)
				st.pushed = r.seq
				n++
			}
		case !sess.teachSent && !st.teachDone:
			// A lesson: every entry, with its remaining expiry, a batch
			// at a time.
			if st.teachKeys == nil {
				st.teachKeys = t.T.Keys()
			}
			id := uint32(st.origin)
			for len(st.teachKeys) > 0 && n < maxBatch {
				out = sess.appendEntry(out, t, st.teachKeys[0], id, !sess.downgrade)
				st.teachKeys = st.teachKeys[1:]
				n++
			}
			if len(st.teachKeys) == 0 {
				st.teachDone, st.teachKeys = true, nil
			}
		}
		if n >= maxBatch {
			return out, true
		}
	}
	if sess.teaching && !sess.teachSent {
		if s.state == finished {
			ctl(wire.ControlResyncFinished)
		} else {
			ctl(wire.ControlResyncPartial)
		}
		sess.teachSent = true
	}
	for ; sess.confirm > 0; sess.confirm-- {
		ctl(wire.ControlResyncConfirm)
	}
	if len(out) == 0 && now.Sub(sess.lastSent) >= s.cfg.Timers.Heartbeat {
		ctl(wire.ControlHeartbeat)
	}
	if len(out) > 0 {
		sess.lastSent = now
	}
	return out, false
}

func appendMsg(b []byte, typ uint8, body []byte) []byte {
	b, _ = wire.Message{Class: wire.ClassStickTable, Type: typ, Body: body}.AppendBinary(b)
	return b
}

// appendEntry appends an update for key (after the table's definition
// when the previous updates were for another table).
func (sess *session) appendEntry(out []byte, t *table, key string, id uint32, timed bool) []byte {
	es, ok := t.T.Snapshot(key)
	if !ok {
		return out
	}
	if sess.lastDefined != t {
		body, _ := t.def.MarshalBinary()
		out = appendMsg(out, wire.TableDefine, body)
		sess.lastDefined = t
	}
	u := wire.Update{HasID: true, ID: id, Timed: timed, Expire: uint32(es.Expire / time.Millisecond), Key: t.wireKey(key)}
	for _, s := range t.T.Config().Stores {
		d := s.Type
		v := wire.Value{Type: int(d)}
		switch {
		case d.IsRate():
			f := es.Freqs[d]
			v.Freq = wire.Freq{Elapsed: uint64(f.Tick), Curr: uint64(f.Curr), Prev: uint64(f.Prev)}
		case d == sticktable.ServerKey:
			if es.SrvKey != "" {
				sess.dictNext = sess.dictNext%uint64(len(sess.dictRx)) + 1
				v.Dict = wire.Dict{ID: sess.dictNext, Value: es.SrvKey, HasValue: true}
			}
		case d == sticktable.ServerID:
			v.Int = uint64(int64(int32(es.Vals[d])))
		default:
			v.Int = uint64(es.Vals[d])
		}
		u.Values = append(u.Values, v)
	}
	// Values go in data type order, as the definition's bits.
	sortValues(u.Values)
	body, err := u.AppendBinary(nil, t.layout())
	if err != nil {
		return out
	}
	return appendMsg(out, u.Type(), body)
}

func sortValues(v []wire.Value) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].Type < v[j-1].Type; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}
