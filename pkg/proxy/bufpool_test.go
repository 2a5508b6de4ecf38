package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
)

// Idle HTTP client connections hold no read or write buffer (issue 10:
// 32 KiB each were allocated at accept, 0.8 GB for 20,000 idle clients):
// a connection takes its buffers when a request arrives and gives them
// back once answered, a kept-alive one included.
func TestHTTPIdleConnsHoldNoBuffers(t *testing.T) {
	e, _, bind := httpProxy(t, httpBackend(t, "s1"))
	const n = 50
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dial(t, bind)
	}
	eventually(t, "the connections to be accepted", func() bool { return e.Frontend("web").Stats().CurSessions == n })
	if got := buffersInUse.Load(); got != 0 {
		t.Fatalf("%d idle connections hold %d buffers, want 0", n, got)
	}
	// One request on a kept-alive connection: buffers while it is
	// served, none once it is answered and the connection idles again.
	c := conns[0]
	_ = c.SetDeadline(time.Now().Add(deadline))
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(c, "GET /ka%d HTTP/1.1\r\nHost: t\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("request %d: status %d, close %v", i, resp.StatusCode, resp.Close)
		}
		eventually(t, "the buffers to return to their pools", func() bool { return buffersInUse.Load() == 0 })
	}
}

// BenchmarkIdleHTTPConnMemory measures the heap and stacks held per idle
// client connection of a mode http frontend, both ends in this process
// (go test -run '^$' -bench IdleHTTPConnMemory -benchtime 1x ./pkg/proxy/).
func BenchmarkIdleHTTPConnMemory(b *testing.B) {
	const n = 2000
	for i := 0; i < b.N; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		bind := haproxycfg.Bind{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
		px := listenProxy("web", bind, server("s1", 9))
		px.Mode = haproxycfg.ModeHTTP
		e, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{Logger: zerolog.Nop(), Listeners: map[string]net.Listener{bind.Address(): ln}})
		if err != nil {
			b.Fatal(err)
		}
		go e.Serve(context.Background())
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, 0, n)
		for j := 0; j < n; j++ {
			c, err := net.Dial("tcp", bind.Address())
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		end := time.Now().Add(deadline)
		for e.Frontend("web").Stats().CurSessions != n && time.Now().Before(end) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // every session reaches its read
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/n, "heap-B/conn")
		b.ReportMetric(float64(int64(after.StackInuse)-int64(before.StackInuse))/n, "stack-B/conn")
		for _, c := range conns {
			c.Close()
		}
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		e.Wait(ctx)
		cancel()
	}
}
