package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// A server closing a kept-alive connection between two requests of one
// client: the second request goes over a new server connection and
// succeeds, as it does through haproxy; the closed connection counts
// neither as a reuse nor as a stream. A POST (never sent twice) is checked
// before its write; a GET's check is made with its write (sendWait).
func TestH1ClientServerClosedIdle(t *testing.T) {
	for _, second := range []string{
		"POST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc",
		"GET /b HTTP/1.1\r\nhost: x\r\n\r\n",
	} {
		t.Run(second[:strings.IndexByte(second, ' ')], func(t *testing.T) {
			closed := make(chan struct{}, 4)
			be := startBackend(t, func(c *net.TCPConn) {
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
				c.Close()
				closed <- struct{}{}
			})
			e, _, bind := httpProxy(t, be.port)
			c := dial(t, bind)
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(deadline))
			br := bufio.NewReader(c)
			for i, msg := range []string{"GET /a HTTP/1.1\r\nhost: x\r\n\r\n", second} {
				if i > 0 {
					<-closed // the server's close is in the proxy's socket
				}
				if _, err := io.WriteString(c, msg); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || string(b) != "ok" {
					t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
				}
			}
			if n := be.accepted.Load(); n != 2 {
				t.Errorf("server connections %d, want 2", n)
			}
			st := e.Backend("web").Stats()
			if st.Connects != 2 || st.Reuses != 0 || st.H1.TotalStreams != 2 {
				t.Errorf("backend connects %d, reuses %d, h1 streams %d; want 2, 0, 2", st.Connects, st.Reuses, st.H1.TotalStreams)
			}
		})
	}
}

// A server keeping its connection: the second request reuses it (one
// connection, one reuse, two streams), its check made with its write.
func TestH1ClientReuseCounted(t *testing.T) {
	be := startBackend(t, func(c *net.TCPConn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
		}
	})
	e, sink, bind := httpProxy(t, be.port)
	c := dial(t, bind)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		if _, err := io.WriteString(c, "GET /a HTTP/1.1\r\nhost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
	}
	sink.wait(t, 3)
	if n := be.accepted.Load(); n != 1 {
		t.Errorf("server connections %d, want 1", n)
	}
	st := e.Backend("web").Stats()
	if st.Connects != 1 || st.Reuses != 2 || st.H1.TotalStreams != 3 {
		t.Errorf("backend connects %d, reuses %d, h1 streams %d; want 1, 2, 3", st.Connects, st.Reuses, st.H1.TotalStreams)
	}
}

// Under `http-reuse never` the idle server connections of a client
// session leave the pool when the session ends, whether the session sent
// one request or several (its connection then went out of the pool and
// back); the engine's kill watches none of them any more (a callback per
// server connection). Under `safe` they go to the server's pool as
// haproxy's srv_add_to_idle_list decides (idlepool.go): the first
// session's connection stays idle, the next sessions' first requests
// open their own (closed after, the pool having its one), their later
// requests take the idle one, which then stays in the safe list. While
// idle, a connection holds no read buffer nor its last exchange.
func TestH1ClientSessionEndEmptiesPool(t *testing.T) {
	for _, mode := range []string{"never", "safe"} {
		t.Run(mode, func(t *testing.T) { testSessionEndPool(t, mode) })
	}
}

func testSessionEndPool(t *testing.T, mode string) {
	be := startBackend(t, func(c *net.TCPConn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
		}
	})
	var mu sync.Mutex
	var clients []*h1Client
	hook := func(cl *h1Client) {
		mu.Lock()
		clients = append(clients, cl)
		mu.Unlock()
	}
	testHookH1Client.Store(&hook)
	t.Cleanup(func() { testHookH1Client.Store(nil) })
	ln, bind := listen(t)
	px := listenProxy("web", bind, server("s1", be.port))
	px.Mode = haproxycfg.ModeHTTP
	px.HTTPReuse = mode
	run(t, &haproxycfg.Config{Global: haproxycfg.Global{NbThread: 1}, Proxies: []*haproxycfg.Proxy{px}}, ln)
	pooled := func(cl *h1Client) (n int, clean bool) {
		clean = true
		for _, p := range cl.pools {
			for _, l := range [][]*h1ServerConn{p.idle, p.safe} {
				for _, pc := range l {
					clean = clean && pc.br == nil && pc.hooks == nil
					n++
				}
			}
		}
		return n, clean
	}
	for i := 0; i < 3; i++ {
		c := dial(t, bind)
		_ = c.SetDeadline(time.Now().Add(deadline))
		br := bufio.NewReader(c)
		for j := 0; j <= i; j++ {
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nhost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "ok" {
				t.Fatalf("session %d, request %d: %d %q", i, j, resp.StatusCode, b)
			}
		}
		eventually(t, "one idle connection without buffer or hooks", func() bool {
			mu.Lock()
			defer mu.Unlock()
			if len(clients) != 1 {
				return false
			}
			cl := clients[0]
			cl.mu.Lock()
			defer cl.mu.Unlock()
			n, clean := pooled(cl)
			return n == 1 && clean
		})
		c.Close()
	}
	mu.Lock()
	if len(clients) != 1 {
		t.Fatalf("%d HTTP/1 clients, want 1", len(clients))
	}
	cl := clients[0]
	mu.Unlock()
	want := 0 // idle connections once the sessions ended
	if mode == "safe" {
		want = 1
	}
	eventually(t, fmt.Sprintf("%d idle connections", want), func() bool {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		n, _ := pooled(cl)
		return n == want
	})
	if n := be.accepted.Load(); n != 3 {
		t.Errorf("server connections %d, want 3", n)
	}
	eventually(t, "no callback left on the engine's kill but the idle connections'", func() bool {
		return cl.killWatches.Load() == int64(want)
	})
}

// A response head over 10 MiB is not read whole: the client gets a 502
// (Go's client, used before, had the same bound).
func TestH1ClientHeadTooBig(t *testing.T) {
	cut := make(chan bool, 1) // the proxy stopped reading before 32 MiB
	be := startBackend(t, func(c *net.TCPConn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nx-big: ")
		chunk := []byte(strings.Repeat("a", 64<<10))
		for i := 0; i < 32<<4; i++ {
			if _, err := c.Write(chunk); err != nil {
				cut <- true
				return
			}
		}
		cut <- false
	})
	_, _, bind := httpProxy(t, be.port)
	c := dial(t, bind)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nhost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if !<-cut {
		t.Error("the proxy read the whole 32 MiB head")
	}
}
