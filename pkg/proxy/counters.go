package proxy

import (
	"sync"
	"sync/atomic"
	"time"
)

// rate counts events over the current and the previous second, read as
// haproxy's freq_ctr does: the current second's count plus the previous
// second's, weighted by the part of it still inside the sliding window.
type rate struct {
	sec  atomic.Int64 // unix second of cur
	cur  atomic.Int64
	prev atomic.Int64
}

func (r *rate) add(now time.Time) {
	s := now.Unix()
	for {
		old := r.sec.Load()
		if old == s {
			break
		}
		if r.sec.CompareAndSwap(old, s) {
			if old == s-1 {
				r.prev.Store(r.cur.Swap(0))
			} else {
				r.prev.Store(0)
				r.cur.Store(0)
			}
			break
		}
	}
	r.cur.Add(1)
}

func (r *rate) read(now time.Time) int64 {
	s := now.Unix()
	sec, cur, prev := r.sec.Load(), r.cur.Load(), r.prev.Load()
	switch sec {
	case s:
	case s - 1:
		prev, cur = cur, 0
	default:
		return 0
	}
	left := time.Second - time.Duration(now.Nanosecond())
	return cur + prev*int64(left)/int64(time.Second)
}

// counters are the statistics of a frontend, backend or server. Every field
// is an atomic so the stats page reads them without locks.
type counters struct {
	cur, max, total atomic.Int64
	rate            rate
	maxRate         atomic.Int64
	bytesIn         atomic.Int64 // from the client
	bytesOut        atomic.Int64 // to the client
	connErrors      atomic.Int64 // haproxy's econ
	retries         atomic.Int64 // wretr
	redispatches    atomic.Int64 // wredis
	denied          atomic.Int64 // dcon: connections refused while full at stop
	cliAborts       atomic.Int64 // cli_abrt
	srvAborts       atomic.Int64 // srv_abrt
	queueCur        atomic.Int64
	queueMax        atomic.Int64
	lastSession     atomic.Int64 // unix nanoseconds; 0 = never
}

func storeMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// open counts a new session.
func (c *counters) open(now time.Time) {
	storeMax(&c.max, c.cur.Add(1))
	c.total.Add(1)
	c.rate.add(now)
	storeMax(&c.maxRate, c.rate.read(now))
	c.lastSession.Store(now.UnixNano())
}

func (c *counters) queued(n int64) { storeMax(&c.queueMax, c.queueCur.Add(n)) }

// Stats is a snapshot of the counters of a frontend, backend or server,
// named after the columns of haproxy's stats CSV (management guide,
// section 9.1). Fields that do not apply to a kind of object stay zero.
type Stats struct {
	Status         Status
	CurSessions    int64     // scur
	MaxSessions    int64     // smax
	SessionLimit   int64     // slim; 0 = none
	Throttle       int       // throttle: percent of its weight a server in slow start has; 0 = none
	TotalSessions  int64     // stot
	SessionRate    int64     // rate: sessions over the last second
	MaxSessionRate int64     // rate_max
	BytesIn        int64     // bin: from clients
	BytesOut       int64     // bout: to clients
	ConnErrors     int64     // econ
	Retries        int64     // wretr
	Redispatches   int64     // wredis
	Denied         int64     // dcon
	ClientAborts   int64     // cli_abrt
	ServerAborts   int64     // srv_abrt
	QueueCur       int64     // qcur
	QueueMax       int64     // qmax
	QueueLimit     int64     // qlimit; 0 = none
	Weight         int       // weight: current effective (servers; backends: sum of usable)
	ActiveServers  int       // act (backends), 1/0 for a server
	BackupServers  int       // bck
	LastSession    time.Time // zero when never; lastsess = now - this
	LastChange     time.Time // lastchg: last status change
}

func (c *counters) snapshot(now time.Time) Stats {
	st := Stats{
		CurSessions:    c.cur.Load(),
		MaxSessions:    c.max.Load(),
		TotalSessions:  c.total.Load(),
		SessionRate:    c.rate.read(now),
		MaxSessionRate: c.maxRate.Load(),
		BytesIn:        c.bytesIn.Load(),
		BytesOut:       c.bytesOut.Load(),
		ConnErrors:     c.connErrors.Load(),
		Retries:        c.retries.Load(),
		Redispatches:   c.redispatches.Load(),
		Denied:         c.denied.Load(),
		ClientAborts:   c.cliAborts.Load(),
		ServerAborts:   c.srvAborts.Load(),
		QueueCur:       c.queueCur.Load(),
		QueueMax:       c.queueMax.Load(),
	}
	if ns := c.lastSession.Load(); ns != 0 {
		st.LastSession = time.Unix(0, ns)
	}
	return st
}

// gate limits concurrent connections (global and frontend maxconn). The
// accept loops wait on it before accepting, so extra clients stay in the
// kernel's backlog, as with haproxy.
type gate struct {
	max   int64 // 0 = unlimited
	cur   *atomic.Int64
	mu    sync.Mutex
	waitc chan struct{}
}

func (g *gate) full() bool { return g.max > 0 && g.cur.Load() >= g.max }

// wait blocks until the gate has a free slot, or stop is closed (false).
func (g *gate) wait(stop <-chan struct{}) bool {
	for {
		g.mu.Lock()
		if !g.full() {
			g.mu.Unlock()
			return true
		}
		if g.waitc == nil {
			g.waitc = make(chan struct{})
		}
		c := g.waitc
		g.mu.Unlock()
		select {
		case <-c:
		case <-stop:
			return false
		}
	}
}

// acquire takes a slot, waiting for one if needed.
func (g *gate) acquire(stop <-chan struct{}) bool {
	for {
		if !g.wait(stop) {
			return false
		}
		g.mu.Lock()
		if !g.full() {
			g.cur.Add(1)
			g.mu.Unlock()
			return true
		}
		g.mu.Unlock()
	}
}

func (g *gate) release() {
	g.mu.Lock()
	g.cur.Add(-1)
	if g.waitc != nil {
		close(g.waitc)
		g.waitc = nil
	}
	g.mu.Unlock()
}
