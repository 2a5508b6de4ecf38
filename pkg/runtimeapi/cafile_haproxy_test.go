package runtimeapi_test

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

// TestIntegrationCAFileTransactionHaproxy: the same sessions of `show /
// new / set / commit / abort / del ssl ca-file` and `... crl-file` on
// haproxy's stats socket and gproxy's get the same answers byte for byte
// (listings, details with certificate and CRL indexes, transactions, one
// dot per certificate instance, errors), and after each commit a client
// with a certificate is let in or refused alike by both: a CA added to
// the bind's ca-file lets its clients in, a CRL listing a client shuts it
// out, an aborted transaction changes nothing.
func TestIntegrationCAFileTransactionHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	ca1 := tlstest.NewCA(t, "CA One")
	ca2 := tlstest.NewCA(t, "CA Two")
	ca3 := tlstest.NewCA(t, "A third CA")
	srv := ca1.Issue(t, tlstest.RSA, "www.test", "www.test")
	c1 := ca1.Issue(t, tlstest.ECDSA, "client one")
	c2 := ca2.Issue(t, tlstest.ECDSA, "client two")
	tlstest.Write(t, path("srv.pem"), srv.Bundle())
	tlstest.Write(t, path("ca.pem"), ca1.PEM)
	tlstest.Write(t, path("crl.pem"), append(ca1.CRL(t), ca2.CRL(t)...))
	tlstest.Write(t, path("unused.pem"), ca3.PEM)

	socks, ports := startCLIPair(t, dir, func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
listen l
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required crl-file %s
    http-request return status 200
    server s 127.0.0.1:1 ssl ca-file %s verify required
`, sock, port, path("srv.pem"), path("ca.pem"), path("crl.pem"), path("unused.pem"))
	})

	// status is what a client sending leaf's certificate gets: the status
	// line, or "refused"; names counts the CAs the server's certificate
	// request named (haproxy takes them when it rebuilds its TLS
	// contexts, from the ca-file as it was before the commit that
	// rebuilds them).
	status := func(n string, leaf *tlstest.Leaf) (line string, names int) {
		t.Helper()
		cert, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", ports[n]),
			&tls.Config{ServerName: "www.test", InsecureSkipVerify: true, GetClientCertificate: func(r *tls.CertificateRequestInfo) (*tls.Certificate, error) {
				names = len(r.AcceptableCAs)
				return &cert, nil
			},
				// A client certificate refused in TLS 1.3 shows at the
				// first read; in TLS 1.2 at the handshake.
				MaxVersion: tls.VersionTLS12})
		if err != nil {
			return "refused", names
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nhost: x\r\n\r\n")
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil {
			return "refused", names
		}
		return string(buf), names
	}
	payload := func(b ...[]byte) string {
		var all []byte
		for _, x := range b {
			all = append(all, x...)
		}
		return strings.TrimRight(string(all), "\n")
	}
	sessions := []struct {
		cmd string
		// After the command, the client certificates and what both
		// must answer them.
		check        bool
		want1, want2 string
	}{
		{cmd: "show ssl ca-file", check: true, want1: "HTTP/1.1 200", want2: "refused"},
		{cmd: "show ssl crl-file"},
		{cmd: "show ssl ca-file " + path("ca.pem")},
		{cmd: "show ssl ca-file " + path("ca.pem") + ":1"},
		{cmd: "show ssl ca-file " + path("ca.pem") + ":2"},
		{cmd: "show ssl ca-file " + path("ca.pem") + ":0"},
		{cmd: "show ssl ca-file " + path("ca.pem") + ":x"},
		{cmd: "show ssl ca-file " + path("unused.pem")},
		{cmd: "show ssl ca-file " + path("crl.pem")},
		{cmd: "show ssl ca-file nope"},
		{cmd: "show ssl crl-file " + path("crl.pem")},
		{cmd: "show ssl crl-file " + path("crl.pem") + ":2"},
		{cmd: "show ssl crl-file " + path("ca.pem")},
		{cmd: "set ssl ca-file " + path("ca.pem")},
		{cmd: "set ssl ca-file nope <<\n" + payload(ca2.PEM) + "\n"},
		{cmd: "commit ssl ca-file " + path("ca.pem")},
		{cmd: "abort ssl ca-file " + path("ca.pem")},
		// A transaction adding CA Two, aborted, then committed.
		{cmd: "set ssl ca-file " + path("ca.pem") + " <<\n" + payload(ca3.PEM, ca2.PEM, ca1.PEM) + "\n"},
		{cmd: "set ssl ca-file " + path("unused.pem") + " <<\n" + payload(ca2.PEM) + "\n"},
		{cmd: "show ssl ca-file", check: true, want1: "HTTP/1.1 200", want2: "refused"},
		{cmd: "show ssl ca-file *" + path("ca.pem")},
		{cmd: "show ssl ca-file *" + path("ca.pem") + ":3"},
		{cmd: "show ssl ca-file *" + path("ca.pem") + ":4"},
		{cmd: "commit ssl ca-file " + path("unused.pem")},
		{cmd: "abort ssl ca-file " + path("ca.pem"), check: true, want1: "HTTP/1.1 200", want2: "refused"},
		{cmd: "set ssl ca-file " + path("ca.pem") + " <<\n" + payload(ca1.PEM) + "\n"},
		{cmd: "set ssl ca-file " + path("ca.pem") + " <<\n" + payload(ca1.PEM, ca2.PEM, ca1.PEM) + "\n"},
		{cmd: "commit ssl ca-file " + path("ca.pem"), check: true, want1: "HTTP/1.1 200", want2: "HTTP/1.1 200"},
		{cmd: "show ssl ca-file " + path("ca.pem")},
		// The server's file is unused (no certificate on the server line).
		{cmd: "set ssl ca-file " + path("unused.pem") + " <<\n" + payload(ca2.PEM) + "\n"},
		{cmd: "commit ssl ca-file " + path("unused.pem")},
		{cmd: "del ssl ca-file " + path("ca.pem")},
		{cmd: "del ssl ca-file " + path("unused.pem")},
		{cmd: "show ssl ca-file"},
		// A CRL revoking client two.
		{cmd: "set ssl crl-file " + path("crl.pem") + " <<\n" + payload(ca2.CRL(t, c2), ca1.CRL(t)) + "\n"},
		{cmd: "show ssl crl-file"},
		{cmd: "show ssl crl-file *" + path("crl.pem") + ":1"},
		{cmd: "set ssl crl-file " + path("ca.pem") + " <<\n" + payload(ca1.CRL(t)) + "\n"},
		{cmd: "commit ssl crl-file " + path("crl.pem"), check: true, want1: "HTTP/1.1 200", want2: "refused"},
		{cmd: "show ssl crl-file " + path("crl.pem")},
		// New files, filled, deleted.
		{cmd: "new ssl ca-file new.pem"},
		{cmd: "new ssl ca-file new.pem"},
		{cmd: "new ssl ca-file " + path("crl.pem")},
		{cmd: "show ssl ca-file new.pem"},
		{cmd: "show ssl ca-file"},
		{cmd: "set ssl ca-file new.pem <<\n" + payload(ca3.PEM) + "\n"},
		{cmd: "commit ssl ca-file new.pem"},
		{cmd: "show ssl ca-file new.pem"},
		{cmd: "new ssl crl-file new.crl"},
		{cmd: "show ssl crl-file new.crl"},
		{cmd: "del ssl crl-file new.pem"},
		{cmd: "del ssl crl-file " + path("crl.pem")},
		{cmd: "del ssl ca-file new.crl"},
		{cmd: "del ssl ca-file new.pem"},
		{cmd: "del ssl ca-file nope"},
		{cmd: "show ssl crl-file"},
		{cmd: "new ssl ca-file\nnew ssl crl-file\nset ssl ca-file\nset ssl crl-file\ncommit ssl ca-file\ncommit ssl crl-file\nabort ssl ca-file\nabort ssl crl-file\ndel ssl ca-file\ndel ssl crl-file"},
	}
	for i, s := range sessions {
		want := askSocket(t, socks["hp"], s.cmd)
		got := askSocket(t, socks["gp"], s.cmd)
		if got != want {
			t.Errorf("session %d %q:\ngproxy:\n%s\nhaproxy:\n%s", i, s.cmd[:min(len(s.cmd), 80)], got, want)
		}
		if !s.check {
			continue
		}
		for _, c := range []struct {
			name string
			leaf *tlstest.Leaf
			want string
		}{{"client one", c1, s.want1}, {"client two", c2, s.want2}} {
			h, hn := status("hp", c.leaf)
			g, gn := status("gp", c.leaf)
			if h != c.want || g != c.want || hn != gn {
				t.Errorf("after session %d, %s: haproxy %q (%d CA names), gproxy %q (%d), want %q", i, c.name, h, hn, g, gn, c.want)
			}
		}
	}
}

// TestIntegrationLongCAFileListingHaproxy: `show ssl ca-file` of a file
// with 120 CAs (about 40 kB) is haproxy's byte for byte, the header again
// where each 16 kB output buffer starts.
func TestIntegrationLongCAFileListingHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	var many []byte
	for i := range 120 {
		// Names of several lengths, so that the blocks differ in size.
		many = append(many, tlstest.NewCA(t, fmt.Sprintf("CA %d %s", i, strings.Repeat("x", i%29))).PEM...)
	}
	ca := tlstest.NewCA(t, "Server CA")
	tlstest.Write(t, path("srv.pem"), ca.Issue(t, tlstest.ECDSA, "www.test", "www.test").Bundle())
	tlstest.Write(t, path("many.pem"), many)
	socks, _ := startCLIPair(t, dir, func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
listen l
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
    http-request return status 200
`, sock, port, path("srv.pem"), path("many.pem"))
	})
	for _, cmd := range []string{"show ssl ca-file " + path("many.pem"), "show ssl ca-file " + path("many.pem") + ":77"} {
		want := askSocket(t, socks["hp"], cmd)
		got := askSocket(t, socks["gp"], cmd)
		if n := strings.Count(want, "Filename: "); !strings.Contains(cmd, ":") && (n < 3 || len(want) < 32768) {
			t.Fatalf("haproxy's listing is %d bytes with %d headers: the file is too short to test this", len(want), n)
		}
		if want != got {
			t.Errorf("%s: haproxy %d bytes, %d headers; gproxy %d bytes, %d headers", cmd, len(want), strings.Count(want, "Filename: "),
				len(got), strings.Count(got, "Filename: "))
		}
	}
}
