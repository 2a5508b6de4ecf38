package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Proc is a background process started inside a host.
type Proc struct {
	host  *Host
	name  string
	cmd   *exec.Cmd // nsenter, whose child is the process
	outer int       // pid of the process as seen from outside
	inner int       // pid inside the host's PID namespace
	log   string
	done  chan struct{}
	err   error
}

// Start starts cmd in the background inside the host; its stdout and stderr
// are appended to Dir()/<host>-<name>.log. A command that daemonizes (forks
// and exits) leaves a Proc that has exited: find the daemon by its pidfile
// (ReadFile) or name (Running, Signal).
//
// Equivalent to: `nsenter -t PID1 -p -m -n -u -- cmd args... >>LOG 2>&1 &`.
func (h *Host) Start(name string, cmd string, args ...string) (*Proc, error) {
	if err := h.alive(); err != nil {
		return nil, err
	}
	l := h.lab
	logPath := filepath.Join(l.dir, h.name+"-"+name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("host %s: start %s: %w", h.name, name, err)
	}
	defer f.Close()
	argv := h.nsenter(append([]string{cmd}, args...)...)
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdout, c.Stderr = f, f
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Proc{host: h, name: name, cmd: c, log: logPath, done: make(chan struct{})}
	l.logf("%s$ %s &  # %s, log %s", h.name, strings.Join(append([]string{cmd}, args...), " "), name, filepath.Base(logPath))
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	if err := c.Start(); err != nil {
		l.mu.Unlock()
		return nil, fmt.Errorf("host %s: start %s: %w", h.name, name, err)
	}
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	go func() { p.err = c.Wait(); close(p.done) }()
	// nsenter -p forks the command: find it, unless it is already gone.
	deadline := time.Now().Add(5 * time.Second)
	for p.outer == 0 && time.Now().Before(deadline) {
		if pid, err := childOf(c.Process.Pid, 0); err == nil {
			p.outer = pid
			p.inner, _ = nsPid(pid)
			break
		}
		select {
		case <-p.done:
			deadline = time.Time{}
		case <-time.After(5 * time.Millisecond):
		}
	}
	return p, nil
}

// Name is the name given to Start.
func (p *Proc) Name() string { return p.name }

// Pid is the process's pid inside its host (0 if it exited at once).
func (p *Proc) Pid() int { return p.inner }

// OuterPid is the process's pid as seen from outside the host.
func (p *Proc) OuterPid() int { return p.outer }

// LogPath is the file that receives the process's stdout and stderr.
func (p *Proc) LogPath() string { return p.log }

// Log returns what the process wrote so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Exited reports whether the process (the one Start ran, not a daemon it
// forked) has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL to the process and to the nsenter that waits for it.
func (p *Proc) Kill() error {
	if p.Exited() {
		return nil
	}
	if p.outer > 0 {
		syscall.Kill(p.outer, syscall.SIGKILL)
	}
	return p.cmd.Process.Kill()
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.outer == 0 || p.Exited() {
		return ErrNotRunning
	}
	return syscall.Kill(p.outer, sig)
}

// Wait waits for the process to exit and returns its exit error.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

func (p *Proc) waitTimeout(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}
