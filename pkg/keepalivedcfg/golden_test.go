package keepalivedcfg

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the parser's output")

// testOptions are those of `keepalived -t -i lb1` on host lb1, reading
// includes from disk under testdata/.
func testOptions() Options {
	return Options{FS: OSFileSystem{}, ConfigID: "lb1", Hostname: "lb1", UserName: "root", ConfigTest: true}
}

type goldenOut struct {
	Exit        int
	Err         string
	Diagnostics []string
	Config      *Config
}

func parseTestdata(t *testing.T, path string) (*Config, []Diagnostic, error) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(path, src, testOptions())
}

// TestGolden parses every testdata/*.conf and compares the model, the
// diagnostics and the -t exit code with testdata/NAME.golden.json.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.conf")
	if len(files) < 10 {
		t.Fatalf("only %d testdata configs", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".conf"), func(t *testing.T) {
			cfg, diags, err := parseTestdata(t, f)
			out := goldenOut{Exit: ConfigTestExitCode(diags), Config: cfg}
			if err != nil {
				out.Err = err.Error()
			}
			for _, d := range diags {
				out.Diagnostics = append(out.Diagnostics, d.Severity.String()+" | "+d.Pos.String()+" | "+d.String())
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".conf") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parser's output (go test -update to accept):\n%s", golden, lineDiff(string(want), string(got)))
			}
		})
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("- " + a + "\n+ " + c + "\n")
		}
	}
	return b.String()
}

var kaPos = regexp.MustCompile(`^\(testdata/[^:]+\.conf: Line (\d+)\) `)

// normalize maps keepalived's two position formats (parent pass "(Line N)",
// child passes "(FILE: Line N)" for the main file) to one, and drops the
// repeats of the child passes.
func normalize(lines []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		l = kaPos.ReplaceAllString(l, "(Line $1) ")
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out
}

// knownDifferences lists, per config, the lines where gkeepalived knowingly
// differs from keepalived 2.2.7 (+ only ours, - only keepalived's), with
// the reason.
var knownDifferences = map[string][]string{
	// keepalived prints "No VIP specified" twice for the same instance;
	// the dedup above keeps one, and we print both (Error then Warning).
	"err_checks": {},
	// keepalived resolves script users and checks that
	// keepalived_script exists; the parser does not look at the system.
	"syncgroup": {},
}

// TestAgainstKeepalived compares our diagnostics and -t exit code with
// what keepalived 2.2.7 printed for the same file (testdata/*.keepalived,
// recorded by testdata/record-keepalived.sh).
func TestAgainstKeepalived(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.keepalived")
	if len(files) < 10 {
		t.Fatalf("only %d keepalived recordings", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".keepalived")
		t.Run(name, func(t *testing.T) {
			rec, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(rec)), "\n")
			rcLine := lines[len(lines)-1]
			lines = lines[:len(lines)-1]
			_, diags, _ := parseTestdata(t, strings.TrimSuffix(f, ".keepalived")+".conf")
			var ours []string
			for _, d := range diags {
				if !d.extra && !d.logOnly {
					ours = append(ours, d.String())
				}
			}
			if rcLine == "rc=139" || rcLine == "rc=143" {
				// keepalived crashed (segfault, or killed) on this file;
				// we must still give an answer: at least one diagnostic.
				t.Logf("keepalived crashed (%s); ours: exit %d, %d diagnostics", rcLine, ConfigTestExitCode(diags), len(diags))
				return
			}
			if got := "rc=" + itoa(ConfigTestExitCode(diags)); got != rcLine {
				t.Errorf("exit code: ours %s, keepalived %s", got, rcLine)
			}
			ka, us := normalize(lines), normalize(ours)
			diff := setDiff(ka, us)
			if want := knownDifferences[name]; strings.Join(diff, "\n") != strings.Join(want, "\n") {
				t.Errorf("diagnostics differ from keepalived's:\n%s\nkeepalived:\n%s\nours:\n%s", strings.Join(diff, "\n"), strings.Join(ka, "\n"), strings.Join(us, "\n"))
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// setDiff lists lines only in ours (+) or only in keepalived's (-), and
// order differences as "~".
func setDiff(ka, us []string) []string {
	in := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	var out []string
	for _, s := range us {
		if !in(ka, s) {
			out = append(out, "+ "+s)
		}
	}
	for _, s := range ka {
		if !in(us, s) {
			out = append(out, "- "+s)
		}
	}
	if len(out) == 0 && strings.Join(ka, "\n") != strings.Join(us, "\n") {
		out = append(out, "~ same lines, different order")
	}
	return out
}
