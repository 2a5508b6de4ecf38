package tlsconf

import (
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCRLFromOpenSSLCA: a version 1 list signed with SHA-1, as `openssl ca
// -gencrl` writes it without a crlnumber file (crypto/x509 refuses both),
// loads, verifies against its CA and lists what the CA database revoked.
func TestCRLFromOpenSSLCA(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command (integration/install-deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v: %s", args, err, out)
		}
	}
	for _, md := range []string{"sha1", "sha256"} {
		for _, kind := range []string{"rsa:2048", "ec"} {
			args := []string{"req", "-x509", "-newkey", kind, "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2", "-subj", "/C=FR/O=Test/CN=Test CA"}
			if kind == "ec" {
				args = append(args, "-pkeyopt", "ec_paramgen_curve:P-256")
			}
			run(args...)
			os.WriteFile(p("index.txt"), []byte("R\t300101000000Z\t200428190151Z\t03\tunknown\t/CN=revoked\nV\t300101000000Z\t\t04\tunknown\t/CN=valid\n"), 0o644)
			os.WriteFile(p("ca.cnf"), []byte("[ca]\ndefault_ca = d\n[d]\ndatabase = "+p("index.txt")+"\ndefault_md = "+md+"\ndefault_crl_days = 30\n"), 0o644)
			run("ca", "-batch", "-gencrl", "-config", p("ca.cnf"), "-keyfile", p("ca.key"), "-cert", p("ca.pem"), "-out", p("crl.pem"))

			crls, err := LoadCRL(OS{}, p("crl.pem"))
			if err != nil || len(crls) != 1 {
				t.Fatalf("%s %s: %v (%d lists)", md, kind, err, len(crls))
			}
			b, _ := os.ReadFile(p("ca.pem"))
			blk, _ := pem.Decode(b)
			ca, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			l := crls[0]
			if err := l.CheckSignatureFrom(ca); err != nil {
				t.Errorf("%s %s: signature: %v", md, kind, err)
			}
			if !l.Lists(big.NewInt(3)) || l.Lists(big.NewInt(4)) {
				t.Errorf("%s %s: revoked %v, want [3]", md, kind, l.Revoked)
			}
			l.tbs = append([]byte(nil), l.tbs...)
			l.tbs[len(l.tbs)-1] ^= 1
			if l.CheckSignatureFrom(ca) == nil {
				t.Errorf("%s %s: a modified list verifies", md, kind)
			}
		}
	}
}

func FuzzParseCRL(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseCRL(b)
		if err == nil && l == nil {
			t.Fatal("nil list without error")
		}
	})
}
