package haproxycfg

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParseFilesDirectory: a directory given to -f stands for its *.cfg
// files in name order; other files are skipped; proxies keep file order
// and defaults carry over from one file to the next, as in haproxy.
func TestParseFilesDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "20-web.cfg"), "listen web\n bind :8080\n server s 127.0.0.1:80\n")
	writeFile(t, filepath.Join(dir, "10-base.cfg"), "defaults\n timeout client 7s\n timeout server 7s\n timeout connect 7s\n")
	writeFile(t, filepath.Join(dir, "30-api.cfg"), "backend api\n server s 127.0.0.1:81\n")
	writeFile(t, filepath.Join(dir, "README"), "not a config\n")
	writeFile(t, filepath.Join(dir, "40-old.cfg.bak"), "garbage\n")
	writeFile(t, filepath.Join(dir, "45-twice.cfg.cfg"), "garbage\n") // haproxy skips it too
	writeFile(t, filepath.Join(dir, ".hidden.cfg"), "garbage\n")
	writeFile(t, filepath.Join(dir, "cfg"), "garbage\n")
	if err := os.Mkdir(filepath.Join(dir, "50-sub.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(t.TempDir(), "last.cfg")
	writeFile(t, extra, "frontend fe\n bind :9090\n default_backend api\n")

	cfg, diags, err := ParseFiles([]string{dir, extra}, ParseOptions{LookupEnv: testEnv})
	if err != nil {
		t.Fatalf("ParseFiles: %v %v", err, diags)
	}
	wantFiles := []string{
		filepath.Join(dir, "10-base.cfg"), filepath.Join(dir, "20-web.cfg"),
		filepath.Join(dir, "30-api.cfg"), extra,
	}
	if strings.Join(cfg.Files, " ") != strings.Join(wantFiles, " ") {
		t.Errorf("Files = %v, want %v", cfg.Files, wantFiles)
	}
	var names []string
	for _, px := range cfg.Proxies {
		names = append(names, px.Name)
		if px.Timeouts.Client != 7e9 {
			t.Errorf("%s: timeout client %v, want 7s from 10-base.cfg", px.Name, px.Timeouts.Client)
		}
	}
	if strings.Join(names, ",") != "web,api,fe" {
		t.Errorf("proxies %v, want web,api,fe", names)
	}
	if px := cfg.Proxy("web"); px.Pos.File != filepath.Join(dir, "20-web.cfg") || px.Pos.Line != 1 {
		t.Errorf("web declared at %v", px.Pos)
	}
}

// TestParseFilesErrorNamesFile: a mistake in the second file is reported
// with that file's name and line, and the summary names that file only.
func TestParseFilesErrorNamesFile(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "a.cfg")
	second := filepath.Join(dir, "b.cfg")
	writeFile(t, first, "global\n daemon\n")
	writeFile(t, second, "listen x\n bind :80\n\n wibble 1\n")
	_, diags, err := ParseFiles([]string{first, second}, ParseOptions{})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	var text []string
	for _, d := range diags {
		text = append(text, d.FormatWithPID(42))
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		"[ALERT]    (42) : config : parsing [" + second + ":4] : unknown keyword 'wibble' in 'listen' section",
		"[ALERT]    (42) : config : Error(s) found in configuration file : " + second,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, first) {
		t.Errorf("diagnostics name the clean file %s:\n%s", first, all)
	}
	if !strings.Contains(err.Error(), second+":4") {
		t.Errorf("error %q does not name %s:4", err, second)
	}
}

func TestParseFilesMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.cfg")
	_, diags, err := ParseFiles([]string{missing}, ParseOptions{})
	if !errors.Is(err, ErrInvalid) || len(diags) != 1 {
		t.Fatalf("err %v diags %v", err, diags)
	}
	want := "[ALERT]    (7) : config : Cannot open configuration file/directory " + missing + " : No such file or directory"
	if got := diags[0].FormatWithPID(7); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestProxyIDs: haproxy numbers proxies from 1 in file order, from 2 when
// a stats socket creates its internal proxy first, and skips ids given
// with `id` (measured with `show stat` on haproxy 2.6.12).
func TestProxyIDs(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]int
	}{
		{"plain", "listen a\n bind :1\nbackend c\nlisten d\n bind :2\n", map[string]int{"a": 1, "c": 2, "d": 3}},
		{"stats socket", "global\n stats socket /run/s.sock\nlisten a\n bind :1\nfrontend b\n bind :2\n default_backend c\nbackend c\n",
			map[string]int{"a": 2, "b": 3, "c": 4}},
		{"explicit id", "listen a\n bind :1\n id 2\nbackend b\nbackend c\n id 10\nbackend d\n", map[string]int{"a": 2, "b": 1, "c": 10, "d": 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags, err := Parse("ids.cfg", []byte(tc.src), ParseOptions{})
			if err != nil {
				t.Fatalf("%v %v", err, diags)
			}
			for name, id := range tc.want {
				if got := cfg.Proxy(name).ID; got != id {
					t.Errorf("%s: id %d, want %d", name, got, id)
				}
			}
		})
	}
}

// TestDiagnosticFormat: the exact line shapes haproxy 2.6 prints.
func TestDiagnosticFormat(t *testing.T) {
	pos := Pos{File: "/etc/haproxy/haproxy.cfg", Line: 12}
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{Severity: Alert, Pos: pos, Msg: "unknown keyword 'foo' in 'listen' section"},
			"[ALERT]    (1234) : config : parsing [/etc/haproxy/haproxy.cfg:12] : unknown keyword 'foo' in 'listen' section"},
		{Diagnostic{Severity: Warning, Pos: pos, Style: LocParsingTight, Msg: "'hello'."},
			"[WARNING]  (1234) : config : parsing [/etc/haproxy/haproxy.cfg:12]: 'hello'."},
		{Diagnostic{Severity: Alert, Pos: pos, Style: LocBracket, Msg: "'server b/s' : invalid port '70000'"},
			"[ALERT]    (1234) : config : [/etc/haproxy/haproxy.cfg:12] : 'server b/s' : invalid port '70000'"},
		{Diagnostic{Severity: Alert, Pos: pos, Style: LocParsingCap, Msg: "proxy 'x' has the same name as proxy 'x' declared at a.cfg:1."},
			"[ALERT]    (1234) : config : Parsing [/etc/haproxy/haproxy.cfg:12]: proxy 'x' has the same name as proxy 'x' declared at a.cfg:1."},
		{Diagnostic{Severity: Notice, Style: LocNone, Msg: "n"}, "[NOTICE]   (1234) : config : n"},
		{Diagnostic{Severity: AlertNonFatal, Pos: pos, Msg: "'pidfile' already specified. Continuing."},
			"[ALERT]    (1234) : config : parsing [/etc/haproxy/haproxy.cfg:12] : 'pidfile' already specified. Continuing."},
	}
	for _, tc := range tests {
		if got := tc.d.FormatWithPID(1234); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
		if got := tc.d.String(); !strings.HasSuffix(tc.want, " : "+got) {
			t.Errorf("String() = %q is not the tail of %q", got, tc.want)
		}
	}
}

// TestErrIffAlert: err is non-nil exactly when a diagnostic is an Alert.
func TestErrIffAlert(t *testing.T) {
	for _, src := range []string{
		"", "global\n daemon\n", "global\n tune.bufsize 1\n", "global\n maxconn 1\n maxconn 2\n",
		"global\n wibble\n", "listen x\n bind :99999\n", ".alert \"x\"\n",
	} {
		_, diags, err := Parse("t.cfg", []byte(src), ParseOptions{})
		alert := false
		for _, d := range diags {
			alert = alert || d.Severity == Alert
		}
		if alert != (err != nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%q: alert=%v err=%v", src, alert, err)
		}
	}
}
