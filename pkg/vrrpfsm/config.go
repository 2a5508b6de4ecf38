package vrrpfsm

import (
	"net/netip"
	"time"
)

// Priorities with a meaning of their own (RFC 3768 Section 5.3.4).
const (
	PriorityStop    = 0   // sent by a master that resigns
	PriorityDefault = 100 // keepalived's default for a backup
	PriorityOwner   = 255 // the address owner
)

// DefaultDownTimerAdverts is the number of adverts a backup misses before it
// takes over (keepalived's down_timer_adverts, RFC 5798 Section 6.1).
const DefaultDownTimerAdverts = 3

// Config is what the state machine needs from a vrrp_instance block. The
// config layer is expected to have applied keepalived's checks and logged
// them; New silently applies the same rules again so the machine never runs
// a combination keepalived refuses:
//   - Priority 0 means unset: 255 with InitialState Master, else 100.
//   - InitialState Init means unset: Master for the owner (255), else Backup.
//   - nopreempt is cleared for the owner and with InitialState Master;
//     preempt_delay is cleared with InitialState Master or nopreempt.
//   - AuthAH with InitialState Master below 255 starts as Backup (keepalived:
//     "Initial state master is incompatible with AH authentication -
//     clearing"): a newcomer must learn the peers' AH sequence numbers from
//     their adverts before it may send, or they drop its adverts.
type Config struct {
	Name         string // instance name, "VI_1"; prefixes every log line
	VRID         uint8
	Version      int           // 2 or 3; 0 means 2
	Priority     int           // configured base priority, 1..255
	InitialState State         // `state MASTER|BACKUP`
	AdvertInt    time.Duration // advert_int; 0 means 1 s
	// NoPreempt: a backup never takes over from a lower priority master.
	NoPreempt bool
	// PreemptDelay: a backup accepts a lower priority master for this long
	// after its first lower priority advert before preempting it.
	PreemptDelay time.Duration
	// AuthAH: IPsec AH authentication (VRRPv2 over IPv4 only).
	AuthAH bool
	// LowerPrioNoAdvert: a master that hears a lower priority advert does not
	// answer it at once.
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert: a master that hears a higher priority advert sends
	// one more advert before it becomes backup.
	HigherPrioSendAdvert bool
	// DownTimerAdverts: adverts missed before takeover; 0 means 3.
	DownTimerAdverts int
	// Address is our primary address on the interface (or mcast_src_ip /
	// unicast_src_ip): the tie-break between equal priorities.
	Address netip.Addr
	// Interface names the instance's interface, for log lines.
	Interface string
	// InterfaceDown: the instance's interface is down at start.
	InterfaceDown bool
	// Tracks lists the tracked scripts (and weighted interfaces, files,
	// processes) with their weights; results arrive through SetTrack.
	Tracks []Track
	// LogDetail logs at Info the lines keepalived writes only with -D
	// (log_detail); otherwise they are logged at Debug.
	LogDetail bool
	// OnPriority, when set, is called (on the instance's goroutine) each
	// time the effective priority changes, with the state then
	// (keepalived's notify_priority_changes).
	OnPriority func(st State, prio int)
	// OnLate, when set, is called (on the instance's goroutine) when the
	// state's timer is handled after its deadline, with the delay:
	// keepalived's scheduler watches that to raise its own priority
	// (max_auto_priority).
	OnLate func(late time.Duration)
}

// Track is one tracked object of an instance, as in track_script.
// Weight 0: the instance is in FAULT while the object fails. Weight > 0:
// added to the priority while the object is up. Weight < 0: subtracted while
// it is down. Reverse swaps the meaning (keepalived's `reverse`): weight 0
// faults while up, a positive weight is subtracted while up, a negative one
// added while down.
type Track struct {
	Name    string
	Weight  int
	Reverse bool
	// Initial is the state before the first SetTrack. TrackPending (the zero
	// value, as for a script not yet run) holds an unweighted track's instance
	// in FAULT without a FAULT notification, and contributes no weight.
	Initial TrackState
	// Valued makes it a track_file: instead of up/down it has a value
	// (SetTrackValue), already multiplied by its weight, added to the
	// priority; ValueFault (or below) holds the instance in FAULT. Weight,
	// Reverse and Initial are then unused; InitialValue is the value at
	// start.
	Valued       bool
	InitialValue int
}

// ValueFault is the value of a valued track that means FAULT (keepalived's
// track_file status -254).
const ValueFault = -254

// TrackState is the debounced state of a tracked object.
type TrackState int

// The track states.
const (
	TrackPending TrackState = iota // not yet reported (script not run yet)
	TrackUp
	TrackDown
)

func (t TrackState) String() string {
	switch t {
	case TrackPending:
		return "pending"
	case TrackUp:
		return "up"
	case TrackDown:
		return "down"
	}
	return "TrackState(?)"
}

// normalize applies keepalived's defaults and completion rules (vrrp.c,
// vrrp_complete_instance).
func (c Config) normalize() Config {
	if c.Version != 3 {
		c.Version = 2
	}
	if c.AdvertInt <= 0 {
		c.AdvertInt = time.Second
	}
	if c.DownTimerAdverts <= 0 {
		c.DownTimerAdverts = DefaultDownTimerAdverts
	}
	if c.Priority <= 0 {
		if c.InitialState == Master {
			c.Priority = PriorityOwner
		} else {
			c.Priority = PriorityDefault
		}
	}
	if c.Priority > PriorityOwner {
		c.Priority = PriorityOwner
	}
	if c.InitialState != Master && c.InitialState != Backup {
		if c.Priority == PriorityOwner {
			c.InitialState = Master
		} else {
			c.InitialState = Backup
		}
	}
	if c.AuthAH && c.Version == 3 {
		c.AuthAH = false
	}
	if c.AuthAH && c.InitialState == Master && c.Priority != PriorityOwner {
		c.InitialState = Backup
	}
	if c.Priority == PriorityOwner {
		c.NoPreempt = false
	}
	if c.InitialState == Master {
		c.NoPreempt = false
		c.PreemptDelay = 0
	}
	if c.NoPreempt {
		c.PreemptDelay = 0
	}
	return c
}
