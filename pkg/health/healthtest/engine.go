package healthtest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// Engine parses cfg (which must be valid), runs a proxy engine for it on
// its loopback binds and stops it when the test ends. handler, if not nil,
// serves `stats enable` proxies.
func Engine(t testing.TB, cfgText string, log zerolog.Logger, handler func(px *haproxycfg.Proxy) http.Handler) (*haproxycfg.Config, *proxy.Engine) {
	t.Helper()
	cfg, diags, err := haproxycfg.Parse("test.cfg", []byte(cfgText), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("config: %v %v", err, diags)
	}
	eng, err := proxy.New(cfg, proxy.Options{Logger: log, HTTPHandler: handler})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	if err := eng.Bind(); err != nil {
		t.Fatalf("bind: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = eng.Serve(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		eng.Close()
		<-done
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		eng.Wait(wctx)
	})
	return cfg, eng
}

// Eventually polls cond every few milliseconds and fails the test when it
// is still false after 10 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Get fetches url on a new connection, bounded to 5 s, and returns the
// trimmed body, or "error: ..." so a test can compare it with a backend's
// name and print what it got instead.
func Get(url string) string {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}
