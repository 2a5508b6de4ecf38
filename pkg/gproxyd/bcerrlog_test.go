package gproxyd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
	"hapair/pkg/tlsconf/tlstest"
)

// TestIntegrationBcErrLogLikeHaproxy runs haproxy 2.6 and gproxy on a
// log-format with bc_err, bc_err_str, ssl_bc_err and ssl_bc_err_str,
// for servers on TLS 1.2 and 1.3 (and HTTP/2), in clear text, a TLS
// server that is not (wrong version number), one whose certificate
// `verify required` refuses, and a refused connect (no connection: "-"),
// and compares the lines; and the same in mode tcp.
func TestIntegrationBcErrLogLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Err CA")
	tlstest.Write(t, filepath.Join(dir, "srv.pem"), ca.Issue(t, tlstest.RSA, "srv.test", "srv.test").Bundle())
	tlstest.Write(t, filepath.Join(dir, "other.pem"), tlstest.NewCA(t, "Other CA").PEM)
	paths := []string{"/12", "/13", "/h2", "/clear", "/notls", "/vfail", "/dead"}
	run := func(bin string) []string {
		fe, tlsPort, plain, dead := porttest.Free(t), porttest.Free(t), porttest.Free(t), porttest.Free(t)
		tcpOK, tcpBad := porttest.Free(t), porttest.Free(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    retries 0
    timeout client 5s
    timeout server 5s
    timeout connect 2s
frontend fe
    bind 127.0.0.1:%[1]d
    log stdout format raw local0
    log-format "%%HP %%ST e=%%[bc_err] s=%%[bc_err_str] se=%%[ssl_bc_err] ses=%%[ssl_bc_err_str]"
    use_backend be13 if { path_beg /13 }
    use_backend h2 if { path_beg /h2 }
    use_backend clear if { path_beg /clear }
    use_backend notls if { path_beg /notls }
    use_backend vfail if { path_beg /vfail }
    use_backend dead if { path_beg /dead }
    default_backend be12
backend be12
    server s 127.0.0.1:%[2]d ssl verify none ssl-max-ver TLSv1.2
backend be13
    server s 127.0.0.1:%[2]d ssl verify none ssl-min-ver TLSv1.3
backend h2
    server s 127.0.0.1:%[2]d ssl verify none alpn h2
backend clear
    server s 127.0.0.1:%[3]d
backend notls
    server s 127.0.0.1:%[3]d ssl verify none
backend vfail
    server s 127.0.0.1:%[2]d ssl verify required ca-file %[5]s/other.pem
backend dead
    server s 127.0.0.1:%[4]d
frontend tls
    bind 127.0.0.1:%[2]d ssl crt %[5]s/srv.pem alpn h2,http/1.1
    http-request return status 200
frontend plain
    bind 127.0.0.1:%[3]d
    http-request return status 200
frontend tcp
    mode tcp
    bind 127.0.0.1:%[6]d
    bind 127.0.0.1:%[7]d
    log stdout format raw local0
    log-format "tcp %%[dst_port,sub(%[6]d),bool] e=%%[bc_err] s=%%[bc_err_str] se=%%[ssl_bc_err] ses=%%[ssl_bc_err_str]"
    use_backend tcpbad if { dst_port %[7]d }
    default_backend tcpok
backend tcpok
    mode tcp
    server s 127.0.0.1:%[2]d ssl verify none
backend tcpbad
    mode tcp
    server s 127.0.0.1:%[3]d ssl verify none
`, fe, tlsPort, plain, dead, dir, tcpOK, tcpBad)
		out, _, stop := startDB(t, bin, cfg, fe, tlsPort, plain, tcpOK, tcpBad)
		defer stop()
		for _, p := range paths {
			before := out.count()
			talk(t, fmt.Sprintf("127.0.0.1:%d", fe), "GET "+p+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			out.waitFor(t, before+1)
		}
		for _, p := range []int{tcpOK, tcpBad} {
			before := out.count()
			talk(t, fmt.Sprintf("127.0.0.1:%d", p), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			out.waitFor(t, before+1)
		}
		return out.lines()
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("log lines differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	for _, want := range []string{
		"/12 200 e=0 s=Success se=0 ses=-",
		"/clear 200 e=0 s=Success se=- ses=-",
		"/notls 503 e=34 s=SSL handshake failure se=167772427 ses=error:0A00010B:SSL routines::wrong version number",
		"/dead 503 e=- s=- se=- ses=-",
		"/h2 200 e=0 s=Success se=0 ses=-",
		"tcp 0 e=0 s=Success se=0 ses=-",
		"tcp 1 e=34 s=SSL handshake failure se=167772427 ses=error:0A00010B:SSL routines::wrong version number",
	} {
		if !slices.ContainsFunc(ref, func(l string) bool { return strings.Contains(l, want) }) {
			t.Errorf("haproxy sent no line with %q:\n%s", want, strings.Join(ref, "\n"))
		}
	}
}
