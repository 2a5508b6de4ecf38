package notify_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"hapair/pkg/notify"
)

// TestFIFOLines: the Notifier writes keepalived's FIFO lines
// (vrrp_notify.c notify_fifo) for instances and groups, to a FIFO it made
// with mode 0600, readable while the daemon holds it open.
func TestFIFOLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	created, err := notify.CreateFIFO(path, -1, -1)
	if err != nil || !created {
		t.Fatalf("CreateFIFO: %v %v", created, err)
	}
	st, err := os.Lstat(path)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm()&^0o600 != 0 {
		t.Fatalf("FIFO mode %v (%v), want a named pipe, at most 0600", st.Mode(), err)
	}
	f, err := notify.OpenFIFO(path, created)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := &notify.Notifier{}
	n.SetFIFOs([]*notify.FIFO{f})
	n.Notify(notify.Scripts{}, notify.Event{Name: "VI_1", State: notify.Master, Priority: 100})
	n.Notify(notify.Scripts{}, notify.Event{Group: true, Name: "G1", State: notify.Fault, Priority: 7})
	buf := make([]byte, 256)
	k, _ := r.Read(buf)
	want := "INSTANCE \"VI_1\" MASTER 100\nGROUP \"G1\" FAULT 0\n"
	if got := string(buf[:k]); got != want {
		t.Errorf("FIFO got %q, want %q", got, want)
	}
	f.Close(true)
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the FIFO made here is still there after Close(true): %v", err)
	}
}
