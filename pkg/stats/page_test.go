package stats_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"hapair/pkg/health"
	"hapair/pkg/health/healthtest"
)

func pageConfig(t *testing.T, extra string, ng ...*healthtest.Nginx) (string, int, int) {
	stPort, fePort := healthtest.FreePort(t), healthtest.FreePort(t)
	return fmt.Sprintf(`
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
    stats realm HAProxy\ Statistics
    stats auth admin:supersecret
    stats refresh 10s
    http-request use-service prometheus-exporter if { path /metrics }
%s
listen web
    bind 127.0.0.1:%d
    balance roundrobin
    server web01 %s check inter 100ms
    server web02 %s check inter 100ms
    server bk %s check inter 100ms backup
`, stPort, extra, fePort, ng[0].Addr(), ng[1].Addr(), ng[2].Addr()), stPort, fePort
}

// TestStatsAuth checks basic authentication as haproxy 2.6 answers it
// (testdata/haproxy26_unauth.txt).
func TestStatsAuth(t *testing.T) {
	ng := []*healthtest.Nginx{healthtest.StartNginx(t, "a"), healthtest.StartNginx(t, "b"), healthtest.StartNginx(t, "c")}
	cfg, st, _ := pageConfig(t, "", ng...)
	start(t, cfg)
	ref, _ := os.ReadFile("testdata/haproxy26_unauth.txt")
	refBody := string(ref[strings.Index(string(ref), "\r\n\r\n")+4:])
	for _, c := range []struct{ user, pass string }{{"", ""}, {"admin", "wrong"}, {"nobody", "supersecret"}} {
		resp, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/stats", st), c.user, c.pass)
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="HAProxy Statistics"` || body != refBody {
			t.Errorf("%s:%s: %s %q %q; want haproxy's 401", c.user, c.pass, resp.Status, resp.Header.Get("WWW-Authenticate"), body)
		}
	}
	resp, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/stats", st), "admin", "supersecret")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html" || resp.Header.Get("Refresh") != "10" ||
		resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Date") != "" {
		t.Errorf("authorized page: %s %v", resp.Status, resp.Header)
	}
	if !strings.Contains(body, "Statistics Report for pid") {
		t.Error("authorized page has no report")
	}
	resp, _ = get(t, fmt.Sprintf("http://127.0.0.1:%d/stats;norefresh", st), "admin", "supersecret")
	if resp.Header.Get("Refresh") != "" {
		t.Error(";norefresh still sends Refresh")
	}
	resp, body = get(t, fmt.Sprintf("http://127.0.0.1:%d/elsewhere", st), "admin", "supersecret")
	if resp.StatusCode != 503 || !strings.Contains(body, "No server is available to handle this request.") {
		t.Errorf("outside the stats uri: %s %q", resp.Status, body)
	}
}

var classRE = regexp.MustCompile(`<tr class="([a-z_]+)">`)

func rowClasses(page string) []string {
	var c []string
	for _, m := range classRE.FindAllStringSubmatch(page, -1) {
		if m[1] != "titre" {
			c = append(c, m[1])
		}
	}
	return c
}

// TestStatsPage checks the page's layout against haproxy 2.6's
// (testdata/haproxy26_page.html): the same header rows, row classes
// following the servers' states, and the counters moving with traffic.
func TestStatsPage(t *testing.T) {
	ng := []*healthtest.Nginx{healthtest.StartNginx(t, "a"), healthtest.StartNginx(t, "b"), healthtest.StartNginx(t, "c")}
	cfg, st, fe := pageConfig(t, "", ng...)
	e := start(t, cfg)
	healthtest.Eventually(t, "checks", func() bool {
		s, _ := e.mon.Snapshot(e.eng.Backend("web").Server("web02"))
		return s.Last.Code == health.CodeL4OK
	})
	ng[1].Stop()
	healthtest.Eventually(t, "web02 down", func() bool { return !e.eng.Backend("web").Server("web02").Up() })
	for range 5 {
		get(t, fmt.Sprintf("http://127.0.0.1:%d/", fe), "", "")
	}
	_, page := get(t, fmt.Sprintf("http://127.0.0.1:%d/stats", st), "admin", "supersecret")
	ref, err := os.ReadFile("testdata/haproxy26_page.html")
	if err != nil {
		t.Fatal(err)
	}
	refPage := string(ref)
	// The two header rows of every proxy table, as haproxy prints them.
	for _, h := range []string{
		`<tr class="titre"><th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>`,
		`<tr class="titre"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>`,
		`<a class=px href="#web">web</a>`,
		`<h3>&gt; General process information</h3>`,
	} {
		if !strings.Contains(refPage, strings.ReplaceAll(h, "#web\">web", "#http\">http")) {
			t.Fatalf("reference page lacks %q: test out of date", h)
		}
		if !strings.Contains(page, h) {
			t.Errorf("page lacks haproxy's %q", h)
		}
	}
	// Row classes: haproxy's web01 UP, web02 DOWN, bk backup UP.
	got := rowClasses(page)
	want := []string{"frontend", "backend", "frontend", "active_up", "active_down", "backup_up", "backend"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("row classes %v, want %v", got, want)
	}
	// Every CSS class the rows use is defined with haproxy's colour.
	for _, c := range []string{".active_up { background: #c0ffc0; }", ".active_down { background: #ff9090; }", ".backup_up { background: #b0d0ff; }", ".maintain { background: #c07820; }"} {
		if !strings.Contains(page, c) {
			t.Errorf("style lacks %q", c)
		}
	}
	if !strings.Contains(page, "HAProxy version 2.6.12") {
		t.Error("no version without hide-version")
	}
	for _, frag := range []string{`<a class=lfsb href="#web/web02">web02</a>`, ` L4CON in `, "Layer4 connection problem: Connection refused", "DOWN</td>", `<td class=ac>-</td><td class=ac>Y</td>`} {
		if !strings.Contains(page, frag) {
			t.Errorf("page lacks %q", frag)
		}
	}
	// web01 took all 5 requests: its Total cell.
	if !regexp.MustCompile(`href="#web/web01">web01</a></td>(<td>[^<]*</td>){9}<td><u>5<div`).MatchString(page) {
		t.Errorf("web01 row does not show 5 sessions:\n%s", page[strings.Index(page, "#web/web01"):][:600])
	}
}

// TestStatsPageHideVersion covers `stats hide-version` and `;up`.
func TestStatsPageHideVersion(t *testing.T) {
	ng := []*healthtest.Nginx{healthtest.StartNginx(t, "a"), healthtest.StartNginx(t, "b"), healthtest.StartNginx(t, "c")}
	cfg, st, _ := pageConfig(t, "    stats hide-version\n    stats show-legends", ng...)
	e := start(t, cfg)
	ng[2].Stop()
	healthtest.Eventually(t, "bk down", func() bool { return !e.eng.Backend("web").Server("bk").Up() })
	_, page := get(t, fmt.Sprintf("http://127.0.0.1:%d/stats;up", st), "admin", "supersecret")
	if strings.Contains(page, "2.6.12") {
		t.Error("hide-version page shows the version")
	}
	if strings.Contains(page, "#web/bk") || !strings.Contains(page, "#web/web01") {
		t.Error(";up should hide the DOWN server bk only")
	}
	// show-legends tooltips, as haproxy 2.6 writes them.
	for _, want := range []string{
		`<a name="web"></a><u><a class=px href="#web">web</a><div class=tips>cap: proxy, mode: http, id: 2</div></u></th>`,
		fmt.Sprintf(`<a name="web/web01"></a><u><a class=lfsb href="#web/web01">web01</a><div class=tips>IPv4: %s, id: 1</div></u></td>`, ng[0].Addr()),
		`<td class=ac><u><a name="web/Backend"></a><a class=lfsb href="#web/Backend">Backend</a><div class=tips>balancing: roundrobin</div></u></td>`,
		`<li><a href="/stats;norefresh">Disable refresh</a><br>`,
		`<li><a href="/stats;csv;norefresh">CSV export</a><br>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("show-legends page lacks %q", want)
		}
	}
}

// TestPrometheusExporter scrapes `http-request use-service
// prometheus-exporter` and compares names and types with haproxy 2.6's
// (testdata/haproxy26_metrics.txt).
func TestPrometheusExporter(t *testing.T) {
	ng := []*healthtest.Nginx{healthtest.StartNginx(t, "a"), healthtest.StartNginx(t, "b"), healthtest.StartNginx(t, "c")}
	cfg, st, fe := pageConfig(t, "", ng...)
	e := start(t, cfg)
	// Every server's first check must have run: the metrics name web01's.
	healthtest.Eventually(t, "checks", func() bool {
		for _, name := range []string{"web01", "web02"} {
			s, _ := e.mon.Snapshot(e.eng.Backend("web").Server(name))
			if s.Last.Code != health.CodeL4OK {
				return false
			}
		}
		return true
	})
	for range 4 {
		get(t, fmt.Sprintf("http://127.0.0.1:%d/", fe), "", "")
	}
	var body string
	// A stream's status is counted once its response is sent: the last
	// one may still be ending.
	healthtest.Eventually(t, "the 4 responses counted", func() bool {
		resp, b := get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", st), "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("/metrics: %s", resp.Status)
		}
		body = b
		return strings.Contains(body, `haproxy_frontend_http_responses_total{proxy="web",code="2xx"} 4`+"\n")
	})
	ref, _ := os.ReadFile("testdata/haproxy26_metrics.txt")
	refTypes := types(string(ref))
	gotTypes := types(body)
	if len(gotTypes) < 40 {
		t.Errorf("only %d metric families", len(gotTypes))
	}
	var names []string
	for n, typ := range gotTypes {
		names = append(names, n)
		if refTypes[n] != typ {
			t.Errorf("%s: type %q, haproxy 2.6 has %q", n, typ, refTypes[n])
		}
	}
	sort.Strings(names)
	for _, want := range []string{
		`haproxy_server_sessions_total{proxy="web",server="web01"} 2`,
		`haproxy_server_status{proxy="web",server="web02",state="UP"} 1`,
		`haproxy_server_check_status{proxy="web",server="web01",state="L4OK"} 1`,
		`haproxy_backend_status{proxy="web",state="UP"} 1`,
		`haproxy_frontend_sessions_total{proxy="web"} 4`,
		`haproxy_backend_active_servers{proxy="web"} 2`,
		// HTTP counters, the class outermost as haproxy prints them
		`haproxy_frontend_http_requests_total{proxy="web"} 4`,
		`haproxy_frontend_http_responses_total{proxy="web",code="2xx"} 4`,
		`haproxy_server_http_responses_total{proxy="web",server="web01",code="2xx"} 2`,
		`haproxy_backend_http_responses_total{proxy="web",code="other"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func types(text string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, "# TYPE "); ok {
			n, typ, _ := strings.Cut(rest, " ")
			m[n] = typ
		}
	}
	return m
}

// TestPrometheusHAProxyExporter has Debian's prometheus-haproxy-exporter
// scrape our `;csv` and checks it reports the servers' states and counters
// that move with traffic.
func TestPrometheusHAProxyExporter(t *testing.T) {
	if _, err := exec.LookPath("prometheus-haproxy-exporter"); err != nil {
		t.Fatal("prometheus-haproxy-exporter not installed (apt-get install prometheus-haproxy-exporter)")
	}
	ng := []*healthtest.Nginx{healthtest.StartNginx(t, "a"), healthtest.StartNginx(t, "b"), healthtest.StartNginx(t, "c")}
	cfg, st, fe := pageConfig(t, "", ng...)
	e := start(t, cfg)
	ng[1].Stop()
	healthtest.Eventually(t, "web02 down", func() bool { return !e.eng.Backend("web").Server("web02").Up() })
	exp := healthtest.FreePort(t)
	cmd := exec.Command("prometheus-haproxy-exporter",
		fmt.Sprintf("--haproxy.scrape-uri=http://admin:supersecret@127.0.0.1:%d/stats;csv", st),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", exp))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	scrape := func() string {
		resp, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", exp))
		if err != nil {
			return ""
		}
		return resp
	}
	var m string
	healthtest.Eventually(t, "exporter up", func() bool { m = scrape(); return strings.Contains(m, "haproxy_up 1") })
	for _, want := range []string{
		`haproxy_server_up{backend="web",server="web01"} 1`,
		`haproxy_server_up{backend="web",server="web02"} 0`,
		`haproxy_backend_up{backend="web"} 1`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("exporter lacks %q\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(m, "haproxy_exporter_csv_parse_failures_total 0\n") {
		t.Errorf("exporter failed to parse our CSV:\n%s", stderr.String())
	}
	before := metricValue(m, `haproxy_server_bytes_out_total{backend="web",server="web01"}`)
	for range 3 {
		get(t, fmt.Sprintf("http://127.0.0.1:%d/", fe), "", "")
	}
	healthtest.Eventually(t, "counters move", func() bool {
		m = scrape()
		return metricValue(m, `haproxy_server_bytes_out_total{backend="web",server="web01"}`) > before &&
			strings.Contains(m, `haproxy_frontend_current_sessions{frontend="web"} 0`)
	})
	if v := metricValue(m, `haproxy_server_sessions_total{backend="web",server="web01"}`); v < 3 {
		t.Errorf("web01 total sessions %v after 3 requests", v)
	}
}
