package runtimeapi_test

import (
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// ocspCLILab makes with openssl's own commands a CA, certificates for
// site.test, other.test and stray.test (in no configuration), a
// delegated ECDSA OCSP signer, and responses in the forms a user meets:
// signed by the CA with its certificate included, with a nonce, by key
// id without certificates, revoked with a reason, signed by the
// delegated signer; each file NAME.ocsp in dir.
func ocspCLILab(t *testing.T, dir string) {
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/C=FR/O=Test, Inc./CN=OCSP Test CA", "-days", "10")
	for _, n := range []string{"site", "other", "stray"} {
		run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", n+".key", "-out", n+".csr", "-subj", "/CN="+n+".test")
		run("x509", "-req", "-in", n+".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", n+".crt", "-days", "10")
	}
	write("signer.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,OCSPSigning\n"+
		"subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\nsubjectAltName=DNS:ocsp.test,IP:127.0.0.1\n"+
		"authorityInfoAccess=caIssuers;URI:http://ca.test/ca.pem\nnoCheck=ignored\n")
	run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "signer.key", "-out", "signer.csr", "-subj", "/CN=ocsp.test/O=Test")
	run("x509", "-req", "-in", "signer.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "signer.crt", "-days", "10", "-extfile", "signer.ext")
	serial := func(n string) string {
		out, err := exec.Command("openssl", "x509", "-in", filepath.Join(dir, n+".crt"), "-noout", "-serial").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(strings.TrimPrefix(string(out), "serial="))
	}
	exp := time.Now().Add(240 * time.Hour).UTC().Format("060102150405Z")
	rev := time.Now().Add(-time.Hour).UTC().Format("060102150405Z")
	for _, r := range []struct {
		name, cert, line string
		req, resp        []string
	}{
		{"good", "site", fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=site.test\n", exp, serial("site")), []string{"-no_nonce"}, nil},
		{"nonce", "site", fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=site.test\n", exp, serial("site")), nil, nil},
		{"keyid", "site", fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=site.test\n", exp, serial("site")), []string{"-no_nonce"}, []string{"-resp_key_id", "-resp_no_certs"}},
		{"revoked", "site", fmt.Sprintf("R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=site.test\n", exp, rev, serial("site")), []string{"-no_nonce"}, nil},
		{"other", "other", fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=other.test\n", exp, serial("other")), []string{"-no_nonce"}, nil},
		{"stray", "stray", fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=stray.test\n", exp, serial("stray")), []string{"-no_nonce"}, nil},
	} {
		write(r.name+".index", r.line)
		run(append([]string{"ocsp", "-issuer", "ca.pem", "-cert", r.cert + ".crt", "-reqout", r.name + ".req"}, r.req...)...)
		run(append([]string{"ocsp", "-index", r.name + ".index", "-rsigner", "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem", "-reqin", r.name + ".req",
			"-respout", r.name + ".ocsp", "-ndays", "5"}, r.resp...)...)
	}
	write("delegated.index", fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=site.test\n", exp, serial("site")))
	run("ocsp", "-index", "delegated.index", "-rsigner", "signer.crt", "-rkey", "signer.key", "-CA", "ca.pem", "-reqin", "good.req",
		"-respout", "delegated.ocsp", "-ndays", "5")
}

// TestIntegrationOCSPResponseHaproxy: `show ssl ocsp-response [ID]`,
// `show ssl cert [*]FILE.ocsp` and `set ssl ocsp-response` (argument and
// payload, valid and refused responses, a certificate transaction
// carrying a response) get the same answers byte for byte from haproxy
// 2.6's stats socket and gproxy's, with responses made by `openssl ocsp`
// in five forms; after each change a client is stapled the same response
// by both.
func TestIntegrationOCSPResponseHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command: %v", err)
	}
	dir := t.TempDir()
	ocspCLILab(t, dir)
	path := func(n string) string { return filepath.Join(dir, n) }
	read := func(n string) []byte {
		b, err := os.ReadFile(path(n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, n := range []string{"site", "other"} {
		// The bundle holds the CA, the issuer haproxy computes the ID with.
		bundle := append(append(read(n+".crt"), read(n+".key")...), read("ca.pem")...)
		if err := os.WriteFile(path(n+".pem"), bundle, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path("site.pem.ocsp"), read("good.ocsp"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path("other.pem.ocsp"), read("other.ocsp"), 0o600); err != nil {
		t.Fatal(err)
	}
	socks, ports := startCLIPair(t, dir, func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend f
    bind 127.0.0.1:%d ssl crt %s crt %s
    http-request return status 200
`, sock, port, path("site.pem"), path("other.pem"))
	})
	list := askSocket(t, socks["hp"], "show ssl ocsp-response")
	keys := regexp.MustCompile(`Certificate ID key : ([0-9a-f]+)`).FindAllStringSubmatch(list, -1)
	if len(keys) != 2 {
		t.Fatalf("haproxy lists %d OCSP responses, want 2:\n%s", len(keys), list)
	}
	// Which key is site.test's: the one its `show ssl cert` names.
	siteKey := ""
	for _, k := range keys {
		if strings.Contains(askSocket(t, socks["hp"], "show ssl cert "+path("site.pem")), k[1]) {
			siteKey = k[1]
		}
	}
	if siteKey == "" {
		t.Fatal("no OCSP key in haproxy's show ssl cert of site.pem")
	}
	b64 := func(n string) string { return base64.StdEncoding.EncodeToString(read(n + ".ocsp")) }
	wrapped := func(n string) string {
		s := b64(n)
		var b strings.Builder
		for len(s) > 64 {
			b.WriteString(s[:64] + "\n")
			s = s[64:]
		}
		return b.String() + s + "\n"
	}
	shows := []string{
		"show ssl ocsp-response",
		"show ssl ocsp-response " + siteKey,
		"show ssl cert " + path("site.pem"),
		"show ssl cert " + path("site.pem.ocsp"),
		"show ssl cert " + path("other.pem.ocsp"),
	}
	for _, k := range keys {
		shows = append(shows, "show ssl ocsp-response "+k[1])
	}
	var session []string
	session = append(session, shows...)
	session = append(session,
		"show ssl ocsp-response "+siteKey+"00",
		"show ssl ocsp-response "+siteKey[:len(siteKey)-2],
		"show ssl ocsp-response "+siteKey+"0",
		"show ssl ocsp-response xyz",
		"show ssl ocsp-response "+strings.Repeat("ab", 129),
		"set ssl ocsp-response",
		"set ssl ocsp-response AAA",
		"set ssl ocsp-response "+base64.StdEncoding.EncodeToString([]byte("not DER")),
		"set ssl ocsp-response "+b64("stray"),
	)
	for _, n := range []string{"revoked", "nonce", "keyid", "delegated"} {
		session = append(session, "set ssl ocsp-response "+b64(n))
		session = append(session, shows...)
	}
	session = append(session, "set ssl ocsp-response <<\n"+wrapped("good"))
	session = append(session, shows...)
	// A certificate transaction carrying a response: the transaction's
	// own until the commit, the tree's after.
	session = append(session,
		"set ssl cert "+path("site.pem.ocsp")+" <<\n"+wrapped("revoked"),
		"show ssl cert *"+path("site.pem.ocsp"),
		"show ssl cert *"+path("site.pem"),
		"show ssl ocsp-response "+siteKey,
		"commit ssl cert "+path("site.pem"),
	)
	session = append(session, shows...)
	staple := func(port int) string {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port),
			&tls.Config{ServerName: "site.test", InsecureSkipVerify: true})
		if err != nil {
			return "error: " + err.Error()
		}
		defer c.Close()
		return fmt.Sprintf("%X", sha1.Sum(c.ConnectionState().OCSPResponse))
	}
	for _, q := range session {
		want := askSocket(t, socks["hp"], q)
		got := askSocket(t, socks["gp"], q)
		if got != want {
			t.Errorf("%s:\ngproxy:\n%s\nhaproxy:\n%s", q, got, want)
		}
		if strings.HasPrefix(q, "set ") || strings.HasPrefix(q, "commit ") {
			if h, g := staple(ports["hp"]), staple(ports["gp"]); h != g {
				t.Errorf("after %.60s: stapled response SHA-1 %s from gproxy, %s from haproxy", q, g, h)
			}
		}
	}
	// Where the session ended (the committed transaction's revoked
	// response), so that a change making both print nothing would fail.
	for q, want := range map[string]string{
		"show ssl ocsp-response " + siteKey: "Revocation Reason: keyCompromise (0x1)",
		"show ssl cert " + path("site.pem"): "OCSP Response Key: " + siteKey,
	} {
		if got := askSocket(t, socks["gp"], q); !strings.Contains(got, want) {
			t.Errorf("%s: no %q in\n%s", q, want, got)
		}
	}
}
