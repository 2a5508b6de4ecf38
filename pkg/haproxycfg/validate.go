package haproxycfg

import (
	"fmt"
	"sort"
)

// Whole-configuration checks, run once every file is read (haproxy's
// check_config_validity).

// DefaultStatsURI and DefaultStatsRealm are haproxy's built-in values
// (STATS_DEFAULT_URI and STATS_DEFAULT_REALM).
const (
	DefaultStatsURI   = "/haproxy?stats"
	DefaultStatsRealm = "HAProxy Statistics"
)

// typeStr is haproxy's proxy_type_str: a listen section is a "proxy".
func typeStr(k Kind) string {
	if k == KindListen {
		return "proxy"
	}
	return k.String()
}

func (p *parser) postDiag(sev Severity, pos Pos, kw, format string, a ...any) {
	style := LocNone
	if pos.File != "" {
		style = LocParsing
	}
	p.diags = append(p.diags, Diagnostic{Severity: sev, Pos: pos, Keyword: kw, Msg: fmt.Sprintf(format, a...), Style: style})
}

func (p *parser) validate() {
	p.validateTLS()
	// Proxy IDs: explicit `id` values first, then the others numbered in
	// file order from 1, skipping taken ones. A global stats socket
	// creates haproxy's internal "GLOBAL" proxy, which takes id 1.
	used := map[int]*proxyState{}
	for _, ps := range p.proxies {
		if !ps.explicitID {
			continue
		}
		if o := used[ps.px.ID]; o != nil {
			p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: ps.idPos, Keyword: "id", Style: LocParsingTight,
				Msg: fmt.Sprintf("%s %s reuses same custom id as %s %s (declared at %s:%d).",
					typeStr(ps.px.Kind), ps.px.Name, typeStr(o.px.Kind), o.px.Name, o.px.Pos.File, o.px.Pos.Line)})
			continue
		}
		used[ps.px.ID] = ps
	}
	next := 1
	if len(p.cfg.Global.StatsSockets) > 0 {
		next = 2
	}
	for _, ps := range p.proxies {
		if ps.explicitID {
			continue
		}
		for used[next] != nil {
			next++
		}
		ps.px.ID = next
		used[next] = ps
	}

	// haproxy runs its configuration checks only on a configuration that
	// parsed cleanly; gproxy still reports broken references, but keeps
	// the advisory warnings for clean configurations, as haproxy does.
	parseAlerts := false
	for _, d := range p.diags {
		parseAlerts = parseAlerts || d.Severity == Alert
	}
	for _, ps := range p.proxies {
		p.checkProxy(ps, !parseAlerts)
	}
	p.checkDefaultsTracks()
	for _, ps := range p.proxies {
		// Before the resolution: its arguments are resolved with the
		// others (haproxy compiles it at check time too).
		p.compileBalanceExpr(ps)
	}
	for _, ps := range p.proxies {
		p.resolveArgs(ps)
	}
	p.resolveErrors()
	for _, ps := range p.proxies {
		p.checkUseServers(ps)
		p.setDynCookies(ps)
	}
	p.finishTracks()
}

func (p *parser) checkProxy(ps *proxyState, advise bool) {
	px := ps.px
	// Server ids: a server without `id` takes the first free number from
	// a counter that every server, numbered or not, moves on by one
	// (haproxy's check_config_validity with get_next_id): ids 1, 2, 9, 4
	// for four servers whose third says `id 9`.
	taken := map[int]bool{}
	for _, s := range px.Servers {
		if s.ID != 0 {
			taken[s.ID] = true
		}
	}
	next := 1
	for _, s := range px.Servers {
		if s.ID == 0 {
			for taken[next] {
				next++
			}
			s.ID = next
			taken[next] = true
		}
		next++
	}
	dispatchIgnored := p.checkDispatch(ps)
	p.finishRuleTLS(ps)
	p.finishChecks(ps)
	p.checkBindProto(px)
	p.checkServerProto(px)
	if px.Mode == ModeHTTP && px.Kind.HasBackend() {
		// gproxy cuts the sessions of TCP proxies only (proxy.Engine.ShutdownSessions).
		for _, s := range px.Servers {
			for _, o := range []struct {
				on   bool
				what string
			}{{s.ShutdownOnDown, "on-marked-down shutdown-sessions"}, {s.ShutdownBackupsOnUp, "on-marked-up shutdown-backup-sessions"}} {
				if o.on {
					p.postDiag(Alert, s.Pos, "server", "'server %s/%s' : server option '%s' in mode http is not implemented by gproxy (health-check rules): remove it, or keep haproxy for this configuration.", px.Name, s.Name, o.what)
				}
			}
		}
	}
	if px.Stats.Enabled {
		if px.Stats.URI == "" {
			px.Stats.URI = DefaultStatsURI
		}
		if px.Stats.Realm == "" {
			px.Stats.Realm = DefaultStatsRealm
		}
	}
	if !px.Kind.HasBackend() {
		// Backend-only settings inherited from defaults mean nothing here.
		px.Options.Redispatch, px.Options.Persist = false, false
		px.Check = Check{}
	}
	if !px.Kind.HasFrontend() {
		px.Options.TCPLog, px.Options.HTTPLog, px.Options.DontLogNull = false, false, false
		px.Options.DontLogNormal, px.Options.LogSeparateErrors = false, false
		px.Options.IgnoreProbes, px.Options.LogASAP = false, false
		px.MaxConn = 0
		px.DefaultBackend = ""
	}

	p.checkLogging(ps)
	p.checkRules(ps)

	for _, ref := range p.backendRefs(ps) {
		if ref.Name == "" {
			continue // built per request: checked then
		}
		b := p.cfg.Proxy(ref.Name, KindListen, KindBackend)
		if b == nil {
			p.postDiag(Alert, ref.Pos, ref.kw, "Proxy '%s': unable to find required %s: '%s'.", px.Name, ref.kw, ref.Name)
		} else if b == px {
			p.postDiag(Alert, ref.Pos, ref.kw, "Proxy '%s': loop detected for %s: '%s'.", px.Name, ref.kw, ref.Name)
		}
	}

	if px.Mode == ModeTCP && px.Kind.HasBackend() && px.Options.AbortOnClose && !px.Disabled {
		// Served in mode http only: a TCP client's close while queued or
		// connecting is not watched.
		p.postDiag(Alert, ps.abortPos, "option", "'option abortonclose' in mode tcp (%s '%s') is not implemented by gproxy; it works in mode http.", typeStr(px.Kind), px.Name)
	}
	if px.Disabled || !advise {
		return
	}
	if px.Mode == ModeTCP {
		if px.Cookie != nil && px.Kind.HasBackend() {
			p.postDiag(Warning, Pos{}, "cookie", "cookie will be ignored for %s '%s' (needs 'mode http').", typeStr(px.Kind), px.Name)
			px.Cookie = nil
		}
		if px.Kind.HasBackend() && (px.Balance == URI || px.Balance == URLParam || px.Balance == Hdr) {
			p.postDiag(Warning, Pos{}, "balance", "Layer 7 hash not possible for %s '%s' (needs 'mode http'). Falling back to round robin.", typeStr(px.Kind), px.Name)
			px.Balance, px.BalanceArgs = RoundRobin, BalanceArgs{}
		}
		if px.Options.HTTPLog {
			pos := ps.httplogPos
			name := "httplog"
			if ps.logs.from == "option httpslog" {
				name = "httpslog"
			}
			p.postDiag(Warning, pos, "option", "'option %s' not usable with %s '%s' (needs 'mode http'). Falling back to 'option tcplog'.", name, typeStr(px.Kind), px.Name)
			px.Options.HTTPLog, px.Options.TCPLog = false, true
		}
		if px.Stats.Enabled && px.Kind.HasBackend() {
			p.postDiag(Warning, Pos{}, "stats", "'stats' statement ignored for %s '%s' as it requires HTTP mode.", typeStr(px.Kind), px.Name)
			px.Stats.Enabled = false
		}
		if px.Prometheus {
			p.postDiag(Warning, Pos{}, "http-request", "'http-request' rules ignored for %s '%s' as they require HTTP mode.", typeStr(px.Kind), px.Name)
			px.Prometheus = false
		}
		p.tcpModeRules(px)
		if px.HTTP.OriginalTo != nil {
			p.postDiag(Warning, Pos{}, "option", "'option originalto' ignored for %s '%s' as it requires HTTP mode.", typeStr(px.Kind), px.Name)
			px.HTTP.OriginalTo = nil
		}
		if px.HTTP.ForwardFor != nil {
			p.postDiag(Warning, Pos{}, "option", "'option forwardfor' ignored for %s '%s' as it requires HTTP mode.", typeStr(px.Kind), px.Name)
			px.HTTP.ForwardFor = nil
		}
		if px.Options.IgnoreProbes && px.Kind.HasFrontend() {
			p.postDiag(Warning, Pos{}, "option", "'option http-ignore-probes' ignored for %s '%s' as it requires HTTP mode.", typeStr(px.Kind), px.Name)
			px.Options.IgnoreProbes = false
		}
		for _, s := range px.Servers {
			if s.Cookie != "" {
				p.postDiag(Warning, Pos{}, "cookie", "%s '%s' : ignoring cookie for server '%s' as HTTP mode is disabled.", typeStr(px.Kind), px.Name, s.Name)
				s.Cookie = ""
			}
		}
	}
	if px.Kind.HasFrontend() && len(px.Binds) == 0 {
		p.postDiag(Warning, Pos{}, "bind", "%s '%s' has no 'bind' directive. Please declare it as a backend if this was intended.", typeStr(px.Kind), px.Name)
	}
	if dispatchIgnored {
		p.postDiag(Warning, Pos{}, "dispatch", "dispatch address of %s '%s' will be ignored in balance mode.", typeStr(px.Kind), px.Name)
	}
	t := px.Timeouts
	if px.Kind.HasFrontend() && t.Client == 0 || px.Kind.HasBackend() && (t.Connect == 0 || t.Server == 0) {
		p.postDiag(Warning, Pos{}, "timeout", "missing timeouts for %s '%s'.\n"+
			"   | While not properly invalid, you will certainly encounter various problems\n"+
			"   | with such a configuration. To fix this, please ensure that all following\n"+
			"   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.", typeStr(px.Kind), px.Name)
	}
	if (px.Options.TCPLog || px.Options.HTTPLog || ps.logs.from == "log-format") && len(px.Logs) == 0 {
		p.postDiag(Warning, Pos{}, "option", "log format ignored for %s '%s' since it has no log address.", typeStr(px.Kind), px.Name)
	}
}

type backendRef struct {
	Name string
	Pos  Pos
	kw   string
}

func (p *parser) backendRefs(ps *proxyState) []backendRef {
	var refs []backendRef
	if ps.px.DefaultBackend != "" {
		refs = append(refs, backendRef{ps.px.DefaultBackend, ps.defBEPos, "default_backend"})
	}
	for _, u := range ps.px.UseBackends {
		refs = append(refs, backendRef{u.Name, u.Pos, "use_backend"})
	}
	return refs
}

// checkDefaultsTracks checks the track-sc rules of named defaults
// sections as haproxy checks them on the defaults proxy itself: a rule
// without `table` names the section's own table, which a defaults
// section never has, unless a proxy of that name has one.
func (p *parser) checkDefaultsTracks() {
	var ds []*proxyState
	for _, list := range p.named {
		ds = append(ds, list...)
	}
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i].px.Pos, ds[j].px.Pos
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	for _, d := range ds {
		p.checkStick(d)
	}
}

// checkDispatch applies haproxy's rules for `dispatch`: a balance
// algorithm (own or from defaults) makes it ignored, which it reports
// for the warning. gproxy refuses the uses whose outcome it does not
// reproduce: servers next to it (haproxy then leaves them unused but
// still lets persistence pick them), and what looks at the server a
// connection went to (stick store, cookie, http-send-name-header).
func (p *parser) checkDispatch(ps *proxyState) (ignored bool) {
	px := ps.px
	d := px.Dispatch
	if d == nil {
		return false
	}
	if ps.balanceSet {
		px.Dispatch = nil
		return true
	}
	refuse := func(what string) {
		p.postDiag(Alert, d.Pos, "dispatch", "'dispatch' in %s '%s' with %s is not implemented by gproxy (%s): %s.",
			typeStr(px.Kind), px.Name, what, grpRouting, grpRouting.hint())
	}
	switch {
	case len(px.Servers) > 0:
		refuse("servers")
	case len(px.StickRules) > 0:
		refuse("stick rules")
	case px.Cookie != nil:
		refuse("a cookie")
	case px.SendNameHeader != "":
		refuse("http-send-name-header")
	}
	return false
}
