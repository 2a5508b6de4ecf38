package gproxyd_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationRestrictHeaderNamesLikeHaproxy runs haproxy 2.6 and
// gproxy on `option http-restrict-req-hdr-names` preserve, delete and
// reject, in a frontend and in a backend, with a header an http-request
// rule adds (the check comes after the rules), and compares what the
// server receives (an echo of the request headers) or the 403.
func TestIntegrationRestrictHeaderNamesLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	date := regexp.MustCompile(`(?mi)^date: .*\r\n`)
	req := "GET / HTTP/1.1\r\nHost: h\r\nx_a: 1\r\nx_b: 2\r\nok: 3\r\nx.c.d: 4\r\nafter-1: 5\r\nX~e: 6\r\nConnection: close\r\n\r\n"
	clean := "GET / HTTP/1.1\r\nHost: h\r\nok-1: 1\r\nConnection: close\r\n\r\n"
	run := func(bin string) []string {
		p := make([]int, 6)
		for i := range p {
			p[i] = porttest.Free(t)
		}
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend preserve
    bind 127.0.0.1:%d
    option http-restrict-req-hdr-names preserve
    default_backend echo
frontend del
    bind 127.0.0.1:%d
    option http-restrict-req-hdr-names delete
    http-request set-header x_added yes
    default_backend echo
frontend rej
    bind 127.0.0.1:%d
    option http-restrict-req-hdr-names reject
    default_backend echo
frontend tobe
    bind 127.0.0.1:%d
    default_backend bedel
frontend rejrule
    bind 127.0.0.1:%d
    option http-restrict-req-hdr-names reject
    http-request set-header x_added yes
    default_backend echo
backend bedel
    option http-restrict-req-hdr-names delete
    server s 127.0.0.1:%d
backend echo
    server s 127.0.0.1:%d
frontend echo
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "%%[req.hdrs]"
`, p[0], p[1], p[2], p[3], p[4], p[5], p[5], p[5])
		_, _, stop := startDB(t, bin, cfg, p...)
		defer stop()
		var out []string
		for _, port := range p[:5] {
			for _, r := range []string{req, clean} {
				resp := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), r)
				out = append(out, date.ReplaceAllString(resp, ""))
			}
		}
		return out
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		for i := range ref {
			if i < len(got) && ref[i] != got[i] {
				t.Errorf("response %d differs\nhaproxy:\n%s\ngproxy:\n%s", i, ref[i], got[i])
			}
		}
	}
	if !strings.Contains(ref[2], "host: h%0D%0Aok: 3%0D%0Aafter-1: 5%0D%0A") || !strings.HasPrefix(ref[4], "HTTP/1.1 403") {
		t.Errorf("haproxy did not delete or reject as expected:\n%s\n%s", ref[2], ref[4])
	}
}
