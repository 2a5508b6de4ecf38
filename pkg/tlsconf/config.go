package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Versions by haproxy's names (ssl-min-ver, ssl-max-ver).
var Versions = map[string]uint16{
	"SSLv3":   tls.VersionSSL30,
	"TLSv1.0": tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

// VersionName is haproxy's ssl_fc_protocol text ("TLSv1.3").
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// Bind is what a TLS listener needs, resolved from the configuration.
type Bind struct {
	Store      *Store
	MinVersion uint16
	MaxVersion uint16
	Suites     []uint16 // TLS 1.0-1.2
	Curves     []tls.CurveID
	ALPN       []string
	NoTickets  bool
	// Verify is "none", "optional" or "required" (client certificates).
	Verify    string
	ClientCAs *x509.CertPool
	CRLs      []*CRL
	// Now is the clock for certificate checks; nil means time.Now.
	Now func() time.Time
}

// ErrClientCert marks a handshake refused for the client's certificate
// (haproxy's "SSL client certificate not trusted").
var ErrClientCert = errors.New("SSL client certificate not trusted")

// Config builds the listener's tls.Config.
func (b *Bind) Config() *tls.Config {
	c := &tls.Config{
		GetCertificate:         b.Store.GetCertificate,
		MinVersion:             b.MinVersion,
		MaxVersion:             b.MaxVersion,
		CipherSuites:           b.Suites,
		CurvePreferences:       b.Curves,
		NextProtos:             b.ALPN,
		SessionTicketsDisabled: b.NoTickets,
		Time:                   b.Now,
	}
	switch b.Verify {
	case "optional":
		c.ClientAuth = tls.RequestClientCert
	case "required":
		c.ClientAuth = tls.RequireAnyClientCert
	}
	if c.ClientAuth != tls.NoClientCert {
		// The CertificateRequest names the CAs of ca-file, as haproxy's
		// does (no-ca-names is not implemented): clients pick their
		// certificate by them, and send none when none matches.
		c.ClientCAs = b.ClientCAs
		// Verified here rather than by crypto/tls, to check the CRLs of
		// every certificate of the chain, as haproxy's crl-file does
		// (OpenSSL's CRL_CHECK_ALL).
		c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return nil // optional and none sent; required fails in crypto/tls
			}
			return b.verifyClient(raw)
		}
	}
	return c
}

func (b *Bind) verifyClient(raw [][]byte) error {
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrClientCert, err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots: b.ClientCAs, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrClientCert, err)
	}
	if len(b.CRLs) == 0 {
		return nil
	}
	return checkCRLs(chains[0], b.CRLs, now)
}

// checkCRLs wants, for each certificate of the chain below the root, a
// CRL from its issuer that does not list it.
func checkCRLs(chain []*x509.Certificate, crls []*CRL, now time.Time) error {
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		var found *CRL
		for _, l := range crls {
			if bytes.Equal(l.RawIssuer, c.RawIssuer) && l.CheckSignatureFrom(issuer) == nil {
				found = l
				break
			}
		}
		if found == nil {
			return fmt.Errorf("%w: unable to get certificate CRL for %s", ErrClientCert, DN(c.Subject.ToRDNSequence()))
		}
		if found.Lists(c.SerialNumber) {
			return fmt.Errorf("%w: certificate revoked: %s", ErrClientCert, DN(c.Subject.ToRDNSequence()))
		}
	}
	return nil
}

// Server is what a TLS connection to a server needs.
type Server struct {
	MinVersion uint16
	MaxVersion uint16
	Suites     []uint16
	Curves     []tls.CurveID
	ALPN       []string
	// Verify is false for `verify none`.
	Verify  bool
	RootCAs *x509.CertPool
	CRLs    []*CRL
	// VerifyHost is `verifyhost`: the name the certificate must carry
	// when no SNI is sent; with neither, only the chain is checked.
	VerifyHost string
	Cert       *Cert // `crt`: the client certificate
	NoTickets  bool
	// Reuse is ssl-reuse (the default): resume sessions with a cache.
	Reuse bool
	Now   func() time.Time
}

// Config builds a client tls.Config; sni is the name sent ("" = none).
func (s *Server) Config(sni string, cache tls.ClientSessionCache) *tls.Config {
	c := &tls.Config{
		ServerName:             sni,
		MinVersion:             s.MinVersion,
		MaxVersion:             s.MaxVersion,
		CipherSuites:           s.Suites,
		CurvePreferences:       s.Curves,
		NextProtos:             s.ALPN,
		SessionTicketsDisabled: s.NoTickets,
		InsecureSkipVerify:     true, // checked below, to follow verifyhost and SNI as haproxy
		Time:                   s.Now,
	}
	if s.Reuse {
		c.ClientSessionCache = cache
	}
	if s.Cert != nil {
		crt := s.Cert.TLS
		c.Certificates = []tls.Certificate{crt}
	}
	if s.Verify {
		// The name sent wins, else verifyhost, else the chain alone
		// (haproxy 2.6's ssl_sock_srv_verifycbk).
		host := sni
		if host == "" {
			host = s.VerifyHost
		}
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			return s.verifyServer(cs, host)
		}
	}
	return c
}

func (s *Server) verifyServer(cs tls.ConnectionState, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: s.RootCAs, Intermediates: inter, CurrentTime: now, DNSName: host,
	})
	if err != nil {
		return err
	}
	if len(s.CRLs) > 0 {
		return checkCRLs(chains[0], s.CRLs, now)
	}
	return nil
}
