package proxy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// The ssl_s_* and ssl_bc_* fetches (the server connection's certificate
// and TLS facts) in http-response rules, under haproxy 2.6 and gproxy:
// the same headers for a server on TLS 1.2 and one on TLS 1.3 (with a
// chain and ALPN), and none for a clear-text server.
func TestIntegrationTLSServerFetchesHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Fetch CA")
	leaf := ca.Issue(t, tlstest.RSA, "srv.test", "srv.test", "alt.test")
	tlstest.Write(t, filepath.Join(dir, "srv.pem"), append(leaf.Bundle(), ca.PEM...))
	tlstest.Write(t, filepath.Join(dir, "ec.pem"), ca.Issue(t, tlstest.ECDSA, "ec.test").Bundle())
	fetches := []string{"ssl_s_sha1,hex", "ssl_s_der,hex", "ssl_s_chain_der,hex", "ssl_s_serial,hex", "ssl_s_s_dn",
		"ssl_s_i_dn", "ssl_s_s_dn(CN)", "ssl_s_i_dn(CN,1)", "ssl_s_key_alg", "ssl_s_sig_alg", "ssl_s_notbefore",
		"ssl_s_notafter", "ssl_s_version", "ssl_bc", "ssl_bc_protocol", "ssl_bc_cipher", "ssl_bc_alpn",
		"ssl_bc_use_keysize", "ssl_bc_alg_keysize", "ssl_bc_is_resumed", "ssl_fc"}
	var rules strings.Builder
	for i, f := range fetches {
		fmt.Fprintf(&rules, "    http-response set-header x-f%d \"%%[%s]\"\n", i, f)
	}
	// Both proxies' servers are haproxy's frontends, so that only the
	// fetches are compared (not which TLS 1.3 suite a server prefers).
	var ref map[string]int
	fill := func(ports map[string]int) string {
		if ref == nil {
			ref = ports
		}
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    use_backend be13 if { path_beg /13 }
    use_backend clear if { path_beg /clear }
    default_backend be12
%[4]s
backend be12
    server s 127.0.0.1:%[6]d ssl verify none sni str(srv.test) ssl-max-ver TLSv1.2 ciphers ECDHE-RSA-AES128-GCM-SHA256
backend be13
    server s 127.0.0.1:%[6]d ssl verify none sni str(alt.test) alpn http/1.1 ssl-min-ver TLSv1.3
backend clear
    server s 127.0.0.1:%[7]d
frontend tls
    bind 127.0.0.1:%[2]d ssl crt %[5]s/srv.pem crt %[5]s/ec.pem alpn h2,http/1.1
    http-request return status 200
frontend plain
    bind 127.0.0.1:%[3]d
    http-request return status 200
`, ports["fe"], ports["tls"], ports["plain"], rules.String(), dir, ref["tls"], ref["plain"])
	}
	names := []string{"fe", "tls", "plain"}
	hp, gp := startPair(t, dir, names, fill)
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, path := range []string{"/12", "/13", "/clear"} {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports["fe"]), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", path)
			b, _ := io.ReadAll(c)
			c.Close()
			head, _, _ := strings.Cut(string(b), "\r\n\r\n")
			h := http.Header{}
			for _, l := range strings.Split(head, "\r\n")[1:] {
				k, v, _ := strings.Cut(l, ": ")
				h.Add(k, v)
			}
			for i, f := range fetches {
				o[path+" "+f] = h.Get(fmt.Sprintf("x-f%d", i))
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "fetch/server", want, got, haproxytest.Equal, map[string]string{
		"/12 ssl_bc_protocol": "TLSv1.2",
		"/13 ssl_bc_protocol": "TLSv1.3",
		"/12 ssl_s_s_dn(CN)":  "srv.test",
		"/13 ssl_bc_alpn":     "http/1.1",
		"/clear ssl_bc":       "0",
		"/12 ssl_s_key_alg":   "rsaEncryption",
	})
}
