package track

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationScriptSecurity: a script run as root whose file or a
// directory above it a non-root user could change is refused under
// enable_script_security with keepalived's log line, and only flagged
// without it (keepalived/lib/notify.c check_security).
func TestIntegrationScriptSecurity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (chown, scripts run as root): run as root (CI does)")
	}
	base := t.TempDir()
	mk := func(dir string, mode os.FileMode, uid, gid int) string {
		p := filepath.Join(base, dir)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		script := filepath.Join(p, "chk.sh")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return script
	}
	tests := []struct {
		name   string
		script string
		unsafe bool
	}{
		{"root dir 0755", mk("safe", 0o755, 0, 0), false},
		{"world-writable dir", mk("world", 0o777, 0, 0), true},
		{"sticky world-writable dir", mk("sticky", os.ModeSticky|0o777, 0, 0), false},
		{"group-writable dir, group root", mk("grproot", 0o775, 0, 0), false},
		{"group-writable dir, other group", mk("grpother", 0o775, 0, 1), true},
		{"dir owned by another user", mk("owned", 0o755, 1, 0), true},
	}
	// A file itself writable by others, in a safe directory.
	wfile := mk("wfile", 0o755, 0, 0)
	if err := os.Chmod(wfile, 0o757); err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		name   string
		script string
		unsafe bool
	}{"world-writable file", wfile, true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, security := range []bool{true, false} {
				buf, log := msgLogger()
				cmd, err := PrepareArgs([]string{tc.script}, Options{User: "root", ScriptSecurity: security}, log)
				msg := "Unsafe permissions found for script '" + tc.script + "'"
				if security {
					msg += " - disabling."
				} else {
					msg += "."
				}
				if !tc.unsafe {
					if err != nil || cmd.Insecure || strings.Contains(buf.String(), "Unsafe") {
						t.Fatalf("security %v: safe script refused or flagged: %v %+v %s", security, err, cmd, buf.String())
					}
					continue
				}
				if !strings.Contains(buf.String(), msg) {
					t.Errorf("security %v: log lacks %q:\n%s", security, msg, buf.String())
				}
				if security && !errors.Is(err, ErrInsecure) {
					t.Errorf("with enable_script_security: error %v, want ErrInsecure", err)
				}
				if !security && (err != nil || !cmd.Insecure) {
					t.Errorf("without enable_script_security: %v, Insecure %v; want it prepared and flagged", err, cmd.Insecure)
				}
			}
		})
	}
	// A script run as another user is not checked (keepalived checks only
	// what runs as root).
	buf, log := msgLogger()
	if _, err := PrepareArgs([]string{tests[1].script}, Options{User: "nobody", ScriptSecurity: true}, log); errors.Is(err, ErrInsecure) || strings.Contains(buf.String(), "Unsafe") {
		t.Errorf("script run as nobody checked: %v %s", err, buf.String())
	}
}
