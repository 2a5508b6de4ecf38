package haproxycfg

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// globalErrorLines are global lines of the environment and set-var
// keywords; haproxy -c and the parser must print the same alerts.
var globalErrorLines = []string{
	"set-var proc.a",
	"set-var txn.a str(x)",
	"set-var proc.a src",
	"set-var proc.a str(x) foo",
	"set-var-fmt proc.a",
	"set-var-fmt proc.a %[src]",
	"set-var foo str(x)",
	"setenv A",
	"setenv A b c d",
	"setenv A=b c",
	"unsetenv",
	"unsetenv A=b",
	"presetenv A=b c",
	"resetenv",
	"resetenv PATH HOME",
}

func TestGlobalEnvMessagesMatchHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	dir := t.TempDir()
	pid := regexp.MustCompile(`\(\d+\) :`)
	for _, line := range globalErrorLines {
		src := "global\n    " + line + "\ndefaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n" +
			"frontend fe\n    bind 127.0.0.1:1\n    default_backend be\nbackend be\n    server s 127.0.0.1:2\n"
		name := filepath.Join(dir, "g.cfg")
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(haproxyBin, "-c", "-f", name).CombinedOutput()
		var want []string
		for _, l := range strings.Split(pid.ReplaceAllString(string(out), "(1) :"), "\n") {
			if (strings.HasPrefix(l, "[ALERT]") || strings.HasPrefix(l, "[WARNING]")) && !strings.Contains(l, "Fatal errors found") {
				want = append(want, l)
			}
		}
		_, diags, _ := ParseFiles([]string{name}, ParseOptions{})
		var got []string
		for _, d := range diags {
			for _, l := range strings.Split(d.FormatWithPID(1), "\n") {
				if strings.HasPrefix(l, "[") {
					got = append(got, l)
				}
			}
		}
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("%q:\nhaproxy:\n%s\ngproxy:\n%s", line, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
}
