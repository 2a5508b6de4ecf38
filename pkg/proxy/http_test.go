package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
)

func httpBackend(t *testing.T, name string) int {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s %d", name, r.Method, r.URL.Path, len(body))
	}))
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().(*net.TCPAddr).Port
}

func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTPReverseProxy(t *testing.T) {
	ln, bind := listen(t)
	px := listenProxy("web", bind, server("s1", httpBackend(t, "s1")), server("s2", httpBackend(t, "s2")))
	px.Mode = haproxycfg.ModeHTTP
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	client := &http.Client{Timeout: deadline}
	var got []string
	for i := 0; i < 4; i++ {
		code, body := get(t, client, "http://"+bind.Address()+"/p")
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		got = append(got, body)
	}
	if strings.Join(got, ",") != "s1 GET /p 0,s2 GET /p 0,s1 GET /p 0,s2 GET /p 0" {
		t.Fatalf("responses %q", got)
	}
	resp, err := client.Post("http://"+bind.Address()+"/up", "text/plain", strings.NewReader("12345"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "s1 POST /up 5" {
		t.Fatalf("post answered %q", b)
	}
	l := sink.wait(t, 5)
	if l.ServerName != "s1" || l.BackendName != "web" || ts(l) != "--" || l.BytesToClient <= int64(len(b)) || l.BytesFromClient < 5 {
		t.Fatalf("log %+v", l)
	}
	// Keep-alive: five requests over one client connection.
	if n := e.Frontend("web").Stats().TotalSessions; n != 1 {
		t.Errorf("frontend sessions %d, want 1 kept-alive connection", n)
	}
	if n := e.Backend("web").Server("s1").Stats().TotalSessions; n != 3 {
		t.Errorf("s1 served %d requests, want 3", n)
	}

	// All servers down: 503 and a <NOSRV> log.
	for _, s := range e.Backend("web").Servers() {
		s.SetUp(false)
	}
	if code, _ := get(t, client, "http://"+bind.Address()+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("no server: status %d", code)
	}
	if l := sink.wait(t, 6); l.ServerName != "<NOSRV>" || ts(l) != "SC" {
		t.Fatalf("no server log %s %s", l.ServerName, ts(l))
	}
}

func TestHTTPStatsHandler(t *testing.T) {
	ln, bind := listen(t)
	ln2, bind2 := listen(t)
	stats := listenProxy("stats", bind)
	stats.Mode = haproxycfg.ModeHTTP
	stats.Stats = haproxycfg.Stats{Enabled: true, URI: "/stats"}
	other := listenProxy("other", bind2)
	other.Mode = haproxycfg.ModeHTTP
	other.Stats = haproxycfg.Stats{Enabled: true}
	cfg := &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{stats, other}}
	e, err := New(cfg, Options{
		Logger: zerolog.Nop(),
		Listeners: map[string]net.Listener{
			bind.Address(): ln, bind2.Address(): ln2,
		},
		HTTPHandler: func(px *haproxycfg.Proxy) http.Handler {
			if px.Name != "stats" {
				return nil
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "stats page of %s at %s", px.Name, r.URL.Path)
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	defer func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	}()
	client := &http.Client{Timeout: deadline}
	if code, body := get(t, client, "http://"+bind.Address()+"/stats"); code != 200 || body != "stats page of stats at /stats" {
		t.Fatalf("stats: %d %q", code, body)
	}
	if code, _ := get(t, client, "http://"+bind2.Address()+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("no handler: status %d, want 503", code)
	}
	// SoftStop closes idle keep-alive connections and stops accepting.
	e.SoftStop()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	e.Wait(ctx)
	if ctx.Err() != nil {
		t.Fatal("keep-alive connections kept the engine from stopping")
	}
	client.CloseIdleConnections()
	if _, err := (&http.Client{Timeout: time.Second}).Get("http://" + bind.Address() + "/stats"); err == nil {
		t.Fatal("served after SoftStop")
	}
}

// httpProxy runs a mode http listen section over one test backend.
func httpProxy(t *testing.T, backendPort int) (*Engine, *logSink, haproxycfg.Bind) {
	t.Helper()
	ln, bind := listen(t)
	px := listenProxy("web", bind, server("s1", backendPort))
	px.Mode = haproxycfg.ModeHTTP
	px.Options = haproxycfg.Options{HTTPLog: true}
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	return e, sink, bind
}

// A client sending "Expect: 100-continue" waits for the go-ahead before
// its body: it gets it, then the final response.
func TestHTTPExpectContinue(t *testing.T) {
	_, sink, bind := httpProxy(t, httpBackend(t, "s1"))
	c := dial(t, bind)
	_ = c.SetDeadline(time.Now().Add(deadline))
	io.WriteString(c, "POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
	want := "HTTP/1.1 100 Continue\r\n\r\n"
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != want {
		t.Fatalf("interim response %q, %v; want %q", buf, err, want)
	}
	io.WriteString(c, "hello")
	out := string(readAll(t, c))
	if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(out, "s1 POST /up 5") {
		t.Fatalf("final response %q", out)
	}
	if l := sink.wait(t, 1); l.Status != 200 || ts(l) != "--" || l.Method != "POST" {
		t.Fatalf("log %+v", l)
	}
}

// A soft stop closes a kept-alive connection waiting for its next request
// and lets the engine finish; Close ends a request in progress.
func TestHTTPSoftStopAndClose(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	e, sink, bind := httpProxy(t, slow.Listener.Addr().(*net.TCPAddr).Port)

	idle := dial(t, bind)
	_ = idle.SetDeadline(time.Now().Add(deadline))
	br := bufio.NewReader(idle)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	busy := dial(t, bind)
	io.WriteString(busy, "GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
	eventually(t, "the hanging request reaching the server", func() bool {
		return e.Backend("web").Server("s1").Conns() == 1
	})

	e.SoftStop()
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("idle keep-alive connection after SoftStop: %q, %v; want a close", rest, err)
	}
	e.Close()
	out := readClosed(t, busy)
	if len(out) != 0 {
		t.Fatalf("request killed by Close answered %q", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	e.Wait(ctx)
	if ctx.Err() != nil {
		t.Fatal("engine still busy after Close")
	}
	if l := sink.wait(t, 2); ts(l) != "KH" || l.ServerName != "s1" {
		t.Fatalf("killed request logged %s on %s, want KH on s1", ts(l), l.ServerName)
	}
}

// A server that stops in the middle of its body is timed out by `timeout
// server` ("sD"); the client gets what came and a close.
func TestHTTPServerStallsInBody(t *testing.T) {
	be := startBackend(t, func(c *net.TCPConn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
		_, _ = io.Copy(io.Discard, br) // until the proxy gives up
	})
	ln, bind := listen(t)
	px := listenProxy("web", bind, server("s1", be.port))
	px.Mode = haproxycfg.ModeHTTP
	px.Timeouts.Server = 200 * time.Millisecond
	_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	out := string(readClosed(t, c))
	if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(out, "\r\n\r\npart") {
		t.Fatalf("client got %q", out)
	}
	if l := sink.wait(t, 1); ts(l) != "sD" || l.Status != 200 {
		t.Fatalf("log %s %d, want sD 200", ts(l), l.Status)
	}
}
