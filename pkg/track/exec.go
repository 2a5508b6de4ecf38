package track

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// Exit is how a script ended.
type Exit struct {
	// Exited is true for a normal exit with Status; false when killed by
	// Signal.
	Exited bool
	Status int
	Signal syscall.Signal
}

func (e Exit) String() string {
	if e.Exited {
		return fmt.Sprintf("exit status %d", e.Status)
	}
	return fmt.Sprintf("signal %d", int(e.Signal))
}

// Process is a started script. Its Signal goes to the whole process
// group, so children the script started go too.
type Process interface {
	Pid() int
	Signal(sig syscall.Signal) error
	// Done delivers the Exit once the process is reaped, then is closed.
	Done() <-chan Exit
}

// Starter starts scripts; Exec is the real one, tracktest.Starter a fake.
type Starter interface {
	Start(cmd Command) (Process, error)
}

// Exec starts commands as keepalived's system_call_script does: in a new
// process group (so a timeout kills the whole tree), as the command's
// user with its single group, SIGTERM on our death (PR_SET_PDEATHSIG),
// stdin/stdout/stderr on /dev/null, our environment; from the launcher
// thread (StartCmd), at the normal scheduling policy.
type Exec struct{}

type proc struct {
	cmd  *exec.Cmd
	done chan Exit
}

// Start implements Starter.
func (Exec) Start(c Command) (Process, error) {
	if len(c.Args) == 0 {
		return nil, errors.New("track: empty command")
	}
	var cmd *exec.Cmd
	if c.Shell {
		cmd = exec.Command("/bin/sh", "-c", c.ShellLine())
	} else {
		cmd = &exec.Cmd{Path: c.Args[0], Args: c.Args}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGTERM,
		Credential: c.Credential,
	}
	if err := StartCmd(cmd); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan Exit, 1)}
	go func() {
		_ = cmd.Wait() // the status is read from ProcessState
		var e Exit
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case ok && ws.Signaled():
			e = Exit{Signal: ws.Signal()}
		case ok:
			e = Exit{Exited: true, Status: ws.ExitStatus()}
		default:
			e = Exit{Exited: true, Status: 255}
		}
		p.done <- e
		close(p.done)
	}()
	return p, nil
}

func (p *proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the script's process group (kill(-pgid, sig)).
func (p *proc) Signal(sig syscall.Signal) error {
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

func (p *proc) Done() <-chan Exit { return p.done }
