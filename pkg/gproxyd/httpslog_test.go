package gproxyd_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
	"hapair/pkg/tlsconf/tlstest"
)

// TestIntegrationHTTPSLogLikeHaproxy runs haproxy 2.6 and gproxy on
// `option httpslog` and `error-log-format` (the reg-test ssl_errors.vtc
// formats, with fc_err_str and ssl_fc_err_str), sends both the same TLS
// clients (a request, no shared cipher, TLS 1.1 under ssl-min-ver
// TLSv1.2, a connection closed without a request, a client that closes
// before its ClientHello), and compares the log lines once dates, ports
// and timers are masked.
func TestIntegrationHTTPSLogLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	crt := filepath.Join(dir, "a.pem")
	tlstest.Write(t, crt, ca.Issue(t, tlstest.RSA, "foo.com", "foo.com").Bundle())
	// TLS 1.2 with one suite: crypto/tls and OpenSSL pick TLS 1.3 suites
	// in different orders, which is not what this test is about.
	ok12 := &tls.Config{InsecureSkipVerify: true, ServerName: "foo.com", MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}}
	clients := []struct {
		name string
		cfg  *tls.Config
		req  bool
	}{
		{"request", ok12, true},
		{"no shared cipher", &tls.Config{InsecureSkipVerify: true, ServerName: "foo.com", MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}}, false},
		{"TLS 1.1", &tls.Config{InsecureSkipVerify: true, ServerName: "foo.com", MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}, false},
		{"no request", ok12, false},
		{"closed before hello", nil, false},
	}
	// The third frontend has strict-sni and verify required.
	caFile := filepath.Join(dir, "ca.pem")
	tlstest.Write(t, caFile, ca.PEM)
	other := tlstest.NewCA(t, "Other CA")
	mkCert := func(c *tlstest.CA) tls.Certificate {
		l := c.Issue(t, tlstest.RSA, "client", "client")
		cert, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	with := func(sni string, certs ...tls.Certificate) *tls.Config {
		c := ok12.Clone()
		c.ServerName, c.Certificates = sni, certs
		return c
	}
	authClients := []struct {
		name string
		cfg  *tls.Config
		req  bool
	}{
		{"client certificate", with("foo.com", mkCert(ca)), true},
		{"no client certificate", with("foo.com"), false},
		{"untrusted client certificate", with("foo.com", mkCert(other)), false},
		{"unknown SNI under strict-sni", with("bar.com", mkCert(ca)), false},
	}
	run := func(bin string) []string {
		p1, p2, p3 := porttest.Free(t), porttest.Free(t), porttest.Free(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    log stdout format raw local0
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend plain
    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.2 ciphers ECDHE-RSA-AES256-GCM-SHA384
    option httpslog
    http-request return status 200
frontend custom
    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.2 ciphers ECDHE-RSA-AES256-GCM-SHA384
    option httpslog
    error-log-format "ERROR %%ci [%%tr] %%ft %%b/%%s %%TR/%%Tw/%%Tc/%%Tr/%%Ta %%ST %%B %%CC %%CS %%tsc %%ac/%%fc/%%bc/%%sc/%%rc %%sq/%%bq %%hr %%hs %%{+Q}r %%[fc_err]/%%[ssl_fc_err,hex]/%%[ssl_c_err]/%%[ssl_c_ca_err]/%%[ssl_fc_is_resumed] %%[ssl_fc_sni]/%%sslv/%%sslc %%{+Q}[fc_err_str] %%{+Q}[ssl_fc_err_str]"
    http-request return status 200
frontend auth
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required strict-sni ssl-min-ver TLSv1.2 ciphers ECDHE-RSA-AES256-GCM-SHA384
    option httpslog
    error-log-format "ERROR %%ci [%%tr] %%ft %%b/%%s %%ST %%tsc %%[fc_err]/%%[ssl_fc_err,hex]/%%[ssl_c_err]/%%[ssl_c_ca_err]/%%[ssl_fc_is_resumed] %%[ssl_fc_sni]/%%sslv/%%sslc %%{+Q}[fc_err_str] %%{+Q}[ssl_fc_err_str]"
    http-request return status 200
`, p1, crt, p2, crt, p3, crt, caFile)
		out, _, stop := startDB(t, bin, cfg, p1, p2, p3)
		defer stop()
		for _, c := range authClients {
			before := out.count()
			tlsClient(t, fmt.Sprintf("127.0.0.1:%d", p3), c.cfg, c.req)
			out.waitFor(t, before+1)
		}
		for _, p := range []int{p1, p2} {
			addr := fmt.Sprintf("127.0.0.1:%d", p)
			for _, c := range clients {
				before := out.count()
				tlsClient(t, addr, c.cfg, c.req)
				out.waitFor(t, before+1)
			}
		}
		return normalizedLines(out.lines())
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("log lines differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	if !slices.ContainsFunc(ref, func(l string) bool {
		return strings.Contains(l, `"error:0A0000C1:SSL routines::no shared cipher"`)
	}) {
		t.Errorf("haproxy's lines do not show the OpenSSL error:\n%s", strings.Join(ref, "\n"))
	}
}

// tlsClient dials addr and, with cfg, runs a TLS handshake (a failure is
// expected for some), sends a request when req is set, and reads until
// the proxy closes; without cfg it closes at once.
func tlsClient(t *testing.T, addr string, cfg *tls.Config, req bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if cfg == nil {
		return
	}
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		return
	}
	if req {
		_, _ = io.WriteString(tc, "GET / HTTP/1.1\r\nHost: foo.com\r\nConnection: close\r\n\r\n")
		_, _ = io.Copy(io.Discard, tc)
		return
	}
	_ = tc.Close()
	_, _ = io.Copy(io.Discard, c)
}
