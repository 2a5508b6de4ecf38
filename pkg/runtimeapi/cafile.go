package runtimeapi

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"hapair/pkg/tlsconf"
)

// The CA and CRL file commands of haproxy 2.6's CLI (`show/new/set/
// commit/abort/del ssl ca-file` and `... crl-file`): the files of the
// bind and server lines in memory, by path (haproxy's cafile_tree), one
// transaction per kind preparing a file's new contents, which its commit
// gives to the handshakes that start afterwards on the binds that verify
// with it and the servers that have a certificate (haproxy rebuilds the
// TLS contexts of certificate instances; a server without `crt` has none
// and keeps the contents it started with).

// caTx is an ongoing transaction of one kind.
type caTx struct {
	old  *tlsconf.CAFile
	next *tlsconf.CAContents
}

// caKind holds the words that differ between the two kinds.
type caKind struct {
	kind             tlsconf.CAKind
	word             string // "ca-file", "crl-file"
	what             string // "CA file", "CRL file"
	tx               string // "CA", "CRL"
	payloadWhat      string // "CAs", "CRLs"
	commitExpectWord string // haproxy 2.6's commit crl-file says "ca-file"
}

var (
	kindCA  = caKind{tlsconf.KindCA, "ca-file", "CA file", "CA", "CAs", "ca-file"}
	kindCRL = caKind{tlsconf.KindCRL, "crl-file", "CRL file", "CRL", "CRLs", "ca-file"}
)

func (c *Commands) caFiles() *tlsconf.CAFiles {
	if c.Source != nil && c.Source.Config != nil && c.Source.Config.CAFiles != nil {
		return c.Source.Config.CAFiles
	}
	if c.ssl.caFiles == nil {
		c.ssl.caFiles = &tlsconf.CAFiles{}
		c.ssl.caFiles.PutLazy("@system-ca", func() (*tlsconf.CAContents, error) { return tlsconf.LoadSystemCAs(tlsconf.SystemCADir) })
	}
	return c.ssl.caFiles
}

func (c *Commands) caTxOf(k caKind) *caTx {
	if k.kind == tlsconf.KindCRL {
		return &c.ssl.crlTx
	}
	return &c.ssl.caTx
}

// caUses counts the certificate instances (one per certificate of a bind
// that verifies, one per server with a certificate that verifies) that
// use each file: commit prints a dot for each.
func (c *Commands) caUses() map[*tlsconf.CAFile]int {
	n := map[*tlsconf.CAFile]int{}
	if c.Source == nil || c.Source.Config == nil {
		return n
	}
	seen := map[*tlsconf.BindFiles]bool{}
	for _, px := range c.Source.Config.Proxies {
		for _, b := range px.Binds {
			if b.TLS == nil || b.TLS.Settings.Files == nil || seen[b.TLS.Settings.Files] {
				continue
			}
			f := b.TLS.Settings.Files
			seen[f] = true
			certs := 0
			if st := b.TLS.Settings.Store; st != nil {
				certs = len(st.Certs())
			}
			for _, cf := range []*tlsconf.CAFile{f.CA, f.Verify, f.CRL} {
				if cf != nil && !(cf == f.Verify && f.Verify == f.CA) {
					n[cf] += certs
				}
			}
		}
		for _, s := range px.Servers {
			if s.TLS == nil || s.TLS.Settings.Files == nil {
				continue
			}
			for _, cf := range []*tlsconf.CAFile{s.TLS.Settings.Files.CA, s.TLS.Settings.Files.CRL} {
				if cf != nil {
					n[cf]++
				}
			}
		}
	}
	return n
}

func (c *Commands) showCAFile(args []string) string { return c.showCAOrCRL(kindCA, args) }
func (c *Commands) showCRLFile(args []string) string {
	return c.showCAOrCRL(kindCRL, args)
}

func (c *Commands) showCAOrCRL(k caKind, args []string) string {
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	tx := c.caTxOf(k)
	name := arg(args, 3)
	if name == "" {
		var b strings.Builder
		if tx.old != nil {
			fmt.Fprintf(&b, "# transaction\n*%s", tx.old.Path)
			if k.kind == tlsconf.KindCA {
				fmt.Fprintf(&b, " - %d certificate(s)", certCount(tx.next))
			}
			b.WriteString("\n")
		}
		b.WriteString("# filename\n")
		for _, f := range c.caFiles().All() {
			if f.Kind != k.kind {
				continue
			}
			b.WriteString(f.Path)
			if k.kind == tlsconf.KindCA {
				fmt.Fprintf(&b, " - %d certificate(s)", certCount(f.Load()))
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	index := 0
	if i := strings.IndexByte(name, ':'); i >= 0 {
		n, err := strconv.ParseInt(name[i+1:], 10, 64)
		if err != nil || n <= 0 {
			// strtol's prefix would do; haproxy wants the whole rest.
			return fmt.Sprintf("wrong %s index after colons in '%s'!", k.tx, name)
		}
		index, name = int(min(n, 1<<31)), name[:i]
	}
	notFound := fmt.Sprintf("Can't display the %s : Not found!\n", k.what)
	var contents *tlsconf.CAContents
	shown, status := name, "Unused"
	if rest, ok := strings.CutPrefix(name, "*"); ok {
		if tx.old == nil || rest != tx.old.Path {
			return notFound
		}
		contents = tx.next
	} else {
		f := c.caFiles().Get(name)
		if f == nil || f.Kind != k.kind {
			return notFound
		}
		contents = f.Load()
		if c.caUses()[f] > 0 {
			status = "Used"
		}
	}
	if contents == nil {
		status = "Empty"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Filename: %s\nStatus: %s\n", shown, status)
	if contents == nil {
		if k.kind == tlsconf.KindCA {
			return ""
		}
		return b.String()
	}
	if k.kind == tlsconf.KindCA {
		// haproxy sends its header with the first certificate: nothing
		// at all when there is none (an empty file, an index past the
		// end).
		if index-1 >= len(contents.Certs) {
			return ""
		}
		// OpenSSL's store keeps certificates before lists. haproxy puts
		// each certificate in the CLI's output buffer (tune.bufsize, 16
		// kB) as one block; when one does not fit, it waits for the
		// buffer to drain and starts again with the header: a long
		// listing has the header again every 16 kB or so.
		header := b.String()
		used := 0
		var blk strings.Builder
		for i := max(index-1, 0); i < len(contents.Certs); i++ {
			blk.Reset()
			if used == 0 {
				blk.WriteString(header)
			}
			fmt.Fprintf(&blk, " \nCertificate #%d:\n", i+1)
			certDetail(&blk, contents.Certs[i])
			if used > 0 && used+blk.Len() > cliBufSize {
				used = len(header)
				b.WriteString(header)
			}
			used += blk.Len()
			if i == max(index-1, 0) {
				b.Reset() // the first block holds the header
			}
			b.WriteString(blk.String())
			if index > 0 {
				break
			}
		}
		return b.String()
	}
	for j, l := range contents.CRLs {
		i := len(contents.Certs) + j
		if index > 0 && index-1 != i {
			continue
		}
		fmt.Fprintf(&b, " \nCertificate Revocation List #%d:\n", i+1)
		crlDetail(&b, l)
		if index > 0 {
			break
		}
	}
	return b.String()
}

// cliBufSize is haproxy's tune.bufsize, the size of the CLI's output
// buffer.
const cliBufSize = 16384

func certCount(c *tlsconf.CAContents) int {
	if c == nil {
		return 0
	}
	return len(c.Certs) + len(c.CRLs)
}

// crlDetail is haproxy's show_crl_detail, after `openssl crl -text`.
func crlDetail(b *strings.Builder, l *tlsconf.CRL) {
	fmt.Fprintf(b, "Version %d\n", l.Version())
	fmt.Fprintf(b, "Signature Algorithm: %s\n", l.CRLSigName())
	fmt.Fprintf(b, "Issuer: %s\n", tlsconf.RawDN(l.RawIssuer))
	fmt.Fprintf(b, "Last Update: %s\n", asn1Time(l.ThisUpdate))
	if l.NextUpdate.IsZero() {
		// OpenSSL fails to print a missing time, and haproxy stops there.
		b.WriteString("Next Update: ")
		return
	}
	fmt.Fprintf(b, "Next Update: %s\n", asn1Time(l.NextUpdate))
	if len(l.Revoked) == 0 {
		b.WriteString("No Revoked Certificates.\n")
		return
	}
	b.WriteString("Revoked Certificates:\n")
	for i, s := range l.Revoked {
		fmt.Fprintf(b, "    Serial Number: %s\n        Revocation Date: %s\n", asn1Integer(s), asn1Time(l.RevokedAt[i]))
	}
}

// asn1Integer is OpenSSL's i2a_ASN1_INTEGER: the magnitude's bytes in
// upper-case hex, a line break every 35 bytes.
func asn1Integer(n *big.Int) string {
	var b strings.Builder
	if n.Sign() < 0 {
		b.WriteByte('-')
	}
	mag := new(big.Int).Abs(n).Bytes()
	if len(mag) == 0 {
		return b.String() + "00"
	}
	for i, c := range mag {
		if i != 0 && i%35 == 0 {
			b.WriteString("\\\n")
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

func (c *Commands) newCAFile(args []string) string  { return c.newCAOrCRL(kindCA, args) }
func (c *Commands) newCRLFile(args []string) string { return c.newCAOrCRL(kindCRL, args) }

func (c *Commands) newCAOrCRL(k caKind, args []string) string {
	path := arg(args, 3)
	if path == "" {
		return fmt.Sprintf("'new ssl %s' expects a filename\n", k.word)
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	fs := c.caFiles()
	if fs.Get(path) != nil {
		return fmt.Sprintf("%s '%s' already exists!\n", k.what, path)
	}
	fs.Put(tlsconf.NewCAFile(path, k.kind, nil))
	return fmt.Sprintf("New %s created '%s'!\n", k.what, path)
}

func (c *Commands) setCAFile(args []string, payload *string) string {
	return c.setCAOrCRL(kindCA, args, payload)
}
func (c *Commands) setCRLFile(args []string, payload *string) string {
	return c.setCAOrCRL(kindCRL, args, payload)
}

func (c *Commands) setCAOrCRL(k caKind, args []string, payload *string) string {
	path := arg(args, 3)
	if path == "" || payload == nil {
		return fmt.Sprintf("'set ssl %s expects a filename and %s as a payload\n", k.word, k.payloadWhat)
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	tx := c.caTxOf(k)
	fail := func(msg string) string { return msg + "Can't update " + path + "!\n" }
	old := tx.old
	if old != nil {
		if old.Path != path {
			return fail(fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\n", old.Path, path))
		}
	} else if old = c.caFiles().Get(path); old == nil {
		return fail(fmt.Sprintf("Can't replace a %s which is not referenced by the configuration!\n", k.what))
	}
	next, err := tlsconf.ParseCAPayload([]byte(*payload))
	if err != nil {
		return fail("Invalid payload\n")
	}
	msg := "transaction updated for %s %s!\n"
	if tx.old == nil {
		msg = "transaction created for %s %s!\n"
	}
	tx.old, tx.next = old, next
	return fmt.Sprintf(msg, k.tx, old.Path)
}

func (c *Commands) commitCAFile(args []string) string  { return c.commitCAOrCRL(kindCA, args) }
func (c *Commands) commitCRLFile(args []string) string { return c.commitCAOrCRL(kindCRL, args) }

func (c *Commands) commitCAOrCRL(k caKind, args []string) string {
	path := arg(args, 3)
	if path == "" {
		return fmt.Sprintf("'commit ssl %s expects a filename\n", k.commitExpectWord)
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	tx := c.caTxOf(k)
	fail := func(msg string) string { return msg + "Can't commit " + path + "!\n" }
	switch {
	case tx.old == nil:
		return fail("No ongoing transaction! !\n")
	case tx.old.Path != path:
		return fail(fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\n", tx.old.Path, path))
	}
	uses := c.caUses()[tx.old]
	c.rebuildBinds(tx.old)
	tx.old.Kind = k.kind
	tx.old.Store(tx.next)
	*tx = caTx{}
	return "Committing " + path + strings.Repeat(".", uses) + "\nSuccess!\n"
}

// rebuildBinds tells the binds that verify with f that their TLS
// contexts are rebuilt (the CA names they send are taken then).
func (c *Commands) rebuildBinds(f *tlsconf.CAFile) {
	if c.Source == nil || c.Source.Config == nil {
		return
	}
	for _, px := range c.Source.Config.Proxies {
		for _, b := range px.Binds {
			if b.TLS == nil || b.TLS.Settings.Files == nil {
				continue
			}
			if bf := b.TLS.Settings.Files; bf.CA == f || bf.Verify == f || bf.CRL == f {
				bf.Rebuilt()
			}
		}
	}
}

func (c *Commands) abortCAFile(args []string) string  { return c.abortCAOrCRL(kindCA, args) }
func (c *Commands) abortCRLFile(args []string) string { return c.abortCAOrCRL(kindCRL, args) }

func (c *Commands) abortCAOrCRL(k caKind, args []string) string {
	path := arg(args, 3)
	if path == "" {
		return fmt.Sprintf("'abort ssl %s' expects a filename\n", k.word)
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	tx := c.caTxOf(k)
	switch {
	case tx.old == nil:
		return "No ongoing transaction!\n"
	case tx.old.Path != path:
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to abort a transaction for '%s'\n", tx.old.Path, path)
	}
	*tx = caTx{}
	return fmt.Sprintf("Transaction aborted for certificate '%s'!\n", path)
}

func (c *Commands) delCAFile(args []string) string  { return c.delCAOrCRL(kindCA, args) }
func (c *Commands) delCRLFile(args []string) string { return c.delCAOrCRL(kindCRL, args) }

func (c *Commands) delCAOrCRL(k caKind, args []string) string {
	path := arg(args, 3)
	if path == "" {
		return fmt.Sprintf("'del ssl %s' expects a %s name\n", k.word, k.what)
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	fail := func(msg string) string { return fmt.Sprintf("Can't remove the %s: %s\n", k.what, msg) }
	f := c.caFiles().Get(path)
	switch {
	case f == nil:
		return fail(fmt.Sprintf("%s '%s' doesn't exist!\n", k.what, path))
	case k.kind == tlsconf.KindCRL && f.Kind != tlsconf.KindCRL:
		// haproxy's del ssl ca-file does not look at the kind.
		return fail("'del ssl crl-file' does not work on CA files!\n")
	case c.caUses()[f] > 0:
		return fail(fmt.Sprintf("%s '%s' in use, can't be deleted!\n", k.what, path))
	}
	c.caFiles().Delete(path)
	return fmt.Sprintf("%s '%s' deleted!\n", k.what, path)
}
