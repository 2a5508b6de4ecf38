package keepalivedcfg

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The handler tables below follow keepalived 2.2.7's VRRP process
// (keepalived/core/global_parser.c, keepalived/vrrp/vrrp_parser.c); they
// hold the keywords Keywords (table.go) marks Works. The cosmetic and
// refused ones are added from Keywords at init.

var rootKeywords []keyword

// initRoot runs after the other tables are complete (see parse.go).
func initRoot() {
	rootKeywords = []keyword{
		{name: "global_defs", handler: func(p *parser, l line) { p.inGlobal = true }, sub: globalKeywords, close: func(p *parser) { p.inGlobal = false }},
		{name: "vrrp_script", handler: (*parser).vrrpScript, sub: scriptKeywords, close: (*parser).vrrpScriptEnd},
		{name: "vrrp_instance", handler: (*parser).vrrpInstance, sub: instanceKeywords, close: (*parser).vrrpInstanceEnd},
		{name: "vrrp_sync_group", handler: (*parser).vrrpSyncGroup, sub: syncGroupKeywords},
		{name: "vrrp_track_process", handler: (*parser).vrrpTrackProcess, sub: processKeywords, close: (*parser).vrrpTrackProcessEnd},
		{name: "track_file", handler: (*parser).trackFileBlock, sub: trackFileKeywords, close: (*parser).trackFileEnd},
		{name: "vrrp_track_file", handler: (*parser).vrrpTrackFileBlock, sub: trackFileKeywords, close: (*parser).trackFileEnd},
		{name: bgpKeyword, handler: (*parser).bgpBlock, sub: bgpKeywords, close: (*parser).bgpEnd}, // gkeepalived's extension (bgp.go)
	}
	rootKeywords = append(rootKeywords, extraRootKeywords...)
}

// extraRootKeywords are top-level keywords handled in their own files.
var extraRootKeywords []keyword

// --- global_defs -------------------------------------------------------------

var globalKeywords = []keyword{
	{name: "notify_fifo", handler: func(p *parser, l line) { p.notifyFIFO(l, "", &p.cfg.Global.NotifyFIFO) }},
	{name: "notify_fifo_script", handler: func(p *parser, l line) { p.notifyFIFOScript(l, "", &p.cfg.Global.NotifyFIFO) }},
	{name: "vrrp_notify_fifo", handler: func(p *parser, l line) { p.notifyFIFO(l, "vrrp_", &p.cfg.Global.VRRPNotifyFIFO) }},
	{name: "vrrp_notify_fifo_script", handler: func(p *parser, l line) { p.notifyFIFOScript(l, "vrrp_", &p.cfg.Global.VRRPNotifyFIFO) }},
	{name: "router_id", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.errorf(l, "routerid name missing - ignoring")
			return
		}
		p.cfg.Global.RouterID = l.words[1]
	}},
	{name: "notification_email_from", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.errorf(l, "emailfrom missing - ignoring")
			return
		}
		p.cfg.Global.NotificationEmailFrom = l.words[1]
	}},
	{name: "notification_email", handler: func(p *parser, l line) {
		emails := p.readValueBlock(l)
		if len(emails) == 0 {
			p.reportAt(p.r.last, Error, classGeneral, "Warning - empty notification_email block")
			return
		}
		p.cfg.Global.NotificationEmail = append(p.cfg.Global.NotificationEmail, emails...)
	}},
	{name: "smtp_server", handler: (*parser).smtpServer},
	{name: "smtp_helo_name", handler: func(p *parser, l line) { p.cfg.Global.SMTPHeloName = p.arg(l, 1) }},
	{name: "smtp_connect_timeout", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 0, 4294, true)
		if !ok {
			p.errorf(l, "smtp_connect_timeout '%s' must be in [0, %d] - ignoring", l.words[1], 4294)
			return
		}
		if v == 0 {
			p.errorf(l, "smtp_conect_timeout must be greater than 0, setting to 1")
			v = 1
		}
		p.cfg.Global.SMTPConnectTimeout = time.Duration(v) * time.Second
	}},
	{name: "smtp_alert", handler: func(p *parser, l line) {
		if b, ok := p.optBool(l, "Invalid value '%s' for global smtp_alert specified"); ok {
			p.cfg.Global.SMTPAlert = boolPtr(b)
		}
	}},
	{name: "smtp_alert_vrrp", handler: func(p *parser, l line) {
		if b, ok := p.optBool(l, "Invalid value '%s' for global smtp_alert_vrrp specified"); ok {
			p.cfg.Global.SMTPAlertVRRP = boolPtr(b)
		}
	}},
	{name: "enable_script_security", handler: func(p *parser, l line) { p.cfg.Global.EnableScriptSecurity = true }},
	{name: "script_user", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.errorf(l, "No script username specified")
			return
		}
		p.cfg.Global.ScriptUser = l.words[1]
		if len(l.words) > 2 {
			p.cfg.Global.ScriptGroup = l.words[2]
		}
		// keepalived resolves it at once (set_default_script_user).
		if p.opts.ScriptUser != nil {
			if ok, msg := p.opts.ScriptUser(p.cfg.Global.ScriptUser, p.cfg.Global.ScriptGroup); !ok {
				p.logBare(l.pos, msg)
				p.errorf(l, "Error setting global script uid/gid")
				p.defaultUser = defaultUserFail
			} else {
				p.defaultUser = defaultUserOK
			}
		}
	}},
	{name: "vrrp_version", handler: func(p *parser, l line) {
		v, ok := p.readInt(l, 1, 2, 3, true)
		if !ok {
			p.errorf(l, "VRRP Error: Version must be either 2 or 3")
			return
		}
		p.cfg.Global.VRRPVersion = v
	}},
	{name: "vrrp_strict", handler: func(p *parser, l line) { p.gs.strict = true }},
	// Process tuning the VRRP process applies (global_parser.c
	// max_auto_priority_handler, min_auto_priority_delay_handler,
	// vrrp_no_swap_handler).
	{name: "max_auto_priority", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.cfg.Global.MaxAutoPriority = MaxRTPriority
			return
		}
		v, ok := p.readInt(l, 1, -1, MaxRTPriority, true)
		if !ok {
			p.errorf(l, "max_auto_priority '%s' must be in [0, %d] (or -1 to disable) - ignoring", l.words[1], MaxRTPriority)
			return
		}
		p.cfg.Global.MaxAutoPriority = v
	}},
	{name: "min_auto_priority_delay", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.errorf(l, "min_auto_priority_delay requires delay time")
			return
		}
		v, ok := p.readInt(l, 1, 1, 10000000, true)
		if !ok {
			p.errorf(l, "min_auto_priority_delay '%s' must be in [1, 10000000] - ignoring", l.words[1])
			return
		}
		p.cfg.Global.MinAutoPriorityDelay = time.Duration(v) * time.Microsecond
	}},
	{name: "vrrp_no_swap", handler: func(p *parser, l line) { p.cfg.Global.VRRPNoSwap = true }},
	{name: "vrrp_mcast_group4", handler: func(p *parser, l line) {
		a, err := netip.ParseAddr(p.arg(l, 1))
		if err != nil || !a.Is4() || !a.IsMulticast() {
			p.errorf(l, "vrrp_mcast_group4 '%s' invalid - ignoring", l.words[1])
			return
		}
		p.gs.mcastGroup4 = a
	}},
	{name: "vrrp_mcast_group6", handler: func(p *parser, l line) {
		a, err := netip.ParseAddr(p.arg(l, 1))
		if err != nil || !a.Is6() || !a.IsMulticast() {
			p.errorf(l, "vrrp_mcast_group6 '%s' invalid - ignoring", l.words[1])
			return
		}
		p.gs.mcastGroup6 = a
	}},
	{name: "vrrp_min_garp", handler: func(p *parser, l line) {
		if len(l.words) >= 2 {
			switch checkTrueFalse(l.words[1]) {
			case -1:
				p.errorf(l, "Invalid value for vrrp_min_garp specified")
				return
			case 0:
				return
			}
		}
		// One gratuitous ARP/NA, no repeat, no refresh: keepalived changes
		// only the settings still at their defaults
		// (global_parser.c vrrp_min_garp_handler).
		g := &p.cfg.Global.GARP
		if g.MasterRepeat == 5 {
			g.MasterRepeat = 1
		}
		if g.MasterRefreshRepeat == 1 {
			g.MasterRefreshRepeat = 0
		}
		if g.MasterDelay == 5*time.Second {
			g.MasterDelay = 0
		}
	}},
	{name: "vrrp_garp_master_delay", handler: func(p *parser, l line) {
		if v, ok := p.readUnsigned(l, 1, 0, 4294, true); ok {
			p.cfg.Global.GARP.MasterDelay = time.Duration(v) * time.Second
		} else {
			p.errorf(l, "vrrp_garp_master_delay '%s' invalid - ignoring", l.words[1])
		}
	}},
	{name: "vrrp_garp_master_repeat", handler: func(p *parser, l line) {
		p.cfg.Global.GARP.MasterRepeat = p.repeat(l, p.cfg.Global.GARP.MasterRepeat, "vrrp_garp_master_repeat", "")
	}},
	{name: "vrrp_garp_master_refresh", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 0, 1<<32-1, true)
		if !ok {
			p.errorf(l, "Invalid vrrp_garp_master_refresh '%s' - ignoring", l.words[1])
			v = 0
		}
		p.cfg.Global.GARP.MasterRefresh = time.Duration(v) * time.Second
	}},
	{name: "vrrp_garp_master_refresh_repeat", handler: func(p *parser, l line) {
		p.cfg.Global.GARP.MasterRefreshRepeat = p.repeat(l, p.cfg.Global.GARP.MasterRefreshRepeat, "vrrp_garp_master_refresh_repeat", "")
	}},
	{name: "vrrp_garp_lower_prio_delay", handler: func(p *parser, l line) {
		if v, ok := p.readUnsigned(l, 1, 0, 4294, true); ok {
			p.cfg.Global.GARP.LowerPrioDelay = time.Duration(v) * time.Second
		} else {
			p.errorf(l, "vrrp_garp_lower_prio_delay '%s' invalid - ignoring", l.words[1])
		}
	}},
	{name: "vrrp_garp_lower_prio_repeat", handler: func(p *parser, l line) {
		if v, ok := p.readUnsigned(l, 1, 0, 1<<31-1, true); ok {
			p.cfg.Global.GARP.LowerPrioRepeat = int(v)
		} else {
			p.errorf(l, "Invalid vrrp_garp_lower_prio_repeat '%s'", l.words[1])
		}
	}},
	{name: "vrrp_garp_interval", handler: func(p *parser, l line) {
		if v, ok := p.readDecimal(l, 1, 1, 1<<32-1, true); ok {
			p.cfg.Global.GARPInterval = usec(v)
		} else {
			p.errorf(l, "vrrp_garp_interval '%s' is invalid", l.words[1])
		}
		if p.cfg.Global.GARPInterval >= time.Second {
			p.logf(l.pos, "The vrrp_garp_interval is very large - %s seconds", l.words[1])
		}
	}},
	{name: "vrrp_gna_interval", handler: func(p *parser, l line) {
		if v, ok := p.readDecimal(l, 1, 1, 1<<32-1, true); ok {
			p.cfg.Global.GNAInterval = usec(v)
		} else {
			p.errorf(l, "vrrp_gna_interval '%s' is invalid", l.words[1])
		}
		if p.cfg.Global.GNAInterval >= time.Second {
			p.logf(l.pos, "The vrrp_gna_interval is very large - %s seconds", l.words[1])
		}
	}},
	{name: "vrrp_lower_prio_no_advert", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.gs.lowerPrioNoAdvert = true
			return
		}
		if r := checkTrueFalse(l.words[1]); r < 0 {
			p.errorf(l, "Invalid value for vrrp_lower_prio_no_advert specified")
		} else {
			p.gs.lowerPrioNoAdvert = r == 1
		}
	}},
	{name: "vrrp_check_unicast_src", handler: func(p *parser, l line) { p.checkUnicastSrc = true }},
	{name: "vrrp_skip_check_adv_addr", handler: func(p *parser, l line) { p.skipCheckAdvAddr = true }},
	{name: "vrrp_notify_priority_changes", handler: func(p *parser, l line) {
		res := 1
		if len(l.words) >= 2 {
			if res = checkTrueFalse(l.words[1]); res < 0 {
				p.errorf(l, "Invalid value '%s' for global vrrp_notify_priority_changes specified", l.words[1])
				return
			}
		}
		p.notifyPrioChanges = res == 1
	}},
	{name: "vrrp_higher_prio_send_advert", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.gs.higherPrioSendAdvert = true
			return
		}
		if r := checkTrueFalse(l.words[1]); r < 0 {
			p.errorf(l, "Invalid value for vrrp_higher_prio_send_advert specified")
		} else {
			p.gs.higherPrioSendAdvert = r == 1
		}
	}},
}

func (p *parser) smtpServer(l line) {
	host := p.arg(l, 1)
	port := "25"
	if len(l.words) >= 3 {
		port = l.words[2]
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		p.errorf(l, "invalid number '%s'", port)
	}
	if err != nil || n < 1 || n > 65535 || host == "" || strings.ContainsAny(host, "/") {
		p.errorf(l, "Invalid smtp server %s %s", host, port)
		return
	}
	// keepalived resolves a host name at start-up; the model keeps it.
	p.cfg.Global.SMTPServer = host
	p.cfg.Global.SMTPPort = n
}

// optBool reads an optional on/off word (default on).
func (p *parser) optBool(l line, errFormat string) (bool, bool) {
	if len(l.words) < 2 {
		return true, true
	}
	r := checkTrueFalse(l.words[1])
	if r < 0 {
		p.errorf(l, errFormat, l.words[1])
		return false, false
	}
	return r == 1, true
}

// repeat reads a garp repeat count (0 is raised to 1 with keepalived's
// message); prefix is "(VI_1): " for instance keywords.
func (p *parser) repeat(l line, cur int, name, prefix string) int {
	v, ok := p.readUnsigned(l, 1, 0, 1<<32-1, true)
	if !ok {
		p.errorf(l, "%s%s '%s' invalid - ignoring", prefix, name, l.words[1])
		return cur
	}
	if v == 0 {
		p.errorf(l, "%s%s must be greater than 0, setting to 1", prefix, name)
		v = 1
	}
	return int(v)
}

// --- vrrp_script -------------------------------------------------------------

type scriptState struct {
	remove bool
}

var scriptKeywords = []keyword{
	{name: "script", handler: func(p *parser, l line) {
		s := p.script
		words, msg, logOnly := splitQuotedEscaped(l.raw)
		if msg != "" {
			if logOnly {
				p.logf(l.pos, "%s", msg)
			} else {
				p.reportAt(l.pos, Error, classUnmatchedQuote, "%s", msg)
			}
		}
		s.Args = nil
		if len(words) >= 2 {
			s.Command = words[1]
			args, _, _ := splitQuotedEscaped(words[1])
			s.Args = args
		}
	}},
	{name: "interval", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 0, 4294, true)
		if !ok {
			p.errorf(l, "(%s): vrrp script interval '%s' must be between 1 and %d - ignoring", p.script.Name, l.words[1], 4294)
			return
		}
		if v == 0 {
			p.errorf(l, "(%s): vrrp script interval must be greater than 0, setting to 1", p.script.Name)
			v = 1
		}
		p.script.Interval = time.Duration(v) * time.Second
	}},
	{name: "timeout", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 0, 4294, true)
		if !ok {
			p.errorf(l, "(%s): vrrp script timeout '%s' invalid - ignoring", p.script.Name, l.words[1])
			return
		}
		if v == 0 {
			p.errorf(l, "(%s): vrrp script timeout must be greater than 0, setting to 1", p.script.Name)
			v = 1
		}
		p.script.Timeout = time.Duration(v) * time.Second
	}},
	{name: "weight", handler: func(p *parser, l line) {
		s := p.script
		w, ok := p.readInt(l, 1, -253, 253, true)
		if !ok {
			p.errorf(l, "vrrp_script %s weight %s must be in [-253, 253]", s.Name, l.words[1])
		}
		// keepalived stores the value strtol produced even when it
		// complains; keep it inside the range the runtime expects.
		s.Weight = max(-253, min(253, w))
		if len(l.words) >= 3 {
			if l.words[2] == "reverse" {
				s.Reverse = true
			} else {
				p.errorf(l, "vrrp_script %s unknown weight option %s", s.Name, l.words[2])
			}
		}
	}},
	{name: "rise", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 1, 1<<31-1, true)
		if !ok {
			p.errorf(l, "(%s): vrrp script rise value '%s' invalid, defaulting to 1", p.script.Name, l.words[1])
			v = 1
		}
		p.script.Rise = int(v)
	}},
	{name: "fall", handler: func(p *parser, l line) {
		v, ok := p.readUnsigned(l, 1, 1, 1<<31-1, true)
		if !ok {
			p.errorf(l, "(%s): vrrp script fall value '%s' invalid, defaulting to 1", p.script.Name, l.words[1])
			v = 1
		}
		p.script.Fall = int(v)
	}},
	{name: "user", handler: func(p *parser, l line) {
		p.script.User = p.arg(l, 1)
		if len(l.words) > 2 {
			p.script.Group = l.words[2]
		}
	}},
	{name: "init_fail", handler: func(p *parser, l line) { p.script.InitFail = true }},
}

func (p *parser) vrrpScript(l line) {
	p.script = &Script{Name: p.arg(l, 1), Interval: time.Second, Rise: 1, Fall: 1, Pos: l.pos}
	p.scriptState = &scriptState{}
	p.cfg.Scripts = append(p.cfg.Scripts, p.script)
}

func (p *parser) vrrpScriptEnd() {
	s := p.script
	if len(s.Args) == 0 || s.Args[0] == "" {
		p.reportAt(p.r.last, Error, classGeneral, "No script set for vrrp_script %s - removing", s.Name)
		p.cfg.Scripts = p.cfg.Scripts[:len(p.cfg.Scripts)-1]
		return
	}
	if s.User == "" && p.defaultScriptUserFails() {
		p.reportAt(p.r.last, Error, classGeneral, "Unable to set default user for vrrp script %s - removing", s.Name)
		p.cfg.Scripts = p.cfg.Scripts[:len(p.cfg.Scripts)-1]
		return
	}
	if s.Timeout == 0 {
		// keepalived's default timeout 0 means "the interval"
		// (vrrp_scheduler.c): resolved here.
		s.Timeout = s.Interval
	}
}

// Default script user states (keepalived's default_script_uid_set and
// default_user_fail).
const (
	defaultUserUnknown = iota
	defaultUserOK
	defaultUserFail
)

// defaultScriptUserFails is get_default_script_user: with
// Options.ScriptUser, whether a script without its own user has none to
// run as: script_user does not exist, or, under enable_script_security,
// keepalived_script does not (without it keepalived runs scripts as root).
func (p *parser) defaultScriptUserFails() bool {
	if p.opts.ScriptUser == nil {
		return false
	}
	if p.defaultUser == defaultUserUnknown {
		p.defaultUser = defaultUserOK
		if ok, msg := p.opts.ScriptUser(defaultScriptUser, ""); !ok {
			p.logBare(p.r.last, msg)
			if p.cfg.Global.EnableScriptSecurity {
				p.reportAt(p.r.last, Error, classGeneral, "Unable to set default user %s for script", defaultScriptUser)
				p.defaultUser = defaultUserFail
			}
		}
	}
	return p.defaultUser == defaultUserFail
}

// logBare records a line keepalived logs without a position
// (log_message from lib/notify.c).
func (p *parser) logBare(pos Pos, msg string) {
	p.global(pos, Info, classOK, "%s", msg)
	p.diags[len(p.diags)-1].logOnly = true
}

// defaultScriptUser is the account keepalived runs scripts as by default.
const defaultScriptUser = "keepalived_script"

// findScript is keepalived's find_script_by_name: the first with that name.
func (p *parser) findScript(name string) *Script {
	return p.cfg.Script(name)
}
