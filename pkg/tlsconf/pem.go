package tlsconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FS is how certificates are read: the real file system in the daemon,
// a fake in tests.
type FS interface {
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
}

// OS is the real file system. DelExt is `ssl-load-extra-del-ext`: the
// side files of "NAME.crt" are "NAME.key"... rather than "NAME.crt.key".
type OS struct {
	DelExt bool
	// NoExtra are the side files ssl-load-extra-files leaves out (none:
	// haproxy's default, all of them).
	NoExtra ExtraFiles
}

// ExtraFiles is a set of the side files of ssl-load-extra-files.
type ExtraFiles uint8

// The side files and bundles, as ssl-load-extra-files names them.
const (
	ExtraBundle ExtraFiles = 1 << iota
	ExtraSCTL
	ExtraOCSP
	ExtraIssuer
	ExtraKey
	ExtraAll = ExtraBundle | ExtraSCTL | ExtraOCSP | ExtraIssuer | ExtraKey
)

// extra tells whether fsys loads the side files of kind e.
func extra(fsys FS, e ExtraFiles) bool {
	o, ok := fsys.(OS)
	return !ok || o.NoExtra&e == 0
}

// sideBase is the name side files are found by: path, without its ".crt"
// when fsys says so (haproxy removes no other extension).
func sideBase(fsys FS, path string) string {
	if o, ok := fsys.(OS); ok && o.DelExt {
		if b, ok := strings.CutSuffix(path, ".crt"); ok {
			return b
		}
	}
	return path
}

func (OS) ReadFile(n string) ([]byte, error)       { return os.ReadFile(n) }
func (OS) ReadDir(n string) ([]fs.DirEntry, error) { return os.ReadDir(n) }
func (OS) Stat(n string) (fs.FileInfo, error)      { return os.Stat(n) }

// Cert is one certificate as haproxy loads it from a `crt` file.
type Cert struct {
	Path string
	// Filters are the SNI names of a crt-list line; none: the
	// certificate's own SANs (or CN).
	Filters []string
	// Entry is set by a crt-list line's options: the handshakes that
	// pick this certificate use its settings.
	Entry *Entry
	// DHParams is set when the file holds DH PARAMETERS, which make
	// haproxy offer DHE ciphers (gproxy cannot).
	DHParams bool
	TLS      tls.Certificate // Leaf set, chain after the leaf, OCSPStaple from FILE.ocsp
	// OCSPUntil is when the stapled response stops being sent (its
	// nextUpdate less haproxy's 300 s skew).
	OCSPUntil time.Time
	// Warnings are haproxy's load warnings for the file (an OCSP
	// response it would not staple), and OCSPErr its error when FILE.ocsp
	// has no issuer to check it against; both for a bind's certificate
	// only (haproxy ignores a server's FILE.ocsp).
	Warnings []string
	OCSPErr  error
	// OCSP is the response stapled for the certificate's OCSP ID, shared
	// by every certificate with that ID (ShareOCSP); nil: TLS.OCSPStaple.
	OCSP    *OCSPShared
	ocspKey string // the OCSP certificate ID (DER) when FILE.ocsp has an issuer
	// OCSPFile is FILE.ocsp as loaded, stapled or not (`show ssl cert`'s
	// "OCSP Response Key"), and ocspIssuer the issuer it was checked
	// against when it came from FILE.issuer.
	OCSPFile   []byte
	ocspIssuer []byte

	id uint64 // identity in a Store, kept when the certificate is replaced
}

// Subject is the leaf's subject as haproxy prints it (`show ssl cert`,
// ssl_f_s_dn): "/CN=example.com/O=...".
func (c *Cert) Subject() string { return RawDN(c.TLS.Leaf.RawSubject) }

// ParsePEM reads haproxy's PEM bundle: the certificate first, then its
// chain, and the private key anywhere in the file (other blocks such as
// DH PARAMETERS are skipped). A key absent from the bundle is read from
// key (the FILE.key side file, nil when absent).
func ParsePEM(bundle, key []byte) (tls.Certificate, error) {
	var out tls.Certificate
	var signer crypto.PrivateKey
	rest := bundle
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE" || b.Type == "TRUSTED CERTIFICATE":
			out.Certificate = append(out.Certificate, b.Bytes)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if signer != nil {
				return out, errors.New("more than one private key")
			}
			k, err := parseKey(b)
			if err != nil {
				return out, err
			}
			signer = k
		}
	}
	if len(out.Certificate) == 0 {
		return out, errors.New("no certificate found")
	}
	if signer == nil && key != nil {
		rest := key
		for signer == nil {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if strings.HasSuffix(b.Type, "PRIVATE KEY") {
				k, err := parseKey(b)
				if err != nil {
					return out, err
				}
				signer = k
			}
		}
	}
	if signer == nil {
		return out, errNoKey
	}
	leaf, err := x509.ParseCertificate(out.Certificate[0])
	if err != nil {
		return out, fmt.Errorf("bad certificate: %w", err)
	}
	if !keyMatches(leaf.PublicKey, signer) {
		return out, errors.New("inconsistencies between private key and certificate")
	}
	for i, der := range out.Certificate[1:] {
		if _, err := x509.ParseCertificate(der); err != nil {
			return out, fmt.Errorf("bad chain certificate %d: %w", i+1, err)
		}
	}
	out.Leaf = leaf
	out.PrivateKey = signer
	return out, nil
}

func parseKey(b *pem.Block) (crypto.PrivateKey, error) {
	if _, enc := b.Headers["DEK-Info"]; enc || b.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("encrypted private keys are not supported (haproxy cannot read them either without a passphrase)")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("unreadable private key (%s)", b.Type)
}

func keyMatches(pub any, priv crypto.PrivateKey) bool {
	type pubber interface{ Public() crypto.PublicKey }
	p, ok := priv.(pubber)
	if !ok {
		return false
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k.Equal(p.Public())
	case *ecdsa.PublicKey:
		return k.Equal(p.Public())
	case ed25519.PublicKey:
		return k.Equal(p.Public())
	}
	return false
}

var errNoKey = errors.New("no private key found")

// FileError is a file that cannot be read; Err is the system's error
// (haproxy prints it as strerror: "No such file or directory").
type FileError struct {
	Msg string
	Err error
}

func (e *FileError) Error() string { return e.Msg + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// LoadFile loads one `crt` file: the bundle, FILE.key when the bundle has
// no key, FILE.ocsp (a DER OCSP response, stapled) when present.
func LoadFile(fsys FS, path string) (*Cert, error) {
	bundle, err := fsys.ReadFile(path)
	if err != nil {
		return nil, &FileError{Msg: fmt.Sprintf("unable to load SSL certificate from PEM file '%s'", path), Err: err}
	}
	var key []byte
	side := sideBase(fsys, path)
	if !bytes.Contains(bundle, []byte("PRIVATE KEY-----")) && extra(fsys, ExtraKey) {
		if k, err := fsys.ReadFile(side + ".key"); err == nil {
			key = k
		}
	}
	c, err := ParsePEM(bundle, key)
	if errors.Is(err, errNoKey) {
		// haproxy names the side file it looked in last, the bundle
		// when ssl-load-extra-files has it look in none.
		if !extra(fsys, ExtraKey) {
			return nil, fmt.Errorf("No Private Key found in '%s'", path)
		}
		return nil, fmt.Errorf("No Private Key found in '%s.key'", side)
	}
	if err != nil {
		return nil, fmt.Errorf("unable to load SSL certificate from PEM file '%s': %w", path, err)
	}
	out := &Cert{Path: path, DHParams: bytes.Contains(bundle, []byte("-----BEGIN DH PARAMETERS-----"))}
	if b, err := fsys.ReadFile(side + ".sctl"); err == nil && extra(fsys, ExtraSCTL) {
		// Sent to clients asking for SCTs, as haproxy's custom extension.
		if c.SignedCertificateTimestamps, err = parseSCTList(b); err != nil {
			return nil, fmt.Errorf(" '%s.sctl.sctl' is present but cannot be read or parsed'", side)
		}
	}
	if o, err := fsys.ReadFile(side + ".ocsp"); err == nil && extra(fsys, ExtraOCSP) {
		issuer, err := ocspIssuer(fsys, side, c.Leaf, c.Certificate[1:])
		if err != nil {
			return nil, err
		}
		out.OCSPFile = o
		if issuer != nil && !inChain(issuer, c.Certificate[1:]) {
			out.ocspIssuer = issuer.Raw
		}
		var id ocspCertID
		if issuer != nil {
			id, err = ocspCertIDOf(c.Leaf, issuer)
		}
		// A response haproxy would not staple is a warning, not an error.
		if issuer == nil || err != nil {
			out.OCSPErr = fmt.Errorf(" '%s.ocsp' is present and activates OCSP but it is impossible to compute the OCSP certificate ID (maybe the issuer could not be found)'", path)
		} else {
			der, _ := asn1.Marshal(id)
			out.ocspKey = string(der)
			if until, err := checkOCSP(o, &id, time.Now()); err != nil {
				out.Warnings = append(out.Warnings, fmt.Sprintf("Loading: %s. Content will be ignored.", err))
			} else {
				c.OCSPStaple, out.OCSPUntil = o, until
			}
		}
	}
	out.TLS = c
	return out, nil
}

func inChain(c *x509.Certificate, chain [][]byte) bool {
	for _, raw := range chain {
		if bytes.Equal(raw, c.Raw) {
			return true
		}
	}
	return false
}

// LoadPath loads a `crt` argument: a file, a bundle (see below), or a
// directory whose regular files are loaded in name order, skipping names that start with '.' and
// the .key, .ocsp, .issuer and .sctl side files, as haproxy does.
func LoadPath(fsys FS, path string) ([]*Cert, error) {
	st, err := fsys.Stat(path)
	if err != nil {
		// A missing file may name a multi-certificate bundle: path.dsa,
		// path.ecdsa and path.rsa are loaded as separate certificates,
		// in that order (so the ECDSA one is the default when present),
		// as haproxy 2.6 does with ssl-load-extra-files' default.
		var out []*Cert
		for _, ext := range []string{".dsa", ".ecdsa", ".rsa"} {
			if !extra(fsys, ExtraBundle) {
				break
			}
			if _, e := fsys.Stat(path + ext); e != nil {
				continue
			}
			c, e := LoadFile(fsys, path+ext)
			if e != nil {
				return nil, e
			}
			out = append(out, c)
		}
		if len(out) > 0 {
			return out, nil
		}
		return nil, &FileError{Msg: fmt.Sprintf("unable to stat SSL certificate from file '%s'", path), Err: err}
	}
	if !st.IsDir() {
		c, err := LoadFile(fsys, path)
		if err != nil {
			return nil, err
		}
		return []*Cert{c}, nil
	}
	ents, err := fsys.ReadDir(path)
	if err != nil {
		return nil, &FileError{Msg: fmt.Sprintf("unable to scan directory '%s'", path), Err: err}
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	var out []*Cert
	for _, e := range ents {
		n := e.Name()
		if ext := filepath.Ext(n); strings.Contains(n, ".") &&
			(n[0] == '.' || ext == ".issuer" || ext == ".ocsp" || ext == ".sctl" || ext == ".key") {
			continue
		}
		full := filepath.Join(path, n)
		fi, err := fsys.Stat(full)
		if err != nil {
			return nil, &FileError{Msg: fmt.Sprintf("unable to stat SSL certificate from file '%s'", full), Err: err}
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		c, err := LoadFile(fsys, full)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// LoadCAs reads a `ca-file` (PEM certificates) into a pool, with the
// certificates themselves.
func LoadCAs(fsys FS, path string) (*x509.CertPool, []*x509.Certificate, error) {
	b, err := fsys.ReadFile(path)
	if err != nil {
		return nil, nil, &FileError{Msg: fmt.Sprintf("unable to load CA file '%s'", path), Err: err}
	}
	p := x509.NewCertPool()
	var certs []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			continue // as AppendCertsFromPEM: a bad one is skipped
		}
		p.AddCert(c)
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("unable to load CA file '%s': no certificate found", path)
	}
	return p, certs, nil
}

// LoadCRL reads a `crl-file` (PEM or DER revocation lists).
func LoadCRL(fsys FS, path string) ([]*CRL, error) {
	b, err := fsys.ReadFile(path)
	if err != nil {
		return nil, &FileError{Msg: fmt.Sprintf("unable to load CRL file '%s'", path), Err: err}
	}
	var out []*CRL
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "X509 CRL" {
			continue
		}
		l, err := ParseCRL(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("unable to load CRL file '%s': %w", path, err)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		l, err := ParseCRL(b)
		if err != nil {
			return nil, fmt.Errorf("unable to load CRL file '%s': no CRL found", path)
		}
		out = append(out, l)
	}
	return out, nil
}

// OCSPShared is the OCSP response haproxy keeps for one certificate ID,
// process-wide (its cert_ocsp_tree): the last valid one loaded is
// stapled by every certificate with that ID, even one whose own FILE.ocsp
// was ignored. `set ssl ocsp-response` and `commit ssl cert` replace it
// while handshakes read it.
type OCSPShared struct {
	v atomic.Pointer[ocspStaple]
}

type ocspStaple struct {
	der   []byte
	until time.Time
}

// Load is the response (nil: none valid was loaded) and when it stops
// being stapled.
func (s *OCSPShared) Load() ([]byte, time.Time) {
	if p := s.v.Load(); p != nil {
		return p.der, p.until
	}
	return nil, time.Time{}
}

func (s *OCSPShared) store(der []byte, until time.Time) {
	s.v.Store(&ocspStaple{der: der, until: until})
}

// OCSPResponses are the OCSP responses by certificate ID (DER), haproxy's
// cert_ocsp_tree: filled at load by the binds' certificates with a
// FILE.ocsp, read by the stats socket's `show ssl ocsp-response`.
type OCSPResponses struct {
	mu sync.Mutex
	m  map[string]*OCSPShared
}

// ShareOCSP enters c, loaded for a bind after the certificates already
// in r, in the responses by certificate ID, as haproxy does at load and
// at `commit ssl cert`.
func (r *OCSPResponses) Share(c *Cert) {
	if c.ocspKey == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]*OCSPShared{}
	}
	sh := r.m[c.ocspKey]
	if sh == nil {
		sh = &OCSPShared{}
		r.m[c.ocspKey] = sh
	}
	if c.TLS.OCSPStaple != nil {
		sh.store(c.TLS.OCSPStaple, c.OCSPUntil)
	}
	c.OCSP = sh
}

// ocspKeyLen is haproxy's OCSP_MAX_CERTID_ASN1_LENGTH: its tree's keys
// are the IDs zero-padded to this length.
const ocspKeyLen = 128

// Keys are the certificate IDs, in haproxy's tree order (the IDs
// zero-padded to 128 bytes, compared as bytes).
func (r *OCSPResponses) Keys() [][]byte {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]byte, 0, len(r.m))
	for k := range r.m {
		out = append(out, []byte(k))
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(padKey(out[i]), padKey(out[j])) < 0 })
	return out
}

func padKey(k []byte) []byte {
	p := make([]byte, max(ocspKeyLen, len(k)))
	copy(p, k)
	return p
}

// Lookup finds the entry whose ID, zero-padded as haproxy's keys, is
// key zero-padded (haproxy looks up the hex given on the CLI that way).
func (r *OCSPResponses) Lookup(key []byte) ([]byte, *OCSPShared, bool) {
	if r == nil || len(key) > ocspKeyLen {
		return nil, nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	want := padKey(key)
	for k, sh := range r.m {
		if bytes.Equal(padKey([]byte(k)), want) {
			return []byte(k), sh, true
		}
	}
	return nil, nil, false
}

// Update is `set ssl ocsp-response`: the response replaces the one of
// the certificate ID it is for, when haproxy 2.6 would take it; the
// error is haproxy's message.
func (r *OCSPResponses) Update(der []byte, now time.Time) error {
	until, id, err := checkOCSPID(der, nil, now)
	if err != nil {
		return err
	}
	if len(id) > ocspKeyLen {
		return errors.New("OCSP single response: Certificate ID too long")
	}
	_, sh, ok := r.Lookup(id)
	if !ok {
		return errors.New("OCSP single response: Certificate ID does not match any certificate or issuer")
	}
	sh.store(der, until)
	return nil
}

// OCSPKeyOf is the certificate ID of the first single response of an
// OCSP response (haproxy's "OCSP Response Key" of `show ssl cert`), nil
// when it has none.
func OCSPKeyOf(der []byte) []byte {
	var r ocspResponse
	if _, err := asn1.Unmarshal(der, &r); err != nil {
		return nil
	}
	var b ocspBasicResponse
	if _, err := asn1.Unmarshal(r.Response.Response, &b); err != nil || len(b.TBSResponseData.Responses) == 0 {
		return nil
	}
	return b.TBSResponseData.Responses[0].CertID.Raw
}
