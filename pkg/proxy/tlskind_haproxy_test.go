package proxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// A site with an RSA and an ECDSA certificate for the same names, in a
// directory and as a multi-certificate bundle (site.pem.rsa and
// site.pem.ecdsa behind `crt site.pem`): each client gets the kind of
// certificate haproxy 2.6 gives it, by its signature algorithms and cipher
// suites, exact names and wildcards together.
const tlsKindConfig = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend dir
    bind 127.0.0.1:{dir} ssl crt {DIR}/certs
    http-request return status 200 content-type text/plain string ok
frontend bundle
    bind 127.0.0.1:{bundle} ssl crt {DIR}/site.pem
    http-request return status 200 content-type text/plain string ok
`

var peerRE = regexp.MustCompile(`(?m)^(Peer certificate: .*|Signature type: .*|Protocol version: .*)$`)

// sClientPeer is what `openssl s_client -brief` says of the certificate
// and signature the server used, or "refused".
func sClientPeer(addr, sni string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	a := []string{"s_client", "-brief", "-connect", addr}
	if sni != "" {
		a = append(a, "-servername", sni)
	} else {
		a = append(a, "-noservername")
	}
	out, _ := exec.CommandContext(ctx, "openssl", append(a, args...)...).CombinedOutput()
	m := peerRE.FindAllString(string(out), -1)
	if len(m) == 0 {
		return "refused"
	}
	return strings.Join(m, "; ")
}

func TestIntegrationTLSCertKindHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command: %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	w := func(name string, b []byte) { tlstest.Write(t, filepath.Join(dir, name), b) }
	// The default is the first file: an RSA certificate of its own.
	w("certs/00-first-rsa.pem", ca.Issue(t, tlstest.RSA, "first", "first.test").Bundle())
	w("certs/10-dual-rsa.pem", ca.Issue(t, tlstest.RSA, "dual-rsa", "dual.test", "x.wild.test").Bundle())
	w("certs/20-dual-ec.pem", ca.Issue(t, tlstest.ECDSA, "dual-ec", "dual.test").Bundle())
	w("certs/30-wild-ec.pem", ca.Issue(t, tlstest.ECDSA, "wild-ec", "*.wild.test").Bundle())
	w("site.pem.rsa", ca.Issue(t, tlstest.RSA, "bundle-rsa", "bundle.test").Bundle())
	w("site.pem.ecdsa", ca.Issue(t, tlstest.ECDSA, "bundle-ec", "bundle.test").Bundle())

	fill := func(ports map[string]int) string {
		s := strings.ReplaceAll(tlsKindConfig, "{DIR}", dir)
		for k, p := range ports {
			s = strings.ReplaceAll(s, "{"+k+"}", fmt.Sprint(p))
		}
		return s
	}
	names := []string{"dir", "bundle"}
	hp, gp := startPair(t, dir, names, fill)
	clients := []struct{ name, args string }{
		{"TLS 1.2, every suite", "-tls1_2"},
		{"TLS 1.2, RSA signatures only", "-tls1_2 -sigalgs RSA+SHA256:RSA+SHA384"},
		{"TLS 1.2, RSA suites only", "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"},
		{"TLS 1.2, ECDSA suites only", "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256"},
		{"TLS 1.3", "-tls1_3"},
		{"TLS 1.3 suites only", "-tls1_3 -cipher NULL"},
		{"TLS 1.3, ECDSA signatures only", "-tls1_3 -sigalgs ECDSA+SHA256"},
		{"TLS 1.3 suites only, ECDSA signatures only", "-tls1_3 -cipher NULL -sigalgs ECDSA+SHA256"},
	}
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, fe := range names {
			for _, sni := range []string{"dual.test", "x.wild.test", "y.wild.test", "bundle.test", "other.test", ""} {
				for _, c := range clients {
					o[fe+" "+sni+" / "+c.name] = sClientPeer(fmt.Sprintf("127.0.0.1:%d", ports[fe]), sni, strings.Fields(c.args)...)
				}
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	// The reference, so that a broken set-up cannot pass.
	haproxytest.CompareObservations(t, "client/name/frontend", want, got, haproxytest.Contains, map[string]string{
		"dir dual.test / TLS 1.2, every suite":              "CN = dual-ec",
		"dir dual.test / TLS 1.2, RSA suites only":          "CN = dual-rsa",
		"dir x.wild.test / TLS 1.2, every suite":            "CN = wild-ec",
		"bundle  / TLS 1.2, RSA signatures only":            "refused", // the default (ECDSA) is not chosen
		"bundle  / TLS 1.2, every suite":                    "CN = bundle-ec",
		"dir dual.test / TLS 1.3 suites only":               "CN = dual-rsa",
		"bundle bundle.test / TLS 1.2, RSA signatures only": "CN = bundle-rsa",
	})
}

// startPair runs haproxy and a gproxy engine on the configuration fill
// makes for each one's ports (one per name; gproxy's listeners are open
// from the start, as a port picked and closed could be taken meanwhile),
// waits until both listen, and returns their ports.
func startPair(t *testing.T, dir string, names []string, fill func(map[string]int) string) (hp, gp map[string]int) {
	t.Helper()
	hp, gp = map[string]int{}, map[string]int{}
	lns := map[string]net.Listener{}
	for _, n := range names {
		hp[n] = deadPort(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[ln.Addr().String()] = ln
		gp[n] = ln.Addr().(*net.TCPAddr).Port
	}
	haproxytest.Start(t, fill(hp))
	cfgPath := filepath.Join(dir, "gproxy.cfg")
	tlstest.Write(t, cfgPath, []byte(fill(gp)))
	cfg, diags, err := haproxycfg.ParseFiles([]string{cfgPath}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	e, err := New(cfg, Options{Logger: zerolog.Nop(), Listeners: lns})
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
	for _, n := range names {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", hp[n]))
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", gp[n]))
	}
	return hp, gp
}
