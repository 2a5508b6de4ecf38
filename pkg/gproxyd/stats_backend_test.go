package gproxyd_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationBackendStatsAfterResponseLikeHaproxy runs haproxy 2.6 and
// gproxy on a frontend and its backend that both serve a stats page and
// both have http-after-response rules, and compares, for each page and
// for a backend's `http-request return`, the status line and the rule-made
// fields: the backend's page and replies go through the backend's rules
// then the frontend's, the frontend's page through the frontend's only.
// (The pages themselves, and haproxy's chunked framing of them, are not
// compared.)
func TestIntegrationBackendStatsAfterResponseLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	paths := []string{"/st", "/bst", "/ret", "/deny"}
	run := func(bin string) []string {
		port := porttest.Free(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:%d
    stats enable
    stats uri /st
    http-after-response add-header x-fe-after 1
    http-after-response set-header x-status "%%[status]"
    default_backend be
backend be
    http-request return status 201 if { path /ret }
    http-request deny if { path /deny }
    http-after-response add-header x-be-after 1
    http-after-response set-status 202 if { status 200 }
    http-after-response del-header content-type
    stats enable
    stats uri /bst
    server s1 127.0.0.1:%d
`, port, porttest.Free(t))
		_, _, stop := startDB(t, bin, cfg, port)
		defer stop()
		var out []string
		for _, p := range paths {
			resp := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), "GET "+p+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			head, _, _ := strings.Cut(resp, "\r\n\r\n")
			lines := strings.Split(head, "\r\n")
			kept := []string{p + " " + lines[0]}
			for _, l := range lines[1:] {
				if strings.HasPrefix(l, "x-") || strings.HasPrefix(l, "content-type") {
					kept = append(kept, l)
				}
			}
			out = append(out, strings.Join(kept, " | "))
		}
		return out
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("responses differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	if !strings.Contains(ref[1], "x-be-after: 1") || strings.Contains(ref[0], "x-be-after") {
		t.Errorf("haproxy does not run the rules as expected:\n%s", strings.Join(ref, "\n"))
	}
}
