package proxy

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// `ca-verify-file` on a bind: its CAs verify client certificates, but
// only ca-file's are named in the certificate request. Under haproxy 2.6
// and gproxy, each client certificate (from the named CA, the verify-only
// CA, a stranger) gets the same answer, and the client sees the same CA
// names.
func TestIntegrationTLSCAVerifyFileHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	w := func(name string, b []byte) { tlstest.Write(t, filepath.Join(dir, name), b) }
	named, hidden, other := tlstest.NewCA(t, "Named CA"), tlstest.NewCA(t, "Hidden CA"), tlstest.NewCA(t, "Other CA")
	w("named.pem", named.PEM)
	w("hidden.pem", hidden.PEM)
	w("srv.pem", named.Issue(t, tlstest.RSA, "srv", "srv.test").Bundle())
	clients := map[string]*tlstest.Leaf{
		"named":  named.Issue(t, tlstest.ECDSA, "a"),
		"hidden": hidden.Issue(t, tlstest.ECDSA, "b"),
		"other":  other.Issue(t, tlstest.ECDSA, "c"),
	}
	fill := func(ports map[string]int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend both
    bind 127.0.0.1:%d ssl crt %s/srv.pem ca-file %s/named.pem ca-verify-file %s/hidden.pem verify required
    http-request return status 200 content-type text/plain lf-string "dn=%%[ssl_c_s_dn(CN)] v=%%[ssl_c_verify]"
frontend only
    bind 127.0.0.1:%d ssl crt %s/srv.pem ca-verify-file %s/hidden.pem verify optional
    http-request return status 200 content-type text/plain lf-string "dn=%%[ssl_c_s_dn(CN)] v=%%[ssl_c_verify]"
`, ports["both"], dir, dir, dir, ports["only"], dir, dir)
	}
	names := []string{"both", "only"}
	hp, gp := startPair(t, dir, names, fill)
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, fe := range names {
			for name, l := range clients {
				for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
					crt, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
					if err != nil {
						t.Fatal(err)
					}
					var asked []string
					cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v,
						GetClientCertificate: func(r *tls.CertificateRequestInfo) (*tls.Certificate, error) {
							for _, dn := range r.AcceptableCAs {
								asked = append(asked, fmt.Sprintf("%x", dn))
							}
							return &crt, nil
						}}
					res := ""
					c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", ports[fe]), cfg)
					if err == nil {
						c.SetDeadline(time.Now().Add(5 * time.Second))
						fmt.Fprintf(c, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
						b, _ := io.ReadAll(c)
						c.Close()
						res = string(b)
						if i := strings.Index(res, "\r\n\r\n"); i >= 0 {
							res = strings.SplitN(res, "\r\n", 2)[0] + " " + res[i+4:]
						}
					}
					if res == "" {
						res = "refused"
					}
					sort.Strings(asked)
					o[fmt.Sprintf("%s / %s / %x", fe, name, v)] = res + " names=" + strings.Join(asked, ",")
				}
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "client/frontend/version", want, got, haproxytest.Prefix, map[string]string{
		"both / hidden / 304": "HTTP/1.1 200 OK dn=b v=0",
		"both / other / 304":  "refused",
		"only / named / 303":  "refused names=",
		"only / hidden / 303": "HTTP/1.1 200 OK dn=b v=0 names=",
	})
}
