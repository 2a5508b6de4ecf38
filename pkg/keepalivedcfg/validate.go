package keepalivedcfg

import (
	"fmt"
	"strings"
	"time"
)

// validate applies keepalived 2.2.7's start-up checks and corrections
// (keepalived/vrrp/vrrp.c vrrp_complete_init and vrrp_complete_instance,
// vrrp_sync.c vrrp_sync_set_group), in keepalived's order. Checks that
// make keepalived's VRRP process exit are Fatal; keepalived stops at the
// first of them, so the later checks are not made either.
func (p *parser) validate() {
	if p.missingIf {
		p.global(p.missingIfPos, Fatal, classBadIf, "Non-existent interface specified in configuration")
		return
	}
	if len(p.cfg.Instances) == 0 {
		return
	}
	p.scriptSecurity()
	for _, in := range p.cfg.Instances {
		st := p.states[in]
		if in.VRID == 0 {
			p.global(in.Pos, Fatal, classGeneral, "(%s) the virtual router id must be set", in.Name)
			return
		}
		if !st.ifaceSet && len(in.UnicastPeers) == 0 {
			p.global(in.Pos, Fatal, classGeneral, "(%s) Unknown interface!", in.Name)
			return
		}
	}
	p.syncGroups()
	for _, in := range p.cfg.Instances {
		if !p.completeInstance(in) {
			return
		}
	}
	p.vridConflicts()
	p.syncGroupTracking()
}

// scriptSecurity is check_vrrp_script_security. With Options.CheckScript
// the scripts are checked on disk as keepalived checks them: a track script
// that cannot run is removed from the instances tracking it, a notify
// script that cannot run is dropped. Without it, only the SECURITY
// VIOLATION check is made (every configured script counts as a script).
func (p *parser) scriptSecurity() {
	g := &p.cfg.Global
	check := p.opts.CheckScript
	anyScript, insecure := false, false
	// The SECURITY VIOLATION diagnostic points at the first script.
	var pos Pos
	verdict := func(args []string, user, group string, at Pos) ScriptVerdict {
		if pos.Line == 0 {
			pos = at
		}
		if check == nil {
			anyScript = true
			return ScriptRuns
		}
		if user == "" {
			user, group = g.ScriptUser, g.ScriptGroup
		}
		v, logs := check(args, user, group, g.EnableScriptSecurity)
		for _, l := range logs {
			p.global(at, Info, classOK, "%s", l)
			p.diags[len(p.diags)-1].logOnly = true
		}
		// keepalived's SC_ISSCRIPT: the file was found ("</file" tests
		// are not scripts).
		isFileTest := len(args) > 0 && strings.HasPrefix(args[0], "<")
		if v != ScriptNotFound && !isFileTest {
			anyScript = true
		}
		insecure = insecure || v == ScriptInsecure
		return v
	}
	var keep []*Script
	removed := map[string]bool{}
	for _, s := range p.cfg.Scripts {
		switch verdict(s.Args, s.User, s.Group, s.Pos) {
		case ScriptInhibited:
			p.global(s.Pos, Error, classGeneral, "Disabling track script %s due to insecure", s.Name)
		case ScriptNotFound:
			p.global(s.Pos, Error, classGeneral, "Disabling track script %s since not found/accessible", s.Name)
		case ScriptNotExecutable:
		default:
			keep = append(keep, s)
			continue
		}
		removed[s.Name] = true
	}
	notify := func(n **Notify) {
		if *n == nil {
			return
		}
		switch verdict((*n).Args, (*n).User, (*n).Group, (*n).Pos) {
		case ScriptInhibited, ScriptNotFound, ScriptNotExecutable:
			*n = nil
		}
	}
	for _, in := range p.cfg.Instances {
		for _, n := range []**Notify{&in.NotifyBackup, &in.NotifyMaster, &in.NotifyFault, &in.NotifyStop, &in.NotifyDeletedScript, &in.Notify, &in.NotifyMasterRxLowerPri} {
			notify(n)
		}
		var ts []TrackScript
		for _, t := range in.TrackScripts {
			if !removed[t.Name] {
				ts = append(ts, t)
			}
		}
		in.TrackScripts = ts
	}
	for _, sg := range p.cfg.SyncGroups {
		for _, n := range []**Notify{&sg.NotifyBackup, &sg.NotifyMaster, &sg.NotifyFault, &sg.NotifyStop, &sg.Notify} {
			notify(n)
		}
	}
	for _, f := range []*NotifyFIFO{g.NotifyFIFO, g.VRRPNotifyFIFO} {
		if f != nil {
			notify(&f.Script)
		}
	}
	if check != nil {
		p.cfg.Scripts = keep
		p.cfg.ScriptsChecked = true
	}
	if !g.EnableScriptSecurity && anyScript {
		suffix := ""
		if insecure {
			suffix = " There are insecure scripts."
		}
		p.global(pos, Security, classSecurity, "SECURITY VIOLATION - scripts are being executed but script_security not enabled.%s", suffix)
	}
}

func (p *parser) syncGroups() {
	var keep []*SyncGroup
	member := map[string]bool{}
	for _, g := range p.cfg.SyncGroups {
		st := p.sgStates[g]
		if !st.groupSet {
			p.global(g.Pos, Error, classGeneral, "Sync group %s has no virtual router(s). removing", g.Name)
			continue
		}
		state := -1
		for _, name := range st.names {
			in := p.cfg.Instance(name)
			if in == nil {
				p.global(st.namesPos, Error, classGeneral, "Virtual router %s specified in sync group %s doesn't exist - ignoring", name, g.Name)
				continue
			}
			if member[name] {
				p.global(st.namesPos, Error, classGeneral, "Virtual router %s cannot exist in more than one sync group; ignoring %s", name, g.Name)
				continue
			}
			member[name] = true
			p.states[in].syncGroup = g.Name
			g.Instances = append(g.Instances, name)
			ist := p.states[in]
			if state == wantMaster && ist.wantState == wantBackup {
				p.global(g.Pos, Error, classGeneral, "Sync group %s has some member(s) as address owner and some not as address owner. This won't work.", g.Name)
			}
			if state != wantBackup {
				if ist.wantState == wantMaster && ist.basePriority == 255 {
					state = wantMaster
				} else {
					state = wantBackup
				}
			}
		}
		if len(g.Instances) == 0 {
			p.global(g.Pos, Error, classGeneral, "Sync group %s, no matching virtual router found in group declaration - removing", g.Name)
			continue
		}
		if len(g.Instances) == 1 {
			p.global(g.Pos, Error, classGeneral, "Sync group %s has only 1 virtual router(s) - this probably isn't what you want", g.Name)
		}
		keep = append(keep, g)
	}
	p.cfg.SyncGroups = keep
}

// completeInstance is vrrp_complete_instance; false stops the checks.
func (p *parser) completeInstance(in *Instance) bool {
	st := p.states[in]
	g := &p.cfg.Global
	name := in.Name

	strict := p.gs.strict
	if st.strict != -1 {
		strict = st.strict == 1
	}

	if st.family == 6 {
		if st.version == 2 && strict {
			p.global(in.Pos, Error, classGeneral, "(%s) cannot use IPv6 with VRRP version 2; setting version 3", name)
			st.version = 3
		} else if st.version == 0 {
			st.version = 3
		}
	}
	if st.family == 0 {
		st.family = 4
	}
	if st.version == 0 {
		st.version = g.VRRPVersion
	}
	in.Family, in.Version = st.family, st.version
	if in.Family == 4 && st.ttl == -1 {
		st.ttl = 255
	}
	in.UnicastTTL = max(st.ttl, 0)

	if len(in.VIPs) == 0 {
		if in.Version == 3 || strict {
			p.global(in.Pos, Fatal, classGeneral, "(%s) No VIP specified; at least one is required", name)
			return false
		}
		p.global(in.Pos, Error, classGeneral, "(%s) No VIP specified; at least one is sensible", name)
	}

	if st.basePriority == 0 {
		if st.wantState == wantMaster {
			st.basePriority = 255
		} else {
			st.basePriority = 100
		}
	}
	if st.wantState == 0 {
		if st.basePriority == 255 {
			st.wantState = wantMaster
		} else {
			st.wantState = wantBackup
		}
	} else if strict && (st.wantState == wantMaster) != (st.basePriority == 255) {
		p.global(in.Pos, Error, classGeneral, "(%s) State MASTER must match being address owner", name)
		if st.basePriority == 255 {
			st.wantState = wantMaster
		} else {
			st.wantState = wantBackup
		}
	}

	auth := st.authType
	switch {
	case strict && auth != AuthNone:
		p.global(in.Pos, Error, classGeneral, "(%s) Strict mode does not support authentication. Ignoring.", name)
		auth = AuthNone
	case in.Version == 3 && auth != AuthNone:
		p.global(in.Pos, Error, classGeneral, "(%s) VRRP version 3 does not support authentication. Ignoring.", name)
		auth = AuthNone
	case auth != AuthNone && st.authPass == "":
		p.global(in.Pos, Error, classGeneral, "(%s) Authentication specified but no password given. Ignoring", name)
		auth = AuthNone
	case in.Family == 6 && auth == AuthAH:
		p.global(in.Pos, Error, classGeneral, "(%s) Cannot use AH authentication with IPv6. ignoring", name)
		auth = AuthNone
	case auth == AuthAH && st.wantState == wantMaster && st.basePriority != 255:
		// An AH backup needs a received advert to learn the sequence
		// number before it may take over (keepalived vrrp.c).
		p.global(in.Pos, Error, classGeneral, "(%s) Initial state master is incompatible with AH authentication - clearing", name)
		st.wantState = wantBackup
	}
	if auth != AuthNone {
		in.Auth = &Auth{Type: auth, Pass: st.authPass}
	}

	if !st.ifaceSet && !st.saddrFromConfig {
		p.global(in.Pos, Fatal, classGeneral, "(%s): Unicast instances must have unicast_src_ip or interface", name)
		return false
	}
	in.Unicast = len(in.UnicastPeers) > 0
	if st.unicastConfigured && !in.Unicast {
		p.global(in.Pos, Warning, classDeprecated, "(%s) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.", name)
	}
	if in.Family == 6 && !in.Unicast && len(in.VIPs) > 0 && !in.VIPs[0].Addr().IsLinkLocalUnicast() {
		if strict {
			p.global(in.Pos, Error, classGeneral, "(%s) the first IPv6 VIP address must be link local", name)
		} else {
			p.global(in.Pos, Info, classOK, "(%s) the first IPv6 VIP address should be link local", name)
			p.diags[len(p.diags)-1].logOnly = true
		}
	}

	// The VIPs must fit one advert (Ethernet MTU 1500, 8-bit count).
	hdr := 14 + 20 + 8
	addrLen := 4
	if in.Family == 6 {
		hdr, addrLen = 14+40+8, 16
	} else if in.Version == 2 {
		hdr += 8
		if auth == AuthAH {
			hdr += 24
		}
	}
	maxAddr := min((1500-hdr)/addrLen, 255)
	if len(in.VIPs) > maxAddr {
		p.global(in.Pos, Error, classGeneral, "(%s) Number of VIPs (%d) exceeds maximum/space available in packet (max %d addresses) - excess moved to eVIPs", name, len(in.VIPs), maxAddr)
		in.ExcludedVIPs = append(in.ExcludedVIPs, in.VIPs[maxAddr:]...)
		in.VIPs = in.VIPs[:maxAddr]
	}

	if st.basePriority == 255 && in.NoPreempt {
		p.global(in.Pos, Error, classGeneral, "(%s) nopreempt is incompatible with priority %d. resetting nopreempt", name, 255)
		in.NoPreempt = false
	}
	if st.wantState == wantMaster {
		if in.NoPreempt {
			p.global(in.Pos, Error, classGeneral, "(%s) Warning - nopreempt will not work with initial state MASTER - clearing", name)
			in.NoPreempt = false
		}
		if in.PreemptDelay != 0 {
			p.global(in.Pos, Error, classGeneral, "(%s) Warning - preempt delay will not work with initial state MASTER - clearing", name)
			in.PreemptDelay = 0
		}
	}
	if in.PreemptDelay != 0 {
		if strict {
			p.global(in.Pos, Error, classGeneral, "(%s) preempt_delay is incompatible with strict mode - resetting", name)
			in.PreemptDelay = 0
		}
		if in.NoPreempt {
			p.global(in.Pos, Error, classGeneral, "(%s) preempt_delay is incompatible with nopreempt mode - resetting", name)
			in.PreemptDelay = 0
		}
	}

	// Accept mode, as keepalived built with nftables (Debian's): off by
	// default in strict mode unless address owner, and never for a VRRPv2
	// strict non-owner. Without it keepalived installs nftables rules that
	// drop traffic to the VIPs; gkeepalived has none, so it refuses.
	accept := st.accept == 1 || (st.accept == -1 && (st.basePriority == 255 || !strict))
	if accept && st.basePriority != 255 && strict && in.Version == 2 {
		p.global(in.Pos, Error, classGeneral, "(%s) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting", name)
		accept = false
	}
	if !accept {
		p.diags = append(p.diags, Diagnostic{Severity: Fatal, Pos: in.Pos, class: classUnsupported, extra: true,
			Msg: fmt.Sprintf("(%s) accept mode is off (no_accept, or vrrp_strict/strict_mode without accept): keepalived drops traffic to the VIPs with nftables rules, which gkeepalived does not implement - refusing this configuration", name)})
	}

	if !in.Unicast {
		switch {
		case st.mcastDst.IsValid():
			in.McastDstIP = st.mcastDst
		case in.Family == 4:
			in.McastDstIP = p.gs.mcastGroup4
		default:
			in.McastDstIP = p.gs.mcastGroup6
		}
	} else if st.mcastDst.IsValid() {
		p.global(in.Pos, Error, classGeneral, "(%s) multicast destination specified with unicast - ignoring", name)
	}

	gl := g.GARP
	in.CheckUnicastSrc = in.CheckUnicastSrc || p.checkUnicastSrc
	switch {
	case st.notifyPrio != -1:
		in.NotifyPriorityChanges = st.notifyPrio == 1
	case st.syncGroup != "" && p.syncGroupNotifyPrio(st.syncGroup) != -1:
		in.NotifyPriorityChanges = p.syncGroupNotifyPrio(st.syncGroup) == 1
	default:
		in.NotifyPriorityChanges = p.notifyPrioChanges
	}
	switch {
	case in.GARP.LowerPrioRepeat == -1 && strict:
		in.GARP.LowerPrioRepeat = 0
	case in.GARP.LowerPrioRepeat == -1:
		in.GARP.LowerPrioRepeat = gl.LowerPrioRepeat
	case strict && in.GARP.LowerPrioRepeat != 0:
		p.global(in.Pos, Error, classGeneral, "(%s) Strict mode requires no repeat garps. resetting", name)
		in.GARP.LowerPrioRepeat = 0
	}
	switch {
	case in.GARP.LowerPrioDelay == -1 && strict:
		in.GARP.LowerPrioDelay = 0
	case in.GARP.LowerPrioDelay == -1:
		in.GARP.LowerPrioDelay = gl.LowerPrioDelay
	case strict && in.GARP.LowerPrioDelay != 0:
		p.global(in.Pos, Error, classGeneral, "(%s) Strict mode requires no repeat garp delay. resetting", name)
		in.GARP.LowerPrioDelay = 0
	}
	switch {
	case st.lowerPrioNoAdvert == -1:
		in.LowerPrioNoAdvert = strict || p.gs.lowerPrioNoAdvert
	case strict && st.lowerPrioNoAdvert == 0:
		p.global(in.Pos, Error, classGeneral, "(%s) Strict mode requires no lower priority advert. resetting", name)
		in.LowerPrioNoAdvert = true
	default:
		in.LowerPrioNoAdvert = st.lowerPrioNoAdvert == 1
	}
	switch {
	case st.higherPrioSend == -1:
		in.HigherPrioSendAdvert = !strict && p.gs.higherPrioSendAdvert
	case strict && st.higherPrioSend == 1:
		p.global(in.Pos, Error, classGeneral, "(%s) strict mode requires higher_prio_send_advert to be clear. resetting", name)
		in.HigherPrioSendAdvert = false
	default:
		in.HigherPrioSendAdvert = st.higherPrioSend == 1
	}

	switch {
	case st.smtpAlert != -1:
		in.SMTPAlert = st.smtpAlert == 1
	case g.SMTPAlertVRRP != nil:
		in.SMTPAlert = *g.SMTPAlertVRRP
	case g.SMTPAlert != nil:
		in.SMTPAlert = *g.SMTPAlert
	}

	in.AdvertInt = p.advertInt(in, st.adverInt)

	if st.ifaceSet {
		var ifs []TrackInterface
		for _, t := range in.TrackInterfaces {
			if t.Name == in.Interface {
				p.global(in.Pos, Error, classGeneral, "(%s) Ignoring track_interface %s since own interface", name, t.Name)
				continue
			}
			ifs = append(ifs, t)
		}
		in.TrackInterfaces = ifs
	}

	// keepalived checks for VIPs a second time, as a warning.
	if len(in.VIPs) == 0 {
		p.global(in.Pos, Warning, classWarning, "(%s) No VIP specified; at least one is sensible", name)
	}

	// Weighted tracking is dropped for an address owner and for members
	// of a sync group (keepalived vrrp.c, "ignoring ... due to ...").
	sync := st.syncGroup != "" && !p.syncGroupWeights(st.syncGroup)
	if sync || st.basePriority == 255 {
		var ifs []TrackInterface
		for _, t := range in.TrackInterfaces {
			if t.Weight != 0 {
				w, why := "", "address owner"
				if sync {
					w, why = "weight ", "SYNC group"
				}
				p.global(in.Pos, Error, classGeneral, "(%s) ignoring %s tracked interface %sdue to %s", name, t.Name, w, why)
				if sync {
					t.Weight = 0
				} else {
					continue
				}
			}
			ifs = append(ifs, t)
		}
		in.TrackInterfaces = ifs
		var scs []TrackScript
		for _, t := range in.TrackScripts {
			if t.Weight != 0 {
				why := "address_owner"
				if sync {
					why = "SYNC group"
				}
				p.global(in.Pos, Error, classGeneral, "(%s) ignoring tracked script %s with weights due to %s", name, t.Name, why)
				continue
			}
			scs = append(scs, t)
		}
		in.TrackScripts = scs
		why := "address_owner"
		if sync {
			why = "SYNC group"
		}
		var tfs []TrackFile
		for _, t := range in.TrackFiles {
			switch {
			case t.Weight == 1: // the default weight
				p.global(in.Pos, Error, classGeneral, "(%s) ignoring weight from tracked file %s due to %s. specify weight 0", name, t.Name, why)
				t.Weight = 0
			case t.Weight != 0:
				p.global(in.Pos, Error, classGeneral, "(%s) ignoring tracked file %s with weight %d due to %s", name, t.Name, t.Weight, why)
				continue
			}
			tfs = append(tfs, t)
		}
		in.TrackFiles = tfs
	}

	p.completeVMAC(in, strict)
	// Strict mode without accept mode is refused with the accept mode
	// check (keepalived's nftables drop rules), which knows `accept`.
	in.Priority = st.basePriority
	if st.wantState == wantMaster {
		in.State = StateMaster
	} else {
		in.State = StateBackup
	}
	return true
}

// advertInt applies the default (1 s) and the v2/v3 range and rounding
// rules of vrrp_complete_instance; v is in microseconds.
func (p *parser) advertInt(in *Instance, v uint64) time.Duration {
	const hz = 1000000
	const centi = hz / 100
	if v == 0 {
		v = hz
	}
	secs := func(v uint64) float64 { return float64(v) / hz }
	if in.Version == 2 {
		if v >= 256*hz {
			p.global(in.Pos, Error, classGeneral, "(%s) VRRPv2 advertisement interval %.2fs is out of range. Must be less than %ds. Setting to %ds", in.Name, secs(v), 256, 255)
			v = 255 * hz
		} else if v%hz != 0 {
			p.global(in.Pos, Error, classGeneral, "(%s) VRRPv2 advertisement interval %fs must be an integer. rounding", in.Name, secs(v))
			v += hz / 2
			v -= v % hz
			if v == 0 {
				v = hz
			}
		}
	} else {
		if v >= 4096*centi {
			p.global(in.Pos, Error, classGeneral, "(%s) VRRPv3 advertisement interval %.2fs is out of range. Must be less than %.2fs. Setting to %.2fs", in.Name, secs(v), 40.96, 40.95)
			v = 4095 * centi
		} else if v%centi != 0 {
			p.global(in.Pos, Error, classGeneral, "(%s) VRRPv3 advertisement interval %fs must be in units of 10ms - rounding", in.Name, secs(v))
			v += centi / 2
			v -= v % centi
			if v == 0 {
				v = centi
			}
		}
	}
	return usec(v)
}

// vridConflicts is check_vrid_conflicts for what the parser can see: two
// multicast instances with the same VRID, family, interface and group, or
// two unicast instances with the same VRID, family, source and a shared
// peer.
func (p *parser) vridConflicts() {
	ins := p.cfg.Instances
	for i, a := range ins {
		for _, b := range ins[i+1:] {
			if a.VRID != b.VRID || a.Family != b.Family || a.Unicast != b.Unicast {
				continue
			}
			if a.Unicast {
				if a.SrcIP != b.SrcIP || (a.SrcIP == b.SrcIP && !a.SrcIP.IsValid() && a.Interface != b.Interface) {
					continue
				}
				shared := false
				for _, x := range a.UnicastPeers {
					for _, y := range b.UnicastPeers {
						shared = shared || x == y
					}
				}
				if shared {
					p.global(a.Pos, Fatal, classGeneral, "(%s) duplicate VRID conflict with %s VRID %d", a.Name, b.Name, a.VRID)
				}
				continue
			}
			if a.Interface != b.Interface || a.McastDstIP != b.McastDstIP {
				continue
			}
			p.global(a.Pos, Fatal, classGeneral, "%s and %s both use VRID %d with IPv%d on interface %s", a.Name, b.Name, a.VRID, a.Family, a.Interface)
		}
	}
}

var _ = fmt.Sprint

// noInterface records that a line named an interface that does not exist
// (keepalived's if_get_by_ifname with IF_CREATE_IF_DYNAMIC).
func (p *parser) noInterface(l line) {
	if !p.missingIf {
		p.missingIf, p.missingIfPos = true, l.pos
	}
}
