package health

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// Syslog severities of haproxy's state-change messages.
const (
	levelEmerg  haproxycfg.Level = 0 // "backend be has no server available!"
	levelAlert  haproxycfg.Level = 1 // "Server be/s1 is DOWN, ..."
	levelNotice haproxycfg.Level = 5 // "Server be/s1 is UP, ..."
)

// Options are a Monitor's collaborators.
type Options struct {
	// Logger receives the daemon's copy of each message (haproxy prints
	// them on stderr as [WARNING], and the no-server one as [ALERT]).
	Logger zerolog.Logger
	// Log sends a message to the log targets of a proxy; may be nil.
	Log func(px *haproxycfg.Proxy, level haproxycfg.Level, msg string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Global is the global section (external checks need it); nil
	// disables external checks, which then fail (PROCERR).
	Global *haproxycfg.Global
	// BeforeCheck, if set, runs before each check of a server (run-time
	// resolution refreshes a stale answer there, as haproxy does).
	BeforeCheck func(*proxy.Server)
}

// Snapshot is what the stats show of one server's checks.
type Snapshot struct {
	State     State
	Last      Result    // the latest completed check
	LastCheck time.Time // when it completed; zero before the first one
	Failures  int64     // chkfail: failed checks while up
	Downs     int64     // chkdown: UP -> DOWN transitions
	Downtime  time.Duration
	Probe     *Probe
	// InProgress: a check is running (haproxy's stats then show "* L7OK"
	// and an empty last_chk, the description being cleared at its start).
	InProgress bool
	// Disabled: `disable health`; the stats then show no check.
	Disabled bool
	// HanaFails is hanafail: how many times `observe` reached error-limit.
	HanaFails int64
}

// Monitor runs the checks of every server with `check` in an engine.
type Monitor struct {
	eng    *proxy.Engine
	opts   Options
	cancel context.CancelFunc
	wg     sync.WaitGroup
	panics atomic.Int64 // checks ended by a recovered panic

	mu     sync.Mutex
	checks map[*proxy.Server]*check
	agents map[*proxy.Server]*agent
	bdowns map[*proxy.Backend]int64 // backends left without a server by a check

	// trackers are the servers tracking each server (`track`), the last
	// declared first; tracked is the reverse. Both are set by Start.
	// tmu guards both (`add server ... track` changes them at run time).
	trackers map[*proxy.Server][]*proxy.Server
	tracked  map[*proxy.Server]*proxy.Server
	tmu      sync.RWMutex

	// ctx ends every check; stops ends the checks of one dynamic server
	// (`del server`).
	ctx   context.Context
	stops map[*proxy.Server]context.CancelFunc
}

type check struct {
	srv       *proxy.Server
	probe     *Probe
	st        State
	last      Result
	lastCheck time.Time
	failures  int64
	downs     int64
	downtime  time.Duration
	downSince time.Time
	running   bool
	port      int    // set at run time (`set server check-port`); 0 = configured
	addr      string // set at run time (`set server check-addr`); "" = configured
	disabled  bool   // `disable health`

	// consecErrs counts the errors `observe` saw in a row (haproxy's
	// consecutive_errors); hanaFails the times they reached error-limit.
	consecErrs int
	hanaFails  int64
	// first is the delay of the first check after the start.
	first time.Duration
	// poke asks the loop to check again within the given delay (on-error
	// runs the next check at fastinter).
	poke chan time.Duration
	// rec serializes the results applied to the server: those of the
	// checks and those on-error makes from live traffic.
	rec sync.Mutex
}

// Start begins checking every server with `check` of the engine's backends.
// Servers start up; a fresh server's first failed check takes it down.
func Start(eng *proxy.Engine, opts Options) *Monitor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Monitor{eng: eng, opts: opts, cancel: cancel, checks: map[*proxy.Server]*check{}, agents: map[*proxy.Server]*agent{},
		trackers: map[*proxy.Server][]*proxy.Server{}, tracked: map[*proxy.Server]*proxy.Server{},
		ctx: ctx, stops: map[*proxy.Server]context.CancelFunc{}}
	for _, b := range eng.Backends() {
		for _, s := range b.Servers() {
			cfg := s.Config()
			if cfg.TrackServer == "" {
				continue
			}
			if tb := eng.Backend(cfg.TrackBackend); tb != nil {
				if ref := tb.Server(cfg.TrackServer); ref != nil {
					m.trackers[ref] = append([]*proxy.Server{s}, m.trackers[ref]...)
					m.tracked[s] = ref
				}
			}
		}
	}
	// Trackers of a server `disabled` in the configuration start in its
	// maintenance (a chain of them in as many rounds).
	for changed := true; changed; {
		changed = false
		for s, ref := range m.tracked {
			if ref.InMaint() && s.InheritedMaint() == nil {
				s.SetInheritedMaint(ref)
				changed = true
			}
		}
	}
	first := firstRuns(eng, opts.Global)
	for _, b := range eng.Backends() {
		for _, s := range b.Servers() {
			sctx, stop := context.WithCancel(ctx)
			m.stops[s] = stop
			m.startServer(sctx, s, false, first[s])
		}
	}
	return m
}

// firstRun is when a server's check and agent first run after the start.
type firstRun struct{ check, agent time.Duration }

// spreadThreshold is haproxy's SRV_CHK_INTER_THRES: shorter intervals do
// not dictate the spread of the others.
const spreadThreshold = time.Second

// firstRuns places the first checks at start as haproxy's start_checks
// does: the n-th of all checks and agents (configuration order, a
// server's check before its agent) runs after n/total of the shortest
// interval of at least one second, or of its own if longer, capped by
// max-spread-checks. A config's first server is checked at once, the
// others at fixed offsets.
func firstRuns(eng *proxy.Engine, g *haproxycfg.Global) map[*proxy.Server]firstRun {
	var total int
	var mininter time.Duration
	note := func(d time.Duration) {
		total++
		if d >= spreadThreshold && (mininter == 0 || d < mininter) {
			mininter = d
		}
	}
	each := func(f func(s *proxy.Server, cfg *haproxycfg.Server)) {
		for _, b := range eng.Backends() {
			for _, s := range b.Servers() {
				f(s, s.Config())
			}
		}
	}
	each(func(_ *proxy.Server, cfg *haproxycfg.Server) {
		if cfg.Check {
			note(startInter(cfg))
		}
		if cfg.Agent.Enabled {
			note(agentInter(cfg))
		}
	})
	pos := 0
	at := func(d time.Duration) time.Duration {
		m := max(mininter, d)
		if g != nil && g.MaxSpreadChecks > 0 && m > g.MaxSpreadChecks {
			m = g.MaxSpreadChecks
		}
		pos++
		return m * time.Duration(pos-1) / time.Duration(total)
	}
	runs := map[*proxy.Server]firstRun{}
	each(func(s *proxy.Server, cfg *haproxycfg.Server) {
		var r firstRun
		if cfg.Check {
			r.check = at(startInter(cfg))
		}
		if cfg.Agent.Enabled {
			r.agent = at(agentInter(cfg))
		}
		runs[s] = r
	})
	return runs
}

// jitter is `spread-checks`: the interval d moved by a random amount
// within ± its percentage of d, as haproxy draws each next check.
func (m *Monitor) jitter(d time.Duration) time.Duration {
	g := m.opts.Global
	if g == nil || g.SpreadChecks <= 0 {
		return d
	}
	r := d * time.Duration(g.SpreadChecks) / 100
	return d + r - time.Duration(2*float64(r)*rand.Float64())
}

// startInter is a check's interval at start (haproxy's srv_getinter of a
// server at health rise).
func startInter(cfg *haproxycfg.Server) time.Duration {
	return next(cfg, NewState(cfg.Rise, cfg.Fall))
}

// startServer starts the checks and agent of one server; those of a
// dynamic server start disabled (`enable health`, `enable agent`), and
// run at once when enabled (haproxy: position 0 of 1).
func (m *Monitor) startServer(ctx context.Context, s *proxy.Server, disabled bool, first firstRun) {
	px := s.Backend().Proxy()
	cfg := s.Config()
	if cfg.Agent.Enabled {
		a := newAgent(px, s)
		a.disabled = disabled
		a.first = first.agent
		m.agents[s] = a
		m.wg.Add(1)
		go m.agentLoop(ctx, a)
	}
	if !cfg.Check {
		return
	}
	probe := ProbeFor(px, cfg)
	if s.Dynamic() {
		// haproxy 2.6's init_srv_check: the checks of a dynamic server
		// take neither its PROXY protocol nor its TLS settings
		// (check-send-proxy asks for the header).
		probe.DefaultProxy = cfg.CheckSendProxy
	}
	probe.ServerUp = s.Up
	if m.eng != nil {
		probe.Env, probe.Vars = m.eng, m.eng
	}
	c := &check{srv: s, probe: probe, st: NewState(cfg.Rise, cfg.Fall), last: Result{Code: CodeNone},
		poke: make(chan time.Duration, 1), disabled: disabled, first: first.check}
	if s.Dynamic() {
		// haproxy's health of a dynamic server's check starts at 0; it
		// gets rise when the server leaves maintenance with its check
		// enabled (MaintChange).
		c.st.Health = 0
	}
	if px.Check.Type == haproxycfg.CheckExternal {
		g := m.opts.Global
		if g == nil {
			g = &haproxycfg.Global{}
		}
		c.probe.ext = externalFor(g, px, cfg, s.ID(), interval(cfg.Inter))
		c.probe.ext.curConn = s.Conns
	}
	m.checks[s] = c
	if px.Check.SendState && px.Check.Type == haproxycfg.CheckHTTP {
		probe.State = func() string { return m.sendState(c) }
	}
	if cfg.Observe != haproxycfg.ObserveNone {
		s.SetObserver(func(h proxy.Hana) { m.hana(c, h) })
	}
	m.wg.Add(1)
	go m.loop(ctx, c)
}

// AddServer starts the checks of a server `add server` created: its
// health check and agent start disabled, as haproxy 2.6's, until `enable
// health` and `enable agent`.
func (m *Monitor) AddServer(s *proxy.Server) {
	if m == nil {
		return
	}
	cfg := s.Config()
	if !cfg.Check && !cfg.Agent.Enabled {
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.mu.Lock()
	m.stops[s] = cancel
	m.startServer(ctx, s, true, firstRun{})
	m.mu.Unlock()
}

// RemoveServer stops the checks of a server `del server` removed
// (haproxy frees its check tasks with it).
func (m *Monitor) RemoveServer(s *proxy.Server) {
	if m == nil {
		return
	}
	m.mu.Lock()
	stop := m.stops[s]
	delete(m.stops, s)
	delete(m.checks, s)
	delete(m.agents, s)
	m.mu.Unlock()
	m.untrack(s)
	s.SetObserver(nil)
	if stop != nil {
		stop()
	}
}

// ProbeFor is the check a server line asks for: its `addr` and `port`, the
// proxy's check type and rules, and timeouts as haproxy derives them:
// `inter` for the whole check, or with `timeout check`, min(`timeout
// connect`, `inter`) to connect and `timeout check` for the rest
// (configuration manual, "timeout check"; testdata/haproxy26_l4tout.cfg
// times out after inter, not timeout connect).
func ProbeFor(px *haproxycfg.Proxy, s *haproxycfg.Server) *Probe {
	host, port := s.Host, s.Port
	if s.CheckAddr != "" {
		host = s.CheckAddr
	}
	if s.CheckPort != 0 {
		port = s.CheckPort
	}
	inter := interval(s.Inter)
	p := &Probe{Addr: net.JoinHostPort(host, strconv.Itoa(port)), Connect: inter, Read: inter, Whole: inter,
		Backend: px.Name, Server: s.Name, H2: px.Check.Type == haproxycfg.CheckHTTP && s.CheckH2Clear(),
		Type: px.Check.Type, TLS: checkTLS(s), ServerTLS: s.TLS, SendProxy: s.SendProxy, DisableOn404: px.Check.DisableOn404,
		// haproxy: checks on the traffic port inherit the server's pp_opts.
		DefaultProxy: s.CheckSendProxy || (s.SendProxy.Any() && s.CheckPort == 0 && s.CheckAddr == "")}
	if s.Sock.IsSet() && s.CheckAddr == "" && s.CheckPort == 0 {
		// A server on a UNIX socket is checked on it.
		p.Addr = s.Address(0)
	}
	if px.Timeouts.Check > 0 {
		p.Whole = 0
		if px.Timeouts.Connect > 0 {
			p.Connect = min(px.Timeouts.Connect, inter)
		}
		p.Read = px.Timeouts.Check
	}
	switch px.Check.Type {
	case haproxycfg.CheckConnect:
		p.Steps = compile([]haproxycfg.CheckRule{{Action: haproxycfg.RuleConnect, MinRecv: -1}})
	case haproxycfg.CheckTCP, haproxycfg.CheckHTTP:
		p.Steps = ruleSteps(&px.Check)
	default:
		p.Steps = protoSteps(&px.Check)
	}
	return p
}

func interval(d time.Duration) time.Duration {
	if d <= 0 {
		return 2 * time.Second // haproxy's default inter
	}
	return d
}

// next is the delay before the next check: `inter` when the server is
// fully up, `downinter` when fully down, `fastinter` in between.
func next(cfg *haproxycfg.Server, st State) time.Duration {
	inter := interval(cfg.Inter)
	switch {
	case st.Health == 0 && cfg.DownInter > 0:
		return cfg.DownInter
	case !st.Steady() && cfg.FastInter > 0:
		return cfg.FastInter
	}
	return inter
}

func (m *Monitor) loop(ctx context.Context, c *check) {
	defer m.wg.Done()
	cfg := c.srv.Config()
	t := time.NewTimer(c.first)
	due := time.Now().Add(c.first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-c.poke:
			// Sooner only, as haproxy requeues its check task.
			if at := time.Now().Add(d); at.Before(due) {
				t.Reset(d)
				due = at
			}
			continue
		case <-t.C:
		}
		if m.opts.BeforeCheck != nil {
			m.opts.BeforeCheck(c.srv)
		}
		// A server without an address (maintenance for resolution) is
		// not checked; one whose address DNS changed is checked there.
		m.mu.Lock()
		off := c.disabled
		m.mu.Unlock()
		if !off && c.srv.AdminState() != proxy.AdminMaint && !c.srv.Unresolved() {
			m.mu.Lock()
			c.running = true
			followAddr(c)
			m.mu.Unlock()
			res := m.run(ctx, c)
			m.mu.Lock()
			c.running = false
			m.mu.Unlock()
			if ctx.Err() != nil {
				return
			}
			m.record(c, res)
		}
		m.mu.Lock()
		d := m.jitter(next(cfg, c.st))
		m.mu.Unlock()
		t.Reset(d)
		due = time.Now().Add(d)
	}
}

// testHookProbe, nil outside tests, runs before every check with the
// server's address, so that tests can inject a panic.
var testHookProbe atomic.Pointer[func(addr string)]

// run performs one check. A panic ends that check only: it is logged as
// an error with its stack, counted, and the check fails (SOCKERR,
// "internal error"), so that a check that cannot complete never passes;
// the other checks and the proxy go on.
func (m *Monitor) run(ctx context.Context, c *check) (res Result) {
	defer func() {
		if r := recover(); r != nil {
			m.panics.Add(1)
			m.opts.Logger.Error().Str("stack", string(debug.Stack())).
				Msgf("health check of server %s/%s: panic, check failed: %v", c.srv.Backend().Name(), c.srv.Name(), r)
			res = Result{Code: CodeSOCKERR, Info: "internal error"}
		}
	}()
	if h := testHookProbe.Load(); h != nil {
		(*h)(c.probe.Addr)
	}
	return c.probe.Run(ctx, m.opts.Now)
}

// Panics is the number of checks ended by a recovered panic.
func (m *Monitor) Panics() int64 { return m.panics.Load() }

// record applies one result (after its interim pass, if any) and logs a
// state change. As in haproxy, an interim pass moves the health and is
// logged by log-health-checks, but the server's state is decided once
// the check has ended, with the final result as its reason.
func (m *Monitor) record(c *check, res Result) {
	c.rec.Lock()
	defer c.rec.Unlock()
	m.mu.Lock()
	wasUp := c.st.Up()
	m.mu.Unlock()
	if res.Interim != nil {
		i := *res.Interim
		res.Interim = nil
		m.count(c, i)
	}
	m.count(c, res)
	now := m.opts.Now()
	m.mu.Lock()
	up := c.st.Up()
	if up != wasUp && !up {
		c.downs++
		c.downSince = now
	}
	if up != wasUp && up && !c.downSince.IsZero() {
		c.downtime += now.Sub(c.downSince)
		c.downSince = time.Time{}
	}
	m.mu.Unlock()
	if res.Code == CodeL7OKC {
		// haproxy's check_notify_stopping: an up server (for its check
		// and agent) soft-stops; a tracked one must be up.
		if up && m.agentUp(c.srv) && c.srv.AdminState() != proxy.AdminMaint {
			m.stopping(c.srv, m.why(c, res))
		}
		return
	}
	if up && res.Code.OK() && c.srv.Stopping() && m.agentUp(c.srv) && c.srv.AdminState() != proxy.AdminMaint {
		// haproxy's check_notify_success: a passed check ends a soft stop.
		m.apply(c.srv, true, m.why(c, res))
		return
	}
	if !up && !wasUp && !res.Code.OK() && c.srv.Up() && c.srv.AdminState() != proxy.AdminMaint && m.Tracked(c.srv) == nil && !m.hasAgent(c.srv) {
		// haproxy's check_notify_failure stops a running server whose
		// check health was already 0 (a dynamic server enabled before
		// its check): a DOWN transition without a failed check counted.
		m.mu.Lock()
		c.downs++
		c.downSince = now
		m.mu.Unlock()
		m.apply(c.srv, false, m.why(c, res))
		return
	}
	if up && !wasUp && c.srv.Up() && !c.srv.Stopping() {
		return // already running (srv_set_running has nothing to do)
	}
	if up == wasUp {
		return
	}
	why := m.why(c, res)
	if up && !m.agentUp(c.srv) {
		// haproxy's check_notify_success: the agent must agree.
		return
	}
	if !up && !c.srv.Up() && m.hasAgent(c.srv) {
		return // already down (the agent said so)
	}
	m.apply(c.srv, up, why)
}

// why is the ", reason: ..." of a state change a check result made; none
// with log-health-checks (the check's own line said it).
func (m *Monitor) why(c *check, res Result) string {
	if c.srv.Backend().Proxy().Options.LogHealthChecks {
		return ""
	}
	if res.Duration < 0 {
		return ", reason: " + res.Reason()
	}
	return fmt.Sprintf(", reason: %s, check duration: %dms", res.Reason(), res.Duration.Milliseconds())
}

// count applies one result to the health and, with log-health-checks,
// logs it when it changes the result or the health (haproxy's
// set_server_check_status).
func (m *Monitor) count(c *check, res Result) {
	now := m.opts.Now()
	m.mu.Lock()
	prev, before := c.last.Code, c.st.Health
	c.last, c.lastCheck = res, now
	if _, failWhileUp := c.st.Record(res.Code.OK() || res.Code == CodeL7OKC); failWhileUp {
		c.failures++
	}
	if res.Code.OK() || res.Code == CodeL7OKC {
		c.consecErrs = 0 // haproxy: a passed check clears them
	}
	st := c.st
	m.mu.Unlock()
	px := c.srv.Backend().Proxy()
	if !px.Options.LogHealthChecks || (res.Code == prev && st.Health == before) {
		return
	}
	kind, verdict := "", "failed"
	if c.srv.Backup() {
		kind = "backup "
	}
	if res.Code.OK() {
		verdict = "succeeded"
	}
	if res.Code == CodeL7OKC {
		verdict = "conditionally succeeded"
	}
	dur := ""
	if res.Duration >= 0 {
		dur = fmt.Sprintf(", check duration: %dms", res.Duration.Milliseconds())
	}
	m.log(px, levelNotice, fmt.Sprintf("Health check for %sserver %s/%s %s, reason: %s%s, status: %s.",
		kind, px.Name, c.srv.Name(), verdict, res.Reason(), dur, st.Status(c.srv.UserWeight() == 0)))
}

// apply sets a server's operational state, cuts sessions as its options
// ask, logs the change as haproxy's srv_update_status does (why is ",
// reason: ..." or " via b/s"), then does the same for the servers that
// track it, the last declared first as haproxy's list of trackers is.
func (m *Monitor) apply(s *proxy.Server, up bool, why string) {
	st := s.Stats()
	wasStopping := s.Stopping()
	s.SetUp(up)
	// haproxy cuts the sessions before it logs the change; the message
	// still counts them (they end asynchronously).
	if m.eng != nil {
		if cfg := s.Config(); !up && cfg.ShutdownOnDown {
			m.eng.ShutdownSessions(s)
		} else if up && cfg.ShutdownBackupsOnUp && !s.Backup() && s.Weight() > 0 {
			m.eng.ShutdownBackupSessions(s.Backend())
		}
	}
	act, bck := Usable(s.Backend())
	px := s.Backend().Proxy()
	kind := "Server"
	if s.Backup() {
		kind = "Backup Server"
	}
	if up {
		running := ""
		if act == 0 && bck > 0 {
			running = " Running on backup."
		}
		m.log(px, levelNotice, fmt.Sprintf("%s %s/%s is UP%s. %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.",
			kind, px.Name, s.Name(), why, act, bck, running, 0, st.QueueCur))
	} else {
		// haproxy sends no alert for a server that was soft-stopping.
		level := levelAlert
		if wasStopping {
			level = levelNotice
		}
		m.log(px, level, fmt.Sprintf("%s %s/%s is DOWN%s. %s %d sessions active, %d requeued, %d remaining in queue.",
			kind, px.Name, s.Name(), why, ServersLeft(act, bck), st.CurSessions, 0, st.QueueCur))
		if act+bck == 0 && !wasStopping {
			m.noServer(s.Backend())
		}
	}
	for _, t := range m.trackersOf(s) {
		if (t.Up() != up || t.Stopping()) && !t.InMaint() {
			m.apply(t, up, fmt.Sprintf(" via %s/%s", px.Name, s.Name()))
		}
	}
}

// noServer counts and logs a backend left without a usable server
// (haproxy's set_backend_down).
func (m *Monitor) noServer(b *proxy.Backend) {
	px := b.Proxy()
	m.mu.Lock()
	if m.bdowns == nil {
		m.bdowns = map[*proxy.Backend]int64{}
	}
	m.bdowns[b]++
	m.mu.Unlock()
	if m.opts.Log != nil {
		m.opts.Log(px, levelEmerg, fmt.Sprintf("backend %s has no server available!", px.Name))
	}
	m.opts.Logger.Error().Msgf("backend '%s' has no server available!", px.Name)
}

// Tracked is the server s tracks (`track`), or nil.
func (m *Monitor) Tracked(s *proxy.Server) *proxy.Server {
	if m == nil {
		return nil
	}
	m.tmu.RLock()
	defer m.tmu.RUnlock()
	return m.tracked[s]
}

// trackersOf is a copy of the servers tracking s, the last added first.
func (m *Monitor) trackersOf(s *proxy.Server) []*proxy.Server {
	m.tmu.RLock()
	defer m.tmu.RUnlock()
	return slices.Clone(m.trackers[s])
}

// Track makes s track ref (`add server ... track`): it follows ref's
// operational state and maintenance from now on, first among ref's
// trackers as haproxy links a new one, and ref may no longer be deleted.
// As haproxy 2.6 (measured), it takes ref's state as it is, stopped when
// ref is in maintenance, without inheriting that maintenance: leaving it
// later does not bring s up.
func (m *Monitor) Track(s, ref *proxy.Server) {
	if m == nil {
		return
	}
	m.tmu.Lock()
	m.trackers[ref] = append([]*proxy.Server{s}, m.trackers[ref]...)
	m.tracked[s] = ref
	m.tmu.Unlock()
	ref.Pin()
	s.SetUp(ref.Up() && !ref.InMaint())
}

// untrack forgets a deleted server's tracking link.
func (m *Monitor) untrack(s *proxy.Server) {
	m.tmu.Lock()
	defer m.tmu.Unlock()
	ref := m.tracked[s]
	if ref == nil {
		return
	}
	delete(m.tracked, s)
	m.trackers[ref] = slices.DeleteFunc(slices.Clone(m.trackers[ref]), func(o *proxy.Server) bool { return o == s })
}

// MaintFollow passes a server's entering or leaving maintenance on to
// the servers tracking it, and to theirs, as haproxy's
// srv_update_status does with SRV_ADMF_IMAINT: call it after the server's
// own change was logged.
func (m *Monitor) MaintFollow(s *proxy.Server) {
	if m == nil {
		return
	}
	px := s.Backend().Proxy()
	entering := s.InMaint()
	for _, t := range m.trackersOf(s) {
		tpx := t.Backend().Proxy()
		kind := "Server"
		if t.Backup() {
			kind = "Backup Server"
		}
		name := fmt.Sprintf("%s %s/%s", kind, tpx.Name, t.Name())
		if entering {
			if t.InheritedMaint() != nil {
				continue
			}
			wasDown := !t.Up()
			if !t.SetInheritedMaint(s) {
				continue // in forced maintenance already: no word
			}
			act, bck := Usable(t.Backend())
			st := t.Stats()
			if wasDown {
				m.log(tpx, levelNotice, fmt.Sprintf("%s was DOWN and now enters maintenance via %s/%s.", name, px.Name, s.Name()))
			} else {
				m.log(tpx, levelAlert, fmt.Sprintf("%s is going DOWN for maintenance via %s/%s. %s %d sessions active, %d requeued, %d remaining in queue.",
					name, px.Name, s.Name(), ServersLeft(act, bck), st.CurSessions, 0, st.QueueCur))
				if act+bck == 0 {
					m.noServer(t.Backend())
				}
			}
		} else {
			if t.InheritedMaint() == nil {
				continue
			}
			if !t.SetInheritedMaint(nil) {
				m.log(tpx, levelNotice, name+" remains in forced maintenance.")
				continue
			}
			t.SetUp(s.Up())
			state := "UP"
			if !t.Up() {
				state = "DOWN"
			}
			m.log(tpx, levelNotice, fmt.Sprintf("%s is %s/READY (leaving maintenance).", name, state))
		}
		m.MaintFollow(t)
	}
}

func (m *Monitor) log(px *haproxycfg.Proxy, level haproxycfg.Level, msg string) {
	if m.opts.Log != nil {
		m.opts.Log(px, level, msg)
	}
	m.opts.Logger.Warn().Msg(msg)
}

// ServersLeft is the middle of haproxy's DOWN messages: "1 active and 1
// backup servers left.", with " Running on backup." when only backups are.
func ServersLeft(act, bck int) string {
	s := fmt.Sprintf("%d active and %d backup servers left.", act, bck)
	if act == 0 && bck > 0 {
		s += " Running on backup."
	}
	return s
}

// Usable counts the servers of a backend that take new traffic, active and
// backup, as the "N active and M backup servers left" of haproxy's logs.
func Usable(b *proxy.Backend) (act, bck int) {
	for _, s := range b.Servers() {
		if !s.Usable() || s.Weight() == 0 {
			continue
		}
		if s.Backup() {
			bck++
		} else {
			act++
		}
	}
	return act, bck
}

// Snapshot returns the check state of a server; false when it has no check.
func (m *Monitor) Snapshot(s *proxy.Server) (Snapshot, bool) {
	if m == nil {
		return Snapshot{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.checks[s]
	if c == nil {
		return Snapshot{}, false
	}
	dt := c.downtime
	if !c.downSince.IsZero() {
		dt += m.opts.Now().Sub(c.downSince)
	}
	return Snapshot{State: c.st, Last: c.last, LastCheck: c.lastCheck, Failures: c.failures, Downs: c.downs, Downtime: dt,
		Probe: c.probe, InProgress: c.running, Disabled: c.disabled, HanaFails: c.hanaFails}, true
}

// BackendDowns is how many times checks left a backend without any usable
// server (the chkdown of a BACKEND row).
func (m *Monitor) BackendDowns(b *proxy.Backend) int64 {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bdowns[b]
}

// Close stops every check and waits for them.
func (m *Monitor) Close() {
	if m == nil {
		return
	}
	m.cancel()
	m.wg.Wait()
}
