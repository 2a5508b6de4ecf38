package proxy

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// crt-list lines with options ("cert.pem [verify required ca-file ca.pem
// alpn h2] name"): per server name, the certificate served, whether a
// client certificate is asked for and judged against the line's CA and
// CRL, the ALPN protocol picked and the versions accepted, under haproxy
// 2.6 and gproxy. "opts" has a plain default line; in "deflt" the
// default line has options, which haproxy applies to the handshakes that
// match no name except its versions.
const tlsCrtListOptsConfig = `global
    crt-base {DIR}
    ca-base {DIR}
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend opts
    bind 127.0.0.1:{opts} ssl crt-list {DIR}/opts.txt alpn http/1.1
    http-request return status 200 content-type text/plain lf-string "c=%[ssl_c_used] v=%[ssl_c_verify] p=%[ssl_fc_protocol] a=%[ssl_fc_alpn]"
frontend deflt
    bind 127.0.0.1:{deflt} ssl crt-list {DIR}/deflt.txt
    http-request return status 200 content-type text/plain lf-string "c=%[ssl_c_used] v=%[ssl_c_verify] p=%[ssl_fc_protocol] a=%[ssl_fc_alpn]"
`

const tlsCrtListOpts = `certs/d.pem
certs/a.pem [verify required ca-file ca.pem alpn h2,http/1.1] a.test
certs/b.pem [ssl-min-ver TLSv1.3 alpn h2] b.test
certs/c.pem [verify optional ca-file ca.pem crl-file crl.pem ssl-max-ver TLSv1.2] c.test
certs/e.pem [verify required ca-file other.pem] e.test
`

const tlsCrtListDefault = `certs/b.pem [ssl-max-ver TLSv1.2 verify required ca-file ca.pem alpn h2] b.test
certs/d.pem d.test
`

func TestIntegrationTLSCrtListOptionsHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	w := func(name string, b []byte) { tlstest.Write(t, filepath.Join(dir, name), b) }
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	ca, other := tlstest.NewCA(t, "Test CA"), tlstest.NewCA(t, "Other CA")
	w("ca.pem", ca.PEM)
	w("other.pem", other.PEM)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		w("certs/"+n+".pem", ca.Issue(t, tlstest.RSA, n+".test", n+".test").Bundle())
	}
	revoked := ca.Issue(t, tlstest.RSA, "revoked")
	w("crl.pem", ca.CRL(t, revoked))
	w("opts.txt", []byte(tlsCrtListOpts))
	w("deflt.txt", []byte(tlsCrtListDefault))
	pair := func(l *tlstest.Leaf) []tls.Certificate {
		p, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{p}
	}
	clients := map[string][]tls.Certificate{
		"none": nil, "from CA": pair(ca.Issue(t, tlstest.RSA, "alice")),
		"from other CA": pair(other.Issue(t, tlstest.RSA, "mallory")), "revoked": pair(revoked),
	}
	fill := func(ports map[string]int) string {
		s := strings.ReplaceAll(tlsCrtListOptsConfig, "{DIR}", dir)
		for k, p := range ports {
			s = strings.ReplaceAll(s, "{"+k+"}", fmt.Sprint(p))
		}
		return s
	}
	names := []string{"opts", "deflt"}
	hp, gp := startPair(t, dir, names, fill)
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, fe := range names {
			for _, sni := range []string{"a.test", "b.test", "c.test", "d.test", "e.test", "nomatch.test", ""} {
				for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
					for cn, cert := range clients {
						key := fmt.Sprintf("%s / %q / %s / client cert %s", fe, sni, tlsVersionName(v), cn)
						o[key] = crtListProbe(fmt.Sprintf("127.0.0.1:%d", ports[fe]), &tls.Config{
							ServerName: sni, InsecureSkipVerify: true, MinVersion: v, MaxVersion: v,
							NextProtos: []string{"h2", "http/1.1"}, Certificates: cert,
						})
					}
				}
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "frontend/SNI/version/client", want, got, haproxytest.Equal, map[string]string{
		`opts / "a.test" / TLSv1.3 / client cert none`:           "refused",
		`opts / "a.test" / TLSv1.2 / client cert from CA`:        "a.test h2",
		`opts / "b.test" / TLSv1.2 / client cert none`:           "refused",
		`opts / "b.test" / TLSv1.3 / client cert none`:           "b.test h2",
		`opts / "c.test" / TLSv1.3 / client cert none`:           "refused",
		`opts / "c.test" / TLSv1.2 / client cert revoked`:        "refused",
		`opts / "c.test" / TLSv1.2 / client cert from CA`:        "c.test http/1.1 c=1 v=0 p=TLSv1.2 a=http/1.1",
		`opts / "e.test" / TLSv1.2 / client cert from other CA`:  "e.test http/1.1 c=1 v=0 p=TLSv1.2 a=http/1.1",
		`opts / "nomatch.test" / TLSv1.3 / client cert from CA`:  "d.test http/1.1 c=0 v=0 p=TLSv1.3 a=http/1.1",
		`deflt / "b.test" / TLSv1.3 / client cert from CA`:       "refused",
		`deflt / "nomatch.test" / TLSv1.3 / client cert from CA`: "b.test h2",
		`deflt / "" / TLSv1.3 / client cert none`:                "refused",
	})
}

func tlsVersionName(v uint16) string {
	if v == tls.VersionTLS13 {
		return "TLSv1.3"
	}
	return "TLSv1.2"
}

// crtListProbe makes one TLS connection: "refused", or the certificate's
// CN, the ALPN protocol, and for HTTP/1.1 the frontend's answer (for h2,
// that the server's first frame came: a TLS 1.3 client certificate is
// judged after the handshake, so a refusal shows at the first read).
func crtListProbe(addr string, cfg *tls.Config) string {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", addr, cfg)
	if err != nil {
		return "refused"
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(deadline))
	st := c.ConnectionState()
	res := st.PeerCertificates[0].Subject.CommonName + " " + st.NegotiatedProtocol
	if st.NegotiatedProtocol == "h2" {
		// The client preface and an empty SETTINGS frame.
		if _, err := io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
			return "refused"
		}
		if _, err := io.ReadFull(c, make([]byte, 9)); err != nil {
			return "refused"
		}
		return res
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		return "refused"
	}
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		return "refused"
	}
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndex(s, "\r\n\r\n"); i >= 0 {
		s = s[i+4:]
	} else {
		s = "?" + s
	}
	return res + " " + s
}
