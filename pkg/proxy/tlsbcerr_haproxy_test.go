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

// bc_err, bc_err_str, ssl_bc_err and ssl_bc_err_str (the server
// connection's errors) in http-response and http-after-response rules,
// under haproxy 2.6 and gproxy: the same headers for TLS 1.2 and 1.3
// servers (HTTP/1.1 and HTTP/2), a clear-text one, a TLS handshake with
// a clear-text server (wrong version number), a server certificate
// refused by `verify required` (certificate verify failed), one whose
// name is not the SNI's or verifyhost's (the two mismatch codes), and a
// refused connect (no connection: no sample).
func TestIntegrationTLSServerErrFetchesHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Err CA")
	tlstest.Write(t, filepath.Join(dir, "srv.pem"), ca.Issue(t, tlstest.RSA, "srv.test", "srv.test").Bundle())
	tlstest.Write(t, filepath.Join(dir, "other.pem"), tlstest.NewCA(t, "Other CA").PEM)
	tlstest.Write(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	fetches := []string{"bc_err", "bc_err_str", "ssl_bc_err", "ssl_bc_err_str", "ssl_bc_err,hex"}
	var rules strings.Builder
	for i, f := range fetches {
		fmt.Fprintf(&rules, "    http-response set-header x-r%d \"%%[%s]\"\n", i, f)
		fmt.Fprintf(&rules, "    http-after-response set-header x-a%d \"%%[%s]\"\n", i, f)
	}
	dead := deadPort(t)
	var ref map[string]int
	fill := func(ports map[string]int) string {
		if ref == nil {
			ref = ports
		}
		return fmt.Sprintf(`defaults
    mode http
    retries 0
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    use_backend be13 if { path_beg /13 }
    use_backend h2 if { path_beg /h2 }
    use_backend clear if { path_beg /clear }
    use_backend notls if { path_beg /notls }
    use_backend vfail if { path_beg /vfail }
    use_backend sni if { path_beg /sni }
    use_backend vhost if { path_beg /vhost }
    use_backend vok if { path_beg /vok }
    use_backend crq if { path_beg /crq }
    use_backend dead if { path_beg /dead }
    default_backend be12
%[4]s
backend be12
    server s 127.0.0.1:%[6]d ssl verify none ssl-max-ver TLSv1.2
backend be13
    server s 127.0.0.1:%[6]d ssl verify none ssl-min-ver TLSv1.3
backend h2
    server s 127.0.0.1:%[6]d ssl verify none alpn h2
backend clear
    server s 127.0.0.1:%[7]d
backend notls
    server s 127.0.0.1:%[7]d ssl verify none
backend vfail
    server s 127.0.0.1:%[6]d ssl verify required ca-file %[5]s/other.pem
backend sni
    server s 127.0.0.1:%[6]d ssl verify required ca-file %[5]s/ca.pem sni str(wrong.test)
backend vhost
    server s 127.0.0.1:%[6]d ssl verify required ca-file %[5]s/ca.pem verifyhost wrong.test
backend vok
    server s 127.0.0.1:%[6]d ssl verify required ca-file %[5]s/ca.pem sni str(srv.test)
backend crq
    server s 127.0.0.1:%[9]d ssl verify none ssl-min-ver TLSv1.3
backend dead
    server s 127.0.0.1:%[8]d
frontend tls
    bind 127.0.0.1:%[2]d ssl crt %[5]s/srv.pem alpn h2,http/1.1
    http-request return status 200
frontend tlscrq
    bind 127.0.0.1:%[9]d ssl crt %[5]s/srv.pem verify required ca-file %[5]s/other.pem
    http-request return status 200
frontend plain
    bind 127.0.0.1:%[3]d
    http-request return status 200
`, ports["fe"], ports["tls"], ports["plain"], rules.String(), dir, ref["tls"], ref["plain"], dead, ref["crq"])
	}
	hp, gp := startPair(t, dir, []string{"fe", "tls", "plain", "crq"}, fill)
	paths := []string{"/12", "/13", "/h2", "/clear", "/notls", "/vfail", "/sni", "/vhost", "/vok", "/crq", "/dead"}
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, path := range paths {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports["fe"]), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", path)
			b, _ := io.ReadAll(c)
			c.Close()
			head, _, _ := strings.Cut(string(b), "\r\n\r\n")
			lines := strings.Split(head, "\r\n")
			o[path+" status"] = lines[0]
			h := http.Header{}
			for _, l := range lines[1:] {
				k, v, _ := strings.Cut(l, ": ")
				h.Add(k, v)
			}
			for i, f := range fetches {
				o[path+" response "+f] = strings.Join(h.Values(fmt.Sprintf("x-r%d", i)), "|")
				o[path+" after "+f] = strings.Join(h.Values(fmt.Sprintf("x-a%d", i)), "|")
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	// A TLS 1.3 server refusing the client certificate alerts after
	// crypto/tls's handshake, within haproxy's: haproxy gives 43 "SSL
	// fatal error" and the alert's code (seen with its 503);
	// gproxy, which cannot tell them, must give no sample.
	for _, f := range fetches {
		for _, where := range []string{" response ", " after "} {
			k := "/crq" + where + f
			if got[k] != "" {
				t.Errorf("%s: gproxy %q, want none", k, got[k])
			}
			delete(want, k)
			delete(got, k)
		}
	}
	// (haproxy's status depends on whether the request went before
	// the alert came: 503 or 502.)
	delete(want, "/crq status")
	delete(got, "/crq status")
	haproxytest.CompareObservations(t, "fetch/bcerr", want, got, haproxytest.Equal, map[string]string{
		"/12 response bc_err":         "0",
		"/h2 response ssl_bc_err":     "0",
		"/13 after bc_err_str":        "Success",
		"/12 after ssl_bc_err":        "0",
		"/clear after ssl_bc_err":     "",
		"/clear after bc_err":         "0",
		"/notls after bc_err":         "34",
		"/notls after ssl_bc_err_str": "error:0A00010B:SSL routines::wrong version number",
		"/vfail after ssl_bc_err_str": "error:0A000086:SSL routines::certificate verify failed",
		"/vfail after bc_err_str":     "SSL handshake failure",
		"/sni after bc_err":           "33",
		"/vhost after bc_err_str":     "Server presented an SSL certificate different from the configured one",
		"/vok after bc_err":           "0",
		"/dead after bc_err":          "",
		"/dead status":                "HTTP/1.1 503 Service Unavailable",
	})
}
