package runtimeapi

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/tlsconf"
)

// The certificate commands of haproxy 2.6's CLI (`show/set/commit/abort/
// new/del ssl cert`): the certificate files in memory, by path (haproxy's
// ckch_store tree), each used by bind lines (directly or from crt-lists)
// and servers' `crt`; one transaction at a time prepares a file's new
// contents, which its commit gives to the handshakes that start
// afterwards (connections already made keep theirs).

// sslCertState is what the commands keep between sessions.
type sslCertState struct {
	mu sync.Mutex
	// added are the files created by `new ssl cert`, unused by any bind
	// or server; deleted are those removed by `del ssl cert`.
	added map[string]*tlsconf.Parts
	// The ongoing transaction: its file and new contents.
	txPath string
	txNew  *tlsconf.Parts
	// The CA and CRL files' transactions (cafile.go), and the files
	// when the configuration has none.
	caTx, crlTx caTx
	caFiles     *tlsconf.CAFiles
	// kept are the last committed contents of each server certificate
	// file: a file whose servers were all deleted stays in memory,
	// unused, as in haproxy's ckch tree.
	kept map[string]*tlsconf.Cert
}

// certUser is one place that uses a file: a bind's store or a server.
type certUser struct {
	store *tlsconf.Store
	slot  *tlsconf.CertSlot
}

// sslCerts are the configured files with their current contents and
// users, by path.
func (c *Commands) sslCerts() (map[string]*tlsconf.Cert, map[string][]certUser) {
	out := map[string]*tlsconf.Cert{}
	users := map[string][]certUser{}
	if c.Source == nil || c.Source.Config == nil {
		return out, users
	}
	seen := map[*tlsconf.Store]bool{}
	for _, px := range c.Source.Config.Proxies {
		for _, b := range px.Binds {
			st := (*tlsconf.Store)(nil)
			if b.TLS != nil {
				st = b.TLS.Settings.Store
			}
			if st == nil || seen[st] {
				continue
			}
			seen[st] = true
			inStore := map[string]bool{}
			for _, crt := range st.Certs() {
				if out[crt.Path] == nil {
					out[crt.Path] = crt
				}
				if !inStore[crt.Path] {
					inStore[crt.Path] = true
					users[crt.Path] = append(users[crt.Path], certUser{store: st})
				}
			}
		}
	}
	// The servers that run now (dynamic ones included, deleted ones
	// not) use their files.
	var live []*haproxycfg.Server
	if e := c.Source.Engine; e != nil {
		for _, b := range e.Backends() {
			for _, s := range b.Servers() {
				live = append(live, s.Config())
			}
		}
	} else {
		for _, px := range c.Source.Config.Proxies {
			live = append(live, px.Servers...)
		}
	}
	for _, s := range live {
		if s.TLS == nil || s.TLS.Settings.Slot == nil {
			continue
		}
		crt := s.TLS.Settings.Slot.Load()
		if out[crt.Path] == nil {
			out[crt.Path] = crt
		}
		users[crt.Path] = append(users[crt.Path], certUser{slot: s.TLS.Settings.Slot})
	}
	for _, px := range c.Source.Config.Proxies {
		for _, s := range px.Servers {
			if s.TLS == nil || s.TLS.Settings.Slot == nil {
				continue
			}
			crt := s.TLS.Settings.Slot.Load()
			if out[crt.Path] == nil {
				if k := c.ssl.kept[crt.Path]; k != nil {
					crt = k
				}
				out[crt.Path] = crt
			}
		}
	}
	return out, users
}

// serverCert is the certificate file in memory a dynamic server's `crt`
// names (haproxy 2.6 loads none for a dynamic server), or nil.
func (c *Commands) serverCert(path string) *tlsconf.Cert {
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	certs, _ := c.sslCerts()
	return certs[path]
}

// lookup finds a file: its current contents and whether bind lines or
// servers use it (ok false: no such file).
func (c *Commands) lookupCert(path string) (parts tlsconf.Parts, used, ok bool) {
	certs, users := c.sslCerts()
	if crt := certs[path]; crt != nil {
		return tlsconf.PartsOf(crt), len(users[path]) > 0, true
	}
	if p := c.ssl.added[path]; p != nil {
		return *p, false, true
	}
	return tlsconf.Parts{}, false, false
}

func (c *Commands) showSSLCert(args []string) string {
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	if len(args) < 4 || args[3] == "" {
		certs, _ := c.sslCerts()
		names := make([]string, 0, len(certs)+len(c.ssl.added))
		for n := range certs {
			names = append(names, n)
		}
		for n := range c.ssl.added {
			names = append(names, n)
		}
		sort.Strings(names) // haproxy walks its tree of files by name
		var b strings.Builder
		if c.ssl.txNew != nil {
			fmt.Fprintf(&b, "# transaction\n*%s\n", c.ssl.txPath)
		}
		b.WriteString("# filename\n")
		for _, n := range names {
			b.WriteString(n + "\n")
		}
		return b.String()
	}
	const notFound = "Can't display the certificate: Not found or the certificate is a bundle!\n"
	name, ocsp := strings.CutSuffix(args[3], ".ocsp")
	var parts tlsconf.Parts
	status := "Unused"
	if rest, ok := strings.CutPrefix(name, "*"); ok {
		if c.ssl.txNew == nil || rest != c.ssl.txPath {
			return notFound
		}
		name, parts = rest, *c.ssl.txNew
		name = "*" + name
	} else {
		p, used, ok := c.lookupCert(name)
		if !ok {
			return notFound
		}
		parts = p
		if used {
			status = "Used"
		}
	}
	if ocsp {
		return c.showCertOCSP(parts, strings.HasPrefix(name, "*"))
	}
	leaf := parts.Leaf()
	if leaf == nil {
		status = "Empty"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Filename: %s\nStatus: %s\n", name, status)
	key := fmt.Sprintf("OCSP Response Key: %x\n", tlsconf.OCSPKeyOf(parts.OCSP))
	if leaf == nil {
		return b.String() + key
	}
	certDetail(&b, leaf)
	for _, der := range parts.Chain[1:] {
		ch, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "Chain Subject: %s\n", tlsconf.RawDN(ch.RawSubject))
		fmt.Fprintf(&b, "Chain Issuer: %s\n", tlsconf.RawDN(ch.RawIssuer))
	}
	// The ID of the file's OCSP response's first single response.
	b.WriteString(key)
	return b.String()
}

// setSSLCert is `set ssl cert FILE[.key|.ocsp] <<`: the transaction's
// new contents of FILE, created from its current ones.
func (c *Commands) setSSLCert(args []string, payload *string) string {
	if arg(args, 3) == "" || payload == nil {
		return "'set ssl cert expects a filename and a certificate as a payload\n"
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	path, ext := args[3], ""
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		switch e := path[i+1:]; e {
		case "crt", "key", "ocsp", "issuer", "sctl":
			// haproxy takes these as the parts of the file named
			// without the extension (".crt": the certificate, as PEM).
			path, ext = path[:i], e
		}
	}
	fail := func(msg string) string { return msg + "Can't update " + args[3] + "!\n" }
	// With ssl-load-extra-del-ext, "NAME.key" also names "NAME.crt".
	delExt := ext != "" && c.Source != nil && c.Source.Config != nil && c.Source.Config.Global.SSLLoadExtraDelExt
	var parts tlsconf.Parts
	if c.ssl.txNew != nil {
		// haproxy 2.6 updates the ongoing transaction whatever file a
		// certificate payload names.
		if delExt && path != c.ssl.txPath && path+".crt" != c.ssl.txPath {
			// haproxy means to name the file without ".crt" but does not.
			return fail(fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s.crt'\n", c.ssl.txPath, path))
		}
		path, parts = c.ssl.txPath, *c.ssl.txNew
	} else {
		p, _, ok := c.lookupCert(path)
		if !ok && delExt {
			path += ".crt"
			p, _, ok = c.lookupCert(path)
		}
		if !ok {
			return fail("Can't replace a certificate which is not referenced by the configuration!\n")
		}
		parts = p
	}
	var err error
	switch ext {
	case "", "crt":
		if err = parts.SetPEM([]byte(*payload)); err != nil {
			return fail(fmt.Sprintf("unable to load certificate from file '%s'.\nCan't load the payload\n", path))
		}
	case "key":
		if err = parts.SetKey([]byte(*payload)); err != nil {
			return fail(fmt.Sprintf("unable to load private key from file '%s'.\nCan't load the payload\n", path))
		}
	case "ocsp":
		if err = parts.SetOCSP([]byte(*payload)); err != nil {
			return fail("Error reading OCSP response in base64 formatCan't load the payload\n")
		}
	case "issuer":
		if err = parts.SetIssuer([]byte(*payload)); err != nil {
			return fail(fmt.Sprintf("'%s' cannot be read or parsed'.\nCan't load the payload\n", path))
		}
	default:
		return fail(fmt.Sprintf("gproxy does not implement updating a '.%s' file.\n", ext))
	}
	msg := "Transaction updated for certificate %s!\n"
	if c.ssl.txNew == nil {
		msg = "Transaction created for certificate %s!\n"
	}
	c.ssl.txPath, c.ssl.txNew = path, &parts
	return fmt.Sprintf(msg, path)
}

// commitSSLCert is `commit ssl cert FILE`: the transaction's contents
// replace the file's everywhere it is used, one dot per use.
func (c *Commands) commitSSLCert(args []string) string {
	path := arg(args, 3)
	if path == "" {
		return "'commit ssl cert expects a filename\n"
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	fail := func(msg string) string { return msg + "Can't commit " + path + "!\n" }
	switch {
	case c.ssl.txNew == nil:
		return fail("No ongoing transaction! !\n")
	case c.ssl.txPath != path:
		return fail(fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\n", c.ssl.txPath, path))
	case len(c.ssl.txNew.Chain) > 0 && c.ssl.txNew.Key == nil:
		return fail("The transaction must contain at least a certificate and a private key!\n")
	}
	crt, err := c.ssl.txNew.Cert(path)
	if err != nil {
		return fail(fmt.Sprintf("inconsistencies between private key and certificate loaded '%s'.\n", path))
	}
	// The new response goes to the OCSP tree before handshakes see the
	// certificate, as haproxy's commit loads it.
	if crt.OCSPFile != nil {
		c.ocspResponses(true).Share(crt)
	}
	var b strings.Builder
	b.WriteString("Committing " + path)
	_, users := c.sslCerts()
	for _, u := range users[path] {
		if u.store != nil {
			b.WriteString(strings.Repeat(".", u.store.Replace(crt)))
		} else {
			u.slot.Store(crt)
			b.WriteString(".")
		}
	}
	if p := c.ssl.added[path]; p != nil {
		*p = *c.ssl.txNew
	}
	if c.ssl.kept == nil {
		c.ssl.kept = map[string]*tlsconf.Cert{}
	}
	c.ssl.kept[path] = crt
	c.ssl.txPath, c.ssl.txNew = "", nil
	b.WriteString("\nSuccess!\n")
	return b.String()
}

// abortSSLCert is `abort ssl cert FILE`: the transaction is dropped.
func (c *Commands) abortSSLCert(args []string) string {
	path := arg(args, 3)
	if path == "" {
		return "'abort ssl cert' expects a filename\n"
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	switch {
	case c.ssl.txNew == nil:
		return "No ongoing transaction!\n"
	case c.ssl.txPath != path:
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to abort a transaction for '%s'\n", c.ssl.txPath, path)
	}
	c.ssl.txPath, c.ssl.txNew = "", nil
	return fmt.Sprintf("Transaction aborted for certificate '%s'!\n", path)
}

// newSSLCert is `new ssl cert FILE`: an empty file, to be filled by a
// transaction.
func (c *Commands) newSSLCert(args []string) string {
	path := arg(args, 3)
	if path == "" {
		return "'new ssl cert' expects a filename\n"
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	if _, _, ok := c.lookupCert(path); ok {
		return fmt.Sprintf("Certificate '%s' already exists!\n", path)
	}
	if c.ssl.added == nil {
		c.ssl.added = map[string]*tlsconf.Parts{}
	}
	c.ssl.added[path] = &tlsconf.Parts{}
	return fmt.Sprintf("New empty certificate store '%s'!\n", path)
}

// delSSLCert is `del ssl cert FILE`, for a file no bind or server uses.
func (c *Commands) delSSLCert(args []string) string {
	path := arg(args, 3)
	if path == "" {
		return "'del ssl cert' expects a certificate name\n"
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	_, used, ok := c.lookupCert(path)
	switch {
	case !ok:
		return fmt.Sprintf("Can't remove the certificate: certificate '%s' doesn't exist!\n\n", path)
	case used:
		return fmt.Sprintf("Can't remove the certificate: certificate '%s' in use, can't be deleted!\n\n", path)
	}
	delete(c.ssl.added, path)
	return fmt.Sprintf("Certificate '%s' deleted!\n", path)
}

// certDetail is haproxy's show_cert_detail for one certificate (`show
// ssl cert FILE`, `show ssl ca-file FILE`), without its chain.
func certDetail(b *strings.Builder, leaf *x509.Certificate) {
	serial := fmt.Sprintf("%X", new(big.Int).Abs(leaf.SerialNumber).Bytes())
	if serial == "" {
		serial = "00" // the INTEGER's one content byte
	}
	fmt.Fprintf(b, "Serial: %s\n", serial)
	fmt.Fprintf(b, "notBefore: %s\n", asn1Time(leaf.NotBefore))
	fmt.Fprintf(b, "notAfter: %s\n", asn1Time(leaf.NotAfter))
	fmt.Fprintf(b, "Subject Alternative Name: %s\n", sanOneline(leaf))
	fmt.Fprintf(b, "Algorithm: %s\n", keyAlgorithm(leaf))
	fmt.Fprintf(b, "SHA1 FingerPrint: %X\n", sha1.Sum(leaf.Raw))
	fmt.Fprintf(b, "Subject: %s\n", tlsconf.RawDN(leaf.RawSubject))
	fmt.Fprintf(b, "Issuer: %s\n", tlsconf.RawDN(leaf.RawIssuer))
}

// sanOneline is haproxy's ssl_sock_get_san_oneline: the subject
// alternative names in their order, only the DNS ones written, ", "
// between every two whatever their kind.
func sanOneline(c *x509.Certificate) string {
	for _, e := range c.Extensions {
		if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			continue
		}
		var seq asn1.RawValue
		if _, err := asn1.Unmarshal(e.Value, &seq); err != nil {
			return ""
		}
		var b strings.Builder
		for rest, i := seq.Bytes, 0; len(rest) > 0; i++ {
			var gn asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			if gn.Class == asn1.ClassContextSpecific && gn.Tag == 2 {
				b.WriteString("DNS:" + string(gn.Bytes))
			}
		}
		return b.String()
	}
	return ""
}

// asn1Time is OpenSSL's ASN1_TIME_print: "Dec  3 23:41:40 2026 GMT".
func asn1Time(t time.Time) string { return t.UTC().Format("Jan _2 15:04:05 2006 GMT") }

// keyAlgorithm is haproxy's "Algorithm:": RSA2048, EC256...
func keyAlgorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return fmt.Sprintf("EC%d", k.Curve.Params().BitSize)
	case ed25519.PublicKey:
		return "ED25519"
	}
	return "Unknown"
}
