package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// prefer-client-ciphers, as Mozilla's generated configuration sets it in
// ssl-default-bind-options (and on a bind line): haproxy 2.6 takes the
// client's first suite the bind allows and the certificate can use, in
// TLS 1.2 and 1.3, also on a bind with its own ciphers and ciphersuites
// (the global option applies to it). The same suite from gproxy for each
// of openssl s_client's and curl's offers (90 cases), with an RSA and an
// ECDSA certificate for one name. This also fails if crypto/tls stops reading
// the ClientHello's suites that GetConfigForClient sees
// (tlsconf.ClientOrder).
func TestIntegrationTLSPreferClientCiphersHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	for _, c := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("needs the %s command: %v", c, err)
		}
	}
	dir := t.TempDir()
	w := func(name string, b []byte) { tlstest.Write(t, filepath.Join(dir, name), b) }
	ca := tlstest.NewCA(t, "Order CA")
	w("rsa.pem", ca.Issue(t, tlstest.RSA, "site.test", "site.test").Bundle())
	w("ecdsa.pem", ca.Issue(t, tlstest.ECDSA, "site.test", "site.test").Bundle())
	w("rsaonly.pem", ca.Issue(t, tlstest.RSA, "rsa.test", "rsa.test").Bundle())
	fill := func(ports map[string]int) string {
		return fmt.Sprintf(`global
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options prefer-client-ciphers no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend mozilla
    bind 127.0.0.1:%[1]d ssl crt %[2]s/ecdsa.pem crt %[2]s/rsa.pem crt %[2]s/rsaonly.pem
    http-request return status 200
frontend rsalist
    bind 127.0.0.1:%[3]d ssl crt %[2]s/rsaonly.pem ciphers AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305 prefer-client-ciphers
    http-request return status 200
frontend ownlists
    bind 127.0.0.1:%[4]d ssl crt %[2]s/ecdsa.pem crt %[2]s/rsa.pem ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305 ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    http-request return status 200
`, ports["mozilla"], dir, ports["rsalist"], ports["ownlists"])
	}
	hp, gp := startPair(t, dir, []string{"mozilla", "rsalist", "ownlists"}, fill)
	tls12 := []string{
		"", // openssl's default list
		"ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
		"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256",
		"AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
	}
	tls13 := []string{
		"", // openssl's default list
		"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
		"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256",
		"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
		"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
	}
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, fe := range []string{"mozilla", "rsalist", "ownlists"} {
			addr := fmt.Sprintf("127.0.0.1:%d", ports[fe])
			for _, sni := range []string{"site.test", "rsa.test"} {
				for _, c := range tls12 {
					args := []string{"-tls1_2"}
					if c != "" {
						args = append(args, "-cipher", c)
					}
					o[fe+" "+sni+" TLSv1.2 "+c] = sClientSummary(addr, sni, args...)
				}
				// Without a common curve: the first non-ECDHE suite.
				o[fe+" "+sni+" TLSv1.2 groups ffdhe2048"] = sClientSummary(addr, sni, "-tls1_2", "-groups", "ffdhe2048")
				for _, c := range tls13 {
					args := []string{"-tls1_3"}
					if c != "" {
						args = append(args, "-ciphersuites", c)
					}
					o[fe+" "+sni+" TLSv1.3 "+c] = sClientSummary(addr, sni, args...)
				}
				o[fe+" "+sni+" curl"] = curlSuite(addr, sni)
				o[fe+" "+sni+" curl --tls-max 1.2"] = curlSuite(addr, sni, "--tls-max", "1.2")
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "frontend SNI probe", want, got, haproxytest.Equal, map[string]string{
		"mozilla site.test TLSv1.3 ":                "TLS_AES_256_GCM_SHA384 X25519",
		"mozilla site.test TLSv1.2 ":                "ECDHE-ECDSA-AES256-GCM-SHA384 X25519",
		"mozilla site.test curl":                    "TLSv1.3 TLS_AES_256_GCM_SHA384",
		"ownlists site.test curl":                   "TLSv1.3 TLS_AES_256_GCM_SHA384",
		"rsalist rsa.test TLSv1.2 groups ffdhe2048": "AES256-GCM-SHA384",
		"mozilla rsa.test TLSv1.2 ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256": "ECDHE-RSA-CHACHA20-POLY1305 X25519",
	})
}

var curlSSL = regexp.MustCompile(`SSL connection using (\S+) / (\S+)`)

// curlSuite is "VERSION SUITE" of curl's TLS connection to addr for sni,
// or "refused".
func curlSuite(addr, sni string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.CommandContext(ctx, "curl", append([]string{"-sk", "-v", "-o", "/dev/null", "--resolve", sni + ":" + port + ":127.0.0.1",
		"https://" + sni + ":" + port + "/"}, args...)...)
	out, _ := cmd.CombinedOutput()
	if m := curlSSL.FindStringSubmatch(string(out)); m != nil {
		return m[1] + " " + m[2]
	}
	return "refused"
}

// Without prefer-client-ciphers haproxy 2.6 takes the TLS 1.3 suite by
// the bind's `ciphersuites` order (OpenSSL's default: AES-256 first),
// ChaCha20 first for a client whose first suite is a ChaCha20 one;
// crypto/tls alone would take its own (AES-128 first). The same suite
// from gproxy for openssl s_client's, curl's and Go's offers
// (tlsconf.ServerOrder13). TLS 1.2 still follows crypto/tls's order
// (AUDIT-12).
func TestIntegrationTLSServerOrder13Haproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	for _, c := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("needs the %s command: %v", c, err)
		}
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Order CA")
	tlstest.Write(t, filepath.Join(dir, "ecdsa.pem"), ca.Issue(t, tlstest.ECDSA, "site.test", "site.test").Bundle())
	fill := func(ports map[string]int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend default
    bind 127.0.0.1:%[1]d ssl crt %[4]s/ecdsa.pem
    http-request return status 200
frontend mozilla
    bind 127.0.0.1:%[2]d ssl crt %[4]s/ecdsa.pem ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    http-request return status 200
frontend chacha
    bind 127.0.0.1:%[3]d ssl crt %[4]s/ecdsa.pem ciphersuites TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384
    http-request return status 200
`, ports["default"], ports["mozilla"], ports["chacha"], dir)
	}
	hp, gp := startPair(t, dir, []string{"default", "mozilla", "chacha"}, fill)
	offers := []string{
		"", // openssl's default list
		"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
		"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
		"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256",
		"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
		"TLS_AES_256_GCM_SHA384",
	}
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, fe := range []string{"default", "mozilla", "chacha"} {
			addr := fmt.Sprintf("127.0.0.1:%d", ports[fe])
			for _, c := range offers {
				args := []string{"-tls1_3"}
				if c != "" {
					args = append(args, "-ciphersuites", c)
				}
				o[fe+" "+c] = sClientSummary(addr, "site.test", args...)
			}
			o[fe+" curl"] = curlSuite(addr, "site.test")
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", addr, &tls.Config{ServerName: "site.test", InsecureSkipVerify: true})
			if err != nil {
				o[fe+" go"] = "refused"
				continue
			}
			o[fe+" go"] = tls.CipherSuiteName(conn.ConnectionState().CipherSuite)
			conn.Close()
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "frontend offer", want, got, haproxytest.Equal, map[string]string{
		"default ":             "TLS_AES_256_GCM_SHA384 X25519",
		"default curl":         "TLSv1.3 TLS_AES_256_GCM_SHA384",
		"default go":           "TLS_AES_256_GCM_SHA384",
		"mozilla curl":         "TLSv1.3 TLS_AES_128_GCM_SHA256",
		"default " + offers[1]: "TLS_CHACHA20_POLY1305_SHA256 X25519",
	})
}
