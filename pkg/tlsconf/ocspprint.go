package tlsconf

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// The text of an OCSP response as haproxy 2.6's stats socket prints it
// (`show ssl ocsp-response ID`, `show ssl cert FILE.ocsp`): OpenSSL 3.0's
// OCSP_RESPONSE_print, then, for each certificate the response carries,
// X509_print and the certificate as PEM; haproxy puts a space on each
// empty line. Layouts were read from haproxy 2.6.12 on Debian 12 and
// `openssl x509 -text` of the same library (pkg/runtimeapi's
// TestIntegrationOCSPResponseHaproxy, TestX509TextMatchesOpenSSL).

// ocspFullResponse is an OCSP response with the parts printed.
type ocspFullResponse struct {
	Status   asn1.Enumerated
	Response struct {
		ResponseType asn1.ObjectIdentifier
		Response     []byte
	} `asn1:"explicit,tag:0,optional"`
}

type ocspFullBasic struct {
	TBSResponseData    ocspFullData
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspFullData struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  asn1.RawValue
	Responses   []ocspFullSingle
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspFullSingle struct {
	CertID     asn1.RawValue
	Status     asn1.RawValue
	ThisUpdate asn1.RawValue
	NextUpdate asn1.RawValue    `asn1:"optional,explicit,tag:0"`
	Extensions []pkix.Extension `asn1:"optional,explicit,tag:1"`
}

var ocspStatusNames = []string{"successful", "malformedrequest", "internalerror", "trylater", "", "sigrequired", "unauthorized"}

var crlReasonNames = []string{"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation", "certificateHold", "", "removeFromCRL", "privilegeWithdrawn", "aACompromise"}

// OCSPText is haproxy's text of the DER OCSP response der; ok false when
// it does not parse (haproxy then prints nothing).
func OCSPText(der []byte) (text string, ok bool) {
	var b strings.Builder
	if !ocspPrint(&b, der) {
		return "", false
	}
	// haproxy's ssl_ocsp_response_print: an empty line gets a space.
	s := b.String()
	for strings.Contains(s, "\n\n") {
		s = strings.Replace(s, "\n\n", "\n \n", 1)
	}
	return s, true
}

func ocspPrint(b *strings.Builder, der []byte) bool {
	var r ocspFullResponse
	if rest, err := asn1.Unmarshal(der, &r); err != nil || len(rest) != 0 {
		return false
	}
	st := int(r.Status)
	name := "(UNKNOWN)"
	if st >= 0 && st < len(ocspStatusNames) && ocspStatusNames[st] != "" {
		name = ocspStatusNames[st]
	}
	fmt.Fprintf(b, "OCSP Response Data:\n    OCSP Response Status: %s (0x%x)\n", name, st)
	if r.Response.ResponseType == nil {
		return true
	}
	b.WriteString("    Response Type: " + objName(r.Response.ResponseType))
	if !r.Response.ResponseType.Equal(oidOCSPBasic) {
		b.WriteString(" (unknown response type)\n")
		return true
	}
	var br ocspFullBasic
	if _, err := asn1.Unmarshal(r.Response.Response, &br); err != nil {
		return false
	}
	rd := br.TBSResponseData
	fmt.Fprintf(b, "\n    Version: %d (0x%x)\n    Responder Id: ", rd.Version+1, rd.Version)
	switch rd.ResponderID.Tag {
	case 1: // byName
		var seq pkix.RDNSequence
		if _, err := asn1.Unmarshal(rd.ResponderID.Bytes, &seq); err == nil {
			b.WriteString(dnOneLine(seq))
		}
	case 2: // byKey
		var key []byte
		if _, err := asn1.Unmarshal(rd.ResponderID.Bytes, &key); err == nil {
			b.WriteString(a2iString(key))
		}
	}
	b.WriteString("\n    Produced At: " + asn1TimeText(rd.ProducedAt) + "\n    Responses:\n")
	for _, s := range rd.Responses {
		var id ocspCertID
		if _, err := asn1.Unmarshal(s.CertID.FullBytes, &id); err != nil {
			return false
		}
		fmt.Fprintf(b, "    Certificate ID:\n      Hash Algorithm: %s\n      Issuer Name Hash: %s\n      Issuer Key Hash: %s\n      Serial Number: %s\n",
			objName(id.HashAlgorithm.Algorithm), a2iString(id.NameHash), a2iString(id.KeyHash), a2iInteger(id.Serial))
		switch s.Status.Tag {
		case 0:
			b.WriteString("    Cert Status: good")
		case 1:
			b.WriteString("    Cert Status: revoked")
			var rev struct {
				Time   asn1.RawValue
				Reason asn1.Enumerated `asn1:"explicit,tag:0,optional,default:-1"`
			}
			if _, err := asn1.UnmarshalWithParams(s.Status.FullBytes, &rev, "tag:1"); err == nil {
				b.WriteString("\n    Revocation Time: " + asn1TimeText(rev.Time))
				if rev.Reason >= 0 {
					n := "(UNKNOWN)"
					if int(rev.Reason) < len(crlReasonNames) && crlReasonNames[rev.Reason] != "" {
						n = crlReasonNames[rev.Reason]
					}
					fmt.Fprintf(b, "\n    Revocation Reason: %s (0x%x)", n, int(rev.Reason))
				}
			}
		case 2:
			b.WriteString("    Cert Status: unknown")
		default:
			b.WriteString("    Cert Status: (UNKNOWN)")
		}
		b.WriteString("\n    This Update: " + asn1TimeText(s.ThisUpdate))
		if len(s.NextUpdate.FullBytes) > 0 {
			b.WriteString("\n    Next Update: " + asn1TimeText(s.NextUpdate))
		}
		b.WriteString("\n")
		extensionsText(b, "Response Single Extensions", s.Extensions, 8)
		b.WriteString("\n")
	}
	extensionsText(b, "Response Extensions", rd.Extensions, 4)
	signatureText(b, br.SignatureAlgorithm, br.Signature.Bytes)
	for _, c := range br.Certificates {
		cert, err := x509.ParseCertificate(c.FullBytes)
		if err != nil {
			continue
		}
		b.WriteString(X509Text(cert))
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.FullBytes}))
	}
	return true
}

// OCSPKeyText is one entry of haproxy's `show ssl ocsp-response` list:
// the certificate ID's DER in hex, then its parts as haproxy's own
// ocsp_certid_print writes them.
func OCSPKeyText(key []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Certificate ID key : %x\n", key)
	var id ocspCertID
	if _, err := asn1.Unmarshal(key, &id); err == nil {
		fmt.Fprintf(&b, " Certificate ID:\n   Issuer Name Hash: %s\n   Issuer Key Hash: %s\n   Serial Number: %s\n",
			a2iString(id.NameHash), a2iString(id.KeyHash), a2iInteger(id.Serial))
	}
	return b.String()
}

// a2iString is OpenSSL's i2a_ASN1_STRING: upper-case hex, a backslash
// and a new line every 35 bytes, "0" for an empty string.
func a2iString(v []byte) string {
	if len(v) == 0 {
		return "0"
	}
	var b strings.Builder
	for i, c := range v {
		if i != 0 && i%35 == 0 {
			b.WriteString("\\\n")
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// a2iInteger is OpenSSL's i2a_ASN1_INTEGER.
func a2iInteger(n *big.Int) string {
	if n == nil {
		return ""
	}
	s := ""
	if n.Sign() < 0 {
		s = "-"
	}
	v := new(big.Int).Abs(n).Bytes()
	if len(v) == 0 {
		return s + "00"
	}
	return s + a2iString(v)
}

// asn1TimeText is OpenSSL's ASN1_TIME_print of a GeneralizedTime or
// UTCTime: "Jun 10 08:55:04 2021 GMT".
func asn1TimeText(v asn1.RawValue) string {
	if v.Class == asn1.ClassContextSpecific { // an explicit tag's wrapper
		var in asn1.RawValue
		if _, err := asn1.Unmarshal(v.Bytes, &in); err != nil {
			return "Bad time value"
		}
		v = in
	}
	var t time.Time
	var err error
	switch v.Tag {
	case asn1.TagGeneralizedTime:
		_, err = asn1.UnmarshalWithParams(v.FullBytes, &t, "generalized")
	case asn1.TagUTCTime:
		_, err = asn1.Unmarshal(v.FullBytes, &t)
	default:
		return "Bad time value"
	}
	if err != nil {
		return "Bad time value"
	}
	return timeText(t)
}

func timeText(t time.Time) string {
	t = t.UTC()
	s := t.Format("Jan _2 15:04:05")
	if ns := t.Nanosecond(); ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return s + t.Format(" 2006") + " GMT"
}

var objNames = map[string]string{
	"1.3.14.3.2.26":           "sha1",
	"2.16.840.1.101.3.4.2.1":  "sha256",
	"2.16.840.1.101.3.4.2.2":  "sha384",
	"2.16.840.1.101.3.4.2.3":  "sha512",
	"2.16.840.1.101.3.4.2.4":  "sha224",
	"1.2.840.113549.2.5":      "md5",
	"1.3.6.1.5.5.7.48.1.1":    "Basic OCSP Response",
	"1.2.840.113549.1.1.1":    "rsaEncryption",
	"1.2.840.113549.1.1.5":    "sha1WithRSAEncryption",
	"1.2.840.113549.1.1.11":   "sha256WithRSAEncryption",
	"1.2.840.113549.1.1.12":   "sha384WithRSAEncryption",
	"1.2.840.113549.1.1.13":   "sha512WithRSAEncryption",
	"1.2.840.113549.1.1.14":   "sha224WithRSAEncryption",
	"1.2.840.113549.1.1.10":   "rsassaPss",
	"1.2.840.10045.2.1":       "id-ecPublicKey",
	"1.2.840.10045.4.1":       "ecdsa-with-SHA1",
	"1.2.840.10045.4.3.2":     "ecdsa-with-SHA256",
	"1.2.840.10045.4.3.3":     "ecdsa-with-SHA384",
	"1.2.840.10045.4.3.4":     "ecdsa-with-SHA512",
	"1.3.101.112":             "ED25519",
	"1.3.6.1.5.5.7.48.1.2":    "OCSP Nonce",
	"1.3.6.1.5.5.7.48.1.3":    "OCSP CRL ID",
	"1.3.6.1.5.5.7.48.1.5":    "OCSP No Check",
	"1.3.6.1.5.5.7.48.1.6":    "OCSP Archive Cutoff",
	"1.3.6.1.5.5.7.48.1.4":    "Acceptable OCSP Responses",
	"1.3.6.1.5.5.7.48.1.7":    "OCSP Service Locator",
	"2.5.29.19":               "X509v3 Basic Constraints",
	"2.5.29.15":               "X509v3 Key Usage",
	"2.5.29.37":               "X509v3 Extended Key Usage",
	"2.5.29.14":               "X509v3 Subject Key Identifier",
	"2.5.29.35":               "X509v3 Authority Key Identifier",
	"2.5.29.17":               "X509v3 Subject Alternative Name",
	"2.5.29.18":               "X509v3 Issuer Alternative Name",
	"2.5.29.31":               "X509v3 CRL Distribution Points",
	"2.5.29.32":               "X509v3 Certificate Policies",
	"1.3.6.1.5.5.7.1.1":       "Authority Information Access",
	"1.3.6.1.4.1.11129.2.4.2": "CT Precertificate SCTs",
	"2.16.840.1.113730.1.13":  "Netscape Comment",
	"2.16.840.1.113730.1.1":   "Netscape Cert Type",
}

// objName is OpenSSL's i2a_ASN1_OBJECT: the long name, else the dotted
// OID.
func objName(o asn1.ObjectIdentifier) string {
	if n, ok := objNames[o.String()]; ok {
		return n
	}
	return o.String()
}

// dnOneLine is X509_NAME_print_ex with XN_FLAG_ONELINE:
// "C = FR, O = HAProxy Technologies, CN = ocsp.haproxy.com".
func dnOneLine(seq pkix.RDNSequence) string {
	return dnJoin(seq, " = ", ", ", " + ", true)
}

// dnCompat is X509_NAME_print (X509_print's Issuer and Subject):
// "C=FR, O=HAProxy Technologies, CN=Root CA".
func dnCompat(seq pkix.RDNSequence) string {
	return dnJoin(seq, "=", ", ", " + ", false)
}

func dnJoin(seq pkix.RDNSequence, eq, sep, plus string, quote bool) string {
	var b strings.Builder
	for i, rdn := range seq {
		if i > 0 {
			b.WriteString(sep)
		}
		for j, atv := range rdn {
			if j > 0 {
				b.WriteString(plus)
			}
			k, ok := dnShort[atv.Type.String()]
			if !ok {
				k = atv.Type.String()
			}
			v := fmt.Sprint(atv.Value)
			if quote && strings.ContainsAny(v, ",+\"\\<>;") || quote && (strings.HasPrefix(v, " ") || strings.HasSuffix(v, " ") || strings.HasPrefix(v, "#")) {
				v = "\"" + strings.NewReplacer("\"", "\\\"", "\\", "\\\\").Replace(v) + "\""
			}
			b.WriteString(k + eq + v)
		}
	}
	return b.String()
}

// signatureText is OpenSSL's X509_signature_print.
func signatureText(b *strings.Builder, alg pkix.AlgorithmIdentifier, sig []byte) {
	b.WriteString("    Signature Algorithm: " + objName(alg.Algorithm) + "\n    Signature Value:")
	for i, c := range sig {
		if i%18 == 0 {
			b.WriteString("\n        ")
		}
		fmt.Fprintf(b, "%02x", c)
		if i+1 != len(sig) {
			b.WriteByte(':')
		}
	}
	b.WriteString("\n")
}

// extensionsText is OpenSSL's X509V3_extensions_print.
func extensionsText(b *strings.Builder, title string, exts []pkix.Extension, indent int) {
	if len(exts) == 0 {
		return
	}
	pad := strings.Repeat(" ", indent)
	b.WriteString(pad + title + ":\n")
	for _, e := range exts {
		crit := ""
		if e.Critical {
			crit = "critical"
		}
		fmt.Fprintf(b, "%s    %s: %s\n", pad, objName(e.Id), crit)
		b.WriteString(extValueText(e, indent+8))
		b.WriteString("\n")
	}
}

var keyUsageNames = []string{"Digital Signature", "Non Repudiation", "Key Encipherment", "Data Encipherment",
	"Key Agreement", "Certificate Sign", "CRL Sign", "Encipher Only", "Decipher Only"}

var ekuNames = map[string]string{
	"1.3.6.1.5.5.7.3.1": "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.2": "TLS Web Client Authentication",
	"1.3.6.1.5.5.7.3.3": "Code Signing", "1.3.6.1.5.5.7.3.4": "E-mail Protection",
	"1.3.6.1.5.5.7.3.8": "Time Stamping", "1.3.6.1.5.5.7.3.9": "OCSP Signing", "2.5.29.37.0": "Any Extended Key Usage",
}

// extValueText is X509V3_EXT_print for the extensions OCSP responses and
// their signers' certificates carry, else ASN1_STRING_print of the raw
// value.
func extValueText(e pkix.Extension, indent int) string {
	pad := strings.Repeat(" ", indent)
	raw := func() string {
		var b strings.Builder
		b.WriteString(pad)
		for _, c := range e.Value {
			if c > '~' || (c < ' ' && c != '\n' && c != '\r') {
				c = '.'
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	switch e.Id.String() {
	case "1.3.6.1.5.5.7.48.1.2": // nonce: the value's bytes
		return pad + a2iString(e.Value)
	case "1.3.6.1.5.5.7.48.1.5": // no check: nothing
		return ""
	case "2.5.29.19":
		var bc struct {
			CA      bool `asn1:"optional"`
			PathLen int  `asn1:"optional,default:-1"`
		}
		if _, err := asn1.Unmarshal(e.Value, &bc); err != nil {
			return raw()
		}
		s := "CA:FALSE"
		if bc.CA {
			s = "CA:TRUE"
		}
		if bc.PathLen >= 0 {
			s += fmt.Sprintf(", pathlen:%d", bc.PathLen)
		}
		return pad + s
	case "2.5.29.15":
		var bits asn1.BitString
		if _, err := asn1.Unmarshal(e.Value, &bits); err != nil {
			return raw()
		}
		var names []string
		for i, n := range keyUsageNames {
			if bits.At(i) == 1 {
				names = append(names, n)
			}
		}
		return pad + strings.Join(names, ", ")
	case "2.5.29.37":
		var oids []asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(e.Value, &oids); err != nil {
			return raw()
		}
		var names []string
		for _, o := range oids {
			n, ok := ekuNames[o.String()]
			if !ok {
				n = o.String()
			}
			names = append(names, n)
		}
		return pad + strings.Join(names, ", ")
	case "2.5.29.14":
		var id []byte
		if _, err := asn1.Unmarshal(e.Value, &id); err != nil {
			return raw()
		}
		return pad + colonHex(id)
	case "2.5.29.35":
		var aki struct {
			KeyID  []byte          `asn1:"optional,tag:0"`
			Issuer []asn1.RawValue `asn1:"optional,tag:1"`
			Serial *big.Int        `asn1:"optional,tag:2"`
		}
		if _, err := asn1.Unmarshal(e.Value, &aki); err != nil {
			return raw()
		}
		var lines []string
		if aki.KeyID != nil {
			p := ""
			if aki.Issuer != nil || aki.Serial != nil {
				p = "keyid:"
			}
			lines = append(lines, p+colonHex(aki.KeyID))
		}
		for _, g := range aki.Issuer {
			lines = append(lines, generalName(g))
		}
		if aki.Serial != nil {
			lines = append(lines, "serial:"+colonHex(aki.Serial.Bytes()))
		}
		return pad + strings.Join(lines, "\n"+pad)
	case "2.5.29.17", "2.5.29.18":
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(e.Value, &names); err != nil {
			return raw()
		}
		var out []string
		for _, g := range names {
			out = append(out, generalName(g))
		}
		return pad + strings.Join(out, ", ")
	case "1.3.6.1.5.5.7.1.1":
		var ads []struct {
			Method   asn1.ObjectIdentifier
			Location asn1.RawValue
		}
		if _, err := asn1.Unmarshal(e.Value, &ads); err != nil {
			return raw()
		}
		var out []string
		for _, a := range ads {
			m := a.Method.String()
			switch m {
			case "1.3.6.1.5.5.7.48.1":
				m = "OCSP"
			case "1.3.6.1.5.5.7.48.2":
				m = "CA Issuers"
			}
			out = append(out, m+" - "+generalName(a.Location))
		}
		return pad + strings.Join(out, "\n"+pad)
	}
	return raw()
}

// generalName is OpenSSL's GENERAL_NAME_print of the usual kinds.
func generalName(g asn1.RawValue) string {
	switch g.Tag {
	case 1:
		return "email:" + string(g.Bytes)
	case 2:
		return "DNS:" + string(g.Bytes)
	case 6:
		return "URI:" + string(g.Bytes)
	case 7:
		return "IP Address:" + net.IP(g.Bytes).String()
	case 4:
		var seq pkix.RDNSequence
		if _, err := asn1.Unmarshal(g.Bytes, &seq); err == nil {
			return "DirName:" + DN(seq)
		}
	}
	return "othername:<unsupported>"
}

// colonHex is upper-case hex with colons (i2s_ASN1_OCTET_STRING).
func colonHex(v []byte) string {
	h := strings.ToUpper(hex.EncodeToString(v))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// X509Text is OpenSSL's X509_print of c (`openssl x509 -text -noout`).
func X509Text(c *x509.Certificate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Certificate:\n    Data:\n        Version: %d (0x%x)\n        Serial Number:", c.Version, c.Version-1)
	if s := c.SerialNumber; s.IsInt64() && s.Int64() != -1 {
		v, neg := s.Int64(), ""
		if v < 0 {
			v, neg = -v, "-"
		}
		fmt.Fprintf(&b, " %s%d (%s0x%x)\n", neg, v, neg, v)
	} else {
		neg := ""
		if s.Sign() < 0 {
			neg = " (Negative)"
		}
		fmt.Fprintf(&b, "%s\n            %s\n", neg, strings.ToLower(colonHex(new(big.Int).Abs(s).Bytes())))
	}
	var tbs struct {
		Raw          asn1.RawContent
		Version      int `asn1:"optional,explicit,default:0,tag:0"`
		Serial       *big.Int
		SigAlg       pkix.AlgorithmIdentifier
		Issuer       asn1.RawValue
		Validity     struct{ NotBefore, NotAfter asn1.RawValue }
		Subject      asn1.RawValue
		SPKI         asn1.RawValue
		UniqueIDs    []asn1.RawValue `asn1:"optional"`
		OptionalTail []asn1.RawValue `asn1:"optional"`
	}
	_, _ = asn1.Unmarshal(c.RawTBSCertificate, &tbs)
	var issuer, subject pkix.RDNSequence
	_, _ = asn1.Unmarshal(c.RawIssuer, &issuer)
	_, _ = asn1.Unmarshal(c.RawSubject, &subject)
	fmt.Fprintf(&b, "        Signature Algorithm: %s\n        Issuer: %s\n        Validity\n            Not Before: %s\n            Not After : %s\n        Subject: %s\n",
		objName(tbs.SigAlg.Algorithm), dnCompat(issuer), asn1TimeText(tbs.Validity.NotBefore), asn1TimeText(tbs.Validity.NotAfter), dnCompat(subject))
	b.WriteString("        Subject Public Key Info:\n")
	var spki struct {
		Alg pkix.AlgorithmIdentifier
		Key asn1.BitString
	}
	_, _ = asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki)
	const kp = "                "
	fmt.Fprintf(&b, "            Public Key Algorithm: %s\n", objName(spki.Alg.Algorithm))
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		fmt.Fprintf(&b, "%sPublic-Key: (%d bit)\n%sModulus:\n%s", kp, k.N.BitLen(), kp, bnText(k.N.Bytes(), 20))
		fmt.Fprintf(&b, "%sExponent: %d (0x%x)\n", kp, k.E, k.E)
	case *ecdsa.PublicKey:
		fmt.Fprintf(&b, "%sPublic-Key: (%d bit)\n%spub:\n%s", kp, k.Curve.Params().BitSize, kp, hexLines(spki.Key.Bytes, 20))
		switch k.Curve.Params().Name {
		case "P-256":
			fmt.Fprintf(&b, "%sASN1 OID: prime256v1\n%sNIST CURVE: P-256\n", kp, kp)
		case "P-384":
			fmt.Fprintf(&b, "%sASN1 OID: secp384r1\n%sNIST CURVE: P-384\n", kp, kp)
		case "P-521":
			fmt.Fprintf(&b, "%sASN1 OID: secp521r1\n%sNIST CURVE: P-521\n", kp, kp)
		}
	case ed25519.PublicKey:
		fmt.Fprintf(&b, "%sED25519 Public-Key:\n%spub:\n%s", kp, kp, hexLines(k, 20))
	}
	if len(c.Extensions) > 0 {
		extensionsText(&b, "X509v3 extensions", c.Extensions, 8)
	}
	var sig pkix.AlgorithmIdentifier
	sigAlg := c.SignatureAlgorithm
	_ = sigAlg
	var outer struct {
		TBS    asn1.RawValue
		SigAlg pkix.AlgorithmIdentifier
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.Raw, &outer); err == nil {
		sig = outer.SigAlg
	}
	signatureText(&b, sig, c.Signature)
	return b.String()
}

// bnText is ASN1_bn_print's lines: a leading 00 when the top bit is set,
// 15 bytes a line.
func bnText(v []byte, indent int) string {
	if len(v) > 0 && v[0]&0x80 != 0 {
		v = append([]byte{0}, v...)
	}
	return hexLines(v, indent)
}

// hexLines is lower-case hex, colons after each byte but the last, 15
// bytes a line at indent.
func hexLines(v []byte, indent int) string {
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for i, c := range v {
		if i%15 == 0 {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(pad)
		}
		fmt.Fprintf(&b, "%02x", c)
		if i+1 != len(v) {
			b.WriteByte(':')
		}
	}
	b.WriteString("\n")
	return b.String()
}
