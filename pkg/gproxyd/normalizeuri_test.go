package gproxyd_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// normalizers are the forms `http-request normalize-uri` takes, each
// under a condition; the last two written without their option, as
// haproxy 2.6 reads them then (an omitted option before "if" runs
// path-merge-slashes). The option-less forms without a condition are
// unconditionalNormalizers, one frontend each.
var normalizers = []string{
	"path-merge-slashes", "path-strip-dot", "path-strip-dotdot", "path-strip-dotdot full",
	"query-sort-by-name", "percent-to-uppercase", "percent-to-uppercase strict",
	"percent-decode-unreserved", "percent-decode-unreserved strict", "fragment-strip",
	"fragment-encode", "path-strip-dotdot", "percent-decode-unreserved",
}

var unconditionalNormalizers = []string{"path-strip-dotdot", "percent-to-uppercase", "percent-decode-unreserved"}

var normalizeTargets = []string{
	"/", "//a///b//", "/a/./b/./", "/./", "/a/b/../c", "/a/b/..", "/../a", "/a/../../b/../../c",
	"/a/..//b", "/a/b/../../..", "/..", "/a/...", "/a/./../b?x=/../&y", "/%2e%2e/a%2fb%7e%41%7a%20",
	"/a%zz/b%4", "/a%", "/p?b=2&a=1&c&a=0&&b", "/p?", "/p?z&", "/a#frag/../x", "/a#b#c",
	"http://h.example/a//b/../c?q=%7e#f", "http://h.example", "/a%2F%2f?%61=%7E",
}

// TestIntegrationNormalizeURILikeHaproxy sends the same request targets
// through every normalize-uri normalizer of haproxy 2.6 and gproxy and
// compares the target each forwards (or the 400 a strict one answers).
func TestIntegrationNormalizeURILikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	date := regexp.MustCompile(`(?mi)^date: .*\r\n`)
	run := func(bin string) []string {
		port := porttest.Free(t)
		ports := []int{port}
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "global\n    expose-experimental-directives\ndefaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 1s\nfrontend fe\n    bind 127.0.0.1:%d\n", port)
		for i, n := range normalizers {
			if i >= len(normalizers)-2 {
				n = strings.Fields(n)[0] // the form without its option, before "if"
			}
			fmt.Fprintf(&cfg, "    http-request normalize-uri %s if { req.hdr(x-n) -m str %d }\n", n, i)
		}
		cfg.WriteString("    http-request return status 200 content-type text/plain lf-string \"[%[url]]\"\n")
		for _, n := range unconditionalNormalizers {
			ports = append(ports, porttest.Free(t))
			fmt.Fprintf(&cfg, "frontend %s\n    bind 127.0.0.1:%d\n    http-request normalize-uri %s\n", n, ports[len(ports)-1], n)
			cfg.WriteString("    http-request return status 200 content-type text/plain lf-string \"[%[url]]\"\n")
		}
		_, _, stop := startDB(t, bin, cfg.String(), ports...)
		defer stop()
		var out []string
		for i := range normalizers {
			for _, u := range normalizeTargets {
				resp := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("GET %s HTTP/1.1\r\nHost: h\r\nX-N: %d\r\nConnection: close\r\n\r\n", u, i))
				head, body, _ := strings.Cut(date.ReplaceAllString(resp, ""), "\r\n\r\n")
				status, _, _ := strings.Cut(head, "\r\n")
				out = append(out, fmt.Sprintf("%s %s: %s %s", normalizers[i], u, status, body))
			}
		}
		for i, n := range unconditionalNormalizers {
			for _, u := range normalizeTargets {
				resp := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", ports[i+1]), fmt.Sprintf("GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", u))
				head, body, _ := strings.Cut(date.ReplaceAllString(resp, ""), "\r\n\r\n")
				status, _, _ := strings.Cut(head, "\r\n")
				out = append(out, fmt.Sprintf("%s (always) %s: %s %s", n, u, status, body))
			}
		}
		return out
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	same := 0
	for i := range ref {
		if i < len(got) && ref[i] == got[i] {
			same++
			continue
		}
		t.Errorf("haproxy: %s\ngproxy:  %s", ref[i], got[i])
	}
	t.Logf("%d of %d requests identical", same, len(ref))
	if os.Getenv("SHOW") != "" {
		t.Log(strings.Join(ref, "\n"))
	}
}
