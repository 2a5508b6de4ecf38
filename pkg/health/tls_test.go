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
		l := issuer.Issue(t, tlstest.ECDSA, "srv.test", "srv.test")
		pair, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
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
					buf := make([]byte, 512)
					if n, _ := c.Read(buf); n > 0 {
						c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
					}
				}()
			}
		}()
		return ln.Addr().(*net.TCPAddr).Port
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
