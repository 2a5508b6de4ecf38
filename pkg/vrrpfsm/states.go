package vrrpfsm

import "time"

// backup waits for the master-down timer, resetting it on adverts that the
// rules of vrrp.c vrrp_state_backup accept.
func (in *Instance) backupStep(ev event, fired, stop bool) (State, Reason, bool) {
	switch {
	case stop:
		return Stop, ReasonShutdown, true
	case fired:
		in.detailf("(%s) Receive advertisement timeout", in.name)
		if in.grp != nil && !in.grp.canMaster(in) {
			// Held in BACKUP by a member that does not want MASTER:
			// wait a whole master-down interval again
			// (vrrp_sync.c vrrp_sync_can_goto_master).
			in.msDown = in.msDownTimer()
			in.sands = in.now().Add(in.msDown)
			in.arm()
			break
		}
		return Master, in.nextReason, true
	case ev.kind == evAdvert:
		in.backupRx(ev.adv)
		in.arm()
	default:
		if to, why, ok := in.track(ev); ok {
			return to, why, true
		}
	}
	return Stop, ReasonNone, false
}

func (in *Instance) backupRx(a Advert) {
	in.countRx(a)
	now := in.now()
	prio := int(a.Priority)
	ignore := false
	switch {
	case prio == PriorityStop:
		in.detailf("(%s) Backup received priority 0 advertisement", in.name)
		in.msDown = SkewTime(in.cfg.Version, in.eff, in.masterAdvInt)
		in.nextReason = ReasonPriorityZero
	case in.cfg.NoPreempt || prio >= in.eff ||
		(in.cfg.PreemptDelay > 0 && (in.preemptTime.IsZero() || in.preemptTime.After(now))):
		in.adoptInterval(a)
		in.msDown = in.msDownTimer()
		in.masterAddr, in.masterPrio = a.Src, prio
		in.nextReason = ReasonMasterDown
		if in.grp != nil {
			// A master is alive: whatever an expired timer said, this
			// member no longer wants MASTER, and holds its group back.
			in.grp.wantBackup(in)
		}
		if in.cfg.PreemptDelay > 0 {
			if prio >= in.eff {
				if !in.preemptTime.IsZero() {
					in.detailf("(%s) stop preempt delay", in.name)
					in.preemptTime = time.Time{}
				}
			} else if in.preemptTime.IsZero() {
				d := in.cfg.PreemptDelay
				in.detailf("(%s) start preempt delay (%d.%06d)", in.name,
					d/time.Second, (d%time.Second)/time.Microsecond)
				in.preemptTime = now.Add(d)
			}
		}
	default:
		in.infof("(%s) received lower priority (%d) advert from %s - discarding", in.name, prio, a.Src)
		ignore = true
		in.nextReason = ReasonPreempted
		in.masterAddr = a.Src
	}
	if ignore {
		// The timer keeps running: remember what is left of it.
		in.msDown = in.sands.Sub(now)
		if in.msDown < 0 {
			in.msDown = 0
		}
	}
	in.sands = now.Add(in.msDown)
}

// adoptInterval: a VRRPv3 backup sets Master_Adver_Interval from the
// master's advert (RFC 5798 Section 6.4.2).
func (in *Instance) adoptInterval(a Advert) {
	if in.cfg.Version != 3 || a.AdvertInt <= 0 || a.AdvertInt == in.masterAdvInt {
		return
	}
	in.detailf("(%s) advertisement interval updated from %dms to %dms by master", in.name,
		in.masterAdvInt.Milliseconds(), a.AdvertInt.Milliseconds())
	in.masterAdvInt = a.AdvertInt
}

func (in *Instance) countRx(a Advert) {
	in.count(func(s *Stats) {
		s.AdvertRcvd++
		if a.Priority == PriorityStop {
			s.PriZeroRcvd++
		}
	})
}

// master sends an advert every advert_int and answers adverts as
// vrrp.c vrrp_state_master_rx does.
func (in *Instance) masterStep(ev event, fired, stop bool) (State, Reason, bool) {
	switch {
	case stop:
		return Stop, ReasonShutdown, true
	case fired:
		in.send(in.eff)
		in.sands = in.advertAt(in.cfg.AdvertInt)
		in.arm()
	case ev.kind == evVIPGone:
		return Backup, ReasonVIPRemoved, true
	case ev.kind == evAdvert:
		if why, leave := in.masterRx(ev.adv); leave {
			return Backup, why, true
		}
		// Having answered, the next advert is one interval away.
		if !in.cfg.LowerPrioNoAdvert {
			in.sands = in.advertAt(in.cfg.AdvertInt)
			in.arm()
		}
	default:
		if to, why, ok := in.track(ev); ok {
			return to, why, true
		}
	}
	return Stop, ReasonNone, false
}

func (in *Instance) masterRx(a Advert) (Reason, bool) {
	in.countRx(a)
	prio := int(a.Priority)
	cmp := 0
	if in.cfg.Address.IsValid() {
		cmp = a.Src.Compare(in.cfg.Address)
	}
	if prio == PriorityStop ||
		(in.cfg.HigherPrioSendAdvert && (prio > in.eff || (prio == in.eff && cmp > 0))) {
		in.send(in.eff)
		if prio == PriorityStop {
			in.detailf("(%s) Master received priority 0 message", in.name)
			return ReasonNone, false
		}
	}
	if prio == in.eff {
		if cmp == 0 {
			in.infof("(%s) WARNING - equal priority advert received from remote host with our IP address.", in.name)
		} else if in.eff == PriorityOwner {
			in.infof("(%s) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority", in.name)
			in.eff = PriorityOwner - 1
			in.base = PriorityOwner - 1
		}
	}
	if prio < in.eff || (prio == in.eff && cmp < 0) {
		suffix := ""
		if !in.cfg.LowerPrioNoAdvert {
			suffix = ", forcing new election"
		}
		in.infof("(%s) Received advert from %s with lower priority %d, ours %d%s",
			in.name, a.Src, prio, in.eff, suffix)
		if in.cfg.AuthAH {
			in.infof("(%s) IPSEC-AH : Syncing seq_num - Increment seq", in.name)
			if s, ok := in.snd.(AHSyncer); ok {
				s.SyncAHSeq(a.AHSeq)
			}
		}
		if !in.cfg.LowerPrioNoAdvert {
			in.send(in.eff)
		}
		if a, ok := in.fx.(LowerPrioAnnouncer); ok {
			a.LowerPrioAdvert()
		}
		return ReasonNone, false
	}
	if prio > in.eff || (prio == in.eff && cmp > 0) {
		why := ReasonHigherPriority
		if prio > in.eff {
			in.infof("(%s) Master received advert from %s with higher priority %d, ours %d",
				in.name, a.Src, prio, in.eff)
		} else {
			why = ReasonHigherAddress
			in.infof("(%s) Master received advert from %s with same priority %d but higher IP address than ours",
				in.name, a.Src, prio)
		}
		in.adoptInterval(a)
		in.masterAddr, in.masterPrio = a.Src, prio
		return why, true
	}
	return ReasonNone, false
}

// fault ignores adverts and waits for every unweighted track to be up.
func (in *Instance) faultStep(ev event, fired, stop bool) (State, Reason, bool) {
	switch {
	case stop:
		return Stop, ReasonShutdown, true
	case ev.kind == evAdvert:
		// keepalived drops adverts in FAULT before looking at them.
	default:
		if to, why, ok := in.track(ev); ok {
			return to, why, true
		}
	}
	return Stop, ReasonNone, false
}
