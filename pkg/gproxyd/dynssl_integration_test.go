package gproxyd_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
	"hapair/pkg/tlsconf/tlstest"
)

// seenRecorder records what an HTTP server saw of each request: the
// protocol, and the TLS server name and ALPN choice when over TLS.
type seenRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *seenRecorder) ServeHTTP(w http.ResponseWriter, q *http.Request) {
	line := fmt.Sprintf("%s %s %s", q.Method, q.URL.Path, q.Proto)
	if q.TLS != nil {
		line += fmt.Sprintf(" tls sni=%q alpn=%q", q.TLS.ServerName, q.TLS.NegotiatedProtocol)
		if len(q.TLS.PeerCertificates) > 0 {
			line += " client=" + q.TLS.PeerCertificates[0].Subject.CommonName
		}
	}
	r.mu.Lock()
	r.seen = append(r.seen, line)
	r.mu.Unlock()
	io.WriteString(w, "ok\n")
}

func (r *seenRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen
	r.seen = nil
	return s
}

// TestIntegrationAddServerSSLH2: servers added on the stats socket with
// `ssl` (verify required against a CA file made with `new/set/commit ssl
// ca-file`, `sni`, `alpn`, verify none with `alpn h2`) and with `proto
// h2`, in HTTP backends (one under `balance random`) that had no TLS nor
// HTTP/2 server at start, answer the CLI and serve as haproxy 2.6's: the
// servers see the same TLS names, ALPN choices and HTTP versions, and
// `show servers state` writes the same rows; the refusals (proto h2 in
// mode tcp, a CA file not in memory, verify without a CA file) match.
func TestIntegrationAddServerSSLH2(t *testing.T) {
	requireRootAndHAProxy(t)
	ca := tlstest.NewCA(t, "Test CA")
	leaf := ca.Issue(t, tlstest.RSA, "foo.test", "foo.test")
	cert, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	client := filepath.Join(dir, "client.pem")
	tlstest.Write(t, client, ca.Issue(t, tlstest.RSA, "client.test").Bundle())
	rec := &seenRecorder{}
	tlsAddr := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: rec, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}, ClientAuth: tls.RequestClientCert}}
		if err := http2.ConfigureServer(srv, nil); err != nil {
			t.Fatal(err)
		}
		go srv.ServeTLS(ln, "", "")
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}()
	h2cAddr := func() string {
		h2s := &http2.Server{}
		ln := haproxytest.Serve(t, time.Minute, func(c net.Conn) {
			h2s.ServeConn(c, &http2.ServeConnOpts{Handler: rec})
		})
		return ln.Addr().String()
	}()
	type result struct{ answers, seen, state []string }
	run := func(bin string) result {
		port := porttest.Free(t)
		sock := filepath.Join(t.TempDir(), "s.sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
frontend fe
    bind 127.0.0.1:%d
    use_backend bs if { path_beg /s }
    use_backend ba if { path_beg /a }
    default_backend bh
backend bs
    balance random
backend ba
    # a0 loads the certificate file at start, at another address: gproxy
    # confuses two servers at one address when ALPN refuses h2
    server a0 %s ssl verify none crt %s disabled
backend bh
backend bt
    mode tcp
`, sock, port, h2cAddr, client)
		_, _, stop := startDB(t, bin, cfg, port)
		defer stop()
		var res result
		for _, c := range []string{
			"new ssl ca-file ca.pem",
			"set ssl ca-file ca.pem <<\n" + strings.TrimSpace(string(ca.PEM)) + "\n",
			"commit ssl ca-file ca.pem",
			"add server bt/x " + h2cAddr + " proto h2",
			"add server bs/x " + tlsAddr + " ssl verify required ca-file nope.pem",
			"add server bs/x " + tlsAddr + " ssl",
			"add server bs/x " + tlsAddr + " ssl verify required",
			"add server bs/t1 " + tlsAddr + " ssl verify required ca-file ca.pem sni str(foo.test) alpn http/1.1",
			"enable server bs/t1",
			"add server ba/t2 " + tlsAddr + " ssl verify none alpn h2,http/1.1",
			"enable server ba/t2",
			"add server ba/t3 " + tlsAddr + " ssl verify none crt " + filepath.Join(dir, "nope.pem"),
			"add server ba/t3 " + tlsAddr + " ssl verify none crt " + client + " alpn http/1.1",
			"show ssl cert " + client,
			"add server bh/h2 " + h2cAddr + " proto h2",
			"enable server bh/h2",
		} {
			res.answers = append(res.answers, maskLoopbackPort(c+": "+strings.TrimSpace(cli(sock, c))))
		}
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for _, path := range []string{"/s1", "/a1", "/a2", "/h1"} {
			if path == "/a2" {
				// ba/t3 (with its client certificate) now takes /a.
				cli(sock, "disable server ba/t2")
				cli(sock, "enable server ba/t3")
			}
			resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
			if err != nil {
				res.seen = append(res.seen, path+": "+err.Error())
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			res.seen = append(res.seen, fmt.Sprintf("%s: %d %q", path, resp.StatusCode, b))
		}
		res.seen = append(res.seen, rec.take()...)
		for _, be := range []string{"bs", "ba", "bh"} {
			for _, l := range strings.Split(cli(sock, "show servers state "+be), "\n") {
				f := strings.Fields(l)
				if len(f) > 10 && !strings.HasPrefix(l, "#") {
					f[9] = "T" // time since the last change
					res.state = append(res.state, maskLoopbackPort(strings.Join(f, " ")))
				}
			}
		}
		return res
	}
	ref, got := run(haproxytest.Bin), run(gproxyBin)
	for _, p := range []struct {
		what     string
		ref, got []string
	}{{"answers", ref.answers, got.answers}, {"what the servers saw", ref.seen, got.seen}, {"servers state", ref.state, got.state}} {
		if !slices.Equal(p.ref, p.got) {
			t.Errorf("%s differ\nhaproxy:\n%s\ngproxy:\n%s", p.what, strings.Join(p.ref, "\n"), strings.Join(p.got, "\n"))
		}
	}
	// What the comparison stands on: haproxy served each added server.
	for _, want := range []string{`GET /s1 HTTP/1.1 tls sni="foo.test" alpn="http/1.1"`, `GET /a1 HTTP/2.0 tls sni="" alpn="h2"`, `GET /a2 HTTP/1.1 tls sni="" alpn="http/1.1" client=client.test`, `GET /h1 HTTP/2.0`} {
		if !slices.Contains(ref.seen, want) {
			t.Errorf("haproxy's servers were expected to see %q", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("haproxy:\n%s\n%s\n%s", strings.Join(ref.answers, "\n"), strings.Join(ref.seen, "\n"), strings.Join(ref.state, "\n"))
	}
}
