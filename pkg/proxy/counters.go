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
	denied          atomic.Int64 // dcon: connections refused by tcp-request connection rules
	deniedSess      atomic.Int64 // dses: sessions refused by tcp-request session rules
	cliAborts       atomic.Int64 // cli_abrt
	srvAborts       atomic.Int64 // srv_abrt
	queueCur        atomic.Int64
	queueMax        atomic.Int64
	lastSession     atomic.Int64 // unix nanoseconds; 0 = never

	// HTTP, counted as haproxy 2.6 counts them (stats.go's Stats names
	// the columns): responses by class (0: other), requests and their
	// rate, requests answered by the proxy itself, denied and failed
	// requests and responses, rewrites that failed, internal errors.
	rsp            [6]atomic.Int64
	cumReq         atomic.Int64
	reqRate        rate
	maxReqRate     atomic.Int64
	intercepted    atomic.Int64
	deniedReq      atomic.Int64
	deniedResp     atomic.Int64
	failedReq      atomic.Int64
	failedResp     atomic.Int64
	failedRewrites atomic.Int64
	internalErrors atomic.Int64
	// compIn, compOut: body bytes into and out of the compressor;
	// compRsp: responses compressed.
	compIn, compOut, compByp, compRsp atomic.Int64
	// connects, reuses: server connections made, and reused, for a
	// stream (backends and servers).
	connects, reuses atomic.Int64
	// lbConns counts the servers load balancing picked (a backend's
	// lbtot).
	lbConns atomic.Int64
	// conns counts accepted connections (a frontend's conn_tot, before
	// the tcp-request connection rules; total counts sessions).
	conns atomic.Int64
	// estConns is haproxy's est_need_conns: the most server connections
	// used at once (servers). haproxy also lowers it when it purges idle
	// server connections (every pool-purge-delay); gproxy does not.
	estConns atomic.Int64
	// idleConns and safeConns are the server's connections in its
	// pools' idle and safe lists (idlepool.go).
	idleConns, safeConns atomic.Int64
	h1                   h1Counters
	h2                   h2Counters
}

// h1Counters are haproxy's HTTP/1 multiplexer counters of a proxy: its
// client side's on a frontend, its server side's on a backend.
type h1Counters struct {
	openConns, openStreams   atomic.Int64
	totalConns, totalStreams atomic.Int64
	bytesIn, bytesOut        atomic.Int64
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
	c.session(now)
}

// session counts a session whose connection open already counted
// (total, rate, last session): an HTTP frontend counts the connection
// when it accepts it, the session once the tcp-request connection and
// session rules let it in, as haproxy does (cum_conn, cum_sess).
func (c *counters) session(now time.Time) {
	c.total.Add(1)
	c.rate.add(now)
	storeMax(&c.maxRate, c.rate.read(now))
	c.lastSession.Store(now.UnixNano())
}

func (c *counters) queued(n int64) { storeMax(&c.queueMax, c.queueCur.Add(n)) }

// request counts an HTTP request received (a frontend's req_tot).
func (c *counters) request(now time.Time) {
	c.cumReq.Add(1)
	c.reqRate.add(now)
	storeMax(&c.maxReqRate, c.reqRate.read(now))
}

// response counts a status in its class, haproxy's hrsp_1xx..5xx; any
// other value, -1 for a stream that got no status, in hrsp_other.
func (c *counters) response(status int) {
	n := status / 100
	if status < 100 || n > 5 {
		n = 0
	}
	c.rsp[n].Add(1)
}

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
	DeniedSess     int64     // dses
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

	Responses      [6]int64 // hrsp_other (0), hrsp_1xx..hrsp_5xx
	Requests       int64    // req_tot
	ReqRate        int64    // req_rate
	MaxReqRate     int64    // req_rate_max
	Intercepted    int64    // intercepted
	DeniedReq      int64    // dreq
	DeniedResp     int64    // dresp
	FailedReq      int64    // ereq
	FailedResp     int64    // eresp
	FailedRewrites int64    // wrew
	InternalErrors int64    // eint
	CompIn         int64    // comp_in
	CompOut        int64    // comp_out
	CompBypassed   int64    // comp_byp
	CompResponses  int64    // comp_rsp
	Connects       int64    // connect: new server connections
	Reuses         int64    // reuse: server connections reused
	LBConns        int64    // lbtot (backends)
	Conns          int64    // conn_tot (frontends)
	NeedConns      int64    // need_conn_est (servers)
	UsedConns      int64    // used_conn_cur (servers)
	IdleConns      int64    // idle_conn_cur (servers)
	SafeConns      int64    // safe_conn_cur (servers)
	H1             H1Stats  // h1_* (frontends and backends)
	H2             H2Stats  // h2_* (frontends)
}

// H1Stats are the HTTP/1 multiplexer's counters of a proxy.
type H1Stats struct {
	OpenConns, OpenStreams   int64
	TotalConns, TotalStreams int64
	BytesIn, BytesOut        int64
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
		DeniedSess:     c.deniedSess.Load(),
		ClientAborts:   c.cliAborts.Load(),
		ServerAborts:   c.srvAborts.Load(),
		QueueCur:       c.queueCur.Load(),
		QueueMax:       c.queueMax.Load(),
		Requests:       c.cumReq.Load(),
		ReqRate:        c.reqRate.read(now),
		MaxReqRate:     c.maxReqRate.Load(),
		Intercepted:    c.intercepted.Load(),
		DeniedReq:      c.deniedReq.Load(),
		DeniedResp:     c.deniedResp.Load(),
		FailedReq:      c.failedReq.Load(),
		FailedResp:     c.failedResp.Load(),
		FailedRewrites: c.failedRewrites.Load(),
		InternalErrors: c.internalErrors.Load(),
		CompIn:         c.compIn.Load(),
		CompOut:        c.compOut.Load(),
		CompBypassed:   c.compByp.Load(),
		CompResponses:  c.compRsp.Load(),
		Connects:       c.connects.Load(),
		Reuses:         c.reuses.Load(),
		LBConns:        c.lbConns.Load(),
		Conns:          c.conns.Load(),
		NeedConns:      c.estConns.Load(),
		IdleConns:      c.idleConns.Load(),
		SafeConns:      c.safeConns.Load(),
		H1: H1Stats{
			OpenConns: c.h1.openConns.Load(), OpenStreams: c.h1.openStreams.Load(),
			TotalConns: c.h1.totalConns.Load(), TotalStreams: c.h1.totalStreams.Load(),
			BytesIn: c.h1.bytesIn.Load(), BytesOut: c.h1.bytesOut.Load(),
		},
		H2: c.h2.snapshot(),
	}
	for i := range st.Responses {
		st.Responses[i] = c.rsp[i].Load()
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
