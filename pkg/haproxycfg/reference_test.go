package haproxycfg

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// haproxyBin is the reference implementation, installed from Debian
// (haproxy 2.6.12) on the build machines.
const haproxyBin = "/usr/sbin/haproxy"

// TestReferenceMessages runs the real `haproxy -c -f` on every
// testdata/ref_*.cfg and checks that each line of the matching .err file,
// which TestGolden finds in gproxy's diagnostics, is also in haproxy's
// output: the messages are haproxy's, word for word.
func TestReferenceMessages(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	files, err := filepath.Glob("testdata/ref_*.cfg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no reference cases: %v", err)
	}
	pid := regexp.MustCompile(`\(\d+\) :`)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".cfg"), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".cfg") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(haproxyBin, "-c", "-f", name)
			cmd.Dir = "testdata"
			out, _ := cmd.CombinedOutput() // exit status 1 expected
			got := pid.ReplaceAllString(string(out), "(1) :")
			for _, w := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if w = strings.TrimSpace(w); w == "=valid" {
					if strings.Contains(got, "Fatal errors") {
						t.Errorf("haproxy refuses the configuration:\n%s", got)
					}
					continue
				}
				if absent, ok := strings.CutPrefix(w, "!"); ok {
					if strings.Contains(got, absent) {
						t.Errorf("haproxy prints %q; it printed:\n%s", absent, got)
					}
				} else if w != "" && !strings.Contains(got, w) {
					t.Errorf("haproxy does not print %q; it printed:\n%s", w, got)
				}
			}
		})
	}
}
