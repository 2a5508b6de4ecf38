package vrrpfsm

import (
	"context"
	"strings"
	"time"
)

// Run runs the instance on a loop of its own (see Loop) until ctx is done:
// it chooses the initial state as keepalived's vrrp_init_state does, then
// handles one event at a time. When ctx is done it resigns if MASTER
// (priority 0 advert, addresses removed), notifies STOP and returns nil.
func (in *Instance) Run(ctx context.Context) error {
	if err := NewLoop(in.clk).Start(ctx, in, nil); err != nil {
		return err
	}
	<-in.done
	return nil
}

// drain handles, on the loop's goroutine, everything due for the
// instance: a sync group's order first (it was queued while another member
// handled an event, and supersedes what this one would do), then the
// stop, the state's timer if it expired (before the events queued after
// it, so that Sync is deterministic), then the queued events in order.
func (in *Instance) drain() {
	if in.starting {
		in.starting = false
		st, _ := in.start()
		in.cur = st
		in.publish()
	}
	for !in.over {
		in.qmu.Lock()
		kicked, stop := in.kicked, in.stopReq
		in.kicked = false
		in.qmu.Unlock()
		switch {
		case kicked:
			in.dispatch(event{kind: evForce}, false, false)
		case stop:
			in.dispatch(event{}, false, true)
		case in.timerOn && !in.sands.After(in.now()):
			in.timerOn = false
			in.loop.setTimer(in, false)
			in.late()
			in.dispatch(event{}, true, false)
		default:
			in.qmu.Lock()
			if len(in.q) == 0 {
				in.q = nil
				in.qmu.Unlock()
				return
			}
			ev := in.q[0]
			in.q[0] = event{}
			in.q = in.q[1:]
			if ev.kind == evAdvert {
				in.nadv--
			}
			in.qmu.Unlock()
			if ev.kind == evSync {
				close(ev.done)
				continue
			}
			in.dispatch(ev, false, false)
		}
	}
}

// dispatch hands one event to the current state and carries out the
// transition it asks for.
func (in *Instance) dispatch(ev event, fired, stop bool) {
	var next State
	var why Reason
	var leave bool
	switch in.cur {
	case Backup:
		next, why, leave = in.backupStep(ev, fired, stop)
	case Master:
		next, why, leave = in.masterStep(ev, fired, stop)
	case Fault:
		next, why, leave = in.faultStep(ev, fired, stop)
	default:
		next, why, leave = Stop, ReasonShutdown, true
	}
	if leave {
		in.transition(in.cur, next, why)
		in.cur = next
	}
	in.publish()
	if leave && next == Stop {
		in.finish()
	}
}

// finish ends the instance: nothing more is queued or timed.
func (in *Instance) finish() {
	in.over = true
	in.timerOn = false
	if in.heapIdx >= 0 {
		in.loop.setTimer(in, false)
	}
	in.qmu.Lock()
	in.closed = true
	in.q = nil
	stopped := in.stopped
	in.qmu.Unlock()
	close(in.done)
	in.loop.finished()
	if stopped != nil {
		go stopped()
	}
}

// now is the time of the loop's pass (Loop.now), from which the state
// machine times its deadlines. Only on the loop's goroutine.
func (in *Instance) now() time.Time { return in.loop.now }

// advertAt is the deadline of a master's next advert, d after the pass's
// time; after the clock's reading instead when the pass has lasted d or
// more (slow Effects of many transitions), so that no instance sends two
// adverts back to back.
func (in *Instance) advertAt(d time.Duration) time.Time {
	t := in.now().Add(d)
	if now := in.clk.Now(); !t.After(now) {
		return now.Add(d)
	}
	return t
}

// late reports how long after its deadline the state's timer is handled.
func (in *Instance) late() {
	if in.cfg.OnLate == nil {
		return
	}
	if d := in.clk.Now().Sub(in.sands); d > 0 {
		in.cfg.OnLate(d)
	}
}

// arm points the timer at sands (BACKUP, MASTER) or stops it (FAULT).
func (in *Instance) arm() {
	in.timerOn = in.state == Backup || in.state == Master
	in.loop.setTimer(in, in.timerOn)
}

func (in *Instance) msDownTimer() time.Duration {
	return MasterDownInterval(in.cfg.Version, in.eff, in.cfg.DownTimerAdverts, in.masterAdvInt)
}

func (in *Instance) owner() bool { return in.base == PriorityOwner }

// start sets the effective priority from the tracks' initial states and
// enters the initial state (vrrp_track.c initialise_tracking_priorities,
// vrrp_scheduler.c vrrp_init_state).
func (in *Instance) start() (State, Reason) {
	if in.ifDown {
		in.infof("(%s): entering FAULT state (interface %s down)", in.name, in.cfg.Interface)
	}
	for _, name := range in.trackOrder {
		if t := in.tracks[name]; t.Valued {
			if t.value <= ValueFault {
				in.infof("(%s): entering FAULT state (tracked file %s has status %d)", in.name, strings.TrimPrefix(name, "file:"), t.InitialValue)
			}
		} else if t.Weight == 0 && t.state != TrackPending && (t.state == TrackUp) == t.Reverse {
			switch {
			case strings.HasPrefix(name, "process:"):
				in.infof("(%s) entering FAULT state (tracked process %s quorum not achieved)", in.name, strings.TrimPrefix(name, "process:"))
			default:
				in.infof("(%s): entering FAULT state due to script %s", in.name, strings.TrimPrefix(name, "script:"))
			}
		}
	}
	in.recomputePriority()
	faults, pending := in.faults()
	now := in.now()
	gst := Backup
	if in.grp != nil {
		gst = in.grp.start(in)
	}
	switch {
	case gst == Fault:
		// A member faulty at start holds its whole group in FAULT, and
		// keepalived says so and notifies (vrrp.c vrrp_complete_init).
		in.infof("(%s) entering FAULT state", in.name)
		in.msDown = in.msDownTimer()
		in.state = Fault
		in.wantMaster = false
		in.stamp(now, ReasonStart)
		in.arm()
		in.notify(Init, Fault)
		in.report(Init, Fault)
		return Fault, ReasonStart
	case gst == Init && faults == 0 && pending == 0:
		// Another member waits for its scripts: FAULT without a word.
		in.msDown = in.msDownTimer()
		in.state = Fault
		in.stamp(now, ReasonStart)
		in.arm()
		in.report(Init, Fault)
		return Fault, ReasonStart
	case faults == 0 && pending == 0 && in.wantMaster && in.owner():
		// keepalived times out of BACKUP after 1 µs: no BACKUP line.
		in.nextReason = ReasonOwner
		in.gotoMaster(Init, ReasonOwner)
		in.report(Init, Master)
		return Master, ReasonOwner
	case faults == 0 && pending == 0:
		if in.wantMaster && in.grp != nil && gst == Backup {
			// A member wanting MASTER in a BACKUP group listens for
			// one advert interval for another master first.
			in.msDown = in.masterAdvInt + skew(in.cfg.Version, 1, in.masterAdvInt)
		} else {
			// `state MASTER` below 255 waits the whole master-down
			// interval as any backup: keepalived's vrrp_init_state takes
			// the short timer only when the sync group's state (BACKUP)
			// differs from the wanted one (MASTER); alone, the wanted
			// state is the new state (measured: MASTER 3.6 s after
			// "Entering BACKUP STATE (init)" at priority 100).
			in.msDown = in.msDownTimer()
		}
		in.nextReason = ReasonMasterDown
		in.infof("(%s) Entering BACKUP STATE (init)", in.name)
		in.state = Backup
		in.sands = now.Add(in.msDown)
		in.stamp(now, ReasonStart)
		in.arm()
		in.notify(Init, Backup)
		in.report(Init, Backup)
		return Backup, ReasonStart
	default:
		// A fault at start: keepalived logs the cause (vrrp_track.c
		// initialise_*), then "entering FAULT state", and notifies
		// (vrrp.c vrrp_complete_init); tracks not reported yet (scripts
		// not run) hold the instance in FAULT silently.
		in.msDown = in.msDownTimer()
		in.state = Fault
		if faults > 0 {
			in.wantMaster = false
			in.infof("(%s) entering FAULT state", in.name)
		}
		in.stamp(now, ReasonStart)
		in.arm()
		if faults > 0 {
			in.notify(Init, Fault)
		}
		in.report(Init, Fault)
		return Fault, ReasonStart
	}
}

func (in *Instance) stamp(now time.Time, why Reason) {
	in.mu.Lock()
	in.status.LastTransition = now
	in.status.LastReason = why
	in.mu.Unlock()
}

// transition carries out the exit and entry actions of from -> to, in
// keepalived's order (vrrp.c vrrp_state_goto_master, vrrp_state_leave_master,
// vrrp_state_leave_fault, down_instance; vrrp.c restore_vrrp_interfaces and
// vrrp_notify.c notify_shutdown for Stop).
func (in *Instance) transition(from, to State, why Reason) {
	in.log.Debug().Str("from", from.String()).Str("to", to.String()).Str("reason", why.String()).
		Msgf("%s: %s -> %s (%s)", in.name, from, to, why)
	now := in.now()
	forced := in.forcing
	defer func() {
		if in.grp != nil {
			// Published first: a test that sees the group idle sees the
			// member's new state.
			in.publish()
			if why == ReasonVIPRemoved && !forced {
				in.grp.vipRemoved(in)
			}
			in.grp.report(in, from, to, forced)
		}
		in.forcing = false
	}()
	switch {
	case to == Stop:
		if from == Master {
			in.resign()
			in.leaveMaster(context.WithoutCancel(in.ctx))
		}
		in.state = Stop
		in.timerOn = false
		in.loop.setTimer(in, false)
		in.stamp(now, why)
		in.notify(from, Stop)
	case to == Master:
		in.gotoMaster(from, why)
	case from == Master: // to BACKUP or FAULT
		if to == Backup {
			in.infof("(%s) Entering BACKUP STATE", in.name)
			in.preemptTime = time.Time{}
			if why == ReasonVIPRemoved {
				in.resign()
			}
		} else {
			in.infof("(%s) Entering FAULT STATE", in.name)
			in.send(PriorityStop)
			if !forced {
				// A member ordered to FAULT sends one priority 0 advert,
				// not two (vrrp_sync.c vrrp_sync_fault).
				in.resign()
			}
			in.masterAdvInt = in.cfg.AdvertInt
		}
		in.leaveMaster(in.ctx)
		in.state = to
		in.stamp(now, why)
		in.notify(from, to)
		in.msDown = in.msDownTimer()
		if why == ReasonVIPRemoved {
			// Back to MASTER quickly, addresses restored.
			in.msDown = SkewTime(in.cfg.Version, in.eff, in.masterAdvInt)
			in.nextReason = ReasonMasterDown
		}
		in.sands = now.Add(in.msDown)
		in.arm()
		in.count(func(s *Stats) { s.ReleaseMaster++ })
	default: // BACKUP -> FAULT, FAULT -> BACKUP
		// A BACKUP member ordered to FAULT enters it without the line
		// (vrrp_sync.c vrrp_sync_fault sets the state before
		// vrrp_state_leave_fault, which logs only a change).
		if !forced || to != Fault {
			in.infof("(%s) Entering %s STATE", in.name, to)
		}
		in.state = to
		in.stamp(now, why)
		in.notify(from, to)
		if to == Backup {
			in.preemptTime = time.Time{}
			// try_up_instance: the next takeover is for a silent master.
			in.nextReason = ReasonMasterDown
		}
		in.masterAdvInt = in.cfg.AdvertInt
		in.msDown = in.msDownTimer()
		in.sands = now.Add(in.msDown)
		in.arm()
	}
}

// gotoMaster: send an advert first so the old master drops the addresses
// before our gratuitous ARPs, then take the addresses.
func (in *Instance) gotoMaster(from State, why Reason) {
	now := in.now()
	in.state = Master
	in.sands = in.advertAt(in.cfg.AdvertInt)
	in.arm()
	in.send(in.eff)
	if !in.vipSet {
		in.infof("(%s) Entering MASTER STATE", in.name)
		if in.cfg.Version == 3 && in.masterAdvInt != in.cfg.AdvertInt {
			in.detailf("(%s) changing advert interval from %dms to locally configured %dms", in.name,
				in.masterAdvInt.Milliseconds(), in.cfg.AdvertInt.Milliseconds())
		}
	}
	// keepalived resets the interval only with -D (log_detail), a slip
	// without visible effect: a master times nothing by it.
	in.masterAdvInt = in.cfg.AdvertInt
	if !in.vipSet {
		in.count(func(s *Stats) { s.BecomeMaster++ })
		in.fx.BecomeMaster(in.ctx)
		in.vipSet = true
		in.stamp(now, why)
		in.notify(from, Master)
	}
}

// notify sends the instance's notification unless its sync group says it
// is redundant (vrrp_notify.c send_instance_notifies).
func (in *Instance) notify(from, to State) {
	if in.grp != nil && in.grp.quiet(in, to, in.forcing) {
		return
	}
	in.notified = true
	in.fx.Notify(from, to, in.eff)
}

// report tells the sync group, if any, about a transition.
func (in *Instance) report(from, to State) {
	if in.grp != nil {
		in.grp.report(in, from, to, in.forcing)
	}
}

// resign sends the priority 0 advert that lets a backup take over after its
// skew time instead of the full master-down interval.
func (in *Instance) resign() {
	in.send(PriorityStop)
	in.count(func(s *Stats) { s.PriZeroSent++ })
	in.detailf("(%s) sent 0 priority", in.name)
}

func (in *Instance) leaveMaster(ctx context.Context) {
	if in.vipSet {
		in.fx.LeaveMaster(ctx)
		in.vipSet = false
	}
}

func (in *Instance) send(prio int) {
	err := in.snd.SendAdvert(uint8(prio))
	in.count(func(s *Stats) { s.AdvertSent++ })
	// keepalived stays quiet about a resignation on a down interface.
	if err != nil && (prio != PriorityStop || !in.ifDown) {
		in.infof("(%s): send advert error (%v)", in.name, err)
	}
}
