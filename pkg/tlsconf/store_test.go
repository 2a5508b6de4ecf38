package tlsconf

import (
	"crypto/tls"
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
