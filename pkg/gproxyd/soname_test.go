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

// TestIntegrationSoNameLikeHaproxy runs haproxy 2.6 and gproxy with named
// and unnamed listeners (one bind line with two addresses, a wildcard
// one) in mode http and mode tcp, and compares what so_name gives to a
// return rule, a log line and a tcp-request content rule.
func TestIntegrationSoNameLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	date := regexp.MustCompile(`(?mi)^date: .*\r\n`)
	run := func(bin string) (resps, logs []string) {
		p := make([]int, 6)
		for i := range p {
			p[i] = porttest.Free(t)
		}
		cfg := fmt.Sprintf(`defaults
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend h
    mode http
    log stdout format raw local0
    log-format "so=%%[so_name] %%ci"
    bind 127.0.0.1:%d name one
    bind 127.0.0.1:%d,127.0.0.1:%d name two
    bind 0.0.0.0:%d name wild
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "[%%[so_name]] [%%[so_name,length]]"
frontend t
    mode tcp
    bind 127.0.0.1:%d name tcpname
    tcp-request inspect-delay 1s
    tcp-request content reject if { so_name tcpname }
    default_backend b
backend b
    mode tcp
    server s 127.0.0.1:1
`, p[0], p[1], p[2], p[3], p[4], p[5])
		out, _, stop := startDB(t, bin, cfg, p[0], p[1], p[2], p[4], p[5])
		defer stop()
		for _, port := range p[:5] {
			before := out.count()
			resp := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			resps = append(resps, date.ReplaceAllString(resp, ""))
			out.waitFor(t, before+1)
		}
		resps = append(resps, closeKind(t, fmt.Sprintf("127.0.0.1:%d", p[5]), "hello\n"))
		return resps, normalizedLines(out.lines())
	}
	refResps, refLogs := run(haproxytest.Bin)
	gotResps, gotLogs := run(gproxyBin)
	if !slices.Equal(refResps, gotResps) {
		t.Errorf("responses differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(refResps, "\n"), strings.Join(gotResps, "\n"))
	}
	if !slices.Equal(refLogs, gotLogs) {
		t.Errorf("log lines differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(refLogs, "\n"), strings.Join(gotLogs, "\n"))
	}
	if !strings.Contains(refResps[2], "[two]") || !strings.Contains(refResps[3], "[wild]") {
		t.Errorf("haproxy's names are not the expected ones:\n%s", strings.Join(refResps, "\n"))
	}
}
