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

// undefinedEnvLines are frontend lines naming environment variables that
// are not set: haproxy 2.6 expands them to nothing without a word (no
// warning, measured on 2.6.12), so the messages of -c, if any, come from
// what is left of the line.
var undefinedEnvLines = []string{
	`bind "127.0.0.1:1${HAPAIR_UNSET_A}8"`,
	`bind "127.0.0.1:${HAPAIR_UNSET_A}"`,
	`bind "fd@${HAPAIR_UNSET_A}"`,
	`bind 127.0.0.1:1${HAPAIR_UNSET_A}9`,
	`http-request set-header X-A "${HAPAIR_UNSET_A}x"`,
	`http-request set-header X-A ${HAPAIR_UNSET_A}`,
	`http-request set-header X-A "${HAPAIR_UNSET_A}"`,
	`http-request set-header ${HAPAIR_UNSET_A} x`,
	`http-request deny if { path ${HAPAIR_UNSET_A} }`,
	`http-request deny if { path "${HAPAIR_UNSET_A}" }`,
	`acl a path "${HAPAIR_UNSET_A}" /x`,
	`${HAPAIR_UNSET_A} http-request deny`,
	`http-request set-header X-A '${HAPAIR_UNSET_A}'`,
	`http-request set-header X-A "${HAPAIR_UNSET_A-dflt}"`,
	`http-request set-header X-A "${HAPAIR_UNSET_A[*]}"`,
	`timeout client ${HAPAIR_UNSET_A}5s`,
}

func TestUndefinedEnvMatchesHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	if _, ok := os.LookupEnv("HAPAIR_UNSET_A"); ok {
		t.Fatal("HAPAIR_UNSET_A is set in this environment")
	}
	dir := t.TempDir()
	pid := regexp.MustCompile(`\(\d+\) :`)
	for _, line := range undefinedEnvLines {
		src := "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n" +
			"frontend fe\n    bind 127.0.0.1:1\n    " + line + "\n    default_backend be\nbackend be\n    server s 127.0.0.1:2\n"
		name := filepath.Join(dir, "e.cfg")
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(haproxyBin, "-c", "-f", name).CombinedOutput()
		var want []string
		for _, l := range strings.Split(pid.ReplaceAllString(string(out), "(1) :"), "\n") {
			if (strings.HasPrefix(l, "[ALERT]") || strings.HasPrefix(l, "[WARNING]")) && !strings.Contains(l, "Fatal errors found") {
				want = append(want, l)
			}
		}
		_, diags, perr := ParseFiles([]string{name}, ParseOptions{})
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
		if (err == nil) != (perr == nil) {
			t.Errorf("%q: haproxy -c: %v, gproxy: %v", line, err, perr)
		}
	}
}
