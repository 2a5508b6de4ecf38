package tlsconf

import (
	"crypto/tls"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// ServerOrder13 leaves in the hello the one TLS 1.3 suite OpenSSL's
// server order picks (haproxy 2.6.12's choices, measured with openssl
// s_client: pkg/proxy's TestIntegrationTLSServerOrder13Haproxy).
func TestServerOrder13(t *testing.T) {
	const (
		a128   = tls.TLS_AES_128_GCM_SHA256
		a256   = tls.TLS_AES_256_GCM_SHA384
		cha    = tls.TLS_CHACHA20_POLY1305_SHA256
		grease = 0x0a0a
	)
	mozilla := SuiteOrder13("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
	if !slices.Equal(mozilla, []uint16{a128, a256, cha}) {
		t.Fatalf("SuiteOrder13: %x", mozilla)
	}
	for _, c := range []struct {
		name    string
		order   []uint16
		max     uint16
		vers    []uint16
		offered []uint16
		want    uint16 // 0: the hello is left as it was
	}{
		{"openssl's default offer, default order", nil, 0, []uint16{0x304, 0x303}, []uint16{a256, cha, a128, 0xc02c}, a256},
		{"Go's offer, default order", nil, 0, []uint16{0x304}, []uint16{a128, a256, cha}, a256},
		{"GREASE first, then ChaCha20", nil, 0, []uint16{0x304}, []uint16{grease, cha, a128}, cha},
		{"ChaCha20 first, Mozilla's order", mozilla, 0, []uint16{0x304}, []uint16{cha, a128, a256}, cha},
		{"AES-256 first, Mozilla's order", mozilla, 0, []uint16{0x304}, []uint16{a256, a128}, a128},
		{"no TLS 1.3 on the bind", nil, tls.VersionTLS12, []uint16{0x304, 0x303}, []uint16{a128, a256}, 0},
		{"a TLS 1.2 client", nil, 0, []uint16{0x303}, []uint16{a128, a256, 0xc02c}, 0},
	} {
		h := &tls.ClientHelloInfo{CipherSuites: slices.Clone(c.offered), SupportedVersions: c.vers}
		ServerOrder13(h, &tls.Config{MaxVersion: c.max}, c.order)
		for i, id := range h.CipherSuites {
			was := c.offered[i]
			switch {
			case c.want == 0 && id != was:
				t.Errorf("%s: suite %d changed from %x to %x", c.name, i, was, id)
			case c.want != 0 && slices.Contains(tls13Offered, was) && id != c.want:
				t.Errorf("%s: TLS 1.3 suite %d is %x, want %x", c.name, i, id, c.want)
			case c.want != 0 && !slices.Contains(tls13Offered, was) && id != was:
				t.Errorf("%s: suite %d (not TLS 1.3) changed from %x to %x", c.name, i, was, id)
			}
		}
	}
}

// clientHelloBytes is the first record crypto/tls's client writes with
// cfg.
func clientHelloBytes(t testing.TB, cfg *tls.Config) []byte {
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tc := tls.Client(c, cfg)
		tc.Handshake()
		c.Close()
	}()
	s.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(s, buf); err != nil {
		t.Fatal(err)
	}
	rest := make([]byte, int(buf[3])<<8|int(buf[4]))
	if _, err := io.ReadFull(s, rest); err != nil {
		t.Fatal(err)
	}
	return append(buf, rest...)
}

// KeyShares reads the groups of a real ClientHello's key_share, and
// says when the bytes hold no whole hello.
func TestKeyShares(t *testing.T) {
	raw := clientHelloBytes(t, &tls.Config{ServerName: "x.test", CurvePreferences: []tls.CurveID{tls.CurveP384}})
	got, ok := KeyShares(raw)
	if !ok || !slices.Equal(got, []uint16{uint16(tls.CurveP384)}) {
		t.Errorf("key shares %x %v, want [18] true", got, ok)
	}
	if _, ok := KeyShares(raw[:len(raw)-1]); ok {
		t.Error("a cut hello read as whole")
	}
	h := &tls.ClientHelloInfo{SupportedCurves: []tls.CurveID{tls.CurveP384, tls.X25519}}
	if RetryPossible(h, &tls.Config{}, got) {
		t.Error("retry predicted with a P-384 share under the default groups")
	}
	if !RetryPossible(h, &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}}, got) {
		t.Errorf("no retry predicted with a P-384 share and X25519 only on the server (shares %x)", got)
	}
}

// FuzzKeyShares: any bytes, no panic.
func FuzzKeyShares(f *testing.F) {
	f.Add(clientHelloBytes(f, &tls.Config{ServerName: "x.test"}))
	f.Add([]byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		KeyShares(b)
	})
}

// A bind's narrower `ciphersuites` takes the other TLS 1.3 suites out of
// the hello, leaving TLS 1.2 suites and GREASE alone; then ServerOrder13
// picks among those left, and with none left crypto/tls finds no suite.
func TestRestrictSuites13(t *testing.T) {
	const grease = 0x0a0a
	aes256 := []uint16{tls.TLS_AES_256_GCM_SHA384}
	if Restricts13(nil) || Restricts13([]uint16{tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384}) {
		t.Error("OpenSSL's default or all three suites restrict")
	}
	if !Restricts13(aes256) {
		t.Error("one suite does not restrict")
	}
	offer := []uint16{grease, tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	h := &tls.ClientHelloInfo{CipherSuites: slices.Clone(offer), SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12}}
	if !Offers13Outside(h, aes256) {
		t.Error("a hello with AES-128 and ChaCha20 offers nothing outside AES-256")
	}
	RestrictSuites13(h, aes256)
	want := []uint16{grease, unofferedSuite13, unofferedSuite13, tls.TLS_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	if !slices.Equal(h.CipherSuites, want) {
		t.Fatalf("restricted hello %x, want %x", h.CipherSuites, want)
	}
	if Offers13Outside(h, aes256) {
		t.Error("the restricted hello still offers a suite left out")
	}
	ServerOrder13(h, &tls.Config{}, aes256)
	if !slices.Equal(h.CipherSuites, want) {
		t.Errorf("ServerOrder13 after the restriction: %x, want %x", h.CipherSuites, want)
	}
	only128 := &tls.ClientHelloInfo{CipherSuites: []uint16{tls.TLS_AES_128_GCM_SHA256}}
	RestrictSuites13(only128, aes256)
	if slices.ContainsFunc(only128.CipherSuites, func(id uint16) bool { return slices.Contains(tls13Offered, id) }) {
		t.Errorf("a hello offering only AES-128 keeps a TLS 1.3 suite crypto/tls has: %x", only128.CipherSuites)
	}
}
