package runtimeapi_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// TestIntegrationMapsACLsHaproxy: the same sessions of `show / get / add
// / del / set / clear / prepare / commit map|acl` on haproxy 2.6's stats
// socket and gproxy's get the same answers (element addresses and the
// configuration file's path masked: they differ by nature), and requests
// made between them see the same map values and ACL matches, including
// the changes the set-map, del-map, add-acl and del-acl actions make.
func TestIntegrationMapsACLsHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	write := func(n, s string) {
		if err := os.WriteFile(path(n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.map", "# comment\n/foo bk1\n  /bar   bk2  \nexample.com backend three\n")
	write("ips.acl", "10.0.0.0/8\n192.168.0.0/16\n")
	write("n.map", "/a 1\n/b 2\n")
	write("blk.acl", "blocked1\n")
	write("r.map", "^/r/([^/]*)/(.*)$ \\2-\\1\n")
	socks, ports := startCLIPair(t, dir, func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %[1]s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:%[2]d
    acl bad src -f %[3]s/ips.acl
    acl p path_beg /x /y
    acl q hdr(host) -i -m dom example.com
    acl blocked req.hdr(x-user) -f %[3]s/blk.acl
    acl n hdr_cnt(x-n) gt 2
    http-request set-map(%[3]s/a.map) %%[url_param(k)] %%[url_param(v)] if { path /set }
    http-request del-map(%[3]s/a.map) %%[url_param(k)] if { path /del }
    http-request add-acl(%[3]s/blk.acl) %%[url_param(u)] if { path /block }
    http-request del-acl(%[3]s/blk.acl) %%[url_param(u)] if { path /unblock }
    http-request set-map(%[3]s/none.map) a b
    http-request deny deny_status 403 if blocked || METH_POST
    http-request set-var(txn.n) path,map_str_int(%[3]s/n.map,-1)
    http-request return status 200 content-type text/plain lf-string "m=%%[path,map(%[3]s/a.map,none)] b=%%[path,map_beg(%[3]s/a.map,none)] n=%%[var(txn.n)] p=%%[path,map_str(%[3]s/n.map,none)] r=%%[path,map_regm(%[3]s/r.map,none)]\n" if !bad || p || q
    http-request return status 404
`, sock, port, dir)
	})
	ask := func(n, s string) string {
		out := askSocket(t, socks[n], strings.TrimSuffix(s, "\n"))
		out = regexp.MustCompile(`0x[0-9a-f]+`).ReplaceAllString(out, "0xADDR")
		return regexp.MustCompile(`file '[^']*\.cfg'`).ReplaceAllString(out, "file 'CFG'")
	}
	get := func(n, u string, hdr ...string) string {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", ports[n], u), nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		c := &http.Client{Timeout: 10 * time.Second}
		res, err := c.Do(req)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return fmt.Sprintf("%d %s", res.StatusCode, b)
	}
	m, ips, nm := path("a.map"), path("ips.acl"), path("n.map")
	steps := []string{
		"show map", "show acl", "show map " + m, "show map #0", "show acl #1", "show acl " + ips,
		"GET /foo", "GET /foox", "GET /a", "GET /bar", "GET /r/one/two", "get map " + path("r.map") + " /r/a/b",
		"get map " + m + " /foo", "get map " + m + " /foo/x", "get map #0 /barx", "get map #0 10.1.2.3",
		"get acl #2 /x", "get acl #3 www.EXAMPLE.com", "get map " + nm + " /b", "get acl #5 3",
		"add map " + m + " /new newval", "GET /new",
		"add acl " + m + " /zz", "add acl #2 /zz", "add acl #0 notanip", "add acl #0 172.16.0.0/12",
		"del acl #0 10.0.0.0/8", "del acl #0 10.0.0.0/8", "del map #2 /x",
		"add map " + nm + " /c notanumber", "add map " + nm + " /c 3", "GET /c",
		"add map " + m + " <<\n/p1 v1\n/p2 v2 with blanks\n\n", "GET /p2", "add map " + m + " <<\n/k1 v1\n/k2\n/k3 v3\n\n",
		"add map " + m + " <<\n/k4 v4\n/k5\n\n", "show map " + m,
		"show acl", "show map",
		"set map " + m + " /foo changed", "set map " + m + " /nope changed", "set map " + nm + " /a x", "GET /foo",
		"get map " + m + " /foo",
		"prepare map " + m, "add map @1 " + m + " /v1 one", "add map @3 " + m + " /v1 one",
		"show map @1 " + m, "show map", "GET /v1", "GET /foo",
		"commit map @1 " + m, "commit map @5 " + m, "show map " + m, "show map", "GET /v1", "GET /foo",
		"clear acl #0", "show acl #0", "show acl", "add acl #0 127.0.0.0/8", "GET /foo", "del acl #0 127.0.0.0/8", "GET /foo",
		"GET /set?k=/x&v=hello", "GET /x", "GET /set?k=/x&v=again", "GET /x", "GET /del?k=/x", "GET /x",
		"GET /block?u=bob", "GET /foo x-user:bob", "GET /foo x-user:blocked1", "GET /unblock?u=bob", "GET /foo x-user:bob",
		"show map " + m, "show acl #3",
		"get map", "add map", "set map x", "del map #4", "del map " + m + " #0xzz", "del map " + m + " #0x1",
		"clear map", "commit map", "commit map @1", "prepare acl #99", "show map @0",
		"clear map " + m, "show map " + m, "GET /foo",
	}
	for _, s := range steps {
		var want, got string
		if u, ok := strings.CutPrefix(s, "GET "); ok {
			var hdr []string
			if u, h, ok := strings.Cut(u, " "); ok {
				name, val, _ := strings.Cut(h, ":")
				hdr = []string{name, val}
				s = "GET " + u
			}
			u, _, _ = strings.Cut(u, " ")
			want, got = get("hp", u, hdr...), get("gp", u, hdr...)
		} else {
			want, got = ask("hp", s), ask("gp", s)
		}
		if got != want {
			t.Errorf("%q:\ngproxy:\n%s\nhaproxy:\n%s", s, got, want)
		}
		if testing.Verbose() && strings.HasPrefix(s, "GET ") {
			t.Logf("%s: %s", s, strings.TrimSpace(got))
		}
	}
}
