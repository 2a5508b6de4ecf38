package proxy

import (
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
