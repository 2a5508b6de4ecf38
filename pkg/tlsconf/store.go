package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store picks a bind's certificate as haproxy 2.6 does: among the
// certificates whose names (the DNS SANs and CNs of each, or its crt-list
// filters) match the SNI exactly or by a wildcard
// "*.example.com" of one label, the first ECDSA one when the client can
// use it, else the first RSA one when it can, else the first of another
// kind, else any; without a match, the default, the first certificate
// loaded (none under strict-sni).
//
// The certificates can be replaced while handshakes go on (`commit ssl
// cert`): a handshake sees the set before or after, never a mix.
type Store struct {
	idx    atomic.Pointer[storeIndex]
	mu     sync.Mutex // serializes Replace
	strict bool
	maxVer atomic.Uint32 // the bind's ssl-max-ver, 0 for TLS 1.3
}

// SetMaxVersion tells the store its bind's highest TLS version.
func (s *Store) SetMaxVersion(v uint16) { s.maxVer.Store(uint32(v)) }

// maxVersion is the highest version a handshake of the bind can reach.
func (s *Store) maxVersion(*tls.ClientHelloInfo) uint16 {
	if v := uint16(s.maxVer.Load()); v != 0 {
		return v
	}
	return tls.VersionTLS13
}

type storeIndex struct {
	certs    []*Cert
	def      *Cert // the default: the first loaded, nil for none
	exact    map[string][]*Cert
	wildcard map[string][]*Cert // "example.com" for "*.example.com"
}

// NewStore indexes certificates in load order; the first is the default.
func NewStore(certs []*Cert, strictSNI bool) *Store {
	s := &Store{strict: strictSNI}
	for _, c := range certs {
		c.ensureID()
	}
	s.idx.Store(newIndex(certs))
	return s
}

// Replace puts c in the place of every certificate loaded from c.Path
// (each keeping its crt-list filters), for the handshakes that start
// afterwards, as haproxy's `commit ssl cert`; it returns how many places
// it took (haproxy's certificate instances).
func (s *Store) Replace(c *Cert) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldIx := s.idx.Load()
	certs := make([]*Cert, len(oldIx.certs))
	n := 0
	def := oldIx.def
	for i, o := range oldIx.certs {
		certs[i] = o
		if o.Path == c.Path {
			nc := *c
			nc.Filters, nc.Entry, nc.id = o.Filters, o.Entry, o.id
			certs[i] = &nc
			if o == oldIx.def {
				def = &nc
			}
			n++
		}
	}
	if n > 0 {
		ix := newIndex(certs)
		ix.def = def
		s.idx.Store(ix)
	}
	return n
}

func newIndex(certs []*Cert) *storeIndex {
	s := &storeIndex{certs: certs, exact: map[string][]*Cert{}, wildcard: map[string][]*Cert{}}
	if len(certs) > 0 {
		s.def = certs[0]
	}
	for _, c := range certs {
		// The DNS SANs then every CN, as haproxy 2.6 indexes them.
		names := append([]string(nil), c.TLS.Leaf.DNSNames...)
		for _, atv := range c.TLS.Leaf.Subject.Names {
			if v, ok := atv.Value.(string); ok && atv.Type.Equal(oidCommonName) {
				names = append(names, v)
			}
		}
		if len(c.Filters) > 0 {
			names = positiveFilters(c.Filters)
		}
		for _, n := range names {
			n = strings.ToLower(n)
			if rest, ok := strings.CutPrefix(n, "*."); ok {
				s.wildcard[rest] = append(s.wildcard[rest], c)
				continue
			}
			s.exact[n] = append(s.exact[n], c)
		}
	}
	return s
}

// Certs are the certificates in load order.
func (s *Store) Certs() []*Cert { return s.idx.Load().certs }

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// ErrNoCertificate is the handshake failure of strict-sni without a
// matching name.
var ErrNoCertificate = errors.New("no certificate for the requested server name (strict-sni)")

// Client is what the choice between an ECDSA and an RSA certificate looks
// at in the ClientHello.
type Client struct {
	ECDSA, RSA bool
}

// ClientOf reads a ClientHello as haproxy's certificate switch does: the
// signature algorithms extension tells ECDSA and RSA (PKCS#1) apart, a
// client without it is taken as RSA, and ECDSA counts only when the client
// also offers a cipher suite authenticated by ECDSA (so a TLS 1.3-only
// client gets the RSA certificate when there is one).
func ClientOf(h *tls.ClientHelloInfo) Client {
	var c Client
	if len(h.SignatureSchemes) == 0 {
		c.RSA = true
	}
	for _, sc := range h.SignatureSchemes {
		switch sc & 0xff {
		case 1:
			c.RSA = true
		case 3:
			c.ECDSA = true
		}
	}
	if c.ECDSA {
		c.ECDSA = false
		for _, id := range h.CipherSuites {
			if ecdsaSuites[id] {
				c.ECDSA = true
				break
			}
		}
	}
	return c
}

// ecdsaSuites are the TLS 1.2 and older suites authenticated by ECDSA that
// OpenSSL 3.0 knows.
var ecdsaSuites = map[uint16]bool{
	0xc006: true, 0xc007: true, 0xc008: true, 0xc009: true, 0xc00a: true, // NULL, RC4, 3DES, AES-CBC
	0xc023: true, 0xc024: true, 0xc02b: true, 0xc02c: true, 0xcca9: true, // AES-SHA2, GCM, ChaCha20
	0xc0ac: true, 0xc0ad: true, 0xc0ae: true, 0xc0af: true, // CCM
	0xc05c: true, 0xc05d: true, 0xc072: true, 0xc073: true, // ARIA, Camellia
}

type keyKind int

const (
	kindOther keyKind = iota
	kindRSA
	kindECDSA
)

func kindOf(c *Cert) keyKind {
	switch c.TLS.Leaf.PublicKeyAlgorithm {
	case x509.RSA:
		return kindRSA
	case x509.ECDSA:
		return kindECDSA
	}
	return kindOther
}

// Pick returns the certificate for a server name ("" when the client
// sent none) and a client's abilities.
func (s *Store) Pick(name string, cl Client) (*Cert, error) {
	c, _, err := s.PickNamed(name, cl)
	return c, err
}

// PickNamed is Pick, telling also whether the certificate was picked by
// the name (false for the default).
func (s *Store) PickNamed(name string, cl Client) (*Cert, bool, error) {
	ix := s.idx.Load()
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name != "" {
		// The first of each kind among the exact names, then the
		// wildcards: an exact RSA certificate and a wildcard ECDSA one
		// both stay candidates, as in haproxy.
		var first [3]*Cert
		note := func(cs []*Cert, wild bool) {
			for _, c := range cs {
				if wild && negates(c, name) {
					continue
				}
				if k := kindOf(c); first[k] == nil {
					first[k] = c
				}
			}
		}
		note(ix.exact[name], false)
		if i := strings.IndexByte(name, '.'); i > 0 {
			note(ix.wildcard[name[i+1:]], true)
		}
		switch {
		case cl.ECDSA && first[kindECDSA] != nil:
			return first[kindECDSA], true, nil
		case cl.RSA && first[kindRSA] != nil:
			return first[kindRSA], true, nil
		case first[kindOther] != nil:
			return first[kindOther], true, nil
		case first[kindECDSA] != nil:
			return first[kindECDSA], true, nil
		case first[kindRSA] != nil:
			return first[kindRSA], true, nil
		}
	}
	if s.strict || ix.def == nil {
		return nil, false, ErrNoCertificate
	}
	return ix.def, false, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (s *Store) GetCertificate(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c, err := s.Pick(h.ServerName, ClientOf(h))
	if err != nil {
		return nil, err
	}
	staple, until := c.TLS.OCSPStaple, c.OCSPUntil
	if c.OCSP != nil {
		staple, until = c.OCSP.Load()
	}
	if staple != nil && !until.IsZero() && time.Now().After(until) {
		staple = nil // haproxy's stapling callback sends no expired response
	}
	// OpenSSL sends FILE.sctl's SCTs as a custom extension, which it
	// adds in TLS 1.2 only.
	noSCT := len(c.TLS.SignedCertificateTimestamps) > 0 && slices.Contains(h.SupportedVersions, tls.VersionTLS13) && s.maxVersion(h) >= tls.VersionTLS13
	if !bytes.Equal(staple, c.TLS.OCSPStaple) || noSCT {
		t := c.TLS
		t.OCSPStaple = staple
		if noSCT {
			t.SignedCertificateTimestamps = nil
		}
		return &t, nil
	}
	return &c.TLS, nil
}

var dnShort = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.5": "serialNumber", "1.2.840.113549.1.9.1": "emailAddress",
	"0.9.2342.19200300.100.1.25": "DC", "2.5.4.9": "street", "2.5.4.17": "postalCode",
	"2.5.4.4": "SN", "2.5.4.42": "GN", "2.5.4.12": "title", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier",
	"2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "0.9.2342.19200300.100.1.1": "UID", "2.5.4.13": "description",
	"2.5.4.15": "businessCategory", "2.5.4.97": "organizationIdentifier", "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST", "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
}

// DN prints a distinguished name as haproxy's ssl_c_s_dn does (OpenSSL's
// X509_NAME_oneline): "/C=FR/O=Example/CN=www.example.com", in the
// certificate's order.
func DN(seq pkix.RDNSequence) string {
	var b strings.Builder
	for _, rdn := range seq {
		for _, atv := range rdn {
			k := dnShort[atv.Type.String()]
			if k == "" {
				k = atv.Type.String()
			}
			b.WriteByte('/')
			b.WriteString(k)
			b.WriteByte('=')
			switch v := atv.Value.(type) {
			case string:
				b.WriteString(v)
			case asn1.RawValue:
				b.Write(v.Bytes)
			default:
				b.WriteString("?")
			}
		}
	}
	return b.String()
}

// RawDN is DN of a certificate's raw Subject or Issuer: every attribute
// in the certificate's order (pkix.Name drops those Go does not know,
// such as emailAddress).
func RawDN(raw []byte) string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(raw, &seq); err != nil {
		return ""
	}
	return DN(seq)
}

// DN2253 prints a distinguished name as OpenSSL's X509_NAME_print_ex with
// XN_FLAG_RFC2253 (haproxy's ssl_c_s_dn(,,rfc2253)): the last RDN first,
// ',' between RDNs and '+' inside one, OpenSSL's short names, RFC 2253
// escapes, bytes outside printable ASCII as \XX, and attributes without a
// short name as OID=#DER-hex.
func DN2253(seq pkix.RDNSequence) string {
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i != len(seq)-1 {
			b.WriteByte(',')
		}
		// Entry by entry from the last (XN_FLAG_DN_REV), so the values of
		// a multi-valued RDN are reversed too.
		for j := len(seq[i]) - 1; j >= 0; j-- {
			atv := seq[i][j]
			if j != len(seq[i])-1 {
				b.WriteByte('+')
			}
			k, known := dnShort[atv.Type.String()]
			v, isStr := atv.Value.(string)
			if !known || !isStr {
				der, err := asn1.Marshal(atv.Value)
				if err != nil {
					continue
				}
				fmt.Fprintf(&b, "%s=#%X", atv.Type.String(), der)
				continue
			}
			b.WriteString(k)
			b.WriteByte('=')
			for n := 0; n < len(v); n++ {
				c := v[n]
				switch {
				case c < 0x20 || c >= 0x7f:
					fmt.Fprintf(&b, "\\%02X", c)
				case strings.IndexByte(",+\"\\<>;", c) >= 0,
					n == 0 && (c == '#' || c == ' '),
					n == len(v)-1 && c == ' ':
					b.WriteByte('\\')
					b.WriteByte(c)
				default:
					b.WriteByte(c)
				}
			}
		}
	}
	return b.String()
}

// positiveFilters are the names a crt-list line's certificate is picked
// by: its filters less the negative ones, which never match by
// themselves ("!*" is a no-op that only keeps the certificate's own
// names out).
func positiveFilters(filters []string) []string {
	var out []string
	for _, f := range filters {
		if !strings.HasPrefix(f, "!") {
			out = append(out, f)
		}
	}
	return out
}

// negates tells whether c's crt-list line excludes name ("!name"), which
// haproxy 2.6 applies to the line's wildcard filters.
func negates(c *Cert, name string) bool {
	for _, f := range c.Filters {
		if n, ok := strings.CutPrefix(f, "!"); ok && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// CrtListLine is one line of a crt-list file.
type CrtListLine struct {
	Path    string   // as written; "" for a line of blanks (see ParseCrtList)
	Filters []string // SNI filters
	Line    int
	Opts    *EntryOptions // the bracketed options, nil without brackets
}

// ParseCrtList reads a crt-list file in the form gproxy implements: one
// certificate per line, optionally followed by bracketed options (see
// EntryOptions) and SNI filters (exact names or "*.domain" wildcards,
// "!name" or "!*" negative ones); empty lines and lines starting with '#'
// are skipped, a line of blanks is returned as path "" at line 0 (see
// loadCrtList). Options gproxy does not implement and negative wildcards
// are refused, with the line number. Paths are returned as written.
func ParseCrtList(data []byte) ([]CrtListLine, error) {
	var out []CrtListLine
	for i, line := range strings.Split(string(data), "\n") {
		// As haproxy 2.6: only a line starting with '#' is a comment.
		if line == "" || line[0] == '#' || line[0] == '\r' {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			// A line of blanks: haproxy 2.6 reuses the certificate of the
			// line before when its path was under crt-base; the caller
			// decides (path "", line 0).
			out = append(out, CrtListLine{})
			continue
		}
		l, err := parseCrtListLine(line, i+1)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// parseCrtListLine splits a line as haproxy 2.6's crtlist_parse_line:
// blanks, '[' and ']' separate words; the brackets, after the
// certificate, hold the options.
func parseCrtListLine(line string, n int) (CrtListLine, error) {
	var words []string
	open, close := -1, -1
	cur := -1 // start of the current word
	flush := func(end int) {
		if cur >= 0 {
			words = append(words, line[cur:end])
			cur = -1
		}
	}
	for j := 0; j < len(line); j++ {
		switch c := line[j]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			flush(j)
		case c == '[':
			flush(j)
			if open >= 0 {
				return CrtListLine{}, fmt.Errorf("line %d: too many '['", n)
			}
			if len(words) == 0 {
				return CrtListLine{}, fmt.Errorf("line %d: file must start with a cert", n)
			}
			open = len(words)
		case c == ']':
			flush(j)
			if close >= 0 {
				return CrtListLine{}, fmt.Errorf("line %d: too many ']'", n)
			}
			if open < 0 {
				return CrtListLine{}, fmt.Errorf("line %d: missing '['", n)
			}
			close = len(words)
		default:
			if cur < 0 {
				cur = j
			}
		}
	}
	flush(len(line))
	l := CrtListLine{Path: words[0], Line: n}
	filters := words[1:]
	if open >= 0 {
		if open > 1 {
			// haproxy 2.6 drops the words between the certificate and '['.
			return CrtListLine{}, fmt.Errorf("line %d: words between the certificate and '[': not implemented by gproxy", n)
		}
		if close < 0 {
			// haproxy 2.6 takes the words after '[' as filters then.
			return CrtListLine{}, fmt.Errorf("line %d: '[' without ']': not implemented by gproxy", n)
		}
		o, err := parseEntryOptions(words[open:close], n)
		if err != nil {
			return CrtListLine{}, err
		}
		l.Opts = o
		filters = words[close:]
	}
	for _, w := range filters {
		switch {
		case w == "!*", strings.HasPrefix(w, "!") && !strings.Contains(w, "*"):
			// A negative filter: its line's certificate is not picked
			// by that name, and without positive filters it is picked
			// by none (only as the default).
		case strings.HasPrefix(w, "!"):
			return CrtListLine{}, fmt.Errorf("line %d: negative SNI filter '%s': only '!*' and exact names are implemented by gproxy", n, w)
		case strings.Contains(w, "*") && !strings.HasPrefix(w, "*."):
			return CrtListLine{}, fmt.Errorf("line %d: SNI filter '%s': only a leading '*.' wildcard is implemented by gproxy", n, w)
		}
	}
	l.Filters = filters
	return l, nil
}

// ParseCrtListLine reads one crt-list line given on the stats socket
// (`add ssl crt-list LIST <<`), its errors worded as haproxy's
// ("parsing [CLI:1]: ...").
func ParseCrtListLine(line string) (CrtListLine, error) {
	if len(strings.Fields(line)) == 0 {
		return CrtListLine{}, nil
	}
	l, err := parseCrtListLine(line, 1)
	if err != nil {
		return l, errors.New("parsing [CLI:1]: " + strings.TrimPrefix(err.Error(), "line 1: "))
	}
	return l, nil
}
