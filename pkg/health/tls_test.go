package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/tlsconf/tlstest"
)

// TestTLSChecks: `check-ssl` checks over TLS: a server with a
// certificate from the CA given passes at layer 6 (and at layer 7 with
// httpchk); one from another CA fails with haproxy's Layer6 result.
func TestTLSChecks(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	other := tlstest.NewCA(t, "Other CA")
	dir := t.TempDir()
	tlstest.Write(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	serve := func(issuer *tlstest.CA) int {
		return tlsCheckServer(t, issuer, nil, func(c *tls.Conn) {
			buf := make([]byte, 512)
			if n, _ := c.Read(buf); n > 0 {
				c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
			}
		})
	}
	good, bad := serve(ca), serve(other)
	for _, c := range []struct {
		name, opts string
		port       int
		want       Code
	}{
		{"tcp check, right CA", "check-sni srv.test", good, CodeL6OK},
		{"http check, right CA", "check-sni srv.test\n    option httpchk", good, CodeL7OK},
		{"tcp check, wrong CA", "check-sni srv.test", bad, CodeL6RSP},
		{"wrong name", "check-sni other.test", good, CodeL6RSP},
	} {
		t.Run(c.name, func(t *testing.T) {
			extra := ""
			opts := c.opts
			if i := len("check-sni srv.test"); len(opts) > i {
				extra, opts = opts[i:], opts[:i]
			}
			src := fmt.Sprintf("backend b%s\n    server s 127.0.0.1:%d check check-ssl verify required ca-file %s/ca.pem %s\n", extra, c.port, dir, opts)
			p := filepath.Join(dir, "t.cfg")
			tlstest.Write(t, p, []byte(src))
			cfg, diags, err := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
			if err != nil {
				t.Fatalf("%v %v", err, diags)
			}
			px := cfg.Proxies[0]
			res := ProbeFor(px, px.Servers[0]).Run(context.Background(), time.Now)
			if res.Code != c.want {
				t.Errorf("got %v (%s), want %v", res.Code, res.Reason(), c.want)
			}
		})
	}
}

// TestConnectSSLRule: `tcp-check connect ssl sni NAME alpn LIST` sends the
// rule's name and protocols (and only those: the server's check-sni is
// for the implicit connect), verifies the certificate against the name,
// and a mismatch is haproxy's "different from the expected one".
func TestConnectSSLRule(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	dir := t.TempDir()
	tlstest.Write(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	seen := make(chan [2]string, 10)
	port := tlsCheckServer(t, ca, []string{"x-b", "x-a"}, func(tc *tls.Conn) {
		if tc.Handshake() == nil {
			st := tc.ConnectionState()
			seen <- [2]string{st.ServerName, st.NegotiatedProtocol}
			tc.Write([]byte("+OK\r\n"))
		}
	})
	for _, c := range []struct {
		name, rule string
		want       Result
		seen       [2]string
	}{
		{"sni and alpn", "tcp-check connect ssl sni srv.test alpn x-a,x-c\n    tcp-check expect string +OK",
			Result{Code: CodeL7OK, Info: "(tcp-check)"}, [2]string{"srv.test", "x-a"}},
		{"connect last", "tcp-check connect ssl sni srv.test", Result{Code: CodeL6OK, Info: "(tcp-check)"}, [2]string{"srv.test", ""}},
		{"wrong name", "tcp-check connect ssl sni other.test comment c",
			Result{Code: CodeL6RSP, Info: "Server presented an SSL certificate different from the expected one at step 1 of tcp-check (connect) comment: 'c'"}, [2]string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := fmt.Sprintf("backend b\n    option tcp-check\n    %s\n    server s 127.0.0.1:%d check check-sni nope.test verify required ca-file %s/ca.pem\n", c.rule, port, dir)
			p := filepath.Join(dir, "t.cfg")
			tlstest.Write(t, p, []byte(src))
			cfg, diags, err := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
			if err != nil {
				t.Fatalf("%v %v", err, diags)
			}
			px := cfg.Proxies[0]
			res := ProbeFor(px, px.Servers[0]).Run(context.Background(), time.Now)
			res.Duration = 0
			if res != c.want {
				t.Errorf("got %+v, want %+v", res, c.want)
			}
			if c.seen != [2]string{} {
				select {
				case got := <-seen:
					if got != c.seen {
						t.Errorf("server saw %q, want %q", got, c.seen)
					}
				case <-time.After(5 * time.Second):
					t.Error("server saw no handshake")
				}
			}
		})
	}
}

// tlsCheckServer serves TLS on a loopback port with a certificate for
// srv.test from issuer, offering protos by ALPN, and gives each accepted
// connection to handle (5 s deadline); the test's cleanup closes it.
func tlsCheckServer(t *testing.T, issuer *tlstest.CA, protos []string, handle func(*tls.Conn)) int {
	t.Helper()
	l := issuer.Issue(t, tlstest.ECDSA, "srv.test", "srv.test")
	pair, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: protos})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c.(*tls.Conn))
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
