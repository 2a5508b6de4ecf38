package haproxycfg

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"hapair/pkg/tlsconf"
)

// TLS keywords: the global ssl-default-* and *-base settings, the TLS
// options of bind lines and of server/default-server lines (configuration
// manual sections 3.1, 5.1, 5.2). Values are resolved here, with
// file:line, by package tlsconf; what crypto/tls cannot do is named.

// tlsText is a setting's text and where it was read.
type tlsText struct {
	val string
	pos Pos
	set bool
}

// tlsGlobal is the parser's copy of the global TLS defaults.
type tlsGlobal struct {
	crtBase, caBase                    string
	bindCiphers, bindSuites, bindCurve tlsText
	srvCiphers, srvSuites, srvCurves   tlsText
	bindOpts, srvOpts                  []string
	bindOptsPos, srvOptsPos            Pos
	serverVerifyNone                   bool
	dhParams                           bool               // tune.ssl.default-dh-param or ssl-dh-param-file given
	delExt                             bool               // ssl-load-extra-del-ext
	noExtra                            tlsconf.ExtraFiles // left out by ssl-load-extra-files
	crtLists                           map[string]*tlsconf.CrtList
	pending                            []pendingEntry // crt-list lines with options, of the bind being read
}

// pendingEntry is a crt-list line's certificate whose options wait for
// its bind's settings.
type pendingEntry struct {
	c     *tlsconf.Cert
	o     *tlsconf.EntryOptions
	where string
}

// sslOpts are the TLS options of one bind or server line before
// resolution (server options are inherited from default-server).
type sslOpts struct {
	ssl, checkSSL             bool
	noSSL                     bool // `no-ssl` last (haproxy's use_ssl -1)
	crts                      []string
	crtList                   []bool // crts[i] is a crt-list file
	caFile, crlFile           string
	caVerifyFile              string // bind: CAs that verify, not named to clients
	verify                    string
	alpn                      []string
	alpnSet                   bool
	minVer, maxVer            string
	no                        [5]bool // SSLv3, TLSv1.0 ... TLSv1.3
	force                     string
	ciphers, suites, curves   tlsText
	strictSNI, noTickets      bool
	preferClient              bool
	noCANames                 bool // bind no-ca-names
	sni, checkSNI, verifyHost string
	checkALPN                 []string // check-alpn
	noReuse                   bool
	crtIgnore, caIgnore       tlsconf.ErrSet
	seen                      bool
}

var versionOrder = []string{"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

// globalTLS handles the global TLS keywords; false when kw is not one.
func (p *parser) globalTLS(args []string) bool {
	g := &p.tls
	kw := args[0]
	one := func() (string, bool) {
		if len(args) < 2 || args[1] == "" {
			p.alert(kw, "'%s' expects a string as an argument.", kw)
			return "", false
		}
		if p.tooMany(args, 1) {
			return "", false
		}
		return args[1], true
	}
	text := func(dst *tlsText) {
		if v, ok := one(); ok {
			*dst = tlsText{val: v, pos: p.pos(), set: true}
			// Checked here so a typo is caught by -c even with no ssl bind.
			p.checkTLSText(kw, *dst, true)
		}
	}
	switch kw {
	case "crt-base", "ca-base":
		v, ok := one()
		if !ok {
			return true
		}
		if kw == "crt-base" {
			if g.crtBase != "" {
				p.alert(kw, "'%s' already specified.", kw)
				return true
			}
			g.crtBase = v
			p.cfg.Global.CrtBase = v
		} else {
			if g.caBase != "" {
				p.alert(kw, "'%s' already specified.", kw)
				return true
			}
			g.caBase = v
		}
	case "ssl-load-extra-files":
		// The side files read with each certificate; "all" by default.
		words := map[string]tlsconf.ExtraFiles{"bundle": tlsconf.ExtraBundle, "sctl": tlsconf.ExtraSCTL,
			"ocsp": tlsconf.ExtraOCSP, "issuer": tlsconf.ExtraIssuer, "key": tlsconf.ExtraKey}
		var set tlsconf.ExtraFiles
		for i, a := range args[1:] {
			switch {
			case a == "none" || a == "all":
				if i > 0 || len(args) > 2 {
					p.alert(kw, "'%s' 'none' and 'all' can be only used alone", kw)
					return true
				}
				if a == "all" {
					set = tlsconf.ExtraAll
				}
			case words[a] != 0:
				set |= words[a]
			default:
				p.alert(kw, "'%s' expects one or multiple arguments (none, all, bundle, sctl, ocsp, issuer).", kw)
				return true
			}
		}
		if len(args) < 2 {
			p.alert(kw, "'%s' expects one or multiple arguments (none, all, bundle, sctl, ocsp, issuer).", kw)
			return true
		}
		g.noExtra = tlsconf.ExtraAll &^ set
	case "ssl-load-extra-del-ext":
		// Side files are named without the certificate's ".crt".
		if !p.tooMany(args, 0) {
			g.delExt = true
			p.cfg.Global.SSLLoadExtraDelExt = true
		}
	case "ssl-default-bind-ciphers":
		text(&g.bindCiphers)
	case "ssl-default-bind-ciphersuites":
		text(&g.bindSuites)
	case "ssl-default-bind-curves":
		text(&g.bindCurve)
	case "ssl-default-server-ciphers":
		text(&g.srvCiphers)
	case "ssl-default-server-ciphersuites":
		text(&g.srvSuites)
	case "ssl-default-bind-options", "ssl-default-server-options":
		var o sslOpts
		for i := 1; i < len(args); i++ {
			n, ok := p.sslVersionOpt(&o, args, i, kw, "")
			if !ok {
				return true
			}
			if n < 0 {
				switch args[i] {
				case "no-tls-tickets":
				case "prefer-client-ciphers":
					if kw == "ssl-default-server-options" {
						// haproxy 2.6 knows it for binds only.
						p.alert(kw, "unknown option '%s' on global statement '%s'.", args[i], kw)
						return true
					}
				default:
					p.alert(kw, "unknown option '%s' on global statement '%s'.", args[i], kw)
					return true
				}
				n = 0
			}
			i += n
		}
		if kw == "ssl-default-bind-options" {
			g.bindOpts, g.bindOptsPos = append([]string(nil), args[1:]...), p.pos()
		} else {
			g.srvOpts, g.srvOptsPos = append([]string(nil), args[1:]...), p.pos()
		}
	case "ssl-server-verify":
		v, ok := one()
		if !ok {
			return true
		}
		switch v {
		case "none":
			g.serverVerifyNone = true
		case "required":
			g.serverVerifyNone = false
		default:
			p.alert(kw, "'%s' expects 'none' or 'required' as argument.", kw)
		}
	case "tune.ssl.default-dh-param", "ssl-dh-param-file":
		g.dhParams = true
		// Accepted: haproxy's DHE key size / parameters. crypto/tls has
		// no DHE, so gproxy never offers a DHE cipher (a cipher list
		// naming DHE ones is narrowed, with a warning at the bind line)
		// and these have nothing to act on.
		p.warn(kw, "'%s' is not implemented by gproxy and is ignored: gproxy offers no DHE cipher (crypto/tls implements ECDHE only), so there is no DH parameter to set.", kw)
	default:
		return false
	}
	return true
}

// checkTLSText reports what a cipher, suite or curve string cannot be.
// global is true for the ssl-default-* lines: narrowing is reported
// where a bind or server uses them, so a global section alone (Debian's
// default haproxy.cfg) stays warning-free.
func (p *parser) checkTLSText(kw string, t tlsText, global bool) {
	switch {
	case strings.HasSuffix(kw, "ciphers"):
		if _, err := tlsconf.ParseCipherList(t.val); err != nil {
			p.alert(kw, "'%s' : %v.", kw, err)
		}
	case strings.HasSuffix(kw, "ciphersuites"):
		if _, err := tlsconf.CheckCipherSuites(t.val, false); err != nil {
			p.alert(kw, "'%s' : %v.", kw, err)
		}
	case strings.HasSuffix(kw, "curves"):
		if _, _, err := tlsconf.ParseCurves(t.val); err != nil {
			p.alert(kw, "'%s' : %v.", kw, err)
		}
	}
}

// sslVersionOpt reads a protocol-version option at args[i] into o; n is
// the number of extra words used, or -1 when args[i] is not one.
func (p *parser) sslVersionOpt(o *sslOpts, args []string, i int, kw, prefix string) (n int, ok bool) {
	opt := args[i]
	switch opt {
	case "ssl-min-ver", "ssl-max-ver":
		v := ""
		if i+1 < len(args) {
			v = args[i+1]
		}
		if _, known := tlsconf.Versions[v]; !known {
			p.alert(kw, "%s'%s' : missing or invalid value '%s' (expected one of SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3).", prefix, opt, v)
			return 0, false
		}
		if opt == "ssl-min-ver" {
			o.minVer = v
		} else {
			o.maxVer = v
		}
		return 1, true
	}
	for k, v := range versionOrder {
		suffix := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(v, ".", ""), "TLSv1", "tlsv1"))
		if v == "TLSv1.0" {
			suffix = "tlsv10"
		}
		switch opt {
		case "no-" + suffix:
			o.no[k] = true
			return 0, true
		case "force-" + suffix:
			o.force = v
			return 0, true
		}
	}
	return -1, true
}

// versions resolves min/max from the options, haproxy's default minimum
// being TLSv1.2 and the maximum TLSv1.3.
func (p *parser) versions(o *sslOpts, kw, prefix string) (lo, hi uint16, ok bool) {
	minI, maxI := 3, 4
	if o.force != "" {
		for k, v := range versionOrder {
			if v == o.force {
				minI, maxI = k, k
			}
		}
	} else {
		for k, v := range versionOrder {
			if v == o.minVer {
				minI = k
			}
			if v == o.maxVer {
				maxI = k
			}
		}
		if o.minVer == "" && o.maxVer != "" && maxI < minI {
			minI = 0
		}
		for minI <= maxI && o.no[minI] {
			minI++
		}
		for maxI >= minI && o.no[maxI] {
			maxI--
		}
		for k := minI; k <= maxI; k++ {
			if o.no[k] {
				p.alert(kw, "%sdisabling %s between %s and %s is not supported by gproxy (crypto/tls takes one contiguous range of versions).", prefix, versionOrder[k], versionOrder[minI], versionOrder[maxI])
				return 0, 0, false
			}
		}
	}
	if minI > maxI {
		p.alert(kw, "%sno SSL/TLS version is enabled (ssl-min-ver above ssl-max-ver, or every version disabled).", prefix)
		return 0, 0, false
	}
	if maxI == 0 {
		p.alert(kw, "%sSSLv3 only: gproxy (crypto/tls) does not implement SSLv3.", prefix)
		return 0, 0, false
	}
	if minI == 0 {
		minI = 1 // SSLv3: neither crypto/tls nor Debian's OpenSSL 3 speaks it
	}
	return tlsconf.Versions[versionOrder[minI]], tlsconf.Versions[versionOrder[maxI]], true
}

// bindTLSOption reads a TLS option of a bind line at args[i]: n extra
// words used, handled false when it is not a TLS option gproxy does,
// ok false after an alert.
func (p *parser) bindTLSOption(o *sslOpts, args []string, i int) (n int, handled, ok bool) {
	opt := args[i]
	prefix := fmt.Sprintf("'bind %s' : ", args[1])
	val := ""
	if i+1 < len(args) {
		val = args[i+1]
	}
	need := func() bool {
		if val == "" {
			p.alert("bind", "%s'%s' : missing value.", prefix, opt)
			return false
		}
		return true
	}
	if n, ok := p.sslVersionOpt(o, args, i, "bind", prefix); n >= 0 || !ok {
		o.seen = true
		return n, true, ok
	}
	o.seen = true
	switch opt {
	case "ssl":
		o.ssl = true
		return 0, true, true
	case "strict-sni":
		o.strictSNI = true
		return 0, true, true
	case "no-tls-tickets":
		o.noTickets = true
		return 0, true, true
	case "prefer-client-ciphers":
		o.preferClient = true
		return 0, true, true
	case "no-ca-names":
		o.noCANames = true
		return 0, true, true
	case "crt", "crt-list":
		if !need() {
			return 0, true, false
		}
		if opt == "crt-list" {
			o.crts = append(o.crts, val) // not under crt-base, as haproxy
		} else {
			o.crts = append(o.crts, joinBase(p.tls.crtBase, val))
		}
		o.crtList = append(o.crtList, opt == "crt-list")
		return 1, true, true
	case "ca-file", "crl-file", "ca-verify-file":
		if !need() {
			return 0, true, false
		}
		if opt == "ca-file" {
			o.caFile = joinBase(p.tls.caBase, val)
		} else if opt == "ca-verify-file" {
			o.caVerifyFile = joinBase(p.tls.caBase, val)
		} else {
			o.crlFile = joinBase(p.tls.caBase, val)
		}
		return 1, true, true
	case "crt-ignore-err", "ca-ignore-err":
		if !need() {
			return 0, true, false
		}
		set := &o.crtIgnore
		if opt == "ca-ignore-err" {
			set = &o.caIgnore
		}
		if val == "all" {
			*set = tlsconf.ErrAll
			return 1, true, true
		}
		// As haproxy: atoi of each comma-separated part.
		for _, part := range strings.Split(val, ",") {
			code := atoi(part)
			if code <= 0 || code > 63 {
				p.alert("bind", "%s'%s' : ID '%d' out of range (1..63) in error IDs list '%s'.", prefix, opt, code, val)
				return 0, true, false
			}
			*set |= 1 << code
		}
		return 1, true, true
	case "verify":
		switch val {
		case "none", "optional", "required":
			o.verify = val
		default:
			p.alert("bind", "%s'verify' : unknown verify method '%s', only 'none', 'optional', and 'required' are supported.", prefix, val)
			return 0, true, false
		}
		return 1, true, true
	case "alpn":
		if !need() {
			return 0, true, false
		}
		o.alpn, o.alpnSet = strings.Split(val, ","), true
		return 1, true, true
	case "ciphers", "ciphersuites", "curves", "ecdhe":
		if !need() {
			return 0, true, false
		}
		t := tlsText{val: val, pos: p.pos(), set: true}
		switch opt {
		case "ciphers":
			o.ciphers = t
		case "ciphersuites":
			o.suites = t
		default:
			o.curves = t
		}
		return 1, true, true
	}
	o.seen = false
	return 0, false, true
}

// finishBindTLS resolves a bind line's TLS options into b.TLS.
func (p *parser) finishBindTLS(o *sslOpts, b *Bind, addr string) bool {
	prefix := fmt.Sprintf("'bind %s' in section '%s' : ", addr, p.sectionName)
	if !o.ssl {
		if o.seen {
			// haproxy accepts them and serves clear text: so does gproxy,
			// saying so.
			p.warn("bind", "%sTLS settings without 'ssl' have no effect: the listener is clear text, as in haproxy.", prefix)
		}
		return true
	}
	g := &p.tls
	if len(o.crts) == 0 {
		p.diag(Alert, LocNone, "bind", "Proxy '%s': no SSL certificate specified for bind '%s' at [%s:%d] (use 'crt').", p.cur.px.Name, addr, p.file, p.line)
		return false
	}
	// Global defaults: options first (a bind line's own versions win).
	var def sslOpts
	for i := 0; i < len(g.bindOpts); i++ {
		n, _ := p.sslVersionOpt(&def, g.bindOpts, i, "bind", prefix)
		if n < 0 {
			switch g.bindOpts[i] {
			case "no-tls-tickets":
				def.noTickets = true
			case "prefer-client-ciphers":
				def.preferClient = true
			}
			n = 0
		}
		i += n
	}
	if o.minVer == "" && o.maxVer == "" && o.force == "" && o.no == [5]bool{} {
		o.minVer, o.maxVer, o.force, o.no = def.minVer, def.maxVer, def.force, def.no
	}
	o.noTickets = o.noTickets || def.noTickets
	o.preferClient = o.preferClient || def.preferClient
	if !o.ciphers.set {
		o.ciphers = g.bindCiphers
	}
	if !o.suites.set {
		o.suites = g.bindSuites
	}
	if !o.curves.set {
		o.curves = g.bindCurve
	}
	set := tlsconf.Bind{ALPN: o.alpn, NoTickets: o.noTickets, PreferClientCiphers: o.preferClient, NoCANames: o.noCANames, Verify: o.verify, CrtIgnore: o.crtIgnore, CAIgnore: o.caIgnore}
	var ok bool
	if set.MinVersion, set.MaxVersion, ok = p.versions(o, "bind", prefix); !ok {
		return false
	}
	if o.verify == "" {
		set.Verify = "none"
	}
	if set.Verify != "none" && o.caFile == "" && o.caVerifyFile == "" {
		p.diag(Alert, LocNone, "bind", "Proxy '%s': verify is enabled but no CA file specified for bind '%s' at [%s:%d].", p.cur.px.Name, addr, p.file, p.line)
		return false
	}
	dh := p.tls.dhParams
	p.tls.pending = nil
	entryBase := &tlsconf.EntryBase{CAFile: o.caFile, CAVerifyFile: o.caVerifyFile, CRLFile: o.crlFile, CABase: p.tls.caBase,
		LowVersions: strings.Contains(o.ciphers.val, "@SECLEVEL=0")}
	if p.readFile != nil {
		fsys := tlsconf.OS{DelExt: p.tls.delExt, NoExtra: p.tls.noExtra}
		var certs []*tlsconf.Cert
		// The crt-lists and directories, for the CLI (`show ssl
		// crt-list`), with the certificates each gave this bind.
		type listLoad struct {
			l     *tlsconf.CrtList
			certs []*tlsconf.Cert
		}
		var lists []listLoad
		for i, c := range o.crts {
			if o.crtList[i] {
				cs, entries, lines, ok := p.loadCrtList(fsys, c, prefix)
				if !ok {
					return false
				}
				l := p.crtList(c, false)
				l.SetEntries(entries, lines)
				lists = append(lists, listLoad{l, cs})
				certs = append(certs, cs...)
				continue
			}
			cs, err := tlsconf.LoadPath(fsys, c)
			if err != nil {
				p.alert("bind", "%s%s.", prefix, tlsErr(err))
				return false
			}
			if !p.ocspDiags(cs, prefix) {
				return false
			}
			if st, err := fsys.Stat(c); err == nil && st.IsDir() {
				l := p.crtList(c, true)
				var entries []*tlsconf.CrtListEntry
				for _, crt := range cs {
					entries = append(entries, &tlsconf.CrtListEntry{Cert: crt.Path})
				}
				l.SetEntries(entries, 0)
				lists = append(lists, listLoad{l, cs})
			}
			certs = append(certs, cs...)
		}
		set.Store = tlsconf.NewStore(certs, o.strictSNI)
		for _, ll := range lists {
			ll.l.AddBind(tlsconf.ListBind{Store: set.Store, Pos: p.pos().String(), Strict: o.strictSNI, Base: entryBase}, ll.certs)
			if !slices.Contains(p.cfg.CrtLists, ll.l) {
				p.cfg.CrtLists = append(p.cfg.CrtLists, ll.l)
			}
		}
		for _, c := range certs {
			dh = dh || c.DHParams
		}
		// haproxy loads the files whatever verify says, and only a bind
		// that verifies uses them (and follows their commits).
		files := &tlsconf.BindFiles{}
		for _, f := range []struct {
			path string
			kind tlsconf.CAKind
			dst  **tlsconf.CAFile
		}{{o.caFile, tlsconf.KindCA, &files.CA}, {o.caVerifyFile, tlsconf.KindCA, &files.Verify}, {o.crlFile, tlsconf.KindCRL, &files.CRL}} {
			if f.path == "" {
				continue
			}
			cf, err := p.caFiles().Load(fsys, f.path, f.kind)
			if err != nil {
				p.alert("bind", "%s%s.", prefix, tlsErr(err))
				return false
			}
			*f.dst = cf
		}
		if set.Verify != "none" {
			set.Files = files
		}
	}
	if !p.resolveSuites(o, &set.Suites, &set.Curves, &set.MinVersion, set.MaxVersion, dh, "bind", prefix) {
		return false
	}
	if o.suites.set {
		set.Suites13 = tlsconf.SuiteOrder13(o.suites.val)
	}
	if !p.resolveEntries(&set, entryBase, addr, prefix) {
		return false
	}
	b.TLS = &BindTLS{Settings: set, Pos: p.pos()}
	return true
}

// resolveEntries makes the settings of the bind's crt-list lines with
// options (see tlsconf.ResolveEntry), and gives the bind's lists what the
// stats socket's `add ssl crt-list` resolves its lines against.
func (p *parser) resolveEntries(set *tlsconf.Bind, base *tlsconf.EntryBase, addr, prefix string) bool {
	pending := p.tls.pending
	p.tls.pending = nil
	fsys := tlsconf.OS{DelExt: p.tls.delExt, NoExtra: p.tls.noExtra}
	load := func(path string, kind tlsconf.CAKind) (*tlsconf.CAFile, error) {
		return p.caFiles().Load(fsys, path, kind)
	}
	// A copy: the bind's settings as resolved (the model's copy is made
	// from the same value).
	s := *set
	base.Settings = &s
	for _, pe := range pending {
		e, err := tlsconf.ResolveEntry(base, pe.o, load)
		switch {
		case errors.Is(err, tlsconf.ErrEntryNoCA), errors.Is(err, tlsconf.ErrEntryNoVersion):
			p.diag(Alert, LocNone, "bind", "Proxy '%s': %s%v for bind '%s' at [%s:%d].", p.cur.px.Name, pe.where, err, addr, p.file, p.line)
			return false
		case err != nil:
			p.alert("bind", "%s%s%s.", prefix, pe.where, tlsErr(err))
			return false
		}
		pe.c.Entry.Bind, pe.c.Entry.MinVersion, pe.c.Entry.MaxVersion = e.Bind, e.MinVersion, e.MaxVersion
	}
	return true
}

// resolveSuites evaluates the cipher, TLS 1.3 suite and curve strings,
// warning (with where the string was written) about what crypto/tls
// cannot offer: the result may be narrower than OpenSSL's, never wider.
func (p *parser) resolveSuites(o *sslOpts, suites *[]uint16, curves *[]tls.CurveID, minVer *uint16, maxVer uint16, dh bool, kw, prefix string) bool {
	at := func(t tlsText) string {
		if t.pos == p.pos() {
			return ""
		}
		return fmt.Sprintf(" (set at %s)", t.pos)
	}
	if o.ciphers.set {
		cl, err := tlsconf.ParseCipherList(o.ciphers.val)
		if err != nil {
			p.alert(kw, "%s'ciphers'%s : %v.", prefix, at(o.ciphers), err)
			return false
		}
		if dh && len(cl.DroppedDHE) > 0 {
			// haproxy has DH parameters and would offer these.
			cl.Dropped = append(cl.Dropped, cl.DroppedDHE...)
		}
		if len(cl.Dropped) > 0 {
			p.warn(kw, "%s'ciphers'%s : %s not offered: gproxy (crypto/tls) does not implement them (DHE, CCM, CAMELLIA, ARIA, CBC-SHA256/384 and weaker ciphers); the ciphers offered are %s.",
				prefix, at(o.ciphers), strings.Join(cl.Dropped, ", "), suiteNames(cl.Suites))
		}
		*suites = cl.Suites
	} else {
		// OpenSSL's default list, not crypto/tls's: it has the suites with
		// RSA key exchange, which a client without a group in common
		// (or without ECDHE) gets from haproxy.
		*suites = tlsconf.DefaultSuites()
	}
	if o.suites.set {
		check := tlsconf.CheckCipherSuites
		if kw == "bind" {
			// A bind enforces fewer than three TLS 1.3 suites by
			// rewriting ClientHellos (tlsconf.RestrictSuites13).
			check = tlsconf.CheckBindCipherSuites
		}
		dropped, err := check(o.suites.val, maxVer >= tls.VersionTLS13)
		if err != nil {
			p.alert(kw, "%s'ciphersuites'%s : %v.", prefix, at(o.suites), err)
			return false
		}
		if len(dropped) > 0 {
			p.warn(kw, "%s'ciphersuites'%s : %s not offered (crypto/tls does not implement them).", prefix, at(o.suites), strings.Join(dropped, ", "))
		}
	}
	// OpenSSL 3 refuses SSLv3, TLSv1.0 and TLSv1.1 below security
	// level 0, so haproxy does unless the cipher string lowers it.
	if *minVer < tls.VersionTLS12 && !strings.Contains(o.ciphers.val, "@SECLEVEL=0") {
		if maxVer < tls.VersionTLS12 {
			p.alert(kw, "%sonly TLS versions below TLSv1.2 are enabled, which OpenSSL 3 (haproxy's library) refuses unless 'ciphers' holds '@SECLEVEL=0': every handshake would fail.", prefix)
			return false
		}
		p.warn(kw, "%sTLSv1.0 and TLSv1.1 are refused, as by haproxy with OpenSSL 3 (its security level 1 forbids them; '@SECLEVEL=0' in 'ciphers' allows them).", prefix)
		*minVer = tls.VersionTLS12
	}
	*curves = tlsconf.DefaultCurves
	if o.curves.set {
		ids, dropped, err := tlsconf.ParseCurves(o.curves.val)
		if err != nil {
			p.alert(kw, "%s'curves'%s : %v.", prefix, at(o.curves), err)
			return false
		}
		if len(dropped) > 0 {
			p.warn(kw, "%s'curves'%s : %s not offered (crypto/tls does not implement them).", prefix, at(o.curves), strings.Join(dropped, ", "))
		}
		*curves = ids
	}
	return true
}

func suiteNames(ids []uint16) string {
	var n []string
	for _, id := range ids {
		n = append(n, tlsconf.SuiteName(id))
	}
	return strings.Join(n, ":")
}

// joinBase prefixes a relative path with crt-base or ca-base.
func joinBase(base, path string) string {
	if base == "" || filepath.IsAbs(path) {
		return path
	}
	return base + "/" + path
}

// serverTLSOption reads a TLS option of a server or default-server line
// at opts[i] into srv (cloning the TLS settings shared with the
// default-server template first). n extra words; handled false when
// opts[i] is not one; ok false after an alert.
func (p *parser) serverTLSOption(srv *Server, cloned *bool, opts []string, i int, kw, prefix string) (n int, handled, ok bool) {
	opt := opts[i]
	switch opt {
	case "ssl", "no-ssl", "check-ssl", "no-check-ssl", "verify", "verifyhost", "ca-file", "crl-file",
		"crt", "sni", "check-sni", "check-alpn", "alpn", "ciphers", "ciphersuites", "ssl-reuse", "no-ssl-reuse",
		"tls-tickets", "no-tls-tickets", "ssl-min-ver", "ssl-max-ver":
		// (no `curves` on server lines in haproxy 2.6)
	default:
		if !strings.HasPrefix(opt, "no-sslv") && !strings.HasPrefix(opt, "no-tlsv") && !strings.HasPrefix(opt, "force-") {
			return 0, false, true
		}
	}
	if !*cloned {
		t := ServerTLS{}
		if srv.TLS != nil {
			t = *srv.TLS
		}
		srv.TLS, *cloned = &t, true
	}
	o := &srv.TLS.raw
	if n, ok := p.sslVersionOpt(o, opts, i, kw, prefix); n >= 0 || !ok {
		return n, true, ok
	}
	val := ""
	if i+1 < len(opts) {
		val = opts[i+1]
	}
	need := func() bool {
		if val == "" {
			p.diag(Alert, LocBracket, kw, "%s'%s' expects an argument.", prefix, opt)
			return false
		}
		return true
	}
	switch opt {
	case "ssl":
		o.ssl, o.noSSL = true, false
	case "no-ssl":
		o.ssl, o.noSSL = false, true
	case "check-ssl":
		o.checkSSL = true
	case "no-check-ssl":
		o.checkSSL = false
	case "ssl-reuse":
		o.noReuse = false
	case "no-ssl-reuse":
		o.noReuse = true
	case "tls-tickets":
		o.noTickets = false
	case "no-tls-tickets":
		o.noTickets = true
	default:
		if !need() {
			return 0, true, false
		}
		switch opt {
		case "verify":
			if val != "none" && val != "required" {
				p.diag(Alert, LocBracket, kw, "%s'verify' : unknown verify method '%s', only 'none' and 'required' are supported.", prefix, val)
				return 0, true, false
			}
			o.verify = val
		case "verifyhost":
			o.verifyHost = val
		case "ca-file":
			o.caFile = joinBase(p.tls.caBase, val)
		case "crl-file":
			o.crlFile = joinBase(p.tls.caBase, val)
		case "crt":
			o.crts = []string{joinBase(p.tls.crtBase, val)}
		case "sni":
			o.sni = val
		case "check-sni":
			o.checkSNI = val
		case "check-alpn":
			for _, a := range strings.Split(val, ",") {
				if len(a) > 255 {
					p.diag(Alert, LocBracket, kw, "%s'check-alpn' : ALPN protocol name too long : '%s'", prefix, a)
					return 0, true, false
				}
				if a == "" {
					// haproxy sends an empty name; crypto/tls refuses one.
					p.refuseForm(grpChecks, LocBracket, kw, prefix, "an empty protocol name in 'check-alpn'")
					return 0, true, false
				}
			}
			o.checkALPN = strings.Split(val, ",")
		case "alpn":
			o.alpn, o.alpnSet = strings.Split(val, ","), true
		case "ciphers":
			o.ciphers = tlsText{val: val, pos: p.pos(), set: true}
		case "ciphersuites":
			o.suites = tlsText{val: val, pos: p.pos(), set: true}
		}
		return 1, true, true
	}
	return 0, true, true
}

// finishServerTLS resolves a server line's TLS settings (not for
// default-server, which only carries them to later servers).
//
// defSSL says the default-server had `ssl`: haproxy then prepares the TLS
// settings of a server that does not use it (SRV_F_DEFSRV_USE_SSL), which
// `set server ... ssl on` turns on at run time (Settings set, Traffic off).
func (p *parser) finishServerTLS(srv *Server, defSSL bool, kw, prefix string) bool {
	var o sslOpts
	if srv.TLS != nil {
		o = srv.TLS.raw
	}
	switch {
	case o.ssl:
		srv.UseSSL = 1
	case o.noSSL:
		srv.UseSSL = -1
	}
	checks := o.checkSSL || (o.ssl && srv.CheckPort == 0 && srv.CheckAddr == "")
	if p.dyn != nil {
		// haproxy's init_srv_check: a dynamic server's checks use TLS
		// only with an explicit check-ssl.
		checks = o.checkSSL
	}
	if !o.ssl && !checks && !defSSL {
		// A `connect ssl` check rule of the proxy needs the settings
		// (haproxy prepares the server's TLS context for it, with its
		// verify alerts); one read after this line resolves them at
		// the end (finishRuleTLS).
		cs := &p.cur.chk
		if !cs.ssl {
			if cs.plain == nil {
				cs.plain = map[string]plainTLS{}
			}
			cs.plain[srv.Name] = plainTLS{raw: o, pos: p.pos(), prefix: prefix}
			srv.TLS = nil
			return true
		}
		srv.TLS = &ServerTLS{raw: o}
	}
	return p.resolveServerTLS(srv, o, checks, kw, prefix)
}

// finishRuleTLS resolves, at the end of the parse, the TLS settings of
// the servers read before the proxy's first `connect ssl` rule.
func (p *parser) finishRuleTLS(ps *proxyState) {
	if !ps.chk.ssl {
		return
	}
	file, line := p.file, p.line
	defer func() { p.file, p.line = file, line }()
	for _, s := range ps.px.Servers {
		d, ok := ps.chk.plain[s.Name]
		if s.TLS != nil || !ok {
			continue
		}
		p.file, p.line = d.pos.File, d.pos.Line
		s.TLS = &ServerTLS{raw: d.raw}
		if !p.resolveServerTLS(s, d.raw, false, "server", d.prefix) {
			s.TLS = nil
		}
	}
}

// resolveServerTLS turns the options o of a server line into its
// settings; checks says its checks run TLS.
func (p *parser) resolveServerTLS(srv *Server, o sslOpts, checks bool, kw, prefix string) bool {
	g := &p.tls
	var def sslOpts
	for i := 0; i < len(g.srvOpts); i++ {
		n, _ := p.sslVersionOpt(&def, g.srvOpts, i, kw, prefix)
		if n < 0 {
			if g.srvOpts[i] == "no-tls-tickets" {
				def.noTickets = true
			}
			n = 0
		}
		i += n
	}
	if o.minVer == "" && o.maxVer == "" && o.force == "" && o.no == [5]bool{} {
		o.minVer, o.maxVer, o.force, o.no = def.minVer, def.maxVer, def.force, def.no
	}
	o.noTickets = o.noTickets || def.noTickets
	if !o.ciphers.set {
		o.ciphers = g.srvCiphers
	}
	if !o.suites.set {
		o.suites = g.srvSuites
	}
	if !o.curves.set {
		o.curves = g.srvCurves
	}
	set := tlsconf.Server{ALPN: o.alpn, NoTickets: o.noTickets, Reuse: !o.noReuse, VerifyHost: o.verifyHost}
	var ok bool
	if set.MinVersion, set.MaxVersion, ok = p.versions(&o, kw, prefix); !ok {
		return false
	}
	if !p.resolveSuites(&o, &set.Suites, &set.Curves, &set.MinVersion, set.MaxVersion, p.tls.dhParams, kw, prefix) {
		return false
	}
	switch o.verify {
	case "none":
	case "required":
		set.Verify = true
	default:
		set.Verify = !g.serverVerifyNone
	}
	if set.Verify && o.caFile == "" {
		// haproxy words a dynamic server's by the global setting alone
		// (ssl_sock_prepare_srv_ctx): "by default" even after an
		// explicit `verify required`.
		if o.verify == "" || p.dyn != nil && !g.serverVerifyNone {
			p.diag(Alert, LocBracket, kw, "%sverify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.", prefix)
		} else {
			p.diag(Alert, LocBracket, kw, "%sverify is enabled but no CA file specified.", prefix)
		}
		return false
	}
	t := srv.TLS
	t.Traffic, t.Checks, t.CheckSNI, t.CheckALPN = o.ssl, checks, o.checkSNI, o.checkALPN
	switch {
	case o.sni == "":
	case o.sni == "ssl_fc_sni":
		t.SNIFromClient = true
	case strings.HasPrefix(o.sni, "str(") && strings.HasSuffix(o.sni, ")"):
		t.SNI = o.sni[4 : len(o.sni)-1]
	default:
		p.refuseForm(grpRules, LocBracket, kw, prefix, fmt.Sprintf("'sni %s' (only 'str(NAME)' and 'ssl_fc_sni' are implemented)", o.sni))
		return false
	}
	if p.dyn != nil {
		return p.resolveDynTLS(t, set, o, kw, prefix)
	}
	if p.readFile != nil {
		fsys := tlsconf.OS{DelExt: p.tls.delExt, NoExtra: p.tls.noExtra}
		files := &tlsconf.ServerFiles{}
		for _, f := range []struct {
			path string
			kind tlsconf.CAKind
			dst  **tlsconf.CAFile
		}{{o.caFile, tlsconf.KindCA, &files.CA}, {o.crlFile, tlsconf.KindCRL, &files.CRL}} {
			if f.path == "" {
				continue
			}
			cf, err := p.caFiles().Load(fsys, f.path, f.kind)
			if err != nil {
				p.diag(Alert, LocBracket, kw, "%s%s.", prefix, tlsErr(err))
				return false
			}
			*f.dst = cf
		}
		if set.Verify {
			// The contents as loaded; only a server with a certificate
			// follows the commits of its files (haproxy rebuilds the
			// TLS contexts of certificates, and a server without one
			// has none).
			if c := files.CA.Load(); c != nil {
				set.RootCAs = c.Pool
			} else {
				set.RootCAs = x509.NewCertPool()
			}
			if c := files.CRL.Load(); c != nil {
				set.CRLs = c.CRLs
			}
			if len(o.crts) > 0 {
				set.Files = files
			}
		}
		if len(o.crts) > 0 {
			c, err := tlsconf.LoadFile(fsys, o.crts[0])
			if err != nil {
				p.diag(Alert, LocBracket, kw, "%s%s.", prefix, tlsErr(err))
				return false
			}
			set.Cert, set.Slot = c, tlsconf.NewCertSlot(c)
		}
	}
	t.Settings = set
	return true
}

// resolveDynTLS ends resolveServerTLS for a dynamic server: haproxy 2.6
// loads no file for it (srv_parse_ca_file without create_if_none), so its
// `ca-file` must name a CA file already in memory (loaded at start or made
// with `new ssl ca-file`). A client certificate (`crt`) and a CRL are
// refused by the runtime API before this.
func (p *parser) resolveDynTLS(t *ServerTLS, set tlsconf.Server, o sslOpts, kw, prefix string) bool {
	var ca *tlsconf.CAFile
	if o.caFile != "" {
		var f *tlsconf.CAFile
		if p.dyn.CAFiles != nil {
			f = p.dyn.CAFiles.Get(o.caFile)
		}
		if f == nil || f.Kind != tlsconf.KindCA {
			p.diag(Alert, LocBracket, kw, "%s'ca-file' : unable to load %s.", prefix, o.caFile)
			return false
		}
		ca = f
		if set.Verify {
			if c := f.Load(); c != nil {
				set.RootCAs = c.Pool
			} else {
				set.RootCAs = x509.NewCertPool()
			}
		}
	}
	if len(o.crts) > 0 {
		var c *tlsconf.Cert
		if p.dyn.Cert != nil {
			c = p.dyn.Cert(o.crts[0])
		}
		if c == nil {
			// haproxy's ssl_sock_load_srv_cert without create_if_none
			p.diag(Alert, LocBracket, kw, "%sunable to stat SSL certificate '%s'.", prefix, o.crts[0])
			return false
		}
		set.Cert, set.Slot = c, tlsconf.NewCertSlot(c)
		if set.Verify {
			// As a configured server with a certificate: it follows
			// the commits of its CA file.
			set.Files = &tlsconf.ServerFiles{CA: ca}
		}
	}
	t.Settings = set
	return true
}

// tlsErr words a file error as haproxy: "MSG : No such file or directory".
func tlsErr(err error) string {
	var fe *tlsconf.FileError
	if errors.As(err, &fe) {
		return fe.Msg + " : " + errnoText(fe.Err)
	}
	return err.Error()
}

// validateTLS checks what needs the whole proxy: `sni ssl_fc_sni` is done
// in mode tcp only (the HTTP path pools server connections per server,
// not per client name, so it would send one client's name for another).
func (p *parser) validateTLS() {
	for _, ps := range p.proxies {
		px := ps.px
		if px.Mode != ModeHTTP {
			continue
		}
		for _, s := range px.Servers {
			if s.TLS != nil && s.TLS.SNIFromClient {
				p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: s.Pos, Keyword: "server", Style: LocBracket,
					Msg: fmt.Sprintf("'server %s/%s' : 'sni ssl_fc_sni' in mode http is not implemented by gproxy (TLS): use 'sni str(NAME)', or keep haproxy for this configuration.", px.Name, s.Name)})
			}
		}
	}
}

// loadCrtList loads the certificates of a crt-list file, each with its
// SNI filters; the certificates' relative paths are under crt-base.
func (p *parser) loadCrtList(fsys tlsconf.FS, path, prefix string) ([]*tlsconf.Cert, []*tlsconf.CrtListEntry, int, bool) {
	data, err := fsys.ReadFile(path)
	if err != nil {
		p.alert("bind", "%s'crt-list' : cannot open file '%s' : %s.", prefix, path, errnoText(err))
		return nil, nil, 0, false
	}
	lines, err := tlsconf.ParseCrtList(data)
	if err != nil {
		p.alert("bind", "%scrt-list '%s' %v.", prefix, path, err)
		return nil, nil, 0, false
	}
	var out []*tlsconf.Cert
	var entries []*tlsconf.CrtListEntry
	prev := "" // the last certificate path, when under crt-base
	for _, ln := range lines {
		cp := ln.Path
		if cp == "" {
			// haproxy 2.6 takes a line of blanks as a second entry of the
			// previous certificate, without filters, when that one's path
			// was relative to crt-base (its path buffer still holds it).
			if prev == "" {
				continue
			}
			cp, ln.Filters, ln.Opts = prev, nil, nil
		} else if p.tls.crtBase != "" && !strings.HasPrefix(cp, "/") {
			prev = cp
		} else {
			prev = ""
		}
		c, err := tlsconf.LoadFile(fsys, joinBase(p.tls.crtBase, cp))
		if err != nil {
			p.alert("bind", "%scrt-list '%s' line %d: %s.", prefix, path, ln.Line, tlsErr(err))
			return nil, nil, 0, false
		}
		if !p.ocspDiags([]*tlsconf.Cert{c}, prefix) {
			return nil, nil, 0, false
		}
		c.Filters = ln.Filters
		if ln.Opts != nil {
			// Resolved against the bind's settings once they are (see
			// resolveEntries); the placeholder marks the certificate.
			c.Entry = &tlsconf.Entry{}
			p.tls.pending = append(p.tls.pending, pendingEntry{c, ln.Opts, fmt.Sprintf("crt-list '%s' line %d: ", path, ln.Line)})
		}
		out = append(out, c)
		entries = append(entries, &tlsconf.CrtListEntry{Cert: c.Path, Line: ln.Line, Filters: ln.Filters, Opts: ln.Opts})
	}
	count := strings.Count(string(data), "\n")
	if len(data) > 0 && data[len(data)-1] != '\n' {
		count++
	}
	return out, entries, count, true
}

// caFiles is the configuration's CA and CRL files; haproxy's internal
// HTTP client adds @system-ca.
func (p *parser) caFiles() *tlsconf.CAFiles {
	if p.cfg.CAFiles == nil {
		p.cfg.CAFiles = &tlsconf.CAFiles{}
		p.cfg.CAFiles.PutLazy("@system-ca", func() (*tlsconf.CAContents, error) { return tlsconf.LoadSystemCAs(tlsconf.SystemCADir) })
	}
	return p.cfg.CAFiles
}

// crtList is the configuration's crt-list (or directory) of path, one
// for every bind line that names it, as haproxy shares them.
func (p *parser) crtList(path string, dir bool) *tlsconf.CrtList {
	key := strings.TrimRight(path, "/")
	if p.tls.crtLists == nil {
		p.tls.crtLists = map[string]*tlsconf.CrtList{}
	}
	l := p.tls.crtLists[key]
	if l == nil {
		l = tlsconf.NewCrtList(path, dir)
		p.tls.crtLists[key] = l
	}
	return l
}

// ocspDiags reports what loading a bind's certificates found in their
// FILE.ocsp as haproxy 2.6 does: an alert when no issuer gives the
// certificate's OCSP ID, a warning (and no stapling) for a response it
// would not staple. It reports whether the load goes on.
func (p *parser) ocspDiags(cs []*tlsconf.Cert, prefix string) bool {
	for _, c := range cs {
		if c.OCSPErr != nil {
			p.alert("bind", "%s%s.", prefix, c.OCSPErr)
			return false
		}
		for _, w := range c.Warnings {
			p.diag(Warning, LocNone, "bind", "%s", w)
		}
		if p.cfg.OCSP == nil {
			p.cfg.OCSP = &tlsconf.OCSPResponses{}
		}
		p.cfg.OCSP.Share(c)
	}
	return true
}
