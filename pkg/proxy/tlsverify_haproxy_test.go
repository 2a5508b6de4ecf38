package proxy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// Client certificates with verification errors, as mTLS portals use
// `verify optional crt-ignore-err ...` to answer a page per error: whether
// the handshake goes through and what ssl_c_verify, ssl_c_err,
// ssl_c_ca_err and ssl_c_ca_err_depth say, under haproxy 2.6 and gproxy.
const tlsVerifyConfig = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend all
    bind 127.0.0.1:{all} ssl crt {DIR}/srv.pem ca-file {DIR}/ca.pem verify optional crt-ignore-err all ca-ignore-err all crl-file {DIR}/crl.pem
    http-request return status 200 content-type text/plain lf-string "v=%[ssl_c_verify] e=%[ssl_c_err] ca=%[ssl_c_ca_err]/%[ssl_c_ca_err_depth] used=%[ssl_c_used]"
frontend some
    bind 127.0.0.1:{some} ssl crt {DIR}/srv.pem ca-file {DIR}/ca.pem verify required crt-ignore-err 10,23 crl-file {DIR}/crl.pem
    http-request return status 200 content-type text/plain lf-string "v=%[ssl_c_verify] e=%[ssl_c_err]"
frontend none
    bind 127.0.0.1:{none} ssl crt {DIR}/srv.pem ca-file {DIR}/ca.pem verify optional
    http-request return status 200 content-type text/plain lf-string "v=%[ssl_c_verify]"
`

func TestIntegrationTLSVerifyErrorsHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("needs curl: %v", err)
	}
	dir := t.TempDir()
	w := func(name string, b []byte) { tlstest.Write(t, filepath.Join(dir, name), b) }
	ca, other := tlstest.NewCA(t, "Test CA"), tlstest.NewCA(t, "Other CA")
	w("ca.pem", ca.PEM)
	w("srv.pem", ca.Issue(t, tlstest.RSA, "srv", "srv.test").Bundle())
	old := time.Now().Add(-72 * time.Hour)
	revoked := ca.Issue(t, tlstest.ECDSA, "revoked")
	expiredRevoked := ca.IssueFor(t, tlstest.ECDSA, "expired-revoked", old, old.Add(time.Hour))
	w("crl.pem", ca.CRL(t, revoked, expiredRevoked))
	clients := map[string]*tlstest.Leaf{
		"valid":           ca.Issue(t, tlstest.ECDSA, "valid"),
		"expired":         ca.IssueFor(t, tlstest.ECDSA, "expired", old, old.Add(time.Hour)),
		"not yet valid":   ca.IssueFor(t, tlstest.ECDSA, "future", time.Now().Add(48*time.Hour), time.Now().Add(96*time.Hour)),
		"revoked":         revoked,
		"expired revoked": expiredRevoked,
		"other CA":        other.Issue(t, tlstest.ECDSA, "stranger"),
	}
	for name, l := range clients {
		w(strings.ReplaceAll(name, " ", "_")+".pem", l.Bundle())
	}
	fill := func(ports map[string]int) string {
		s := strings.ReplaceAll(tlsVerifyConfig, "{DIR}", dir)
		for k, p := range ports {
			s = strings.ReplaceAll(s, "{"+k+"}", fmt.Sprint(p))
		}
		return s
	}
	names := []string{"all", "some", "none"}
	hp, gp := startPair(t, dir, names, fill)
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, fe := range names {
			for name := range clients {
				for _, v := range []string{"--tlsv1.2 --tls-max 1.2", "--tlsv1.3"} {
					ctx, cancel := context.WithTimeout(context.Background(), deadline)
					args := append(strings.Fields(v), "-sk", "--cert", filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".pem"),
						fmt.Sprintf("https://127.0.0.1:%d/", ports[fe]))
					out, err := exec.CommandContext(ctx, "curl", args...).Output()
					cancel()
					res := string(out)
					if err != nil {
						res = "refused"
					}
					o[fe+" / "+name+" / "+v] = res
				}
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "client/frontend/version", want, got, haproxytest.Equal, map[string]string{
		"all / expired / --tlsv1.3":                "v=10 e=10 ca=0/0 used=1",
		"all / expired revoked / --tlsv1.3":        "v=10 e=23 ca=0/0 used=1",
		"some / revoked / --tlsv1.2 --tls-max 1.2": "v=23 e=23",
		"none / expired / --tlsv1.3":               "refused",
	})
}
