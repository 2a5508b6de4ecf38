package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
)

// runOpenSSL runs the openssl command in dir, failing the test on error.
func runOpenSSL(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ocspLab makes, with openssl's own commands, a CA, certificates for
// site.test and other.test, and OCSP responses: good and revoked ones for
// site.test, one for other.test.
func ocspLab(t *testing.T, dir string) {
	run := func(args ...string) { runOpenSSL(t, dir, args...) }
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=OCSP Test CA", "-days", "10")
	for _, n := range []string{"site", "other"} {
		run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", n+".key", "-out", n+".csr", "-subj", "/CN="+n+".test")
		run("x509", "-req", "-in", n+".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", n+".crt", "-days", "10")
	}
	serial := func(n string) string {
		out, err := exec.Command("openssl", "x509", "-in", filepath.Join(dir, n+".crt"), "-noout", "-serial").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(strings.TrimPrefix(string(out), "serial="))
	}
	exp := time.Now().Add(240 * time.Hour).UTC().Format("060102150405Z")
	rev := time.Now().Add(-time.Hour).UTC().Format("060102150405Z")
	for name, line := range map[string]string{
		"good":    fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=site.test\n", exp, serial("site")),
		"revoked": fmt.Sprintf("R\t%s\t%s\t%s\tunknown\t/CN=site.test\n", exp, rev, serial("site")),
		"other":   fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=other.test\n", exp, serial("other")),
	} {
		cert := "site.crt"
		if name == "other" {
			cert = "other.crt"
		}
		if err := os.WriteFile(filepath.Join(dir, name+".index"), []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		run("ocsp", "-issuer", "ca.pem", "-cert", cert, "-no_nonce", "-reqout", name+".req")
		run("ocsp", "-index", name+".index", "-rsigner", "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem", "-reqin", name+".req",
			"-respout", name+".ocsp", "-ndays", "5")
	}
}

// TestIntegrationTLSOCSPHaproxy: FILE.ocsp (with the issuer from the
// chain or FILE.issuer) is stapled as by haproxy 2.6, a response for
// another certificate or an unreadable one is a warning and not stapled,
// one without an issuer is an alert; FILE.sctl's SCTs are sent. Seen by
// openssl s_client -status and by Go's client (which asks for both).
func TestIntegrationTLSOCSPHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command: %v", err)
	}
	dir := t.TempDir()
	ocspLab(t, dir)
	read := func(n string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	site := append(read("site.crt"), read("site.key")...)
	// Two SCTs (their content is opaque to both proxies).
	sct := func(b []byte) []byte { return binary.BigEndian.AppendUint16(nil, uint16(len(b))) }
	s1, s2 := []byte("\x00first sct"), []byte("\x00second, longer sct")
	list := append(append(sct(s1), s1...), append(sct(s2), s2...)...)
	sctl := append(sct(list), list...)
	// One directory per case: its site.pem and side files.
	cases := map[string]map[string][]byte{
		"issuer file":  {"site.pem": site, "site.pem.ocsp": read("good.ocsp"), "site.pem.issuer": read("ca.pem")},
		"issuer chain": {"site.pem": append(append(read("site.crt"), read("ca.pem")...), read("site.key")...), "site.pem.ocsp": read("good.ocsp")},
		// haproxy keeps one response per certificate ID, process-wide:
		// the last valid one loaded (issuer_file's) is stapled by every
		// bind of site.pem with a .ocsp file, this one's included.
		"1 revoked":  {"site.pem": site, "site.pem.ocsp": read("revoked.ocsp"), "site.pem.issuer": read("ca.pem")},
		"other site": {"site.pem": append(read("other.crt"), read("other.key")...), "site.pem.ocsp": read("other.ocsp"), "site.pem.issuer": read("ca.pem")},
		"other cert": {"site.pem": site, "site.pem.ocsp": read("other.ocsp"), "site.pem.issuer": read("ca.pem")},
		"garbage":    {"site.pem": site, "site.pem.ocsp": []byte("not an OCSP response"), "site.pem.issuer": read("ca.pem")},
		"sctl":       {"site.pem": site, "site.pem.sctl": sctl},
		"no ocsp":    {"site.pem": site},
	}
	var names []string
	var binds strings.Builder
	var order []string
	for name := range cases {
		order = append(order, name)
	}
	sort.Strings(order) // the load order decides which response is kept
	for _, name := range order {
		files := cases[name]
		sub := strings.ReplaceAll(name, " ", "_")
		names = append(names, sub)
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
		for f, b := range files {
			if err := os.WriteFile(filepath.Join(dir, sub, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&binds, "frontend %s\n    bind 127.0.0.1:{%s} ssl crt %s\n    http-request return status 200\n", sub, sub, filepath.Join(dir, sub, "site.pem"))
	}
	fill := func(ports map[string]int) string {
		s := "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n" + binds.String()
		for k, p := range ports {
			s = strings.ReplaceAll(s, "{"+k+"}", fmt.Sprint(p))
		}
		return s
	}
	// What haproxy -c and gproxy's parser say of the OCSP files.
	check := func(ref bool, cfg string) string {
		p := filepath.Join(dir, "check.cfg")
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		var lines []string
		if ref {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			out, _ := exec.CommandContext(ctx, haproxytest.Bin, "-c", "-f", p).CombinedOutput()
			lines = strings.Split(string(out), "\n")
		} else {
			_, diags, _ := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
			for _, d := range diags {
				lines = append(lines, d.FormatWithPID(0))
			}
		}
		var keep []string
		for _, l := range lines {
			if strings.Contains(l, "OCSP") || strings.Contains(l, ".sctl") {
				keep = append(keep, pidRE.ReplaceAllString(l, "(PID)"))
			}
		}
		sort.Strings(keep)
		return strings.Join(keep, "\n")
	}
	dummy := map[string]int{}
	for _, n := range names {
		dummy[n] = 1
	}
	if w, g := check(true, fill(dummy)), check(false, fill(dummy)); w != g || strings.Count(w, "Content will be ignored") != 2 {
		t.Errorf("-c: haproxy\n%s\ngproxy\n%s", w, g)
	}
	// Without an issuer: refused by both, with the same message.
	noIssuer := filepath.Join(dir, "no_issuer")
	os.Mkdir(noIssuer, 0o700)
	os.WriteFile(filepath.Join(noIssuer, "site.pem"), site, 0o600)
	os.WriteFile(filepath.Join(noIssuer, "site.pem.ocsp"), read("good.ocsp"), 0o600)
	cfg := fmt.Sprintf("frontend f\n    bind 127.0.0.1:1 ssl crt %s\n", filepath.Join(noIssuer, "site.pem"))
	if w, g := check(true, cfg), check(false, cfg); w != g || !strings.Contains(w, "impossible to compute the OCSP certificate ID") {
		t.Errorf("no issuer: haproxy\n%s\ngproxy\n%s", w, g)
	}
	// A FILE.sctl whose lengths do not add up: refused by both.
	badSCT := filepath.Join(dir, "bad_sctl")
	os.Mkdir(badSCT, 0o700)
	os.WriteFile(filepath.Join(badSCT, "site.pem"), site, 0o600)
	os.WriteFile(filepath.Join(badSCT, "site.pem.sctl"), []byte{0, 5, 0, 9, 'a', 'b'}, 0o600)
	cfg = fmt.Sprintf("frontend f\n    bind 127.0.0.1:1 ssl crt %s\n", filepath.Join(badSCT, "site.pem"))
	if w, g := check(true, cfg), check(false, cfg); w != g || !strings.Contains(w, "cannot be read or parsed") {
		t.Errorf("bad .sctl: haproxy\n%s\ngproxy\n%s", w, g)
	}

	hp, gp := startPair(t, dir, names, fill)
	good, revoked, other := sha256.Sum256(read("good.ocsp")), sha256.Sum256(read("revoked.ocsp")), sha256.Sum256(read("other.ocsp"))
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, n := range names {
			addr := fmt.Sprintf("127.0.0.1:%d", ports[n])
			for _, v := range []string{"-tls1_2", "-tls1_3"} {
				o[n+" s_client "+v] = sClientStatus(addr, v)
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", addr, &tls.Config{InsecureSkipVerify: true,
					MaxVersion: map[string]uint16{"-tls1_2": tls.VersionTLS12, "-tls1_3": tls.VersionTLS13}[v]})
				if err != nil {
					o[n+" go "+v] = err.Error()
					continue
				}
				st := c.ConnectionState()
				c.Close()
				staple := "none"
				switch sha256.Sum256(st.OCSPResponse) {
				case good:
					staple = "good.ocsp"
				case revoked:
					staple = "revoked.ocsp"
				case other:
					staple = "other.ocsp"
				}
				if len(st.OCSPResponse) > 0 && staple == "none" {
					staple = fmt.Sprintf("%d other bytes", len(st.OCSPResponse))
				}
				o[n+" go "+v] = fmt.Sprintf("staple %s, %d SCTs %q", staple, len(st.SignedCertificateTimestamps), st.SignedCertificateTimestamps)
			}
		}
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "case/client", want, got, haproxytest.Equal, map[string]string{
		"issuer_file s_client -tls1_2":  "good",
		"issuer_chain s_client -tls1_3": "good",
		"1_revoked s_client -tls1_2":    "good",
		"other_cert go -tls1_2":         `staple good.ocsp, 0 SCTs []`,
		"garbage go -tls1_3":            `staple good.ocsp, 0 SCTs []`,
		"other_site go -tls1_3":         `staple other.ocsp, 0 SCTs []`,
		"no_ocsp s_client -tls1_2":      "no response sent",
		"no_ocsp go -tls1_2":            `staple none, 0 SCTs []`,
		"sctl go -tls1_3":               `staple none, 0 SCTs []`,
		"sctl go -tls1_2":               `staple none, 2 SCTs ["\x00first sct" "\x00second, longer sct"]`,
	})
}

var pidRE = regexp.MustCompile(`\(\d+\)`)

// sClientStatus is what openssl s_client -status says of the stapled
// OCSP response: its certificate status, or "no response sent".
func sClientStatus(addr, version string) string {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", addr, "-status", version)
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	s := string(out)
	switch {
	case strings.Contains(s, "OCSP response: no response sent"):
		return "no response sent"
	case strings.Contains(s, "Cert Status: good"):
		return "good"
	case strings.Contains(s, "Cert Status: revoked"):
		return "revoked"
	}
	return "no answer"
}
