package reexec

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPathKeepsTheInvokedName(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "gproxy")
	if err := os.WriteFile(target, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "haproxy")
	if err := os.Symlink("gproxy", link); err != nil {
		t.Fatal(err)
	}
	if got, err := Path(link); err != nil || got != link {
		t.Errorf("Path(%q) = %q, %v; want the link itself", link, got, err)
	}
	t.Setenv("PATH", dir)
	if got, err := Path("haproxy"); err != nil || got != link {
		t.Errorf("Path(haproxy) via PATH = %q, %v; want %q", got, err, link)
	}
	exe, _ := os.Executable()
	if got, err := Path(filepath.Join(dir, "missing")); err != nil || got != exe {
		t.Errorf("Path(missing) = %q, %v; want os.Executable %q", got, err, exe)
	}
}
