package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
)

// rulesFuzzConfig puts every request-rewriting action on the path of
// fuzzed requests.
const rulesFuzzConfig = `defaults
 mode http
 timeout client 2s
 timeout server 2s
 timeout connect 1s
 timeout http-request 1s
listen fuzz
 bind %s
 http-request set-var(txn.p) path
 http-request set-var(sess.h) req.hdr(host)
 http-request replace-uri ^/r/(.*)$ /\1
 http-request replace-path ^/rp(.*)$ /x\1
 http-request replace-pathq ^/rq(.*)$ /y\1
 http-request set-path /sp if { path_beg /sp }
 http-request set-pathq /spq?a if { path_beg /spq }
 http-request set-query q=1 if { path_beg /sq }
 http-request set-uri /su if { path_beg /su }
 http-request set-method PUT if { path_beg /sm }
 http-request replace-value X-V ^a$ b
 http-request replace-header X-H ^(.)(.*)$ \2\1
 http-request del-header X-D -m sub
 http-request set-header X-S %s
 http-request add-header X-A a
 http-request redirect prefix /pre drop-query append-slash if { path_beg /redir }
 http-request redirect scheme https set-cookie C=1 if { path_beg /sch }
 http-request return status 200 content-type text/plain string ret hdr X-R r if { path_beg /ret }
 http-request deny if { path_beg /deny }
 http-request auth if { path_beg /auth }
 http-request set-var(txn.after) str(1) if { path /after }
 http-response set-header X-R 1
 http-response replace-header Content-Type ^(.*)$ [\1]
 http-response replace-value X-List ^(.*)$ <\1>
 http-after-response set-status 299 if { status 200 } { var(txn.after) -m found }
 server echo %s
`

// FuzzHTTPRules sends raw requests to a frontend whose rules rewrite
// every part of them: no panic (recovered ones counted), a request the
// parser accepts gets a well-formed response, and the frontend serves a
// normal request afterwards.
func FuzzHTTPRules(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, p := range []string{"/r/x?y", "/rp", "/rq?z", "/sp?q", "/spq", "/sq", "/su", "/sm", "/redir?x", "/sch", "/ret", "/deny", "/auth", "http://h/r/abs?q", "*"} {
		f.Add([]byte("GET " + p + " HTTP/1.1\r\nHost: h\r\nX-V: a, a ,b\r\nX-H: hh\r\nX-Dd: 1\r\n\r\n"))
	}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-List", "a, b")
		fmt.Fprintf(w, "%s %s %d\n", r.Method, r.URL.RequestURI(), len(body))
	}))
	f.Cleanup(be.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	src := fmt.Sprintf(rulesFuzzConfig, ln.Addr(), "%[src]", be.Listener.Addr())
	cfg, diags, err := haproxycfg.Parse("fuzz.cfg", []byte(src), haproxycfg.ParseOptions{})
	if err != nil {
		// %[src] needs the log-format engine; without it, a literal.
		src = fmt.Sprintf(rulesFuzzConfig, ln.Addr(), "lit", be.Listener.Addr())
		if cfg, diags, err = haproxycfg.Parse("fuzz.cfg", []byte(src), haproxycfg.ParseOptions{}); err != nil {
			f.Fatal(err, diags)
		}
	}
	e, err := New(cfg, Options{Logger: zerolog.Nop(), Listeners: map[string]net.Listener{ln.Addr().String(): ln}})
	if err != nil {
		f.Fatal(err)
	}
	go e.Serve(context.Background())
	f.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	ff := &fuzzFrontend{addr: ln.Addr().String()}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := ff.exchange(t, raw)
		if n := e.panics.Load(); n > 0 {
			t.Fatalf("%d panics recovered, the last with %q", n, raw)
		}
		_, perr := readRequest(bufio.NewReaderSize(bytes.NewReader(raw), 16384))
		if perr == nil && len(out) > 0 {
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
			if err != nil {
				t.Fatalf("request %q answered %q: %v", raw, out, err)
			}
			resp.Body.Close()
		}
		if errors.Is(perr, errBadRequest) && !bytes.HasPrefix(out, []byte("HTTP/1.1 400 ")) {
			t.Fatalf("bad request %q answered %q, want 400", raw, out)
		}
		ok := ff.exchange(t, []byte("GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
		if !bytes.HasPrefix(ok, []byte("HTTP/1.1 299 ")) || !bytes.Contains(ok, []byte("GET /after 0\n")) {
			t.Fatalf("after %q a normal request got %q", raw, ok)
		}
	})
}
