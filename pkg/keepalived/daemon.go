package keepalived

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/garp"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
	"hapair/pkg/track"
	"hapair/pkg/vip"
	"hapair/pkg/vrrp"
	"hapair/pkg/vrrpfsm"
)

// Env holds what the VRRP daemon needs from the operating system. Each field
// is a seam: tests replace sockets, addresses and clocks with fakes.
type Env struct {
	Log       zerolog.Logger
	LogDetail bool // -D: keepalived's detailed lines at Info

	// Listen opens an instance's VRRP sockets (vrrp.Listen in production).
	Listen func(vrrp.Config) (vrrp.Conn, error)
	// Interfaces looks up an interface and its addresses.
	Interfaces func(name string) (*net.Interface, []netip.Prefix, error)
	VIPs       vip.Manager
	Links      vip.LinkWatcher // nil: interfaces are assumed up
	GARP       garp.Sender     // nil: no gratuitous ARPs
	GARPClock  garp.Clock
	// garpSpacing is vrrp_garp_interval/vrrp_gna_interval, shared by
	// every instance (the spacing is per interface).
	garpSpacing garp.Spacing
	// Late, when set, hears of every instance timer handled after its
	// deadline (max_auto_priority).
	Late func(late time.Duration)
	// garpSpaced: garpSpacing has an interval, announcements may wait.
	garpSpaced atomic.Bool
	// watches shares link and address watches among instances.
	watches watchHub
	Clock   vrrpfsm.Clock
	// loop runs every instance's state machine on one goroutine with one
	// timer (vrrpfsm.Loop), made on first use with Clock.
	loopMu      sync.Mutex
	loop        *vrrpfsm.Loop
	TrackRunner *track.Runner
	Notifier    *notify.Notifier
	// Mailer builds the SMTP alerter for global_defs; nil: no mail.
	Mailer func(g keepalivedcfg.Global) *notify.Mailer
	// VMACs and Routes serve use_vmac and the virtual/static routes and
	// rules (vmacroute.go); nil: configurations using them cannot run.
	VMACs  VMACManager
	Routes RouteManager

	mail atomic.Pointer[notify.Mailer]
	// retrim re-arms the daemon's memory trim (memtrim.go) after an
	// instance became MASTER.
	retrim func()
}

func (e *Env) mailer() *notify.Mailer { return e.mail.Load() }

// SystemInterfaces is Env.Interfaces on the machine's own interfaces.
func SystemInterfaces(name string) (*net.Interface, []netip.Prefix, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, nil, err
	}
	// The net package slices HardwareAddr out of the whole link dump:
	// kept by every instance, that pinned 16 KiB each with 1,000 of them.
	own := *ifi
	own.HardwareAddr = bytes.Clone(ifi.HardwareAddr)
	ifi = &own
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, nil, err
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
		}
	}
	return ifi, out, nil
}

// Daemon runs the VRRP instances of a configuration and applies reloads.
type Daemon struct {
	env *Env

	mu      sync.Mutex
	cfg     *keepalivedcfg.Config
	nodes   map[string]*runningNode
	scripts map[string]*runningScript
	// trim returns start-up garbage to the kernel (memtrim.go); trimMu
	// guards it: instances re-arm it from the event loop, without mu.
	trim    *time.Timer
	trimMu  sync.Mutex
	trimEnd bool                  // Stop ran: no more trims
	groups  map[string]*syncGroup // running sync groups by name
	procs   *runningProcs         // vrrp_track_process counting; nil = none configured
	files   *runningFiles         // track_file watching; nil = none tracked
	fifos   *runningFIFOs         // notify FIFOs; nil = none open
	bgp     *runningBGP           // the bgp block's speaker (bgp.go); nil = none
	bgpErr  error                 // why the speaker could not start (bgp.go)
	started bool                  // the first configuration was applied: later ones are reloads
	ctx     context.Context
	cancel  context.CancelFunc
	mailCtx context.CancelFunc
	// stopWait bounds the wait for a restarted or removed instance to stop
	// on reload: one stuck in an effect (a netlink call, a full socket)
	// must not hold the reload, and the signals after it, for ever.
	stopWait time.Duration

	// static: the static_ipaddress/routes/rules installed (vmacroute.go);
	// staticWatch starts watchStatic once.
	static      staticState
	staticWatch sync.Once
}

// defaultStopWait is Daemon.stopWait.
const defaultStopWait = 5 * time.Second

type runningNode struct {
	*node
	// key is the instance's identity and everything that needs a new
	// instance to change; soft is what a reload changes in place (priority,
	// notify scripts, smtp_alert, GARP schedule, initial state), keeping the
	// state and the VIPs as keepalived does.
	key, soft string
	prio      int // the configured priority the instance runs with
}

type runningScript struct {
	key    string
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	last   *track.Result
	// subscribers get every result: the instances that track the script.
	subscribers map[string]func(track.Result)
}

// NewDaemon returns a daemon that runs nothing yet.
func NewDaemon(env *Env) *Daemon {
	d := &Daemon{env: env, nodes: map[string]*runningNode{}, scripts: map[string]*runningScript{}, groups: map[string]*syncGroup{}, stopWait: defaultStopWait}
	env.retrim = d.armTrim
	return d
}

// Start runs every instance of cfg. An instance that cannot start (missing
// interface, no address) is logged and left out, as keepalived does; Start
// fails only when none can run.
func (d *Daemon) Start(ctx context.Context, cfg *keepalivedcfg.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctx, d.cancel = context.WithCancel(ctx)
	context.AfterFunc(d.ctx, d.stopFSMs)
	d.removeStaleVIPs(cfg)
	d.apply(cfg)
	d.scheduleTrim()
	if cfg.BGP != nil && d.bgp == nil && d.bgpErr != nil {
		return d.bgpErr
	}
	if len(cfg.Instances) > 0 && len(d.nodes) == 0 {
		return fmt.Errorf("no VRRP instance could start")
	}
	return nil
}

// Reload applies a new configuration: instances whose configuration did not
// change keep running (their VIPs stay where they are), changed ones restart,
// removed ones stop.
func (d *Daemon) Reload(cfg *keepalivedcfg.Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apply(cfg)
	d.scheduleTrim()
}

// Stop stops every instance: a MASTER sends priority 0 and removes its VIPs.
func (d *Daemon) Stop(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopBGP(ctx) // first: routers stop sending traffic before anything else stops
	d.trimMu.Lock()
	if d.trim != nil {
		d.trim.Stop()
	}
	d.trimEnd = true
	d.trimMu.Unlock()
	d.stopFIFOScripts()
	var wg sync.WaitGroup
	for name, n := range d.nodes {
		wg.Add(1)
		go func(n *runningNode) { defer wg.Done(); n.stop(ctx) }(n)
		delete(d.nodes, name)
	}
	wg.Wait()
	for name, s := range d.scripts {
		s.cancel()
		select {
		case <-s.done:
		case <-ctx.Done():
		}
		delete(d.scripts, name)
	}
	d.stopProcesses()
	d.stopFiles()
	if d.env.Notifier != nil {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_ = d.env.Notifier.Wait(wctx)
		cancel()
	}
	d.stopFIFOs()
	d.setStatic(staticState{})
	if m := d.env.mail.Swap(nil); m != nil {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_ = m.Close(cctx)
		cancel()
	}
	if d.cancel != nil {
		d.cancel()
	}
}

// stopFSMs stops the state machine of every running instance once the
// daemon's context ends (each closes down as when stopped), as one
// context.AfterFunc for the daemon instead of one per instance.
func (d *Daemon) stopFSMs() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.nodes {
		if n.stopFSM != nil {
			n.stopFSM()
		}
	}
}

// Instances returns the running instances' names, sorted.
func (d *Daemon) Instances() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.nodes))
	for name := range d.nodes {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Status returns the state machine status of a running instance.
func (d *Daemon) Status(name string) (vrrpfsm.Status, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.nodes[name]
	if !ok {
		return vrrpfsm.Status{}, false
	}
	return n.fsm.Status(), true
}

func (d *Daemon) apply(cfg *keepalivedcfg.Config) {
	log := d.env.Log
	d.cfg = cfg
	d.applyMailer(cfg.Global)
	d.applyStatic(cfg)
	d.env.garpSpacing.SetIntervals(cfg.Global.GARPInterval, cfg.Global.GNAInterval)
	d.env.garpSpaced.Store(cfg.Global.GARPInterval > 0 || cfg.Global.GNAInterval > 0)

	topts := track.Options{User: cfg.Global.ScriptUser, Group: cfg.Global.ScriptGroup, ScriptSecurity: cfg.Global.EnableScriptSecurity, Quiet: cfg.ScriptsChecked}

	// Instances: keep the unchanged, stop the rest, then start the new.
	want := map[string]*keepalivedcfg.Instance{}
	keys, softs := map[string]string{}, map[string]string{}
	for _, in := range cfg.Instances {
		want[in.Name] = in
		keys[in.Name], softs[in.Name] = instanceKeys(in)
	}
	for name, gk := range syncGroupKeys(cfg, keys) {
		keys[name] += "\x00" + gk
	}
	var stopping []*runningNode
	for name, n := range d.nodes {
		if in, ok := want[name]; ok && keys[name] == n.key {
			if softs[name] == n.soft || d.update(n, in, topts) {
				n.soft = softs[name]
				continue
			}
		}
		if _, kept := want[name]; !kept {
			n.deleted.Store(true)
		}
		stopping = append(stopping, n)
		delete(d.nodes, name)
		for _, s := range d.scripts {
			s.mu.Lock()
			delete(s.subscribers, name)
			s.mu.Unlock()
		}
	}
	d.stopNodes(stopping)
	d.applyFIFOs(cfg.Global, topts)
	d.applyProcesses(cfg)
	d.initTrackFiles(cfg, d.started)
	d.started = true
	d.applyFiles(cfg)
	// Scripts: restart those whose definition changed, stop unused ones.
	used := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, ts := range in.TrackScripts {
			used[ts.Name] = true
		}
	}
	bgpScripts(cfg, used)
	for name, s := range d.scripts {
		sc := cfg.Script(name)
		if sc != nil && used[name] && scriptKey(sc) == s.key {
			continue
		}
		s.cancel()
		select {
		case <-s.done:
		case <-time.After(d.stopWait):
			log.Warn().Msgf("VRRP_Script(%s) did not stop within %v", name, d.stopWait)
		}
		delete(d.scripts, name)
	}
	var created []*node
	for _, in := range cfg.Instances {
		if _, ok := d.nodes[in.Name]; ok {
			continue
		}
		var tracks []vrrpfsm.Track
		for _, ts := range in.TrackScripts {
			tracks = append(tracks, vrrpfsm.Track{Name: "script:" + ts.Name, Weight: ts.Weight, Reverse: ts.Reverse})
		}
		for _, ti := range in.TrackInterfaces {
			tracks = append(tracks, vrrpfsm.Track{Name: "interface:" + ti.Name, Weight: ti.Weight, Reverse: ti.Reverse, Initial: vrrpfsm.TrackUp})
		}
		for _, tp := range in.TrackProcesses {
			// The instance starts from the scan's count, as keepalived's
			// initialise_process_tracking_priorities.
			initial := vrrpfsm.TrackDown
			if d.procs != nil && d.procs.w.Up(tp.Name) {
				initial = vrrpfsm.TrackUp
			}
			tracks = append(tracks, vrrpfsm.Track{Name: "process:" + tp.Name, Weight: tp.Weight, Reverse: tp.Reverse, Initial: initial})
		}
		tracks = append(tracks, d.fileTracks(in)...)
		n, err := newNode(d.env, in, tracks, notifyScripts(in, topts, log))
		if err != nil {
			log.Error().Msgf("%v", err)
			continue
		}
		rn := &runningNode{node: n, key: keys[in.Name], soft: softs[in.Name], prio: in.Priority}
		d.nodes[in.Name] = rn
		created = append(created, n)
	}
	// Sync groups are made before their members run. A member that kept
	// running keeps its group: its key covers the whole group.
	isNew := map[*node]bool{}
	for _, n := range created {
		isNew[n] = true
	}
	groups := map[string]*syncGroup{}
	for _, g := range cfg.SyncGroups {
		var members []*node
		for _, name := range g.Instances {
			if rn := d.nodes[name]; rn != nil && isNew[rn.node] {
				members = append(members, rn.node)
			}
		}
		if len(members) == 0 {
			if old := d.groups[g.Name]; old != nil {
				groups[g.Name] = old
			}
			continue
		}
		sg, err := newSyncGroup(d.env, cfg, g, members, topts)
		if err != nil {
			log.Error().Msgf("VRRP_Group(%s) %v", g.Name, err)
			continue
		}
		groups[g.Name] = sg
	}
	d.groups = groups
	d.subscribeProcesses(cfg, isNew)
	d.subscribeFiles(cfg, isNew)
	// The new instances start together, in one pass of the loop (see
	// vrrpfsm.Loop.Hold): their timers then stay in step, one wake-up
	// for all of them, as keepalived's.
	release := d.env.fsmLoop().Hold()
	for _, n := range created {
		n.start(d.ctx)
	}
	release()
	// Scripts start after the instances so the first verdict reaches them.
	for _, sc := range cfg.Scripts {
		if !used[sc.Name] {
			continue
		}
		s := d.scripts[sc.Name]
		if s == nil {
			var err error
			s, err = d.startScript(sc, topts)
			if err != nil {
				log.Error().Msgf("VRRP_Script(%s) %v", sc.Name, err)
				continue
			}
			d.scripts[sc.Name] = s
		}
		for _, in := range cfg.Instances {
			n := d.nodes[in.Name]
			if n == nil {
				continue
			}
			for _, ts := range in.TrackScripts {
				if ts.Name != sc.Name {
					continue
				}
				fsm := n.fsm
				s.subscribe(in.Name, func(r track.Result) { fsm.SetTrack("script:"+r.Name, r.OK) })
			}
		}
	}
	d.applyBGP(cfg)
}

// stopNodes stops instances together (each resigns at once) and waits for
// them at most stopWait; one that does not stop in time is logged and left
// to finish on its own.
func (d *Daemon) stopNodes(nodes []*runningNode) {
	if len(nodes) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.stopWait)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func(n *runningNode) {
			defer wg.Done()
			if !n.stop(ctx) {
				d.env.Log.Error().Msgf("(%s) did not stop within %v: going on without it", n.cfg.Name, d.stopWait)
				// It holds the loop it runs on.
				d.env.abandonLoop()
			}
		}(n)
	}
	wg.Wait()
}

// removeStaleVIPs removes, at start, the VIPs of the configuration that are
// already on the machine: a VRRP process that crashed (or was killed) left
// them, and every instance starts without its VIPs (keepalived's VRRP child
// removes them as it starts: "(VI_1) removing VIPs."). An owner at 255
// takes them again at once.
func (d *Daemon) removeStaleVIPs(cfg *keepalivedcfg.Config) {
	removeStale(d.env.Log, d.env.VIPs, vipsOf(cfg))
}

func (d *Daemon) startScript(sc *keepalivedcfg.Script, topts track.Options) (*runningScript, error) {
	o := topts
	if sc.User != "" {
		o.User, o.Group = sc.User, sc.Group
	}
	cmd, err := track.PrepareArgs(sc.Args, o, d.env.Log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(d.ctx)
	s := &runningScript{key: scriptKey(sc), cancel: cancel, done: make(chan struct{}), subscribers: map[string]func(track.Result){}}
	ts := track.Script{
		Name: sc.Name, Command: sc.Command, Interval: sc.Interval, Timeout: sc.Timeout,
		Rise: sc.Rise, Fall: sc.Fall, Weight: sc.Weight, Reverse: sc.Reverse,
		User: sc.User, Group: sc.Group, InitFail: sc.InitFail,
	}
	runner := d.env.TrackRunner
	if runner == nil {
		runner = &track.Runner{Log: d.env.Log}
	}
	go func() {
		defer close(s.done)
		runner.Run(ctx, ts, cmd, s.publish)
	}()
	return s, nil
}

func (s *runningScript) publish(r track.Result) {
	s.mu.Lock()
	s.last = &r
	subs := make([]func(track.Result), 0, len(s.subscribers))
	for _, f := range s.subscribers {
		subs = append(subs, f)
	}
	s.mu.Unlock()
	for _, f := range subs {
		f(r)
	}
}

// subscribe adds an instance; it gets the last verdict at once, so an
// instance restarted by a reload does not wait for the next change.
func (s *runningScript) subscribe(name string, f func(track.Result)) {
	s.mu.Lock()
	s.subscribers[name] = f
	last := s.last
	s.mu.Unlock()
	if last != nil {
		f(*last)
	}
}

func (d *Daemon) applyMailer(g keepalivedcfg.Global) {
	var m *notify.Mailer
	if d.env.Mailer != nil && g.SMTPServer != "" {
		m = d.env.Mailer(g)
	}
	if old := d.env.mail.Swap(m); old != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = old.Close(ctx)
		}()
	}
	if m != nil {
		go m.Run(d.ctx)
	}
}

// instanceKeys returns an instance's identity key (VRID, interface,
// addresses, tracking, timers, authentication: what needs a new instance to
// change) and its soft key (what a reload changes in place: priority,
// notify scripts, smtp_alert, the gratuitous ARP schedule, and the initial
// state, which only matters at start). keepalived 2.2.7 keeps a reloaded instance's state and VIPs when
// its identity stays.
func instanceKeys(in *keepalivedcfg.Instance) (key, soft string) {
	c := *in
	c.Pos = keepalivedcfg.Pos{}
	c.VIPs = append([]keepalivedcfg.VIP(nil), in.VIPs...)
	for i := range c.VIPs {
		c.VIPs[i].Pos = keepalivedcfg.Pos{}
	}
	c.ExcludedVIPs = append([]keepalivedcfg.VIP(nil), in.ExcludedVIPs...)
	for i := range c.ExcludedVIPs {
		c.ExcludedVIPs[i].Pos = keepalivedcfg.Pos{}
	}
	s := keepalivedcfg.Instance{
		Priority: c.Priority, State: c.State, SMTPAlert: c.SMTPAlert, GARP: c.GARP,
		NotifyMaster: stripNotify(c.NotifyMaster), NotifyBackup: stripNotify(c.NotifyBackup),
		NotifyFault: stripNotify(c.NotifyFault), NotifyStop: stripNotify(c.NotifyStop), Notify: stripNotify(c.Notify),
		NotifyMasterRxLowerPri: stripNotify(c.NotifyMasterRxLowerPri), NotifyDeletedScript: stripNotify(c.NotifyDeletedScript),
	}
	c.Priority, c.State, c.SMTPAlert, c.GARP = 0, 0, false, keepalivedcfg.GARP{}
	c.NotifyMaster, c.NotifyBackup, c.NotifyFault, c.NotifyStop, c.Notify = nil, nil, nil, nil, nil
	c.NotifyMasterRxLowerPri, c.NotifyDeletedScript = nil, nil
	kb, _ := json.Marshal(&c)
	sb, _ := json.Marshal(&s)
	// Digests, not the JSON: kept per running instance, the JSON cost
	// 1.5 KiB each.
	kd, sd := sha256.Sum256(kb), sha256.Sum256(sb)
	return string(kd[:]), string(sd[:])
}

// update applies a reload's soft changes to a running instance; false when
// the priority cannot change in place (to or from the owner's 255), and the
// instance must restart.
func (d *Daemon) update(n *runningNode, in *keepalivedcfg.Instance, topts track.Options) bool {
	if in.Priority != n.prio {
		if !n.fsm.SetPriority(in.Priority) {
			return false
		}
		n.prio = in.Priority
	}
	n.setLive(notifyScripts(in, topts, d.env.Log), in.SMTPAlert, in.GARP)
	return true
}

func scriptKey(s *keepalivedcfg.Script) string {
	c := *s
	c.Pos = keepalivedcfg.Pos{}
	b, _ := json.Marshal(&c)
	return string(b)
}

// fsmLoop returns the loop the instances run on.
func (e *Env) fsmLoop() *vrrpfsm.Loop {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	if e.loop == nil {
		e.loop = vrrpfsm.NewLoop(e.Clock)
	}
	return e.loop
}

// abandonLoop makes the instances started from now on run on a new loop:
// an instance's stop hangs (a netlink call that never returns), and holds
// the loop it runs on.
func (e *Env) abandonLoop() {
	e.loopMu.Lock()
	e.loop = nil
	e.loopMu.Unlock()
}
