package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
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
	// PreferClientCiphers is prefer-client-ciphers: the suite is the
	// client's first usable one (ClientOrder).
	PreferClientCiphers bool
	// Suites13 are the TLS 1.3 suites in the bind's order (`ciphersuites`;
	// nil: OpenSSL's default order), which ServerOrder13 follows.
	Suites13 []uint16
	// NoCANames sends a certificate request without CA names (a crt-list
	// line's no-ca-names).
	NoCANames bool
	// Verify is "none", "optional" or "required" (client certificates).
	Verify    string
	ClientCAs *x509.CertPool
	// ClientCACerts are ClientCAs' certificates, for building a chain
	// whatever its validity times (crt-ignore-err).
	ClientCACerts []*x509.Certificate
	// SeparateNames is set by ca-verify-file: the certificate request
	// names NameCAs (ca-file's, nil for none) rather than every CA of
	// ClientCAs.
	SeparateNames bool
	NameCAs       *x509.CertPool
	CRLs          []*CRL
	// CrtIgnore and CAIgnore are crt-ignore-err and ca-ignore-err: the
	// verification errors the handshake goes on with, at depth 0 and above.
	CrtIgnore, CAIgnore ErrSet
	// Files, when set, are the bind's ca-file, ca-verify-file and
	// crl-file as the stats socket may replace them; they take the place
	// of ClientCAs, ClientCACerts, NameCAs and CRLs.
	Files *BindFiles
	// Now is the clock for certificate checks; nil means time.Now.
	Now func() time.Time
}

// BindFiles are the CA and CRL files of a bind (each may be nil); the
// handshakes use their contents of the moment.
type BindFiles struct {
	CA, Verify, CRL *CAFile
	view            atomic.Pointer[bindView]
	// names, once set, are the CAs the certificate request names.
	names atomic.Pointer[CAContents]
}

// Rebuilt is called before one of the files' new contents is stored:
// haproxy rebuilds the bind's TLS contexts then, taking the CA names of
// the ca-file of the moment (before a ca-file's own commit, its former
// contents), which stay until the next rebuild.
func (f *BindFiles) Rebuilt() {
	if c := f.CA.Load(); c != nil {
		f.names.Store(c)
	} else {
		f.names.Store(&CAContents{Pool: x509.NewCertPool()})
	}
}

type bindView struct {
	ca, verify, crl, names *CAContents
	v                      caView
}

// caView is what verifies a client's certificate.
type caView struct {
	clientCAs, nameCAs *x509.CertPool
	separate           bool
	certs              []*x509.Certificate
	crls               []*CRL
}

// cas are the bind's CAs and CRLs of the moment.
func (b *Bind) cas() *caView {
	f := b.Files
	if f == nil {
		names := b.ClientCAs
		if b.SeparateNames {
			names = b.NameCAs
		}
		return &caView{b.ClientCAs, names, b.SeparateNames, b.ClientCACerts, b.CRLs}
	}
	ca, ver, crl, names := f.CA.Load(), f.Verify.Load(), f.CRL.Load(), f.names.Load()
	if v := f.view.Load(); v != nil && v.ca == ca && v.verify == ver && v.crl == crl && v.names == names {
		return &v.v
	}
	nv := &bindView{ca: ca, verify: ver, crl: crl, names: names}
	// An empty file trusts nothing (a nil pool would be the system's).
	nv.v.clientCAs = x509.NewCertPool()
	if ca != nil {
		nv.v.clientCAs, nv.v.certs = ca.Pool, ca.Certs
	}
	if f.CA != nil {
		nv.v.nameCAs = nv.v.clientCAs
		if names != nil {
			nv.v.nameCAs = names.Pool
		}
	}
	if f.Verify != nil {
		nv.v.separate = true
		if ver != nil {
			nv.v.certs = append(slices.Clip(nv.v.certs), ver.Certs...)
		}
		nv.v.clientCAs = x509.NewCertPool()
		for _, c := range nv.v.certs {
			nv.v.clientCAs.AddCert(c)
		}
	}
	if crl != nil {
		nv.v.crls = crl.CRLs
	}
	f.view.Store(nv)
	return &nv.v
}

// names are the CAs the certificate request names.
func (v *caView) names() *x509.CertPool {
	return v.nameCAs
}

// ForHandshake is base (made by Config) adjusted for one handshake: the
// CA names of the moment when a CA file was replaced since, and the
// verification's result handed to record when RecordsResults. Nil when
// base fits as it is.
func (b *Bind) ForHandshake(base *tls.Config, record func(VerifyResult)) *tls.Config {
	rec := b.RecordsResults() && record != nil
	names := base.ClientCAs
	if base.ClientAuth != tls.NoClientCert && b.Files != nil && !b.NoCANames {
		names = b.cas().names()
	}
	if !rec && names == base.ClientCAs {
		return nil
	}
	if rec {
		c := b.ConfigRecording(base, record)
		c.ClientCAs = names
		return c
	}
	c := base.Clone()
	c.GetConfigForClient = nil
	c.ClientCAs = names
	return c
}

// ErrSet is a set of OpenSSL verification error codes (X509_V_ERR_*,
// 1 to 63), as haproxy keeps them; ErrAll is `all`.
type ErrSet uint64

// ErrAll is every code.
const ErrAll = ^ErrSet(0)

// Has tells whether code is in the set (codes above 63 never are).
func (s ErrSet) Has(code int) bool { return code > 0 && code < 64 && s&(1<<code) != 0 }

// VerifyResult is what the verification of a client certificate left for
// the ssl_c_* fetches: the last error (ssl_c_verify, 0 when none), the
// first at depth 0 (ssl_c_err) and the first above it with its depth
// (ssl_c_ca_err, ssl_c_ca_err_depth). Only crt-ignore-err and
// ca-ignore-err let a handshake with errors through.
type VerifyResult struct {
	Verify, CrtErr, CAErr, CAErrDepth int
}

// OpenSSL's verification error codes gproxy reports.
const (
	vErrUnableToGetCRL      = 3
	vErrNotYetValid         = 9
	vErrExpired             = 10
	vErrDepthZeroSelfSigned = 18
	vErrSelfSignedInChain   = 19
	vErrUnableToGetIssuer   = 20
	vErrUnableToVerifyLeaf  = 21
	vErrRevoked             = 23
	vErrInvalidPurpose      = 26
)

var vErrText = map[int]string{
	vErrUnableToGetCRL: "unable to get certificate CRL", vErrNotYetValid: "certificate is not yet valid",
	vErrExpired: "certificate has expired", vErrDepthZeroSelfSigned: "self-signed certificate",
	vErrSelfSignedInChain: "self-signed certificate in certificate chain",
	vErrUnableToGetIssuer: "unable to get local issuer certificate", vErrRevoked: "certificate revoked",
	vErrUnableToVerifyLeaf: "unable to verify the first certificate",
	vErrInvalidPurpose:     "unsupported certificate purpose",
}

// RecordsResults tells whether a handshake may succeed with verification
// errors, so that each connection must keep its VerifyResult.
func (b *Bind) RecordsResults() bool { return b.CrtIgnore|b.CAIgnore != 0 }

// ConfigRecording is base (made by Config) for one connection, handing
// the verification's result to record.
func (b *Bind) ConfigRecording(base *tls.Config, record func(VerifyResult)) *tls.Config {
	c := base.Clone()
	c.GetConfigForClient = nil
	c.VerifyConnection = b.CurveCheck(nil)
	var last VerifyResult
	c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return nil
		}
		r, err := b.VerifyClient(raw)
		record(r)
		last = r
		return err
	}
	// A resumed session keeps the result of its full handshake, as
	// OpenSSL's session does: it travels in the ticket, which base's keys
	// (shared by every connection of the bind) seal.
	c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, append([]byte(verifyExtraTag), encodeVerify(last)...))
		return base.EncryptTicket(cs, ss)
	}
	c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := base.DecryptTicket(identity, cs)
		if ss == nil || err != nil {
			return ss, err
		}
		for _, e := range ss.Extra {
			if v, ok := bytes.CutPrefix(e, []byte(verifyExtraTag)); ok {
				if r, ok := decodeVerify(v); ok {
					record(r)
				}
			}
		}
		return ss, nil
	}
	return c
}

// verifyExtraTag marks a VerifyResult in a session ticket's extra data.
const verifyExtraTag = "gproxy-verify:"

func encodeVerify(r VerifyResult) []byte {
	return fmt.Appendf(nil, "%d %d %d %d", r.Verify, r.CrtErr, r.CAErr, r.CAErrDepth)
}

func decodeVerify(b []byte) (VerifyResult, bool) {
	var r VerifyResult
	_, err := fmt.Sscanf(string(b), "%d %d %d %d", &r.Verify, &r.CrtErr, &r.CAErr, &r.CAErrDepth)
	return r, err == nil
}

// ErrClientCert marks a handshake refused for the client's certificate
// (haproxy's "SSL client certificate not trusted").
var ErrClientCert = errors.New("SSL client certificate not trusted")

// Config builds the listener's tls.Config.
func (b *Bind) Config() *tls.Config {
	if b.Store != nil {
		b.Store.SetMaxVersion(b.MaxVersion)
	}
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
		if !b.NoCANames {
			c.ClientCAs = b.cas().names()
		}
		// Verified here rather than by crypto/tls, to check the CRLs of
		// every certificate of the chain, as haproxy's crl-file does
		// (OpenSSL's CRL_CHECK_ALL).
		c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return nil // optional and none sent; required fails in crypto/tls
			}
			_, err := b.VerifyClient(raw)
			return err
		}
		c.VerifyConnection = b.CurveCheck(nil)
	}
	return c
}

type verifyErr struct{ depth, code int }

// VerifyClient checks a client's certificate chain as OpenSSL does for
// haproxy (purpose sslclient, crl-file over the whole chain), reporting
// its errors in OpenSSL's order (chain building, revocation from the
// leaf up, validity from the top down); the first one crt-ignore-err or
// ca-ignore-err does not cover fails the handshake.
func (b *Bind) VerifyClient(raw [][]byte) (VerifyResult, error) {
	var res VerifyResult
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return res, fmt.Errorf("%w: %v", ErrClientCert, err)
		}
		certs[i] = c
	}
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	var errs []verifyErr
	v := b.cas()
	chain, complete := v.buildChain(certs, now, &errs)
	top := len(chain) - 1
	if len(v.crls) > 0 {
		// Every certificate, the root too (OpenSSL's CRL_CHECK_ALL: the
		// root's own CA list covers it).
		for i := 0; i <= top; i++ {
			issuer := chain[min(i+1, top)]
			if i == top && !complete {
				errs = append(errs, verifyErr{i, vErrUnableToGetCRL})
				break
			}
			if code := crlCode(chain[i], issuer, v.crls); code != 0 {
				errs = append(errs, verifyErr{i, code})
			}
		}
	}
	// Signatures and times from the top: a chain that reached no trusted
	// CA and whose top is not self-signed skips its top, and a lone leaf
	// is "unable to verify the first certificate".
	if !complete && !selfSigned(chain[top]) {
		if top == 0 {
			errs = append(errs, verifyErr{0, vErrUnableToVerifyLeaf})
		} else {
			top--
		}
	}
	for i := top; i >= 0; i-- {
		switch c := chain[i]; {
		case now.Before(c.NotBefore):
			errs = append(errs, verifyErr{i, vErrNotYetValid})
		case now.After(c.NotAfter):
			errs = append(errs, verifyErr{i, vErrExpired})
		}
	}
	for _, e := range errs {
		res.Verify = e.code
		ignore := b.CrtIgnore
		if e.depth > 0 {
			ignore = b.CAIgnore
			if res.CAErr == 0 {
				res.CAErr, res.CAErrDepth = e.code, e.depth
			}
		} else if res.CrtErr == 0 {
			res.CrtErr = e.code
		}
		if !ignore.Has(e.code) {
			return res, fmt.Errorf("%w: %s at depth %d: %s", ErrClientCert, vErrText[e.code], e.depth, RawDN(chain[e.depth].RawSubject))
		}
	}
	return res, nil
}

// buildChain finds the chain from the client's certificate to a trusted
// CA, judging validity times apart (at the middle of the certificate's
// life); without one, the certificates as sent, with the error.
func (b *caView) buildChain(certs []*x509.Certificate, now time.Time, errs *[]verifyErr) ([]*x509.Certificate, bool) {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	var err error
	for _, at := range []time.Time{leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2), now} {
		var chains [][]*x509.Certificate
		chains, err = leaf.Verify(x509.VerifyOptions{
			Roots: b.clientCAs, Intermediates: inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err == nil {
			return b.toRoot(chains[0]), true
		}
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage {
		*errs = append(*errs, verifyErr{0, vErrInvalidPurpose})
		return certs, false
	}
	// No time fits every certificate (a CA re-issued after its old
	// leaf expired): OpenSSL still builds the chain by names and
	// signatures, and reports the times apart.
	if chain := chainByIssuer(certs, b.certs); chain != nil {
		return chain, true
	}
	top := len(certs) - 1
	switch {
	case selfSigned(certs[top]) && top == 0:
		*errs = append(*errs, verifyErr{0, vErrDepthZeroSelfSigned})
	case selfSigned(certs[top]):
		*errs = append(*errs, verifyErr{top, vErrSelfSignedInChain})
	default:
		*errs = append(*errs, verifyErr{top, vErrUnableToGetIssuer})
	}
	return certs, false
}

// toRoot extends a chain that crypto/tls ended at a trusted intermediate
// up to its self-signed root among the trusted CAs, as OpenSSL builds it
// (without X509_V_FLAG_PARTIAL_CHAIN), so that every certificate's CRL
// is checked.
func (b *caView) toRoot(chain []*x509.Certificate) []*x509.Certificate {
	for len(chain) < 10 {
		top := chain[len(chain)-1]
		if selfSigned(top) {
			return chain
		}
		var next *x509.Certificate
		for _, c := range b.certs {
			if bytes.Equal(top.RawIssuer, c.RawSubject) && top.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			return chain
		}
		chain = append(slices.Clip(chain), next)
	}
	return chain
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// chainByIssuer links the leaf to a trusted CA through the certificates
// sent, by issuer name and signature only; nil when it does not reach one.
func chainByIssuer(sent, roots []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{sent[0]}
	issuerOf := func(c *x509.Certificate, in []*x509.Certificate) *x509.Certificate {
		for _, i := range in {
			if bytes.Equal(c.RawIssuer, i.RawSubject) && c.CheckSignatureFrom(i) == nil {
				return i
			}
		}
		return nil
	}
	for len(chain) < 10 {
		cur := chain[len(chain)-1]
		if r := issuerOf(cur, roots); r != nil {
			if !bytes.Equal(r.Raw, cur.Raw) {
				chain = append(chain, r)
			}
			return chain
		}
		next := issuerOf(cur, sent[1:])
		if next == nil || bytes.Equal(next.Raw, cur.Raw) {
			return nil
		}
		chain = append(chain, next)
	}
	return nil
}

// crlCode is the revocation error of c, issued by issuer: none, no CRL
// from its issuer, or listed.
func crlCode(c, issuer *x509.Certificate, crls []*CRL) int {
	for _, l := range crls {
		if bytes.Equal(l.RawIssuer, c.RawIssuer) && l.CheckSignatureFrom(issuer) == nil {
			if l.Lists(c.SerialNumber) {
				return vErrRevoked
			}
			return 0
		}
	}
	return vErrUnableToGetCRL
}

// checkCRLs wants, for each certificate of the chain below the root, a
// CRL from its issuer that does not list it.
func checkCRLs(chain []*x509.Certificate, crls []*CRL, now time.Time) error {
	for i := 0; i+1 < len(chain); i++ {
		if code := crlCode(chain[i], chain[i+1], crls); code != 0 {
			return fmt.Errorf("%w: %s for %s", ErrClientCert, vErrText[code], RawDN(chain[i].RawSubject))
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
	Cert       *Cert // `crt`: the client certificate as loaded
	// Slot, when set, holds Cert as `commit ssl cert` replaces it.
	Slot *CertSlot
	// Files, when set, are the ca-file and crl-file as the stats socket
	// may replace them, in place of RootCAs and CRLs.
	Files     *ServerFiles
	NoTickets bool
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
	crt := s.Cert
	if s.Slot != nil {
		crt = s.Slot.Load()
	}
	if s.Reuse && cache != nil {
		c.ClientSessionCache = cache
		if crt != nil {
			c.ClientSessionCache = certCache{cache, fmt.Sprintf("%p|", crt)}
		}
	}
	if crt != nil {
		// Sent whatever CA names the server's request lists, as OpenSSL
		// does (crypto/tls would send none when they do not match).
		tc := &crt.TLS
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return tc, nil }
	}
	if s.Verify {
		// The name sent wins, else verifyhost, else the chain alone
		// (haproxy 2.6's ssl_sock_srv_verifycbk).
		host := sni
		if host == "" {
			host = s.VerifyHost
		}
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := s.verifyServer(cs, host); err != nil {
				ve := serverVerifyError{error: err}
				var he x509.HostnameError
				if errors.As(err, &he) {
					// haproxy's code tells whether the name was the SNI.
					ve.mismatch = ConnErrSSLMismatch
					if sni != "" {
						ve.mismatch = ConnErrSSLMismatchSNI
					}
				}
				return ve
			}
			return nil
		}
	}
	return c
}

// ServerFiles are a server's CA and CRL files (either may be nil).
type ServerFiles struct{ CA, CRL *CAFile }

func (s *Server) cas() (*x509.CertPool, []*CRL) {
	if s.Files == nil {
		return s.RootCAs, s.CRLs
	}
	pool := x509.NewCertPool() // an empty file trusts nothing
	var crls []*CRL
	if c := s.Files.CA.Load(); c != nil {
		pool = c.Pool
	}
	if c := s.Files.CRL.Load(); c != nil {
		crls = c.CRLs
	}
	return pool, crls
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
	roots, crls := s.cas()
	chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
	})
	if err != nil {
		return err
	}
	// The name after the chain, as OpenSSL's callback at depth 0: an
	// x509.HostnameError means the chain was good (haproxy's "different
	// from the expected one").
	if host != "" {
		if err := cs.PeerCertificates[0].VerifyHostname(host); err != nil {
			return err
		}
	}
	if len(crls) > 0 {
		return checkCRLs(chains[0], crls, now)
	}
	return nil
}

// serverVerifyError is a server certificate refused by `verify required`
// (OpenSSL's "certificate verify failed" for ssl_bc_err); its text is
// the reason's.
type serverVerifyError struct {
	error
	mismatch int // ConnErrSSLMismatch* for a name mismatch, else 0
}

func (e serverVerifyError) Unwrap() error { return e.error }
