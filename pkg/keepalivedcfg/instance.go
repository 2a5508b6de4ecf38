package keepalivedcfg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// instState holds what keepalived tracks while reading an instance but the
// model does not keep (unset markers, flags for the final checks).
type instState struct {
	notifyPrio        int // notify_priority_changes: -1 unset, 0, 1
	wantState         int // 0 unset, 1 MASTER, 2 BACKUP
	basePriority      int // 0 unset
	version           int // 0 unset
	family            int // 0 unset, 4, 6
	adverInt          uint64
	ttl               int // -1 unset
	ifaceSet          bool
	unicastConfigured bool
	saddrFromConfig   bool
	authType          AuthType
	authPass          string
	authPos           Pos
	smtpAlert         int    // -1 unset
	lowerPrioNoAdvert int    // -1 unset
	higherPrioSend    int    // -1 unset
	strict            int    // -1 unset
	vmacXmitBase      bool   // vmac_xmit_base
	syncGroup         string // the sync group it joined; "" = none
	accept            int    // -1 unset, 0 no_accept, 1 accept
	mcastDst          netip.Addr
}

const (
	wantMaster = 1
	wantBackup = 2
)

var instanceKeywords = []keyword{
	{name: "state", handler: func(p *parser, l line) {
		st := p.instState
		switch s := p.arg(l, 1); s {
		case "MASTER":
			st.wantState = wantMaster
		case "BACKUP":
			if st.wantState == wantMaster {
				p.errorf(l, "(%s) state previously set as MASTER - ignoring BACKUP", p.inst.Name)
			} else {
				st.wantState = wantBackup
			}
		default:
			p.errorf(l, "(%s) unknown state '%s', defaulting to BACKUP", p.inst.Name, s)
			st.wantState = wantBackup
		}
	}},
	{name: "interface", handler: func(p *parser, l line) {
		name := p.arg(l, 1)
		if len(name) >= 16 {
			p.errorf(l, "Interface name '%s' too long - ignoring", name)
			return
		}
		if name == "" || p.opts.Interfaces != nil {
			var info InterfaceInfo
			ok := false
			if name != "" {
				info, ok = p.opts.Interfaces(name)
			}
			if !ok {
				p.errorf(l, "WARNING - interface %s for vrrp_instance %s doesn't exist", name, p.inst.Name)
				p.noInterface(l)
				return
			}
			if info.Loopback {
				p.errorf(l, "(%s) cannot use a loopback interface (%s) for vrrp - ignoring", p.inst.Name, name)
				p.inst.Interface = ""
				p.instState.ifaceSet = false
				return
			}
		}
		p.inst.Interface = name
		p.instState.ifaceSet = true
	}},
	{name: "dont_track_primary", handler: func(p *parser, l line) { p.inst.DontTrackPrimary = true }},
	{name: "track_interface", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) { p.trackIf(v, p.inst.Name, &p.inst.TrackInterfaces) })
	}},
	{name: "track_script", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) { p.trackScript(v, p.inst.Name, &p.inst.TrackScripts) })
	}},
	{name: "track_file", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) { p.trackFile(v, p.inst.Name, &p.inst.TrackFiles) })
	}},
	{name: "track_process", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) { p.trackProcess(v, p.inst.Name, &p.inst.TrackProcesses) })
	}},
	{name: "mcast_src_ip", handler: (*parser).srcIP},
	{name: "unicast_src_ip", handler: func(p *parser, l line) {
		p.instState.unicastConfigured = true
		p.srcIP(l)
	}},
	{name: "unicast_peer", handler: func(p *parser, l line) {
		p.instState.unicastConfigured = true
		p.valueBlock(l, p.unicastPeer)
	}},
	{name: "mcast_dst_ip", handler: func(p *parser, l line) {
		in, st := p.inst, p.instState
		a, err := netip.ParseAddr(p.arg(l, 1))
		if err != nil {
			p.errorf(l, "(%s) malformed mcast dest address %s. Skipping...", in.Name, l.words[1])
			return
		}
		fam := family(a)
		if st.family == 0 {
			st.family = fam
		} else if fam != st.family {
			p.errorf(l, "(%s) mcast dest address %s MUST match VRRP instance family. Skipping...", in.Name, l.words[1])
			return
		}
		if (a.Is4() && !a.IsMulticast()) || (a.Is6() && !a.IsLinkLocalMulticast()) {
			ll := ""
			if a.Is6() {
				ll = " link-local"
			}
			p.errorf(l, "(%s) mcast_dst_ip %s not%s multicast. Skipping...", in.Name, l.words[1], ll)
			return
		}
		st.mcastDst = a
	}},
	{name: "virtual_router_id", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 1, 255, false)
		if !ok {
			p.errorf(l, "(%s): VRID '%s' not valid - must be between 1 & 255", p.inst.Name, l.words[1])
			return
		}
		p.inst.VRID = int(v)
	}},
	{name: "unicast_ttl", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 0, 255, false)
		if !ok {
			p.errorf(l, "(%s): TTL '%s' not valid - must be between 0 & 255", p.inst.Name, l.words[1])
			return
		}
		p.instState.ttl = int(v)
	}},
	{name: "version", handler: func(p *parser, l line) {
		in, st := p.inst, p.instState
		v, ok := p.readInt(l, 1, 2, 3, true)
		if !ok {
			p.errorf(l, "(%s): Version must be either 2 or 3", in.Name)
			return
		}
		if (st.version != 0 && st.version != v) || (v == 2 && st.family == 6) {
			p.errorf(l, "(%s) vrrp_version %d conflicts with configured or deduced version %d; ignoring.", in.Name, v, st.version)
			return
		}
		st.version = v
	}},
	{name: "native_ipv6", handler: func(p *parser, l line) {
		// Deprecated in keepalived (the VIPs decide the family): the
		// instance becomes IPv6 and VRRPv3, unless IPv4 addresses came
		// first (vrrp_parser.c vrrp_native_ipv6_handler).
		in, st := p.inst, p.instState
		if st.family == 4 {
			p.errorf(l, "(%s) Cannot specify native_ipv6 with IPv4 addresses", in.Name)
			return
		}
		st.family, st.version = 6, 3
	}},
	{name: "priority", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 1, 255, false)
		if !ok {
			p.errorf(l, "(%s) Priority not valid! must be between 1 & %d. Using default %d", p.inst.Name, 255, 100)
			v = 100
		}
		p.instState.basePriority = int(v)
	}},
	{name: "advert_int", handler: func(p *parser, l line) {
		v, ok := p.readDecimal(l, 1, 10000, 255*1000000, true)
		if !ok || v == 0 {
			p.errorf(l, "(%s) Advert interval (%s) not valid! Must be > 0 - ignoring", p.inst.Name, l.words[1])
			return
		}
		p.instState.adverInt = v
	}},
	{name: "virtual_ipaddress", handler: func(p *parser, l line) { p.valueBlock(l, p.vip) }},
	{name: "virtual_ipaddress_excluded", handler: func(p *parser, l line) { p.valueBlock(l, p.evip) }},
	{name: "strict_mode", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.instState.strict = 1
			return
		}
		if r := checkTrueFalse(l.words[1]); r >= 0 {
			p.instState.strict = r
		} else {
			p.errorf(l, "(%s) invalid strict_mode %s specified", p.inst.Name, l.words[1])
		}
	}},
	{name: "preempt", handler: func(p *parser, l line) { p.inst.NoPreempt = false }},
	{name: "accept", handler: func(p *parser, l line) { p.instState.accept = 1 }},
	{name: "no_accept", handler: func(p *parser, l line) { p.instState.accept = 0 }},
	{name: "nopreempt", handler: func(p *parser, l line) { p.inst.NoPreempt = true }},
	{name: "preempt_delay", handler: func(p *parser, l line) {
		v, ok := p.readDecimal(l, 1, 0, 1000*1000000, true)
		if !ok {
			p.errorf(l, "(%s) Preempt_delay not valid! must be between 0-%d", p.inst.Name, 1000)
			v = 0
		}
		p.inst.PreemptDelay = usec(v)
	}},
	{name: "notify_backup", handler: func(p *parser, l line) {
		p.notify(l, p.inst.Name, "(%s) notify_backup script already specified - ignoring %s", &p.inst.NotifyBackup)
	}},
	{name: "notify_master", handler: func(p *parser, l line) {
		p.notify(l, p.inst.Name, "(%s) notify_master script already specified - ignoring %s", &p.inst.NotifyMaster)
	}},
	{name: "notify_fault", handler: func(p *parser, l line) {
		p.notify(l, p.inst.Name, "(%s) notify_fault script already specified - ignoring %s", &p.inst.NotifyFault)
	}},
	{name: "notify_stop", handler: func(p *parser, l line) {
		p.notify(l, p.inst.Name, "(%s) notify_stop script already specified - ignoring %s", &p.inst.NotifyStop)
	}},
	{name: "notify", handler: func(p *parser, l line) {
		p.notify(l, p.inst.Name, "(%s) notify script already specified - ignoring %s", &p.inst.Notify)
	}},
	{name: "notify_master_rx_lower_pri", handler: func(p *parser, l line) {
		p.notify(l, p.inst.Name, "(%s) notify_master_rx_lower_pri script already specified - ignoring %s", &p.inst.NotifyMasterRxLowerPri)
	}},
	{name: "notify_deleted", handler: func(p *parser, l line) {
		in := p.inst
		if in.NotifyDeleted {
			arg := ""
			if len(l.words) > 1 {
				arg = l.words[1]
			}
			p.errorf(l, "(%s) notify_deleted already specified - ignoring %s", in.Name, arg)
			return
		}
		if len(l.words) > 1 {
			p.notify(l, in.Name, "(%s) notify_deleted already specified - ignoring %s", &in.NotifyDeletedScript)
		}
		in.NotifyDeleted = true
	}},
	{name: "smtp_alert", handler: func(p *parser, l line) {
		if b, ok := p.optBool(l, "Invalid vrrp_instance smtp_alert parameter %s"); ok {
			p.instState.smtpAlert = b2i(b)
		}
	}},
	{name: "garp_master_delay", handler: func(p *parser, l line) {
		if v, ok := p.readUnsigned(l, 1, 0, 4294, true); ok {
			p.inst.GARP.MasterDelay = time.Duration(v) * time.Second
		} else {
			p.errorf(l, "(%s): garp_master_delay '%s' invalid - ignoring", p.inst.Name, l.words[1])
		}
	}},
	{name: "garp_master_refresh", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 0, 1<<32-1, true)
		if !ok {
			p.errorf(l, "(%s): Invalid garp_master_refresh '%s' - ignoring", p.inst.Name, l.words[1])
			v = 0
		}
		p.inst.GARP.MasterRefresh = time.Duration(v) * time.Second
	}},
	{name: "garp_master_repeat", handler: func(p *parser, l line) {
		p.inst.GARP.MasterRepeat = p.repeat(l, p.inst.GARP.MasterRepeat, "garp_master_repeat", "("+p.inst.Name+"): ")
	}},
	{name: "garp_master_refresh_repeat", handler: func(p *parser, l line) {
		p.inst.GARP.MasterRefreshRepeat = p.repeat(l, p.inst.GARP.MasterRefreshRepeat, "garp_master_refresh_repeat", "("+p.inst.Name+"): ")
	}},
	{name: "garp_lower_prio_delay", handler: func(p *parser, l line) {
		if v, ok := p.readUnsigned(l, 1, 0, 4294, true); ok {
			p.inst.GARP.LowerPrioDelay = time.Duration(v) * time.Second
		} else {
			p.errorf(l, "(%s): garp_lower_prio_delay '%s' invalid - ignoring", p.inst.Name, l.words[1])
		}
	}},
	{name: "garp_lower_prio_repeat", handler: func(p *parser, l line) {
		if v, ok := p.readUnsigned(l, 1, 0, 1<<31-1, true); ok {
			p.inst.GARP.LowerPrioRepeat = int(v)
		} else {
			p.errorf(l, "(%s): Invalid garp_lower_prio_repeat '%s'", p.inst.Name, l.words[1])
		}
	}},
	{name: "lower_prio_no_advert", handler: func(p *parser, l line) {
		p.instState.lowerPrioNoAdvert = p.instBool(l, p.instState.lowerPrioNoAdvert, "(%s) invalid lower_prio_no_advert %s specified")
	}},
	{name: "higher_prio_send_advert", handler: func(p *parser, l line) {
		p.instState.higherPrioSend = p.instBool(l, p.instState.higherPrioSend, "(%s) invalid higher_prio_send_advert %s specified")
	}},
	{name: "check_unicast_src", handler: func(p *parser, l line) { p.inst.CheckUnicastSrc = true }},
	{name: "notify_priority_changes", handler: func(p *parser, l line) {
		res := 1
		if len(l.words) >= 2 {
			if res = checkTrueFalse(l.words[1]); res < 0 {
				p.errorf(l, "(%s) Invalid value '%s' for notify_priority_changes specified", p.inst.Name, l.words[1])
				return
			}
		}
		p.instState.notifyPrio = res
	}},
	{name: "skip_check_adv_addr", handler: func(p *parser, l line) {
		// keepalived 2.2.7 sets it for any valid word, "off" included
		// (vrrp_parser.c vrrp_skip_check_adv_addr_handler).
		if len(l.words) >= 2 && checkTrueFalse(l.words[1]) < 0 {
			p.errorf(l, "(%s) invalid skip_check_adv_addr %s specified", p.inst.Name, l.words[1])
			return
		}
		p.inst.SkipCheckAdvAddr = true
	}},
	{name: "authentication", sub: []keyword{
		{name: "auth_type", handler: func(p *parser, l line) {
			switch s := p.arg(l, 1); s {
			case "AH":
				p.instState.authType = AuthAH
			case "PASS":
				p.instState.authType = AuthPass
			default:
				p.errorf(l, "(%s) unknown authentication type '%s'", p.inst.Name, s)
			}
			p.instState.authPos = l.pos
		}},
		{name: "auth_pass", handler: func(p *parser, l line) {
			s := p.arg(l, 1)
			if len(s) > 8 {
				s = s[:8]
				p.errorf(l, "Truncating auth_pass to %d characters", 8)
			}
			// keepalived copies into a zeroed 8-byte buffer: a NUL
			// cannot occur in a config word, so the string is the key.
			p.instState.authPass = s
		}},
	}},
}

func slicesContains(s []netip.Addr, a netip.Addr) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func (p *parser) instBool(l line, cur int, errFormat string) int {
	if len(l.words) < 2 {
		return 1
	}
	r := checkTrueFalse(l.words[1])
	if r < 0 {
		p.errorf(l, errFormat, p.inst.Name, l.words[1])
		return cur
	}
	return r
}

func (p *parser) vrrpInstance(l line) {
	// A rejected block gets a detached instance, so keywords that still
	// reach it (when no '{' follows) change nothing.
	detached := func() {
		p.inst = &Instance{Name: "", Pos: l.pos}
		p.instState = &instState{notifyPrio: -1, ttl: -1, smtpAlert: -1, lowerPrioNoAdvert: -1, higherPrioSend: -1, strict: -1, accept: -1}
	}
	if len(l.words) != 2 {
		p.errorf(l, "vrrp_instance must have a name")
		p.skipBlock()
		detached()
		return
	}
	name := l.words[1]
	if p.cfg.Instance(name) != nil {
		p.errorf(l, "vrrp instance %s already defined", name)
		p.skipBlock()
		detached()
		return
	}
	g := p.cfg.Global.GARP
	// Instances copy the global GARP settings read so far, as keepalived's
	// alloc_vrrp does: global_defs after an instance does not apply to it.
	in := &Instance{Name: name, Pos: l.pos, SkipCheckAdvAddr: p.skipCheckAdvAddr, GARP: GARP{
		MasterDelay: g.MasterDelay, MasterRepeat: g.MasterRepeat,
		MasterRefresh: g.MasterRefresh, MasterRefreshRepeat: g.MasterRefreshRepeat,
		LowerPrioDelay: -1, LowerPrioRepeat: -1,
	}}
	p.inst = in
	p.instState = &instState{notifyPrio: -1, ttl: -1, smtpAlert: -1, lowerPrioNoAdvert: -1, higherPrioSend: -1, strict: -1, accept: -1}
	if p.states == nil {
		p.states = map[*Instance]*instState{}
	}
	p.states[in] = p.instState
	p.cfg.Instances = append(p.cfg.Instances, in)
}

func (p *parser) vrrpInstanceEnd() {
	in, st := p.inst, p.instState
	p.vmacEnd()
	if len(in.UnicastPeers) == 0 && st.ttl != -1 {
		p.reportAt(p.r.last, Error, classGeneral, "(%s): Cannot use unicast_ttl without unicast peers - resetting", in.Name)
		st.ttl = 0
	}
}

func (p *parser) srcIP(l line) {
	in, st := p.inst, p.instState
	a, err := netip.ParseAddr(p.arg(l, 1))
	if err != nil {
		p.errorf(l, "Configuration error: VRRP instance[%s] malformed src address[%s]. Skipping...", in.Name, l.words[1])
		return
	}
	a = a.WithZone("")
	st.saddrFromConfig = true
	fam := family(a)
	if st.family == 0 {
		st.family = fam
	} else if fam != st.family {
		p.errorf(l, "Configuration error: VRRP instance[%s] and src address[%s] MUST be of the same family !!! Skipping...", in.Name, l.words[1])
		st.saddrFromConfig = false
		in.SrcIP = netip.Addr{}
		return
	}
	in.SrcIP = a
}

func (p *parser) unicastPeer(l line) {
	in, st := p.inst, p.instState
	a, err := netip.ParseAddr(l.words[0])
	if err != nil {
		p.errorf(l, "Configuration error: VRRP instance[%s] malformed unicast peer address[%s]. Skipping...", in.Name, l.words[0])
		return
	}
	fam := family(a)
	if st.family == 0 {
		st.family = fam
	} else if fam != st.family {
		p.errorf(l, "Configuration error: VRRP instance[%s] and unicast peer address[%s] MUST be of the same family !!! Skipping...", in.Name, l.words[0])
		return
	}
	minTTL, maxTTL := uint64(0), uint64(255)
	for i := 1; i < len(l.words); i += 2 {
		if i+1 >= len(l.words) {
			p.errorf(l, "(%s) %s is missing a value", in.Name, l.words[i])
			break
		}
		v, ok := p.readUnsignedStr(l, l.words[i+1], 0, 255, false)
		if !ok {
			continue
		}
		switch l.words[i] {
		case "min_ttl":
			minTTL = v
		case "max_ttl":
			maxTTL = v
		default:
			p.errorf(l, "(%s) unknown unicast_peer option %s", in.Name, l.words[i])
		}
	}
	if minTTL > maxTTL {
		p.errorf(l, "(%s) min_ttl %d > max_ttl %d - all packets will be discarded", in.Name, minTTL, maxTTL)
	}
	if _, dup := in.PeerTTL[a]; !dup && (minTTL != 0 || maxTTL != 255) && !slicesContains(in.UnicastPeers, a) {
		// keepalived matches the first entry for an address.
		if in.PeerTTL == nil {
			in.PeerTTL = map[netip.Addr]TTLRange{}
		}
		in.PeerTTL[a] = TTLRange{Min: int(minTTL), Max: int(maxTTL)}
	}
	in.UnicastPeers = append(in.UnicastPeers, a)
}

// trackIf is alloc_track_if.
func (p *parser) trackIf(l line, owner string, list *[]TrackInterface) {
	name := l.words[0]
	if p.opts.Interfaces != nil {
		if _, ok := p.opts.Interfaces(name); !ok {
			p.errorf(l, "(%s) tracked interface %s doesn't exist", owner, name)
			p.noInterface(l)
			return
		}
	}
	for _, t := range *list {
		if t.Name == name {
			p.errorf(l, "(%s) duplicate track_interface %s - ignoring", owner, name)
			return
		}
	}
	t := TrackInterface{Name: name}
	if len(l.words) >= 2 {
		if l.words[1] != "weight" {
			p.errorf(l, "(%s) unknown track_interface %s option %s - ignoring", owner, name, l.words[1])
			return
		}
		if len(l.words) == 2 {
			p.errorf(l, "(%s) weight without value specified for track_interface %s - ignoring", owner, name)
			return
		}
		w, ok := p.readInt(l, 2, -254, 254, true)
		if !ok {
			p.errorf(l, "(%s) weight %s for %s must be between [-253..253] inclusive. Ignoring...", owner, l.words[2], name)
			w = 0
		} else if w == -254 || w == 254 {
			p.errorf(l, "(%s) weight for %s cannot be +/-254. Setting to +/-253", owner, name)
			w = w / 254 * 253
		}
		t.Weight = w
		if len(l.words) >= 4 {
			if l.words[3] == "reverse" {
				t.Reverse = true
			} else {
				p.errorf(l, "(%s) unknown track_interace %s weight option %s - ignoring", owner, name, l.words[3])
			}
		}
	}
	*list = append(*list, t)
}

// trackScript is alloc_track_script: the script must be defined above.
// A weight of +/-254 becomes +/-253.
func (p *parser) trackScript(l line, owner string, list *[]TrackScript) {
	var def *trackEntry
	if s := p.findScript(l.words[0]); s != nil {
		def = &trackEntry{Weight: s.Weight, Reverse: s.Reverse}
	}
	addTrack(p, l, owner, trackKind{
		noun: "track script", key: "track_script", weightKey: "track_script",
		badWeight: "(%s) track script %s: weight must be between [-253..253] inclusive, ignoring...",
		clamp254:  true,
	}, def, list)
}

// notify is notify_script_init: the line is re-split with quotes and
// escapes; word 1 is the command line (split again into argv), words 2
// and 3 the user and group.
func (p *parser) notify(l line, owner, dupFormat string, dst **Notify) {
	arg := p.arg(l, 1)
	if *dst != nil {
		p.errorf(l, dupFormat, owner, arg)
		return
	}
	words, msg, logOnly := splitQuotedEscaped(l.raw)
	if words == nil {
		if msg != "" && logOnly {
			p.logf(l.pos, "%s", msg)
		} else if msg != "" {
			p.reportAt(l.pos, Error, classUnmatchedQuote, "%s", msg)
		}
		p.logf(l.pos, "Unable to parse notify script")
		return
	}
	var args []string
	if len(words) >= 2 {
		args, _, _ = splitQuotedEscaped(words[1])
	}
	if len(args) == 0 {
		first := ""
		if len(words) > 1 {
			first = words[1]
		}
		p.logf(l.pos, "Unable to parse script '%s' - ignoring", first)
		return
	}
	if len(words) <= 2 && p.defaultScriptUserFails() {
		p.logBare(l.pos, fmt.Sprintf("Failed to set default user for notify script %s - ignoring", args[0]))
		return
	}
	n := &Notify{Args: args, Pos: l.pos}
	if len(words) > 2 {
		n.User = words[2]
		if len(words) > 3 {
			n.Group = words[3]
		}
	}
	*dst = n
}

// vip is alloc_vrrp_vip.
func (p *parser) vip(l line) {
	in, st := p.inst, p.instState
	v, ok := p.parseIPAddress(l)
	if !ok {
		return
	}
	fam := family(v.Addr())
	if st.family == 0 {
		st.family = fam
	} else if fam != st.family {
		p.errorf(l, "(%s): address family must match VRRP instance [%s] - ignoring", in.Name, l.words[0])
		return
	}
	in.VIPs = append(in.VIPs, v)
}

func (p *parser) evip(l line) {
	if v, ok := p.parseIPAddress(l); ok {
		p.inst.ExcludedVIPs = append(p.inst.ExcludedVIPs, v)
	}
}

var scopes = map[string]bool{"global": true, "universe": true, "site": true, "link": true, "host": true, "nowhere": true}

// parseIPAddress is alloc_ipaddress for a VIP line.
func (p *parser) parseIPAddress(l line) (VIP, bool) {
	str := l.words[0]
	v := VIP{Pos: l.pos}
	bits := 32
	if strings.Contains(str, ":") {
		bits = 128
	}
	addrStr := str
	if a, pl, found := strings.Cut(str, "/"); found {
		addrStr = a
		n, ok := p.readUnsignedStr(l, pl, 0, uint64(bits), true)
		if !ok {
			p.errorf(l, "Invalid address prefix len %s for address %s - using %d", pl, str, bits)
		} else {
			bits = int(n)
		}
	}
	a, err := netip.ParseAddr(addrStr)
	if err != nil || a.Zone() != "" || strings.Contains(str, ":") != a.Is6() {
		p.errorf(l, "VRRP parsed invalid IP %s. skipping IP...", str)
		return v, false
	}
	v.Prefix = netip.PrefixFrom(a, bits)
	brdMode := 0 // -1 '+', -2 '-'
	haveBrd := false
	var missing string
	for i := 1; i < len(l.words) && missing == ""; i++ {
		w := l.words[i]
		hasParam := i+1 < len(l.words)
		switch w {
		case "dev", "scope", "broadcast", "brd", "label", "peer", "preferred_lft":
			if !hasParam {
				missing = w
				continue
			}
		}
		switch w {
		case "dev":
			i++
			if v.Dev != "" {
				p.errorf(l, "Cannot specify ipaddress device more than once for %s", str)
				return v, false
			}
			if p.opts.Interfaces != nil {
				if _, ok := p.opts.Interfaces(l.words[i]); !ok {
					p.errorf(l, "WARNING - interface %s for ip address %s doesn't exist", l.words[i], str)
					p.noInterface(l)
					return v, false
				}
			}
			v.Dev = l.words[i]
		case "scope":
			i++
			s := l.words[i]
			if n, err := strconv.Atoi(s); (err == nil && n >= 0 && n <= 255) || scopes[s] {
				v.Scope = s
			} else {
				p.errorf(l, "Invalid scope '%s' specified for %s - ignoring", s, str)
			}
		case "broadcast", "brd":
			if a.Is6() {
				p.errorf(l, "VRRP is trying to assign a broadcast %s to the IPv6 address %s !!?? WTF... skipping VIP...", w, str)
				return v, false
			}
			haveBrd = true
			i++
			switch b := l.words[i]; b {
			case "-":
				brdMode = -2
			case "+":
				brdMode = -1
			default:
				ba, err := netip.ParseAddr(b)
				if err != nil || !ba.Is4() {
					p.errorf(l, "VRRP is trying to assign invalid broadcast %s. skipping VIP...", b)
					return v, false
				}
				v.Broadcast = ba
			}
		case "label":
			i++
			if len(l.words[i]) >= 16 {
				p.errorf(l, "Address label %s is longer than maximum length %d - removing address", l.words[i], 15)
				return v, false
			}
			v.Label = l.words[i]
		case "peer":
			i++
			if v.Peer.IsValid() {
				p.errorf(l, "Peer %s - another peer has already been specified", l.words[i])
				continue
			}
			pa, err := netip.ParseAddr(l.words[i])
			switch {
			case err != nil:
				p.errorf(l, "Invalid peer address %s", l.words[i])
			case pa.Is4() != a.Is4():
				p.errorf(l, "Peer address %s does not match address family", l.words[i])
			default:
				if v.Prefix.Bits() != pa.BitLen() {
					p.errorf(l, "Cannot specify address prefix when specifying peer address - ignoring")
					v.Prefix = netip.PrefixFrom(a, a.BitLen())
				}
				v.Peer = netip.PrefixFrom(pa, pa.BitLen())
			}
		case "preferred_lft":
			i++
			if l.words[i] == "forever" {
				lft := uint32(1<<32 - 1)
				v.PreferredLft = &lft
			} else if n, ok := p.readUnsignedStr(l, l.words[i], 0, 1<<32-1, true); ok {
				lft := uint32(n)
				v.PreferredLft = &lft
			} else {
				p.errorf(l, "preferred_lft %s is invalid", l.words[i])
			}
		case "home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin":
			p.refusedf(l, "address flag '%s' is not implemented by gkeepalived (%s)", w, featAddrFlags)
		case "no_track":
			v.NoTrack = true
		case "use_vmac":
			p.refusedf(l, "use_vmac is not implemented by gkeepalived (%s)", featVMAC)
		default:
			p.errorf(l, "Unknown configuration entry '%s' for ip address - ignoring", w)
		}
	}
	if missing != "" {
		p.errorf(l, "No %s parameter specified for %s", missing, str)
		return v, false
	}
	if haveBrd && v.Peer.IsValid() {
		p.errorf(l, "Cannot specify broadcast and peer addresses - ignoring broadcast address")
		v.Broadcast = netip.Addr{}
	} else if brdMode < 0 && v.Prefix.Bits() <= 30 {
		base := a
		if v.Peer.IsValid() {
			base = v.Peer.Addr()
		}
		b4 := base.As4()
		n := uint32(b4[0])<<24 | uint32(b4[1])<<16 | uint32(b4[2])<<8 | uint32(b4[3])
		mask := uint32(0xffffffff) >> v.Prefix.Bits()
		if brdMode == -1 {
			n |= mask
		} else {
			n &^= mask
		}
		v.Broadcast = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	} else if brdMode < 0 {
		p.errorf(l, "Address prefix length %d too long for broadcast", v.Prefix.Bits())
	}
	if a.Is6() {
		if v.Scope != "" {
			p.errorf(l, "Cannot specify scope for IPv6 addresses (%s) - ignoring scope", str)
			v.Scope = ""
		}
		if v.Label != "" {
			p.errorf(l, "Cannot specify label for IPv6 addresses (%s) - ignoring label", str)
			v.Label = ""
		}
	}
	return v, true
}

// --- vrrp_sync_group ---------------------------------------------------------

type sgState struct {
	groupSet bool
	names    []string
	namesPos Pos
	tracks   sgTracks
	// notifyPrio is the group's notify_priority_changes: -1 unset.
	notifyPrio int
}

var syncGroupKeywords = append([]keyword{
	{name: "group", handler: func(p *parser, l line) {
		sg, st := p.sg, p.sgState
		if st.groupSet {
			p.errorf(l, "Group list already specified for sync group %s", sg.Name)
			p.skipBlock()
			return
		}
		st.names = p.readValueBlock(l)
		st.namesPos = l.pos
		st.groupSet = len(st.names) > 0
		if !st.groupSet {
			p.reportAt(p.r.last, Error, classGeneral, "Warning - sync group %s has empty group block", sg.Name)
		}
	}},
	{name: "notify_backup", handler: func(p *parser, l line) {
		p.notify(l, p.sg.Name, "vrrp group %s: notify_backup script already specified - ignoring %s", &p.sg.NotifyBackup)
	}},
	{name: "notify_master", handler: func(p *parser, l line) {
		p.notify(l, p.sg.Name, "vrrp group %s: notify_master script already specified - ignoring %s", &p.sg.NotifyMaster)
	}},
	{name: "notify_fault", handler: func(p *parser, l line) {
		p.notify(l, p.sg.Name, "vrrp group %s: notify_fault script already specified - ignoring %s", &p.sg.NotifyFault)
	}},
	{name: "notify_stop", handler: func(p *parser, l line) {
		p.notify(l, p.sg.Name, "vrrp group %s: notify_stop script already specified - ignoring %s", &p.sg.NotifyStop)
	}},
	{name: "notify", handler: func(p *parser, l line) {
		p.notify(l, p.sg.Name, "vrrp group %s: notify script already specified - ignoring %s", &p.sg.Notify)
	}},
	{name: "smtp_alert", handler: func(p *parser, l line) {
		if b, ok := p.optBool(l, "Invalid vrrp_group smtp_alert parameter %s"); ok {
			p.sg.SMTPAlert = boolPtr(b)
		}
	}},
}, syncGroupTrackKeywords...)

func (p *parser) vrrpSyncGroup(l line) {
	detached := func() {
		p.sg = &SyncGroup{Pos: l.pos}
		p.sgState = &sgState{notifyPrio: -1}
	}
	if len(l.words) != 2 {
		p.errorf(l, "vrrp_sync_group must have a name - skipping")
		p.skipBlock()
		detached()
		return
	}
	for _, g := range p.cfg.SyncGroups {
		if g.Name == l.words[1] {
			p.errorf(l, "vrrp sync group %s already defined", l.words[1])
			p.skipBlock()
			detached()
			return
		}
	}
	p.sg = &SyncGroup{Name: l.words[1], Pos: l.pos}
	p.sgState = &sgState{notifyPrio: -1}
	if p.sgStates == nil {
		p.sgStates = map[*SyncGroup]*sgState{}
	}
	p.sgStates[p.sg] = p.sgState
	p.cfg.SyncGroups = append(p.cfg.SyncGroups, p.sg)
}

var _ = fmt.Sprint
