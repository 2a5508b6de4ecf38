package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"slices"
)

// ErrWrongCurve marks a TLS 1.2 handshake refused because the client's
// ECDSA certificate is on a curve outside the bind's groups or the
// client's own supported_groups (OpenSSL's SSL_R_WRONG_CURVE, which
// haproxy logs as "SSL handshake failure").
var ErrWrongCurve = errors.New("wrong curve")

// certCurve is the group of an ECDSA public key; ok is false for
// another kind of key.
func certCurve(pub any) (tls.CurveID, bool) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return 0, false
	}
	switch k.Curve {
	case elliptic.P256():
		return tls.CurveP256, true
	case elliptic.P384():
		return tls.CurveP384, true
	case elliptic.P521():
		return tls.CurveP521, true
	}
	return 0, true // P-224: in neither list
}

// CurveCheck is the VerifyConnection of a bind that asks for client
// certificates. OpenSSL, checking a TLS 1.2 client's CertificateVerify,
// refuses an ECDSA certificate whose curve is not one of its own groups
// (`curves`/`ecdhe`, else its defaults) or, when the client sent
// supported_groups (clientGroups), not one of the client's. TLS 1.3
// ties the curve to the signature algorithm instead, and a resumed
// handshake has no CertificateVerify: neither is checked.
func (b *Bind) CurveCheck(clientGroups []tls.CurveID) func(tls.ConnectionState) error {
	own := b.Curves
	if len(own) == 0 {
		own = DefaultCurves
	}
	return func(cs tls.ConnectionState) error {
		if cs.Version != tls.VersionTLS12 || cs.DidResume || len(cs.PeerCertificates) == 0 {
			return nil
		}
		id, ok := certCurve(cs.PeerCertificates[0].PublicKey)
		if !ok {
			return nil
		}
		if !slices.Contains(own, id) || (len(clientGroups) > 0 && !slices.Contains(clientGroups, id)) {
			return ErrWrongCurve
		}
		return nil
	}
}

// NeedsClientGroups tells whether a handshake offering clientGroups can
// fail CurveCheck for a reason the bind's own groups do not give: one of
// the bind's ECDSA curves is missing from the client's list.
func (b *Bind) NeedsClientGroups(clientGroups []tls.CurveID) bool {
	if len(clientGroups) == 0 {
		return false
	}
	own := b.Curves
	if len(own) == 0 {
		own = DefaultCurves
	}
	for _, id := range own {
		if id != tls.X25519 && !slices.Contains(clientGroups, id) {
			return true
		}
	}
	return false
}
