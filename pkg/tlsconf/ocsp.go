package tlsconf

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// The OCSP response of RFC 6960, section 4.2.1, as far as haproxy 2.6
// reads it when it loads FILE.ocsp (ssl_sock_load_ocsp_response): no
// signature check, one single response for the certificate's ID.
type ocspResponse struct {
	Status   asn1.Enumerated
	Response ocspResponseBytes `asn1:"explicit,tag:0,optional"`
}

type ocspResponseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type ocspBasicResponse struct {
	TBSResponseData    ocspResponseData
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspResponseData struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []ocspSingleResponse
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspSingleResponse struct {
	CertID     ocspCertID
	Good       asn1.Flag        `asn1:"tag:0,optional"`
	Revoked    ocspRevokedInfo  `asn1:"tag:1,optional"`
	Unknown    asn1.Flag        `asn1:"tag:2,optional"`
	ThisUpdate time.Time        `asn1:"generalized"`
	NextUpdate time.Time        `asn1:"generalized,explicit,tag:0,optional"`
	Extensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspRevokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

type ocspCertID struct {
	Raw           asn1.RawContent
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	KeyHash       []byte
	Serial        *big.Int
}

var (
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidSHA1      = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
)

// ocspSkew is haproxy's OCSP_MAX_RESPONSE_TIME_SKEW: the slack around
// thisUpdate and nextUpdate, and how long before nextUpdate a response
// stops being stapled.
const ocspSkew = 300 * time.Second

// ocspCertIDOf is OpenSSL's OCSP_cert_to_id with SHA-1, as haproxy makes
// it: the hashes of the issuer's subject and public key, and the serial.
func ocspCertIDOf(leaf, issuer *x509.Certificate) (ocspCertID, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return ocspCertID{}, err
	}
	nh, kh := sha1.Sum(issuer.RawSubject), sha1.Sum(spki.PublicKey.RightAlign())
	// OpenSSL writes the algorithm's NULL parameters: they are part of
	// the ID haproxy prints.
	return ocspCertID{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA1, Parameters: asn1.NullRawValue}, NameHash: nh[:], KeyHash: kh[:], Serial: leaf.SerialNumber}, nil
}

func (id ocspCertID) equal(o ocspCertID) bool {
	return id.HashAlgorithm.Algorithm.Equal(o.HashAlgorithm.Algorithm) && bytes.Equal(id.NameHash, o.NameHash) &&
		bytes.Equal(id.KeyHash, o.KeyHash) && id.Serial != nil && o.Serial != nil && id.Serial.Cmp(o.Serial) == 0
}

// checkOCSP judges a FILE.ocsp response for the certificate whose ID is
// id as haproxy 2.6 does at load: an error is its warning's text (the
// response is then not stapled); otherwise the date from which it is
// stapled no more (nextUpdate less the skew). A nil id checks no ID, as
// `set ssl ocsp-response`.
func checkOCSP(der []byte, id *ocspCertID, now time.Time) (time.Time, error) {
	until, _, err := checkOCSPID(der, id, now)
	return until, err
}

// checkOCSPID is checkOCSP, also returning the single response's
// certificate ID (DER).
func checkOCSPID(der []byte, id *ocspCertID, now time.Time) (time.Time, []byte, error) {
	until, sr, err := checkOCSPSingle(der, id, now)
	if err != nil {
		return until, nil, err
	}
	return until, sr.CertID.Raw, nil
}

func checkOCSPSingle(der []byte, id *ocspCertID, now time.Time) (time.Time, *ocspSingleResponse, error) {
	var r ocspResponse
	if rest, err := asn1.Unmarshal(der, &r); err != nil || len(rest) > 0 {
		return time.Time{}, nil, errors.New("Unable to parse OCSP response")
	}
	if r.Status != 0 {
		return time.Time{}, nil, errors.New("OCSP response status not successful")
	}
	var b ocspBasicResponse
	if !r.Response.ResponseType.Equal(oidOCSPBasic) {
		return time.Time{}, nil, errors.New("Failed to get basic response from OCSP Response")
	}
	if _, err := asn1.Unmarshal(r.Response.Response, &b); err != nil {
		return time.Time{}, nil, errors.New("Failed to get basic response from OCSP Response")
	}
	n := len(b.TBSResponseData.Responses)
	if n > 1 {
		return time.Time{}, nil, fmt.Errorf("OCSP response ignored because contains multiple single responses (%d)", n)
	}
	if n == 0 {
		return time.Time{}, nil, errors.New("Failed to get OCSP single response")
	}
	sr := b.TBSResponseData.Responses[0]
	if !bool(sr.Good) && sr.Revoked.RevocationTime.IsZero() {
		return time.Time{}, nil, errors.New("OCSP single response: certificate status is unknown")
	}
	if sr.NextUpdate.IsZero() {
		return time.Time{}, nil, errors.New("OCSP single response: missing nextupdate")
	}
	// OpenSSL's OCSP_check_validity(this, next, skew, -1).
	if sr.ThisUpdate.After(now.Add(ocspSkew)) || sr.NextUpdate.Before(now.Add(-ocspSkew)) || sr.NextUpdate.Before(sr.ThisUpdate) {
		return time.Time{}, nil, errors.New("OCSP single response: no longer valid.")
	}
	if id != nil && !sr.CertID.equal(*id) {
		return time.Time{}, nil, errors.New("OCSP single response: Certificate ID does not match certificate and issuer")
	}
	return sr.NextUpdate.Add(-ocspSkew), &sr, nil
}

// ocspIssuer finds the certificate that issued leaf for its OCSP ID as
// haproxy does: in the chain first, else FILE.issuer (an error when that
// file is unreadable or did not issue leaf); nil when there is none.
func ocspIssuer(fsys FS, side string, leaf *x509.Certificate, chain [][]byte) (*x509.Certificate, error) {
	for _, raw := range chain {
		if c, err := x509.ParseCertificate(raw); err == nil && issued(c, leaf) {
			return c, nil
		}
	}
	path := side + ".issuer"
	b, err := fsys.ReadFile(path)
	if err != nil || !extra(fsys, ExtraIssuer) {
		return nil, nil
	}
	blk, _ := pem.Decode(b)
	var c *x509.Certificate
	if blk != nil {
		c, err = x509.ParseCertificate(blk.Bytes)
	}
	if blk == nil || err != nil {
		return nil, fmt.Errorf("'%s' is not a valid PEM certificate", path)
	}
	if !issued(c, leaf) {
		return nil, fmt.Errorf("'%s' is not an issuer'", path)
	}
	return c, nil
}

// issued is OpenSSL's X509_check_issued as far as it goes without
// extensions: the names match and the signature checks.
func issued(issuer, c *x509.Certificate) bool {
	return bytes.Equal(issuer.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(issuer) == nil
}

// parseSCTList reads a FILE.sctl: a TLS SignedCertificateTimestampList
// (RFC 6962, section 3.3), checked as haproxy's ssl_sock_parse_sctl
// does; the SCTs it holds, for tls.Certificate.
func parseSCTList(b []byte) ([][]byte, error) {
	if len(b) < 2 || int(binary.BigEndian.Uint16(b))+2 != len(b) {
		return nil, errors.New("bad list length")
	}
	var out [][]byte
	for p := b[2:]; len(p) > 0; {
		if len(p) < 2 || int(binary.BigEndian.Uint16(p))+2 > len(p) {
			return nil, errors.New("bad SCT length")
		}
		n := int(binary.BigEndian.Uint16(p))
		out = append(out, p[2:2+n])
		p = p[2+n:]
	}
	return out, nil
}
