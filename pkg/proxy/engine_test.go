package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/balance"
	"hapair/pkg/haproxycfg"
)

func TestDistribution(t *testing.T) {
	tests := []struct {
		alg     haproxycfg.Algorithm
		weights []int
		maxconn []int
		conns   int
		want    map[string]int // nil: check with wantFn
	}{
		{alg: haproxycfg.RoundRobin, weights: []int{1, 2, 3}, conns: 60, want: map[string]int{"s1": 10, "s2": 20, "s3": 30}},
		{alg: haproxycfg.StaticRR, weights: []int{1, 2, 3}, conns: 60, want: map[string]int{"s1": 10, "s2": 20, "s3": 30}},
		{alg: haproxycfg.LeastConn, weights: []int{1, 1, 1}, conns: 30, want: map[string]int{"s1": 10, "s2": 10, "s3": 10}},
		{alg: haproxycfg.First, weights: []int{1, 1, 1}, conns: 20, want: map[string]int{"s1": 20}},
		{alg: haproxycfg.Source, weights: []int{1, 1, 1}, conns: 20},
	}
	for _, tc := range tests {
		t.Run(string(tc.alg), func(t *testing.T) {
			ln, bind := listen(t)
			var servers []*haproxycfg.Server
			for i, w := range tc.weights {
				name := fmt.Sprintf("s%d", i+1)
				s := server(name, startBackend(t, hello(name)).port)
				s.Weight = w
				servers = append(servers, s)
			}
			px := listenProxy("l", bind, servers...)
			px.Balance = tc.alg
			_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
			got := map[string]int{}
			for i := 0; i < tc.conns; i++ {
				c := dial(t, bind)
				got[string(readAll(t, c))]++
				c.Close()
				// Wait for the session to end so leastconn sees 0 conns.
				sink.wait(t, i+1)
			}
			if tc.want != nil {
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("%d connections went %v, want %v", tc.conns, got, tc.want)
				}
				return
			}
			// source: one client address, one server, the one the hash names.
			if len(got) != 1 {
				t.Fatalf("one client spread over %v", got)
			}
			slot := balance.HashAddr(balance.Key{Client: netip.MustParseAddr("127.0.0.1")}) % 3
			if want := fmt.Sprintf("s%d", slot+1); got[want] != tc.conns {
				t.Fatalf("client went to %v, want all on %s", got, want)
			}
		})
	}
}

func TestServerMaxconnQueue(t *testing.T) {
	// roundrobin skips full servers: the waiter goes to the backend queue.
	// source hashes to the full server: the waiter goes to its queue.
	for _, alg := range []haproxycfg.Algorithm{haproxycfg.RoundRobin, haproxycfg.Source} {
		t.Run(string(alg), func(t *testing.T) { testServerMaxconnQueue(t, alg) })
	}
}

func testServerMaxconnQueue(t *testing.T, alg haproxycfg.Algorithm) {
	be := startBackend(t, echo)
	ln, bind := listen(t)
	s1 := server("s1", be.port)
	s1.MaxConn = 1
	px := listenProxy("q", bind, s1)
	px.Balance = alg
	px.Timeouts.Queue = deadline
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	srvQueue := alg == haproxycfg.Source

	a := dial(t, bind)
	roundTrip(t, a, "first")
	b := dial(t, bind)
	if _, err := io.WriteString(b, "second"); err != nil {
		t.Fatal(err)
	}
	bk := e.Backend("q")
	eventually(t, "the second client in a queue", func() bool {
		if srvQueue {
			return bk.Server("s1").Stats().QueueCur == 1 && bk.Stats().QueueCur == 0
		}
		return bk.Stats().QueueCur == 1 && bk.Server("s1").Stats().QueueCur == 0
	})
	if be.accepted.Load() != 1 {
		t.Fatalf("backend accepted %d connections while maxconn is 1", be.accepted.Load())
	}
	a.CloseWrite()
	readAll(t, a)
	// The slot freed: b is served.
	_ = b.SetReadDeadline(time.Now().Add(deadline))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "second" {
		t.Fatalf("queued client got %q, %v", buf, err)
	}
	b.CloseWrite()
	readAll(t, b)
	sink.wait(t, 2)
	var queued bool
	for _, l := range sink.all() {
		if l.BytesFromClient == 6 {
			queued = true
			wantSQ, wantBQ := 0, 1
			if srvQueue {
				wantSQ, wantBQ = 1, 0
			}
			if l.BeQueue != wantBQ || l.SrvQueue != wantSQ || l.ServerName != "s1" || ts(l) != "--" || l.Tw <= 0 {
				t.Errorf("queued session log: %+v", l)
			}
		}
	}
	if !queued {
		t.Fatalf("no log for the queued session: %+v", sink.all())
	}
	qs := bk.Stats()
	if srvQueue {
		qs = bk.Server("s1").Stats()
	}
	if qs.QueueMax != 1 || qs.QueueCur != 0 {
		t.Errorf("queue cur/max = %d/%d, want 0/1", qs.QueueCur, qs.QueueMax)
	}
	if st := bk.Server("s1").Stats(); st.MaxSessions != 1 || st.TotalSessions != 2 {
		t.Errorf("server max/total sessions = %d/%d, want 1/2", st.MaxSessions, st.TotalSessions)
	}
}

func TestQueueTimeout(t *testing.T) {
	be := startBackend(t, echo)
	ln, bind := listen(t)
	s1 := server("s1", be.port)
	s1.MaxConn = 1
	px := listenProxy("q", bind, s1)
	px.Timeouts.Queue = 100 * time.Millisecond
	_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)

	a := dial(t, bind)
	roundTrip(t, a, "first")
	b := dial(t, bind)
	io.WriteString(b, "second")
	if got := readClosed(t, b); len(got) != 0 {
		t.Fatalf("queued client got %q", got)
	}
	l := sink.wait(t, 1)
	if ts(l) != "sQ" || l.ServerName != "<NOSRV>" || l.BeQueue != 1 || l.Tc != -1 || l.Tw < 100*time.Millisecond {
		t.Fatalf("queue timeout log: %+v (state %s)", l, ts(l))
	}
	roundTrip(t, a, "still here")
}

func TestMaxconnStopsAccepting(t *testing.T) {
	for _, level := range []string{"global", "proxy"} {
		t.Run(level, func(t *testing.T) {
			be := startBackend(t, echo)
			ln, bind := listen(t)
			px := listenProxy("m", bind, server("s1", be.port))
			cfg := &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}
			if level == "global" {
				cfg.Global.MaxConn = 1
			} else {
				cfg.Global.MaxConn = 100
				px.MaxConn = 1
			}
			e, _ := run(t, cfg, ln)
			a := dial(t, bind)
			roundTrip(t, a, "a")
			b := dial(t, bind) // completes in the kernel backlog
			io.WriteString(b, "b")
			_ = b.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if n, err := b.Read(make([]byte, 1)); n != 0 || !isTimeout(err) {
				t.Fatalf("second client got data (%d, %v) while maxconn is 1", n, err)
			}
			if be.accepted.Load() != 1 || e.ActiveConns() != 1 || e.Frontend("m").Stats().CurSessions != 1 {
				t.Fatalf("accepted %d, ac %d with maxconn 1", be.accepted.Load(), e.ActiveConns())
			}
			if st := e.Frontend("m").Stats().Status; st != StatusFull {
				t.Errorf("frontend status %s at maxconn, want FULL", st)
			}
			a.Close()
			_ = b.SetReadDeadline(time.Now().Add(deadline))
			buf := make([]byte, 1)
			if _, err := io.ReadFull(b, buf); err != nil || buf[0] != 'b' {
				t.Fatalf("after the slot freed: %q, %v", buf, err)
			}
			if st := e.Frontend("m").Stats(); st.MaxSessions != 1 || st.SessionLimit != 1 {
				t.Errorf("frontend max/limit = %d/%d, want 1/1", st.MaxSessions, st.SessionLimit)
			}
		})
	}
}

func TestRetriesAndRedispatch(t *testing.T) {
	ok := startBackend(t, hello("ok"))
	dead := deadPort(t)
	// The server `balance source` sends 127.0.0.1 to, among two of weight 1.
	srcSlot := balance.HashAddr(balance.Key{Client: netip.MustParseAddr("127.0.0.1")}) % 2

	tests := []struct {
		name       string
		alg        haproxycfg.Algorithm
		redispatch bool
		servers    func() []*haproxycfg.Server
		wantServer string
		wantTS     string
		wantRC     int
		wantRedisp bool
		wantBody   string
		// counters: backend retries, redispatches, connection errors
		beRetries, beRedisp, beErrors int64
		deadSrv                       string
		deadRetries, deadRedisp       int64
		deadErrors                    int64
	}{
		{
			name: "dead single server", alg: haproxycfg.RoundRobin,
			servers:    func() []*haproxycfg.Server { return []*haproxycfg.Server{server("s1", dead)} },
			wantServer: "s1", wantTS: "SC", wantRC: 2,
			beRetries: 2, beErrors: 1, deadSrv: "s1", deadRetries: 2, deadErrors: 1,
		},
		{
			name: "no redispatch stays on the dead server", alg: haproxycfg.RoundRobin,
			servers: func() []*haproxycfg.Server {
				return []*haproxycfg.Server{server("s1", dead), server("s2", ok.port)}
			},
			wantServer: "s1", wantTS: "SC", wantRC: 2,
			beRetries: 2, beErrors: 1, deadSrv: "s1", deadRetries: 2, deadErrors: 1,
		},
		{
			name: "roundrobin redispatches at the first retry", alg: haproxycfg.RoundRobin, redispatch: true,
			servers: func() []*haproxycfg.Server {
				return []*haproxycfg.Server{server("s1", dead), server("s2", ok.port)}
			},
			wantServer: "s2", wantTS: "--", wantRC: 1, wantRedisp: true, wantBody: "ok",
			beRedisp: 1, deadSrv: "s1", deadRedisp: 1,
		},
		{
			// haproxy 2.6 goes back to load balancing on the last retry,
			// but its map lookup ignores the server to avoid: the client
			// lands on the same dead server (seen with haproxy 2.6.12:
			// "l/s2 ... SC 1/1/0/0/2").
			name: "source stays on its server on the last retry", alg: haproxycfg.Source, redispatch: true,
			servers: func() []*haproxycfg.Server {
				ss := []*haproxycfg.Server{server("s1", ok.port), server("s2", ok.port)}
				ss[srcSlot].Port = dead
				return ss
			},
			wantServer: fmt.Sprintf("s%d", srcSlot+1), wantTS: "SC", wantRC: 2,
			beRetries: 2, beErrors: 1, deadSrv: fmt.Sprintf("s%d", srcSlot+1), deadRetries: 2, deadErrors: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, bind := listen(t)
			px := listenProxy("r", bind, tc.servers()...)
			px.Balance = tc.alg
			px.Retries = 2
			px.Options.Redispatch = tc.redispatch
			px.Timeouts.Connect = 50 * time.Millisecond // also the turn-around wait
			e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
			c := dial(t, bind)
			if got := string(readClosed(t, c)); got != tc.wantBody {
				t.Fatalf("client got %q, want %q", got, tc.wantBody)
			}
			c.Close()
			l := sink.wait(t, 1)
			if l.ServerName != tc.wantServer || ts(l) != tc.wantTS || l.Retries != tc.wantRC || l.Redisp != tc.wantRedisp {
				t.Fatalf("log: server %s state %s rc %d redisp %v; want %s %s %d %v",
					l.ServerName, ts(l), l.Retries, l.Redisp, tc.wantServer, tc.wantTS, tc.wantRC, tc.wantRedisp)
			}
			if tc.wantTS == "SC" && (l.Tc != -1 || l.Tw < 0) {
				t.Errorf("failed connect timers Tw %v Tc %v, want Tw >= 0, Tc -1", l.Tw, l.Tc)
			}
			if tc.wantTS == "--" && l.Tc < 0 {
				t.Errorf("Tc = %v after connecting", l.Tc)
			}
			bs := e.Backend("r").Stats()
			if bs.Retries != tc.beRetries || bs.Redispatches != tc.beRedisp || bs.ConnErrors != tc.beErrors {
				t.Errorf("backend wretr/wredis/econ = %d/%d/%d, want %d/%d/%d",
					bs.Retries, bs.Redispatches, bs.ConnErrors, tc.beRetries, tc.beRedisp, tc.beErrors)
			}
			ds := e.Backend("r").Server(tc.deadSrv).Stats()
			if ds.Retries != tc.deadRetries || ds.Redispatches != tc.deadRedisp || ds.ConnErrors != tc.deadErrors {
				t.Errorf("dead server wretr/wredis/econ = %d/%d/%d, want %d/%d/%d",
					ds.Retries, ds.Redispatches, ds.ConnErrors, tc.deadRetries, tc.deadRedisp, tc.deadErrors)
			}
			if ds.CurSessions != 0 {
				t.Errorf("dead server keeps %d sessions", ds.CurSessions)
			}
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	// A listener with a backlog of 1 that never accepts: once its queue is
	// full, Linux drops further SYNs, so connecting to it times out.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := sa.(*syscall.SockaddrInet4).Port
	var fillers []net.Conn
	defer func() {
		for _, c := range fillers {
			c.Close()
		}
	}()
	for i := 0; ; i++ {
		if i == 64 {
			t.Fatal("the never-accepting listener kept completing connections")
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err != nil {
			break
		}
		fillers = append(fillers, c)
	}
	ln, bind := listen(t)
	px := listenProxy("t", bind, server("s1", port))
	px.Retries = 0
	px.Timeouts.Connect = 100 * time.Millisecond
	_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	readClosed(t, c)
	if l := sink.wait(t, 1); ts(l) != "sC" || l.Tc != -1 {
		t.Fatalf("connect timeout: state %s Tc %v, want sC -1", ts(l), l.Tc)
	}
}

func TestNoServer(t *testing.T) {
	be := startBackend(t, hello("ok"))
	lnA, bindA := listen(t)
	lnB, bindB := listen(t)
	fe := &haproxycfg.Proxy{Name: "fe", Kind: haproxycfg.KindFrontend, Binds: []haproxycfg.Bind{bindA},
		Logs: []haproxycfg.LogTarget{{}}}
	px := listenProxy("l", bindB, server("s1", be.port))
	bk := server("bk", be.port)
	bk.Backup = true
	px.Servers = append(px.Servers, bk)
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{fe, px}}, lnA, lnB)

	c := dial(t, bindA)
	c.Write([]byte("x"))
	readClosed(t, c)
	l := sink.wait(t, 1)
	if l.BackendName != "fe" || l.ServerName != "<NOSRV>" || ts(l) != "SC" || l.Tw != -1 || l.Tc != -1 {
		t.Fatalf("frontend without backend: %+v state %s", l, ts(l))
	}

	b := e.Backend("l")
	b.Server("s1").SetAdminState(AdminMaint)
	c = dial(t, bindB)
	if got := string(readAll(t, c)); got != "ok" {
		t.Fatalf("backup server answered %q", got)
	}
	c.Close()
	if l := sink.wait(t, 2); l.ServerName != "bk" {
		t.Fatalf("with the active server in maintenance, went to %s, want the backup", l.ServerName)
	}
	b.Server("bk").SetUp(false)
	if b.Status() != StatusDown || b.Server("bk").Status() != StatusDown || b.Server("s1").Status() != StatusMaint {
		t.Fatalf("statuses: backend %s s1 %s bk %s", b.Status(), b.Server("s1").Status(), b.Server("bk").Status())
	}
	c = dial(t, bindB)
	c.Write([]byte("x"))
	readClosed(t, c)
	if l := sink.wait(t, 3); l.ServerName != "<NOSRV>" || ts(l) != "SC" {
		t.Fatalf("all servers down: %s %s", l.ServerName, ts(l))
	}
	b.Server("s1").SetAdminState(AdminReady)
	c = dial(t, bindB)
	if got := string(readAll(t, c)); got != "ok" {
		t.Fatalf("after leaving maintenance: %q", got)
	}
	c.Close()
	if l := sink.wait(t, 4); l.ServerName != "s1" {
		t.Fatalf("after leaving maintenance went to %s", l.ServerName)
	}
}

// bigPayload is 10 MB of a pattern that detects reordering or loss.
func bigPayload() []byte {
	p := make([]byte, 10<<20)
	for i := range p {
		p[i] = byte(i * 7 >> 3)
	}
	return p
}

func TestHalfClose(t *testing.T) {
	payload := bigPayload()
	type result struct {
		got []byte
		err error
	}
	// client-first: the client sends everything and half-closes; the
	// server reads to EOF, then answers with its own 10 MB.
	// server-first: the server sends everything and half-closes; the
	// client reads to EOF, then sends its 10 MB.
	for _, order := range []string{"client-first", "server-first"} {
		t.Run(order, func(t *testing.T) {
			srvGot := make(chan result, 1)
			be := startBackend(t, func(c *net.TCPConn) {
				if order == "client-first" {
					b, err := io.ReadAll(c)
					srvGot <- result{b, err}
					c.Write(payload)
					return
				}
				c.Write(payload)
				c.CloseWrite()
				b, err := io.ReadAll(c)
				srvGot <- result{b, err}
			})
			ln, bind := listen(t)
			px := listenProxy("h", bind, server("s1", be.port))
			e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
			c := dial(t, bind)
			var cliGot []byte
			if order == "client-first" {
				go func() { c.Write(payload); c.CloseWrite() }()
				cliGot = readAll(t, c)
			} else {
				cliGot = readAll(t, c)
				c.Write(payload)
				c.CloseWrite()
			}
			var r result
			select {
			case r = <-srvGot:
			case <-time.After(deadline):
				t.Fatal("server never saw the end of the client's data")
			}
			if r.err != nil || !bytes.Equal(r.got, payload) {
				t.Fatalf("server got %d bytes (%v), want %d intact", len(r.got), r.err, len(payload))
			}
			if !bytes.Equal(cliGot, payload) {
				t.Fatalf("client got %d bytes, want %d intact", len(cliGot), len(payload))
			}
			c.Close()
			l := sink.wait(t, 1)
			n := int64(len(payload))
			if l.BytesFromClient != n || l.BytesToClient != n || ts(l) != "--" {
				t.Fatalf("log bytes from/to client %d/%d state %s, want %d/%d --", l.BytesFromClient, l.BytesToClient, ts(l), n, n)
			}
			fs, ss := e.Frontend("h").Stats(), e.Backend("h").Server("s1").Stats()
			if fs.BytesIn != n || fs.BytesOut != n || ss.BytesIn != n || ss.BytesOut != n {
				t.Fatalf("counters fe in/out %d/%d srv %d/%d, want %d", fs.BytesIn, fs.BytesOut, ss.BytesIn, ss.BytesOut, n)
			}
		})
	}
}

func TestIdleTimeouts(t *testing.T) {
	tests := []struct {
		name           string
		client, server time.Duration
		tunnel         time.Duration
		want           string
	}{
		{name: "client", client: 100 * time.Millisecond, server: time.Minute, want: "cD"},
		{name: "server", client: time.Minute, server: 100 * time.Millisecond, want: "sD"},
		{name: "tunnel overrides", client: 100 * time.Millisecond, server: 100 * time.Millisecond, tunnel: 300 * time.Millisecond, want: "cD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := startBackend(t, echo)
			ln, bind := listen(t)
			px := listenProxy("i", bind, server("s1", be.port))
			px.Timeouts.Client, px.Timeouts.Server, px.Timeouts.Tunnel = tc.client, tc.server, tc.tunnel
			_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
			c := dial(t, bind)
			start := time.Now()
			roundTrip(t, c, "ping")
			readAll(t, c) // the proxy closes the idle session
			l := sink.wait(t, 1)
			if ts(l) != tc.want {
				t.Fatalf("state %s, want %s", ts(l), tc.want)
			}
			if min := tc.tunnel; min > 0 && time.Since(start) < min {
				t.Fatalf("closed after %v, before timeout tunnel %v", time.Since(start), min)
			}
		})
	}
}

func TestHalfClosedTimeouts(t *testing.T) {
	tests := []struct {
		name string
		// server runs the server side; client the client side after
		// dialing; want is the termination state and body the bytes the
		// client must receive.
		server func(c *net.TCPConn, hold <-chan struct{})
		client func(c *net.TCPConn)
		set    func(*haproxycfg.Timeouts)
		want   string
		body   string
	}{
		{
			// The server answers and closes; the client keeps its side
			// open and says nothing: client-fin ends it.
			name: "client-fin",
			server: func(c *net.TCPConn, _ <-chan struct{}) {
				io.ReadFull(c, make([]byte, 3))
				c.Write([]byte("bye"))
			},
			client: func(c *net.TCPConn) { c.Write([]byte("hi!")) },
			set: func(to *haproxycfg.Timeouts) {
				to.Client, to.Server, to.ClientFin = time.Minute, time.Minute, 100*time.Millisecond
			},
			want: "cD", body: "bye",
		},
		{
			// The client half-closes; the server keeps its side open and
			// says nothing: server-fin ends it.
			name: "server-fin",
			server: func(c *net.TCPConn, hold <-chan struct{}) {
				io.Copy(io.Discard, c)
				<-hold
			},
			client: func(c *net.TCPConn) { c.Write([]byte("hi!")); c.CloseWrite() },
			set: func(to *haproxycfg.Timeouts) {
				to.Client, to.Server, to.ServerFin = time.Minute, time.Minute, 100*time.Millisecond
			},
			want: "sD",
		},
		{
			// The client half-closes and waits; the server takes longer
			// than timeout client to answer. haproxy keeps the session:
			// nothing is expected from the client meanwhile.
			name: "half-closed client is not timed out",
			server: func(c *net.TCPConn, _ <-chan struct{}) {
				io.Copy(io.Discard, c)
				time.Sleep(400 * time.Millisecond)
				c.Write([]byte("late answer"))
			},
			client: func(c *net.TCPConn) { c.Write([]byte("hi!")); c.CloseWrite() },
			set: func(to *haproxycfg.Timeouts) {
				to.Client, to.Server = 100*time.Millisecond, time.Minute
			},
			want: "--", body: "late answer",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hold := make(chan struct{})
			defer close(hold)
			be := startBackend(t, func(c *net.TCPConn) { tc.server(c, hold) })
			ln, bind := listen(t)
			px := listenProxy("f", bind, server("s1", be.port))
			tc.set(&px.Timeouts)
			_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
			c := dial(t, bind)
			tc.client(c)
			got := readClosed(t, c)
			if tc.want == "--" {
				c.Close()
			}
			l := sink.wait(t, 1)
			if ts(l) != tc.want || string(got) != tc.body || l.BytesFromClient != 3 {
				t.Fatalf("state %s, client got %q, %d bytes from client; want %s %q 3", ts(l), got, l.BytesFromClient, tc.want, tc.body)
			}
		})
	}
}

func TestSlowAndStalledReaders(t *testing.T) {
	payload := bigPayload()
	tests := []struct {
		name string
		read func(c net.Conn) int // returns the bytes read
		want string
	}{
		{
			// Reads 64 kB every 10 ms: far slower than the proxy
			// writes, so its writes block for longer than the timeout,
			// but the client acknowledges data all the time.
			name: "slow reader", want: "--",
			read: func(c net.Conn) int {
				n, buf := 0, make([]byte, 64<<10)
				for {
					m, err := io.ReadFull(c, buf)
					n += m
					if err != nil {
						return n
					}
					time.Sleep(10 * time.Millisecond)
				}
			},
		},
		{
			// Reads nothing: the proxy's write blocks, nothing is
			// acknowledged, the client timeout fires.
			name: "stalled reader", want: "cD",
			read: func(c net.Conn) int { readClosed(t, c); return 0 },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := startBackend(t, func(c *net.TCPConn) {
				io.ReadFull(c, make([]byte, 2))
				c.Write(payload)
			})
			ln, bind := listen(t)
			px := listenProxy("w", bind, server("s1", be.port))
			px.Timeouts.Client, px.Timeouts.Server = 300*time.Millisecond, 300*time.Millisecond
			_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
			c := dial(t, bind)
			c.SetReadBuffer(256 << 10)
			c.Write([]byte("go"))
			if tc.name == "stalled reader" {
				// Let the buffers fill, and stay stalled past the timeout.
				l := sink.wait(t, 1)
				if ts(l) != tc.want {
					t.Fatalf("stalled reader: state %s after %d bytes, want %s", ts(l), l.BytesToClient, tc.want)
				}
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(deadline))
			got := tc.read(c)
			c.Close()
			l := sink.wait(t, 1)
			if got != len(payload) || ts(l) != tc.want || l.BytesToClient != int64(len(payload)) {
				t.Fatalf("slow reader got %d of %d bytes, log %s %d bytes", got, len(payload), ts(l), l.BytesToClient)
			}
		})
	}
}

// TestActivityKeepsSessionAlive: round trips spaced by less than the
// inactivity timeout keep a session alive for longer than the timeout.
// The spacing is on the engine's clock (virtual time the test advances),
// so a loaded machine that runs the watchdog late cannot turn a 40 ms gap
// into a timeout; the watchdog itself wakes on real time, so the test
// waits past its longest sleep before the last round trip: an engine that
// counted idle time from the session's start would have cut it by then.
func TestActivityKeepsSessionAlive(t *testing.T) {
	const timeout = 150 * time.Millisecond
	clk := &virtualClock{t: time.Unix(1e9, 0)}
	be := startBackend(t, echo)
	ln, bind := listen(t)
	px := listenProxy("a", bind, server("s1", be.port))
	px.Timeouts.Client, px.Timeouts.Server = timeout, timeout
	_, sink := runOpts(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{Now: clk.now}, ln)
	c := dial(t, bind)
	// Ten round trips spaced by 40 ms of the engine's clock: 2.7
	// timeouts in all.
	for i := 0; i < 10; i++ {
		roundTrip(t, c, "tick")
		clk.advance(40 * time.Millisecond)
	}
	// Not a timing margin: the engine's clock stands still, so a correct
	// engine is idle for 40 ms however long this takes; the watchdog
	// sleeps at most one timeout (real) between looks.
	time.Sleep(3 * timeout)
	roundTrip(t, c, "tock")
	c.CloseWrite()
	readAll(t, c)
	if l := sink.wait(t, 1); ts(l) != "--" || l.BytesFromClient != 44 {
		t.Fatalf("active session ended %s after %d bytes", ts(l), l.BytesFromClient)
	}
	// The same session left idle for a timeout of the engine's clock ends
	// with a client timeout: the clock is the one the watchdog reads.
	c2 := dial(t, bind)
	roundTrip(t, c2, "idle")
	// The engine stamps the last activity once the echo is written,
	// possibly after the client has read it and the clock was advanced
	// (CI, once): the clock keeps moving a timeout per look until the
	// watchdog ends the session.
	eventually(t, "the idle session ended", func() bool {
		if len(sink.all()) >= 2 {
			return true
		}
		clk.advance(timeout)
		return false
	})
	l := sink.wait(t, 2)
	if ts(l) != "cD" || l.BytesFromClient != 4 {
		t.Fatalf("idle session ended %s after %d bytes, want cD after 4", ts(l), l.BytesFromClient)
	}
}

// virtualClock is an engine clock that moves only when a test says so.
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *virtualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *virtualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSoftStop(t *testing.T) {
	be := startBackend(t, echo)
	ln, bind := listen(t)
	px := listenProxy("s", bind, server("s1", be.port))
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	roundTrip(t, c, "before")
	e.SoftStop()
	eventually(t, "new connections refused", func() bool {
		n, err := net.Dial("tcp", bind.Address())
		if err != nil {
			return true
		}
		n.Close()
		return false
	})
	if e.Frontend("s").Stats().Status != StatusStop {
		t.Error("frontend not STOP after SoftStop")
	}
	roundTrip(t, c, "after soft stop")
	waited := make(chan struct{})
	go func() { e.Wait(context.Background()); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned with a session running")
	default:
	}
	c.CloseWrite()
	readAll(t, c)
	select {
	case <-waited:
	case <-time.After(deadline):
		t.Fatal("Wait did not return after the last session ended")
	}
	if l := sink.wait(t, 1); ts(l) != "--" {
		t.Fatalf("soft-stopped session ended %s", ts(l))
	}
}

func TestServeContextStops(t *testing.T) {
	ln, bind := listen(t)
	px := listenProxy("s", bind, server("s1", deadPort(t)))
	e, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{Listeners: map[string]net.Listener{bind.Address(): ln}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.Serve(ctx) }()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	case <-time.After(deadline):
		t.Fatal("Serve ignored its context")
	}
}

func TestCloseKillsSessions(t *testing.T) {
	be := startBackend(t, echo)
	ln, bind := listen(t)
	s1 := server("s1", be.port)
	s1.MaxConn = 1
	px := listenProxy("k", bind, s1)
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	roundTrip(t, c, "hello")
	q := dial(t, bind) // waits in the queue
	eventually(t, "queued", func() bool { return e.Backend("k").Stats().QueueCur == 1 })
	e.Close()
	_ = c.SetReadDeadline(time.Now().Add(deadline))
	if _, err := io.ReadAll(c); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("killed session read: %v", err)
	}
	readAll(t, q)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	e.Wait(ctx)
	if ctx.Err() != nil {
		t.Fatal("sessions survived Close")
	}
	states := map[string]bool{}
	for _, l := range sink.all() {
		states[ts(l)] = true
	}
	if !states["KD"] || !states["KQ"] {
		t.Fatalf("termination states %v, want KD and KQ", states)
	}
}

func TestCounters(t *testing.T) {
	be := startBackend(t, echo)
	ln, bind := listen(t)
	px := listenProxy("c", bind, server("s1", be.port), server("s2", be.port))
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	roundTrip(t, c, "abc")
	fe, bk := e.Frontend("c"), e.Backend("c")
	eventually(t, "current session counted", func() bool {
		return fe.Stats().CurSessions == 1 && bk.Stats().CurSessions == 1 && e.ActiveConns() == 1
	})
	for i := 0; i < 3; i++ {
		d := dial(t, bind)
		roundTrip(t, d, "defgh")
		d.Close()
		sink.wait(t, i+1)
	}
	c.Close()
	sink.wait(t, 4)
	eventually(t, "sessions closed", func() bool { return fe.Stats().CurSessions == 0 && e.ActiveConns() == 0 })
	fs, bs := fe.Stats(), bk.Stats()
	if fs.TotalSessions != 4 || bs.TotalSessions != 4 || fs.MaxSessions != 2 {
		t.Errorf("frontend total/max %d/%d backend total %d, want 4/2 4", fs.TotalSessions, fs.MaxSessions, bs.TotalSessions)
	}
	if fs.BytesIn != 18 || fs.BytesOut != 18 || bs.BytesIn != 18 || bs.BytesOut != 18 {
		t.Errorf("bytes fe %d/%d be %d/%d, want 18", fs.BytesIn, fs.BytesOut, bs.BytesIn, bs.BytesOut)
	}
	if fs.SessionRate < 1 || fs.MaxSessionRate < 1 || fs.LastSession.IsZero() {
		t.Errorf("rate %d max %d last %v", fs.SessionRate, fs.MaxSessionRate, fs.LastSession)
	}
	s1, s2 := bk.Server("s1").Stats(), bk.Server("s2").Stats()
	if s1.TotalSessions != 2 || s2.TotalSessions != 2 || s1.BytesIn+s2.BytesIn != 18 {
		t.Errorf("servers total %d/%d bytes %d+%d", s1.TotalSessions, s2.TotalSessions, s1.BytesIn, s2.BytesIn)
	}
	if bs.ActiveServers != 2 || bs.Weight != 2 || bs.Status != StatusUp {
		t.Errorf("backend act %d weight %d status %s", bs.ActiveServers, bs.Weight, bs.Status)
	}
	// Log fields of the last session: %ac/%fc count it, %bc/%sc no longer do.
	for _, l := range sink.all() {
		if l.ActConn < 1 || l.FeConn < 1 || l.Client.Addr().String() != "127.0.0.1" || l.Frontend.Port() != uint16(bind.Port) {
			t.Errorf("log %+v", l)
		}
	}
	bk.Server("s1").SetAdminState(AdminDrain)
	if got := bk.Server("s1").Stats(); got.Status != StatusDrain || got.Weight != 0 {
		t.Errorf("drained server status %s weight %d", got.Status, got.Weight)
	}
	if err := bk.Server("s2").SetWeight(300); err == nil {
		t.Error("SetWeight(300) accepted")
	}
	if err := bk.Server("s2").SetWeight(7); err != nil || bk.Stats().Weight != 7 {
		t.Errorf("SetWeight(7): %v, backend weight %d", err, bk.Stats().Weight)
	}
}

func TestDontLogNull(t *testing.T) {
	be := startBackend(t, echo)
	ln, bind := listen(t)
	px := listenProxy("n", bind, server("s1", be.port))
	px.Options.DontLogNull = true
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	c.Close()
	eventually(t, "null session over", func() bool { return e.Frontend("n").Stats().TotalSessions == 1 && e.ActiveConns() == 0 })
	c = dial(t, bind)
	roundTrip(t, c, "data")
	c.Close()
	l := sink.wait(t, 1)
	if l.BytesFromClient != 4 {
		t.Fatalf("logged %+v", l)
	}
	if n := len(sink.all()); n != 1 {
		t.Fatalf("%d logs, want only the session with data", n)
	}
}

func TestNewErrors(t *testing.T) {
	_, bind := listen(t)
	fe := &haproxycfg.Proxy{Name: "fe", Kind: haproxycfg.KindFrontend, Binds: []haproxycfg.Bind{bind}, DefaultBackend: "missing",
		Pos: haproxycfg.Pos{File: "h.cfg", Line: 3}}
	if _, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{fe}}, Options{}); err == nil || !strings.Contains(err.Error(), "h.cfg:3") {
		t.Fatalf("missing backend: %v", err)
	}
	// A bind that cannot be opened is reported with its position.
	used, ubind := listen(t)
	_ = used
	px := listenProxy("b", ubind)
	px.Binds[0].Pos = haproxycfg.Pos{File: "h.cfg", Line: 9}
	e, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bind(); err == nil || !strings.Contains(err.Error(), "h.cfg:9") {
		t.Fatalf("bind on a used port: %v", err)
	}
}

func TestManyConcurrentSessions(t *testing.T) {
	be := startBackend(t, echo)
	ln, bind := listen(t)
	s1, s2 := server("s1", be.port), server("s2", be.port)
	s1.MaxConn, s2.MaxConn = 20, 20 // 200 clients over 40 slots: most queue
	px := listenProxy("many", bind, s1, s2)
	px.Balance = haproxycfg.LeastConn
	px.Timeouts.Queue = deadline
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	const n = 200
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			c, err := net.Dial("tcp", bind.Address())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := fmt.Sprintf("client %03d", i)
			c.SetDeadline(time.Now().Add(deadline))
			if _, err := io.WriteString(c, msg); err != nil {
				errs <- err
				return
			}
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err == nil && string(got) != msg {
				err = fmt.Errorf("client %d got %q", i, got)
			}
			errs <- err
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	sink.wait(t, n)
	bk := e.Backend("many")
	var total int64
	for _, s := range bk.Servers() {
		st := s.Stats()
		if st.MaxSessions > 20 {
			t.Errorf("%s reached %d sessions over maxconn 20", s.Name(), st.MaxSessions)
		}
		total += st.TotalSessions
	}
	if total != n || bk.Stats().BytesIn != n*10 || bk.Stats().QueueCur != 0 {
		t.Errorf("servers total %d, backend bytes in %d, queue %d", total, bk.Stats().BytesIn, bk.Stats().QueueCur)
	}
	eventually(t, "all sessions closed", func() bool { return e.ActiveConns() == 0 })
	for _, l := range sink.all() {
		if ts(l) != "--" || l.BytesToClient != 10 {
			t.Fatalf("session log %+v state %s", l, ts(l))
		}
	}
}

func TestServerWithoutPortUsesClientPort(t *testing.T) {
	ln, bind := listen(t)
	bl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.2:%d", bind.Port))
	if err != nil {
		t.Fatalf("backend on 127.0.0.2 with the frontend's port: %v", err)
	}
	defer bl.Close()
	go func() {
		c, err := bl.Accept()
		if err == nil {
			c.Write([]byte("same port"))
			c.Close()
		}
	}()
	s := server("s1", 0)
	s.Host = "127.0.0.2"
	px := listenProxy("p", bind, s)
	_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	if got := string(readAll(t, c)); got != "same port" {
		t.Fatalf("got %q", got)
	}
	c.Close()
	if l := sink.wait(t, 1); ts(l) != "--" {
		t.Fatalf("state %s", ts(l))
	}
}
