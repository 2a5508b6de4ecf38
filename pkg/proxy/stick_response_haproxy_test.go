package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
)

// stickResponseConfig tracks counters from http-response rules: on a
// response header (a key only the response has), on the source in
// another table, and on a slot an http-request rule already took (the
// response rule must then do nothing).
func stickResponseConfig(port int, backend, extraGlobal string) string {
	return fmt.Sprintf(`global
%s
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    stick-table type string len 32 size 1k expire 30s store http_req_cnt,http_req_rate(10s),http_err_cnt,http_err_rate(10s),http_fail_cnt,http_fail_rate(10s),gpc0
    http-request track-sc0 src table reqs
    http-response track-sc0 res.hdr(x-user)
    http-response track-sc2 res.hdr(x-user)
    http-response sc-inc-gpc0(2) if { res.hdr(x-user) -m found }
    http-response track-sc1 src table ips if { status ge 400 }
    http-response set-header x-cnt %%[sc_http_req_cnt(2)]/%%[sc_http_err_cnt(2)]/%%[sc1_http_fail_cnt]/%%[sc_tracked(1)]
    default_backend be
backend ips
    stick-table type ip size 10 expire 30s store http_req_cnt,http_err_cnt,http_fail_cnt
backend reqs
    stick-table type ip size 10 expire 30s store http_req_cnt,http_err_cnt
backend be
    server s1 %s
`, extraGlobal, port, backend)
}

// stickResponseSuite sends the same requests to a proxy and returns the
// statuses and counter headers seen.
func stickResponseSuite(t *testing.T, addr string) []string {
	t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second}
	var out []string
	for _, q := range []string{"200?u=alice", "404?u=alice", "503?u=bob", "501?u=bob", "200", "500?u=carol",
		"403?u=alice", "505?u=carol", "200?u=bob", "404"} {
		res, err := cl.Get("http://" + addr + "/s/" + q)
		if err != nil {
			t.Fatalf("GET %s: %v", q, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		out = append(out, fmt.Sprintf("%s %d %s", q, res.StatusCode, res.Header.Get("x-cnt")))
	}
	cl.CloseIdleConnections()
	return out
}

func TestIntegrationStickResponseTrackHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/s/"))
		if u := r.URL.Query().Get("u"); u != "" {
			w.Header().Set("X-User", u)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	backend := strings.TrimPrefix(srv.URL, "http://")

	sock := filepath.Join(t.TempDir(), "stats.sock")
	hport := haproxytest.FreePort(t)
	haproxytest.Start(t, stickResponseConfig(hport, backend, "    stats socket "+sock+" level admin"))
	haddr := fmt.Sprintf("127.0.0.1:%d", hport)
	haproxytest.WaitBound(t, haddr)
	tables := []string{"fe", "ips", "reqs"}
	idle := func(show func(string) string) {
		eventually(t, "the streams' counters released", func() bool {
			all := ""
			for _, tb := range tables {
				all += show(tb)
			}
			return !strings.Contains(all, "use=1")
		})
	}
	hap := stickResponseSuite(t, haddr)
	idle(func(tb string) string { return stickCLI(t, sock, "show table "+tb) })
	var hapTables []string
	for _, tb := range tables {
		hapTables = append(hapTables, stickCLI(t, sock, "show table "+tb))
	}

	ln, bind := listen(t)
	cfg, diags, err := haproxycfg.Parse("stick.cfg", []byte(stickResponseConfig(bind.Port, backend, "")), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	e, _ := run(t, cfg, ln)
	set := e.StickTables()
	got := stickResponseSuite(t, bind.Address())
	idle(func(tb string) string { return set.Show([]string{tb}, true) })
	if strings.Join(hap, "\n") != strings.Join(got, "\n") {
		t.Errorf("responses differ:\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(hap, "\n"), strings.Join(got, "\n"))
	}
	for i, tb := range tables {
		out := set.Show([]string{tb}, true)
		if maskTable.ReplaceAllString(out, "X") != maskTable.ReplaceAllString(hapTables[i], "X") {
			t.Errorf("show table %s:\nhaproxy:\n%s\ngproxy:\n%s", tb, hapTables[i], out)
		}
	}
	if !strings.Contains(hapTables[0], "key=alice") || !strings.Contains(hapTables[1], "http_fail_cnt=") {
		t.Errorf("haproxy did not track from the response as expected:\n%s", strings.Join(hapTables, "\n"))
	}
}
