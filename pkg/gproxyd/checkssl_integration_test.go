package gproxyd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

// checkSSLCfg: `tcp-check connect ssl` and `http-check connect ssl` on
// servers without `ssl`: s1 is a TLS server whose certificate names
// foo.test (verified against the CA with the rule's sni), s2 the same
// server checked with a name its certificate does not carry, s3 a clear
// server (the handshake fails), s4 refuses, and s5 with an alpn list
// (haproxy's TLS layer then names the error) (each in its own backend, so that
// the counts of servers left do not depend on which goes down first); h1
// is an HTTP server over TLS. s4 and s5 stop checking once down
// (downinter 1h): haproxy 2.6 appends strerror(errno) to a failed check's
// reason with errno left by whatever ran before in its thread, and under
// load t2/s2's reason read "... expected one (Connection refused) ..."
// from s4's or s5's refused connect handled in the same poll loop.
// min(timeout connect, inter) bounds a check's connect and TLS handshake
// (haproxy's process_chk_conn): 1 s was overrun at load 20 (L6TOUT in one
// proxy and not the other), hence inter 3s and timeout connect 10s.
const checkSSLCfg = `global
  stats socket SOCK level admin
defaults
  mode tcp
  timeout connect 10s
  timeout client 5s
  timeout server 5s
  timeout check 10s
backend t
  option tcp-check
  option log-health-checks
  server s1 127.0.0.1:9021 check inter 3s rise 2 fall 2 ca-file DIR/ca.pem
  tcp-check connect ssl sni foo.test alpn http/1.1
  server s3 127.0.0.1:9023 check inter 3s rise 2 fall 2 verify none
backend t3
  option tcp-check
  option log-health-checks
  tcp-check connect ssl
  server s4 127.0.0.1:9024 check inter 3s downinter 1h rise 2 fall 2 verify none
backend t4
  option tcp-check
  option log-health-checks
  tcp-check connect ssl alpn http/1.1
  server s5 127.0.0.1:9025 check inter 3s downinter 1h rise 2 fall 2 verify none
backend t2
  option tcp-check
  tcp-check connect port 9021 ssl sni bar.test comment tls
  server s2 127.0.0.1:9021 check inter 3s rise 2 fall 2 ca-file DIR/ca.pem
backend h
  mode http
  option httpchk
  http-check connect ssl sni foo.test
  http-check send meth GET uri /health
  http-check expect status 200
  server h1 127.0.0.1:9022 check inter 3s rise 2 fall 2 ca-file DIR/ca.pem
`

// TestIntegrationCheckConnectSSL: the same servers checked by haproxy 2.6
// and gproxy give the same states, check columns (L6OK, L6RSP, L7OK,
// L4CON) and log lines.
func TestIntegrationCheckConnectSSL(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	tlstest.Write(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	tlstest.Write(t, filepath.Join(dir, "srv.pem"), ca.Issue(t, tlstest.RSA, "foo.test", "foo.test").Bundle())
	writeCfg(t, dir, strings.ReplaceAll(checkSSLCfg, "DIR", dir))
	if err := os.WriteFile(filepath.Join(dir, "r200"), []byte("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := dbLabFuncs + `
tls="cert=$DIR/srv.pem,verify=0,fork,reuseaddr"
socat OPENSSL-LISTEN:9021,$tls SYSTEM:"sleep 0.2" 2>/dev/null &
socat OPENSSL-LISTEN:9022,$tls SYSTEM:"head -c 10 >/dev/null; cat $DIR/r200" 2>/dev/null &
socat TCP-LISTEN:9023,fork,reuseaddr SYSTEM:"echo garbage-garbage-garbage; sleep 0.2" 2>/dev/null &
for p in 9021 9022 9023; do for i in $(seq 100); do ss -Hltn "( sport = :$p )" | grep -q . && break; sleep 0.02; done; done
proxies
settle t/s1:UP:L6OK t/s3:DOWN:L6RSP t3/s4:DOWN:L4CON t4/s5:DOWN:L4CON t2/s2:DOWN:L6RSP h/h1:UP:L7OK
# Each server once more with no check in flight in either proxy ("* L6RSP"
# hides the description): under load a 1 s check is often in flight.
# Servers one at a time: all twelve idle at once is rare.
for want in t/s1 t/s3 t3/s4 t4/s5 t2/s2 h/h1; do
  for try in $(seq 40); do
    hs=$(stats "$DIR/h.sock" | grep "^$want "); gs=$(stats "$DIR/g.sock" | grep "^$want ")
    case "$hs$gs" in *" * "*) sleep 0.05; continue ;; esac
    break
  done
  echo "h $hs"; echo "g $gs"
done
echo "== haproxy log"; grep -E 'Health check|Server |backend ' "$DIR/h.err"
echo "== gproxy log"; grep -E 'Health check|Server |backend ' "$DIR/g.err"
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Health check for server t/s1 succeeded, reason: Layer6 check passed, info: "(tcp-check)"`,
		`h t/s3 DOWN L6RSP`,
		`h t2/s2 DOWN L6RSP`,
		`h h/h1 UP L7OK 200`,
		`info: "SSL handshake failure at step 1 of tcp-check (connect)"`,
		`t3/s4 failed, reason: Layer4 connection problem, info: "Connection refused at step 1 of tcp-check (connect)"`,
		`t4/s5 failed, reason: Layer4 connection problem, info: "SSL handshake failure (Connection refused) at step 1 of tcp-check (connect)"`,
	},
		// The check that stops s2 can still meet s4's or s5's first
		// refusals (see checkSSLCfg): haproxy's reason then carries a
		// stale errno. Its description is compared in the rows above,
		// from a later check.
		"Server t2/s2 is DOWN, reason:")
}
