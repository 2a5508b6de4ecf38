// Package tracktest has a fake track.Starter whose processes the test ends
// by hand, and re-exports the fake clock of garptest.
package tracktest

import (
	"sync"
	"syscall"

	"hapair/pkg/garp/garptest"
	"hapair/pkg/track"
)

// Clock is the manual clock; it satisfies track.Clock.
type Clock = garptest.Clock

// NewClock is garptest.NewClock.
var NewClock = garptest.NewClock

// Proc is a fake process. By default SIGTERM and SIGKILL end it (as
// killed by that signal); set IgnoreTerm to make it survive SIGTERM.
type Proc struct {
	Cmd        track.Command
	IgnoreTerm bool

	pid     int
	mu      sync.Mutex
	signals []syscall.Signal
	done    chan track.Exit
	ended   bool
}

// Pid implements track.Process.
func (p *Proc) Pid() int { return p.pid }

// Done implements track.Process.
func (p *Proc) Done() <-chan track.Exit { return p.done }

// Signal records sig and ends the process for SIGKILL, or SIGTERM unless
// IgnoreTerm. Signalling an ended process gives ESRCH, as kill(2).
func (p *Proc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signals = append(p.signals, sig)
	if p.ended {
		return syscall.ESRCH
	}
	if sig == syscall.SIGKILL || (sig == syscall.SIGTERM && !p.IgnoreTerm) {
		p.end(track.Exit{Signal: sig})
	}
	return nil
}

func (p *Proc) end(e track.Exit) {
	if p.ended {
		return
	}
	p.ended = true
	p.done <- e
	close(p.done)
}

// Exit ends the process with status.
func (p *Proc) Exit(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.end(track.Exit{Exited: true, Status: status})
}

// Signals returns the signals received so far.
func (p *Proc) Signals() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.signals...)
}

// Starter hands every started Proc to the test on Started (buffered 64).
// If Auto is set, it is called instead and the Proc ends at once with its
// result (useful for scripted sequences).
type Starter struct {
	Started chan *Proc
	Auto    func(cmd track.Command) track.Exit
	// Err, when set, is returned by Start (an exec failure).
	Err error

	mu  sync.Mutex
	pid int
}

// NewStarter returns a Starter with its Started channel.
func NewStarter() *Starter { return &Starter{Started: make(chan *Proc, 64)} }

// Start implements track.Starter.
func (s *Starter) Start(cmd track.Command) (track.Process, error) {
	if s.Err != nil {
		return nil, s.Err
	}
	s.mu.Lock()
	s.pid++
	p := &Proc{Cmd: cmd, pid: 1000 + s.pid, done: make(chan track.Exit, 1)}
	s.mu.Unlock()
	if s.Auto != nil {
		e := s.Auto(cmd)
		p.mu.Lock()
		p.end(e)
		p.mu.Unlock()
		select { // finished already: the test need not take it
		case s.Started <- p:
		default:
		}
		return p, nil
	}
	s.Started <- p
	return p, nil
}
