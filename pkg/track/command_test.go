package track

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func msgLogger() (*bytes.Buffer, zerolog.Logger) {
	var b bytes.Buffer
	return &b, zerolog.New(zerolog.ConsoleWriter{Out: &b, NoColor: true, PartsOrder: []string{zerolog.MessageFieldName}})
}

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shebang := write("with-shebang", "#!/bin/sh\nexit 0\n", 0o755)
	bare := write("no-shebang", "exit 0\n", 0o755)
	noexec := write("not-executable", "#!/bin/sh\n", 0o644)
	// A link elsewhere resolves to its target; one whose name also exists
	// beside the target as the same file keeps its name (keepalived keeps
	// the name a program was called by).
	dir2 := t.TempDir()
	if err := os.Symlink(shebang, filepath.Join(dir2, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shebang, filepath.Join(dir, "alias")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "alias"), filepath.Join(dir2, "alias")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		line    string
		path    string
		args    []string
		shell   bool
		err     error
		logWant string
	}{
		{line: "killall -0 haproxy", path: "/usr/local/bin:/usr/bin:/bin",
			args:    []string{"/usr/bin/killall", "-0", "haproxy"},
			logWant: "WARNING - script `killall` resolved by path search to `/usr/bin/killall`. Please specify full path."},
		{line: shebang + " a 'b c'", args: []string{shebang, "a", "b c"}},
		{line: "with-shebang x", path: dir, args: []string{shebang, "x"},
			logWant: "resolved by path search to `" + shebang + "`"},
		{line: filepath.Join(dir2, "elsewhere"), args: []string{shebang}},
		{line: filepath.Join(dir2, "alias"), args: []string{filepath.Join(dir, "alias")}},
		{line: bare, args: []string{bare}, shell: true},
		{line: "</etc/hostname", args: []string{"</etc/hostname"}, shell: true},
		{line: "no-such-check-xyz", path: "/usr/bin:/bin", err: ErrNotFound,
			logWant: "Cannot find script no-such-check-xyz in path - disabling"},
		{line: filepath.Join(dir, "missing"), err: ErrNotFound, logWant: "cannot be accessed - No such file or directory"},
		{line: noexec, err: ErrNotFound, logWant: "is not executable for uid:gid"},
		{line: `"unterminated`, err: ErrSyntax},
	} {
		t.Run(tc.line, func(t *testing.T) {
			lb, log := msgLogger()
			c, err := Prepare(tc.line, Options{Path: tc.path}, log)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				if strings.Join(c.Args, "|") != strings.Join(tc.args, "|") || c.Shell != tc.shell {
					t.Errorf("got %q shell=%v, want %q shell=%v", c.Args, c.Shell, tc.args, tc.shell)
				}
			}
			if !strings.Contains(lb.String(), tc.logWant) {
				t.Errorf("log %q lacks %q", lb.String(), tc.logWant)
			}
		})
	}
}

func TestPrepareUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	_, log := msgLogger()
	c, err := Prepare("/bin/true", Options{User: "nobody"}, log)
	if err != nil {
		t.Fatal(err)
	}
	if c.Credential == nil || c.Credential.Uid != 65534 || len(c.Credential.Groups) != 1 {
		t.Errorf("credential %+v, want nobody's uid with one group", c.Credential)
	}
	if _, err := Prepare("/bin/true", Options{User: "no-such-user-xyz"}, log); !errors.Is(err, ErrUser) {
		t.Errorf("unknown user: %v, want ErrUser", err)
	}
	if _, err := Prepare("/bin/true", Options{User: "nobody", Group: "no-such-group-xyz"}, log); !errors.Is(err, ErrUser) {
		t.Errorf("unknown group: %v, want ErrUser", err)
	}
	// No user, no keepalived_script account here: root, as keepalived
	// without enable_script_security; an error with it.
	if _, err := os.Stat("/etc/passwd"); err == nil && !strings.Contains(readFile(t, "/etc/passwd"), DefaultScriptUser+":") {
		c, err := Prepare("/bin/true", Options{}, log)
		if err != nil || c.Credential == nil || c.Credential.Uid != 0 {
			t.Errorf("default user: %+v, %v; want root", c.Credential, err)
		}
		if _, err := Prepare("/bin/true", Options{ScriptSecurity: true}, log); !errors.Is(err, ErrUser) {
			t.Errorf("script security without %s: %v, want ErrUser", DefaultScriptUser, err)
		}
		// One config load, two scripts: keepalived says it once.
		lb, log := msgLogger()
		d := &DefaultUser{}
		for _, line := range []string{"/bin/true", "/bin/false"} {
			if _, err := Prepare(line, Options{Default: d}, log); err != nil {
				t.Fatal(err)
			}
		}
		if got := strings.Count(lb.String(), "Script user 'keepalived_script' does not exist"); got != 1 {
			t.Errorf("default user warning logged %d times, want 1:\n%s", got, lb.String())
		}
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
