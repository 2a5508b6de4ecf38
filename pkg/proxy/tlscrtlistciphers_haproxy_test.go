package proxy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// A crt-list line's `ciphers` apply to the handshakes that pick it, by
// name or as the default (the first line), under haproxy 2.6; its
// `curves` and `ecdhe` are accepted but the handshake keeps the bind's
// groups; `no-ca-names` sends a certificate request without CA names.
// Probed with openssl s_client, one cipher or suite offered at a time
// (the servers' own preferences differ: see README).
func TestIntegrationTLSCrtListCiphersHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command: %v", err)
	}
	dir := t.TempDir()
	w := func(name string, b []byte) { tlstest.Write(t, filepath.Join(dir, name), b) }
	ca := tlstest.NewCA(t, "List CA")
	w("ca.pem", ca.PEM)
	w("srv.pem", ca.Issue(t, tlstest.RSA, "srv", "a.test", "b.test", "c.test", "d.test").Bundle())
	srv := filepath.Join(dir, "srv.pem")
	w("list.txt", []byte(srv+" [ciphers ECDHE-RSA-AES256-GCM-SHA384 curves P-384] a.test\n"+
		srv+" [ecdhe secp521r1] b.test\n"+
		srv+" [verify optional ca-file "+filepath.Join(dir, "ca.pem")+" no-ca-names] c.test\n"+
		srv+" [verify optional ca-file "+filepath.Join(dir, "ca.pem")+"] d.test\n"))
	fill := func(ports map[string]int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d ssl crt-list %s
    http-request return status 200
frontend nonames
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional no-ca-names
    http-request return status 200
`, ports["fe"], filepath.Join(dir, "list.txt"), ports["nonames"], srv, filepath.Join(dir, "ca.pem"))
	}
	hp, gp := startPair(t, dir, []string{"fe", "nonames"}, fill)
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		// no-ca-names on the bind line
		o["bind no-ca-names"] = sClientSummary(fmt.Sprintf("127.0.0.1:%d", ports["nonames"]), "x.test", "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384")
		port := ports["fe"]
		for _, sni := range []string{"a.test", "b.test", "c.test", "d.test", "z.test"} {
			for name, args := range map[string][]string{
				"TLSv1.2 AES128":        {"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"},
				"TLSv1.2 AES256":        {"-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"},
				"TLSv1.2 AES256 X25519": {"-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384", "-groups", "X25519"},
				"TLSv1.3 X25519":        {"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", "-groups", "X25519"},
				"TLSv1.3 P-521":         {"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", "-groups", "P-521"},
			} {
				o[sni+" "+name] = sClientSummary(fmt.Sprintf("127.0.0.1:%d", port), sni, args...)
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "SNI/probe", want, got, haproxytest.Equal, map[string]string{
		"a.test TLSv1.2 AES128":        "refused",
		"z.test TLSv1.2 AES128":        "refused",
		"b.test TLSv1.2 AES128":        "ECDHE-RSA-AES128-GCM-SHA256 X25519",
		"a.test TLSv1.2 AES256 X25519": "ECDHE-RSA-AES256-GCM-SHA384 X25519",
		"b.test TLSv1.3 X25519":        "TLS_AES_256_GCM_SHA384 X25519",
		"c.test TLSv1.3 X25519":        "TLS_AES_256_GCM_SHA384 X25519 no CA names",
		"d.test TLSv1.3 X25519":        "TLS_AES_256_GCM_SHA384 X25519 CA names",
		"bind no-ca-names":             "TLS_AES_256_GCM_SHA384 X25519 no CA names",
	})
}

var (
	sClientCipher  = regexp.MustCompile(`(?m)^New, \S+, Cipher is (\S+)`)
	sClientTempKey = regexp.MustCompile(`Server Temp Key: ([^,\n]+)`)
)

// sClientSummary is "CIPHER GROUP" of an openssl s_client handshake,
// then "CA names" or "no CA names" when the server asked for a client
// certificate; or "refused".
func sClientSummary(addr, sni string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", addr, "-servername", sni}, args...)...)
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	s := string(out)
	m := sClientCipher.FindStringSubmatch(s)
	if m == nil || m[1] == "(NONE)" {
		return "refused"
	}
	res := m[1]
	if k := sClientTempKey.FindStringSubmatch(s); k != nil {
		res += " " + k[1]
	}
	// A certificate request shows as the signature algorithms it asks
	// for; its CA names, or none.
	if strings.Contains(s, "Requested Signature Algorithms") {
		if strings.Contains(s, "Acceptable client certificate CA names") {
			res += " CA names"
		} else {
			res += " no CA names"
		}
	}
	return res
}
