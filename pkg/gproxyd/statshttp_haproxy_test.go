package gproxyd_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// counterServer is the servers' side of TestIntegrationHTTPCountersHaproxy:
// a keep-alive HTTP/1.1 server whose answer the path picks: /code/N
// answers status N, /hint a 103 then a 200, /slow answers after 3 s (the
// backend's timeout server is shorter: 504), /bad a malformed head (502),
// /cut a head announcing a body it never sends, /big a compressible body,
// /close a 200 with Connection: close, anything else a 200.
func counterServer(t *testing.T) string {
	t.Helper()
	big := strings.Repeat("compress me, compress me, compress me. ", 200)
	ln := haproxytest.Serve(t, 20*time.Second, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			path := req.URL.Path
			switch {
			case strings.HasPrefix(path, "/code/"):
				code, _ := strconv.Atoi(strings.TrimPrefix(path, "/code/"))
				body := "x"
				if code == 204 || code == 304 || code < 200 {
					body = ""
				}
				fmt.Fprintf(c, "HTTP/1.1 %d Whatever\r\nContent-Length: %d\r\n\r\n%s", code, len(body), body)
			case path == "/hint":
				_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			case path == "/slow":
				time.Sleep(3 * time.Second)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			case path == "/bad":
				_, _ = io.WriteString(c, "HTTP/1.1 2x0 Bad\r\n\r\n")
				return
			case path == "/cut":
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
				return
			case path == "/big":
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
			case path == "/close":
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
				return
			default:
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}
	})
	return ln.Addr().String()
}

// exchange is one client connection of the differential: the raw
// requests sent one after the other on it, each response read before the
// next is sent, or a special client (how).
type exchange struct {
	port string   // fe1, fe2, ft, st
	reqs []string // request lines + fields, without the final CRLF
	how  string   // "": requests; "raw": send reqs[0] as is and read until close; "idle": connect, wait for the 408; "abort": send, close at once; "empty": connect and close
}

// counterTraffic is the traffic TestIntegrationHTTPCountersHaproxy sends to
// both proxies.
var counterTraffic = []exchange{
	// keep-alive clients, statuses 1xx..5xx and "other" from the servers
	{port: "fe1", reqs: []string{
		"GET /code/200 HTTP/1.1\r\nHost: a",
		"GET /code/201 HTTP/1.1\r\nHost: a",
		"GET /code/302 HTTP/1.1\r\nHost: a",
		"GET /code/304 HTTP/1.1\r\nHost: a",
		"GET /code/404 HTTP/1.1\r\nHost: a",
		"GET /code/418 HTTP/1.1\r\nHost: a",
		"GET /code/500 HTTP/1.1\r\nHost: a",
		"GET /code/503 HTTP/1.1\r\nHost: a",
		"HEAD /code/200 HTTP/1.1\r\nHost: a",
		"GET /hint HTTP/1.1\r\nHost: a",
		"POST /code/200 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	}},
	// a close client, HTTP/1.0, and a server closing
	{port: "fe1", reqs: []string{"GET /code/200 HTTP/1.1\r\nHost: a\r\nConnection: close"}},
	{port: "fe1", reqs: []string{"GET /code/404 HTTP/1.0"}},
	{port: "fe1", reqs: []string{"GET /close HTTP/1.1\r\nHost: a"}},
	// the proxy's own answers: deny, return, redirects, monitor-uri,
	// stats page, no server, timeout, bad response, backend deny,
	// response deny
	{port: "fe1", reqs: []string{
		"GET /deny HTTP/1.1\r\nHost: a",
		"GET /deny429 HTTP/1.1\r\nHost: a",
		"GET /ret HTTP/1.1\r\nHost: a",
		"GET /redir HTTP/1.1\r\nHost: a",
		"GET /redir2 HTTP/1.1\r\nHost: a",
		"GET /mon HTTP/1.1\r\nHost: a",
		"HEAD /stats HTTP/1.1\r\nHost: a",
		"HEAD /stats;csv HTTP/1.1\r\nHost: a",
		"GET /none/x HTTP/1.1\r\nHost: a",
		"GET /bdeny HTTP/1.1\r\nHost: a",
		"GET /code/202 HTTP/1.1\r\nHost: a",
		"GET /b2/code/403 HTTP/1.1\r\nHost: a",
		"GET /b2/rdeny HTTP/1.1\r\nHost: a",
	}},
	{port: "fe1", reqs: []string{"GET /b2/code/200 HTTP/1.1\r\nHost: a", "GET /b2/big HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip"}},
	{port: "fe1", reqs: []string{"GET /slow HTTP/1.1\r\nHost: a"}},
	{port: "fe1", reqs: []string{"GET /bad HTTP/1.1\r\nHost: a"}},
	{port: "fe1", reqs: []string{"GET /cut HTTP/1.1\r\nHost: a"}},
	{port: "fe1", reqs: []string{"GET /code/799 HTTP/1.1\r\nHost: a"}},
	{port: "fe1", reqs: []string{"GET /big HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip", "GET /big HTTP/1.1\r\nHost: a", "GET /code/200 HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip"}},
	// bad requests, a request timeout, a client gone before the answer
	{port: "fe1", how: "raw", reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\nBad Field\r\n\r\n"}},
	{port: "fe1", how: "raw", reqs: []string{"GET /code/200 HTTP/1.1\r\nHost: a\r\n\r\nBLAH\r\n\r\n"}},
	{port: "fe1", how: "idle", reqs: []string{"GET /code/200 HTTP/1.1\r\nHost: a\r\n"}},
	{port: "fe1", how: "idle"},
	{port: "fe1", how: "empty"},
	{port: "fe1", how: "abort", reqs: []string{"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"}},
	// the second frontend: tcp-request rules, a keep-alive client
	{port: "fe2", reqs: []string{"GET /code/200 HTTP/1.1\r\nHost: a", "GET /code/301 HTTP/1.1\r\nHost: a", "GET /tcpdeny HTTP/1.1\r\nHost: a"}},
	{port: "fe2", reqs: []string{"GET /code/404 HTTP/1.1\r\nHost: a\r\nX-Reject: 1"}},
	// the stats listener, and a tcp frontend
	{port: "st", reqs: []string{"GET /st HTTP/1.1\r\nHost: a", "GET /st;csv HTTP/1.1\r\nHost: a", "GET /nothere HTTP/1.1\r\nHost: a"}},
	{port: "ft", reqs: []string{"GET /code/200 HTTP/1.1\r\nHost: a\r\nConnection: close"}},
}

// counterMasks are the CSV columns whose values depend on time: rates
// over the last second and their maxima, durations and their maxima,
// ages.
var counterMasks = map[string]bool{
	"rate": true, "rate_max": true, "req_rate": true, "req_rate_max": true, "conn_rate": true, "conn_rate_max": true,
	"qtime": true, "ctime": true, "rtime": true, "ttime": true, "qtime_max": true, "ctime_max": true, "rtime_max": true, "ttime_max": true,
	"lastchg": true, "lastsess": true, "downtime": true, "check_duration": true,
}

// counterKnown are the fields gproxy knowingly counts otherwise, each
// with its reason; they are still printed by the test (-v) and must be
// nonzero on both sides where noted.
var counterKnown = map[string]string{
	// zlib's level 1 and Go's compress/flate level 1 make different
	// streams of the same body (147 and 169 bytes here); comp_in,
	// comp_rsp and %B are equal.
	"comp_out": "compressed by Go's compress/flate, not zlib",
	// The stats page's HTML differs in size (its values, haproxy's
	// longer page), so do the bytes sent for it.
	"st/FRONTEND.bout": "stats page HTML", "st/BACKEND.bout": "stats page HTML", "st/FRONTEND.h1_bytes_out": "stats page HTML",
	// Both count the bytes written to the client's socket, which
	// differ by the compressed bodies (see comp_out) and their chunk
	// sizes: 12706 against 12650 here, 2 x (22 + 6).
	"FRONTEND.h1_bytes_out": "compressed bodies differ",
	// haproxy's frontend smax varies between runs of the same sequential
	// traffic (1, 2 and 3 seen): its accept loop counts a connection
	// before the previous one's close is processed.
	"FRONTEND.smax": "haproxy's accept timing",
}

func knownDifference(key string) (string, bool) {
	row, field, _ := strings.Cut(key, ".")
	if r, ok := counterKnown[key]; ok {
		return r, true
	}
	if r, ok := counterKnown[field]; ok {
		return r, true
	}
	_, sv, _ := strings.Cut(row, "/")
	r, ok := counterKnown[sv+"."+field]
	return r, ok
}

// TestIntegrationHTTPCountersHaproxy runs the same configuration in
// haproxy 2.6 and gproxy, sends both the same traffic (counterTraffic:
// keep-alive and close clients, statuses 1xx to 5xx from servers, the
// proxy's own 400, 403, 408, 429, 502, 503 and 504, redirects, returns,
// the stats page, monitor-uri, request and response denies, compression)
// and compares every counter of `show stat` once both are idle, and the
// metrics prometheus-haproxy-exporter makes of them.
func TestIntegrationHTTPCountersHaproxy(t *testing.T) {
	srv := counterServer(t)
	dir := t.TempDir()
	type proc struct {
		sock  string
		ports map[string]int
	}
	procs := map[string]*proc{}
	for _, n := range []string{"hp", "gp"} {
		p := &proc{sock: filepath.Join(dir, n+".sock"), ports: map[string]int{}}
		for _, name := range []string{"fe1", "fe2", "ft", "st"} {
			p.ports[name] = porttest.Free(t)
		}
		procs[n] = p
		bin := haproxytest.Bin
		if n == "gp" {
			bin = gproxyBin
		}
		startDB(t, bin, fmt.Sprintf(`global
    maxconn 1000
    # One thread: haproxy keeps a first idle server connection per
    # thread, on the thread of the session; gproxy counts nbthread
    # such connections per server (pkg/proxy/idlepool.go).
    nbthread 1
    stats socket %[1]s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
    timeout http-request 1s
    retries 0
    # http-reuse safe: no purge of the idle server connections, whose
    # count is read long after the traffic.
    default-server pool-purge-delay 1m
frontend fe1
    bind 127.0.0.1:%[2]d
    monitor-uri /mon
    stats enable
    stats uri /stats
    http-request deny if { path /deny }
    http-request deny deny_status 429 if { path /deny429 }
    http-request return status 200 content-type text/plain string ok if { path /ret }
    http-request redirect location /elsewhere if { path /redir }
    redirect prefix /p code 301 if { path /redir2 }
    compression algo gzip
    compression type text/plain
    use_backend bslow if { path /slow }
    use_backend bnone if { path_beg /none }
    use_backend b2 if { path_beg /b2 }
    default_backend b1
frontend fe2
    bind 127.0.0.1:%[3]d
    tcp-request inspect-delay 1s
    tcp-request content reject if { req.hdr(x-reject) -m found }
    http-request deny if { path /tcpdeny }
    default_backend b1
frontend ft
    mode tcp
    bind 127.0.0.1:%[4]d
    default_backend bt
backend b1
    balance roundrobin
    http-request deny deny_status 403 if { path /bdeny }
    server s1 %[5]s
    server s2 %[5]s
backend b2
    http-request set-path %%[path,regsub(^/b2,)]
    http-response deny if { status 403 }
    http-response deny if { path /rdeny }
    server s3 %[5]s
backend bslow
    timeout server 500ms
    server s4 %[5]s
backend bnone
    server s5 %[5]s disabled
backend bt
    mode tcp
    server t1 %[5]s
listen st
    bind 127.0.0.1:%[6]d
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /st
`, p.sock, p.ports["fe1"], p.ports["fe2"], p.ports["ft"], srv, p.ports["st"]),
			p.ports["fe1"], p.ports["fe2"], p.ports["ft"], p.ports["st"])
	}
	answers := map[string][]string{}
	for _, n := range []string{"hp", "gp"} {
		for i, x := range counterTraffic {
			answers[n] = append(answers[n], fmt.Sprintf("#%d %s: %s", i, x.port, runExchange(t, procs[n].ports[x.port], x)))
			// One client at a time: smax, and which connections a
			// server sees, must not depend on when a close is seen.
			idleStats(t, procs[n].sock)
		}
	}
	for i := range answers["hp"] {
		if answers["hp"][i] != answers["gp"][i] {
			t.Errorf("the clients saw different answers:\nhaproxy: %s\ngproxy:  %s", answers["hp"][i], answers["gp"][i])
		}
	}
	stats := map[string]map[string]string{}
	for _, n := range []string{"hp", "gp"} {
		stats[n] = idleStats(t, procs[n].sock)
		if d := os.Getenv("HTTPCTR_DUMP"); d != "" {
			_ = os.WriteFile(filepath.Join(d, n+".csv"), []byte(askAll(t, procs[n].sock, "show stat")), 0o644)
		}
	}
	keys := make([]string, 0, len(stats["hp"]))
	for k := range stats["hp"] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	same, known := 0, 0
	for _, k := range keys {
		want, got := stats["hp"][k], stats["gp"][k]
		if r, ok := knownDifference(k); ok {
			if want != got {
				t.Logf("%s: haproxy %q, gproxy %q (known: %s)", k, want, got, r)
			}
			known++
			continue
		}
		if want != got {
			t.Errorf("%s: haproxy %q, gproxy %q", k, want, got)
			continue
		}
		same++
	}
	// The figures the test is about moved at all.
	for _, k := range []string{"b1/s2.hrsp_1xx", "fe1/FRONTEND.hrsp_other", "fe1/FRONTEND.ereq", "fe1/FRONTEND.intercepted",
		"b1/BACKEND.eresp", "b2/BACKEND.dresp", "fe2/FRONTEND.dreq", "b1/BACKEND.comp_rsp", "fe1/FRONTEND.comp_out", "b1/BACKEND.h1_bytes_in"} {
		if v := stats["hp"][k]; v == "0" || v == "" {
			t.Errorf("%s is %q on haproxy: the traffic does not exercise it", k, v)
		}
	}
	for k := range stats["gp"] {
		if _, ok := stats["hp"][k]; !ok {
			t.Errorf("%s: gproxy only", k)
		}
	}
	t.Logf("%d stats fields identical, %d known differences listed above", same, known)
	compareExporter(t, procs["hp"].sock, procs["gp"].sock)
	comparePromex(t, procs["hp"].ports["st"], procs["gp"].ports["st"])
}

// promexCounters are the HTTP counter families of the exporter service
// (`http-request use-service prometheus-exporter`) compared.
var promexCounters = regexp.MustCompile(`^haproxy_(frontend|backend|server)_(http_requests_total|http_responses_total|requests_denied_total|responses_denied_total|request_errors_total|response_errors_total|intercepted_requests_total|connection_attempts_total|connection_reuses_total|http_comp_responses_total|http_comp_bytes_in_total|denied_connections_total|connections_total)\{`)

// comparePromex reads both proxies' exporter service and compares its
// HTTP counter series.
func comparePromex(t *testing.T, hpPort, gpPort int) {
	t.Helper()
	get := func(port int) map[string]string {
		c := &http.Client{Timeout: 10 * time.Second}
		res, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if promexCounters.MatchString(l) {
				if i := strings.LastIndexByte(l, ' '); i > 0 {
					m[l[:i]] = l[i+1:]
				}
			}
		}
		return m
	}
	want, got := get(hpPort), get(gpPort)
	if len(want) < 50 {
		t.Errorf("haproxy's exporter service gave %d of the series compared", len(want))
	}
	same := 0
	for k, v := range want {
		if got[k] != v {
			t.Errorf("exporter service %s: haproxy %s, gproxy %q", k, v, got[k])
			continue
		}
		same++
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("exporter service %s: gproxy only", k)
		}
	}
	t.Logf("exporter service: %d HTTP counter series identical", same)
}

// exporterVolatile are the exporter's metrics made of masked columns or
// known differences (a frontend's smax: see counterKnown).
var exporterVolatile = regexp.MustCompile(`^haproxy_frontend_max_sessions\{|^haproxy_(exporter_|.*_(current_session_rate|max_session_rate|http_(connect|queue|response|total)_time_average_seconds|last_session_seconds|check_duration_seconds)\{)|^haproxy_(frontend|backend)_(compressor_bytes_out_total|bytes_out_total)\{(backend|frontend)="st"\}`)

// compareExporter has Debian's prometheus-haproxy-exporter read both
// stats sockets and compares the metrics it makes, but those made of
// time-dependent columns and the known differences.
func compareExporter(t *testing.T, hpSock, gpSock string) {
	t.Helper()
	if _, err := exec.LookPath("prometheus-haproxy-exporter"); err != nil {
		t.Fatal("prometheus-haproxy-exporter not installed (apt-get install prometheus-haproxy-exporter)")
	}
	scrape := func(sock string) map[string]string {
		port := porttest.Free(t)
		cmd := exec.Command("prometheus-haproxy-exporter", "--haproxy.scrape-uri=unix:"+sock, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
		stop := haproxytest.StartProc(t, cmd)
		defer stop()
		deadline := time.Now().Add(20 * time.Second)
		for {
			c := &http.Client{Timeout: 5 * time.Second}
			res, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if strings.Contains(string(b), "haproxy_up 1") {
					m := map[string]string{}
					for _, l := range strings.Split(string(b), "\n") {
						if !strings.HasPrefix(l, "haproxy_") || exporterVolatile.MatchString(l) {
							continue
						}
						if i := strings.LastIndexByte(l, ' '); i > 0 {
							m[l[:i]] = l[i+1:]
						}
					}
					return m
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("exporter on %s: no haproxy_up 1 after 20 s (%v)", sock, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	want, got := scrape(hpSock), scrape(gpSock)
	same := 0
	for k, v := range want {
		if strings.Contains(k, "compressor_bytes_out") {
			continue // comp_out, see counterKnown
		}
		if got[k] != v {
			t.Errorf("exporter %s: haproxy %s, gproxy %q", k, v, got[k])
			continue
		}
		same++
	}
	for k := range got {
		if _, ok := want[k]; !ok && !strings.Contains(k, "compressor_bytes_out") {
			t.Errorf("exporter %s: gproxy only", k)
		}
	}
	if want[`haproxy_frontend_http_responses_total{code="2xx",frontend="fe1"}`] == "" {
		t.Errorf("the exporter made no http_responses_total for fe1")
	}
	t.Logf("exporter: %d metrics identical", same)
}

// idleStats waits until no session is left on any row of `show stat`
// (the counters of a stream are final when it ends), then returns every
// field as "pxname/svname.field" -> value, time-dependent ones masked.
func idleStats(t *testing.T, sock string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := askAll(t, sock, "show stat")
		m, busy := parseStat(t, out)
		if !busy {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still busy after 20 s:\n%s", sock, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func parseStat(t *testing.T, out string) (map[string]string, bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "# ") {
		t.Fatalf("not a stats CSV:\n%s", out)
	}
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	m := map[string]string{}
	busy := false
	for _, l := range lines[1:] {
		vals := strings.Split(l, ",")
		if len(vals) < len(cols) {
			t.Fatalf("short row %q", l)
		}
		row := vals[0] + "/" + vals[1]
		for i, c := range cols {
			if c == "" {
				continue
			}
			v := vals[i]
			if c == "scur" && v != "0" && v != "" {
				busy = true
			}
			if counterMasks[c] && v != "" {
				v = "MASKED"
			}
			m[row+"."+c] = v
		}
	}
	return m, busy
}

var statusLine = regexp.MustCompile(`^HTTP/1\.[01] (\d+)`)

// runExchange plays one client connection and returns what the client
// saw: the statuses of the responses, "closed" when the proxy closed.
func runExchange(t *testing.T, port int, x exchange) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	var seen []string
	readAll := func() {
		b, _ := io.ReadAll(c)
		for _, l := range strings.Split(string(b), "\r\n") {
			if m := statusLine.FindStringSubmatch(l); m != nil {
				seen = append(seen, m[1])
			}
		}
	}
	switch x.how {
	case "empty":
		return "nothing"
	case "abort":
		_, _ = io.WriteString(c, x.reqs[0])
		time.Sleep(200 * time.Millisecond)
		return "aborted"
	case "raw", "idle":
		if len(x.reqs) > 0 {
			_, _ = io.WriteString(c, x.reqs[0])
		}
		readAll()
		return strings.Join(seen, " ") + " closed"
	}
	br := bufio.NewReader(c)
	for _, r := range x.reqs {
		if !strings.Contains(r, "\r\n\r\n") {
			r += "\r\n\r\n"
		}
		if _, err := io.WriteString(c, r); err != nil {
			seen = append(seen, "write error")
			break
		}
		method, _, _ := strings.Cut(r, " ")
		var resp *http.Response
		for {
			resp, err = http.ReadResponse(br, &http.Request{Method: method})
			if err != nil || resp.StatusCode >= 200 || resp.StatusCode == 101 {
				break
			}
			seen = append(seen, strconv.Itoa(resp.StatusCode))
		}
		if err != nil {
			seen = append(seen, "closed")
			return strings.Join(seen, " ")
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		seen = append(seen, strconv.Itoa(resp.StatusCode))
		if err != nil {
			seen = append(seen, "cut")
			return strings.Join(seen, " ")
		}
	}
	return strings.Join(seen, " ")
}
