package tlsconf

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"
)

// suite is one TLS 1.0-1.2 cipher suite crypto/tls implements, with the
// attributes OpenSSL's cipher-string aliases select on (as `openssl
// ciphers -v` prints them).
type suite struct {
	id    uint16
	name  string // OpenSSL's name
	kx    string // "RSA" or "ECDH"
	au    string // "RSA" or "ECDSA"
	enc   string // "AES128", "AES256", "AESGCM128", "AESGCM256", "CHACHA20"
	mac   string // "SHA1" or "AEAD"
	tls12 bool   // needs TLS 1.2 (GCM, ChaCha20); else usable from TLS 1.0
}

// suites are the secure TLS 1.0-1.2 suites of crypto/tls
// (tls.CipherSuites()). Its CBC-SHA256 and 3DES/RC4 suites are left out
// on purpose: crypto/tls calls them insecure (its CBC-SHA256 is not
// constant time), so offering them would be weaker than OpenSSL.
var suites = []suite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDH", "ECDSA", "AESGCM128", "AEAD", true},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", "ECDH", "RSA", "AESGCM128", "AEAD", true},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDH", "ECDSA", "AESGCM256", "AEAD", true},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", "ECDH", "RSA", "AESGCM256", "AEAD", true},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDH", "ECDSA", "CHACHA20", "AEAD", true},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", "ECDH", "RSA", "CHACHA20", "AEAD", true},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA", "ECDH", "ECDSA", "AES128", "SHA1", false},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA", "ECDH", "RSA", "AES128", "SHA1", false},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA", "ECDH", "ECDSA", "AES256", "SHA1", false},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA", "ECDH", "RSA", "AES256", "SHA1", false},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", "RSA", "RSA", "AESGCM128", "AEAD", true},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384", "RSA", "RSA", "AESGCM256", "AEAD", true},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", "RSA", "RSA", "AES128", "SHA1", false},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", "RSA", "RSA", "AES256", "SHA1", false},
}

// matches reports whether suite s is selected by one OpenSSL alias or
// cipher name (the parts of "ECDH+AESGCM" are ANDed by the caller).
// known is false for a word that selects nothing crypto/tls can do.
func (s suite) matches(word string) (match, known bool) {
	// known is kept for tests that check the alias table.
	if word == s.name {
		return true, true
	}
	is := func(b bool) (bool, bool) { return b, true }
	switch word {
	case "ALL", "DEFAULT", "HIGH":
		// Every suite here is in OpenSSL 3's ALL, DEFAULT and HIGH.
		return true, true
	case "kRSA":
		return is(s.kx == "RSA")
	case "RSA":
		// OpenSSL's "RSA" is RSA key exchange with RSA authentication.
		return is(s.kx == "RSA" && s.au == "RSA")
	case "aRSA":
		return is(s.au == "RSA")
	case "kECDHE", "kEECDH", "ECDH", "ECDHE", "EECDH":
		return is(s.kx == "ECDH")
	case "aECDSA", "ECDSA":
		return is(s.au == "ECDSA")
	case "AES":
		return is(strings.HasPrefix(s.enc, "AES"))
	case "AES128":
		return is(s.enc == "AES128" || s.enc == "AESGCM128")
	case "AES256":
		return is(s.enc == "AES256" || s.enc == "AESGCM256")
	case "AESGCM":
		return is(strings.HasPrefix(s.enc, "AESGCM"))
	case "CHACHA20":
		return is(s.enc == "CHACHA20")
	case "SHA1", "SHA":
		return is(s.mac == "SHA1")
	case "SHA256", "SHA384":
		// MAC aliases: the AEAD suites' MAC is "AEAD" in OpenSSL, and
		// the CBC-SHA256/384 suites are not offered here.
		return false, true
	case "TLSv1.2":
		return is(s.tls12)
	case "SSLv3":
		// The protocol a suite first appeared in: RSA with AES-CBC-SHA.
		return is(!s.tls12 && s.kx == "RSA")
	case "TLSv1", "TLSv1.0":
		return is(!s.tls12 && s.kx == "ECDH")
	case "aNULL", "eNULL", "NULL", "COMPLEMENTOFDEFAULT", "COMPLEMENTOFALL",
		"MEDIUM", "LOW", "EXPORT", "RC4", "DES", "3DES", "MD5", "IDEA", "SEED",
		"CAMELLIA", "CAMELLIA128", "CAMELLIA256", "ARIA", "ARIA128", "ARIA256", "ARIAGCM",
		"AESCCM", "AESCCM8", "PSK", "kPSK", "kECDHEPSK", "kDHEPSK", "kRSAPSK", "aPSK",
		"SRP", "kSRP", "aSRP", "DSS", "aDSS", "DH", "kDH", "kDHE", "kEDH", "DHE", "EDH",
		"ADH", "AECDH", "aDH", "aECDH", "kDHr", "kDHd", "kECDHr", "kECDHe", "aGOST",
		"aGOST01", "kGOST", "GOST89MAC", "GOST94", "SUITEB128", "SUITEB128ONLY", "SUITEB192",
		"CBC3", "aNULL+eNULL", "kFZA", "aFZA", "eFZA", "FZA", "SSLv2", "EXP", "TLSv1.3":
		// Aliases OpenSSL knows that select nothing crypto/tls implements
		// (TLSv1.3 suites are set by `ciphersuites`, not here).
		return false, true
	}
	return false, false
}

// CipherList is the result of evaluating an OpenSSL cipher string.
type CipherList struct {
	// Suites are the crypto/tls suites selected, in crypto/tls's order
	// (crypto/tls chooses by its own preference, not the string's).
	Suites []uint16
	// Dropped lists the words of the string that select ciphers OpenSSL
	// has and crypto/tls does not (DHE, CAMELLIA, CCM...), or words
	// OpenSSL would ignore: the effective list may be narrower than
	// haproxy's, never wider.
	Dropped []string
	// DroppedDHE are the items that select only DHE ciphers. haproxy
	// with OpenSSL 3 offers them only when it has DH parameters
	// (tune.ssl.default-dh-param, ssl-dh-param-file, or DH PARAMETERS in
	// the certificate file): without them, dropping these changes nothing.
	DroppedDHE []string
}

// isDHE reports whether an item names only finite-field DH ciphers.
func isDHE(item string, parts []string) bool {
	if strings.HasPrefix(item, "DHE-") || strings.HasPrefix(item, "EDH-") {
		return true
	}
	for _, p := range parts {
		switch p {
		case "DH", "DHE", "EDH", "kDHE", "kEDH":
			return true
		}
	}
	return false
}

// ErrProfileSystem is returned for "PROFILE=SYSTEM", a Red Hat OpenSSL
// extension (the system-wide crypto policy) that has no equivalent here.
var ErrProfileSystem = fmt.Errorf("'PROFILE=SYSTEM' (the system-wide crypto policy of Red Hat's OpenSSL) cannot be honoured by gproxy: give the cipher list explicitly")

// ParseCipherList evaluates an OpenSSL cipher string as
// SSL_CTX_set_cipher_list does (ciphers(1): ':', ',' or ' ' separated
// items, '!' deletes for good, '-' deletes, '+' only reorders, "A+B" is
// the intersection, "@STRENGTH" and "@SECLEVEL=n" change ordering and
// levels) over the suites crypto/tls implements. An empty result is an
// error, as OpenSSL's "no cipher match".
func ParseCipherList(s string) (CipherList, error) {
	var out CipherList
	active := map[uint16]bool{}
	killed := map[uint16]bool{}
	items := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	for _, item := range items {
		if strings.HasPrefix(item, "PROFILE=") {
			return out, ErrProfileSystem
		}
		if strings.HasPrefix(item, "@") {
			// @STRENGTH, @SECLEVEL=n: ordering and key-size levels, with
			// no effect on which of these suites exist.
			continue
		}
		op := byte(0)
		if item[0] == '!' || item[0] == '-' || item[0] == '+' {
			op, item = item[0], item[1:]
		}
		parts := strings.Split(item, "+")
		sel := map[uint16]bool{}
		for _, st := range suites {
			all := true
			for _, p := range parts {
				m, _ := st.matches(p)
				all = all && m
			}
			if all {
				sel[st.id] = true
			}
		}
		// An added item that selects nothing here selects ciphers
		// crypto/tls lacks (DHE-RSA-AES128-GCM-SHA256, DH+AESGCM) or is a
		// word OpenSSL ignores too: the list is narrower, say so.
		if op == 0 && len(sel) == 0 && !onlyNothingAliases(parts) {
			if isDHE(item, parts) {
				out.DroppedDHE = append(out.DroppedDHE, item)
			} else {
				out.Dropped = append(out.Dropped, item)
			}
		}
		for id := range sel {
			switch op {
			case 0:
				if !killed[id] {
					active[id] = true
				}
			case '!':
				killed[id] = true
				delete(active, id)
			case '-':
				delete(active, id)
			}
		}
	}
	for _, st := range suites {
		if active[st.id] {
			out.Suites = append(out.Suites, st.id)
		}
	}
	if len(out.Suites) == 0 {
		return out, fmt.Errorf("no cipher of '%s' is available in gproxy (crypto/tls implements only: %s)", s, strings.Join(SuiteNames(), ":"))
	}
	return out, nil
}

// onlyNothingAliases reports whether an added item names only aliases
// that select nothing on purpose in any implementation ("eNULL", "aNULL"
// added back select nothing in OpenSSL's DEFAULT either): not a loss.
func onlyNothingAliases(parts []string) bool {
	for _, p := range parts {
		switch p {
		case "eNULL", "aNULL", "NULL", "COMPLEMENTOFDEFAULT", "COMPLEMENTOFALL", "EXPORT", "EXP", "LOW", "SSLv2":
		default:
			return false
		}
	}
	return true
}

// SuiteNames are the OpenSSL names of the TLS 1.0-1.2 suites gproxy can
// offer.
func SuiteNames() []string {
	var n []string
	for _, s := range suites {
		n = append(n, s.name)
	}
	return n
}

// SuiteName is the OpenSSL name of a crypto/tls suite id (TLS 1.3 suites
// by their IANA names, as OpenSSL prints them), for %sslc and logs.
func SuiteName(id uint16) string {
	for _, s := range suites {
		if s.id == id {
			return s.name
		}
	}
	for name, tid := range tls13Suites {
		if tid == id {
			return name
		}
	}
	return tls.CipherSuiteName(id)
}

// tls13Suites are the TLS 1.3 suites crypto/tls implements: always all
// three, which crypto/tls does not let a server restrict.
var tls13Suites = map[string]uint16{
	"TLS_AES_128_GCM_SHA256":       tls.TLS_AES_128_GCM_SHA256,
	"TLS_AES_256_GCM_SHA384":       tls.TLS_AES_256_GCM_SHA384,
	"TLS_CHACHA20_POLY1305_SHA256": tls.TLS_CHACHA20_POLY1305_SHA256,
}

// CheckCipherSuites checks a TLS 1.3 `ciphersuites` list. crypto/tls
// always offers its three TLS 1.3 suites and cannot restrict them, so a
// list naming fewer would be widened: that is an error unless TLS 1.3 is
// off (tls13 false). Names OpenSSL has and crypto/tls lacks
// (TLS_AES_128_CCM_SHA256...) are returned as dropped.
func CheckCipherSuites(s string, tls13 bool) (dropped []string, err error) {
	seen := map[string]bool{}
	for _, n := range strings.Split(s, ":") {
		if n == "" {
			continue
		}
		if _, ok := tls13Suites[n]; ok {
			seen[n] = true
			continue
		}
		switch n {
		case "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256":
			dropped = append(dropped, n)
		default:
			return nil, fmt.Errorf("unknown TLS 1.3 cipher suite '%s' (known: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256)", n)
		}
	}
	if tls13 && len(seen) < len(tls13Suites) {
		var missing []string
		for n := range tls13Suites {
			if !seen[n] {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		if len(seen) == 0 {
			return dropped, fmt.Errorf("no TLS 1.3 cipher suite of '%s' is available in gproxy: add 'ssl-max-ver TLSv1.2' to disable TLS 1.3, or list TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", s)
		}
		return dropped, fmt.Errorf("'%s' leaves out %s, which gproxy (crypto/tls) cannot stop offering in TLS 1.3: list all three, or add 'ssl-max-ver TLSv1.2'", s, strings.Join(missing, ", "))
	}
	return dropped, nil
}

// ParseCurves reads a `curves` list (OpenSSL group names, ':'
// separated). Names OpenSSL knows and crypto/tls does not (X448,
// ffdhe*, brainpool...) are returned as dropped; an empty result is an
// error.
func ParseCurves(s string) (ids []tls.CurveID, dropped []string, err error) {
	for _, n := range strings.Split(s, ":") {
		switch n {
		case "":
		case "X25519", "x25519":
			ids = append(ids, tls.X25519)
		case "P-256", "prime256v1", "secp256r1":
			ids = append(ids, tls.CurveP256)
		case "P-384", "secp384r1":
			ids = append(ids, tls.CurveP384)
		case "P-521", "secp521r1":
			ids = append(ids, tls.CurveP521)
		case "X448", "x448", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192",
			"brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1", "secp224r1", "secp256k1":
			dropped = append(dropped, n)
		default:
			return nil, nil, fmt.Errorf("unknown curve '%s'", n)
		}
	}
	if len(ids) == 0 {
		return nil, dropped, fmt.Errorf("no curve of '%s' is available in gproxy (crypto/tls implements X25519, P-256, P-384, P-521)", s)
	}
	return ids, dropped, nil
}

// CheckBindCipherSuites checks a bind's `ciphersuites`: unlike a
// server's or a crt-list line's, it may name fewer than the three TLS 1.3
// suites crypto/tls has, which the bind leaves out of each ClientHello
// (RestrictSuites13); with TLS 1.3 enabled it must name one of them.
func CheckBindCipherSuites(s string, tls13 bool) (dropped []string, err error) {
	dropped, err = CheckCipherSuites(s, false)
	if err == nil && tls13 && len(SuiteOrder13(s)) == 0 {
		return CheckCipherSuites(s, true) // its "no TLS 1.3 cipher suite" error
	}
	return dropped, err
}

// DefaultCurves are OpenSSL 3's default groups less those crypto/tls
// lacks (X448, ffdhe*): X25519, P-256, P-521, P-384. Set explicitly so
// that crypto/tls does not offer groups OpenSSL does not (its post-quantum
// hybrid).
var DefaultCurves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP521, tls.CurveP384}

// DefaultSuites are OpenSSL 3's DEFAULT cipher list (TLS 1.2 and below)
// less what crypto/tls lacks: haproxy's list without a `ciphers` line.
// Unlike crypto/tls's own default it has the suites with RSA key
// exchange (AES128-GCM-SHA256, AES256-GCM-SHA384, AES128-SHA,
// AES256-SHA).
func DefaultSuites() []uint16 {
	cl, err := ParseCipherList("DEFAULT")
	if err != nil {
		return nil // cannot happen: TestCipherListMatchesOpenSSL reads DEFAULT
	}
	return cl.Suites
}
