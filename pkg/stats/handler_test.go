package stats_test

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
	"hapair/pkg/stats"
)

// TestHandlerURIs serves a proxy with haproxy's default `stats uri`
// (/haproxy?stats) and no auth, on an engine that opened no socket.
func TestHandlerURIs(t *testing.T) {
	cfg, _, err := haproxycfg.Parse("t.cfg", []byte(`
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen stats
    bind 127.0.0.1:1
    stats enable
listen web
    bind 127.0.0.1:2
    server s1 127.0.0.1:3
`), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	src := &stats.Source{Config: cfg, Engine: eng, PID: os.Getpid(), Start: time.Now()}
	h := stats.Handler(cfg.Proxy("stats"), src)
	tests := []struct {
		method, target string
		code           int
		ctype, prefix  string
	}{
		{"GET", "/haproxy?stats", 200, "text/html", "<!DOCTYPE HTML"},
		{"GET", "/haproxy?stats;csv", 200, "text/plain", "# pxname,svname,"},
		{"GET", "/haproxy?stats;csv;norefresh", 200, "text/plain", "# pxname,svname,"},
		{"HEAD", "/haproxy?stats", 200, "text/html", ""},
		{"GET", "/stats", 503, "text/html", "<html><body><h1>503 Service Unavailable</h1>"},
		// haproxy's typed and JSON exports (;typed wins over ;csv, ;json
		// over both); the JSON schema is refused, not served as something
		// else
		{"GET", "/haproxy?stats;json", 200, "application/json", `[[{"objType":"Frontend","proxyId":1,"id":0,"field":{"pos":0,"name":"pxname"},`},
		{"GET", "/haproxy?stats;csv;typed", 200, "text/plain", "F.1.0.0.pxname.1:KNS:str:stats\n"},
		{"GET", "/haproxy?stats;typed;json", 200, "application/json", "[["},
		{"GET", "/haproxy?stats;json-schema", 501, "text/plain", "gproxy does not implement the stats export 'json-schema' (use ';json')"},
		{"GET", "/haproxy?stats;typed;up", 200, "text/plain", "F.1.0.0.pxname.1:KNS:str:stats\n"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.code || rec.Header().Get("Content-Type") != tt.ctype || !strings.HasPrefix(rec.Body.String(), tt.prefix) {
			t.Errorf("%s %s: %d %q %.40q; want %d %q %q", tt.method, tt.target, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tt.code, tt.ctype, tt.prefix)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/haproxy?stats;csv", nil))
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	var rows []string
	for _, l := range lines[1:] {
		f := strings.SplitN(l, ",", 3)
		rows = append(rows, f[0]+"/"+f[1])
	}
	if got := strings.Join(rows, " "); got != "stats/FRONTEND stats/BACKEND web/FRONTEND web/s1 web/BACKEND" {
		t.Errorf("rows %s", got)
	}
}
