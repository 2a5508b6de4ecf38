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
