package gproxyd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/runtimeapi"
)

// The master CLI (-S) reaches a worker's CLI over a private socket pair
// made when the worker starts: for each forwarded command the master makes
// a new connected pair and passes one end to the worker over it, with the
// session's level. Nothing is exposed on the filesystem or in the abstract
// namespace, so no other process can reach a worker this way.

// envMasterCLIFD names the worker's end of its control socket.
const envMasterCLIFD = "GPROXY_MASTER_CLI_FD"

// procTable is what the master knows of its processes, for `show proc`,
// `reload` and forwarding. The master loop changes it, CLI sessions read it.
type procTable struct {
	mu      sync.Mutex
	pid     int
	start   time.Time
	reloads int // every reload asked for
	failed  int // reloads that failed since the last that worked
	workers []*workerProc
	reload  chan struct{} // `reload` on the master CLI
}

type workerProc struct {
	cmd      *exec.Cmd
	start    time.Time
	forkedAt int // the master's reload count when it started
	old      bool
	ctl      *net.UnixConn
}

func newProcTable(pid int) *procTable {
	return &procTable{pid: pid, start: time.Now(), reload: make(chan struct{}, 1)}
}

// Procs implements runtimeapi.Master.
func (t *procTable) Procs() []runtimeapi.Proc {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []runtimeapi.Proc{{PID: t.pid, Master: true, Reloads: t.reloads, Failed: t.failed, Start: t.start}}
	for i := len(t.workers) - 1; i >= 0; i-- {
		w := t.workers[i]
		out = append(out, runtimeapi.Proc{PID: w.cmd.Process.Pid, Old: w.old, Reloads: t.reloads - w.forkedAt, Start: w.start})
	}
	return out
}

// Reload implements runtimeapi.Master: the master loop reloads as on SIGUSR2.
func (t *procTable) Reload() {
	select {
	case t.reload <- struct{}{}:
	default: // one is pending already
	}
}

// DialWorker implements runtimeapi.Master.
func (t *procTable) DialWorker(pid int, level runtimeapi.Level) (net.Conn, error) {
	t.mu.Lock()
	var ctl *net.UnixConn
	for _, w := range t.workers {
		if w.cmd.Process.Pid == pid {
			ctl = w.ctl
		}
	}
	t.mu.Unlock()
	if ctl == nil {
		return nil, fmt.Errorf("no worker with pid %d", pid)
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	_, _, err = ctl.WriteMsgUnix([]byte{byte(level)}, syscall.UnixRights(fds[1]), nil)
	syscall.Close(fds[1])
	if err != nil {
		syscall.Close(fds[0])
		return nil, fmt.Errorf("worker %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fds[0]), "worker cli")
	defer f.Close()
	return net.FileConn(f)
}

func (t *procTable) add(cmd *exec.Cmd, ctl *net.UnixConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.workers = append(t.workers, &workerProc{cmd: cmd, start: time.Now(), forkedAt: t.reloads, ctl: ctl})
}

// reloading counts a reload before its worker starts (which then shows 0
// reloads, the one it replaces 1 more).
func (t *procTable) reloading() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reloads++
}

// reloaded records a reload's outcome; a worker that was replaced becomes
// old.
func (t *procTable) reloaded(replaced *exec.Cmd, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !ok {
		t.failed++
		return
	}
	t.failed = 0
	for _, w := range t.workers {
		if w.cmd == replaced {
			w.old = true
		}
	}
}

// gone forgets a worker that exited.
func (t *procTable) gone(cmd *exec.Cmd) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, w := range t.workers {
		if w.cmd == cmd {
			w.ctl.Close()
			t.workers = append(t.workers[:i], t.workers[i+1:]...)
			return
		}
	}
}

// workerCLIPair makes the control socket of a new worker: the master's
// end, and the worker's end to pass as an inherited file.
func workerCLIPair() (*net.UnixConn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	mf := os.NewFile(uintptr(fds[0]), "master cli")
	defer mf.Close()
	c, err := net.FileConn(mf)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		syscall.Close(fds[1])
		return nil, nil, errors.New("master cli: not a unix socket")
	}
	return uc, os.NewFile(uintptr(fds[1]), "worker cli"), nil
}

// inheritedMasterCLI is a worker's end of its control socket, if its master
// passed one.
func inheritedMasterCLI() *net.UnixConn {
	fd, err := strconv.Atoi(os.Getenv(envMasterCLIFD))
	if err != nil {
		return nil
	}
	os.Unsetenv(envMasterCLIFD)
	f := os.NewFile(uintptr(fd), "master cli")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil
	}
	uc, _ := c.(*net.UnixConn)
	return uc
}

// serveMasterCLI runs, in a worker, each CLI session the master passes,
// until the master's end closes.
func serveMasterCLI(ctl *net.UnixConn, cmds *runtimeapi.Commands, timeout time.Duration, log zerolog.Logger) {
	defer ctl.Close()
	buf := make([]byte, 1)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := ctl.ReadMsgUnix(buf, oob)
		if err != nil || (n == 0 && oobn == 0) {
			return
		}
		var fds []int
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for i := range msgs {
				if got, err := syscall.ParseUnixRights(&msgs[i]); err == nil {
					fds = append(fds, got...)
				}
			}
		}
		level := runtimeapi.Level(buf[0])
		if n != 1 || len(fds) != 1 || level < runtimeapi.LevelUser || level > runtimeapi.LevelAdmin {
			for _, fd := range fds {
				syscall.Close(fd)
			}
			log.Warn().Msg("master CLI: malformed session request ignored")
			continue
		}
		f := os.NewFile(uintptr(fds[0]), "cli session")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			continue
		}
		go runtimeapi.ServeConn(c, cmds, level, timeout)
	}
}
