package tlsconf

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// Store picks a bind's certificate by SNI as haproxy does: an exact
// name (the SANs of each certificate, or its CN when it has no DNS SAN),
// then a wildcard "*.example.com" matching one label, then the default,
// the first certificate loaded (or none under strict-sni).
type Store struct {
	certs    []*Cert
	exact    map[string]*Cert
	wildcard map[string]*Cert // "example.com" for "*.example.com"
	strict   bool
}

// NewStore indexes certificates; the first one is the default. A name
// given by two certificates goes to the first, as haproxy keeps the
// first one inserted.
func NewStore(certs []*Cert, strictSNI bool) *Store {
	s := &Store{certs: certs, exact: map[string]*Cert{}, wildcard: map[string]*Cert{}, strict: strictSNI}
	for _, c := range certs {
		names := c.TLS.Leaf.DNSNames
		if len(names) == 0 && c.TLS.Leaf.Subject.CommonName != "" {
			names = []string{c.TLS.Leaf.Subject.CommonName}
		}
		if len(c.Filters) > 0 {
			names = c.Filters
		}
		for _, n := range names {
			n = strings.ToLower(n)
			if rest, ok := strings.CutPrefix(n, "*."); ok {
				if _, dup := s.wildcard[rest]; !dup {
					s.wildcard[rest] = c
				}
				continue
			}
			if _, dup := s.exact[n]; !dup {
				s.exact[n] = c
			}
		}
	}
	return s
}

// Certs are the certificates in load order.
func (s *Store) Certs() []*Cert { return s.certs }

// ErrNoCertificate is the handshake failure of strict-sni without a
// matching name.
var ErrNoCertificate = errors.New("no certificate for the requested server name (strict-sni)")

// Pick returns the certificate for a server name ("" when the client
// sent none).
func (s *Store) Pick(name string) (*Cert, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name != "" {
		if c := s.exact[name]; c != nil {
			return c, nil
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if c := s.wildcard[name[i+1:]]; c != nil {
				return c, nil
			}
		}
	}
	if s.strict || len(s.certs) == 0 {
		return nil, ErrNoCertificate
	}
	return s.certs[0], nil
}

// GetCertificate is tls.Config.GetCertificate.
func (s *Store) GetCertificate(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c, err := s.Pick(h.ServerName)
	if err != nil {
		return nil, err
	}
	return &c.TLS, nil
}

var dnShort = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.5": "serialNumber", "1.2.840.113549.1.9.1": "emailAddress",
	"0.9.2342.19200300.100.1.25": "DC", "2.5.4.9": "street", "2.5.4.17": "postalCode",
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

// ParseCrtList reads a crt-list file in the form gproxy implements: one
// certificate per line, optionally followed by SNI filters (exact names
// or "*.domain" wildcards); blank lines and '#' comments are skipped.
// Bracketed per-certificate options and negative filters are refused,
// with the line number. Paths are returned as written.
func ParseCrtList(data []byte) (paths []string, filters [][]string, lines []int, err error) {
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for _, w := range f[1:] {
			switch {
			case strings.HasPrefix(w, "["):
				return nil, nil, nil, fmt.Errorf("line %d: per-certificate options ('%s') are not implemented by gproxy", i+1, w)
			case strings.HasPrefix(w, "!"):
				return nil, nil, nil, fmt.Errorf("line %d: negative SNI filters ('%s') are not implemented by gproxy", i+1, w)
			case strings.Contains(w, "*") && !strings.HasPrefix(w, "*."):
				return nil, nil, nil, fmt.Errorf("line %d: SNI filter '%s': only a leading '*.' wildcard is implemented by gproxy", i+1, w)
			}
		}
		paths = append(paths, f[0])
		filters = append(filters, f[1:])
		lines = append(lines, i+1)
	}
	return paths, filters, lines, nil
}
