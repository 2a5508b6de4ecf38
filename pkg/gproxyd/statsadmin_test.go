package gproxyd_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationStatsAdminLikeHaproxy runs one sequence of stats-page
// requests through haproxy 2.6 and gproxy on the same configuration: the
// CSV's rows under `scope=`, the admin form's POSTs (303 and its
// ;st= code: DONE, PART, ERRP, NONE, and DENY without `stats admin`), and
// the servers' states that follow, must be the same.
func TestIntegrationStatsAdminLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	type step struct{ method, path, body string }
	steps := []step{
		{"GET", "/;csv;scope=b1", ""},
		{"GET", "/;csv;scope=B", ""},
		{"GET", "/;csv;scope=b<1", ""},
		{"POST", "/?scope=b2", "s=srv1&s=srv2&s=srv3&action=maint&b=%233"},
		{"POST", "/", "s=srv2&action=drain&b=%233"},
		{"POST", "/;up", "s=srv1&action=maint&b=b2"},
		{"POST", "/", "s=nope&action=ready&b=b1"},
		{"POST", "/", "s=srv3&s=nope&action=ready&b=b1"},
		{"POST", "/", "action=ready&b=b1"},
		{"POST", "/", "s=srv1&action=bogus&b=b1"},
		{"POST", "/", "s=srv1&action=ready&b=%2399"},
		{"POST", "/", "s=srv1&action=dhlth&b=b1"},
		{"POST", "/", "s=srv3&action=disable&b=b1"},
		{"POST", "/", "s=srv3&action=disable&b=b1"},
		{"POST", "/st", "s=srv1&action=maint&b=b1"},
		{"GET", "/;csv", ""},
	}
	run := func(bin string) []string {
		admin, ro := porttest.Free(t), porttest.Free(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend fe1
    bind 127.0.0.1:%d
    stats enable
    stats uri /
    stats admin if TRUE
frontend ro
    bind 127.0.0.1:%d
    stats enable
    stats uri /st
backend b1
    server srv1 127.0.0.1:9
    server srv2 127.0.0.1:9
    server srv3 127.0.0.1:9
backend b2
    server srv1 127.0.0.1:9
    server srv2 127.0.0.1:9
`, admin, ro)
		cmd, out := startGproxyBin(t, bin, "-db", "-f", writeConfig(t, cfg))
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", admin))
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", ro))
		client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		var got []string
		for _, s := range steps {
			port := admin
			if strings.HasPrefix(s.path, "/st") {
				port = ro
			}
			req, err := http.NewRequest(s.method, fmt.Sprintf("http://127.0.0.1:%d%s", port, s.path), strings.NewReader(s.body))
			if err != nil {
				t.Fatal(err)
			}
			if s.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", s.method, s.path, err, out)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			line := fmt.Sprintf("%s %s %q -> %d %s", s.method, s.path, s.body, resp.StatusCode, resp.Header.Get("Location"))
			if s.method == "GET" {
				// Proxy, server and status of each CSV row.
				var rows []string
				for _, l := range strings.Split(string(body), "\n")[1:] {
					if f := strings.Split(l, ","); len(f) > 17 {
						rows = append(rows, f[0]+"/"+f[1]+"="+f[17])
					}
				}
				line += " " + strings.Join(rows, " ")
			}
			got = append(got, line)
		}
		return got
	}
	hap, ours := run(haproxytest.Bin), run(gproxyBin)
	t.Logf("haproxy:\n%s", strings.Join(hap, "\n"))
	for i := range steps {
		if hap[i] != ours[i] {
			t.Errorf("step %d differs\nhaproxy: %s\n gproxy: %s", i+1, hap[i], ours[i])
		}
	}
	if !strings.Contains(ours[len(ours)-1], "b1/srv3=MAINT") || !strings.Contains(ours[4], ";st=DONE") {
		t.Errorf("the admin actions did not apply:\n%s", strings.Join(ours, "\n"))
	}
}
