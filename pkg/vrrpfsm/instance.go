package vrrpfsm

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Sender sends one VRRP advert for the instance at the given priority. The
// wiring builds the packet (VIPs, advert interval, authentication, AH
// sequence number) and sends it to the multicast group or unicast peers. It
// is called from the machine's goroutine and must not block for long.
type Sender interface {
	SendAdvert(prio uint8) error
}

// AHSyncer is implemented by Senders using AH authentication that want to
// follow keepalived when a master hears a lower priority advert: it sets its
// sequence counter to the received sequence number + 1 (vrrp.c,
// vrrp_state_master_rx).
type AHSyncer interface {
	SyncAHSeq(received uint32)
}

// LowerPrioAnnouncer is implemented by Effects that announce the virtual
// addresses again when a master hears a lower priority advert
// (keepalived's garp_lower_prio_repeat and garp_lower_prio_delay, vrrp.c
// vrrp_state_master_rx). Called from the machine's goroutine: must not block.
type LowerPrioAnnouncer interface {
	LowerPrioAdvert()
}

// Effects carries out what a transition means outside the machine. Calls are
// made from the machine's goroutine, in keepalived's order, and must not block
// for long: run scripts and mail asynchronously.
type Effects interface {
	// BecomeMaster adds the virtual addresses (and routes, rules) and starts
	// the gratuitous ARP / NA sequence: garp_master_delay, _repeat, _refresh.
	BecomeMaster(ctx context.Context)
	// LeaveMaster removes them and stops any pending gratuitous ARPs.
	LeaveMaster(ctx context.Context)
	// Notify runs notify scripts and smtp_alert for a state change; prio is
	// the effective priority. to is Stop on shutdown.
	Notify(from, to State, prio int)
}

// Advert is a received advert that passed the packet layer's checks (length,
// TTL, version, authentication, VRID, checksum, addresses).
type Advert struct {
	Src       netip.Addr    // the sender's IP source address
	Priority  uint8         // 0 means the master is resigning
	AdvertInt time.Duration // the advert's interval (VRRPv3 adopts it)
	AHSeq     uint32        // AH sequence number, when AH is used
}

// Stats are the counters keepalived prints in /tmp/keepalived.stats.
type Stats struct {
	AdvertRcvd    uint64 // adverts processed in BACKUP or MASTER
	AdvertSent    uint64 // adverts sent, priority 0 included
	BecomeMaster  uint64 // transitions to MASTER
	ReleaseMaster uint64 // transitions from MASTER to BACKUP or FAULT
	PriZeroRcvd   uint64
	PriZeroSent   uint64 // resignations (keepalived counts one per resignation)
	Dropped       uint64 // adverts dropped because the queue was full
}

// Status is a snapshot of the instance for status dumps (/tmp/keepalived.data).
type Status struct {
	State             State
	BasePriority      int
	EffectivePriority int
	MasterAddr        netip.Addr // last advert source seen as master (BACKUP)
	MasterPriority    int
	MasterAdvertInt   time.Duration
	LastTransition    time.Time
	LastReason        Reason
}

// ErrRunning is returned by Run when the instance already ran.
var ErrRunning = errors.New("vrrpfsm: instance already running or stopped")

// queueLen bounds the adverts waiting in an instance's queue; adverts
// beyond it are dropped as a full socket buffer would drop them. The queue
// grows as events come and is released once empty: an idle instance holds
// none.
const queueLen = 16

type evKind int

const (
	evAdvert evKind = iota
	evTrack
	evIface
	evSync
	evForce // the sync group queued an order (Group.take)
	evVIPGone
	evPriority // a reload changed the base priority
	evTrackValue
)

type event struct {
	kind evKind
	adv  Advert
	name string
	ok   bool
	prio int
	done chan struct{}
}

type trackEntry struct {
	Track
	state TrackState
	value int // Valued: clamped to ValueFault..253
}

// Instance is one VRRP instance's state machine. Create it with New, start
// it with Run, feed it with Receive, SetTrack and InterfaceUp.
type Instance struct {
	cfg  Config
	clk  Clock
	snd  Sender
	fx   Effects
	log  *zerolog.Logger // shared: a copy was 112 bytes per instance
	name string

	done    chan struct{}
	runOnce sync.Once

	// The queue, written by any goroutine, read by the loop's.
	qmu     sync.Mutex
	q       []event
	nadv    int  // adverts in q
	kicked  bool // the sync group queued an order (Group.take)
	stopReq bool // the context of Start is done
	closed  bool // the instance stopped: nothing more is queued
	loop    *Loop
	stopped func()

	// Guarded by loop.mu.
	inReady  bool
	starting bool

	// Owned by the Run goroutine.
	state        State
	base, eff    int
	tracks       map[string]*trackEntry
	trackOrder   []string
	ifDown       bool
	wantMaster   bool // keepalived's wantstate == MASTER at start
	masterAdvInt time.Duration
	msDown       time.Duration // keepalived's ms_down_timer
	sands        time.Time     // deadline of the state's timer
	timerOn      bool
	heapIdx      int   // in the loop's timer heap; -1: not in it
	cur          State // the state whose step handles the next event
	over         bool  // stopped
	preemptTime  time.Time
	nextReason   Reason // keepalived's next_master_reason
	vipSet       bool
	masterAddr   netip.Addr
	masterPrio   int
	ctx          context.Context
	forcing      bool // the transition under way was ordered by the group
	notified     bool // an instance notification was sent (notifies_sent)

	// Set by NewGroup before Run.
	grp *Group

	mu     sync.Mutex
	stats  Stats
	status Status
}

// New returns an instance in state Init. cfg is normalized as described on
// Config; log receives keepalived's lines as messages.
func New(cfg Config, clk Clock, snd Sender, fx Effects, log zerolog.Logger) *Instance {
	return NewShared(cfg, clk, snd, fx, &log)
}

// NewShared is New with a logger the caller keeps unchanged while the
// instance runs (a daemon's, shared by all its instances).
func NewShared(cfg Config, clk Clock, snd Sender, fx Effects, log *zerolog.Logger) *Instance {
	cfg = cfg.normalize()
	if clk == nil {
		clk = SystemClock()
	}
	in := &Instance{
		cfg:          cfg,
		clk:          clk,
		snd:          snd,
		fx:           fx,
		log:          log,
		name:         cfg.Name,
		done:         make(chan struct{}),
		heapIdx:      -1,
		state:        Init,
		base:         cfg.Priority,
		eff:          cfg.Priority,
		ifDown:       cfg.InterfaceDown,
		wantMaster:   cfg.InitialState == Master,
		masterAdvInt: cfg.AdvertInt,
	}
	if len(cfg.Tracks) > 0 {
		// Only then: an empty map was ~100 bytes per instance.
		in.tracks = make(map[string]*trackEntry, len(cfg.Tracks))
	}
	for _, t := range cfg.Tracks {
		if _, dup := in.tracks[t.Name]; dup {
			continue
		}
		in.tracks[t.Name] = &trackEntry{Track: t, state: t.Initial, value: clampValue(t.InitialValue)}
		in.trackOrder = append(in.trackOrder, t.Name)
	}
	in.publish()
	return in
}

// Config returns the normalized configuration.
func (in *Instance) Config() Config { return in.cfg }

// Receive queues a checked advert. It never blocks: when queueLen adverts
// wait already the advert is dropped and counted in Stats.Dropped.
func (in *Instance) Receive(a Advert) {
	in.qmu.Lock()
	if in.closed {
		in.qmu.Unlock()
		return
	}
	if in.nadv >= queueLen {
		in.qmu.Unlock()
		in.mu.Lock()
		in.stats.Dropped++
		in.mu.Unlock()
		return
	}
	in.q = append(in.q, event{kind: evAdvert, adv: a})
	in.nadv++
	l := in.loop
	in.qmu.Unlock()
	if l != nil {
		l.schedule(in)
	}
}

// SetTrack reports the debounced result of the tracked object name (a
// track_script, or any object listed in Config.Tracks): up is true while the
// script succeeds. Unknown names are logged and ignored.
func (in *Instance) SetTrack(name string, up bool) {
	in.post(event{kind: evTrack, name: name, ok: up})
}

// SetTrackValue reports a new value of a valued track (track_file: the
// file's number times the weight).
func (in *Instance) SetTrackValue(name string, v int) {
	in.post(event{kind: evTrackValue, name: name, prio: v})
}

// clampValue is keepalived's range for a track file's status.
func clampValue(v int) int { return min(max(v, ValueFault), 253) }

// InterfaceUp reports the state of the instance's own interface; while it is
// down the instance is in FAULT.
func (in *Instance) InterfaceUp(up bool) {
	in.post(event{kind: evIface, ok: up})
}

// SetPriority changes the configured (base) priority of a running
// instance, as a reload does in keepalived: the state is kept, the
// effective priority follows and the next advert carries it. The address
// owner's priority (255) is not changed this way, nor is another priority
// turned into 255: that changes how the instance starts, so the caller
// restarts the instance instead. Returns false for those.
func (in *Instance) SetPriority(prio int) bool {
	if prio <= 0 || prio >= PriorityOwner || in.cfg.Priority == PriorityOwner {
		return false
	}
	in.post(event{kind: evPriority, prio: prio})
	return true
}

// post queues an event other than an advert; it never blocks. It returns
// false once the instance stopped.
func (in *Instance) post(ev event) bool {
	in.qmu.Lock()
	if in.closed {
		in.qmu.Unlock()
		return false
	}
	in.q = append(in.q, ev)
	l := in.loop
	in.qmu.Unlock()
	if l != nil {
		l.schedule(in)
	}
	return true
}

// VIPRemoved reports that one of the instance's tracked VIPs (not
// no_track) was deleted by someone else. A MASTER then goes to BACKUP,
// sending priority 0, and takes over again after its skew time, adding the
// addresses back (keepalived 2.2.7 keepalived_netlink.c set_vrrp_backup).
// In other states it does nothing.
func (in *Instance) VIPRemoved() {
	in.post(event{kind: evVIPGone})
}

// Sync returns once the instance has handled every event queued and every
// timer fired before the call (or Run has returned). Tests use it to step a
// fake clock deterministically.
func (in *Instance) Sync() {
	done := make(chan struct{})
	if !in.post(event{kind: evSync, done: done}) {
		return
	}
	select {
	case <-done:
	case <-in.done:
	}
}

// wake tells the loop that its group queued an order; it never blocks.
func (in *Instance) wake() {
	in.qmu.Lock()
	in.kicked = true
	l := in.loop
	in.qmu.Unlock()
	if l != nil {
		l.schedule(in)
	}
}

// Group returns the sync group the instance belongs to, or nil.
func (in *Instance) Group() *Group { return in.grp }

// Done is closed when Run has returned.
func (in *Instance) Done() <-chan struct{} { return in.done }

// State returns the current state.
func (in *Instance) State() State {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.status.State
}

// EffectivePriority returns the priority the instance advertises.
func (in *Instance) EffectivePriority() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.status.EffectivePriority
}

// Stats returns a copy of the counters.
func (in *Instance) Stats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stats
}

// Status returns a snapshot of the instance.
func (in *Instance) Status() Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.status
}

func (in *Instance) publish() {
	in.mu.Lock()
	in.status.State = in.state
	in.status.BasePriority = in.base
	in.status.EffectivePriority = in.eff
	in.status.MasterAddr = in.masterAddr
	in.status.MasterPriority = in.masterPrio
	in.status.MasterAdvertInt = in.masterAdvInt
	in.mu.Unlock()
}

func (in *Instance) count(f func(s *Stats)) {
	in.mu.Lock()
	f(&in.stats)
	in.mu.Unlock()
}

// infof logs one of keepalived's LOG_INFO lines; the message is the line.
func (in *Instance) infof(format string, args ...any) {
	in.log.Info().Msgf(format, args...)
}

// detailf logs a line keepalived writes only with -D (log_detail).
func (in *Instance) detailf(format string, args ...any) {
	if in.cfg.LogDetail {
		in.log.Info().Msgf(format, args...)
		return
	}
	in.log.Debug().Msgf(format, args...)
}
