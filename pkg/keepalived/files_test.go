package keepalived

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"
)

// TestDumpAndPidfileRefuseSymlinks plants symbolic links (and a hard link,
// a FIFO, another user's file) where the SIGUSR1/SIGUSR2 dumps and the pidfile go, as anyone can in
// /tmp: the target must stay untouched and an error be logged; a plain
// path is written.
func TestDumpAndPidfileRefuseSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "shadow")
	if err := os.WriteFile(target, []byte("root:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "keepalived.data")
	if err := os.Symlink(target, data); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	writeDump(zerolog.New(&logs), data, "------< VRRP Topology >------\n")
	if b, _ := os.ReadFile(target); string(b) != "root:secret\n" {
		t.Fatalf("the dump wrote through the symlink: target now %q", b)
	}
	if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), data) {
		t.Errorf("no error logged for the planted symlink: %s", logs.String())
	}

	pidfile := filepath.Join(dir, "keepalived.pid")
	if err := os.Symlink(target, pidfile); err != nil {
		t.Fatal(err)
	}
	if err := writePID(pidfile, 1234); err == nil {
		t.Error("writePID followed the planted symlink without an error")
	}
	stats := filepath.Join(dir, "keepalived.stats")
	if err := os.Link(target, stats); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	writeDump(zerolog.New(&logs), stats, "VRRP Instance: VI_1\n")
	if b, _ := os.ReadFile(target); string(b) != "root:secret\n" {
		t.Fatalf("the dump wrote through a hard link: target now %q", b)
	}
	if !strings.Contains(logs.String(), `"level":"error"`) {
		t.Errorf("no error logged for the hard link: %s", logs.String())
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFileNoFollow(fifo, []byte("x"), 0o600); err == nil {
		t.Error("wrote into a FIFO")
	}

	planted := filepath.Join(dir, "planted")
	if err := os.WriteFile(planted, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(planted, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := writeFileNoFollow(planted, []byte("secret"), 0o600); err == nil {
			t.Error("wrote into a file another user planted")
		}
	}

	// A plain path (or a stale file, longer than the new contents) is written.
	plain := filepath.Join(dir, "plain.pid")
	if err := os.WriteFile(plain, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writePID(plain, 42); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "42\n" {
		t.Fatalf("pidfile reads %q, want \"42\\n\"", b)
	}
}
