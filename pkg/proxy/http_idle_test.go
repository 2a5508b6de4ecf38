package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// h1LoopGoroutines counts the goroutines serving a mode http client
// connection (idle workers wait outside serve).
func h1LoopGoroutines() int {
	buf := make([]byte, 4<<20)
	n := runtime.Stack(buf, true)
	count := 0
	for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
		if bytes.Contains(g, []byte("proxy.(*h1Frontend).serve(")) || bytes.Contains(g, []byte("proxy.(*h1Frontend).resume(")) {
			count++
		}
	}
	return count
}

// keepAliveGet sends one request on c and reads its response.
func keepAliveGet(t *testing.T, c net.Conn, br *bufio.Reader, path string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	return string(b)
}

// A keep-alive client waiting for its next request holds no goroutine
// (haproxy holds no thread per connection either): it waits in the epoll
// set, and its next request, its close and a soft stop still come
// through, logged and counted as before.
func TestIdleHTTPKeepAliveWithoutGoroutines(t *testing.T) {
	if evpoll() == nil {
		t.Skip("no epoll set on this system: idle clients keep their goroutines")
	}
	const n = 20
	e, sink, bind := httpProxy(t, httpBackend(t, "s1"))
	conns := make([]*net.TCPConn, n)
	readers := make([]*bufio.Reader, n)
	for i := range conns {
		conns[i] = dial(t, bind)
		readers[i] = bufio.NewReader(conns[i])
		if got := keepAliveGet(t, conns[i], readers[i], "/a"); got != "s1 GET /a 0" {
			t.Fatalf("response %q", got)
		}
	}
	fe := e.Frontend("web")
	eventually(t, "every client connected", func() bool { return fe.Stats().CurSessions == n })
	eventually(t, "no request loop goroutine while the clients are idle", func() bool { return h1LoopGoroutines() == 0 })

	// Woken from the set: the next requests, then idle again.
	for i := 0; i < 3; i++ {
		if got := keepAliveGet(t, conns[1], readers[1], "/b"); got != "s1 GET /b 0" {
			t.Fatalf("response after the idle period %q", got)
		}
	}
	eventually(t, "no request loop goroutine once idle again", func() bool { return h1LoopGoroutines() == 0 })
	// A request split in two segments: the loop resumes with the first.
	_ = conns[2].SetDeadline(time.Now().Add(deadline))
	io.WriteString(conns[2], "GET /split HTT")
	eventually(t, "the loop waiting for the rest of the head", func() bool { return h1LoopGoroutines() == 1 })
	io.WriteString(conns[2], "P/1.1\r\nHost: t\r\n\r\n")
	if resp, err := http.ReadResponse(readers[2], nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("split request: %v %v", resp, err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// A client that leaves while parked is closed, silently.
	conns[3].Close()
	eventually(t, "the client that left closed", func() bool { return fe.Stats().CurSessions == n-1 })
	eventually(t, "no request loop goroutine", func() bool { return h1LoopGoroutines() == 0 })

	l := sink.wait(t, n+4)
	if l.Status != 200 || ts(l) != "--" || l.URI != "/split" {
		t.Errorf("last log: %d %s %s, want 200 -- /split", l.Status, ts(l), l.URI)
	}
	for _, l := range sink.all() {
		if l.Tt < l.Ti {
			t.Errorf("log %s: Tt %v < Ti %v", l.URI, l.Tt, l.Ti)
		}
	}

	// A soft stop closes the parked clients and the engine finishes.
	e.SoftStop()
	for i, c := range conns {
		if i == 3 {
			continue
		}
		_ = c.SetDeadline(time.Now().Add(deadline))
		if rest, err := io.ReadAll(readers[i]); err != nil || len(rest) != 0 {
			t.Fatalf("client %d after the soft stop: %q, %v; want a close", i, rest, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	e.Wait(ctx)
	if ctx.Err() != nil {
		t.Fatal("parked keep-alive clients kept the engine from stopping")
	}
	if got := len(sink.all()); got != n+4 {
		t.Errorf("%d log lines, want %d (idle closes are not logged)", got, n+4)
	}
}

// A parked client is closed at `timeout http-keep-alive` (its timer stands
// for the read deadline), unlogged, and a busy one is not.
func TestIdleHTTPKeepAliveTimeoutParked(t *testing.T) {
	if evpoll() == nil {
		t.Skip("no epoll set on this system")
	}
	ln, bind := listen(t)
	px := listenProxy("web", bind, server("s1", httpBackend(t, "s1")))
	px.Mode = haproxycfg.ModeHTTP
	px.Options = haproxycfg.Options{HTTPLog: true}
	px.Timeouts.Client = deadline
	px.Timeouts.HTTPKeepAlive = 100 * time.Millisecond
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	br := bufio.NewReader(c)
	keepAliveGet(t, c, br, "/a")
	_ = c.SetDeadline(time.Now().Add(deadline))
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after timeout http-keep-alive: %q, %v; want a close", rest, err)
	}
	eventually(t, "the client closed", func() bool { return e.Frontend("web").Stats().CurSessions == 0 })
	if got := len(sink.all()); got != 1 {
		t.Errorf("%d log lines, want 1 (the keep-alive timeout is not logged)", got)
	}
	if l := sink.all()[0]; !strings.HasPrefix(l.URI, "/a") || l.Status != 200 {
		t.Errorf("log %s %d", l.URI, l.Status)
	}
}
