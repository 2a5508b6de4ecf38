package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// A bind's `ciphersuites` naming fewer than the three TLS 1.3 suites
// (reg-test ssl/ssl_errors.vtc): haproxy 2.6 negotiates only those, in
// the list's order (ChaCha20 first for a client that puts it first), and
// refuses a TLS 1.3 client offering none of them (handshake_failure);
// TLS 1.2 still negotiates. gproxy takes the others out of the ClientHello
// (tlsconf.RestrictSuites13). Probes: openssl s_client's offers, curl and
// Go's client.
func TestIntegrationTLSSuiteSubsetHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	for _, c := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("needs the %s command: %v", c, err)
		}
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Subset CA")
	tlstest.Write(t, filepath.Join(dir, "ecdsa.pem"), ca.Issue(t, tlstest.ECDSA, "site.test", "site.test").Bundle())
	fes := []string{"aes256", "chacha128", "pref", "aes128"}
	fill := func(ports map[string]int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend aes256
    bind 127.0.0.1:%[1]d ssl crt %[5]s/ecdsa.pem ciphersuites TLS_AES_256_GCM_SHA384
    http-request return status 200
frontend chacha128
    bind 127.0.0.1:%[2]d ssl crt %[5]s/ecdsa.pem ciphersuites TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256
    http-request return status 200
frontend pref
    bind 127.0.0.1:%[3]d ssl crt %[5]s/ecdsa.pem ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384 prefer-client-ciphers
    http-request return status 200
frontend aes128
    bind 127.0.0.1:%[4]d ssl crt %[5]s/ecdsa.pem ciphersuites TLS_AES_128_GCM_SHA256
    http-request return status 200
`, ports["aes256"], ports["chacha128"], ports["pref"], ports["aes128"], dir)
	}
	hp, gp := startPair(t, dir, fes, fill)
	offers := []string{
		"", // openssl's default list
		"TLS_AES_256_GCM_SHA384",
		"TLS_AES_128_GCM_SHA256",
		"TLS_CHACHA20_POLY1305_SHA256",
		"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
		"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256",
		"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
	}
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, fe := range fes {
			addr := fmt.Sprintf("127.0.0.1:%d", ports[fe])
			for _, c := range offers {
				args := []string{"-tls1_3"}
				if c != "" {
					args = append(args, "-ciphersuites", c)
				}
				o[fe+" "+c] = sClientSummary(addr, "site.test", args...)
			}
			// TLS 1.2 still negotiates (its suite follows crypto/tls's
			// order, AUDIT-12's known difference, not compared here).
			o[fe+" tls1.2"] = "negotiated"
			if sClientSummary(addr, "site.test", "-tls1_2") == "refused" {
				o[fe+" tls1.2"] = "refused"
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
		"aes256 ":                          "TLS_AES_256_GCM_SHA384 X25519",
		"aes256 TLS_AES_128_GCM_SHA256":    "refused",
		"aes128 go":                        "TLS_AES_128_GCM_SHA256",
		"chacha128 ":                       "TLS_CHACHA20_POLY1305_SHA256 X25519",
		"chacha128 TLS_AES_256_GCM_SHA384": "refused",
		"pref " + offers[6]:                "TLS_AES_128_GCM_SHA256 X25519",
	})
}
