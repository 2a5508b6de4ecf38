package tlsconf

import (
	"crypto/ecdsa"
	"crypto/tls"
	"slices"
	"strings"
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
//
// crypto/tls compares a second ClientHello, after a HelloRetryRequest,
// with the first one as rewritten, and would end the handshake: callers
// rewrite (rewrite13) only when RetryPossible says no retry can come.
func ClientOrder(h *tls.ClientHelloInfo, cfg *tls.Config, crt *Cert, rewrite13 bool) *tls.Config {
	vers := uint16(0)
	for _, v := range h.SupportedVersions {
		if (cfg.MinVersion == 0 || v >= cfg.MinVersion) && (cfg.MaxVersion == 0 || v <= cfg.MaxVersion) && v > vers {
			vers = v
		}
	}
	if vers == tls.VersionTLS13 {
		if !rewrite13 {
			return nil
		}
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

// openSSLSuites13 is OpenSSL 3.0's default TLS 1.3 order (haproxy's
// without `ciphersuites`).
var openSSLSuites13 = []uint16{tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_AES_128_GCM_SHA256}

// SuiteOrder13 is a `ciphersuites` list's suites crypto/tls has, in
// order (the list was checked by CheckCipherSuites).
func SuiteOrder13(s string) []uint16 {
	var out []uint16
	for _, n := range strings.Split(s, ":") {
		if id, ok := tls13Suites[n]; ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// chachaSuites are the ChaCha20-Poly1305 suites, TLS 1.2 and 1.3.
var chachaSuites = []uint16{tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0xccaa}

// ServerOrder13 makes crypto/tls take the TLS 1.3 suite OpenSSL under
// haproxy takes by the server's order (order, nil for OpenSSL's
// default), with the ChaCha20 priority haproxy sets
// (SSL_OP_PRIORITIZE_CHACHA: a client whose first suite is a ChaCha20
// one gets ChaCha20 first), by rewriting h's TLS 1.3 suites as
// ClientOrder does. Measured on haproxy 2.6.12: openssl's and curl's
// default offers get TLS_AES_256_GCM_SHA384 without `ciphersuites`,
// where crypto/tls alone picks TLS_AES_128_GCM_SHA256.
func ServerOrder13(h *tls.ClientHelloInfo, cfg *tls.Config, order []uint16) {
	if cfg.MaxVersion != 0 && cfg.MaxVersion < tls.VersionTLS13 || !slices.Contains(h.SupportedVersions, tls.VersionTLS13) {
		return
	}
	if order == nil {
		order = openSSLSuites13
	}
	// The client's first suite, GREASE values and signalling suites aside.
	first := uint16(0)
	for _, id := range h.CipherSuites {
		if id&0x0f0f == 0x0a0a || id == 0x00ff || id == 0x5600 {
			continue
		}
		first = id
		break
	}
	prio := order
	if slices.Contains(chachaSuites, first) {
		prio = nil
		for _, id := range order {
			if slices.Contains(chachaSuites, id) {
				prio = append(prio, id)
			}
		}
		for _, id := range order {
			if !slices.Contains(chachaSuites, id) {
				prio = append(prio, id)
			}
		}
	}
	for _, id := range prio {
		if slices.Contains(h.CipherSuites, id) {
			for i, c := range h.CipherSuites {
				if slices.Contains(tls13Offered, c) {
					h.CipherSuites[i] = id
				}
			}
			return
		}
	}
}

// unofferedSuite13 stands, in a rewritten ClientHello, for a TLS 1.3
// suite the bind leaves out: TLS_AES_128_CCM_SHA256, which crypto/tls
// does not implement and so never picks.
const unofferedSuite13 = 0x1304

// Restricts13 tells whether a bind's TLS 1.3 suites (`ciphersuites`, nil
// for OpenSSL's default) leave out one crypto/tls has.
func Restricts13(allowed []uint16) bool {
	if allowed == nil {
		return false
	}
	for _, id := range tls13Offered {
		if !slices.Contains(allowed, id) {
			return true
		}
	}
	return false
}

// Offers13Outside tells whether h offers a TLS 1.3 suite crypto/tls has
// that allowed leaves out.
func Offers13Outside(h *tls.ClientHelloInfo, allowed []uint16) bool {
	for _, id := range h.CipherSuites {
		if slices.Contains(tls13Offered, id) && !slices.Contains(allowed, id) {
			return true
		}
	}
	return false
}

// RestrictSuites13 leaves the TLS 1.3 suites allowed leaves out of h's
// list, by the rewrite ClientOrder describes (callers rewrite only when
// RetryPossible says no HelloRetryRequest can come). With none left,
// crypto/tls ends the handshake with a handshake_failure alert ("no
// cipher suite supported by both client and server"), as OpenSSL does
// (SSL_R_NO_SHARED_CIPHER).
func RestrictSuites13(h *tls.ClientHelloInfo, allowed []uint16) {
	for i, id := range h.CipherSuites {
		if slices.Contains(tls13Offered, id) && !slices.Contains(allowed, id) {
			h.CipherSuites[i] = unofferedSuite13
		}
	}
}

// KeyShares are the groups of the key_share extension of the ClientHello
// whose first bytes on the wire are raw (RFC 8446, section 4.2.8); ok
// false when raw holds no whole ClientHello in its first record.
func KeyShares(raw []byte) (groups []uint16, ok bool) {
	if len(raw) < 9 || raw[0] != 0x16 || raw[5] != 1 {
		return nil, false
	}
	rec := int(raw[3])<<8 | int(raw[4])
	hl := int(raw[6])<<16 | int(raw[7])<<8 | int(raw[8])
	if len(raw) < 5+rec || hl > rec-4 {
		return nil, false
	}
	b := raw[9 : 9+hl]
	skip := func(n int) bool {
		if n > len(b) {
			return false
		}
		b = b[n:]
		return true
	}
	u8 := func() (int, bool) {
		if len(b) < 1 {
			return 0, false
		}
		v := int(b[0])
		b = b[1:]
		return v, true
	}
	u16 := func() (int, bool) {
		if len(b) < 2 {
			return 0, false
		}
		v := int(b[0])<<8 | int(b[1])
		b = b[2:]
		return v, true
	}
	if !skip(2 + 32) {
		return nil, false
	}
	n, ok := u8()
	if !ok || !skip(n) {
		return nil, false
	}
	if n, ok = u16(); !ok || !skip(n) {
		return nil, false
	}
	if n, ok = u8(); !ok || !skip(n) {
		return nil, false
	}
	if n, ok = u16(); !ok || n > len(b) {
		return nil, true // no extensions: no key share
	}
	b = b[:n]
	for len(b) > 0 {
		typ, ok1 := u16()
		l, ok2 := u16()
		if !ok1 || !ok2 || l > len(b) {
			return nil, false
		}
		ext := b[:l]
		b = b[l:]
		if typ != 0x0033 {
			continue
		}
		if len(ext) < 2 {
			return nil, false
		}
		ext = ext[2:]
		for len(ext) >= 4 {
			g, kl := uint16(ext[0])<<8|uint16(ext[1]), int(ext[2])<<8|int(ext[3])
			if 4+kl > len(ext) {
				return nil, false
			}
			groups = append(groups, g)
			ext = ext[4+kl:]
		}
	}
	return groups, true
}

// pqGroups are the hybrid post-quantum groups crypto/tls may prefer
// without a key share from the client.
var pqGroups = []tls.CurveID{0x11eb, 0x11ec, 0x11ed}

// RetryPossible tells whether crypto/tls may answer h under cfg with a
// HelloRetryRequest: it takes a hybrid post-quantum group both support
// first, then one the client sent a key share for; a retry comes when
// that group has no share.
func RetryPossible(h *tls.ClientHelloInfo, cfg *tls.Config, shares []uint16) bool {
	has := func(g tls.CurveID) bool { return slices.Contains(shares, uint16(g)) }
	prefs := cfg.CurvePreferences
	var cand []tls.CurveID
	for _, g := range h.SupportedCurves {
		if prefs == nil && (slices.Contains(goDefaultCurves, g) || slices.Contains(pqGroups, g)) || slices.Contains(prefs, g) {
			cand = append(cand, g)
		}
	}
	anyShare := false
	for _, g := range cand {
		if slices.Contains(pqGroups, g) && !has(g) {
			return true
		}
		anyShare = anyShare || has(g)
	}
	return !anyShare
}
