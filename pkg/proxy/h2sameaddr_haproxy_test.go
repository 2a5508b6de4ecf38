package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// Two servers of a backend at one address, the second offering h2 by
// ALPN: a request for that server must go over HTTP/2 with its own TLS
// settings, one for the other over HTTP/1.1 with its own, whatever their
// order (the HTTP/2 dial once took the first server at the address: its
// settings offered no h2, the wrong server was marked HTTP/1.1 and the
// request was sent again and again until the client gave up).
const h2SameAddrConfig = `
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:{fe}
    default_backend b

backend b
    use-server plain if { path_beg /plain }
    use-server h2 if TRUE
    server plain {TLS} ssl verify none
    server h2 {TLS} ssl verify none alpn h2,http/1.1
`

func TestIntegrationH2SameAddressHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	leaf := ca.Issue(t, tlstest.ECDSA, "127.0.0.1", "localhost")
	cert, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tlsAddr := tlsH2Server(t, "tls", cert, []string{"h2", "http/1.1"})
	fill := func(fe string) string {
		s := strings.ReplaceAll(h2SameAddrConfig, "{TLS}", tlsAddr)
		return strings.ReplaceAll(s, "{fe}", fe)
	}
	observe := func(fe string) []string {
		c := &http.Client{Timeout: deadline, Transport: &http.Transport{}}
		defer c.CloseIdleConnections()
		var out []string
		for _, path := range []string{"/a", "/plain/b", "/c", "/plain/d", "/e"} {
			r := h2Do(t, c, "GET", "http://"+fe+path, nil, "")
			out = append(out, fmt.Sprintf("%s: %d %s", path, r.status, strings.Fields(r.header["x-seen"] + " -")[0]))
		}
		return out
	}
	hp := fmt.Sprint(deadPort(t))
	haproxytest.Start(t, fill(hp))
	haproxytest.WaitBound(t, "127.0.0.1:"+hp)
	want := observe("127.0.0.1:" + hp)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "gproxy.cfg")
	tlstest.Write(t, cfgPath, []byte(fill(portOf(ln.Addr().String()))))
	cfg, diags, err := haproxycfg.ParseFiles([]string{cfgPath}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	serveHTTPLogged(t, cfg, map[string]net.Listener{ln.Addr().String(): ln}, nil, nil)
	got := observe(ln.Addr().String())

	if want[0] != "/a: 200 HTTP/2.0" || want[1] != "/plain/b: 200 HTTP/1.1" {
		t.Fatalf("haproxy did not behave as expected: %q", want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: haproxy %q, gproxy %q", i, want[i], got[i])
		}
	}
}
