package proxy

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
)

// Idle server connections, kept as haproxy 2.6 keeps them
// (srv_add_to_idle_list, conn_backend_get and srv_cleanup_idle_conns in
// server.c and backend.c). Under `http-reuse safe|aggressive|always` a
// server connection whose response ended goes back to its server's pool,
// not to its client's session: to the "safe" list when it has served
// more than one request, else to the "idle" list, and only
//
//   - while the process uses fewer descriptors than
//     `tune.pool-high-fd-ratio` (25%) of haproxy's maxsock;
//   - under `pool-max-conn` idle connections (-1: no limit) and with a
//     `pool-purge-delay` (0 keeps none);
//   - as the server's first safe connection (or first idle one, when
//     this one is not safe), one per thread; else under
//     `tune.pool-low-fd-ratio` (20%) and while used plus idle
//     connections stay within the server's estimated need (the most used
//     at once over the last purge periods) plus `pool-low-conn`.
//
// Otherwise it closes. A request takes one as haproxy's table says: a
// session's later requests the idle list first, then the safe one; a
// first request none under safe, a safe one under aggressive, a safe
// then an idle one under always. Every `pool-purge-delay` the idle
// connections over the estimated need are halved, the oldest first.
// Under `http-reuse never` (and for the private connections of a PROXY
// header sender) connections stay with their session, as before.

// fdGauge estimates the descriptors the process uses (haproxy's
// ha_used_fds) against haproxy's maxsock, for the pool's two ratios.
type fdGauge struct {
	clients *atomic.Int64 // the engine's client connections
	servers atomic.Int64  // open HTTP/1 server connections
	base    int64         // listeners and haproxy's reserve of 10
	high    int64         // pool_high_count
	low     int64         // pool_low_count
}

// newFDGauge computes haproxy's thresholds for cfg (haproxy.c: maxsock
// is two per connection of global maxconn plus the pipes, a poller and a
// wake-up pipe per thread and a reserve of 10; without maxconn it comes
// to the descriptor limit).
func newFDGauge(cfg *haproxycfg.Config, clients *atomic.Int64, listeners int) *fdGauge {
	g := cfg.Global
	threads := int64(max(g.NbThread, 1))
	var maxsock int64
	if g.MaxConn > 0 {
		maxsock = 10 + 2*int64(g.MaxConn) + 3*threads
	} else {
		var lim syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
			maxsock = int64(max(lim.Cur, lim.Max))
		}
		if maxsock <= 0 || maxsock > 1<<30 {
			maxsock = 1 << 20
		}
	}
	high, low := 25, 20
	if g.PoolHighFDRatio != nil {
		high = *g.PoolHighFDRatio
	}
	if g.PoolLowFDRatio != nil {
		low = *g.PoolLowFDRatio
	}
	return &fdGauge{
		clients: clients,
		base:    10 + int64(listeners),
		high:    (maxsock*int64(high) + 99) / 100,
		low:     (maxsock*int64(low) + 99) / 100,
	}
}

// used is the estimate of the descriptors in use.
func (g *fdGauge) used() int64 {
	n := g.base + g.servers.Load()
	if g.clients != nil {
		n += g.clients.Load()
	}
	return n
}

// h1Pool is one server's pool (or, for private connections, one
// session's): its idle connections and its counts, under h1Client.mu.
type h1Pool struct {
	key    string
	shared bool // a server's pool (haproxy's idle/safe lists), not a session's
	srv    *Server
	idle   []*h1ServerConn // oldest first
	safe   []*h1ServerConn // oldest first (shared pools only)
	// used counts the pool's connections out of its lists (dialled or
	// taken, not closed); maxUsed the most at once since the last purge;
	// estNeed haproxy's est_need_conns (at least the most used at once
	// since the last purge, decaying by halves at each purge).
	used, maxUsed, estNeed int
	purge                  *time.Timer // armed while connections are idle
	purgeArmed             bool
	// shown: the lists' lengths last added to the server's counters.
	shownIdle, shownSafe int
	swept                time.Time // the last sweepAdmit
}

func (p *h1Pool) nIdle() int { return len(p.idle) + len(p.safe) }

// show brings the server's idle and safe counts (show stat's
// idle_conn_cur, safe_conn_cur, srv_icur) up to date. Under cl.mu.
func (p *h1Pool) show() {
	if !p.shared || p.srv == nil {
		return
	}
	if d := len(p.idle) - p.shownIdle; d != 0 {
		p.srv.ctr.idleConns.Add(int64(d))
		p.shownIdle = len(p.idle)
	}
	if d := len(p.safe) - p.shownSafe; d != 0 {
		p.srv.ctr.safeConns.Add(int64(d))
		p.shownSafe = len(p.safe)
	}
}

// use counts pc, out of the lists, as used.
func (p *h1Pool) use(pc *h1ServerConn) {
	p.show()
	pc.state = pcUsed
	p.used++
	// As haproxy's srv_use_conn: both follow the connections in use.
	p.maxUsed = max(p.maxUsed, p.used)
	p.estNeed = max(p.estNeed, p.used)
}

// takeFront takes the oldest connection of *list.
func takeFront(list *[]*h1ServerConn) *h1ServerConn {
	l := *list
	if len(l) == 0 {
		return nil
	}
	pc := l[0]
	copy(l, l[1:])
	l[len(l)-1] = nil
	*list = l[:len(l)-1]
	return pc
}

// remove takes pc out of *list; false if it was not there.
func removeConn(list *[]*h1ServerConn, pc *h1ServerConn) bool {
	l := *list
	for i, x := range l {
		if x == pc {
			copy(l[i:], l[i+1:])
			l[len(l)-1] = nil
			*list = l[:len(l)-1]
			return true
		}
	}
	return false
}

// pcState is where a connection stands in its pool.
type pcState uint8

const (
	pcNone pcState = iota // not counted (closed, or taken out for closing)
	pcUsed                // carrying a request, counted in used
	pcIdle                // in the idle list
	pcSafe                // in the safe list
)

// takeIdle takes an idle connection of p for a request, by haproxy's
// table (backend.c, connect_server): notFirst is a session's later
// request. Under cl.mu.
func (cl *h1Client) takeIdle(p *h1Pool, notFirst bool) *h1ServerConn {
	if !p.shared {
		if n := len(p.idle); n > 0 {
			// A session's own: the most recently used.
			pc := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			return pc
		}
		return nil
	}
	if p.srv != nil && p.srv.cfg.Pool().MaxConn == 0 {
		return nil
	}
	switch {
	case notFirst:
		if pc := takeFront(&p.idle); pc != nil {
			return pc
		}
		return takeFront(&p.safe)
	case cl.reuse == "aggressive" || cl.reuse == "always":
		if pc := takeFront(&p.safe); pc != nil {
			return pc
		}
		if cl.reuse == "always" {
			return takeFront(&p.idle)
		}
	}
	return nil
}

// admit tells whether pc, whose request ended, may wait idle in its
// server's pool (srv_add_to_idle_list); safe: it served more than one
// request. Under cl.mu, pc still counted in p.used.
func (cl *h1Client) admit(p *h1Pool, safe bool) bool {
	settings := haproxycfg.DefaultIdlePool
	if p.srv != nil {
		settings = p.srv.cfg.Pool()
	}
	if settings.PurgeDelay <= 0 || cl.reuse == "never" {
		return false
	}
	var used int64
	if g := cl.fds; g != nil {
		used = g.used()
		if used >= g.high {
			return false
		}
	}
	n := p.nIdle()
	if settings.MaxConn != -1 && settings.MaxConn <= n {
		return false
	}
	// One idle connection per thread always (haproxy's per-thread lists
	// hold one each before the need counts).
	if len(p.safe) < cl.threads && (safe || len(p.idle) < cl.threads) {
		return true
	}
	if cl.fds != nil && used >= cl.fds.low {
		return false
	}
	return p.used+n <= max(p.used, p.estNeed)+settings.LowConn
}

// sweepAdmit is admit again once the idle connections their server
// closed are out of the lists: haproxy's leave them as the close is
// read; gproxy, which keeps no read pending on an idle connection, looks
// at them (a peek each) before refusing one, at most once a second per
// pool. Under cl.mu.
func (cl *h1Client) sweepAdmit(p *h1Pool, safe bool) bool {
	now := time.Now()
	if p.nIdle() == 0 || now.Sub(p.swept) < time.Second {
		return false
	}
	p.swept = now
	var dead []*h1ServerConn
	for _, list := range []*[]*h1ServerConn{&p.idle, &p.safe} {
		kept := (*list)[:0]
		for _, pc := range *list {
			if pc.aliveNow() {
				kept = append(kept, pc)
			} else {
				pc.state = pcNone
				dead = append(dead, pc)
			}
		}
		clear((*list)[len(kept):])
		*list = kept
	}
	if len(dead) == 0 {
		return false
	}
	p.show()
	for _, pc := range dead {
		if pc.timer != nil {
			pc.timer.Stop()
		}
		// Closed without cl.mu's help: its state is pcNone.
		go pc.close()
	}
	return cl.admit(p, safe)
}

// purgeIdle is the pool's purge (srv_cleanup_idle_conns): half the idle
// connections over the estimated need close, the oldest first, and the
// estimate follows the most used at once.
func (cl *h1Client) purgeIdle(p *h1Pool) {
	cl.mu.Lock()
	n := p.nIdle()
	if n == 0 {
		p.purgeArmed = false
		cl.mu.Unlock()
		return
	}
	exceed := p.used + n - max(p.maxUsed, p.estNeed)
	exceed = exceed/2 + exceed&1
	p.estNeed = max((p.estNeed+p.maxUsed)/2, p.maxUsed)
	p.maxUsed = p.used
	var kill []*h1ServerConn
	if exceed > 0 {
		// haproxy takes up to its share plus one per thread.
		for k := exceed + 1; k > 0; k-- {
			pc := takeFront(&p.idle)
			if pc == nil {
				pc = takeFront(&p.safe)
			}
			if pc == nil {
				break
			}
			pc.state = pcNone
			kill = append(kill, pc)
		}
	}
	p.show()
	if p.nIdle() > 0 {
		p.purge.Reset(p.srv.cfg.Pool().PurgeDelay)
	} else {
		p.purgeArmed = false
	}
	cl.mu.Unlock()
	for _, pc := range kill {
		if pc.timer != nil {
			pc.timer.Stop()
		}
		pc.close()
	}
}

// armPurge starts p's purge timer if it is not running. Under cl.mu.
func (cl *h1Client) armPurge(p *h1Pool) {
	if p.purgeArmed || p.srv == nil {
		return
	}
	p.purgeArmed = true
	d := p.srv.cfg.Pool().PurgeDelay
	if p.purge == nil {
		p.purge = time.AfterFunc(d, func() { cl.purgeIdle(p) })
	} else {
		p.purge.Reset(d)
	}
}

// killOneIdle closes an idle connection of p when the process is over
// its high descriptor count and is about to open another (connect_server).
func (cl *h1Client) killOneIdle(p *h1Pool) {
	if cl.fds == nil || cl.fds.used() <= cl.fds.high {
		return
	}
	cl.mu.Lock()
	pc := takeFront(&p.idle)
	if pc == nil {
		pc = takeFront(&p.safe)
	}
	if pc != nil {
		pc.state = pcNone
	}
	p.show()
	cl.mu.Unlock()
	if pc != nil {
		if pc.timer != nil {
			pc.timer.Stop()
		}
		pc.close()
	}
}

// poolThreads is the number of haproxy threads the pool's per-thread
// rule counts: nbthread, else haproxy's default of one per CPU.
func poolThreads(cfg *haproxycfg.Config) int {
	if cfg != nil && cfg.Global.NbThread > 0 {
		return cfg.Global.NbThread
	}
	return max(runtime.GOMAXPROCS(0), 1)
}

// serverPools are the pools holding a server's idle connections (one
// per HTTP/1 client that reached it): haproxy closes them when the server
// enters maintenance, goes down, or changes address or TLS
// (srv_cleanup_connections).
type serverPools struct {
	mu    sync.Mutex
	pools []poolRef
}

type poolRef struct {
	cl *h1Client
	p  *h1Pool
}

// add registers p of cl.
func (sp *serverPools) add(cl *h1Client, p *h1Pool) {
	sp.mu.Lock()
	sp.pools = append(sp.pools, poolRef{cl, p})
	sp.mu.Unlock()
}

// cleanupIdle closes the server's idle connections.
func (s *Server) cleanupIdle() {
	s.pools.mu.Lock()
	refs := s.pools.pools
	s.pools.mu.Unlock()
	for _, r := range refs {
		r.cl.closePoolIdle(r.p)
	}
}

// closePoolIdle closes the idle connections of p.
func (cl *h1Client) closePoolIdle(p *h1Pool) {
	cl.mu.Lock()
	var idle []*h1ServerConn
	for _, l := range [][]*h1ServerConn{p.idle, p.safe} {
		for _, pc := range l {
			pc.state = pcNone
			idle = append(idle, pc)
		}
	}
	p.idle, p.safe = p.idle[:0], p.safe[:0]
	p.show()
	cl.mu.Unlock()
	for _, pc := range idle {
		if pc.timer != nil {
			pc.timer.Stop()
		}
		pc.close()
	}
}
