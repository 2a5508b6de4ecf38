package notify

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// FIFO is a notify FIFO (notify_fifo, vrrp_notify_fifo): one line per
// state change, as keepalived's vrrp_notify.c notify_fifo writes it.
type FIFO struct {
	Path    string
	mu      sync.Mutex
	f       *os.File
	created bool
}

// Line is the FIFO line for ev: `INSTANCE "VI_1" MASTER 100` or
// `GROUP "G1" BACKUP 0`, newline-terminated.
func Line(ev Event) string {
	kind, prio := "INSTANCE", ev.Priority
	if ev.Group {
		kind, prio = "GROUP", 0
	}
	return fmt.Sprintf("%s \"%s\" %s %d\n", kind, ev.Name, ev.State, prio)
}

// FIFOMode is the mode keepalived 2.2.7 gives a FIFO it makes: 0644
// under its default umask 0177 (lib/utils.c umask_val), so 0600.
const FIFOMode = 0o644 &^ 0o177

// CreateFIFO makes the FIFO as keepalived's fifo_open does: mkfifo with
// FIFOMode (an existing one is used as it is), owned by uid:gid when
// they differ from ours (-1 = keep). created says whether it was made
// here.
func CreateFIFO(path string, uid, gid int) (created bool, err error) {
	if err := unix.Mkfifo(path, FIFOMode); err != nil {
		if errors.Is(err, syscall.EEXIST) {
			return false, nil
		}
		return false, err
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Lchown(path, uid, gid); err != nil {
			return true, fmt.Errorf("Failed to set uid:gid for fifo %s", path)
		}
	}
	return true, nil
}

// OpenFIFO opens the FIFO for writing without waiting for a reader
// (O_RDWR, non-blocking, no symlink), as keepalived does.
func OpenFIFO(path string, created bool) (*FIFO, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		if created {
			os.Remove(path)
		}
		return nil, err
	}
	return &FIFO{Path: path, f: os.NewFile(uintptr(fd), path), created: created}, nil
}

// Write writes ev's line; a full FIFO (no reader draining it) drops it,
// as keepalived ignores the write's result.
func (f *FIFO) Write(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f != nil {
		_, _ = f.f.Write([]byte(Line(ev)))
	}
}

// Close closes the FIFO; unlink first removes one made here (so that a
// reader reopening it cannot).
func (f *FIFO) Close(unlink bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.created && unlink {
		os.Remove(f.Path)
		f.created = false
	}
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
}
