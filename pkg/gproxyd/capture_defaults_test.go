package gproxyd_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationDefaultsCaptureLikeHaproxy runs haproxy 2.6 and gproxy on
// capture slots made by `http-request capture ... len N` in a named
// defaults section (the frontends using it start from those slots and add
// their own after them), read back with capture.req.hdr(N) and
// capture.res.hdr(N), and compares the responses and the httplog lines.
func TestIntegrationDefaultsCaptureLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	web := uidEchoBackend(t)
	reqs := []string{
		"GET /a HTTP/1.1\r\nHost: example.com\r\nX-A: 1234567890abc\r\nX-B: bee\r\nConnection: close\r\n\r\n",
		"GET /b HTTP/1.1\r\nHost: h\r\nX-A:\r\nConnection: close\r\n\r\n",
		"GET /c HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
	}
	date := regexp.MustCompile(`(?mi)^date: .*\r\n`)
	run := func(bin string) (resps, logs []string) {
		port, port2 := porttest.Free(t), porttest.Free(t)
		cfg := fmt.Sprintf(`defaults base
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
    option httplog
    log stdout format raw local0
    http-request capture req.hdr(host) len 4
    http-request capture req.hdr(x-a) len 10
frontend fe1 from base
    bind 127.0.0.1:%d
    declare capture request len 32
    declare capture response len 8
    http-request capture req.hdr(x-b) id 2
    http-response capture res.hdr(x-uid) id 0
    http-after-response set-header x-c0 "%%[capture.req.hdr(0)]"
    http-after-response set-header x-c1 "%%[capture.req.hdr(1)]"
    http-after-response set-header x-c2 "%%[capture.req.hdr(2)]"
    http-after-response set-header x-c3 "%%[capture.req.hdr(3)]"
    http-after-response set-header x-r0 "%%[capture.res.hdr(0)]"
    http-after-response set-header x-r1 "%%[capture.res.hdr(1)]"
    http-after-response set-header x-has2 "%%[capture.req.hdr(2),length]"
    default_backend web
frontend fe2 from base
    bind 127.0.0.1:%d
    http-request capture req.hdr(x-b) id 1
    http-request return status 200 hdr x-c0 "%%[capture.req.hdr(0)]" hdr x-c1 "%%[capture.req.hdr(1)]" hdr x-c2 "%%[capture.req.hdr(2)]"
defaults plain
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
backend web
    server s1 %s
`, port, port2, web)
		out, _, stop := startDB(t, bin, cfg, port, port2)
		defer stop()
		for _, p := range []int{port, port2} {
			for _, r := range reqs {
				before := out.count()
				resp := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", p), r)
				resps = append(resps, date.ReplaceAllString(resp, ""))
				out.waitFor(t, before+1)
			}
		}
		return resps, normalizedLines(out.lines())
	}
	refResps, refLogs := run(haproxytest.Bin)
	gotResps, gotLogs := run(gproxyBin)
	for i := range refResps {
		if i >= len(gotResps) || gotResps[i] != refResps[i] {
			t.Errorf("response %d differs\nhaproxy:\n%s\ngproxy:\n%s", i, refResps[i], gotResps[i])
		}
	}
	if !slices.Equal(refLogs, gotLogs) {
		t.Errorf("log lines differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(refLogs, "\n"), strings.Join(gotLogs, "\n"))
	}
	if !strings.Contains(refResps[0], "x-c1: 1234567890\r\n") || !strings.Contains(refResps[3], "x-c1: bee\r\n") {
		t.Errorf("haproxy's responses do not show the defaults' slots:\n%s\n%s", refResps[0], refResps[3])
	}
}

// rawExchange sends req and returns everything the proxy answers until it
// closes, at most 5 s.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}
