package proxy

import (
	"net"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// poolFixture is a server's pool in a client of reuse mode, with n idle
// connections over pipes (nothing is dialled).
func poolFixture(t *testing.T, reuse string, settings haproxycfg.IdlePool, n int) (*h1Client, *h1Pool) {
	t.Helper()
	cl := &h1Client{reuse: reuse, threads: 1}
	srv := &Server{cfg: &haproxycfg.Server{IdlePool: &settings}}
	cl.mu.Lock()
	p := cl.pool("k", srv)
	for range n {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		pc := &h1ServerConn{cl: cl, conn: a, pool: p, state: pcIdle}
		p.idle = append(p.idle, pc)
	}
	cl.armPurge(p)
	cl.mu.Unlock()
	t.Cleanup(func() { p.purge.Stop() })
	return cl, p
}

// The purge closes half the idle connections over the estimated need
// (rounded up) plus one, the oldest first, and moves the estimate half
// way to the most used at once, as haproxy's srv_cleanup_idle_conns.
func TestIdlePoolPurge(t *testing.T) {
	for _, c := range []struct {
		name                          string
		idle, used, maxUsed, estNeed  int
		wantIdle, wantEst, wantMaxUse int
	}{
		// exceed 10-6=4: 2 (+1) close; est (6+4)/2=5.
		{"over the need", 10, 0, 4, 6, 7, 5, 0},
		// exceed 3+2-8 < 0: none; est max((8+8)/2, 8).
		{"within the need", 2, 3, 8, 8, 2, 8, 3},
		// exceed 5-0=5: 3 (+1) close; est 0.
		{"no need", 5, 0, 0, 0, 1, 0, 0},
		// exceed 1-1=0: none; the estimate decays to 0...
		{"one left", 1, 0, 0, 1, 1, 0, 0},
		// ...and at the next purge the last one goes.
		{"one left, decayed", 1, 0, 0, 0, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, p := poolFixture(t, "safe", haproxycfg.IdlePool{MaxConn: -1, PurgeDelay: time.Hour}, c.idle)
			first := p.idle[0]
			p.used, p.maxUsed, p.estNeed = c.used, c.maxUsed, c.estNeed
			cl.purgeIdle(p)
			cl.mu.Lock()
			defer cl.mu.Unlock()
			if len(p.idle) != c.wantIdle || p.estNeed != c.wantEst || p.maxUsed != c.wantMaxUse {
				t.Errorf("idle %d, est %d, max used %d; want %d, %d, %d", len(p.idle), p.estNeed, p.maxUsed, c.wantIdle, c.wantEst, c.wantMaxUse)
			}
			if len(p.idle) < c.idle && first.state != pcNone {
				t.Errorf("the oldest connection was not the first closed")
			}
			if got := p.srv.ctr.idleConns.Load(); got != int64(len(p.idle)) {
				t.Errorf("idle_conn_cur %d, want %d", got, len(p.idle))
			}
		})
	}
}

// admit follows srv_add_to_idle_list: the descriptor ratios, the pool's
// limit, the first idle and safe connection, then the estimated need.
func TestIdlePoolAdmit(t *testing.T) {
	def := haproxycfg.DefaultIdlePool
	for _, c := range []struct {
		name        string
		reuse       string
		settings    haproxycfg.IdlePool
		idle, safe  int
		used, est   int
		fds         int64 // descriptors in use; high 100, low 80
		isSafe, out bool
	}{
		{"first idle", "safe", def, 0, 0, 1, 1, 10, false, true},
		{"second idle, no need", "safe", def, 1, 0, 1, 1, 10, false, false},
		{"first safe beside an idle one", "safe", def, 1, 0, 1, 1, 10, true, true},
		{"second idle within the need", "safe", def, 1, 0, 1, 3, 10, false, true},
		{"second idle within the need, over low", "safe", def, 1, 0, 1, 3, 85, false, false},
		{"first idle over high", "safe", def, 0, 0, 1, 1, 100, false, false},
		{"pool-low-conn", "safe", haproxycfg.IdlePool{MaxConn: -1, LowConn: 1, PurgeDelay: time.Second}, 1, 0, 1, 1, 10, false, true},
		{"pool-max-conn reached", "safe", haproxycfg.IdlePool{MaxConn: 1, PurgeDelay: time.Second}, 1, 0, 1, 5, 10, true, false},
		{"pool-max-conn 0", "always", haproxycfg.IdlePool{MaxConn: 0, PurgeDelay: time.Second}, 0, 0, 1, 1, 10, false, false},
		{"pool-purge-delay 0", "safe", haproxycfg.IdlePool{MaxConn: -1}, 0, 0, 1, 1, 10, false, false},
		{"never", "never", def, 0, 0, 1, 1, 10, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, p := poolFixture(t, c.reuse, c.settings, 0)
			var fds fdGauge
			fds.high, fds.low = 100, 80
			fds.servers.Store(c.fds)
			cl.fds = &fds
			cl.mu.Lock()
			defer cl.mu.Unlock()
			for range c.idle {
				p.idle = append(p.idle, &h1ServerConn{})
			}
			for range c.safe {
				p.safe = append(p.safe, &h1ServerConn{})
			}
			p.used, p.estNeed = c.used, c.est
			if got := cl.admit(p, c.isSafe); got != c.out {
				t.Errorf("admit: %v, want %v", got, c.out)
			}
		})
	}
}

// A request takes an idle connection by haproxy's table: a later request
// of its session the idle list then the safe one; a first request none
// under safe, a safe one under aggressive, a safe then an idle one under
// always.
func TestIdlePoolTake(t *testing.T) {
	def := haproxycfg.DefaultIdlePool
	for _, c := range []struct {
		reuse    string
		notFirst bool
		idle     bool // an idle connection waits beside a safe one
		want     string
	}{
		{"safe", true, true, "idle"},
		{"safe", true, false, "safe"},
		{"safe", false, true, "none"},
		{"aggressive", false, true, "safe"},
		{"aggressive", false, false, "safe"},
		{"always", false, true, "safe"},
		{"always", true, true, "idle"},
	} {
		cl, p := poolFixture(t, c.reuse, def, 0)
		safe, idle := &h1ServerConn{}, &h1ServerConn{}
		cl.mu.Lock()
		p.safe = append(p.safe, safe)
		if c.idle {
			p.idle = append(p.idle, idle)
		}
		pc := cl.takeIdle(p, c.notFirst)
		cl.mu.Unlock()
		got := "none"
		switch pc {
		case safe:
			got = "safe"
		case idle:
			got = "idle"
		}
		if got != c.want {
			t.Errorf("%s, later request %v, idle one waiting %v: took %s, want %s", c.reuse, c.notFirst, c.idle, got, c.want)
		}
	}
	// always with only an idle connection: taken by a first request.
	cl, p := poolFixture(t, "always", def, 1)
	cl.mu.Lock()
	pc := cl.takeIdle(p, false)
	cl.mu.Unlock()
	if pc == nil {
		t.Errorf("always: a first request did not take the idle connection")
	}
}

// tcpPair is a loopback TCP connection: the client side and the server's.
func tcpPair(t *testing.T) (client *net.TCPConn, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s
}

// A connection refused by the pool is kept after all when an idle one
// its server closed leaves the lists (haproxy drops that one as soon as
// it reads the close; gproxy looks before refusing).
func TestIdlePoolSweepAdmit(t *testing.T) {
	cl, p := poolFixture(t, "safe", haproxycfg.DefaultIdlePool, 0)
	c, s := tcpPair(t)
	raw, _ := c.SyscallConn()
	dead := &h1ServerConn{cl: cl, conn: c, raw: raw, pool: p, state: pcIdle}
	cl.mu.Lock()
	p.idle = append(p.idle, dead)
	p.used = 1
	if cl.admit(p, false) {
		t.Fatal("a second idle connection admitted without need")
	}
	cl.mu.Unlock()
	s.Close()
	// The close reaches the client's socket: a peek sees it.
	for end := time.Now().Add(5 * time.Second); dead.aliveNow() && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
	}
	cl.mu.Lock()
	ok := cl.sweepAdmit(p, false)
	n := len(p.idle)
	again := cl.sweepAdmit(p, false) // within the second: no second look
	cl.mu.Unlock()
	if !ok || n != 0 || dead.state != pcNone {
		t.Errorf("after the server's close: admitted %v, %d idle, state %d; want true, 0, %d", ok, n, dead.state, pcNone)
	}
	if again {
		t.Errorf("a second sweep within the second")
	}
}
