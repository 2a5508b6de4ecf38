// Package notify tells the outside world about VRRP state changes as
// keepalived 2.2.7 does: notify scripts (vrrp_notify.c send_instance_notifies,
// send_group_notifies) and SMTP alert mails (smtp.c, vrrp_smtp_notifier).
package notify

import (
	"context"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/track"
)

// State is a VRRP instance or sync group state as notify scripts and
// mails name it.
type State int

// States, in keepalived's words.
const (
	Master State = iota
	Backup
	Fault
	Stop
	Deleted
	// MasterPriority and BackupPriority are notify_priority_changes'
	// FIFO-only events: the effective priority changed in MASTER, or in
	// any other state.
	MasterPriority
	BackupPriority
	// MasterRxLowerPri: as MASTER, an advert of lower priority came
	// (notify_master_rx_lower_pri; FIFO line and its own script).
	MasterRxLowerPri
)

func (s State) String() string {
	switch s {
	case Master:
		return "MASTER"
	case Backup:
		return "BACKUP"
	case Fault:
		return "FAULT"
	case Stop:
		return "STOP"
	case Deleted:
		return "DELETED"
	case MasterPriority:
		return "MASTER_PRIORITY"
	case BackupPriority:
		return "BACKUP_PRIORITY"
	case MasterRxLowerPri:
		return "MASTER_RX_LOWER_PRI"
	}
	return "{UNKNOWN}"
}

// StopTimeout is how long keepalived lets STOP scripts run before killing
// their process group (system_call_script with TIMER_HZ).
const StopTimeout = time.Second

// Scripts are the notify settings of one vrrp_instance or
// vrrp_sync_group, prepared with track.Prepare; nil means not configured.
type Scripts struct {
	Master, Backup, Fault, Stop, Deleted *track.Command
	// MasterRxLowerPri is notify_master_rx_lower_pri's command.
	MasterRxLowerPri *track.Command
	// Notify is the generic `notify` script: it gets four more arguments.
	Notify *track.Command
}

func (s Scripts) forState(st State) *track.Command {
	switch st {
	case Master:
		return s.Master
	case Backup:
		return s.Backup
	case Fault:
		return s.Fault
	case Stop:
		return s.Stop
	case Deleted:
		return s.Deleted
	}
	return nil
}

// Event is one state change to announce.
type Event struct {
	// Group is true for a vrrp_sync_group, false for a vrrp_instance.
	Group bool
	Name  string
	State State
	// Priority is the instance's effective priority; keepalived passes 0
	// for groups.
	Priority int
}

// Args returns the generic notify script's command line for ev: its own
// words, then INSTANCE|GROUP, the name, the state and the priority
// (vrrp_notify.c notify_script_exec).
func (ev Event) Args(cmd track.Command) []string {
	kind := "INSTANCE"
	prio := ev.Priority
	if ev.Group {
		kind = "GROUP"
		prio = 0
	}
	out := append([]string(nil), cmd.Args...)
	return append(out, kind, ev.Name, ev.State.String(), strconv.Itoa(prio))
}

// Clock is what the Notifier needs of time.
type Clock interface {
	After(d time.Duration) <-chan time.Time
}

// Notifier runs notify scripts without ever blocking its caller.
type Notifier struct {
	// Starter starts processes; nil means track.Exec.
	Starter track.Starter
	// Clock times the kills; nil means the real clock.
	Clock Clock
	Log   zerolog.Logger
	// Timeout kills a notify script's process group after this long; 0
	// means never, as keepalived, except STOP scripts (StopTimeout).
	Timeout time.Duration

	wg sync.WaitGroup

	fifoMu sync.Mutex
	fifos  []*FIFO
}

// SetFIFOs sets the notify FIFOs every event is written to, after the
// scripts are launched (vrrp_notify.c send_instance_notifies).
func (n *Notifier) SetFIFOs(f []*FIFO) {
	n.fifoMu.Lock()
	n.fifos = f
	n.fifoMu.Unlock()
}

// Notify launches, for ev, the state's own script with only its configured
// arguments, then the generic script with the four event arguments, in
// keepalived's order. It returns at once.
func (n *Notifier) Notify(s Scripts, ev Event) {
	if c := s.forState(ev.State); c != nil {
		n.launch(*c, ev.State)
	}
	if s.Notify != nil {
		c := *s.Notify
		c.Args = ev.Args(c)
		n.launch(c, ev.State)
	}
	n.fifoMu.Lock()
	fifos := n.fifos
	n.fifoMu.Unlock()
	for _, f := range fifos {
		f.Write(ev)
	}
}

// NotifyFIFOs writes ev to the notify FIFOs only (priority changes).
func (n *Notifier) NotifyFIFOs(ev Event) {
	n.fifoMu.Lock()
	fifos := n.fifos
	n.fifoMu.Unlock()
	for _, f := range fifos {
		f.Write(ev)
	}
}

// Run starts one command the Notifier way: asynchronously, with its
// timeout (e.g. notify_master_rx_lower_pri).
func (n *Notifier) Run(cmd track.Command) { n.launch(cmd, Master) }

func (n *Notifier) launch(cmd track.Command, st State) {
	starter := n.Starter
	if starter == nil {
		starter = track.Exec{}
	}
	p, err := starter.Start(cmd)
	if err != nil {
		n.Log.Info().Msgf("Error exec-ing command '%s', error %d: %s", cmd.Args[0], errno(err), err)
		return
	}
	limit := n.Timeout
	if st == Stop {
		limit = StopTimeout
	}
	// Armed before returning, so the caller's clock sees it at once.
	var timer <-chan time.Time
	if limit > 0 {
		if n.Clock != nil {
			timer = n.Clock.After(limit)
		} else {
			timer = time.After(limit)
		}
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		select {
		case <-p.Done():
		case <-timer:
			// As keepalived's child_killed_thread: the whole group, KILL.
			_ = p.Signal(syscall.SIGKILL)
			<-p.Done()
		}
	}()
}

// Wait waits until every launched script has exited. When ctx ends first,
// the remaining ones are left to their timeouts and ctx's error returned.
func (n *Notifier) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func errno(err error) int {
	for e := err; e != nil; {
		if en, ok := e.(syscall.Errno); ok {
			return int(en)
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return 0
}

// Alerter is what the VRRP side needs of a Mailer; notifytest.Alerter
// records calls instead.
type Alerter interface {
	Alert(ctx context.Context, instance string, st State)
	AlertGroup(ctx context.Context, group string, st State)
}

var _ Alerter = (*Mailer)(nil)

// ParseState reads a state name as String writes it.
func ParseState(s string) (State, bool) {
	for st := Master; st <= Deleted; st++ {
		if st.String() == s {
			return st, true
		}
	}
	return 0, false
}
