package tlsconf

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

// The store order of OpenSSL: each addition sorts what was there by
// canonical name (shorter first, then bytes), drops an identical
// certificate, then appends; so the last one added stays last.
func TestCAContentsOrder(t *testing.T) {
	a := tlstest.NewCA(t, "aa")
	b := tlstest.NewCA(t, "b")
	c := tlstest.NewCA(t, "c c")
	parse := func(ca *tlstest.CA) *x509.Certificate { return ca.Cert }
	for _, tt := range []struct {
		in   []*tlstest.CA
		want []string
	}{
		{[]*tlstest.CA{c, a, b}, []string{"aa", "c c", "b"}},
		{[]*tlstest.CA{c, a, b, a}, []string{"b", "aa", "c c"}},
		{[]*tlstest.CA{b}, []string{"b"}},
		{[]*tlstest.CA{a, a}, []string{"aa"}},
	} {
		var certs []*x509.Certificate
		for _, ca := range tt.in {
			certs = append(certs, parse(ca))
		}
		got := NewCAContents(certs, nil)
		var names []string
		for _, x := range got.Certs {
			names = append(names, x.Subject.CommonName)
		}
		if len(names) != len(tt.want) {
			t.Fatalf("%v: got %v", tt.want, names)
		}
		for i := range names {
			if names[i] != tt.want[i] {
				t.Errorf("got %v, want %v", names, tt.want)
				break
			}
		}
	}
}

// OpenSSL's canonical names fold case and blanks, and encode every
// string as UTF8String.
func TestCanonName(t *testing.T) {
	enc := func(cn string, tag string) []byte {
		t.Helper()
		v, err := asn1.MarshalWithParams(cn, tag)
		if err != nil {
			t.Fatal(err)
		}
		name := pkix.RDNSequence{{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: asn1.RawValue{FullBytes: v}}}}
		der, err := asn1.Marshal(name)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	x, y := canonName(enc("  Hello   World ", "printable")), canonName(enc("hello world", "utf8"))
	if string(x) != string(y) {
		t.Errorf("canonical names differ: %x, %x", x, y)
	}
}

// FuzzParseCAPayload feeds arbitrary `set ssl ca-file`/`crl-file`
// payloads: no input may panic, and what is accepted keeps OpenSSL's
// order rules (no duplicate certificate).
func FuzzParseCAPayload(f *testing.F) {
	ca := tlstest.NewCA(f, "Fuzz CA")
	f.Add(ca.PEM)
	f.Add(append(append([]byte(nil), ca.PEM...), ca.CRL(f)...))
	f.Add([]byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCAPayload(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, x := range c.Certs {
			if seen[string(x.Raw)] {
				t.Fatalf("a certificate kept twice")
			}
			seen[string(x.Raw)] = true
		}
		for _, l := range c.CRLs {
			_ = canonName(l.RawIssuer)
		}
	})
}
