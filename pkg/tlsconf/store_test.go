package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

func TestClientOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hello tls.ClientHelloInfo
		want  Client
	}{
		{"no signature_algorithms (TLS 1.1 and older)", tls.ClientHelloInfo{CipherSuites: []uint16{0xc02b}}, Client{RSA: true}},
		{"both, with an ECDSA suite", tls.ClientHelloInfo{SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PKCS1WithSHA256}, CipherSuites: []uint16{0xc02f, 0xc02b}}, Client{ECDSA: true, RSA: true}},
		{"ECDSA signatures, no ECDSA suite (TLS 1.3 only)", tls.ClientHelloInfo{SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}, CipherSuites: []uint16{0x1301}}, Client{}},
		{"RSA-PSS only is not RSA", tls.ClientHelloInfo{SignatureSchemes: []tls.SignatureScheme{tls.PSSWithSHA256}, CipherSuites: []uint16{0x1301}}, Client{}},
	} {
		if got := ClientOf(&tc.hello); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestPickByKind(t *testing.T) {
	ca := tlstest.NewCA(t, "CA")
	load := func(kind, cn string, dns ...string) *Cert {
		l := ca.Issue(t, kind, cn, dns...)
		c, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return &Cert{Path: cn, TLS: c}
	}
	first := load(tlstest.RSA, "first", "first.test")
	rsa := load(tlstest.RSA, "rsa", "dual.test", "x.wild.test")
	ec := load(tlstest.ECDSA, "ec", "dual.test")
	wild := load(tlstest.ECDSA, "wild", "*.wild.test")
	s := NewStore([]*Cert{first, rsa, ec, wild}, false)
	for _, tc := range []struct {
		sni  string
		cl   Client
		want *Cert
	}{
		{"dual.test", Client{ECDSA: true, RSA: true}, ec},
		{"dual.test", Client{RSA: true}, rsa},
		{"dual.test", Client{}, ec},                           // neither: ECDSA before RSA
		{"x.wild.test", Client{ECDSA: true, RSA: true}, wild}, // a wildcard ECDSA over an exact RSA
		{"x.wild.test", Client{RSA: true}, rsa},
		{"nomatch.test", Client{ECDSA: true}, first},
		{"", Client{ECDSA: true}, first},
	} {
		got, err := s.Pick(tc.sni, tc.cl)
		if err != nil || got != tc.want {
			name := "none"
			if got != nil {
				name = got.Path
			}
			t.Errorf("Pick(%q, %+v) = %s, %v; want %s", tc.sni, tc.cl, name, err, tc.want.Path)
		}
	}
}

// TestDNMatchesOpenSSL: the two DN formats print a subject with an
// emailAddress, a multi-valued RDN, characters RFC 2253 escapes and UTF-8
// as OpenSSL prints them (haproxy's ssl_c_s_dn uses OpenSSL's printers).
func TestDNMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command (integration/install-deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	subj := "/C=FR/ST=Ile-de-France/O=a\\, b+OU=x;y/CN= lead#trail /emailAddress=support@ozon.io/CN=Zoë"
	key, crt := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", crt, "-days", "1", "-multivalue-rdn", "-utf8", "-subj", subj).CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v: %s", err, out)
	}
	print := func(opt string) string {
		out, err := exec.Command("openssl", "x509", "-in", crt, "-noout", "-subject", "-nameopt", opt).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl x509: %v: %s", err, out)
		}
		return strings.TrimSuffix(strings.TrimPrefix(string(out), "subject="), "\n")
	}
	pemBytes, err := os.ReadFile(crt)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemBytes)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(c.RawSubject, &seq); err != nil {
		t.Fatal(err)
	}
	if got, want := DN2253(seq), print("RFC2253"); got != want {
		t.Errorf("rfc2253:\n got %s\nwant %s", got, want)
	}
	// haproxy's own one-line form (ssl_sock_get_dn_oneline): "/" before
	// every entry in the certificate's order (DER sorts a multi-valued
	// RDN: OU before O here), the value's bytes as they are.
	if got, want := DN(seq), "/C=FR/ST=Ile-de-France/OU=x;y/O=a, b/CN= lead#trail /emailAddress=support@ozon.io/CN=Zoë"; got != want {
		t.Errorf("oneline:\n got %s\nwant %s", got, want)
	}
}
