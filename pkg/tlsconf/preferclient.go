package tlsconf

import (
	"crypto/ecdsa"
	"crypto/tls"
	"slices"
)

// prefer-client-ciphers (Mozilla's generated haproxy configurations set
// it in ssl-default-bind-options): OpenSSL then takes the first suite of
// the client's list that the bind allows and the handshake can use,
// where crypto/tls picks by its own order. ClientOrder makes crypto/tls
// pick that suite: for TLS 1.2 by narrowing the handshake's config to
// it; for TLS 1.3, whose suites crypto/tls does not take from the
// config, by leaving in the ClientHello's list (which crypto/tls reads
// after GetConfigForClient: the ClientHelloInfo shares it) no other TLS
// 1.3 suite. pkg/proxy's TestIntegrationTLSPreferClientCiphersHaproxy
// fails if crypto/tls stops sharing it.

// tls13Offered are the TLS 1.3 suites crypto/tls (and haproxy's default)
// offer.
var tls13Offered = []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}

// goDefaultCurves are crypto/tls's groups when a config names none.
var goDefaultCurves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// suiteVersions are the versions each TLS 1.0-1.2 suite crypto/tls
// knows may be used with.
var suiteVersions = func() map[uint16][]uint16 {
	m := map[uint16][]uint16{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		m[s.ID] = s.SupportedVersions
	}
	return m
}()

// ClientOrder returns the config for a handshake with h under cfg on
// the certificate crt when the bind prefers the client's order (nil: cfg
// as it is), and rewrites h's TLS 1.3 suites as described above.
func ClientOrder(h *tls.ClientHelloInfo, cfg *tls.Config, crt *Cert) *tls.Config {
	vers := uint16(0)
	for _, v := range h.SupportedVersions {
		if (cfg.MinVersion == 0 || v >= cfg.MinVersion) && (cfg.MaxVersion == 0 || v <= cfg.MaxVersion) && v > vers {
			vers = v
		}
	}
	if vers == tls.VersionTLS13 {
		first := uint16(0)
		for _, id := range h.CipherSuites {
			if slices.Contains(tls13Offered, id) {
				first = id
				break
			}
		}
		if first != 0 {
			for i, id := range h.CipherSuites {
				if slices.Contains(tls13Offered, id) {
					h.CipherSuites[i] = first
				}
			}
		}
		return nil
	}
	if vers == 0 || crt == nil || crt.TLS.Leaf == nil {
		return nil
	}
	_, isECDSA := crt.TLS.Leaf.PublicKey.(*ecdsa.PublicKey)
	curves := cfg.CurvePreferences
	if len(curves) == 0 {
		curves = goDefaultCurves
	}
	commonGroup := false
	for _, c := range h.SupportedCurves {
		if slices.Contains(curves, c) {
			commonGroup = true
			break
		}
	}
	allowed := cfg.CipherSuites
	if allowed == nil {
		for _, s := range tls.CipherSuites() {
			allowed = append(allowed, s.ID)
		}
	}
	for _, id := range h.CipherSuites {
		if !slices.Contains(allowed, id) || !slices.Contains(suiteVersions[id], vers) || ecdsaSuites[id] != isECDSA {
			continue
		}
		if ecdheSuites[id] && !commonGroup {
			continue
		}
		c := cfg.Clone()
		c.GetConfigForClient = nil
		c.CipherSuites = []uint16{id}
		return c
	}
	return nil
}

// ecdheSuites are the TLS 1.0-1.2 suites with an ECDHE key exchange that
// crypto/tls knows.
var ecdheSuites = func() map[uint16]bool {
	m := map[uint16]bool{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if len(s.Name) > 10 && s.Name[:10] == "TLS_ECDHE_" {
			m[s.ID] = true
		}
	}
	return m
}()
