package keepalived

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"
)

// TestDumpAndPidfileNeverWriteThroughPlantedFiles plants, where the
// SIGUSR1/SIGUSR2 dumps and the pidfiles go (anyone can in /tmp), a
// symbolic link to a secret file, a hard link to it, a FIFO and another
// user's file. The secret must stay untouched, an error naming what was
// there be logged, and the dump or pid land in a new file of ours (as
// keepalived 2.2.7 replaces a symlink planted at /tmp/keepalived.data).
// Before, the dumps and pidfiles were written through the links.
func TestDumpAndPidfileNeverWriteThroughPlantedFiles(t *testing.T) {
	dir := t.TempDir()
	const secret = "root:secret\n"
	target := filepath.Join(dir, "shadow")
	if err := os.WriteFile(target, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	plant := map[string]func(path string) error{
		"symlink":  func(p string) error { return os.Symlink(target, p) },
		"hardlink": func(p string) error { return os.Link(target, p) },
		"fifo":     func(p string) error { return syscall.Mkfifo(p, 0o666) },
		"foreign": func(p string) error {
			if err := os.WriteFile(p, nil, 0o666); err != nil {
				return err
			}
			return os.Chown(p, 65534, 65534)
		},
	}
	for name, f := range plant {
		for _, kind := range []string{"dump", "pidfile"} {
			t.Run(name+"/"+kind, func(t *testing.T) {
				if name == "foreign" && os.Geteuid() != 0 {
					t.Fatal("needs root to give a file to another user")
				}
				path := filepath.Join(dir, name+"-"+kind)
				if err := f(path); err != nil {
					t.Fatal(err)
				}
				var logs strings.Builder
				log := zerolog.New(&logs)
				want := "------< VRRP Topology >------\n"
				if kind == "dump" {
					writeDump(log, path, want)
				} else {
					want = "1234\n"
					if err := writePID(log, path, 1234); err != nil {
						t.Fatal(err)
					}
				}
				if b, _ := os.ReadFile(target); string(b) != secret {
					t.Fatalf("written through the planted %s: the target now reads %q", name, b)
				}
				if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), path) {
					t.Errorf("no error logged for the planted %s: %s", name, logs.String())
				}
				var st syscall.Stat_t
				if err := syscall.Lstat(path, &st); err != nil {
					t.Fatal(err)
				}
				if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink != 1 || int(st.Uid) != os.Geteuid() {
					t.Fatalf("%s is not a new regular file of ours: mode %o, %d links, uid %d", path, st.Mode, st.Nlink, st.Uid)
				}
				if b, _ := os.ReadFile(path); string(b) != want {
					t.Errorf("%s reads %q, want %q", path, b, want)
				}
			})
		}
	}

	// A plain stale pidfile of ours, longer than the new contents, is
	// rewritten quietly.
	plain := filepath.Join(dir, "plain.pid")
	if err := os.WriteFile(plain, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	if err := writePID(zerolog.New(&logs), plain, 42); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "42\n" || logs.Len() != 0 {
		t.Fatalf("pidfile reads %q (logs %q), want \"42\\n\" and nothing logged", b, logs.String())
	}
}
