package tlsconf

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"sync/atomic"
	"time"
)

// Parts are the pieces of a certificate file that haproxy's CLI updates
// one at a time (`set ssl cert FILE`, `FILE.key`, `FILE.ocsp`,
// `FILE.issuer`): its cert_key_and_chain.
type Parts struct {
	Chain    [][]byte // DER, the leaf first; none: an empty certificate
	Key      crypto.PrivateKey
	DHParams bool
	OCSP     []byte
	Issuer   []byte // DER
}

// Errors of the payloads, each haproxy's reason (the caller adds the
// file's name as haproxy does).
var (
	ErrNoCertificateInPEM = errors.New("unable to load certificate")
	ErrBadKey             = errors.New("unable to load private key")
	ErrBadOCSP            = errors.New("Error reading OCSP response in base64 format")
	ErrBadIssuer          = errors.New("cannot be read or parsed")
)

// PartsOf are the parts of a loaded certificate.
func PartsOf(c *Cert) Parts {
	if c == nil {
		return Parts{}
	}
	o := c.OCSPFile
	if o == nil {
		o = c.TLS.OCSPStaple
	}
	return Parts{Chain: c.TLS.Certificate, Key: c.TLS.PrivateKey, DHParams: c.DHParams, OCSP: o, Issuer: c.ocspIssuer}
}

// SetPEM replaces the certificate, chain, key and DH parameters with a PEM
// payload's, and drops the OCSP response and issuer, as haproxy's
// ssl_sock_load_pem_into_ckch: the first certificate is the leaf, the
// following ones the chain, a key anywhere (none leaves the parts
// without a key).
func (p *Parts) SetPEM(data []byte) error {
	var chain [][]byte
	var key crypto.PrivateKey
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE" || b.Type == "TRUSTED CERTIFICATE" || b.Type == "X509 CERTIFICATE":
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				return ErrNoCertificateInPEM
			}
			chain = append(chain, b.Bytes)
		case strings.HasSuffix(b.Type, "PRIVATE KEY") && key == nil:
			k, err := parseKey(b)
			if err == nil {
				key = k
			}
		}
	}
	if len(chain) == 0 {
		return ErrNoCertificateInPEM
	}
	p.Chain, p.Key = chain, key
	p.DHParams = bytes.Contains(data, []byte("-----BEGIN DH PARAMETERS-----"))
	p.OCSP, p.Issuer = nil, nil
	return nil
}

// SetKey replaces the key with the first one of a PEM payload.
func (p *Parts) SetKey(data []byte) error {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return ErrBadKey
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			k, err := parseKey(b)
			if err != nil {
				return ErrBadKey
			}
			p.Key = k
			return nil
		}
	}
}

// SetIssuer replaces the OCSP issuer with the first certificate of a
// PEM payload (`set ssl cert FILE.issuer`).
func (p *Parts) SetIssuer(data []byte) error {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return ErrBadIssuer
		}
		if b.Type == "CERTIFICATE" || b.Type == "TRUSTED CERTIFICATE" || b.Type == "X509 CERTIFICATE" {
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				return ErrBadIssuer
			}
			p.Issuer = b.Bytes
			return nil
		}
	}
}

// SetOCSP replaces the OCSP response with a base64 payload's.
func (p *Parts) SetOCSP(data []byte) error {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
	if err != nil || len(der) == 0 {
		return ErrBadOCSP
	}
	p.OCSP = der
	return nil
}

// Cert builds the certificate of the parts for path, as `commit ssl
// cert` does: it needs a certificate and a key that belong together.
func (p Parts) Cert(path string) (*Cert, error) {
	if len(p.Chain) == 0 || p.Key == nil {
		return nil, ErrIncomplete
	}
	leaf, err := x509.ParseCertificate(p.Chain[0])
	if err != nil {
		return nil, err
	}
	if !keyMatches(leaf.PublicKey, p.Key) {
		return nil, ErrKeyMismatch
	}
	c := &Cert{Path: path, DHParams: p.DHParams, TLS: tls.Certificate{
		Certificate: p.Chain, PrivateKey: p.Key, Leaf: leaf,
	}, OCSPFile: p.OCSP, ocspIssuer: p.Issuer}
	if p.OCSP != nil {
		// As at load: stapled when valid for the certificate's ID, whose
		// issuer is in the chain or the .issuer part.
		var issuer *x509.Certificate
		for _, raw := range append(p.Chain[1:len(p.Chain):len(p.Chain)], p.Issuer) {
			if ic, err := x509.ParseCertificate(raw); err == nil && issued(ic, leaf) {
				issuer = ic
				break
			}
		}
		if issuer != nil {
			if id, err := ocspCertIDOf(leaf, issuer); err == nil {
				der, _ := asn1.Marshal(id)
				c.ocspKey = string(der)
				if until, err := checkOCSP(p.OCSP, &id, time.Now()); err == nil {
					c.TLS.OCSPStaple, c.OCSPUntil = p.OCSP, until
				}
			}
		}
	}
	return c, nil
}

// Leaf is the parsed leaf certificate, nil for empty parts.
func (p Parts) Leaf() *x509.Certificate {
	if len(p.Chain) == 0 {
		return nil
	}
	c, err := x509.ParseCertificate(p.Chain[0])
	if err != nil {
		return nil
	}
	return c
}

var (
	// ErrIncomplete is the commit of parts without a certificate or a key.
	ErrIncomplete = errors.New("The transaction must contain at least a certificate and a private key!")
	// ErrKeyMismatch is a key that is not the certificate's.
	ErrKeyMismatch = errors.New("inconsistencies between private key and certificate")
)

// CertSlot holds a server's client certificate (`crt` on a server line),
// which `commit ssl cert` replaces for the connections made afterwards.
type CertSlot struct{ p atomic.Pointer[Cert] }

// NewCertSlot holds c.
func NewCertSlot(c *Cert) *CertSlot {
	s := &CertSlot{}
	s.p.Store(c)
	return s
}

// Load is the current certificate.
func (s *CertSlot) Load() *Cert { return s.p.Load() }

// Store replaces the certificate.
func (s *CertSlot) Store(c *Cert) { s.p.Store(c) }

// certCache keeps a server's TLS sessions apart for each client
// certificate, so a session made with a replaced certificate is never
// resumed (the server would still see the old one).
type certCache struct {
	tls.ClientSessionCache
	prefix string
}

func (c certCache) Get(key string) (*tls.ClientSessionState, bool) {
	return c.ClientSessionCache.Get(c.prefix + key)
}

func (c certCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(c.prefix+key, cs)
}
