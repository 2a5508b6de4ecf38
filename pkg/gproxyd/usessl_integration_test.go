package gproxyd_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
)

// TestIntegrationStateUseSSL: the srv_use_ssl column of `show servers
// state` is haproxy 2.6's use_ssl: 1 after `ssl`, -1 after `no-ssl`, from
// the server line or default-server, the last one winning, 0 otherwise
// (it was always 0; reg-test server/cli_set_ssl reads it).
func TestIntegrationStateUseSSL(t *testing.T) {
	requireRootAndHAProxy(t)
	run := func(bin string) string {
		sock := filepath.Join(t.TempDir(), "s.sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
    ssl-server-verify none
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend b0
    server plain 127.0.0.1:9
    server on 127.0.0.1:9 ssl
    server off 127.0.0.1:9 no-ssl
backend b1
    default-server ssl
    server inherit 127.0.0.1:9
    server off 127.0.0.1:9 no-ssl
    server on 127.0.0.1:9 no-ssl ssl
backend b2
    default-server no-ssl
    server inherit 127.0.0.1:9
    server on 127.0.0.1:9 ssl
`, sock)
		_, _, stop := startDB(t, bin, cfg)
		defer stop()
		waitUntil(t, "the stats socket", func() bool { return cli(sock, "show info") != "" })
		var out []string
		for _, l := range strings.Split(cli(sock, "show servers state"), "\n") {
			if f := strings.Fields(l); len(f) > 20 && f[0] != "#" {
				out = append(out, f[1]+"/"+f[3]+" "+f[20])
			}
		}
		return strings.Join(out, "\n")
	}
	ref, got := run(haproxytest.Bin), run(gproxyBin)
	if ref != got {
		t.Errorf("srv_use_ssl differs\nhaproxy:\n%s\ngproxy:\n%s", ref, got)
	}
	t.Logf("haproxy:\n%s", ref)
	if !strings.Contains(ref, "b0/on 1") || !strings.Contains(ref, "b0/off -1") {
		t.Errorf("haproxy's column is not the one expected:\n%s", ref)
	}
}
