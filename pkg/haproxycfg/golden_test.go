package haproxycfg

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the parser's output")

// testEnv is the fixed environment golden cases see, so results do not
// depend on the machine.
func testEnv(name string) (string, bool) {
	env := map[string]string{
		"LB_ADDR":  "192.168.1.84",
		"WEB_PORT": "80",
		"SERVERS":  "192.168.1.68:80 192.168.1.69:80",
		"EMPTY":    "",
	}
	v, ok := env[name]
	return v, ok
}

// golden is what a .golden file holds: the model and every diagnostic.
type golden struct {
	Diagnostics []string
	Config      *Config
}

// TestGolden parses each testdata/NAME.cfg. With NAME.golden beside it the
// model and diagnostics must match it exactly (regenerate with
// `go test -run TestGolden -update`); with NAME.err the parse must fail
// (unless the file has a line "=valid") and every line of the .err file
// must appear in the diagnostics, except lines "!text": text must not.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.cfg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".cfg")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, diags, perr := Parse(name+".cfg", src, ParseOptions{LookupEnv: testEnv})
			var lines []string
			for _, d := range diags {
				lines = append(lines, d.FormatWithPID(1))
			}
			errFile := strings.TrimSuffix(f, ".cfg") + ".err"
			if want, err := os.ReadFile(errFile); err == nil {
				valid := strings.Contains(string(want), "\n=valid\n") || strings.HasPrefix(string(want), "=valid\n")
				switch {
				case valid && perr != nil:
					t.Fatalf("parse failed (%v), want a valid configuration; diagnostics:\n%s", perr, strings.Join(lines, "\n"))
				case !valid && (perr == nil || !errors.Is(perr, ErrInvalid)):
					t.Fatalf("parse succeeded, want errors; diagnostics:\n%s", strings.Join(lines, "\n"))
				}
				all := strings.Join(lines, "\n")
				for _, w := range strings.Split(strings.TrimSpace(string(want)), "\n") {
					if w = strings.TrimSpace(w); w == "=valid" {
						continue
					}
					if absent, ok := strings.CutPrefix(w, "!"); ok {
						if strings.Contains(all, absent) {
							t.Errorf("unexpected diagnostic %q; got:\n%s", absent, all)
						}
					} else if w != "" && !strings.Contains(all, w) {
						t.Errorf("missing diagnostic %q; got:\n%s", w, all)
					}
				}
				return
			}
			if perr != nil {
				t.Fatalf("unexpected error %v; diagnostics:\n%s", perr, strings.Join(lines, "\n"))
			}
			got, err := json.MarshalIndent(golden{Diagnostics: lines, Config: cfg}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			gf := strings.TrimSuffix(f, ".cfg") + ".golden"
			if *update {
				if err := os.WriteFile(gf, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("no %s (run with -update): %v", gf, err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from the parse; got:\n%s", gf, got)
			}
		})
	}
}
