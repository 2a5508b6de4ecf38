package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"

	"github.com/rs/zerolog"
)

// The cost of the rules: one keep-alive client through a mode http
// proxy to a server answering "ok", without rules (the path every
// configuration without rules takes: no sample.Txn is built) and with a
// few. Run on main and on a branch to compare (go test -bench Rules).

func benchBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					for {
						l, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if l == "\r\n" {
							break
						}
					}
					if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func benchHTTPProxy(b *testing.B, rules string) {
	be := benchBackend(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	src := fmt.Sprintf("defaults\n mode http\n timeout client 5s\n timeout server 5s\n timeout connect 1s\n"+
		"listen web\n bind %s\n%s server s1 %s\n", ln.Addr(), rules, be)
	cfg, _, err := haproxycfg.Parse("bench.cfg", []byte(src), haproxycfg.ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(cfg, Options{Logger: zerolog.Nop(), Listeners: map[string]net.Listener{ln.Addr().String(): ln}})
	if err != nil {
		b.Fatal(err)
	}
	go e.Serve(context.Background())
	b.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Wait(ctx)
	})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := "GET /a/b?x=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := io.WriteString(c, req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func BenchmarkRulesNone(b *testing.B) { benchHTTPProxy(b, "") }

func BenchmarkRulesFew(b *testing.B) {
	benchHTTPProxy(b, strings.Join([]string{
		" acl api path_beg /api",
		" http-request deny if api",
		" http-request set-header X-Proxy gproxy",
		" http-response del-header Server",
		"",
	}, "\n"))
}

// BenchmarkRulesNoneTCP is one new mode tcp connection per operation,
// through a proxy without rules.
func BenchmarkRulesNoneTCP(b *testing.B) {
	be := benchBackend(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	src := fmt.Sprintf("defaults\n mode tcp\n timeout client 5s\n timeout server 5s\n timeout connect 1s\n"+
		"listen web\n bind %s\n server s1 %s\n", ln.Addr(), be)
	cfg, _, err := haproxycfg.Parse("bench.cfg", []byte(src), haproxycfg.ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(cfg, Options{Logger: zerolog.Nop(), Listeners: map[string]net.Listener{ln.Addr().String(): ln}})
	if err != nil {
		b.Fatal(err)
	}
	go e.Serve(context.Background())
	b.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Wait(ctx)
	})
	req := "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.WriteString(c, req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadAtLeast(c, buf, 40); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkRulesL7 has the rules of `make bench`'s L7 case
// (integration/cmd/bench, proxy-l7.cfg) but its use_backend: a dozen
// ACLs, three deny rules whose conditions are false, forwardfor and two
// set-header.
func BenchmarkRulesL7(b *testing.B) {
	benchHTTPProxy(b, strings.Join([]string{
		" option forwardfor",
		" acl is_static path_beg /static /images /css /js",
		" acl is_api path_beg /api",
		" acl is_admin path_beg /admin",
		" acl host_www hdr(host) -i www.example.com example.com",
		" acl is_post method POST",
		" acl is_get method GET HEAD",
		" acl has_auth req.hdr(authorization) -m found",
		" acl bad_ua hdr_sub(user-agent) -i sqlmap nikto",
		" acl internal src 10.0.0.0/8 192.168.0.0/16",
		" acl is_html path_end .html",
		" acl is_json hdr(content-type) -m sub json",
		" acl is_upload path_beg /upload",
		" http-request deny if bad_ua",
		" http-request deny if is_admin !internal",
		" http-request deny if is_upload !is_post",
		" http-request set-header X-Forwarded-Proto http",
		" http-request set-header X-Bench gproxy",
		"",
	}, "\n"))
}
