package tlsconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// CRL is a certificate revocation list as OpenSSL takes it for `crl-file`:
// version 1 (what `openssl ca -gencrl` writes without a crlnumber) or 2,
// signed with RSA (PKCS#1 v1.5), ECDSA or Ed25519 over SHA-1 or SHA-2.
// crypto/x509 refuses version 1 lists and SHA-1 signatures, which old
// internal CAs still produce and haproxy loads.
type CRL struct {
	RawIssuer  []byte
	ThisUpdate time.Time
	NextUpdate time.Time
	Revoked    []*big.Int // serial numbers
	// RevokedAt are their revocation dates.
	RevokedAt []time.Time

	raw     []byte
	version int

	tbs    []byte
	sigAlg asn1.ObjectIdentifier
	sig    []byte
}

type crlASN1 struct {
	TBS struct {
		Raw        asn1.RawContent
		Version    int `asn1:"optional"`
		Signature  pkix.AlgorithmIdentifier
		Issuer     asn1.RawValue
		ThisUpdate time.Time
		NextUpdate time.Time `asn1:"optional"`
		Revoked    []struct {
			Serial     *big.Int
			Time       time.Time
			Extensions []pkix.Extension `asn1:"optional"`
		} `asn1:"optional"`
		Extensions []pkix.Extension `asn1:"tag:0,optional,explicit"`
	}
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
}

// ParseCRL reads one DER-encoded revocation list.
func ParseCRL(der []byte) (*CRL, error) {
	var l crlASN1
	rest, err := asn1.Unmarshal(der, &l)
	if err != nil {
		return nil, fmt.Errorf("malformed CRL: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("malformed CRL: trailing data")
	}
	if l.TBS.Version > 1 {
		return nil, fmt.Errorf("unsupported CRL version %d", l.TBS.Version+1)
	}
	if _, ok := crlSigAlgs[l.SignatureAlgorithm.Algorithm.String()]; !ok {
		return nil, fmt.Errorf("unsupported CRL signature algorithm %s", l.SignatureAlgorithm.Algorithm)
	}
	c := &CRL{RawIssuer: l.TBS.Issuer.FullBytes, ThisUpdate: l.TBS.ThisUpdate, NextUpdate: l.TBS.NextUpdate,
		raw: der, version: l.TBS.Version, tbs: l.TBS.Raw, sigAlg: l.SignatureAlgorithm.Algorithm, sig: l.Signature.RightAlign()}
	for _, r := range l.TBS.Revoked {
		c.Revoked = append(c.Revoked, r.Serial)
		c.RevokedAt = append(c.RevokedAt, r.Time)
	}
	return c, nil
}

type crlSigAlg struct {
	hash crypto.Hash // 0 for Ed25519, which signs the message itself
	key  x509.PublicKeyAlgorithm
}

// crlSigAlgs are the signature algorithms by OID.
var crlSigAlgs = map[string]crlSigAlg{
	"1.2.840.113549.1.1.5": {crypto.SHA1, x509.RSA}, "1.2.840.113549.1.1.11": {crypto.SHA256, x509.RSA},
	"1.2.840.113549.1.1.12": {crypto.SHA384, x509.RSA}, "1.2.840.113549.1.1.13": {crypto.SHA512, x509.RSA},
	"1.2.840.10045.4.1": {crypto.SHA1, x509.ECDSA}, "1.2.840.10045.4.3.2": {crypto.SHA256, x509.ECDSA},
	"1.2.840.10045.4.3.3": {crypto.SHA384, x509.ECDSA}, "1.2.840.10045.4.3.4": {crypto.SHA512, x509.ECDSA},
	"1.3.101.112": {0, x509.Ed25519},
}

// CheckSignatureFrom tells whether issuer signed the list.
func (l *CRL) CheckSignatureFrom(issuer *x509.Certificate) error {
	if !bytes.Equal(l.RawIssuer, issuer.RawSubject) {
		return errors.New("CRL issuer mismatch")
	}
	alg := crlSigAlgs[l.sigAlg.String()]
	if alg.key != issuer.PublicKeyAlgorithm {
		return errors.New("CRL signature algorithm does not match the issuer's key")
	}
	var digest []byte
	if alg.hash != 0 {
		w := alg.hash.New()
		w.Write(l.tbs)
		digest = w.Sum(nil)
	}
	ok := false
	switch pub := issuer.PublicKey.(type) {
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(pub, alg.hash, digest, l.sig) == nil
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(pub, digest, l.sig)
	case ed25519.PublicKey:
		ok = ed25519.Verify(pub, l.tbs, l.sig)
	}
	if !ok {
		return errors.New("bad CRL signature")
	}
	return nil
}

// Lists reports whether serial is revoked.
func (l *CRL) Lists(serial *big.Int) bool {
	for _, s := range l.Revoked {
		if s.Cmp(serial) == 0 {
			return true
		}
	}
	return false
}
