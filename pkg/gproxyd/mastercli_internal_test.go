package gproxyd

import (
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/runtimeapi"
)

// TestWorkerCLIChannel: the master reaches a worker's CLI through the
// control socket pair at the session's level; malformed requests on it
// are dropped without ending the worker's loop.
func TestWorkerCLIChannel(t *testing.T) {
	ctl, theirs, err := workerCLIPair()
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	fc, err := net.FileConn(theirs)
	theirs.Close()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		serveMasterCLI(fc.(*net.UnixConn), &runtimeapi.Commands{}, time.Second, zerolog.Nop())
		close(done)
	}()

	// Malformed: no descriptor; two descriptors; a level out of range.
	if _, _, err := ctl.WriteMsgUnix([]byte{2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, _, err := ctl.WriteMsgUnix([]byte{2}, syscall.UnixRights(int(r.Fd()), int(w.Fd())), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ctl.WriteMsgUnix([]byte{9}, syscall.UnixRights(int(r.Fd())), nil); err != nil {
		t.Fatal(err)
	}

	self, _ := os.FindProcess(os.Getpid())
	tab := newProcTable(1)
	tab.add(&exec.Cmd{Process: self}, ctl)
	for _, tt := range []struct {
		level runtimeapi.Level
		want  string
	}{{runtimeapi.LevelOperator, "operator\n\n"}, {runtimeapi.LevelUser, "user\n\n"}} {
		c, err := tab.DialWorker(os.Getpid(), tt.level)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, "show cli level\n")
		got, err := io.ReadAll(c)
		c.Close()
		if string(got) != tt.want {
			t.Errorf("show cli level through the control socket at %v: %q, %v", tt.level, got, err)
		}
	}
	if _, err := tab.DialWorker(12345678, runtimeapi.LevelAdmin); err == nil {
		t.Error("dialled a worker the master does not have")
	}
	// The master's end closing ends the worker's loop.
	tab.gone(tab.workers[0].cmd)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker's CLI loop outlived the master's end")
	}
}
