// Package vrrpfsm is the VRRP state machine of gkeepalived: one Instance per
// vrrp_instance block, behaving as keepalived 2.2.7 does (vrrp.c,
// vrrp_scheduler.c and vrrp_track.c at tag v2.2.7), which follows RFC 3768
// Section 6 (VRRPv2) and RFC 5798 Section 6 (VRRPv3) with keepalived's own
// additions: the FAULT state, tracked scripts and interfaces with weights,
// nopreempt, preempt_delay, lower_prio_no_advert and higher_prio_send_advert.
//
// The machine knows nothing of sockets, addresses or scripts. It receives
// adverts that the packet layer already checked (Receive), debounced track
// results (SetTrack, InterfaceUp), and acts through three small interfaces:
// Sender (send an advert at a priority), Effects (take or release the virtual
// addresses, run notifications) and Clock (timers, injectable so tests run on
// a fake clock in microseconds).
//
// Events are queued per instance and handled one at a time on a Loop: one
// goroutine and one timer heap for any number of instances, as keepalived's
// single thread runs them all (Run puts an instance on a loop of its own).
// There is one step method per state (backupStep, masterStep, faultStep)
// that handles one event and returns the next state and the Reason when it
// leaves. Log lines are keepalived's own texts, e.g. "(VI_1) Entering MASTER
// STATE".
//
// A Group (vrrp_sync_group) links instances so that they change state
// together (vrrp_sync.c). Members consult it synchronously before going
// MASTER and report each transition; the group queues forced transitions to
// the other members, which carry them out when their loop next handles them.
package vrrpfsm
