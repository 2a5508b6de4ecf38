package runtimeapi_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/stats"
	"hapair/pkg/tlsconf/tlstest"
)

// TestIntegrationShowSSLCertHaproxy: `show ssl cert` and `show ssl cert
// FILE` answer as haproxy 2.6 on the same configuration: a directory, an
// RSA bundle with its chain and SANs, an ECDSA key in a side file, a
// server's client certificate, and a file that is not loaded.
func TestIntegrationShowSSLCertHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	rsaLeaf := ca.Issue(t, tlstest.RSA, "www.test", "www.test", "*.www.test")
	tlstest.Write(t, filepath.Join(dir, "certs", "a.pem"), append(rsaLeaf.Bundle(), ca.PEM...))
	ec := ca.Issue(t, tlstest.ECDSA, "ec.test")
	tlstest.Write(t, filepath.Join(dir, "certs", "b.pem"), ec.CertPEM)
	tlstest.Write(t, filepath.Join(dir, "certs", "b.pem.key"), ec.KeyPEM)
	tlstest.Write(t, filepath.Join(dir, "client.pem"), ca.Issue(t, tlstest.ECDSA, "client").Bundle())
	sock := filepath.Join(dir, "admin.sock")
	port := porttest.Free(t)
	cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    timeout client 5s
    timeout server 5s
    timeout connect 5s
listen l
    bind 127.0.0.1:%d ssl crt %s/certs
    server s 127.0.0.1:1 ssl verify none crt %s/client.pem
`, sock, port, dir, dir)
	haproxytest.Start(t, cfg)
	p := filepath.Join(dir, "gproxy.cfg")
	tlstest.Write(t, p, []byte(cfg))
	parsed, diags, err := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	cmds := &runtimeapi.Commands{Source: &stats.Source{Config: parsed}}
	for _, q := range []string{
		"show ssl cert",
		"show ssl cert " + filepath.Join(dir, "certs", "a.pem"),
		"show ssl cert " + filepath.Join(dir, "certs", "b.pem"),
		"show ssl cert " + filepath.Join(dir, "client.pem"),
	} {
		want := askSocket(t, sock, q)
		got := cmds.Exec(strings.Fields(q), runtimeapi.LevelAdmin) + "\n"
		if !strings.Contains(want, "/") {
			t.Errorf("%s: haproxy answered %q", q, want)
		}
		if got != want {
			t.Errorf("%s:\ngproxy:\n%s\nhaproxy:\n%s", q, got, want)
		}
	}
	q := "show ssl cert " + filepath.Join(dir, "nope.pem")
	if want, got := askSocket(t, sock, q), cmds.Exec(strings.Fields(q), runtimeapi.LevelAdmin)+"\n"; got != want {
		t.Errorf("%s:\ngproxy:\n%s\nhaproxy:\n%s", q, got, want)
	}
}

// askSocket sends one command to haproxy's stats socket, waiting for the
// socket to appear, and returns the whole answer.
func askSocket(t *testing.T, path, cmd string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, cmd+"\n")
			b, _ := io.ReadAll(c)
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stats socket at %s: %v", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// haproxy 2.6's show ssl commands answer a user-level socket "Can't
// allocate memory!" (their own message overwrites "Permission denied");
// the other certificate commands say "Permission denied".
func TestSSLShowDeniedMessage(t *testing.T) {
	c := &runtimeapi.Commands{}
	for cmd, want := range map[string]string{
		"show ssl ca-file":  "Can't allocate memory!\n",
		"show ssl crl-file": "Can't allocate memory!\n",
		"show ssl cert":     "Can't allocate memory!\n",
		"set ssl ca-file x": "Permission denied\n",
		"new ssl ca-file x": "Permission denied\n",
	} {
		if got := c.Exec(strings.Fields(cmd), runtimeapi.LevelUser); got != want {
			t.Errorf("%s at level user: %q, want %q", cmd, got, want)
		}
	}
}
