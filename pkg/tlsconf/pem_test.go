package tlsconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

func TestLoadPEMForms(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	rsaLeaf := ca.Issue(t, tlstest.RSA, "rsa.test", "rsa.test")
	ecLeaf := ca.Issue(t, tlstest.ECDSA, "ec.test")
	other := ca.Issue(t, tlstest.ECDSA, "other.test")
	dir := t.TempDir()
	cases := []struct {
		name, file string
		data, side []byte
		wantErr    string
		wantCN     string
		chain      int
	}{
		{name: "cert then key", data: rsaLeaf.Bundle(), wantCN: "rsa.test", chain: 1},
		{name: "key then cert then chain", data: cat(ecLeaf.KeyPEM, ecLeaf.CertPEM, ca.PEM), wantCN: "ec.test", chain: 2},
		{name: "key in side file", data: ecLeaf.CertPEM, side: ecLeaf.KeyPEM, wantCN: "ec.test", chain: 1},
		{name: "no key", data: ecLeaf.CertPEM, wantErr: "No Private Key found in"},
		{name: "wrong key", data: cat(ecLeaf.CertPEM, other.KeyPEM), wantErr: "inconsistencies"},
		{name: "wrong side key", data: ecLeaf.CertPEM, side: other.KeyPEM, wantErr: "inconsistencies"},
		{name: "no cert", data: ecLeaf.KeyPEM, wantErr: "no certificate"},
		{name: "garbage", data: []byte("hello\n"), wantErr: "no certificate"},
		{name: "two keys", data: cat(ecLeaf.CertPEM, ecLeaf.KeyPEM, ecLeaf.KeyPEM), wantErr: "more than one"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".pem")
			tlstest.Write(t, p, c.data)
			if c.side != nil {
				tlstest.Write(t, p+".key", c.side)
			}
			got, err := LoadFile(OS{}, p)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), p) {
					t.Fatalf("case %d: want an error naming %s and %q, got %v", i, p, c.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.TLS.Leaf.Subject.CommonName != c.wantCN || len(got.TLS.Certificate) != c.chain {
				t.Errorf("got CN %q with %d certificates", got.TLS.Leaf.Subject.CommonName, len(got.TLS.Certificate))
			}
		})
	}
}

func cat(b ...[]byte) []byte {
	var out []byte
	for _, x := range b {
		out = append(out, x...)
	}
	return out
}

// TestDirectoryAndSNI loads a directory as haproxy does (name order,
// side files and dot files skipped) and picks certificates by SNI:
// exact SAN, CN without SAN, one-label wildcard, default = first loaded,
// none under strict-sni.
func TestDirectoryAndSNI(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	dir := t.TempDir()
	a := ca.Issue(t, tlstest.RSA, "a.test", "a.test", "www.a.test")
	b := ca.Issue(t, tlstest.ECDSA, "b.test") // CN only
	w := ca.Issue(t, tlstest.ECDSA, "wild", "*.w.test")
	tlstest.Write(t, filepath.Join(dir, "10-a.pem"), a.Bundle())
	tlstest.Write(t, filepath.Join(dir, "20-b.pem"), b.CertPEM)
	tlstest.Write(t, filepath.Join(dir, "20-b.pem.key"), b.KeyPEM)
	tlstest.Write(t, filepath.Join(dir, "30-w.pem"), w.Bundle())
	tlstest.Write(t, filepath.Join(dir, "30-w.pem.ocsp"), []byte{0x30, 0x03, 0x0a, 0x01, 0x00})
	tlstest.Write(t, filepath.Join(dir, ".hidden.pem"), []byte("not a cert"))
	tlstest.Write(t, filepath.Join(dir, "x.issuer"), []byte("not a cert"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	certs, err := LoadPath(OS{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 3 {
		t.Fatalf("loaded %d certificates, want 3", len(certs))
	}
	// No issuer in the bundle and no .issuer file: haproxy's alert, and
	// nothing stapled.
	if certs[2].OCSPErr == nil || len(certs[2].TLS.OCSPStaple) != 0 {
		t.Errorf("a .ocsp side file without an issuer: error %v, staple %x", certs[2].OCSPErr, certs[2].TLS.OCSPStaple)
	}
	s := NewStore(certs, false)
	for name, want := range map[string]string{
		"a.test": "a.test", "WWW.A.TEST": "a.test", "b.test": "b.test", "x.w.test": "wild",
		"y.x.w.test": "a.test", "w.test": "a.test", "": "a.test", "unknown.test": "a.test",
	} {
		c, err := s.Pick(name, Client{RSA: true, ECDSA: true})
		if err != nil || c.TLS.Leaf.Subject.CommonName != want {
			t.Errorf("SNI %q: got %v %v, want %s", name, c, err, want)
		}
	}
	strict := NewStore(certs, true)
	if _, err := strict.Pick("unknown.test", Client{RSA: true}); err == nil {
		t.Error("strict-sni: an unknown name must fail")
	}
	if _, err := LoadPath(OS{}, filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing file must fail")
	}
}

func FuzzParsePEM(f *testing.F) {
	ca := tlstest.NewCA(f, "Fuzz CA")
	l := ca.Issue(f, tlstest.ECDSA, "f.test")
	f.Add(l.Bundle(), []byte(nil))
	f.Add(l.CertPEM, l.KeyPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, bundle, key []byte) {
		c, err := ParsePEM(bundle, key)
		if err == nil && (c.Leaf == nil || c.PrivateKey == nil) {
			t.Fatal("loaded without leaf or key")
		}
	})
}

func TestParseCrtList(t *testing.T) {
	ls, err := ParseCrtList([]byte("# comment\n\na.pem\nb.pem  x.test *.w.test\nc.pem [verify required ca-file ca.pem alpn h2,http/1.1 ssl-min-ver TLSv1.3]  y.test\nd.pem[alpn h2]z.test\n"))
	if err != nil || len(ls) != 4 {
		t.Fatalf("got %+v %v", ls, err)
	}
	if ls[0].Path != "a.pem" || len(ls[0].Filters) != 0 || ls[0].Opts != nil ||
		ls[1].Path != "b.pem" || strings.Join(ls[1].Filters, ",") != "x.test,*.w.test" || ls[1].Line != 4 {
		t.Errorf("got %+v %+v", ls[0], ls[1])
	}
	if got, want := ls[2].Opts.String(), " [alpn h2,http/1.1\x00 verify required ca-file ca.pem ssl-min-ver TLSv1.3]"; got != want || strings.Join(ls[2].Filters, ",") != "y.test" {
		t.Errorf("options %q filters %v, want %q", got, ls[2].Filters, want)
	}
	if ls[3].Path != "d.pem" || ls[3].Opts.String() != " [alpn h2\x00]" || strings.Join(ls[3].Filters, ",") != "z.test" {
		t.Errorf("got %+v", ls[3])
	}
	for bad, msg := range map[string]string{
		"a.pem !*.x.test\n":               "negative SNI filter",
		"a.pem x*.test\n":                 "SNI filter",
		"[alpn h2] a.pem\n":               "file must start with a cert",
		"a.pem [alpn h2\n":                "without ']'",
		"a.pem alpn h2]\n":                "missing '['",
		"a.pem [alpn]\n":                  "ssl args out of '[]' for alpn",
		"a.pem [foo]\n":                   "unknown ssl keyword foo",
		"a.pem [allow-0rtt]\n":            "'allow-0rtt' is not implemented",
		"a.pem [npn h2]\n":                "'npn' is not implemented",
		"a.pem [curves X9]\n":             "'curves'",
		"a.pem [ciphers FOO]\n":           "'ciphers'",
		"a.pem [verify maybe]\n":          "unknown verify method",
		"a.pem [ssl-min-ver TLSv9]\n":     "invalid value",
		"a.pem x.test [alpn h2] y.test\n": "between the certificate and '['",
	} {
		if _, err := ParseCrtList([]byte("ok.pem\n" + bad)); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: want an error at line 2 with %q, got %v", bad, msg, err)
		}
	}
}

// FuzzParseCrtList: a crt-list file (or a line given on the stats
// socket) never panics, and every line read back has a path and options
// that print.
func FuzzParseCrtList(f *testing.F) {
	for _, s := range []string{"a.pem\n", "a.pem [verify required ca-file ca.pem alpn h2] x.test !y.test\n", "a.pem [", "a.pem ]", "[ a ]", "a.pem [ssl-min-ver TLSv1.3]*.x.test\n  \n#c\n", "a [alpn] b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseCrtList([]byte(s))
		if err == nil {
			for _, l := range ls {
				if l.Line != 0 && l.Path == "" {
					t.Fatalf("line %d without a path: %+v", l.Line, l)
				}
				_ = l.Opts.String()
			}
		}
		if l, err := ParseCrtListLine(s); err == nil {
			_ = l.Opts.String()
		}
	})
}
