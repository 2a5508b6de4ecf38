package tlsconf

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// EntryOptions are the bracketed options of a crt-list line
// ("cert.pem [verify required ca-file ca.pem alpn h2] name") that gproxy
// implements, as written (paths not yet under ca-base). An empty value
// is an option the line does not set: the bind line's applies.
type EntryOptions struct {
	Verify                        string // none, optional, required
	CAFile, CAVerifyFile, CRLFile string
	ALPN                          []string
	MinVer, MaxVer                string // haproxy's names (TLSv1.2)
	// Ciphers and CipherSuites are the line's lists, which the handshakes
	// picking the line use; Curves and ECDHE are checked and shown only:
	// haproxy 2.6's handshake keeps the bind's groups (measured).
	Ciphers, CipherSuites, Curves, ECDHE string
	NoCANames                            bool // no CA names in the certificate request
}

// String is the options as haproxy 2.6's `show ssl crt-list` prints
// them (" [alpn h2\x00 verify required ...]": a NUL after the ALPN list,
// and ca-verify-file is not shown).
func (o *EntryOptions) String() string {
	if o == nil {
		return ""
	}
	var w []string
	if len(o.ALPN) > 0 {
		// haproxy 2.6 ends the protocol list with a NUL byte.
		w = append(w, "alpn "+strings.Join(o.ALPN, ",")+"\x00")
	}
	if o.Verify != "" {
		w = append(w, "verify "+o.Verify)
	}
	if o.NoCANames {
		w = append(w, "no-ca-names")
	}
	if o.CAFile != "" {
		w = append(w, "ca-file "+o.CAFile)
	}
	if o.CRLFile != "" {
		w = append(w, "crl-file "+o.CRLFile)
	}
	for _, kv := range [][2]string{{"ciphers", o.Ciphers}, {"ciphersuites", o.CipherSuites}, {"curves", o.Curves}, {"ecdhe", o.ECDHE}} {
		if kv[1] != "" {
			w = append(w, kv[0]+" "+kv[1])
		}
	}
	if o.MinVer != "" {
		w = append(w, "ssl-min-ver "+o.MinVer)
	}
	if o.MaxVer != "" {
		w = append(w, "ssl-max-ver "+o.MaxVer)
	}
	return " [" + strings.Join(w, " ") + "]"
}

// crtListKeywords are haproxy 2.6's crt-list options with the number of
// values each takes; those gproxy does not implement are refused by name.
var crtListKeywords = map[string]int{
	"allow-0rtt": 0, "alpn": 1, "ca-file": 1, "ca-verify-file": 1, "ciphers": 1, "ciphersuites": 1,
	"crl-file": 1, "curves": 1, "ecdhe": 1, "no-ca-names": 0, "npn": 1, "ssl-min-ver": 1,
	"ssl-max-ver": 1, "verify": 1,
}

// parseEntryOptions reads the words between a crt-list line's brackets.
func parseEntryOptions(words []string, line int) (*EntryOptions, error) {
	o := &EntryOptions{}
	for i := 0; i < len(words); i++ {
		kw := words[i]
		n, known := crtListKeywords[kw]
		if !known {
			return nil, fmt.Errorf("line %d: unknown ssl keyword %s", line, kw)
		}
		if i+n >= len(words) {
			return nil, fmt.Errorf("line %d: ssl args out of '[]' for %s", line, kw)
		}
		val := ""
		if n > 0 {
			val = words[i+1]
		}
		switch kw {
		case "verify":
			switch val {
			case "none", "optional", "required":
				o.Verify = val
			default:
				return nil, fmt.Errorf("line %d: 'verify' : unknown verify method '%s', only 'none', 'optional', and 'required' are supported", line, val)
			}
		case "ca-file":
			o.CAFile = val
		case "ca-verify-file":
			o.CAVerifyFile = val
		case "crl-file":
			o.CRLFile = val
		case "alpn":
			o.ALPN = strings.Split(val, ",")
		case "ssl-min-ver", "ssl-max-ver":
			if _, ok := Versions[val]; !ok {
				return nil, fmt.Errorf("line %d: '%s' : missing or invalid value '%s' (expected one of SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3)", line, kw, val)
			}
			if kw == "ssl-min-ver" {
				o.MinVer = val
			} else {
				o.MaxVer = val
			}
		case "ciphers":
			if _, err := ParseCipherList(val); err != nil {
				return nil, fmt.Errorf("line %d: 'ciphers' : %v", line, err)
			}
			o.Ciphers = val
		case "ciphersuites":
			if _, err := CheckCipherSuites(val, false); err != nil {
				return nil, fmt.Errorf("line %d: 'ciphersuites' : %v", line, err)
			}
			o.CipherSuites = val
		case "curves", "ecdhe":
			if _, _, err := ParseCurves(val); err != nil {
				return nil, fmt.Errorf("line %d: '%s' : %v", line, kw, err)
			}
			if kw == "curves" {
				o.Curves = val
			} else {
				o.ECDHE = val
			}
		case "no-ca-names":
			o.NoCANames = true
		default:
			// allow-0rtt and npn: crypto/tls has neither server 0-RTT nor NPN.
			return nil, fmt.Errorf("line %d: crt-list option '%s' is not implemented by gproxy (crypto/tls has no %s)", line, kw,
				map[string]string{"allow-0rtt": "0-RTT on the server side", "npn": "NPN"}[kw])
		}
		i += n
	}
	return o, nil
}

// Entry is what a crt-list line's options make of its bind's TLS
// settings, resolved by the configuration: Bind is the bind's settings
// with the line's verify, CA files and ALPN (as haproxy's context of the
// line), MinVersion and MaxVersion the line's versions, which haproxy
// applies only when the line's certificate is picked by the client's
// server name (not as the default).
type Entry struct {
	Bind                   *Bind
	MinVersion, MaxVersion uint16

	once          sync.Once
	byName, asDef *tls.Config
}

// Configs are the entry's tls.Configs, made once from base's clone (the
// bind's listener config): when picked by name, and as the default.
func (e *Entry) Configs(base *tls.Config) (byName, asDefault *tls.Config) {
	e.once.Do(func() {
		c := e.Bind.Config()
		d := base.Clone()
		d.GetConfigForClient = nil
		d.ClientAuth, d.ClientCAs, d.VerifyPeerCertificate, d.NextProtos = c.ClientAuth, c.ClientCAs, c.VerifyPeerCertificate, c.NextProtos
		// The line's ciphers apply whether it was picked by name or as
		// the default (haproxy's default context is the first line's).
		d.CipherSuites = c.CipherSuites
		d.VerifyConnection = c.VerifyConnection
		n := d.Clone()
		n.MinVersion, n.MaxVersion = e.MinVersion, e.MaxVersion
		// Own ticket keys for each: a session resumes only where it was
		// made, so one made under another line's CA (or none) never
		// skips this line's client certificate check.
		for _, c := range []*tls.Config{d, n} {
			var k [32]byte
			if _, err := rand.Read(k[:]); err == nil {
				c.SetSessionTicketKeys([][32]byte{k})
			} else {
				c.SessionTicketsDisabled = true
			}
		}
		e.byName, e.asDef = n, d
	})
	return e.byName, e.asDef
}

// EntryBase is what the options of a bind's crt-list lines are resolved
// against: the bind's settings once resolved and its own CA, CA-verify
// and CRL files (paths under ca-base, "" for none).
type EntryBase struct {
	Settings                      *Bind
	CAFile, CAVerifyFile, CRLFile string
	CABase                        string
	// LowVersions is set when the bind's ciphers hold @SECLEVEL=0: OpenSSL
	// 3 allows versions below TLSv1.2 then.
	LowVersions bool
}

// Errors of ResolveEntry.
var (
	// ErrEntryNoCA is a line that verifies without a CA file.
	ErrEntryNoCA = errors.New("verify is enabled but no CA file specified")
	// ErrEntryNoVersion is a line whose versions leave none.
	ErrEntryNoVersion = errors.New("no SSL/TLS version is enabled (ssl-min-ver above ssl-max-ver, or only versions below TLSv1.2, which OpenSSL 3 refuses)")
)

// ResolveEntry makes a crt-list line's settings as haproxy 2.6 makes the
// line's context: its verify, CA and CRL files (relative paths under
// ca-base) and ALPN over the bind's, and its ssl-min-ver/ssl-max-ver
// over the bind's resolved versions. load finds a CA or CRL file by path
// (from disk at start-up, among the loaded ones on the stats socket).
func ResolveEntry(base *EntryBase, o *EntryOptions, load func(path string, kind CAKind) (*CAFile, error)) (*Entry, error) {
	set := base.Settings
	eb := *set
	eb.Files = nil
	if o.Verify != "" {
		eb.Verify = o.Verify
	}
	if len(o.ALPN) > 0 {
		eb.ALPN = o.ALPN
	}
	under := func(p string) string {
		if base.CABase == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "@") {
			return p
		}
		return base.CABase + "/" + p
	}
	caFile, verFile, crlFile := base.CAFile, base.CAVerifyFile, base.CRLFile
	if o.CAFile != "" {
		caFile = under(o.CAFile)
	}
	if o.CAVerifyFile != "" {
		verFile = under(o.CAVerifyFile)
	}
	if o.CRLFile != "" {
		crlFile = under(o.CRLFile)
	}
	files := &BindFiles{}
	for _, f := range []struct {
		own  bool
		path string
		kind CAKind
		dst  **CAFile
	}{{o.CAFile != "", caFile, KindCA, &files.CA}, {o.CAVerifyFile != "", verFile, KindCA, &files.Verify}, {o.CRLFile != "", crlFile, KindCRL, &files.CRL}} {
		// The line's own files are loaded whatever verify says, as
		// haproxy loads them while reading the line.
		if f.path == "" || (!f.own && eb.Verify == "none") {
			continue
		}
		cf, err := load(f.path, f.kind)
		if err != nil {
			return nil, err
		}
		*f.dst = cf
	}
	if eb.Verify != "none" {
		if caFile == "" && verFile == "" {
			return nil, ErrEntryNoCA
		}
		eb.Files = files
	}
	lo, hi := set.MinVersion, set.MaxVersion
	if o.MinVer != "" {
		lo = Versions[o.MinVer]
	}
	if o.MaxVer != "" {
		hi = Versions[o.MaxVer]
	}
	// As for the bind: OpenSSL 3's security level (set by the bind's
	// ciphers, which the handshake keeps) refuses what is below TLSv1.2.
	if lo < tls.VersionTLS12 && !base.LowVersions {
		lo = tls.VersionTLS12
	}
	lo = max(lo, tls.VersionTLS10)
	if lo > hi {
		return nil, ErrEntryNoVersion
	}
	if o.Ciphers != "" {
		cl, err := ParseCipherList(o.Ciphers)
		if err != nil {
			return nil, fmt.Errorf("'ciphers' : %w", err)
		}
		if len(cl.Dropped) > 0 {
			// The bind warns and goes on; a line has no warning channel,
			// so what gproxy would leave out is refused.
			return nil, fmt.Errorf("'ciphers' : %s not implemented by gproxy (crypto/tls): remove them from the line", strings.Join(cl.Dropped, ", "))
		}
		eb.Suites = cl.Suites
	}
	if o.CipherSuites != "" {
		dropped, err := CheckCipherSuites(o.CipherSuites, hi >= tls.VersionTLS13)
		if err != nil {
			return nil, fmt.Errorf("'ciphersuites' : %w", err)
		}
		if len(dropped) > 0 {
			return nil, fmt.Errorf("'ciphersuites' : %s not implemented by gproxy (crypto/tls): remove them from the line", strings.Join(dropped, ", "))
		}
		if Restricts13(set.Suites13) {
			// The bind takes suites out of every ClientHello before the
			// line is picked; what a line's own list then does under
			// haproxy was not measured.
			return nil, fmt.Errorf("'ciphersuites' : a crt-list line's own list under a bind whose 'ciphersuites' names fewer than three TLS 1.3 suites is not implemented by gproxy")
		}
	}
	if o.NoCANames {
		eb.NoCANames = true
	}
	return &Entry{Bind: &eb, MinVersion: lo, MaxVersion: hi}, nil
}
