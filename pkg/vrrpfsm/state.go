package vrrpfsm

import "fmt"

// State is a VRRP instance state. The numbering is keepalived's
// (VRRP_STATE_* in vrrp.h), so status dumps can print it unchanged.
type State int

// The states. Init is only seen before Run starts; Stop after it returns.
const (
	Init   State = 0
	Backup State = 1
	Master State = 2
	Fault  State = 3
	Stop   State = 98
)

// String returns the name keepalived uses in logs and notify arguments.
func (s State) String() string {
	switch s {
	case Init:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	case Stop:
		return "STOP"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Reason says why a transition happened; it appears in the debug line
// "VI_1: BACKUP -> MASTER (master-down timer expired)".
type Reason int

// The reasons for transitions.
const (
	ReasonNone Reason = iota
	// ReasonStart: the initial state chosen when Run starts.
	ReasonStart
	// ReasonOwner: the address owner (priority 255) takes over at once.
	ReasonOwner
	// ReasonMasterDown: no advert from the master for the master-down interval.
	ReasonMasterDown
	// ReasonPriorityZero: the master resigned with a priority 0 advert and the
	// skew time passed.
	ReasonPriorityZero
	// ReasonPreempted: we discarded a lower priority master's adverts until the
	// master-down timer expired.
	ReasonPreempted
	// ReasonHigherPriority: a master heard an advert with a higher priority.
	ReasonHigherPriority
	// ReasonHigherAddress: a master heard an advert with its own priority from a
	// higher primary address.
	ReasonHigherAddress
	// ReasonTrackFailed: a tracked object with weight 0 failed.
	ReasonTrackFailed
	// ReasonInterfaceDown: the instance's interface went down.
	ReasonInterfaceDown
	// ReasonRecovered: every tracked object with weight 0 is up again.
	ReasonRecovered
	// ReasonShutdown: Run's context was cancelled.
	ReasonShutdown
	// ReasonSync: the instance's sync group ordered it (Group).
	ReasonSync
	// ReasonVIPRemoved: a MASTER's VIP was deleted by someone else.
	ReasonVIPRemoved
)

var reasonNames = [...]string{
	ReasonNone:           "none",
	ReasonStart:          "start",
	ReasonOwner:          "address owner",
	ReasonMasterDown:     "master-down timer expired",
	ReasonPriorityZero:   "priority 0 advert",
	ReasonPreempted:      "preempted lower priority master",
	ReasonHigherPriority: "higher priority advert",
	ReasonHigherAddress:  "equal priority advert from higher address",
	ReasonTrackFailed:    "track script failed",
	ReasonInterfaceDown:  "interface down",
	ReasonRecovered:      "tracked objects recovered",
	ReasonShutdown:       "shutdown",
	ReasonSync:           "sync group",
	ReasonVIPRemoved:     "VIP removed",
}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}
