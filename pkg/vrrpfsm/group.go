package vrrpfsm

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
)

// GroupEffects carries out a sync group's own notifications: the group's
// notify_master/backup/fault/stop script, its generic notify script called
// with "GROUP <name> <STATE> 0", and its smtp_alert (vrrp_notify.c
// send_group_notifies). It is called with the group's lock held, from a
// member's goroutine, and must not block: run scripts and mail asynchronously.
type GroupEffects interface {
	NotifyGroup(to State)
}

// ErrGroupMember is returned by NewGroup for an instance that already
// belongs to a group or already runs.
var ErrGroupMember = errors.New("vrrpfsm: instance already in a sync group or running")

// Group is a vrrp_sync_group: instances that change state together, as
// keepalived 2.2.7 does (vrrp_sync.c, vrrp_scheduler.c VRRP_TSM):
//   - a member whose master-down timer expires becomes MASTER only if every
//     other member wants MASTER too (its own timer expired since it last
//     accepted an advert); otherwise it stays BACKUP and restarts its timer;
//   - when a member becomes MASTER, the others are forced to MASTER;
//   - when a MASTER member hears a higher priority advert and becomes
//     BACKUP, the others are forced to BACKUP;
//   - when a member enters FAULT, the others are forced to FAULT; it leaves
//     FAULT only when no member is faulty (or waiting for its first script
//     result), and then the others follow it to BACKUP.
//
// Each sync logs "VRRP_Group(G1) Syncing instances to MASTER state" and
// calls GroupEffects.NotifyGroup once. A forced member changes state in its
// own goroutine: the group only queues the order, so each Instance stays the
// single writer of its state.
type Group struct {
	name string
	fx   GroupEffects
	log  zerolog.Logger

	mu       sync.Mutex
	state    State // keepalived's sgroup->state; Init while scripts are pending
	members  []*member
	stopped  int
	notified bool // the start notification was sent
}

type member struct {
	in      *Instance
	state   State // the member's state as the group last ordered or heard it
	want    State // keepalived's wantstate
	faulty  bool  // the member's own tracked objects hold it in FAULT
	pending bool  // the member's unweighted tracks have not all reported yet
	// order is a forced transition queued to the member and not yet carried
	// out (Init: none); hold asks a BACKUP member to restart its timer.
	order State
	hold  bool
	// quick marks a BACKUP order given because another member's VIP was
	// deleted: leave with priority 0, back after the skew time.
	quick bool
}

// NewGroup makes the instances, in the configured order, one sync group.
// Call it before any member's Run. Like keepalived's vrrp_complete_init, it
// starts every member as BACKUP unless all of them are address owners
// wanting MASTER: a `state MASTER` member of a mixed group waits for the
// full master-down interval as any backup does.
func NewGroup(name string, members []*Instance, fx GroupEffects, log zerolog.Logger) (*Group, error) {
	g := &Group{name: name, fx: fx, log: log, state: Backup}
	haveBackup, haveMaster := false, false
	for _, in := range members {
		if in.grp != nil || in.state != Init {
			return nil, fmt.Errorf("sync group %s: %s: %w", name, in.name, ErrGroupMember)
		}
		if !in.wantMaster || !in.owner() {
			haveBackup = true
		}
		if in.wantMaster {
			haveMaster = true
		}
	}
	for _, in := range members {
		if haveBackup && haveMaster {
			in.wantMaster = false
		}
		m := &member{in: in, state: Init, want: Backup}
		if in.wantMaster {
			m.want = Master
		}
		in.grp = g
		g.members = append(g.members, m)
	}
	if !haveBackup && len(members) > 0 {
		g.state = Master
	}
	// vrrp_track.c initialise_tracking_priorities: a member in FAULT at
	// start puts the group in FAULT, one waiting for scripts in INIT.
	for _, m := range g.members {
		faults, pending := m.in.faults()
		m.faulty, m.pending = faults > 0, pending > 0
		if m.faulty && g.state != Fault {
			g.state = Fault
			g.infof("VRRP_Group(%s): Syncing %s to FAULT state", name, m.in.name)
		}
	}
	for _, m := range g.members {
		if m.pending && g.state != Fault {
			g.state = Init
		}
	}
	return g, nil
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

// State returns the group's state: Init until its members' first script
// results, then Backup, Master or Fault, and Stop once every member stopped.
func (g *Group) State() State {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// Busy reports whether a forced transition is queued to a member and not yet
// carried out; tests wait for it to clear as they wait for Sync.
func (g *Group) Busy() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.members {
		if m.order != Init || m.hold {
			return true
		}
	}
	return false
}

func (g *Group) infof(format string, args ...any) { g.log.Info().Msgf(format, args...) }

func (g *Group) find(in *Instance) *member {
	for _, m := range g.members {
		if m.in == in {
			return m
		}
	}
	return nil
}

// start is called by a member's Run before it enters its first state. The
// first member to start sends the group's start notification
// (vrrp_scheduler.c vrrp_init_state: groups in BACKUP or FAULT). It returns
// the group's state.
func (g *Group) start(in *Instance) State {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.notified {
		g.notified = true
		if g.state == Backup || g.state == Fault {
			g.fx.NotifyGroup(g.state)
		}
	}
	return g.state
}

// health records whether the member's own tracked objects hold it in FAULT
// (or have not reported yet).
func (g *Group) health(in *Instance, faulty, pending bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.find(in); m != nil {
		m.faulty, m.pending = faulty, pending
	}
}

// wantBackup: a BACKUP member accepted a master's advert; it no longer
// wants MASTER (vrrp.c vrrp_state_backup).
func (g *Group) wantBackup(in *Instance) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.find(in); m != nil {
		m.want = Backup
	}
}

// canMaster is vrrp_sync_can_goto_master for a member whose timer expired:
// it now wants MASTER, and may go when the group is MASTER or every other
// member wants MASTER too.
func (g *Group) canMaster(in *Instance) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.find(in)
	if m == nil {
		return true
	}
	m.want = Master
	return g.canMasterLocked(m)
}

func (g *Group) canMasterLocked(m *member) bool {
	if g.state == Master {
		return true
	}
	for _, o := range g.members {
		if o != m && o.want != Master {
			return false
		}
	}
	return true
}

// mayRecover is the sync group half of vrrp_scheduler.c try_up_instance: a
// member whose own faults cleared leaves FAULT only when no other member is
// faulty or waiting for its scripts.
func (g *Group) mayRecover(in *Instance) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, o := range g.members {
		if o.in != in && (o.faulty || o.pending) {
			return false
		}
	}
	return true
}

// quiet is the check at the top of vrrp_notify.c send_instance_notifies: a
// member that notified before and now enters the state its group is already
// in (for it, not by the group's order) sends no instance notification.
func (g *Group) quiet(in *Instance, to State, forced bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.find(in)
	// A member with an order on its way was counted as ordered: its own
	// transition to that state is the notification keepalived sends.
	return !forced && to == g.state && in.notified && (m == nil || m.order == Init)
}

// report tells the group about a member's transition and applies the
// transition matrix (vrrp_scheduler.c VRRP_TSM, try_up_instance,
// vrrp_track.c down_instance). forced is true when the group ordered it.
func (g *Group) report(in *Instance, from, to State, forced bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.find(in)
	if m == nil {
		return
	}
	m.state = to
	if forced {
		g.clear(m, to, true)
	}
	if to == Stop {
		// keepalived's notify_shutdown: the group's STOP follows its
		// members'; no syncing while stopping.
		m.order, m.hold = Init, false
		g.stopped++
		if g.stopped == len(g.members) {
			g.state = Stop
			g.fx.NotifyGroup(Stop)
		}
		return
	}
	if from == Init || forced || m.order != Init || g.state == Stop || g.stopped > 0 {
		// An order for this member is on its way: it supersedes what the
		// member did meanwhile.
		return
	}
	switch {
	case to == Master:
		g.syncMaster(m)
	case to == Backup && (from == Master || from == Fault):
		g.syncBackup(m)
	case to == Fault:
		g.syncFault(m)
	}
}

// vipRemoved is keepalived_netlink.c set_vrrp_backup for a member whose
// VIP was deleted: every MASTER member leaves with priority 0 and comes
// back after its skew time; the group is BACKUP without a sync line or a
// group notification (keepalived sets sync->state directly).
func (g *Group) vipRemoved(in *Instance) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.find(in)
	if m == nil {
		return
	}
	m.want = Backup
	for _, o := range g.members {
		if o != m && o.state == Master {
			o.want = Backup
			o.quick = true
			g.order(o, Backup)
		}
	}
	g.state = Backup
}

// takeQuick reports (once) whether the member's BACKUP order is vipRemoved's.
func (g *Group) takeQuick(in *Instance) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.find(in)
	if m == nil || !m.quick {
		return false
	}
	m.quick = false
	return m.order == Backup
}

// syncMaster is vrrp_sync.c vrrp_sync_master.
func (g *Group) syncMaster(m *member) {
	if g.state == Master || !g.canMasterLocked(m) {
		return
	}
	g.infof("VRRP_Group(%s) Syncing instances to MASTER state", g.name)
	for _, o := range g.members {
		if o == m || o.state == Master {
			continue
		}
		o.want = Master
		// Members are ordered one by one, each checked as keepalived's
		// vrrp_state_goto_master checks it: in groups of three or more a
		// member may be held in BACKUP by one not yet ordered.
		if g.canMasterLocked(o) {
			g.order(o, Master)
		} else if o.state == Backup {
			o.hold = true
			o.in.wake()
		}
	}
	g.state = Master
	g.fx.NotifyGroup(Master)
}

// syncBackup is vrrp_sync.c vrrp_sync_backup.
func (g *Group) syncBackup(m *member) { g.syncTo(m, Backup) }

// syncFault is vrrp_sync.c vrrp_sync_fault.
func (g *Group) syncFault(m *member) { g.syncTo(m, Fault) }

// syncTo forces every other member into to (BACKUP or FAULT) after m went
// there, and notifies the group once.
func (g *Group) syncTo(m *member, to State) {
	if g.state == to {
		return
	}
	g.infof("VRRP_Group(%s) Syncing instances to %s state", g.name, to)
	for _, o := range g.members {
		if o == m || o.state == to {
			continue
		}
		o.want = to
		g.order(o, to)
	}
	g.state = to
	g.fx.NotifyGroup(to)
}

// order queues a forced transition; the member's loop carries it out.
func (g *Group) order(o *member, to State) {
	o.state = to
	o.order = to
	o.hold = false
	o.in.wake()
}

// take returns the member's queued order. It stays queued (Busy) until the
// member has carried it out: done, or report of the forced transition.
func (g *Group) take(in *Instance) (to State, hold bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.find(in)
	if m == nil {
		return Init, false
	}
	return m.order, m.hold
}

// done clears an order the member carried out without a transition; a
// newer order queued meanwhile stays.
func (g *Group) done(in *Instance, to State, hold bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.find(in); m != nil {
		g.clear(m, to, hold)
	}
}

func (g *Group) clear(m *member, to State, hold bool) {
	if m.order == to {
		m.order = Init
		m.quick = false
	}
	if hold {
		m.hold = false
	}
}

// Members returns the members' names in the configured order.
func (g *Group) Members() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, len(g.members))
	for i, m := range g.members {
		out[i] = m.in.name
	}
	return out
}

// Counts returns keepalived's num_member_fault and num_member_init: the
// members held in FAULT by their own tracked objects, and those waiting for
// their first script results.
func (g *Group) Counts() (fault, init int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.members {
		if m.faulty {
			fault++
		}
		if m.pending {
			init++
		}
	}
	return fault, init
}
