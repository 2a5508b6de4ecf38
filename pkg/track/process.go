package track

import (
	"bytes"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// This file is keepalived 2.2.7's track_process (keepalived/core/
// track_process.c): processes are counted from a scan of /proc at start,
// then from the kernel's process events (fork, exec, comm change, exit),
// never by polling. A tracked process is "up" while the number of
// matching processes is within quorum..quorum_max.

// ParamMatch is vrrp_track_process's param_match.
type ParamMatch int

const (
	MatchNone ParamMatch = iota
	MatchExact
	MatchPartial
	MatchInitial
)

// ProcessSpec is one vrrp_track_process.
type ProcessSpec struct {
	Name string
	// Process is compared with the process's comm, or with argv[0] when
	// FullCommand is set.
	Process     string
	Params      []string
	Match       ParamMatch
	FullCommand bool
	Quorum      int
	QuorumMax   int
	// ForkDelay delays a quorum gained by a fork; TerminateDelay a quorum
	// lost by an exit.
	ForkDelay      time.Duration
	TerminateDelay time.Duration
}

// ProcInfo is what is read about a process: its comm and its command
// line (NUL-separated arguments, as /proc/PID/cmdline).
type ProcInfo struct {
	Comm    string
	Cmdline []byte
	Zombie  bool
}

type procState struct {
	spec   ProcessSpec
	params []byte // Params joined as keepalived keeps them: each followed by NUL
	num    int
	up     bool
	fork   func() bool // pending fork_delay timer; nil = none
	term   func() bool // pending terminate_delay timer
}

// Processes counts the tracked processes and reports quorum changes.
type Processes struct {
	mu     sync.Mutex
	procs  []*procState
	pids   map[int][]int // pid -> the tracked processes it counts for (a multiset, as keepalived's)
	read   func(pid int) (ProcInfo, bool)
	after  func(d time.Duration, f func()) (stop func() bool)
	change func(name string, up bool)
	log    zerolog.Logger
}

// NewProcesses makes the counter. read reads a process (false: it is
// gone); after runs f after d (time.AfterFunc in production); change is
// called, without the lock held, on each quorum change.
func NewProcesses(specs []ProcessSpec, read func(pid int) (ProcInfo, bool), after func(time.Duration, func()) func() bool, change func(name string, up bool), log zerolog.Logger) *Processes {
	p := &Processes{pids: map[int][]int{}, read: read, after: after, change: change, log: log}
	for _, s := range specs {
		var params []byte
		for _, a := range s.Params {
			params = append(append(params, a...), 0)
		}
		p.procs = append(p.procs, &procState{spec: s, params: params})
	}
	return p
}

// Up says whether a tracked process has its quorum.
func (p *Processes) Up(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.procs {
		if s.spec.Name == name {
			return s.up
		}
	}
	return false
}

// Count is the number of processes counted for a tracked process.
func (p *Processes) Count(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.procs {
		if s.spec.Name == name {
			return s.num
		}
	}
	return 0
}

// Scan counts the processes listed (read_procs) and sets each tracked
// process's state without reporting it: the instances start from it.
func (p *Processes) Scan(pids []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pids = map[int][]int{}
	for _, s := range p.procs {
		s.num = 0
	}
	for _, pid := range pids {
		info, ok := p.read(pid)
		if !ok || info.Zombie {
			continue
		}
		for i, s := range p.procs {
			if s.matches(info, false) {
				p.pids[pid] = append(p.pids[pid], i)
				s.num++
			}
		}
	}
	for _, s := range p.procs {
		s.up = s.inQuorum()
	}
}

// Rescan is the recovery after lost events (keepalived's
// reinitialise_track_processes): count again and report what changed.
func (p *Processes) Rescan(pids []int) {
	p.mu.Lock()
	saved := make([]int, len(p.procs))
	for i, s := range p.procs {
		saved[i] = s.num
		stopTimer(&s.fork)
		stopTimer(&s.term)
	}
	p.mu.Unlock()
	was := make([]bool, len(p.procs))
	for i, s := range p.procs {
		was[i] = s.up
	}
	p.Scan(pids)
	var notes []func()
	p.mu.Lock()
	for i, s := range p.procs {
		now := s.up
		s.up = was[i]
		if saved[i] == s.num || now == was[i] {
			continue
		}
		if !now && s.spec.TerminateDelay > 0 {
			p.startTerm(s)
			continue
		}
		notes = append(notes, p.update(s, now))
	}
	p.mu.Unlock()
	run(notes)
}

func (s *procState) inQuorum() bool { return s.num >= s.spec.Quorum && s.num <= s.spec.QuorumMax }

// matches compares a process with the tracked one; commOnly: only its
// comm is known (a comm change event), so full-command tracking is
// skipped.
func (s *procState) matches(info ProcInfo, commOnly bool) bool {
	if commOnly && (s.spec.FullCommand || s.spec.Match != MatchNone) {
		return false
	}
	// The parameters are the command line's after argv[0], whether the
	// name is the comm or argv[0] (full_command).
	argv0, rest, _ := bytes.Cut(info.Cmdline, []byte{0})
	name := info.Comm
	if s.spec.FullCommand {
		name = string(argv0)
	}
	if name != s.spec.Process {
		return false
	}
	return s.spec.Match == MatchNone || s.checkParams(rest)
}

// checkParams is check_params: rest is the command line after argv[0]'s
// NUL.
func (s *procState) checkParams(rest []byte) bool {
	want := s.params
	switch {
	case s.spec.Match == MatchExact && len(want) == 0 && len(rest) == 0:
		return true
	case len(rest) < len(want):
		return false
	case s.spec.Match == MatchExact:
		return bytes.Equal(rest, want)
	case len(want) == 0:
		return true
	case s.spec.Match == MatchPartial:
		return bytes.Equal(rest[:len(want)], want)
	}
	// initial: the last configured argument need only begin the process's.
	return len(want) == 1 || bytes.Equal(rest[:len(want)-1], want[:len(want)-1])
}

func stopTimer(t *func() bool) {
	if *t != nil {
		(*t)()
		*t = nil
	}
}

func run(notes []func()) {
	for _, n := range notes {
		if n != nil {
			n()
		}
	}
}

// update is update_process_status: a change is logged and reported (the
// report runs after the lock is released).
func (p *Processes) update(s *procState, up bool) func() {
	if up == s.up {
		return nil
	}
	s.up = up
	word := "lost"
	if up {
		word = "gained"
	}
	p.log.Info().Msgf("Quorum %s for tracked process %s", word, s.spec.Name)
	name, change := s.spec.Name, p.change
	return func() {
		if change != nil {
			change(name, up)
		}
	}
}

func (p *Processes) startFork(s *procState) {
	s.fork = p.after(s.spec.ForkDelay, func() { p.expire(s, &s.fork) })
}

func (p *Processes) startTerm(s *procState) {
	s.term = p.after(s.spec.TerminateDelay, func() { p.expire(s, &s.term) })
}

// expire is process_gained/lost_quorum_timer_thread.
func (p *Processes) expire(s *procState, t *func() bool) {
	p.mu.Lock()
	if *t == nil {
		p.mu.Unlock()
		return
	}
	*t = nil
	n := p.update(s, s.inQuorum())
	p.mu.Unlock()
	run([]func(){n})
}

// removeRef drops one reference of pid to tracked process i
// (remove_process_from_track).
func (p *Processes) removeRef(pid, i int) func() {
	refs := p.pids[pid]
	for k, r := range refs {
		if r != i {
			continue
		}
		p.pids[pid] = append(refs[:k:k], refs[k+1:]...)
		if len(p.pids[pid]) == 0 {
			delete(p.pids, pid)
		}
		s := p.procs[i]
		old := s.num
		s.num--
		if old == s.spec.Quorum || s.num == s.spec.QuorumMax {
			stopTimer(&s.fork)
			return p.update(s, s.num == s.spec.QuorumMax)
		}
		return nil
	}
	return nil
}

// Exec is PROC_EVENT_EXEC of a process (not a thread): check it again.
func (p *Processes) Exec(pid int) {
	p.mu.Lock()
	notes := p.check(pid, nil)
	p.mu.Unlock()
	run(notes)
}

// check is check_process; comm is set for a comm change event.
func (p *Processes) check(pid int, comm *string) []func() {
	had := len(p.pids[pid]) > 0
	var info ProcInfo
	if comm != nil {
		info.Comm = *comm
		for _, s := range p.procs {
			if s.spec.Match != MatchNone && !s.spec.FullCommand {
				// param_match compares the arguments: read them.
				if full, ok := p.read(pid); ok {
					info.Cmdline = full.Cmdline
				}
				break
			}
		}
	} else {
		var ok bool
		if info, ok = p.read(pid); !ok {
			return nil
		}
	}
	var notes []func()
	for i, s := range p.procs {
		if s.spec.FullCommand && comm != nil {
			continue
		}
		name := info.Comm
		if s.spec.FullCommand {
			argv0, _, _ := bytes.Cut(info.Cmdline, []byte{0})
			name = string(argv0)
		}
		if name == s.spec.Process {
			if !s.matches(info, false) {
				if had {
					notes = append(notes, p.removeRef(pid, i))
				}
				continue
			}
			p.pids[pid] = append(p.pids[pid], i)
			s.num++
			if s.num == s.spec.Quorum || s.num == s.spec.QuorumMax+1 {
				stopTimer(&s.term)
				notes = append(notes, p.update(s, s.num == s.spec.Quorum))
			}
		} else if had && comm == nil {
			notes = append(notes, p.removeRef(pid, i))
		}
	}
	return notes
}

// Fork is PROC_EVENT_FORK of a new process: a child of a counted process
// counts for the same tracked processes (check_process_fork).
func (p *Processes) Fork(parent, child int) {
	p.mu.Lock()
	refs := p.pids[parent]
	var notes []func()
	for _, i := range refs {
		s := p.procs[i]
		p.pids[child] = append(p.pids[child], i)
		s.num++
		if s.num == s.spec.Quorum || s.num == s.spec.QuorumMax+1 {
			if s.term != nil {
				stopTimer(&s.term)
			} else if s.spec.ForkDelay > 0 {
				p.startFork(s)
				continue
			}
			notes = append(notes, p.update(s, s.num == s.spec.Quorum))
		}
	}
	p.mu.Unlock()
	run(notes)
}

// Exit is PROC_EVENT_EXIT of a process (check_process_termination).
func (p *Processes) Exit(pid int) {
	p.mu.Lock()
	refs := p.pids[pid]
	delete(p.pids, pid)
	var notes []func()
	for _, i := range refs {
		s := p.procs[i]
		old := s.num
		s.num--
		if old == s.spec.Quorum || s.num == s.spec.QuorumMax {
			if s.fork != nil {
				stopTimer(&s.fork)
			} else if s.spec.TerminateDelay > 0 {
				p.startTerm(s)
				continue
			}
			notes = append(notes, p.update(s, s.num == s.spec.QuorumMax))
		}
	}
	p.mu.Unlock()
	run(notes)
}

// Comm is PROC_EVENT_COMM: a process renamed itself
// (check_process_comm_change).
func (p *Processes) Comm(pid int, comm string) {
	p.mu.Lock()
	var notes []func()
	refs := append([]int(nil), p.pids[pid]...)
	for _, i := range refs {
		s := p.procs[i]
		if s.spec.FullCommand {
			continue
		}
		if comm == s.spec.Process {
			p.mu.Unlock()
			return
		}
		notes = append(notes, p.removeRef(pid, i))
	}
	notes = append(notes, p.check(pid, &comm)...)
	p.mu.Unlock()
	run(notes)
}
