package runtimeapi

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"hapair/pkg/tlsconf"
)

// haproxy 2.6's OCSP commands: `show ssl ocsp-response [ID]` lists the
// responses by certificate ID (its cert_ocsp_tree) or prints one as
// OpenSSL's OCSP_RESPONSE_print; `set ssl ocsp-response` replaces the
// response of the ID a new one is for. Both are open to every level, as
// in haproxy 2.6 (neither checks the level).

// ocspResponses is the configuration's OCSP tree, made when a commit
// brings the first certificate with a response.
func (c *Commands) ocspResponses(create bool) *tlsconf.OCSPResponses {
	if c.Source == nil || c.Source.Config == nil {
		return nil
	}
	if c.Source.Config.OCSP == nil && create {
		c.Source.Config.OCSP = &tlsconf.OCSPResponses{}
	}
	return c.Source.Config.OCSP
}

func (c *Commands) showOCSPResponse(args []string) string {
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	reg := c.ocspResponses(false)
	if id := arg(args, 3); id != "" {
		if len(id) > 256 {
			return "'show ssl ocsp-response' received a too big key.\n"
		}
		key, err := hex.DecodeString(id)
		if err != nil {
			return "Certificate ID does not match any certificate.\n"
		}
		_, sh, ok := reg.Lookup(key)
		if !ok {
			return "Certificate ID does not match any certificate.\n"
		}
		der, _ := sh.Load()
		text, _ := tlsconf.OCSPText(der)
		return text
	}
	keys := reg.Keys()
	if len(keys) == 0 {
		// haproxy writes its title with the first entry only.
		return ""
	}
	var b strings.Builder
	b.WriteString("# Certificate IDs\n")
	for _, k := range keys {
		b.WriteString(tlsconf.OCSPKeyText(k))
	}
	return b.String()
}

func (c *Commands) setOCSPResponse(args []string, payload *string) string {
	p := arg(args, 3)
	if payload != nil {
		p = *payload
	}
	if p == "" {
		return "'set ssl ocsp-response' expects response in base64 encoding.\n"
	}
	p = strings.NewReplacer("\r", "", "\n", "").Replace(p)
	der, err := base64.StdEncoding.Strict().DecodeString(p)
	if err != nil {
		return "'set ssl ocsp-response' received invalid base64 encoded response.\n"
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	reg := c.ocspResponses(false)
	if reg == nil {
		reg = &tlsconf.OCSPResponses{}
	}
	if err := reg.Update(der, time.Now()); err != nil {
		return err.Error() + ".\n"
	}
	return "OCSP Response updated!\n"
}

// showCertOCSP is `show ssl cert [*]FILE.ocsp`: a transaction's own
// response, else the tree's response for the ID of the file's.
func (c *Commands) showCertOCSP(parts tlsconf.Parts, tx bool) string {
	if tx && parts.OCSP != nil {
		text, _ := tlsconf.OCSPText(parts.OCSP)
		return text
	}
	_, sh, ok := c.ocspResponses(false).Lookup(tlsconf.OCSPKeyOf(parts.OCSP))
	if !ok {
		return ""
	}
	der, _ := sh.Load()
	text, _ := tlsconf.OCSPText(der)
	return text
}
