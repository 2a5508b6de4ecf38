package main_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// These tests run the built gproxy and the reference haproxy 2.6
// (Debian's, installed) on the same configuration files and compare what
// an operator sees: exit status, stdout, the [ALERT] and [WARNING] lines.

const haproxyBin = "/usr/sbin/haproxy"

var gproxyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gproxy-cmd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gproxyBin = filepath.Join(dir, "gproxy")
	cmd := exec.Command("go", "build", "-o", gproxyBin, "hapair/cmd/gproxy")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building gproxy:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needHaproxy(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
}

// result is what a run shows an operator.
type result struct {
	code   int
	stdout string
	lines  []string // [ALERT] and [WARNING] lines, pid removed
	stderr string
}

var pidRE = regexp.MustCompile(`^(\[[A-Z]+\] *)\(\d+\) :`)

// run runs bin with args in dir, bounded in time.
func run(t *testing.T, dir, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not exit within 20 s:\n%s", bin, args, stderr.String())
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s: %v", bin, err)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "[ALERT]") || strings.HasPrefix(l, "[WARNING]") {
			r.lines = append(r.lines, pidRE.ReplaceAllString(l, "$1(1) :"))
		}
	}
	return r
}

func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// warningCfg gives two warnings in haproxy 2.6 and in gproxy, and
// nothing else: `option httplog` in a tcp proxy without log targets.
const warningCfg = `defaults
    mode tcp
    timeout client 1s
    timeout server 1s
    timeout connect 1s
listen l
    bind 127.0.0.1:%d
    option httplog
    server s 127.0.0.1:9
`

const cleanCfg = `defaults
    mode tcp
    timeout client 1s
    timeout server 1s
    timeout connect 1s
listen l
    bind 127.0.0.1:%d
    server s 127.0.0.1:9
`

// TestZeroWarningMatchesHaproxy: `zero-warning` and -dW, for -c and for a
// start, give haproxy 2.6's exit status, stdout and messages: a warning
// with either set is fatal ("Some warnings were found and 'zero-warning'
// is set. Aborting.", exit 1); without, -c says "Warnings were found."
// before "Configuration file is valid" and exits 0.
func TestZeroWarningMatchesHaproxy(t *testing.T) {
	needHaproxy(t)
	// Nothing listens: every start below is refused before binding.
	port := 1
	cases := []struct {
		name  string
		cfg   string
		args  []string
		abort bool
	}{
		{"warning -c", warningCfg, []string{"-c"}, false},
		{"warning -c -q", warningCfg, []string{"-c", "-q"}, false},
		{"warning -c -dW", warningCfg, []string{"-c", "-dW"}, true},
		{"warning zero-warning -c", "global\n    zero-warning\n" + warningCfg, []string{"-c"}, true},
		{"clean zero-warning -c", "global\n    zero-warning\n" + cleanCfg, []string{"-c"}, false},
		{"clean -c -dW", cleanCfg, []string{"-c", "-dW"}, false},
		{"warning zero-warning start", "global\n    zero-warning\n" + warningCfg, []string{"-db"}, true},
		{"warning -dW start", warningCfg, []string{"-db", "-dW"}, true},
		{"uid warning zero-warning -c", "global\n    zero-warning\n    uid abc\n" + cleanCfg, []string{"-c"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "haproxy.cfg", fmt.Sprintf(tc.cfg, port))
			args := append(append([]string{}, tc.args...), "-f", "haproxy.cfg")
			ref := run(t, dir, haproxyBin, args...)
			got := run(t, dir, gproxyBin, args...)
			if wantCode := map[bool]int{true: 1, false: 0}[tc.abort]; ref.code != wantCode {
				t.Fatalf("haproxy exits %d, the test expects %d:\n%s", ref.code, wantCode, ref.stderr)
			}
			if got.code != ref.code {
				t.Errorf("exit status %d, haproxy %d\ngproxy:\n%s\nhaproxy:\n%s", got.code, ref.code, got.stderr, ref.stderr)
			}
			if got.stdout != ref.stdout {
				t.Errorf("stdout %q, haproxy %q", got.stdout, ref.stdout)
			}
			// With -q haproxy prints nothing; gproxy still prints alerts.
			if !contains(tc.args, "-q") && strings.Join(got.lines, "\n") != strings.Join(ref.lines, "\n") {
				t.Errorf("messages differ\ngproxy:\n%s\nhaproxy:\n%s", strings.Join(got.lines, "\n"), strings.Join(ref.lines, "\n"))
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeCert writes a self-signed certificate with its key (site.pem) and
// the certificate alone (ca.pem), so that haproxy accepts the TLS lines.
func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "site.test"},
		DNSNames: []string{"site.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	writeFile(t, dir, "ca.pem", string(cert))
	writeFile(t, dir, "site.pem", string(cert)+string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
}

// TestRefusedFeatures: configurations haproxy 2.6 serves (its -c accepts
// them) using a feature gproxy does not implement. gproxy must refuse
// each: exit status non-zero, an [ALERT] naming file:line and the
// keyword, never "Configuration file is valid". The line marked "<<"
// holds the keyword.
func TestRefusedFeatures(t *testing.T) {
	needHaproxy(t)
	const head = `defaults
    mode http
    timeout client 1s
    timeout server 1s
    timeout connect 1s
`
	cases := []struct {
		name, keyword, cfg string
	}{
		// option forwardfor works (pkg/proxy's differential tests); the
		// header rules it is often paired with are refused.
		{"http-response set-nice", "http-response set-nice", head + `frontend f
    bind 127.0.0.1:8080
    http-response set-nice 10 <<
    default_backend b
backend b
    server s 127.0.0.1:9
`},
		{"tcp-response-http", "tcp-response", head + `frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    tcp-response content accept if TRUE <<
    server s1 127.0.0.1:9
`},
		{"check-via-socks4", "check-via-socks4", head + `frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    server s 127.0.0.1:9 check check-via-socks4 <<
`},
		// HTTP health checks speak HTTP/2 in clear text, not over TLS.
		{"check-proto fcgi", "check-proto fcgi", head + `frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    option httpchk
    server s 127.0.0.1:9 check check-proto fcgi <<
`},
		{"HTTP checks over HTTP/2 with TLS", "HTTP health checks over HTTP/2 with TLS", head + `frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    option httpchk
    server s 127.0.0.1:9 proto h2 check check-ssl verify none <<
`},
		// send-proxy-v2 works; the TLVs naming OpenSSL's certificate
		// algorithms are not sent yet.
		{"proxy-v2-options cert-sig", "proxy-v2-options cert-sig", head + `frontend f
    bind 127.0.0.1:8080 accept-proxy
    default_backend b
backend b
    server s 127.0.0.1:9 send-proxy-v2 proxy-v2-options crc32c,cert-sig <<
`},
		{"stats socket accept-proxy", "accept-proxy", `global
    stats socket 127.0.0.1:9999 accept-proxy level admin <<
` + head + `frontend f
    bind 127.0.0.1:8080 accept-proxy
    default_backend b
backend b
    server s 127.0.0.1:9
`},
		// The CLI is served in plaintext only: a stats socket asking
		// for TLS must not be served unencrypted.
		{"stats socket ssl", "'ssl'", `global
    stats socket 127.0.0.1:9999 ssl crt site.pem level admin <<
` + head + `frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    server s 127.0.0.1:9
`},
		{"on-marked-down", "on-marked-down", head + `frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    server s 127.0.0.1:9 check on-marked-down shutdown-sessions <<
`},
		// From public configurations tried as a new user would (issue 10's
		// audit, integration/AUDIT-10.md): closing with an RST instead of
		// a FIN is on the wire. (`option tcpka`, refused here once, now
		// works: TestIntegrationTCPKeepAliveLikeHaproxy.)
		{"option nolinger", "option nolinger", head + `    timeout tunnel 2h
    option nolinger <<
frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
    server s 127.0.0.1:9
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCert(t, dir)
			line := 0
			var text []string
			for i, l := range strings.Split(tc.cfg, "\n") {
				if strings.HasSuffix(l, " <<") {
					line = i + 1
					l = strings.TrimSuffix(l, " <<")
				}
				text = append(text, l)
			}
			if line == 0 {
				t.Fatal("no line marked <<")
			}
			writeFile(t, dir, "haproxy.cfg", strings.Join(text, "\n"))
			ref := run(t, dir, haproxyBin, "-c", "-f", "haproxy.cfg")
			if ref.code != 0 || !strings.Contains(ref.stdout, "Configuration file is valid") {
				t.Fatalf("haproxy 2.6 refuses the test configuration (exit %d):\n%s", ref.code, ref.stderr)
			}
			got := run(t, dir, gproxyBin, "-c", "-f", "haproxy.cfg")
			if got.code == 0 || strings.Contains(got.stdout, "Configuration file is valid") {
				t.Fatalf("gproxy -c accepts a configuration using %q (exit %d):\n%s%s", tc.keyword, got.code, got.stdout, got.stderr)
			}
			loc := fmt.Sprintf("haproxy.cfg:%d]", line)
			found := false
			for _, l := range got.lines {
				if strings.HasPrefix(l, "[ALERT]") && strings.Contains(l, loc) && strings.Contains(l, tc.keyword) &&
					strings.Contains(l, "not implemented by gproxy") {
					found = true
				}
			}
			if !found {
				t.Errorf("no [ALERT] naming %s and %q with \"not implemented by gproxy\":\n%s", loc, tc.keyword, got.stderr)
			}
		})
	}
}

// TestShippedConfigs: the configurations the project ships pass
// `gproxy -c` without an alert: the seed's (which haproxy 2.6 refuses for
// its pre-2.1 spellings), Debian's default haproxy.cfg (errorfile lines,
// ssl-default-* globals: warnings only) and the package's own; haproxy
// 2.6 accepts the last two as well.
func TestShippedConfigs(t *testing.T) {
	needHaproxy(t)
	for _, c := range []struct {
		path       string
		haproxyToo bool
	}{
		{"../../conf/haproxy.cfg", false},
		{"../../conf/debian-haproxy.cfg", true},
		{"../../packaging/gproxy/haproxy.cfg", true},
	} {
		t.Run(filepath.Base(filepath.Dir(c.path))+"/"+filepath.Base(c.path), func(t *testing.T) {
			abs, err := filepath.Abs(c.path)
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, ".", gproxyBin, "-c", "-f", abs)
			if got.code != 0 || !strings.Contains(got.stdout, "Configuration file is valid") || strings.Contains(got.stderr, "[ALERT]") {
				t.Errorf("gproxy -c -f %s: exit %d\n%s%s", c.path, got.code, got.stdout, got.stderr)
			}
			if c.haproxyToo {
				ref := run(t, ".", haproxyBin, "-c", "-f", abs)
				if ref.code != 0 {
					t.Errorf("haproxy -c -f %s: exit %d\n%s", c.path, ref.code, ref.stderr)
				}
			}
		})
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMasterWorkerKeyword: `master-worker` in global starts the master
// and a worker, as -W does (haproxy prints "New worker (PID) forked").
func TestMasterWorkerKeyword(t *testing.T) {
	dir := t.TempDir()
	// Only a UNIX stats socket listens: nothing is bound on the machine's
	// network (a config without any listener does not start, as haproxy).
	writeFile(t, dir, "haproxy.cfg", "global\n    master-worker\n    stats socket "+filepath.Join(dir, "admin.sock")+"\ndefaults\n    timeout connect 1s\n    timeout server 1s\nbackend b\n    server s 127.0.0.1:9\n")
	out := &lockedBuf{}
	cmd := exec.Command(gproxyBin, "-db", "-f", "haproxy.cfg")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	// The master and its worker die with the test, even by timeout.
	haproxytest.StartProc(t, cmd)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "New worker (") {
		if time.Now().After(deadline) {
			t.Fatalf("no worker forked within 10 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
