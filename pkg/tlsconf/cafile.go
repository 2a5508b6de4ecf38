package tlsconf

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// CAKind tells what a CAFile holds: CA certificates (`ca-file`,
// `ca-verify-file`) or revocation lists (`crl-file`).
type CAKind int

// The kinds of CA files.
const (
	KindCA CAKind = iota
	KindCRL
)

// CAContents is what a CA or CRL file holds, in the order OpenSSL's
// X509_STORE keeps it (haproxy's `show ssl ca-file NAME:INDEX` counts in
// that order): certificates before revocation lists, duplicates dropped.
type CAContents struct {
	Certs []*x509.Certificate
	CRLs  []*CRL
	// Pool holds Certs, for verification.
	Pool *x509.CertPool
}

// NewCAContents orders certs and crls as OpenSSL's store does when they
// are added one by one (each addition sorts what was there before, by
// OpenSSL's canonical subject or issuer name, to look for a duplicate,
// then appends).
func NewCAContents(certs []*x509.Certificate, crls []*CRL) *CAContents {
	c := &CAContents{Pool: x509.NewCertPool()}
	type obj struct {
		cert  *x509.Certificate
		crl   *CRL
		canon []byte
		hash  [20]byte
	}
	var objs []obj
	sorted := true
	less := func(a, b obj) int {
		if (a.cert == nil) != (b.cert == nil) {
			if a.cert != nil {
				return -1
			}
			return 1
		}
		if len(a.canon) != len(b.canon) {
			return len(a.canon) - len(b.canon)
		}
		return bytes.Compare(a.canon, b.canon)
	}
	add := func(o obj) {
		if !sorted {
			sort.SliceStable(objs, func(i, j int) bool { return less(objs[i], objs[j]) < 0 })
			sorted = true
		}
		for _, e := range objs {
			if less(e, o) == 0 && e.hash == o.hash {
				return
			}
		}
		objs = append(objs, o)
		sorted = len(objs) < 2
	}
	for _, x := range certs {
		add(obj{cert: x, canon: canonName(x.RawSubject), hash: sha1.Sum(x.Raw)})
	}
	for _, l := range crls {
		add(obj{crl: l, canon: canonName(l.RawIssuer), hash: sha1.Sum(l.raw)})
	}
	for _, o := range objs {
		if o.cert != nil {
			c.Certs = append(c.Certs, o.cert)
			c.Pool.AddCert(o.cert)
		} else {
			c.CRLs = append(c.CRLs, o.crl)
		}
	}
	return c
}

// canonName is OpenSSL's canonical encoding of a name (x509_name_canon):
// string values as UTF-8, trimmed, inner blanks folded to one space,
// ASCII lowercased; the RDN sets encoded one after another. Names are
// ordered by its length, then its bytes.
func canonName(raw []byte) []byte {
	var rdns []asn1.RawValue
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(raw, &seq); err != nil {
		return raw
	}
	for rest := seq.Bytes; len(rest) > 0; {
		var set asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &set); err != nil {
			return raw
		}
		rdns = append(rdns, set)
	}
	var out []byte
	for _, set := range rdns {
		var atvs [][]byte
		for rest := set.Bytes; len(rest) > 0; {
			var atv struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			var err error
			if rest, err = asn1.Unmarshal(rest, &atv); err != nil {
				return raw
			}
			v := atv.Value.FullBytes
			switch atv.Value.Tag {
			case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String,
				26 /* VisibleString */, asn1.TagBMPString, 28 /* UniversalString */ :
				s := decodeString(atv.Value.Tag, atv.Value.Bytes)
				v, _ = asn1.MarshalWithParams(canonString(s), "utf8")
			}
			oid, _ := asn1.Marshal(atv.Type)
			body := append(oid, v...)
			atvs = append(atvs, append(derHeader(0x30, len(body)), body...))
		}
		// A SET OF is encoded in DER order.
		sort.Slice(atvs, func(i, j int) bool { return bytes.Compare(atvs[i], atvs[j]) < 0 })
		body := bytes.Join(atvs, nil)
		out = append(out, derHeader(0x31, len(body))...)
		out = append(out, body...)
	}
	return out
}

func derHeader(tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return []byte{tag, byte(n)}
	case n < 0x100:
		return []byte{tag, 0x81, byte(n)}
	}
	return []byte{tag, 0x82, byte(n >> 8), byte(n)}
}

func decodeString(tag int, b []byte) string {
	switch tag {
	case asn1.TagBMPString:
		var r []rune
		for i := 0; i+1 < len(b); i += 2 {
			r = append(r, rune(b[i])<<8|rune(b[i+1]))
		}
		return string(r)
	case 28:
		var r []rune
		for i := 0; i+3 < len(b); i += 4 {
			r = append(r, rune(b[i])<<24|rune(b[i+1])<<16|rune(b[i+2])<<8|rune(b[i+3]))
		}
		return string(r)
	case asn1.TagT61String:
		// OpenSSL takes T61String as Latin-1.
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	if !utf8.Valid(b) {
		return string(b)
	}
	return string(b)
}

// canonString folds blanks and ASCII case as OpenSSL's asn1_string_canon.
func canonString(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' }
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	var b strings.Builder
	for k := i; k < j; k++ {
		c := s[k]
		if isSpace(c) {
			for k+1 < j && isSpace(s[k+1]) {
				k++
			}
			b.WriteByte(' ')
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// CAFile is one CA or CRL file as haproxy keeps it in memory (its
// cafile_tree): loaded once whatever number of bind lines and servers
// name it, and replaced as a whole by the stats socket's `commit ssl
// ca-file`/`crl-file` for the handshakes that start afterwards.
type CAFile struct {
	Path string
	Kind CAKind
	cur  atomic.Pointer[CAContents]
}

// NewCAFile is a file of the kind with its contents (nil: empty, as
// `new ssl ca-file` creates it).
func NewCAFile(path string, kind CAKind, c *CAContents) *CAFile {
	f := &CAFile{Path: path, Kind: kind}
	if c != nil {
		f.cur.Store(c)
	}
	return f
}

// Load is the file's current contents; nil when empty.
func (f *CAFile) Load() *CAContents {
	if f == nil {
		return nil
	}
	return f.cur.Load()
}

// Store replaces the contents.
func (f *CAFile) Store(c *CAContents) { f.cur.Store(c) }

// ParseCAPayload reads PEM certificates and revocation lists (a `set ssl
// ca-file` or `crl-file` payload, or a file's text), as OpenSSL's
// PEM_X509_INFO_read_bio: a block that does not parse fails the whole.
func ParseCAPayload(b []byte) (*CAContents, error) {
	var certs []*x509.Certificate
	var crls []*CRL
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, err
			}
			certs = append(certs, c)
		case "X509 CRL":
			l, err := ParseCRL(blk.Bytes)
			if err != nil {
				return nil, err
			}
			crls = append(crls, l)
		default:
			continue
		}
		n++
	}
	if n == 0 {
		return nil, errors.New("no certificate or CRL found")
	}
	return NewCAContents(certs, crls), nil
}

// SystemCADir is OpenSSL's default certificate directory, which
// haproxy's `@system-ca` names.
var SystemCADir = "/usr/lib/ssl/certs"

// LoadSystemCAs reads @system-ca as haproxy 2.6 does: the first
// certificate of each .pem, .crt, .cer or .crl file of the directory, in
// name order, skipping those that do not load.
func LoadSystemCAs(dir string) (*CAContents, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, e := range ents {
		n := e.Name()
		switch filepath.Ext(n) {
		case ".pem", ".crt", ".cer", ".crl":
		default:
			continue
		}
		if n[0] == '.' {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		for rest := b; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" && blk.Type != "TRUSTED CERTIFICATE" && blk.Type != "X509 CERTIFICATE" {
				continue
			}
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				certs = append(certs, c)
			}
			break
		}
	}
	return NewCAContents(certs, nil), nil
}

// CAFiles are a configuration's CA and CRL files by path, each loaded
// once; Lazy ones (@system-ca for haproxy's internal HTTP client) are
// read the first time they are looked at.
type CAFiles struct {
	mu    sync.Mutex
	files map[string]*CAFile
	lazy  map[string]func() (*CAContents, error)
}

// Get is the file of path; nil when unknown.
func (fs *CAFiles) Get(path string) *CAFile {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.getLocked(path)
}

func (fs *CAFiles) getLocked(path string) *CAFile {
	if f := fs.files[path]; f != nil {
		return f
	}
	if load := fs.lazy[path]; load != nil {
		delete(fs.lazy, path)
		c, err := load()
		if err != nil {
			return nil
		}
		f := NewCAFile(path, KindCA, c)
		fs.putLocked(f)
		return f
	}
	return nil
}

func (fs *CAFiles) putLocked(f *CAFile) {
	if fs.files == nil {
		fs.files = map[string]*CAFile{}
	}
	fs.files[f.Path] = f
}

// Put adds or replaces a file.
func (fs *CAFiles) Put(f *CAFile) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.putLocked(f)
}

// PutLazy names a CA file read at its first use.
func (fs *CAFiles) PutLazy(path string, load func() (*CAContents, error)) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.lazy == nil {
		fs.lazy = map[string]func() (*CAContents, error){}
	}
	fs.lazy[path] = load
}

// Delete removes a file.
func (fs *CAFiles) Delete(path string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	delete(fs.files, path)
	delete(fs.lazy, path)
}

// All are the files sorted by path, as haproxy walks its tree.
func (fs *CAFiles) All() []*CAFile {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for p := range fs.lazy {
		fs.getLocked(p)
	}
	out := make([]*CAFile, 0, len(fs.files))
	for _, f := range fs.files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Load reads path as a file of kind once, returning the shared CAFile.
func (fs *CAFiles) Load(fsys FS, path string, kind CAKind) (*CAFile, error) {
	if f := fs.Get(path); f != nil {
		return f, nil
	}
	var c *CAContents
	switch kind {
	case KindCA:
		_, certs, err := LoadCAs(fsys, path)
		if err != nil {
			return nil, err
		}
		c = NewCAContents(certs, nil)
	case KindCRL:
		crls, err := LoadCRL(fsys, path)
		if err != nil {
			return nil, err
		}
		c = NewCAContents(nil, crls)
	}
	f := NewCAFile(path, kind, c)
	fs.Put(f)
	return f, nil
}

// CRLSigName is OpenSSL's long name of a revocation list's signature
// algorithm, as `show ssl crl-file` prints it.
func (l *CRL) CRLSigName() string {
	if n, ok := sigLongNames[l.sigAlg.String()]; ok {
		return n
	}
	return l.sigAlg.String()
}

var sigLongNames = map[string]string{
	"1.2.840.113549.1.1.5": "sha1WithRSAEncryption", "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
	"1.2.840.113549.1.1.12": "sha384WithRSAEncryption", "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
	"1.2.840.10045.4.1": "ecdsa-with-SHA1", "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
	"1.2.840.10045.4.3.3": "ecdsa-with-SHA384", "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
	"1.3.101.112": "ED25519",
}

// Version is the list's version as `openssl crl` prints it (1 or 2).
func (l *CRL) Version() int { return l.version + 1 }
