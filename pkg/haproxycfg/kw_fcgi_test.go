package haproxycfg

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFCGIAppMessagesMatchHaproxy: fcgi-app sections, valid and not,
// give haproxy 2.6.12's alerts and warnings (or none); a valid one is
// accepted (and never served: use-fcgi-app stays refused).
func TestFCGIAppMessagesMatchHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	const head = "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\nfrontend fe\n bind 127.0.0.1:1\n"
	cases := []struct {
		src   string
		valid bool
	}{
		{"fcgi-app php\n docroot /var/www\n index index.php\n", true},
		{"fcgi-app php\n docroot /var/www\nfcgi-app other\n docroot /srv\n docroot /srv2\n", true},
		{"fcgi-app php\n index index.php\n", false},
		{"fcgi-app a\n docroot /x\nfcgi-app b\nfcgi-app c\n", false},
		{"fcgi-app x\n docroot\n docroot /a /b\n bogus 1\n", false},
		{"fcgi-app\n", false},
		// (A keyword after a bad header crashes haproxy 2.6.12, SIGSEGV;
		// gproxy skips it.)
		{"fcgi-app y z\n", false},
		{"fcgi-app a$b\n", false},
		{"fcgi-app x\n docroot /a\nfcgi-app x\n docroot /d\n", false},
		{"fcgi-app w\n index\n index a b\n docroot /a\n", false},
	}
	dir := t.TempDir()
	pid := regexp.MustCompile(`\(\d+\) :`)
	for i, c := range cases {
		name := filepath.Join(dir, "f.cfg")
		if err := os.WriteFile(name, []byte(head+c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		out, rerr := exec.Command(haproxyBin, "-c", "-f", name).CombinedOutput()
		var want []string
		for _, l := range strings.Split(pid.ReplaceAllString(string(out), "(1) :"), "\n") {
			if (strings.HasPrefix(l, "[ALERT]") || strings.HasPrefix(l, "[WARNING]")) && !strings.Contains(l, "Fatal errors found") {
				want = append(want, l)
			}
		}
		if (rerr == nil) != c.valid {
			t.Fatalf("%d: haproxy -c: %v, want valid=%v:\n%s", i, rerr, c.valid, out)
		}
		_, diags, err := ParseFiles([]string{name}, ParseOptions{})
		var got []string
		for _, d := range diags {
			if l := d.FormatWithPID(1); !strings.Contains(l, "Fatal errors found") {
				got = append(got, l)
			}
		}
		if (err == nil) != c.valid {
			t.Errorf("%d: parse error %v, want valid=%v", i, err, c.valid)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%d %q:\ngproxy:\n%s\nhaproxy:\n%s", i, c.src, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// The keywords not checked are refused, and so is using the section.
	for _, src := range []string{"fcgi-app php\n docroot /a\n path-info ^(/.+\\.php)(/.*)?$\n",
		"fcgi-app php\n docroot /a\nbackend b\n use-fcgi-app php\n server s 127.0.0.1:9000 proto fcgi\n"} {
		_, diags, err := Parse("f.cfg", []byte(head+src), ParseOptions{})
		var all []string
		for _, d := range diags {
			all = append(all, d.FormatWithPID(1))
		}
		if err == nil || !strings.Contains(strings.Join(all, "\n"), "not implemented by gproxy") {
			t.Errorf("%q: want a refusal, got %v:\n%s", src, err, strings.Join(all, "\n"))
		}
	}
}
