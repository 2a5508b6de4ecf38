package proxy

import (
	"context"
	"errors"
	"time"

	"hapair/pkg/balance"
	"hapair/pkg/haproxycfg"
)

// Errors of the server assignment step.
var (
	// ErrQueueTimeout means a connection waited `timeout queue` for a
	// server slot (haproxy's termination state "sQ").
	ErrQueueTimeout = errors.New("proxy: queue timeout")
	// ErrNoServer means no server of the backend is usable ("SC", <NOSRV>).
	ErrNoServer = errors.New("proxy: no server available")
	// ErrQueueFull means the chosen server's queue holds its `maxqueue`
	// connections (haproxy's SRV_STATUS_FULL: a 503, "sQ", one more
	// connection error on the server and the backend). The assignment's
	// srv is the server.
	ErrQueueFull = errors.New("proxy: server queue full")
)

// waiter is a connection waiting for a server slot. A waiter with a target
// waits in that server's queue (the policy chose a full server); one
// without waits in the backend's queue and takes the first slot that frees
// on any server. Both kinds share one FIFO list, so the oldest waiter that
// a freed slot may serve gets it, as haproxy compares the heads of the
// server and backend queues.
type waiter struct {
	target  *Server
	key     balance.Key
	ch      chan *Server // receives the granted server; buffered
	granted *Server      // set under Backend.mu
}

// assignment is the result of acquire.
type assignment struct {
	srv    *Server
	queued bool
	sq, bq int // position in the server or backend queue, counting itself
	waited time.Duration
}

// acquire chooses a server and takes a connection slot on it, waiting in a
// queue for at most timeout (0 = no limit) when the choice is full.
func (b *Backend) acquire(ctx context.Context, key balance.Key, avoid *Server, timeout time.Duration) (assignment, error) {
	var a assignment
	var av balance.Server
	if b.dispatch != nil {
		// haproxy's assign_server: a backend without balance and with
		// a dispatch address sends there, unlimited.
		takeSlot(b.dispatch)
		a.srv = b.dispatch
		return a, nil
	}
	if avoid != nil {
		av = avoid
	}
	b.mu.Lock()
	s, err := balance.ChooseAll(b.policy, b.pool().active, b.pool().backup, b.px.Options.AllBackups, key, av)
	if errors.Is(err, balance.ErrNoServer) {
		b.mu.Unlock()
		return a, ErrNoServer
	}
	if s != nil && key.Persist == nil && b.queueFirst() {
		// haproxy's assign_server: with connections already waiting in
		// the backend queue (and not all of them), the round-robin and
		// first algorithms know every server is full.
		s = nil
	}
	if s != nil {
		srv := s.(*Server)
		if !srv.Full() && !b.hasWaiters(srv) {
			takeSlot(srv)
			b.mu.Unlock()
			a.srv = srv
			return a, nil
		}
		if q := srv.cfg.MaxQueue; q > 0 && srv.ctr.queueCur.Load() >= int64(q) {
			b.mu.Unlock()
			if key.Persist == s && b.px.Options.Redispatch {
				// Persistence chose it: balance again (haproxy's
				// redispatch of a DIRECT stream).
				key.Persist = nil
				return b.acquire(ctx, key, avoid, timeout)
			}
			srv.ctr.connErrors.Add(1)
			b.ctr.connErrors.Add(1)
			a.srv = srv
			return a, ErrQueueFull
		}
	}
	// Queued: the waiter is made only now (no allocation on the common
	// path above).
	w := &waiter{key: key, ch: make(chan *Server, 1)}
	if s != nil {
		srv := s.(*Server)
		w.target = srv
		a.sq = int(srv.ctr.queueCur.Load()) + 1
		srv.ctr.queued(1)
	} else {
		a.bq = int(b.ctr.queueCur.Load()) + 1
		b.ctr.queued(1)
	}
	b.queue = append(b.queue, w)
	b.mu.Unlock()
	a.queued = true

	start := time.Now()
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case srv := <-w.ch:
		a.srv, a.waited = srv, time.Since(start)
		return a, nil
	case <-expire:
		err = ErrQueueTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.granted != nil { // granted while we gave up: take it
		a.srv, a.waited = w.granted, time.Since(start)
		return a, nil
	}
	b.dequeue(w)
	return a, err
}

// queueFirst reports whether a new connection must join the backend
// queue behind the ones waiting there: for roundrobin, static-rr and
// first when the queue holds some but not all of the backend's
// connections (haproxy 2.6's assign_server).
func (b *Backend) queueFirst() bool {
	switch b.px.Balance {
	case haproxycfg.RoundRobin, "", haproxycfg.StaticRR, haproxycfg.First:
	default:
		return false
	}
	q := b.ctr.queueCur.Load()
	return q > 0 && q != b.ctr.cur.Load()
}

func takeSlot(s *Server) { storeMax(&s.ctr.max, s.ctr.cur.Add(1)) }

func (b *Backend) hasWaiters(s *Server) bool {
	for _, w := range b.queue {
		if w.target == s {
			return true
		}
	}
	return false
}

// dequeue removes w from the queue; b.mu is held.
func (b *Backend) dequeue(w *waiter) {
	for i, x := range b.queue {
		if x == w {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			break
		}
	}
	if w.target != nil {
		w.target.ctr.queueCur.Add(-1)
	} else {
		b.ctr.queueCur.Add(-1)
	}
}

// grant hands srv (whose slot is already counted) to w; b.mu is held.
func (b *Backend) grant(w *waiter, srv *Server) {
	b.dequeue(w)
	w.granted = srv
	w.ch <- srv
}

// release gives back a slot on srv: the oldest waiter it may serve takes
// it over (handedOver), or the slot frees.
func (b *Backend) release(srv *Server) (handedOver bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range b.queue {
		if w.target == srv || (w.target == nil && srv.Usable() && srv.Weight() > 0) {
			b.grant(w, srv)
			return true
		}
	}
	srv.ctr.cur.Add(-1)
	return false
}

// statusChanged reacts to a server's state or weight change: waiters of a
// server that can no longer serve move to the backend queue, and backend
// waiters are served while some server has a free slot.
func (b *Backend) statusChanged(*Server) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range b.queue {
		if w.target != nil && !w.target.Usable() {
			w.target.ctr.queueCur.Add(-1)
			w.target = nil
			b.ctr.queued(1)
		}
	}
	for i := 0; i < len(b.queue); {
		w := b.queue[i]
		if w.target != nil {
			if w.target.Full() {
				i++
				continue
			}
			takeSlot(w.target)
			b.grant(w, w.target)
			continue
		}
		s, err := balance.ChooseAll(b.policy, b.pool().active, b.pool().backup, b.px.Options.AllBackups, w.key, nil)
		if err != nil || s == nil || s.Full() {
			i++
			continue
		}
		takeSlot(s.(*Server))
		b.grant(w, s.(*Server))
	}
}
