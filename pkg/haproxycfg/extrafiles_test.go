package haproxycfg

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

// TestLoadExtraFilesMatchesHaproxy: ssl-load-extra-files decides which
// side files are read with a certificate (.ocsp, .issuer, .key, .sctl,
// bundles), and its arguments are checked, as by haproxy 2.6: the same
// alerts from `haproxy -c` and the parser for each setting, on a
// certificate whose .ocsp has no issuer, one whose key is in a .key file,
// and a bundle.
func TestLoadExtraFilesMatchesHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Extra CA")
	a := ca.Issue(t, tlstest.RSA, "a.test", "a.test")
	b := ca.Issue(t, tlstest.ECDSA, "b.test", "b.test")
	w := func(n string, data []byte) { tlstest.Write(t, filepath.Join(dir, n), data) }
	w("ocsp.pem", a.Bundle())
	w("ocsp.pem.ocsp", []byte("an OCSP response without its issuer"))
	w("key.pem", b.CertPEM)
	w("key.pem.key", b.KeyPEM)
	w("bundle.pem.ecdsa", b.Bundle())
	w("sctl.pem", a.Bundle())
	w("sctl.pem.sctl", []byte{0, 9, 0})
	pid := regexp.MustCompile(`\(\d+\)`)
	for _, arg := range []string{"", "all", "none", "ocsp", "ocsp issuer", "key", "bundle", "sctl", "none key", "key all", "bogus"} {
		cfg := "global\n    ssl-load-extra-files " + arg + "\nfrontend f\n"
		for i, c := range []string{"ocsp.pem", "key.pem", "bundle.pem", "sctl.pem"} {
			cfg += "    bind 127.0.0.1:" + string(rune('1'+i)) + " ssl crt " + filepath.Join(dir, c) + "\n"
		}
		path := filepath.Join(dir, "t.cfg")
		w("t.cfg", []byte(cfg))
		out, _ := exec.Command(haproxyBin, "-c", "-f", path).CombinedOutput()
		var want []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "[ALERT]") && !strings.Contains(l, "Error(s) found") && !strings.Contains(l, "Fatal errors") {
				want = append(want, pid.ReplaceAllString(l, "(PID)"))
			}
		}
		_, diags, _ := ParseFiles([]string{path}, ParseOptions{})
		var got []string
		for _, d := range diags {
			if d.Severity == Alert && !strings.Contains(d.Msg, "Error(s) found") {
				got = append(got, pid.ReplaceAllString(d.FormatWithPID(0), "(PID)"))
			}
		}
		if w, g := strings.Join(want, "\n"), strings.Join(got, "\n"); w != g {
			t.Errorf("ssl-load-extra-files %s:\nhaproxy\n%s\ngproxy\n%s", arg, w, g)
		}
	}
}
