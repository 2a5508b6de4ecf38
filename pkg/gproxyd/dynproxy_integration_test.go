package gproxyd_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationAddServerSendProxy: servers added on the stats socket
// with `send-proxy`, `send-proxy-v2` (and `proxy-v2-options`), in a tcp
// and an http backend that had no PROXY server before, send the same
// header and request as haproxy 2.6's; their health checks (tcp-check
// rules: haproxy resets a bare connect check, which the server may never
// see) send none unless `check-send-proxy` asks (haproxy's
// init_srv_check skips the inheritance for dynamic servers), and the `add
// server` answers match.
func TestIntegrationAddServerSendProxy(t *testing.T) {
	requireRootAndHAProxy(t)
	type result struct {
		answers, servers, checks []string
	}
	run := func(bin string) result {
		tcpSrv, httpSrv, chkPlain, chkPP := startPPRecorder(t), startPPRecorder(t), startPPRecorder(t), startPPRecorder(t)
		tcpPort, httpPort := porttest.Free(t), porttest.Free(t)
		sock := filepath.Join(t.TempDir(), "s.sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend tcpfe
    mode tcp
    bind 127.0.0.1:%d
    default_backend bt
frontend httpfe
    mode http
    bind 127.0.0.1:%d
    default_backend bh
backend bt
    mode tcp
backend bh
    mode http
backend bc
    mode tcp
    option tcp-check
    tcp-check send "PING\r\n\r\n"
    tcp-check expect string "200 OK"
`, sock, tcpPort, httpPort)
		_, _, stop := startDB(t, bin, cfg, tcpPort, httpPort)
		defer stop()
		var res result
		for _, c := range []string{
			"add server bt/s1 " + tcpSrv.addr + " send-proxy",
			"enable server bt/s1",
			"add server bh/s1 " + httpSrv.addr + " send-proxy-v2 proxy-v2-options crc32c,authority",
			"enable server bh/s1",
			"add server bh/s2 " + httpSrv.addr + " send-proxy-v2 no-send-proxy-v2",
			"add server bc/c1 " + chkPlain.addr + " send-proxy check inter 200ms",
			"enable server bc/c1",
			"enable health bc/c1",
			"add server bc/c2 " + chkPP.addr + " send-proxy-v2 check inter 200ms check-send-proxy",
			"enable server bc/c2",
			"enable health bc/c2",
		} {
			res.answers = append(res.answers, maskLoopbackPort(c+": "+strings.TrimSpace(cli(sock, c))))
		}
		ppTalk(t, fmt.Sprintf("127.0.0.1:%d", tcpPort), ppCase{send: []byte("hello\r\n\r\n"), served: true})
		ppTalk(t, fmt.Sprintf("127.0.0.1:%d", httpPort), ppCase{send: []byte(ppRequest), served: true})
		waitUntil(t, "the tcp server's record", func() bool { return len(tcpSrv.records()) > 0 })
		waitUntil(t, "the http server's record", func() bool { return len(httpSrv.records()) > 0 })
		waitUntil(t, "a check without check-send-proxy", func() bool { return len(chkPlain.records()) > 0 })
		waitUntil(t, "a check with check-send-proxy", func() bool { return len(chkPP.records()) > 0 })
		for _, r := range append(tcpSrv.records(), httpSrv.records()...) {
			res.servers = append(res.servers, maskLoopback(normalizeLog(r)))
		}
		res.checks = []string{chkPlain.records()[0], chkPP.records()[0]}
		return res
	}
	ref, got := run(haproxytest.Bin), run(gproxyBin)
	for _, p := range [][3]any{{"answers", ref.answers, got.answers}, {"server records", ref.servers, got.servers}, {"checks", ref.checks, got.checks}} {
		r, g := p[1].([]string), p[2].([]string)
		if !slices.Equal(r, g) {
			t.Errorf("%s differ\nhaproxy:\n%s\ngproxy:\n%s", p[0], strings.Join(r, "\n"), strings.Join(g, "\n"))
		}
	}
	if !strings.HasPrefix(ref.checks[0], "no header") || strings.HasPrefix(ref.checks[1], "no header") {
		t.Errorf("haproxy's checks were expected without, then with a header: %q", ref.checks)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("haproxy:\n%s\n%s\n%s", strings.Join(ref.answers, "\n"), strings.Join(ref.servers, "\n"), strings.Join(ref.checks, "\n"))
	}
}

// maskLoopbackPort hides the port of a loopback address ("127.0.0.1:PORT").
func maskLoopbackPort(s string) string { return loopbackAddrRe.ReplaceAllString(s, "127.0.0.1:P") }

var loopbackAddrRe = regexp.MustCompile(`127\.0\.0\.1:\d+`)
