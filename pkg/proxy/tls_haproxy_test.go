package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/syslog/syslogtest"
	"hapair/pkg/tlsconf/tlstest"
)

// The same TLS configuration run by haproxy 2.6 and by gproxy, probed by
// the same clients (crypto/tls, openssl s_client): the certificate each
// SNI gets, the protocol versions and ciphers accepted, and HTTP through
// TLS frontends and to TLS servers verified against the right and the
// wrong CA.

const tlsConfig = `global
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
    crt-base {DIR}
    ca-base {DIR}

defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:{fe} ssl crt certs
    default_backend plain

frontend old
    bind 127.0.0.1:{old} ssl crt certs ssl-min-ver TLSv1.0 ciphers HIGH:!aNULL
    default_backend plain

frontend mtls
    bind 127.0.0.1:{mtls} ssl crt certs/00-default.pem ca-file ca.pem verify required
    default_backend plain

frontend crl
    bind 127.0.0.1:{crl} ssl crt certs/00-default.pem ca-file ca.pem verify optional crl-file crl.pem
    default_backend plain

frontend list
    bind 127.0.0.1:{list} ssl crt-list {DIR}/list.txt
    default_backend plain

frontend strict
    bind 127.0.0.1:{strict} ssl crt certs strict-sni alpn http/1.1
    default_backend plain

frontend curv
    bind 127.0.0.1:{curv} ssl crt certs/00-default.pem curves P-384:X25519
    default_backend plain

frontend sec0
    bind 127.0.0.1:{sec0} ssl crt certs/00-default.pem ssl-min-ver TLSv1.0 ciphers HIGH:@SECLEVEL=0
    default_backend plain

frontend good
    bind 127.0.0.1:{good}
    default_backend tlsgood

frontend bad
    bind 127.0.0.1:{bad}
    default_backend tlsbad

# the usual http-to-https front: one frontend, a clear and a TLS bind
frontend redir
    bind 127.0.0.1:{redir}
    bind 127.0.0.1:{redirtls} ssl crt certs
    http-request redirect scheme https code 301 if !{ ssl_fc }
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request return status 200 content-type text/plain lf-string "ssl=%[ssl_fc] sni=%[ssl_fc_sni] proto=%[req.hdr(x-forwarded-proto)]" if { ssl_fc_sni -m str default.test }
    default_backend plain

# SNI routing without termination: the ClientHello is peeked at
listen snir
    mode tcp
    bind 127.0.0.1:{snir}
    tcp-request inspect-delay 2s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend to_fe if { req.ssl_sni -i ec.test }
    default_backend to_curv

backend to_fe
    mode tcp
    server s 127.0.0.1:{fe}

backend to_curv
    mode tcp
    server s 127.0.0.1:{curv}

listen tcpssl
    mode tcp
    bind 127.0.0.1:{tcp} ssl crt certs/00-default.pem
    server s1 {plain}

backend plain
    server s1 {plain}

backend tlsgood
    server s1 {tlsback} ssl verify required ca-file ca.pem sni str(backend.test)

backend tlsbad
    server s1 {tlsback} ssl verify required ca-file wrong-ca.pem sni str(backend.test)
`

type tlsLab struct {
	dir        string
	ca         *x509.CertPool
	client     tls.Certificate // from the CA
	wrongClint tls.Certificate // from another CA
	revoked    tls.Certificate // from the CA, in its CRL
}

func newTLSLab(t *testing.T) (*tlsLab, map[string]string) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	wrong := tlstest.NewCA(t, "Wrong CA")
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	tlstest.Write(t, filepath.Join(dir, "certs", "00-default.pem"), ca.Issue(t, tlstest.RSA, "default.test", "default.test").Bundle())
	tlstest.Write(t, filepath.Join(dir, "certs", "10-ec.pem"), ca.Issue(t, tlstest.ECDSA, "ec.test", "ec.test").Bundle())
	w := ca.Issue(t, tlstest.RSA, "wild", "*.wild.test")
	tlstest.Write(t, filepath.Join(dir, "certs", "20-wild.pem"), w.CertPEM)
	tlstest.Write(t, filepath.Join(dir, "certs", "20-wild.pem.key"), w.KeyPEM)
	tlstest.Write(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	tlstest.Write(t, filepath.Join(dir, "wrong-ca.pem"), wrong.PEM)
	tlstest.Write(t, filepath.Join(dir, "list.txt"), []byte("certs/00-default.pem\n# the EC certificate for other names than its own\ncerts/10-ec.pem other.test *.ecwild.test\n\ncerts/20-wild.pem\n"))

	// The servers: one in clear, one TLS with a certificate from ca.
	okHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plain := &http.Server{Handler: okHandler}
	go plain.Serve(plainLn)
	t.Cleanup(func() { plain.Close() })
	be := ca.Issue(t, tlstest.ECDSA, "backend.test", "backend.test")
	pair, err := tls.X509KeyPair(be.CertPEM, be.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tlsLn, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	// Its handshakes with the wrong-CA backend fail on purpose: not logged.
	tlsSrv := &http.Server{Handler: okHandler, ErrorLog: log.New(io.Discard, "", 0)}
	go tlsSrv.Serve(tlsLn)
	t.Cleanup(func() { tlsSrv.Close() })
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	cl := ca.Issue(t, tlstest.RSA, "alice")
	wcl := wrong.Issue(t, tlstest.RSA, "mallory")
	clPair, err := tls.X509KeyPair(cl.CertPEM, cl.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	wclPair, err := tls.X509KeyPair(wcl.CertPEM, wcl.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	rv := ca.Issue(t, tlstest.RSA, "revoked")
	tlstest.Write(t, filepath.Join(dir, "crl.pem"), ca.CRL(t, rv))
	rvPair, err := tls.X509KeyPair(rv.CertPEM, rv.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tlsLab{dir: dir, ca: pool, client: clPair, wrongClint: wclPair, revoked: rvPair}, map[string]string{
		"DIR": dir, "plain": plainLn.Addr().String(), "tlsback": tlsLn.Addr().String(),
	}
}

func fillTLS(vars map[string]string, ports map[string]int) string {
	s := tlsConfig
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	for k, p := range ports {
		s = strings.ReplaceAll(s, "{"+k+"}", fmt.Sprint(p))
	}
	return s
}

// tlsObservation is what the clients saw from one proxy.
type tlsObservation struct {
	subjects map[string]string // SNI -> CN served
	versions map[string]string // frontend/version -> "ok" or "refused"
	ciphers  map[string]bool   // cipher (openssl name) -> accepted, TLS 1.2 on fe
	suites13 map[string]bool   // TLS 1.3 suite -> accepted
	groups   map[string]bool   // frontend/group/version -> accepted
	statuses map[string]int    // scenario -> HTTP status
}

func observeTLS(t *testing.T, lab *tlsLab, ports map[string]int) tlsObservation {
	o := tlsObservation{subjects: map[string]string{}, versions: map[string]string{}, ciphers: map[string]bool{},
		suites13: map[string]bool{}, statuses: map[string]int{}, groups: map[string]bool{}}
	addr := func(n string) string { return fmt.Sprintf("127.0.0.1:%d", ports[n]) }
	for _, sni := range []string{"default.test", "ec.test", "x.wild.test", "a.b.wild.test", "nomatch.test", ""} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", addr("fe"), &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			o.subjects[sni] = "error: " + err.Error()
			continue
		}
		o.subjects[sni] = c.ConnectionState().PeerCertificates[0].Subject.CommonName
		c.Close()
	}
	handshake := func(fe string, cfg *tls.Config) string {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", addr(fe), cfg)
		if err != nil {
			return "refused"
		}
		defer c.Close()
		// TLS 1.3 client certificates are judged after the handshake:
		// a refused one shows at the first read.
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
			return "refused"
		}
		return "ok " + c.ConnectionState().NegotiatedProtocol
	}
	o.versions["mtls/no certificate"] = handshake("mtls", &tls.Config{RootCAs: lab.ca, ServerName: "default.test"})
	o.versions["mtls/certificate from the CA"] = handshake("mtls", &tls.Config{RootCAs: lab.ca, ServerName: "default.test", Certificates: []tls.Certificate{lab.client}})
	o.versions["mtls/certificate from another CA"] = handshake("mtls", &tls.Config{RootCAs: lab.ca, ServerName: "default.test", Certificates: []tls.Certificate{lab.wrongClint}})
	o.versions["crl/no certificate (verify optional)"] = handshake("crl", &tls.Config{RootCAs: lab.ca, ServerName: "default.test"})
	o.versions["crl/certificate from the CA"] = handshake("crl", &tls.Config{RootCAs: lab.ca, ServerName: "default.test", Certificates: []tls.Certificate{lab.client}})
	o.versions["crl/revoked certificate"] = handshake("crl", &tls.Config{RootCAs: lab.ca, ServerName: "default.test", Certificates: []tls.Certificate{lab.revoked}})
	o.versions["crl/certificate from another CA"] = handshake("crl", &tls.Config{RootCAs: lab.ca, ServerName: "default.test", Certificates: []tls.Certificate{lab.wrongClint}})
	o.versions["strict/default.test"] = handshake("strict", &tls.Config{RootCAs: lab.ca, ServerName: "default.test", NextProtos: []string{"h2", "http/1.1"}})
	o.versions["strict/nomatch.test"] = handshake("strict", &tls.Config{InsecureSkipVerify: true, ServerName: "nomatch.test"})
	o.versions["strict/no SNI"] = handshake("strict", &tls.Config{InsecureSkipVerify: true})
	o.versions["sec0/TLSv1.0"] = handshake("sec0", &tls.Config{RootCAs: lab.ca, ServerName: "default.test", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, CipherSuites: allGoSuites()})
	for _, sni := range []string{"default.test", "ec.test", "other.test", "x.ecwild.test", "x.wild.test", ""} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", addr("list"), &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			o.subjects["crt-list/"+sni] = "error: " + err.Error()
			continue
		}
		o.subjects["crt-list/"+sni] = c.ConnectionState().PeerCertificates[0].Subject.CommonName
		c.Close()
	}
	// mode tcp SNI routing: ec.test reaches frontend fe (its own
	// certificate), any other name frontend curv (the default one only),
	// through the listen section's default_backend.
	for _, sni := range []string{"ec.test", "x.wild.test", "default.test", "direct"} {
		a := addr("snir")
		if sni == "direct" {
			a = addr("curv")
		}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", a, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			o.subjects["sni routing/"+sni] = "error: " + err.Error()
			continue
		}
		o.subjects["sni routing/"+sni] = c.ConnectionState().PeerCertificates[0].Subject.CommonName
		c.Close()
	}
	for _, fe := range []string{"fe", "old"} {
		for name, v := range map[string]uint16{"TLSv1.0": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13} {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", addr(fe), &tls.Config{
				ServerName: "default.test", RootCAs: lab.ca, MinVersion: v, MaxVersion: v,
				CipherSuites: allGoSuites(),
			})
			res := "ok"
			if err != nil {
				res = "refused"
			} else {
				c.Close()
			}
			o.versions[fe+"/"+name] = res
		}
	}
	for _, cipher := range []string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
		"DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256", "AES256-SHA",
		"ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES256-SHA"} {
		sni := "default.test"
		if strings.Contains(cipher, "ECDSA") {
			sni = "ec.test"
		}
		o.ciphers[cipher] = sClient(t, addr("fe"), sni, "-tls1_2", "-cipher", cipher)
	}
	for _, s := range []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"} {
		o.suites13[s] = sClient(t, addr("fe"), "default.test", "-tls1_3", "-ciphersuites", s)
	}
	for _, fe := range []string{"fe", "curv"} {
		for _, g := range []string{"X25519", "P-256", "P-384", "P-521", "X448", "ffdhe2048"} {
			for _, v := range []string{"-tls1_2", "-tls1_3"} {
				if v == "-tls1_2" && (fe == "fe" || g == "X448" || g == "ffdhe2048") {
					continue // TLS 1.2: the restricted frontend is enough (and has no ffdhe groups)
				}
				// ECDHE ciphers only, so that TLS 1.2 cannot fall back to RSA.
				o.groups[fe+"/"+g+"/"+v] = sClient(t, addr(fe), "default.test", v, "-groups", g, "-cipher", "ECDHE")
			}
		}
	}
	get := func(name, url string, tr *http.Transport) {
		cl := &http.Client{Transport: tr, Timeout: deadline}
		resp, err := cl.Get(url)
		if err != nil {
			o.statuses[name] = -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		o.statuses[name] = resp.StatusCode
		tr.CloseIdleConnections()
	}
	tlsTr := func() *http.Transport {
		return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: lab.ca, ServerName: "default.test"}}
	}
	get("https to fe", "https://"+addr("fe")+"/", tlsTr())
	// redirect scheme https if !{ ssl_fc }, and the TLS facts in rules.
	noFollow := func(tr *http.Transport, url string) string {
		cl := &http.Client{Transport: tr, Timeout: deadline,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.Get(url)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		tr.CloseIdleConnections()
		return fmt.Sprintf("%d %s %s", resp.StatusCode, resp.Header.Get("Location"), b)
	}
	o.subjects["redirect/clear"] = strings.ReplaceAll(noFollow(&http.Transport{}, "http://"+addr("redir")+"/x?y=1"), addr("redir"), "ADDR")
	o.subjects["redirect/tls"] = noFollow(tlsTr(), "https://"+addr("redirtls")+"/x?y=1")
	get("https to mode tcp", "https://"+addr("tcp")+"/", tlsTr())
	get("to a server verified with its CA", "http://"+addr("good")+"/", &http.Transport{})
	get("to a server verified with a wrong CA", "http://"+addr("bad")+"/", &http.Transport{})
	return o
}

func allGoSuites() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
}

// sClient reports whether openssl s_client completes a handshake with
// the arguments given.
func sClient(t *testing.T, addr, sni string, args ...string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	a := append([]string{"s_client", "-connect", addr, "-servername", sni}, args...)
	out, _ := exec.CommandContext(ctx, "openssl", a...).CombinedOutput()
	return strings.Contains(string(out), "Cipher is ") && !strings.Contains(string(out), "Cipher is (NONE)")
}

func TestIntegrationTLSHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command: %v", err)
	}
	lab, vars := newTLSLab(t)
	names := []string{"fe", "old", "mtls", "crl", "list", "strict", "curv", "sec0", "good", "bad", "tcp", "redir", "redirtls", "snir"}
	// gproxy's listeners are open from the start (a port picked and
	// closed could be taken by a client's connection meanwhile).
	hp, gp := map[string]int{}, map[string]int{}
	lns := map[string]net.Listener{}
	for _, n := range names {
		hp[n] = deadPort(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[ln.Addr().String()] = ln
		gp[n] = ln.Addr().(*net.TCPAddr).Port
	}
	haproxytest.Start(t, fillTLS(vars, hp))
	for _, n := range names {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", hp[n]))
	}
	cfgPath := filepath.Join(lab.dir, "gproxy.cfg")
	tlstest.Write(t, cfgPath, []byte(fillTLS(vars, gp)))
	cfg, diags, err := haproxycfg.ParseFiles([]string{cfgPath}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	// Without DH parameters haproxy offers no DHE cipher either: the Mozilla
	// list is honoured exactly and only the old frontend gets a warning.
	var warned []string
	for _, d := range diags {
		warned = append(warned, d.String())
	}
	if len(diags) != 1 || !strings.Contains(warned[0], "TLSv1.0 and TLSv1.1 are refused") {
		t.Errorf("want only the warning that TLSv1.0 and TLSv1.1 are refused on frontend old, got:\n%s", strings.Join(warned, "\n"))
	}
	e, err := New(cfg, Options{Logger: zerolog.Nop(), Listeners: lns})
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	for _, n := range names {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", gp[n]))
	}
	want := observeTLS(t, lab, hp)
	got := observeTLS(t, lab, gp)

	// The reference itself, so that a broken setup cannot pass.
	if want.subjects["ec.test"] != "ec.test" || want.subjects["x.wild.test"] != "wild" || want.subjects[""] != "default.test" ||
		want.versions["fe/TLSv1.1"] != "refused" || want.versions["fe/TLSv1.2"] != "ok" ||
		want.statuses["to a server verified with its CA"] != 200 || want.statuses["to a server verified with a wrong CA"] != 503 ||
		want.versions["mtls/no certificate"] != "refused" || want.versions["mtls/certificate from the CA"] != "ok " ||
		want.versions["strict/nomatch.test"] != "refused" || want.versions["strict/default.test"] != "ok http/1.1" ||
		want.versions["sec0/TLSv1.0"] != "ok " || want.versions["crl/revoked certificate"] != "refused" ||
		want.versions["crl/no certificate (verify optional)"] != "ok " ||
		want.subjects["crt-list/other.test"] != "ec.test" || want.subjects["crt-list/ec.test"] != "default.test" ||
		want.subjects["redirect/clear"] != "301 https://ADDR/x?y=1 " ||
		want.subjects["sni routing/ec.test"] != "ec.test" || want.subjects["sni routing/x.wild.test"] != "default.test" ||
		want.subjects["redirect/tls"] != "200  ssl=1 sni=default.test proto=https" {
		t.Fatalf("haproxy did not behave as expected: %+v", want)
	}
	// The anchors are checked above, all at once.
	compare := func(what string, w, g map[string]string) {
		haproxytest.CompareObservations(t, what, w, g, haproxytest.Equal, nil)
	}
	compare("certificate for SNI", want.subjects, got.subjects)
	compare("protocol", want.versions, got.versions)
	str := func(m map[string]int) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = fmt.Sprint(v)
		}
		return out
	}
	compare("HTTP status", str(want.statuses), str(got.statuses))
	// Ciphers: the same set (haproxy has no DH parameters here, so no
	// DHE cipher either); never one haproxy refuses.
	for c, ok := range want.ciphers {
		if got.ciphers[c] != ok {
			t.Errorf("cipher %s: haproxy %v, gproxy %v", c, ok, got.ciphers[c])
		}
	}
	if !want.ciphers["ECDHE-ECDSA-AES128-GCM-SHA256"] || want.ciphers["DHE-RSA-AES128-GCM-SHA256"] {
		t.Errorf("haproxy's cipher choice is not the expected one: %v", want.ciphers)
	}
	// Groups: the same, except X448 and ffdhe2048, which OpenSSL offers
	// by default and crypto/tls does not implement.
	for g, ok := range want.groups {
		if got.groups[g] != ok && !(strings.HasPrefix(g, "fe/X448") || strings.HasPrefix(g, "fe/ffdhe")) {
			t.Errorf("group %s: haproxy %v, gproxy %v", g, ok, got.groups[g])
		}
	}
	if !want.groups["curv/P-384/-tls1_3"] || want.groups["curv/P-256/-tls1_3"] || !want.groups["fe/X448/-tls1_3"] || got.groups["fe/X448/-tls1_3"] {
		t.Errorf("groups: haproxy %v, gproxy %v", want.groups, got.groups)
	}
	for s, ok := range want.suites13 {
		if got.suites13[s] != ok {
			t.Errorf("TLS 1.3 suite %s: haproxy %v, gproxy %v", s, ok, got.suites13[s])
		}
	}
	t.Logf("haproxy: %+v", want)
}

// TestIntegrationTLSHandshakeLogHaproxy: the lines of failed handshakes
// (closed before a ClientHello, garbage, a truncated ClientHello, a
// stall until `timeout client`) are haproxy's, listener id included.
func TestIntegrationTLSHandshakeLogHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	ca := tlstest.NewCA(t, "Test CA")
	files := map[string][]byte{"a.pem": ca.Issue(t, tlstest.RSA, "a.test", "a.test").Bundle()}
	backend := startBackend(t, hello("srv"))
	sink := syslogtest.NewSink(t)
	const tmpl = `
defaults
    mode tcp
    option tcplog
    log 127.0.0.1:%d local0
    timeout connect 1s
    timeout client 400ms
    timeout server 5s
listen fe
    bind 127.0.0.1:%s ssl crt %s/a.pem
    server s1 127.0.0.1:%d
`
	hdir := t.TempDir()
	tlstest.Write(t, filepath.Join(hdir, "a.pem"), files["a.pem"])
	hport := deadPort(t)
	haproxytest.Start(t, fmt.Sprintf(tmpl, sink.Port(), fmt.Sprint(hport), hdir, backend.port))
	haddr := fmt.Sprintf("127.0.0.1:%d", hport)
	haproxytest.WaitBound(t, haddr)
	gaddr, gerrs := tlsEngine(t, fmt.Sprintf(tmpl, sink.Port(), "{PORT}", "{DIR}", backend.port), files)

	probe := func(addr string) {
		send := func(b []byte) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if b != nil {
				c.Write(b)
				time.Sleep(50 * time.Millisecond) // the bytes arrive before the FIN
			}
			c.Close()
		}
		send(nil)
		send([]byte("GET / HTTP/1.1\r\n\r\n"))
		send([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03})
		stalled, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer stalled.Close()
		stalled.Write([]byte{0x16, 0x03, 0x01})
		stalled.SetReadDeadline(time.Now().Add(deadline))
		stalled.Read(make([]byte, 1)) // until the proxy closes it
	}
	probe(haddr)
	var want []string
	for _, raw := range sink.Wait(4, deadline) {
		d, err := syslogtest.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, msg, _ := strings.Cut(d.Msg, "] ")
		want = append(want, msg)
	}
	if len(want) != 4 {
		t.Fatalf("haproxy logged %d lines, want 4: %q", len(want), want)
	}
	probe(gaddr)
	eventually(t, "four failures logged", func() bool { return len(gerrs()) == 4 })
	var got []string
	for _, ce := range gerrs() {
		_, msg, _ := strings.Cut(accesslog.ConnError(netip.AddrPort{}, ce.Accept, "fe", ce.Listener, ce.Msg), "] ")
		got = append(got, msg)
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("gproxy:\n%s\nhaproxy:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
