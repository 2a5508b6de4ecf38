package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/porttest"
	"hapair/pkg/sample"
	"hapair/pkg/tlsconf"
	"hapair/pkg/tlsconf/tlstest"
)

// tlsEngine runs cfg (with {DIR} and {PORT} replaced) parsed from a file
// with its certificates, collecting the ConnError lines.
func tlsEngine(t *testing.T, src string, files map[string][]byte) (addr string, errs func() []ConnError) {
	t.Helper()
	dir := t.TempDir()
	for n, b := range files {
		tlstest.Write(t, filepath.Join(dir, n), b)
	}
	// The listener is open before the port is written in the
	// configuration: a port picked and closed could be taken meanwhile.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	src = strings.ReplaceAll(strings.ReplaceAll(src, "{DIR}", dir), "{PORT}", fmt.Sprint(port))
	p := filepath.Join(dir, "t.cfg")
	tlstest.Write(t, p, []byte(src))
	cfg, diags, err := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	var mu sync.Mutex
	var got []ConnError
	e, err := New(cfg, Options{Logger: zerolog.Nop(), Listeners: map[string]net.Listener{ln.Addr().String(): ln}, ConnError: func(_ *haproxycfg.Proxy, ce ConnError) {
		mu.Lock()
		got = append(got, ce)
		mu.Unlock()
	}})
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
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	return addr, func() []ConnError {
		mu.Lock()
		defer mu.Unlock()
		return append([]ConnError(nil), got...)
	}
}

// TestTLSHandshakeFailures: a client that closes before its ClientHello,
// one that sends garbage, one with a truncated ClientHello and one that
// stalls are each logged with haproxy's message (the stall once
// `timeout client` expires), and a good client is served meanwhile.
func TestTLSHandshakeFailures(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	backend := startBackend(t, hello("srv"))
	cur0, cum0 := SSLConns()
	addr, errs := tlsEngine(t, fmt.Sprintf(`
defaults
    mode tcp
    log 127.0.0.1:9 local0
    timeout connect 1s
    timeout client 300ms
    timeout server 5s
listen fe
    bind 127.0.0.1:{PORT} ssl crt {DIR}/a.pem
    server s1 127.0.0.1:%d
`, backend.port), map[string][]byte{"a.pem": ca.Issue(t, tlstest.RSA, "a.test", "a.test").Bundle()})

	send := func(b []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			c.Write(b)
		}
		c.Close()
	}
	send(nil)
	send([]byte("GET / HTTP/1.1\r\n\r\n"))
	send([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}) // a ClientHello cut short
	stalled, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.Write([]byte{0x16, 0x03, 0x01})

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "a.test"})
	if err != nil {
		t.Fatalf("a good client: %v", err)
	}
	roundTrip(t, c, "")
	c.Close()

	eventually(t, "four failures logged", func() bool { return len(errs()) == 4 })
	msgs := map[string]int{}
	for _, ce := range errs() {
		msgs[ce.Msg]++
		if ce.Listener != 1 {
			t.Errorf("listener id %d, want 1", ce.Listener)
		}
	}
	want := map[string]int{tlsconf.ConnErrText(tlsconf.ConnErrSSLEmpty): 2, tlsconf.ConnErrText(tlsconf.ConnErrSSLHandshake): 1, tlsconf.ConnErrText(tlsconf.ConnErrSSLTimeout): 1}
	if fmt.Sprint(msgs) != fmt.Sprint(want) {
		t.Errorf("logged %v, want %v", msgs, want)
	}
	// The stalled client was closed by the proxy.
	stalled.SetReadDeadline(time.Now().Add(deadline))
	if _, err := stalled.Read(make([]byte, 1)); err == nil {
		t.Error("the stalled client is still connected")
	}
	// show info's CurrSslConns and CumSslConns: five TLS connections.
	eventually(t, "TLS connections counted and released", func() bool {
		cur, cum := SSLConns()
		return cur == cur0 && cum-cum0 == 5
	})
}

// TestWithTLS: the TLS facts of a terminated connection reach the
// fetches (ssl_fc, SNI, protocol, client and frontend certificates).
func TestWithTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	dir := t.TempDir()
	srv := ca.Issue(t, tlstest.ECDSA, "www.test", "www.test")
	tlstest.Write(t, filepath.Join(dir, "s.pem"), srv.Bundle())
	tlstest.Write(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	src := fmt.Sprintf("frontend f\n    bind 127.0.0.1:1 ssl crt %s/s.pem ca-file %s/ca.pem verify required alpn http/1.1\n", dir, dir)
	p := filepath.Join(dir, "t.cfg")
	tlstest.Write(t, p, []byte(src))
	cfg, diags, err := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := &Engine{now: time.Now, killed: context.Background()}
	f := &Frontend{px: cfg.Proxies[0]}
	tln := e.wrapTLS(f, 0, ln)
	cli := ca.Issue(t, tlstest.RSA, "alice")
	pair, _ := tls.X509KeyPair(cli.CertPEM, cli.KeyPEM)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "www.test",
			Certificates: []tls.Certificate{pair}, NextProtos: []string{"http/1.1"}})
		if err == nil {
			c.Read(make([]byte, 1))
			c.Close()
		}
	}()
	c, err := tln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := e.handshake(f, c, time.Now()); !ok {
		t.Fatal("handshake failed")
	}
	txn := &sample.Txn{Env: WithTLS(nil, c)}
	for expr, want := range map[string]string{
		"ssl_fc_sni": "www.test", "ssl_fc_protocol": "TLSv1.3", "ssl_c_s_dn(CN)": "alice",
		"ssl_f_s_dn": "/CN=www.test", "ssl_fc_alpn": "http/1.1", "ssl_fc,bool": "",
	} {
		x, err := sample.ParseExpr(expr, &sample.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		v, ok := x.Eval(txn)
		if expr == "ssl_fc,bool" {
			if !ok || !v.Bool {
				t.Errorf("ssl_fc is not true")
			}
			continue
		}
		if !ok || v.Str != want {
			t.Errorf("%s = %q, want %q", expr, v.Str, want)
		}
	}
	clear := &sample.Txn{Env: WithTLS(nil, &net.TCPConn{})}
	x, _ := sample.ParseExpr("ssl_fc", &sample.ParseOptions{})
	if v, _ := x.Eval(clear); v.Bool {
		t.Error("ssl_fc is true on a clear connection")
	}
}

// TestTLSResumption: a client resumes its session on a new connection
// (TLS 1.2 and 1.3 tickets), as with haproxy's default tickets; with
// no-tls-tickets a TLS 1.2 client cannot (crypto/tls has no session-id
// cache, where haproxy's OpenSSL would resume from its cache).
func TestTLSResumption(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	backend := startBackend(t, hello("srv"))
	files := map[string][]byte{"a.pem": ca.Issue(t, tlstest.ECDSA, "a.test", "a.test").Bundle()}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, c := range []struct {
		opts    string
		version uint16
		want    bool
	}{
		{"", tls.VersionTLS12, true},
		{"", tls.VersionTLS13, true},
		{"no-tls-tickets", tls.VersionTLS12, false},
	} {
		addr, _ := tlsEngine(t, fmt.Sprintf(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen fe
    bind 127.0.0.1:{PORT} ssl crt {DIR}/a.pem %s
    server s1 127.0.0.1:%d
`, c.opts, backend.port), files)
		cfg := &tls.Config{RootCAs: pool, ServerName: "a.test", MaxVersion: c.version, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		var resumed bool
		for i := 0; i < 2; i++ {
			conn, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			// TLS 1.3 tickets come after the handshake: read the reply.
			conn.SetReadDeadline(time.Now().Add(deadline))
			if b, _ := io.ReadAll(conn); string(b) != "srv" {
				t.Fatalf("read %q through the proxy", b)
			}
			resumed = conn.ConnectionState().DidResume
			conn.Close()
		}
		if resumed != c.want {
			t.Errorf("%q TLS %x: resumed %v, want %v", c.opts, c.version, resumed, c.want)
		}
		// show info's SSL rates see the sessions and the full handshakes
		// (exact figures depend on where the second boundary falls).
		if r := ReadSSLRates(time.Now()); r.Sess < 1 || r.FeKeys < 1 || r.SessMax < 1 || r.FeKeysMax < 1 {
			t.Errorf("%q TLS %x: rates %+v", c.opts, c.version, r)
		}
	}
}

// BenchmarkTLSHandshake: full TLS 1.3 handshakes (ECDSA P-256) through
// a mode tcp ssl listener, client in the same process.
func BenchmarkTLSHandshake(b *testing.B) {
	ca := tlstest.NewCA(b, "Test CA")
	backend := startBackendB(b)
	dir := b.TempDir()
	tlstest.Write(b, filepath.Join(dir, "a.pem"), ca.Issue(b, tlstest.ECDSA, "a.test", "a.test").Bundle())
	port := porttest.Free(b)
	src := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten fe\n    bind 127.0.0.1:%d ssl crt %s/a.pem\n    server s1 %s\n", port, dir, backend)
	p := filepath.Join(dir, "t.cfg")
	tlstest.Write(b, p, []byte(src))
	cfg, _, err := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(cfg, Options{Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	go e.Serve(context.Background())
	defer e.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	time.Sleep(100 * time.Millisecond)
	ccfg := &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := tls.Dial("tcp", addr, ccfg)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func startBackendB(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return l.Addr().String()
}
