package sample_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/sample"
)

// helloBytes is the first record a Go TLS client sends.
func helloBytes(t *testing.T, cfg *tls.Config) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		cl := tls.Client(c, cfg)
		_ = cl.SetDeadline(time.Now().Add(2 * time.Second))
		_ = cl.Handshake()
		cl.Close()
	}()
	_ = s.SetReadDeadline(time.Now().Add(2 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for len(out) < 5 || len(out) < 5+int(out[3])<<8+int(out[4]) {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			t.Fatalf("reading the hello: %v", err)
		}
	}
	return out[:5+int(out[3])<<8+int(out[4])]
}

// TestHaproxyClientHello compares the ClientHello peekers with haproxy
// 2.6 in mode tcp: each frontend accepts a connection (forwarded to a
// server answering "OK") only when its condition holds on the buffered
// hello, under tcp-request inspect-delay.
func TestHaproxyClientHello(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	conds := []string{
		"{ req.ssl_hello_type 1 }",
		"{ req.ssl_sni -i www.example.com }",
		"{ req.ssl_sni -m end .example.com }",
		"{ req.ssl_ver 3.3 }",
		"{ req_ssl_ver ge 3.1 } { req.len gt 100 }",
		"{ req.ssl_sni -m found }",
		"{ req.ssl_alpn h2 }",
		"{ req.ssl_alpn http/1.1 }",
		"{ req.ssl_alpn -m found }",
		"{ req.ssl_ec_ext }",
		"{ req.ssl_st_ext 0 }",
		"{ req.ssl_st_ext 1 }",
		"RDP_COOKIE",
		"{ req.rdp_cookie(mstshash) -i ALICE }",
		"{ req_rdp_cookie_cnt 0 }",
	}
	payloads := map[string][]byte{
		"tls12-www":   helloBytes(t, &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}),
		"tls13-api":   helloBytes(t, &tls.Config{ServerName: "api.example.com", InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}),
		"tls12-alpn":  helloBytes(t, &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}, SessionTicketsDisabled: true}),
		"tls12-upper": helloBytes(t, &tls.Config{ServerName: "WWW.Example.COM", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}),
		"no-sni":      helloBytes(t, &tls.Config{ServerName: "192.0.2.1", InsecureSkipVerify: true}),
		"tls10-other": helloBytes(t, &tls.Config{ServerName: "other.net", InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}),
		"http":        []byte("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"),
		"rdp":         []byte("\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=alice\r\n\x01\x00\x08\x00\x03\x00\x00\x00"),
	}

	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "OK")
			c.Close()
		}
	}()

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n")
	ports := make([]int, len(conds))
	var parsed []*sample.Cond
	for i, c := range conds {
		ports[i] = haproxytest.FreePort(t)
		fmt.Fprintf(&cfg, "frontend f%d\n  bind 127.0.0.1:%d\n  tcp-request inspect-delay 3s\n", i, ports[i])
		fmt.Fprintf(&cfg, "  tcp-request content accept if %s\n  tcp-request content reject\n  default_backend be\n", c)
		pc, err := sample.ParseCond(strings.Fields("if "+c), sample.ACLSet{}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		parsed = append(parsed, pc)
	}
	fmt.Fprintf(&cfg, "backend be\n  server s %s\n", srv.Addr())
	haproxytest.Start(t, cfg.String())
	for _, p := range ports {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", p))
	}

	verdicts := map[bool]int{}
	for name, data := range payloads {
		for i, c := range conds {
			ref := haproxyAccepts(t, ports[i], data)
			verdicts[ref]++
			holds, final := parsed[i].EvalMore(&sample.Txn{Payload: data})
			if !final {
				t.Errorf("%s / %s: sample waits for more data on a complete payload", name, c)
			}
			if holds != ref {
				t.Errorf("%s / %s: haproxy accepts=%v, sample=%v", name, c, ref, holds)
			}
		}
	}
	if verdicts[true] == 0 || verdicts[false] == 0 {
		t.Errorf("haproxy gave one verdict only (%v): the cases do not discriminate", verdicts)
	}
	t.Logf("%d accepted, %d rejected by both", verdicts[true], verdicts[false])
}

// haproxyAccepts sends data and reports whether the connection reached
// the server.
func haproxyAccepts(t *testing.T, port int, data []byte) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	return string(out) == "OK"
}
