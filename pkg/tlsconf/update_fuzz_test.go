package tlsconf

import (
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

// FuzzParts feeds arbitrary `set ssl cert` payloads (PEM, key, base64
// OCSP, issuer) to the certificate parts: no input may panic, a payload refused
// leaves the parts as they were, and building a certificate either fails
// or gives one whose key is the certificate's.
func FuzzParts(f *testing.F) {
	ca := tlstest.NewCA(f, "Fuzz CA")
	l := ca.Issue(f, tlstest.ECDSA, "fuzz.test", "fuzz.test")
	f.Add(l.Bundle(), 0)
	f.Add(l.KeyPEM, 1)
	f.Add([]byte("MIIB\nAAAA\n"), 2)
	f.Add(ca.PEM, 3)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0)
	f.Fuzz(func(t *testing.T, data []byte, kind int) {
		var p Parts
		if err := p.SetPEM(l.Bundle()); err != nil {
			t.Fatal(err)
		}
		before := p
		var err error
		switch kind % 4 {
		case 0:
			err = p.SetPEM(data)
		case 1:
			err = p.SetKey(data)
		case 2:
			err = p.SetOCSP(data)
		default:
			err = p.SetIssuer(data)
		}
		if err != nil && (len(p.Chain) != len(before.Chain) || p.Key != before.Key || string(p.OCSP) != string(before.OCSP) || string(p.Issuer) != string(before.Issuer)) {
			t.Fatalf("a refused payload changed the parts")
		}
		if c, err := p.Cert("/x.pem"); err == nil && !keyMatches(c.TLS.Leaf.PublicKey, c.TLS.PrivateKey) {
			t.Fatalf("a certificate built with a key that is not its own")
		}
	})
}
