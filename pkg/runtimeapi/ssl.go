package runtimeapi

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"time"

	"hapair/pkg/tlsconf"
)

// `show ssl cert [<certfile>]`, as haproxy 2.6 prints it: the files of the
// certificates in memory (every bind's and server's `crt`), or one
// certificate's details. Updates (`set/commit ssl cert`) are not done:
// certificates change with a reload.

// sslCerts are the loaded certificates by file name.
func (c *Commands) sslCerts() map[string]*tlsconf.Cert {
	out := map[string]*tlsconf.Cert{}
	if c.Source == nil || c.Source.Config == nil {
		return out
	}
	for _, px := range c.Source.Config.Proxies {
		for _, b := range px.Binds {
			if b.TLS != nil && b.TLS.Settings.Store != nil {
				for _, crt := range b.TLS.Settings.Store.Certs() {
					out[crt.Path] = crt
				}
			}
		}
		for _, s := range px.Servers {
			if s.TLS != nil && s.TLS.Settings.Cert != nil {
				out[s.TLS.Settings.Cert.Path] = s.TLS.Settings.Cert
			}
		}
	}
	return out
}

func (c *Commands) showSSLCert(args []string) string {
	certs := c.sslCerts()
	if len(args) < 4 || args[3] == "" {
		names := make([]string, 0, len(certs))
		for n := range certs {
			names = append(names, n)
		}
		sort.Strings(names) // haproxy walks its tree of files by name
		return "# filename\n" + strings.Join(append(names, ""), "\n")
	}
	crt := certs[args[3]]
	if crt == nil {
		return "Can't display the certificate: Not found or the certificate is a bundle!\n"
	}
	var b strings.Builder
	leaf := crt.TLS.Leaf
	fmt.Fprintf(&b, "Filename: %s\nStatus: Used\n", crt.Path)
	fmt.Fprintf(&b, "Serial: %X\n", leaf.SerialNumber.Bytes())
	fmt.Fprintf(&b, "notBefore: %s\n", asn1Time(leaf.NotBefore))
	fmt.Fprintf(&b, "notAfter: %s\n", asn1Time(leaf.NotAfter))
	var san []string
	for _, d := range leaf.DNSNames {
		san = append(san, "DNS:"+d)
	}
	for _, ip := range leaf.IPAddresses {
		san = append(san, "IP Address:"+ip.String())
	}
	for _, e := range leaf.EmailAddresses {
		san = append(san, "email:"+e)
	}
	fmt.Fprintf(&b, "Subject Alternative Name: %s\n", strings.Join(san, ", "))
	fmt.Fprintf(&b, "Algorithm: %s\n", keyAlgorithm(leaf))
	fmt.Fprintf(&b, "SHA1 FingerPrint: %X\n", sha1.Sum(leaf.Raw))
	fmt.Fprintf(&b, "Subject: %s\n", tlsconf.RawDN(leaf.RawSubject))
	fmt.Fprintf(&b, "Issuer: %s\n", tlsconf.RawDN(leaf.RawIssuer))
	for _, der := range crt.TLS.Certificate[1:] {
		ch, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "Chain Subject: %s\n", tlsconf.RawDN(ch.RawSubject))
		fmt.Fprintf(&b, "Chain Issuer: %s\n", tlsconf.RawDN(ch.RawIssuer))
	}
	// The OCSP certificate id is printed only for a loaded .ocsp response.
	b.WriteString("OCSP Response Key: \n")
	return b.String()
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
