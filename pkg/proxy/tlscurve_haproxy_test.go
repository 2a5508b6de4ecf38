package proxy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// A TLS 1.2 client certificate on ECDSA must be on a curve of the bind's
// groups (`curves`, `ecdhe`, else OpenSSL's defaults) and of the
// client's supported_groups, or OpenSSL refuses the handshake ("wrong
// curve"); TLS 1.3 does not check. The reg-test ssl/ssl_curves.vtc
// checks the first half through haproxy's own servers.
const tlsCurveConfig = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend curves
    bind 127.0.0.1:{curves} ssl crt {DIR}/srv.pem ca-file {DIR}/ca.pem verify optional curves P-384
    http-request return status 200 content-type text/plain lf-string "used=%[ssl_c_used]"
frontend ecdhe
    bind 127.0.0.1:{ecdhe} ssl crt {DIR}/srv.pem ca-file {DIR}/ca.pem verify optional ecdhe secp521r1
    http-request return status 200 content-type text/plain lf-string "used=%[ssl_c_used]"
frontend dflt
    bind 127.0.0.1:{dflt} ssl crt {DIR}/srv.pem ca-file {DIR}/ca.pem verify required
    http-request return status 200 content-type text/plain lf-string "used=%[ssl_c_used]"
frontend list
    bind 127.0.0.1:{list} ssl crt-list {DIR}/list.txt curves P-384:P-256
    http-request return status 200 content-type text/plain lf-string "used=%[ssl_c_used]"
`

func TestIntegrationTLSClientCertCurveHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command: %v", err)
	}
	dir := t.TempDir()
	w := func(name string, b []byte) { tlstest.Write(t, filepath.Join(dir, name), b) }
	ca := tlstest.NewCA(t, "Test CA")
	w("ca.pem", ca.PEM)
	w("srv.pem", ca.Issue(t, tlstest.RSA, "srv", "srv.test").Bundle())
	w("p256.pem", ca.Issue(t, tlstest.ECDSA, "p256").Bundle())
	w("p384.pem", ca.Issue(t, tlstest.ECDSAP384, "p384").Bundle())
	w("rsa.pem", ca.Issue(t, tlstest.RSA, "rsa").Bundle())
	// a crt-list line asking for client certificates: the bind's groups
	w("list.txt", []byte(filepath.Join(dir, "srv.pem")+" [verify optional ca-file "+filepath.Join(dir, "ca.pem")+"]\n"))
	fill := func(ports map[string]int) string {
		s := strings.ReplaceAll(tlsCurveConfig, "{DIR}", dir)
		for k, p := range ports {
			s = strings.ReplaceAll(s, "{"+k+"}", fmt.Sprint(p))
		}
		return s
	}
	names := []string{"curves", "ecdhe", "dflt", "list"}
	hp, gp := startPair(t, dir, names, fill)
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, fe := range names {
			for _, cert := range []string{"p256", "p384", "rsa"} {
				for _, groups := range []string{"", "P-256", "P-384:P-256", "X25519:P-521"} {
					for _, v := range []string{"-tls1_2", "-tls1_3"} {
						args := []string{"s_client", "-quiet", "-connect", fmt.Sprintf("127.0.0.1:%d", ports[fe]), v,
							"-cert", filepath.Join(dir, cert+".pem")}
						if groups != "" {
							args = append(args, "-groups", groups)
						}
						o[fmt.Sprintf("%s / %s / groups %q / %s", fe, cert, groups, v)] = sClientGet(args)
					}
				}
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "frontend/client certificate/groups/version", want, got, haproxytest.Equal, map[string]string{
		`curves / p256 / groups "" / -tls1_2`:             "refused",
		`curves / p384 / groups "" / -tls1_2`:             "used=1",
		`curves / p256 / groups "" / -tls1_3`:             "used=1",
		`ecdhe / p256 / groups "" / -tls1_2`:              "refused",
		`dflt / p384 / groups "P-256" / -tls1_2`:          "refused",
		`dflt / p384 / groups "P-384:P-256" / -tls1_2`:    "used=1",
		`dflt / p384 / groups "P-256" / -tls1_3`:          "used=1",
		`dflt / rsa / groups "P-256" / -tls1_2`:           "used=1",
		`list / p384 / groups "X25519:P-521" / -tls1_2`:   "refused",
		`list / p256 / groups "P-384:P-256" / -tls1_2`:    "used=1",
		`curves / p256 / groups "X25519:P-521" / -tls1_2`: "refused", // no shared group at all
		`curves / rsa / groups "P-384:P-256" / -tls1_2`:   "used=1",
		`ecdhe / p256 / groups "X25519:P-521" / -tls1_3`:  "used=1",
	})
}

// sClientGet runs openssl s_client with args, sends a GET and returns
// the response body's first line, or "refused" when no answer came.
func sClientGet(args []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", args...)
	// No EOF on stdin until the answer is read: s_client -quiet would
	// close the connection first.
	cmd.Stdin = strings.NewReader("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	cmd.Args = append(cmd.Args, "-ign_eof")
	out, _ := cmd.Output()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "used=") {
			return strings.TrimSpace(l)
		}
	}
	return "refused"
}
