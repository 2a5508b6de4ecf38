package proxy

import (
	"bytes"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

func openFDs(t *testing.T) int {
	t.Helper()
	d, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(d)
}

// bufEcho echoes through a buffer: io.Copy between TCP connections would
// splice and hold a pipe on the test's side.
func bufEcho(c *net.TCPConn) {
	_, _ = io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 4096))
	_ = c.CloseWrite()
}

// An idle proxied session holds its two sockets and nothing else (as
// haproxy): no splice pipe while no data moves, also after a bulk transfer
// went through splice. The test process holds each session's client and
// backend sockets too, hence 4 per session.
func TestIdleSessionDescriptors(t *testing.T) {
	const n = 20
	be := startBackend(t, bufEcho)
	ln, bind := listen(t)
	px := listenProxy("d", bind, server("s1", be.port))
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	evpoll() // the process's one epoll set for relays, opened at the first session
	before := openFDs(t)

	conns := make([]*net.TCPConn, 0, n)
	for i := 0; i < n; i++ {
		c := dial(t, bind)
		roundTrip(t, c, "hello")
		conns = append(conns, c)
	}
	// A bulk transfer both ways on the first session, then small
	// exchanges again: bytes intact and in order across the switches.
	bulk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	c := conns[0]
	go func() { _, _ = c.Write(bulk) }()
	_ = c.SetReadDeadline(time.Now().Add(deadline))
	got := make([]byte, len(bulk))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, bulk) {
		t.Fatalf("bulk echo: %v (intact: %v)", err, bytes.Equal(got, bulk))
	}
	roundTrip(t, c, "after")

	eventually(t, "every session established", func() bool { return e.ActiveConns() == n })
	// The bulk session leaves splice once its data pauses (publishStep);
	// Go pools the pipe it used, which two collections close.
	limit := before + 4*n
	fds := func() int { runtime.GC(); runtime.GC(); return openFDs(t) }
	var now int
	end := time.Now().Add(deadline)
	for now = fds(); now > limit && time.Now().Before(end); now = fds() {
		time.Sleep(50 * time.Millisecond)
	}
	if now > limit {
		t.Fatalf("%d idle sessions hold %d descriptors in this process (client, proxy and server sides), want at most %d (4 per session)",
			n, now-before, limit-before)
	}

	conns[0].Close()
	l := sink.wait(t, 1)
	want := int64(len("hello") + len(bulk) + len("after"))
	if l.BytesFromClient != want || l.BytesToClient != want {
		t.Fatalf("log bytes from/to client %d/%d, want %d both", l.BytesFromClient, l.BytesToClient, want)
	}
}

func TestMaxPipes(t *testing.T) {
	for _, c := range []struct{ maxconn, want int }{
		{0, -1}, {3, 0}, {4, 1}, {20000, 5000}, {9975, 2493},
	} {
		if got := MaxPipes(c.maxconn); got != c.want {
			t.Errorf("MaxPipes(%d) = %d, want %d", c.maxconn, got, c.want)
		}
	}
}

// With every pipe in use (here: none allowed, maxconn 3), bulk transfers
// are copied through buffers, intact and counted.
func TestBulkWithoutPipes(t *testing.T) {
	be := startBackend(t, bufEcho)
	ln, bind := listen(t)
	px := listenProxy("p", bind, server("s1", be.port))
	e, sink := run(t, &haproxycfg.Config{Global: haproxycfg.Global{MaxConn: 3}, Proxies: []*haproxycfg.Proxy{px}}, ln)
	if e.maxPipes != 0 {
		t.Fatalf("maxconn 3: %d pipes allowed, want 0", e.maxPipes)
	}
	c := dial(t, bind)
	bulk := bigPayload()
	go func() { _, _ = c.Write(bulk); _ = c.CloseWrite() }()
	got := readAll(t, c)
	if !bytes.Equal(got, bulk) {
		t.Fatalf("echo of %d bytes: got %d, intact %v", len(bulk), len(got), bytes.Equal(got, bulk))
	}
	c.Close()
	l := sink.wait(t, 1)
	if n := int64(len(bulk)); l.BytesFromClient != n || l.BytesToClient != n || ts(l) != "--" {
		t.Fatalf("log bytes from/to client %d/%d state %s, want %d/%d --", l.BytesFromClient, l.BytesToClient, ts(l), n, n)
	}
}

// relayGoroutines counts the goroutines serving a relay direction.
func relayGoroutines() int {
	buf := make([]byte, 4<<20)
	n := runtime.Stack(buf, true)
	return bytes.Count(buf[:n], []byte("proxy.(*session).pipe("))
}

// An idle session holds no goroutine (haproxy holds no thread per
// connection either): both directions wait in the epoll set, and the
// next data, bulk or not, the FINs, and the timeout still come through,
// with the log counting every byte.
func TestIdleSessionWithoutGoroutines(t *testing.T) {
	if evpoll() == nil {
		t.Skip("no epoll set on this system: directions keep their goroutines")
	}
	const n = 20
	be := startBackend(t, bufEcho)
	ln, bind := listen(t)
	px := listenProxy("g", bind, server("s1", be.port))
	px.Timeouts.Client = 5 * time.Second
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	conns := make([]*net.TCPConn, 0, n)
	for i := 0; i < n; i++ {
		c := dial(t, bind)
		roundTrip(t, c, "hello")
		conns = append(conns, c)
	}
	eventually(t, "every session established", func() bool { return e.ActiveConns() == n })
	eventually(t, "no relay goroutine while the sessions are idle", func() bool { return relayGoroutines() == 0 })

	// Woken from the set: small exchanges, then a bulk one (splice on a
	// goroutine), then idle again.
	roundTrip(t, conns[1], "again")
	bulk := bytes.Repeat([]byte("0123456789abcdef"), 1<<15) // 512 KiB
	go func() { _, _ = conns[1].Write(bulk) }()
	_ = conns[1].SetReadDeadline(time.Now().Add(deadline))
	got := make([]byte, len(bulk))
	if _, err := io.ReadFull(conns[1], got); err != nil || !bytes.Equal(got, bulk) {
		t.Fatalf("bulk echo: %v (intact: %v)", err, bytes.Equal(got, bulk))
	}
	eventually(t, "no relay goroutine once idle again", func() bool { return relayGoroutines() == 0 })

	// The client's FIN reaches the server, whose FIN comes back (bufEcho
	// closes its write side at EOF).
	_ = conns[1].CloseWrite()
	_ = conns[1].SetReadDeadline(time.Now().Add(deadline))
	if b, err := io.ReadAll(conns[1]); err != nil || len(b) != 0 {
		t.Fatalf("after the client's FIN: read %q, %v; want EOF", b, err)
	}
	// The others, idle in the set, time out (timeout client 5s): cD.
	sink.wait(t, n)
	want := int64(len("hello") + len("again") + len(bulk))
	var closed int
	for _, l := range sink.all() {
		switch {
		case l.BytesFromClient == want && l.BytesToClient == want && ts(l) == "--":
			closed++
		case l.BytesFromClient == 5 && l.BytesToClient == 5 && ts(l) == "cD":
		default:
			t.Errorf("log: bytes %d/%d, termination %s; want %d both and --, or 5 both and cD", l.BytesFromClient, l.BytesToClient, ts(l), want)
		}
	}
	if closed != 1 {
		t.Errorf("%d sessions logged with every byte and --, want 1", closed)
	}
	eventually(t, "every session ended", func() bool { return e.ActiveConns() == 0 })
}
