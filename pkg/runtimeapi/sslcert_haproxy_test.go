package runtimeapi_test

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
	"hapair/pkg/proxy"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/stats"
	"hapair/pkg/tlsconf/tlstest"
)

// TestIntegrationSSLCertTransactionHaproxy: the same sessions of `set /
// commit / abort / new / del / show ssl cert` on haproxy's stats socket
// and gproxy's get the same answers byte for byte (payloads, errors,
// transactions, one dot per certificate instance, prompt mode), and after
// each commit a client sees the same certificate from both, while a
// connection made before keeps the old one.
func TestIntegrationSSLCertTransactionHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	a := ca.Issue(t, tlstest.RSA, "www.test", "www.test")
	b := ca.Issue(t, tlstest.ECDSA, "www.test", "www.test", "other.test")
	other := ca.Issue(t, tlstest.RSA, "other.test")
	client := ca.Issue(t, tlstest.ECDSA, "client")
	client2 := ca.Issue(t, tlstest.RSA, "client2")
	path := func(n string) string { return filepath.Join(dir, n) }
	tlstest.Write(t, path("a.pem"), append(a.Bundle(), ca.PEM...))
	tlstest.Write(t, path("d.pem"), other.Bundle())
	tlstest.Write(t, path("client.pem"), client.Bundle())
	tlstest.Write(t, path("list"), []byte(path("d.pem")+" !*\n"+path("d.pem")+" other.test\n"))

	names := []string{"hp", "gp"}
	socks, ports := startCLIPair(t, dir, func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
listen l
    bind 127.0.0.1:%d ssl crt %s crt-list %s
    server s 127.0.0.1:1 ssl verify none crt %s
`, sock, port, path("a.pem"), path("list"), path("client.pem"))
	})

	// served is the SHA1 of the certificate a new client gets for sni,
	// and the connection.
	served := func(n, sni string) (string, *tls.Conn) {
		t.Helper()
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", ports[n]),
			&tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			return "error", nil
		}
		return fmt.Sprintf("%X", sha1.Sum(c.ConnectionState().PeerCertificates[0].Raw)), c
	}
	payload := func(b []byte) string { return strings.TrimRight(string(b), "\n") }
	sessions := []string{
		"show ssl cert\n",
		"show ssl cert " + path("a.pem") + "\n",
		"show ssl cert *" + path("a.pem") + "\n",
		"set ssl cert " + path("a.pem") + "\n",
		"set ssl cert " + path("a.pem") + " <<\ngarbage\n\n",
		"set ssl cert " + path("nope.pem") + " <<\n" + payload(b.CertPEM) + "\n\n",
		"commit ssl cert " + path("a.pem") + "\n",
		"abort ssl cert " + path("a.pem") + "\n",
		// a certificate without its key, then the key
		"set ssl cert " + path("a.pem") + " <<\n" + payload(b.CertPEM) + "\n\n",
		"show ssl cert\n",
		"show ssl cert *" + path("a.pem") + "\n",
		"commit ssl cert " + path("a.pem") + "\n",
		"commit ssl cert " + path("d.pem") + "\n",
		"set ssl cert " + path("a.pem.key") + " <<\n" + payload(a.KeyPEM) + "\n\n",
		"commit ssl cert " + path("a.pem") + "\n",
		"set ssl cert " + path("a.pem.key") + " <<\n" + payload(b.KeyPEM) + "\n\n",
		"set ssl cert " + path("d.pem") + " <<\n" + payload(other.Bundle()) + "\n\n",
		"abort ssl cert " + path("d.pem") + "\n",
		"commit ssl cert " + path("a.pem") + "\n",
		"show ssl cert " + path("a.pem") + "\n",
		"commit",
		// the crt-list's two lines: two instances
		"set ssl cert " + path("d.pem") + " <<\n" + payload(client2.Bundle()) + "\n\n",
		"commit ssl cert " + path("d.pem") + "\n",
		"commit",
		"set ssl cert " + path("client.pem") + " <<\n" + payload(client2.Bundle()) + "\n\n",
		"commit ssl cert " + path("client.pem") + "\n",
		"show ssl cert " + path("client.pem") + "\n",
		"new ssl cert " + path("a.pem") + "\n",
		"new ssl cert " + path("new.pem") + "\n",
		"new ssl cert\n",
		"show ssl cert " + path("new.pem") + "\n",
		"show ssl cert\n",
		"set ssl cert " + path("new.pem") + " <<\n" + payload(b.Bundle()) + "\n\n",
		"show ssl cert *" + path("new.pem") + "\n",
		"commit ssl cert " + path("new.pem") + "\n",
		"show ssl cert " + path("new.pem") + "\n",
		"del ssl cert " + path("a.pem") + "\n",
		"del ssl cert " + path("nope.pem") + "\n",
		"del ssl cert " + path("new.pem") + "\n",
		"del ssl cert\nabort ssl cert\ncommit ssl cert\n", // pipelined
		"set ssl cert " + path("a.pem.ocsp") + " <<\n!!!\n\n",
		"set ssl cert " + path("a.pem.issuer") + " <<\ngarbage\n\n",
		"set ssl cert " + path("a.pem.issuer") + " <<\n" + payload(ca.PEM) + "\n\n",
		"abort ssl cert " + path("a.pem") + "\n",
		"set ssl cert " + path("a.pem") + " <<\n" + payload(a.Bundle()) + "\n\n",
		"set ssl cert " + path("d.pem") + " <<\n" + payload(b.Bundle()) + "\n\n",
		"show ssl cert\n",
		"abort ssl cert " + path("a.pem") + "\n",
		"prompt\nset ssl cert " + path("a.pem") + " <<\n" + payload(a.Bundle()) + "\n\nshow ssl cert\ncommit ssl cert " + path("a.pem") + "\nquit\n",
		"commit",
	}
	var before [2]*tls.Conn
	for i, s := range sessions {
		if s == "commit" {
			// After a commit, new handshakes see the same certificate
			// from both, for both names.
			for _, sni := range []string{"www.test", "other.test", "none.test"} {
				h, hc := served("hp", sni)
				g, gc := served("gp", sni)
				if h != g || h == "error" {
					t.Errorf("after session %d, SNI %s: haproxy serves %s, gproxy %s", i, sni, h, g)
				}
				for _, c := range []*tls.Conn{hc, gc} {
					if c != nil {
						c.Close()
					}
				}
			}
			continue
		}
		if i == 0 {
			_, before[0] = served("hp", "www.test")
			_, before[1] = served("gp", "www.test")
		}
		want := askSocket(t, socks["hp"], strings.TrimSuffix(s, "\n"))
		got := askSocket(t, socks["gp"], strings.TrimSuffix(s, "\n"))
		if got != want {
			t.Errorf("session %q:\ngproxy:\n%s\nhaproxy:\n%s", s[:min(len(s), 60)], got, want)
		}
	}
	// A connection made before the commits keeps its certificate and
	// still works.
	var answers [2]string
	for i, c := range before {
		if c == nil {
			t.Fatalf("%s: no TLS connection before the commits", names[i])
		}
		if got := fmt.Sprintf("%X", sha1.Sum(c.ConnectionState().PeerCertificates[0].Raw)); got != fmt.Sprintf("%X", sha1.Sum(a.Cert.Raw)) {
			t.Errorf("%s: the connection made before sees %s", names[i], got)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nhost: x\r\n\r\n")
		buf := make([]byte, 9)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Errorf("%s: the connection made before: %v", names[i], err)
		}
		answers[i] = string(buf)
		c.Close()
	}
	if answers[0] != answers[1] || answers[0] != "HTTP/1.1 " {
		t.Errorf("the connections made before answer %q (haproxy), %q (gproxy)", answers[0], answers[1])
	}
}

// startCLIPair runs haproxy and a gproxy engine with its stats socket on
// the configuration fill makes for each one's socket and port, and
// returns them by "hp" and "gp".
func startCLIPair(t *testing.T, dir string, fill func(sock string, port int) string) (socks map[string]string, ports map[string]int) {
	t.Helper()
	socks, ports = map[string]string{}, map[string]int{}
	cfgs := map[string]string{}
	for _, n := range []string{"hp", "gp"} {
		socks[n] = filepath.Join(dir, n+".sock")
		ports[n] = porttest.Free(t)
		cfgs[n] = fill(socks[n], ports[n])
	}
	haproxytest.Start(t, cfgs["hp"])
	cfgPath := filepath.Join(dir, "gproxy.cfg")
	tlstest.Write(t, cfgPath, []byte(cfgs["gp"]))
	parsed, diags, err := haproxycfg.ParseFiles([]string{cfgPath}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports["gp"]))
	if err != nil {
		t.Fatal(err)
	}
	e, err := proxy.New(parsed, proxy.Options{Logger: zerolog.Nop(), Listeners: map[string]net.Listener{ln.Addr().String(): ln}})
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.Wait(ctx)
	})
	cmds := &runtimeapi.Commands{Source: &stats.Source{Config: parsed, Engine: e}}
	sl, err := net.Listen("unix", socks["gp"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sl.Close() })
	go func() {
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			go runtimeapi.ServeConn(c, cmds, runtimeapi.LevelAdmin, 5*time.Second)
		}
	}()
	for _, n := range []string{"hp", "gp"} {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", ports[n]))
	}
	return socks, ports
}

// servedSHA1 is the SHA1 of the certificate a new client gets for sni
// ("error" when the handshake fails).
func servedSHA1(port int, sni string) string {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port),
		&tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return "error"
	}
	defer c.Close()
	return fmt.Sprintf("%X", sha1.Sum(c.ConnectionState().PeerCertificates[0].Raw))
}

// TestIntegrationSSLCertDelExtHaproxy: with ssl-load-extra-del-ext, the
// key of NAME.crt is NAME.key, and `set ssl cert NAME.key` updates
// NAME.crt, as in haproxy 2.6.
func TestIntegrationSSLCertDelExtHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	a := ca.Issue(t, tlstest.RSA, "www.test", "www.test")
	b := ca.Issue(t, tlstest.ECDSA, "www.test", "www.test")
	path := func(n string) string { return filepath.Join(dir, n) }
	tlstest.Write(t, path("a.crt"), a.CertPEM)
	tlstest.Write(t, path("a.key"), a.KeyPEM)
	socks, ports := startCLIPair(t, dir, func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
    ssl-load-extra-del-ext
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
listen l
    bind 127.0.0.1:%d ssl crt %s
`, sock, port, path("a.crt"))
	})
	payload := func(b []byte) string { return strings.TrimRight(string(b), "\n") }
	for i, s := range []string{
		"show ssl cert",
		"set ssl cert " + path("a.crt") + " <<\n" + payload(b.CertPEM) + "\n",
		"set ssl cert " + path("a.key") + " <<\n" + payload(b.KeyPEM) + "\n",
		"set ssl cert " + path("z.key") + " <<\n" + payload(b.KeyPEM) + "\n",
		"show ssl cert *" + path("a.crt"),
		"commit ssl cert " + path("a.crt"),
		"set ssl cert " + path("nope.key") + " <<\n" + payload(b.KeyPEM) + "\n",
		"show ssl cert " + path("a.crt"),
	} {
		want, got := askSocket(t, socks["hp"], s), askSocket(t, socks["gp"], s)
		if got != want {
			t.Errorf("session %d:\ngproxy:\n%s\nhaproxy:\n%s", i, got, want)
		}
	}
	h, g := servedSHA1(ports["hp"], "www.test"), servedSHA1(ports["gp"], "www.test")
	if want := fmt.Sprintf("%X", sha1.Sum(b.Cert.Raw)); h != want || g != want {
		t.Errorf("after the commit: haproxy serves %s, gproxy %s, want %s", h, g, want)
	}
}

// TestIntegrationCrtListHaproxy: `show ssl crt-list`, `add ssl crt-list`
// and `del ssl crt-list` answer as haproxy 2.6 for crt-list files (with
// haproxy's reading of a line of blanks: the previous certificate again)
// and `crt` directories shared by two bind lines (one with strict-sni),
// and afterwards new handshakes get the same certificate from both.
func TestIntegrationCrtListHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	path := func(n string) string { return filepath.Join(dir, n) }
	if err := os.Mkdir(path("d"), 0o700); err != nil {
		t.Fatal(err)
	}
	tlstest.Write(t, path("a.pem"), ca.Issue(t, tlstest.RSA, "a.test", "a.test", "one.test", "two.test").Bundle())
	tlstest.Write(t, path("b.pem"), ca.Issue(t, tlstest.ECDSA, "b.test", "b.test").Bundle())
	tlstest.Write(t, path("d/x.pem"), ca.Issue(t, tlstest.RSA, "x.test", "x.test").Bundle())
	tlstest.Write(t, path("d/y.pem"), ca.Issue(t, tlstest.RSA, "y.test", "y.test").Bundle())
	tlstest.Write(t, path("list"), []byte("# certificates\na.pem one.test\n  \na.pem two.test *.wild.test !no.wild.test\nb.pem [alpn h2,http/1.1 verify optional ca-file "+path("ca.pem")+" ssl-min-ver TLSv1.2]\n"))
	tlstest.Write(t, path("ca.pem"), ca.PEM)
	n := ca.Issue(t, tlstest.ECDSA, "n.test", "n.test")
	payload := func(b []byte) string { return strings.TrimRight(string(b), "\n") }
	socks, ports := startCLIPair(t, dir, func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
    crt-base %s
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
listen l
    bind 127.0.0.1:%d ssl crt-list %s crt %s/
listen strict
    bind 127.0.0.1:%d ssl strict-sni crt %s crt-list %s
`, sock, dir, port, path("list"), path("d"), porttest.Free(t), path("d"), path("list"))
	})
	// The options of the lines (from the file, and added on the socket):
	// versions and ALPN.
	probeOpts := func(when string) {
		for _, sni := range []string{"opt.test", "b.test"} {
			for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
				probe := func(port int) string {
					c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port),
						&tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, NextProtos: []string{"h2", "http/1.1"}})
					if err != nil {
						return "refused"
					}
					defer c.Close()
					return "alpn " + c.ConnectionState().NegotiatedProtocol
				}
				h, g := probe(ports["hp"]), probe(ports["gp"])
				t.Logf("%s: SNI %q version %x: %s", when, sni, v, h)
				if h != g {
					t.Errorf("%s: SNI %q version %x: haproxy %s, gproxy %s", when, sni, v, h, g)
				}
			}
		}
	}
	probeOpts("at start")
	for i, s := range []string{
		"show ssl crt-list",
		"show ssl crt-list " + path("list"),
		"show ssl crt-list -n " + path("list") + "//",
		"show ssl crt-list " + path("d") + "/",
		"show ssl crt-list -n",
		"show ssl crt-list nope",
		"del ssl crt-list",
		"del ssl crt-list " + path("list") + " " + path("a.pem"),
		"del ssl crt-list " + path("list") + " " + path("a.pem") + ":3",
		"del ssl crt-list " + path("list") + " " + path("a.pem") + ":x",
		"del ssl crt-list " + path("list") + " " + path("nope.pem"),
		"del ssl crt-list " + path("nope") + " " + path("a.pem"),
		"del ssl crt-list " + path("d") + " " + path("a.pem"),
		"del ssl crt-list " + path("list") + " " + path("a.pem") + ":2", // the default of l
		"del ssl crt-list " + path("list") + " " + path("a.pem") + ":4",
		"del ssl crt-list " + path("d") + " " + path("d/y.pem"),
		"show ssl crt-list -n " + path("list"),
		"show ssl crt-list " + path("d"),
		"show ssl cert",
		"del ssl crt-list " + path("list") + " " + path("b.pem"),
		"del ssl crt-list " + path("d") + " " + path("d/x.pem"),
		"show ssl cert " + path("d/x.pem"),
		// add ssl crt-list: a new file, then entries for it
		"set ssl cert " + path("n.crt") + " <<\n" + payload(n.Bundle()) + "\n",
		"new ssl cert " + path("n.pem"),
		"add ssl crt-list " + path("list") + " " + path("n.pem"),
		"set ssl cert " + path("n.pem") + " <<\n" + payload(n.Bundle()) + "\n",
		"commit ssl cert " + path("n.pem"),
		"add ssl crt-list " + path("list") + "/ <<\n" + path("n.pem") + " new.test !x.new.test *.new.test\n",
		"add ssl crt-list " + path("list") + " <<\n" + path("n.pem") + " [alpn h2 ssl-max-ver TLSv1.2] opt.test\n",
		"add ssl crt-list " + path("list") + " <<\n" + path("n.pem") + " [verify required ca-file " + path("ca.pem") + "] opt2.test\n",
		"add ssl crt-list " + path("list") + " <<\n" + path("n.pem") + " [ca-file " + path("nope.pem") + "] opt3.test\n",
		"add ssl crt-list " + path("list") + " <<\n" + path("n.pem") + " [crl-file " + path("nope.pem") + "] opt3.test\n",
		"add ssl crt-list " + path("list") + " <<\n" + path("n.pem") + " [foo] opt3.test\n",
		"add ssl crt-list " + path("list") + " <<\n" + path("n.pem") + " [alpn] opt3.test\n",
		"add ssl crt-list " + path("list") + " n.pem",
		"add ssl crt-list " + path("list"),
		"add ssl crt-list " + path("list") + " <<\n",
		"add ssl crt-list " + path("list") + " <<\n   \n",
		"add ssl crt-list " + path("list") + " <<\n" + path("n.pem") + "\nfoo\n",
		"add ssl crt-list " + path("nope") + " " + path("n.pem"),
		"add ssl crt-list " + path("list") + " " + path("nope.pem"),
		"add ssl crt-list " + path("d") + " " + path("n.pem"),
		"add ssl crt-list " + path("d") + " " + path("d/x.pem"),
		"new ssl cert " + path("d/z.pem"),
		"add ssl crt-list " + path("d") + " " + path("d/z.pem"),
		"set ssl cert " + path("d/z.pem") + " <<\n" + payload(n.Bundle()) + "\n",
		"commit ssl cert " + path("d/z.pem"),
		"add ssl crt-list " + path("d") + "/ <<\n" + path("d/z.pem") + " foo.test\n",
		"add ssl crt-list " + path("d") + "/ <<\n" + path("d/z.pem") + "\n",
		"show ssl crt-list -n " + path("list"),
		"show ssl crt-list -n " + path("d"),
		"show ssl cert",
		"del ssl cert " + path("n.pem"),
		"del ssl crt-list " + path("list") + " " + path("n.pem"),
		"del ssl crt-list " + path("list") + " " + path("n.pem") + ":7",
		"show ssl crt-list -n " + path("list"),
	} {
		// The bind lines named are in each one's configuration file.
		cfgName := regexp.MustCompile(`\S*/(haproxy|gproxy)\.cfg:`)
		want := cfgName.ReplaceAllString(askSocket(t, socks["hp"], s), "CFG:")
		got := cfgName.ReplaceAllString(askSocket(t, socks["gp"], s), "CFG:")
		if got != want {
			t.Errorf("session %d %q:\ngproxy:\n%s\nhaproxy:\n%s", i, s, got, want)
		}
		if strings.Contains(s, "opt2.test") {
			probeOpts("after the adds")
		}
	}
	for _, sni := range []string{"one.test", "two.test", "a.wild.test", "no.wild.test", "x.test", "y.test", "b.test", "",
		"n.test", "new.test", "a.new.test", "x.new.test", "opt.test", "opt2.test"} {
		if h, g := servedSHA1(ports["hp"], sni), servedSHA1(ports["gp"], sni); h != g {
			t.Errorf("SNI %q after the deletions: haproxy serves %s, gproxy %s", sni, h, g)
		}
	}
}
