package vrrpfsm

// track applies a track or interface event: it updates the effective
// priority (vrrp_track.c process_script_update_priority) and says whether
// the instance must enter FAULT (down_instance) or may leave it
// (try_up_instance).
func (in *Instance) track(ev event) (State, Reason, bool) {
	if ev.kind == evForce {
		return in.forced()
	}
	wasFaults, wasPending := in.faults()
	why := ReasonTrackFailed
	switch ev.kind {
	case evIface:
		in.ifDown = !ev.ok
		why = ReasonInterfaceDown
	case evPriority:
		in.base = ev.prio
		in.recomputePriority()
		return 0, ReasonNone, false
	case evTrackValue:
		t, ok := in.tracks[ev.name]
		if !ok || !t.Valued {
			in.log.Warn().Msgf("(%s) unknown tracked file %s - ignoring", in.name, ev.name)
			return 0, ReasonNone, false
		}
		t.value = clampValue(ev.prio)
	case evTrack:
		t, ok := in.tracks[ev.name]
		if !ok {
			in.log.Warn().Msgf("(%s) unknown tracked object %s - ignoring", in.name, ev.name)
			return 0, ReasonNone, false
		}
		if ev.ok {
			t.state = TrackUp
		} else {
			t.state = TrackDown
		}
	default:
		return 0, ReasonNone, false
	}
	in.recomputePriority()
	faults, pending := in.faults()
	if in.grp != nil {
		in.grp.health(in, faults > 0, pending > 0)
	}
	switch {
	case in.state != Fault && faults > 0:
		in.wantMaster = false
		return Fault, why, true
	case in.state == Fault && faults == 0 && pending == 0 && (wasFaults > 0 || wasPending > 0):
		// Only the owner still wanting MASTER since start (its scripts had
		// not run yet) goes straight to MASTER; after a real fault keepalived
		// always comes back as BACKUP. A sync group member stays in FAULT
		// while another member is faulty; the group brings it back.
		if in.grp != nil && !in.grp.mayRecover(in) {
			in.wantMaster = false
			return 0, ReasonNone, false
		}
		if in.wantMaster && in.owner() && (in.grp == nil || in.grp.canMaster(in)) {
			in.nextReason = ReasonOwner
			return Master, ReasonOwner, true
		}
		in.wantMaster = false
		return Backup, ReasonRecovered, true
	}
	return 0, ReasonNone, false
}

// faults counts the unweighted tracks that hold the instance in FAULT, and
// those not reported yet.
func (in *Instance) faults() (faults, pending int) {
	if in.ifDown {
		faults++
	}
	for _, name := range in.trackOrder {
		t := in.tracks[name]
		if t.Valued {
			if t.value <= ValueFault {
				faults++
			}
			continue
		}
		if t.Weight != 0 {
			continue
		}
		switch t.state {
		case TrackPending:
			pending++
		case TrackUp:
			if t.Reverse {
				faults++
			}
		case TrackDown:
			if !t.Reverse {
				faults++
			}
		}
	}
	return faults, pending
}

// recomputePriority sets the effective priority from the base and the
// weighted tracks, clamped to 1..254; the owner's priority never changes
// (vrrp_track.c vrrp_set_effective_priority). In BACKUP the master-down
// deadline moves by the change of the skew time.
func (in *Instance) recomputePriority() {
	if in.owner() {
		return
	}
	total := in.base
	for _, name := range in.trackOrder {
		t := in.tracks[name]
		if t.Valued {
			if t.value > ValueFault {
				total += t.value
			}
			continue
		}
		m := 1
		if t.Reverse {
			m = -1
		}
		switch {
		case t.Weight > 0 && t.state == TrackUp:
			total += t.Weight * m
		case t.Weight < 0 && t.state == TrackDown:
			total += t.Weight * m
		}
	}
	prio := min(max(total, 1), PriorityOwner-1)
	if prio == in.eff {
		return
	}
	in.infof("(%s) Changing effective priority from %d to %d", in.name, in.eff, prio)
	in.eff = prio
	if in.cfg.OnPriority != nil {
		in.cfg.OnPriority(in.state, prio)
	}
	old := in.msDown
	in.msDown = in.msDownTimer()
	if in.state == Backup {
		in.sands = in.sands.Add(in.msDown - old)
		in.arm()
	}
}

// forced carries out the order the sync group queued (vrrp_sync.c): a
// transition to the group's state, or for a held BACKUP member a fresh
// master-down timer.
func (in *Instance) forced() (State, Reason, bool) {
	to, hold := in.grp.take(in)
	if hold && in.state == Backup {
		in.msDown = in.msDownTimer()
		in.sands = in.now().Add(in.msDown)
		in.arm()
	}
	if to == Init || to == in.state {
		in.grp.done(in, to, hold)
		return 0, ReasonNone, false
	}
	if faults, _ := in.faults(); faults > 0 && to != Fault {
		// Its own fault keeps it down; the group will hear of its recovery.
		in.grp.done(in, to, hold)
		return 0, ReasonNone, false
	}
	in.forcing = true
	in.wantMaster = to == Master
	if in.grp.takeQuick(in) && in.state == Master {
		return to, ReasonVIPRemoved, true
	}
	return to, ReasonSync, true
}
