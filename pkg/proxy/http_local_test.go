package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// localConfig is a listen that serves its stats page and the Prometheus
// exporter and forwards everything else to its server (issue 10: every
// other URI got 503).
const localConfig = `global
    log 127.0.0.1:LOGPORT local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen web
    bind FRONT
    stats enable
    stats uri /stats
    http-request use-service prometheus-exporter if { path /metrics }
    server s1 BACKEND
`

// localCases are requests to localConfig and where haproxy 2.6.12 sends
// each (seen with TestIntegrationLocalServicesHaproxy): to the server
// s1, or to its own <STATS> or <PROMEX> service.
var localCases = []struct {
	name, method, target, to string
}{
	{"stats", "GET", "/stats", "<STATS>"},
	{"stats-prefix", "GET", "/statsX", "<STATS>"},
	{"stats-csv", "GET", "/stats;csv", "<STATS>"},
	{"stats-head", "HEAD", "/stats", "<STATS>"},
	{"stats-absolute", "GET", "http://t/stats", "<STATS>"},
	{"stats-not-prefix", "GET", "/x/stats", "s1"},
	{"stats-put", "PUT", "/stats", "s1"},
	{"stats-options", "OPTIONS", "/stats", "s1"},
	{"stats-lower-get", "get", "/stats", "s1"},
	{"other", "GET", "/other", "s1"},
	{"root", "GET", "/", "s1"},
	{"metrics", "GET", "/metrics", "<PROMEX>"},
	{"metrics-query", "GET", "/metrics?x=1", "<PROMEX>"},
	{"metrics-delete", "DELETE", "/metrics", "<PROMEX>"},
	{"metrics-longer", "GET", "/metricsX", "s1"},
}

func localRequest(method, target string) string {
	return method + " " + target + " HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
}

// checkLocal runs localCases through p and checks where each went: the
// server (which then saw the request) or a local service, answered 200
// and logged under that name with termination LR.
func checkLocal(t *testing.T, p wireProxy, b *captureBackend) {
	t.Helper()
	for _, tc := range localCases {
		r := exchange(t, p, b, localRequest(tc.method, tc.target))
		if got := statusLine(r.response); got != "HTTP/1.1 200 OK" {
			t.Errorf("%s: %s %s answered %q, want 200", tc.name, tc.method, tc.target, got)
		}
		if tc.to == "s1" {
			if !strings.HasPrefix(r.head, tc.method+" "+tc.target+" ") {
				t.Errorf("%s: the server saw %q, want the request", tc.name, r.head)
			}
			if !strings.HasPrefix(r.log, "web/s1 ") || !strings.HasSuffix(r.log, " 200 ----") {
				t.Errorf("%s: log %q, want web/s1 ... 200 ----", tc.name, r.log)
			}
			continue
		}
		if r.head != "" {
			t.Errorf("%s: the server saw %q, want it answered by %s", tc.name, r.head, tc.to)
		}
		if want := "web/" + tc.to + " n/n/n/n/n 200 LR--"; r.log != want {
			t.Errorf("%s: log %q, want %q", tc.name, r.log, want)
		}
	}
}

// TestStatsAndBackendShareFrontend checks that a proxy with `stats uri`
// and the Prometheus exporter answers only their URIs itself and forwards
// every other request to its server, as haproxy 2.6 does.
func TestStatsAndBackendShareFrontend(t *testing.T) {
	b := startCaptureBackend(t)
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "local\n")
	})
	checkLocal(t, startWireGproxy(t, localConfig, b.addr, local), b)
}

// TestIntegrationLocalServicesHaproxy checks the case table against the
// reference haproxy 2.6.12.
func TestIntegrationLocalServicesHaproxy(t *testing.T) {
	b := startCaptureBackend(t)
	checkLocal(t, startWireHaproxy(t, localConfig, b.addr), b)
}

// statsOnlyConfig is a listen serving only its stats page.
const statsOnlyConfig = `global
    log 127.0.0.1:LOGPORT local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen stats
    bind FRONT
    stats enable
    stats uri /stats
`

// checkStatsOnly: without a server, a request the stats page does not
// take gets the 503 page, logged <NOSRV> SC-- as haproxy 2.6 logs it.
func checkStatsOnly(t *testing.T, p wireProxy, b *captureBackend) {
	t.Helper()
	for _, tc := range []struct{ method, target, status, log string }{
		{"GET", "/other", "503", "stats/<NOSRV> n/-1/-1/-1/n 503 SC--"},
		{"PUT", "/stats", "503", "stats/<NOSRV> n/-1/-1/-1/n 503 SC--"},
		{"GET", "/stats", "200", "stats/<STATS> n/n/n/n/n 200 LR--"},
	} {
		r := exchange(t, p, b, localRequest(tc.method, tc.target))
		if got := statusLine(r.response); !strings.HasPrefix(got, "HTTP/1.1 "+tc.status+" ") {
			t.Errorf("%s %s: answered %q, want %s", tc.method, tc.target, got, tc.status)
		}
		if r.log != tc.log {
			t.Errorf("%s %s: log %q, want %q", tc.method, tc.target, r.log, tc.log)
		}
	}
}

func TestStatsOnlyProxy(t *testing.T) {
	b := startCaptureBackend(t)
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "local\n") })
	checkStatsOnly(t, startWireGproxy(t, statsOnlyConfig, b.addr, local), b)
}

func TestIntegrationStatsOnlyProxyHaproxy(t *testing.T) {
	b := startCaptureBackend(t)
	checkStatsOnly(t, startWireHaproxy(t, statsOnlyConfig, b.addr), b)
}
