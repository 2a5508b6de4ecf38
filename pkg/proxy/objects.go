package proxy

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"hapair/pkg/balance"
	"hapair/pkg/haproxycfg"
)

// Status is what haproxy's stats show in the status column of a server,
// frontend or backend.
type Status int32

// The statuses. A server's status combines its administrative state
// (maintenance, drain: set by an operator) with its operational state (up,
// down: set by health checks): MAINT wins over DOWN, which wins over DRAIN.
const (
	StatusUp Status = iota
	StatusDown
	StatusMaint
	StatusDrain
	StatusOpen // frontends that accept
	StatusFull // frontends at their maxconn (or the process at its own)
	StatusStop // frontends that no longer accept
	// StatusNolb: a server up but soft-stopping (haproxy's STOPPING,
	// `set server B/S health stopping`): no load-balanced traffic,
	// persistent sessions still reach it.
	StatusNolb
)

func (s Status) String() string {
	switch s {
	case StatusUp:
		return "UP"
	case StatusDown:
		return "DOWN"
	case StatusMaint:
		return "MAINT"
	case StatusDrain:
		return "DRAIN"
	case StatusOpen:
		return "OPEN"
	case StatusFull:
		return "FULL"
	case StatusStop:
		return "STOP"
	case StatusNolb:
		return "NOLB"
	}
	return fmt.Sprintf("Status(%d)", int32(s))
}

// AdminState is a server's administrative state, as `set server
// <b>/<s> state ready|drain|maint` sets it.
type AdminState int32

const (
	AdminReady AdminState = iota
	AdminDrain
	AdminMaint
)

func (a AdminState) String() string {
	switch a {
	case AdminReady:
		return "ready"
	case AdminDrain:
		return "drain"
	case AdminMaint:
		return "maint"
	}
	return fmt.Sprintf("AdminState(%d)", int32(a))
}

// Server is a backend server at run time. Its methods are safe for
// concurrent use; it implements balance.Server.
type Server struct {
	cfg *haproxycfg.Server
	// dialAddr is host:port, formatted once; "" when the port is the
	// client's.
	dialAddr string
	be       *Backend
	id       int
	pool     atomic.Uint64 // poolID, set on first use (srvreuse.go)
	pools    serverPools   // where its idle connections wait (idlepool.go)
	admin    atomic.Int32  // AdminState
	down     atomic.Bool   // operational state from health checks
	weight   atomic.Int32  // configured or set at run time
	// maxconn is the limit set at run time (an agent's "maxconn:N")
	// plus one; 0: the configured one.
	maxconn atomic.Int64
	// maintSeen: the server entered maintenance at run time, which
	// zeroes haproxy's check health for good on a server without check.
	maintSeen atomic.Bool
	changed   atomic.Int64 // unix nanoseconds of the last status change
	ctr       counters
	rt        atomic.Pointer[runtimeAddr] // address set at run time (resolution.go)
	fqdn      atomic.Pointer[string]      // name set at run time from an SRV record
	fqdnSet   atomic.Bool                 // SRV_ADMF_HMAINT
	// warmFrom is the unix second a slow start began (haproxy's
	// last_change of a STARTING server); 0 when the server runs at full
	// weight (slowstart.go).
	warmFrom atomic.Int64
	// alpnH1: the server's ALPN answer was not h2 (`alpn h2,http/1.1`):
	// its requests go over HTTP/1.1 (h2_backend.go).
	alpnH1 atomic.Bool
	// dynamic: created by `add server` (dynsrv.go).
	dynamic bool
	// leftMaint: the administrative state changed since the start.
	leftMaint atomic.Bool
	// obs receives what traffic tells of the server (`observe`, observe.go).
	obs atomic.Pointer[observer]
	// stopping: up but soft-stopping (haproxy's SRV_ST_STOPPING, NOLB).
	stopping atomic.Bool
	// via is the tracked server whose maintenance this one inherits
	// (haproxy's SRV_ADMF_IMAINT), nil when none.
	via atomic.Pointer[Server]
	// ssl is `set server ... ssl on|off`: 0 = as configured, 1 on, 2 off.
	ssl atomic.Int32
	// pinned: something points at the server, which `del server` then
	// refuses (haproxy's SRV_F_NON_PURGEABLE, never cleared).
	pinned atomic.Bool
}

// TLSOn reports whether new connections to the server use TLS: `ssl` on
// its line, or `set server ... ssl` since.
func (s *Server) TLSOn() bool {
	switch s.ssl.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	return s.cfg.TLS != nil && s.cfg.TLS.Traffic
}

// UseSSL is haproxy's use_ssl as `show servers state` writes it: the
// configured value until `set server ... ssl` sets 1 or 0.
func (s *Server) UseSSL() int {
	switch s.ssl.Load() {
	case 1:
		return 1
	case 2:
		return 0
	}
	return s.cfg.UseSSL
}

// SetTLS is `set server ... ssl on|off` for a server whose TLS settings
// are prepared (cfg.TLS set); idle connections of the other kind are not
// reused (h1client.go), as haproxy's srv_cleanup_connections drops them.
func (s *Server) SetTLS(on bool) {
	v := int32(2)
	if on {
		v = 1
	}
	s.ssl.Store(v)
	s.cleanupIdle()
}

// Pin marks the server as pointed at (a tracker was added at run time).
func (s *Server) Pin() { s.pinned.Store(true) }

// Pinned reports whether Pin was called.
func (s *Server) Pinned() bool { return s.pinned.Load() }

// InheritedMaint is the tracked server whose maintenance the server is in
// (`track`: haproxy's SRV_ADMF_IMAINT), or nil.
func (s *Server) InheritedMaint() *Server { return s.via.Load() }

// InMaint reports whether the server is in maintenance, forced or
// inherited from the server it tracks.
func (s *Server) InMaint() bool { return s.AdminState() == AdminMaint || s.via.Load() != nil }

// SetInheritedMaint puts the server in the maintenance of via, the server
// it tracks, or takes it out of it (nil). It reports whether the server
// entered or left maintenance by it: not when forced maintenance holds
// the server anyway.
func (s *Server) SetInheritedMaint(via *Server) bool {
	forced := s.AdminState() == AdminMaint
	old := s.via.Swap(via)
	if (old == nil) == (via == nil) {
		return false
	}
	if via != nil {
		s.maintSeen.Store(true)
	} else if !forced && !s.down.Load() {
		s.startWarmup()
	}
	s.leftMaint.Store(true)
	s.changed.Store(s.be.now().UnixNano())
	s.be.statusChanged(s)
	return !forced
}

// Stopping reports whether the server is soft-stopping (NOLB): up, taking
// no load-balanced traffic.
func (s *Server) Stopping() bool { return s.stopping.Load() }

// SetStopping makes a server soft-stop (haproxy's srv_set_stopping), from
// up or down; SetUp ends it.
func (s *Server) SetStopping() {
	wasDown := s.down.Swap(false)
	if !s.stopping.Swap(true) || wasDown {
		s.warmFrom.Store(0)
		s.changed.Store(s.be.now().UnixNano())
		s.be.statusChanged(s)
	}
}

// Dynamic reports whether the server was created by `add server`.
func (s *Server) Dynamic() bool { return s.dynamic }

// MaintSeen reports whether the server entered maintenance at run time.
func (s *Server) MaintSeen() bool { return s.maintSeen.Load() }

// Name is the server's name.
func (s *Server) Name() string { return s.cfg.Name }

// fetchName is the server's name for srv_name and srv_id: none for a
// dispatch address, which haproxy's fetches find no server for.
func (s *Server) fetchName() string {
	if s.be != nil && s == s.be.dispatch {
		return ""
	}
	return s.cfg.Name
}

// ID is the server's position in its backend, from 1 (haproxy's sid).
func (s *Server) ID() int { return s.id }

// Config is the server line the server was made from.
func (s *Server) Config() *haproxycfg.Server { return s.cfg }

// Backend is the backend holding the server.
func (s *Server) Backend() *Backend { return s.be }

// Backup reports whether the server is a backup server.
func (s *Server) Backup() bool { return s.cfg.Backup }

// AdminState is the administrative state.
func (s *Server) AdminState() AdminState { return AdminState(s.admin.Load()) }

// Status combines the administrative and operational states.
func (s *Server) Status() Status {
	switch {
	case s.InMaint() || s.Unresolved():
		return StatusMaint
	case s.down.Load():
		return StatusDown
	case s.stopping.Load():
		return StatusNolb
	case s.AdminState() == AdminDrain:
		return StatusDrain
	}
	return StatusUp
}

// SetAdminState sets the administrative state (stats socket, stats page).
// Leaving maintenance or drain lets queued connections through.
func (s *Server) SetAdminState(a AdminState) {
	if old := AdminState(s.admin.Swap(int32(a))); old != a {
		s.leftMaint.Store(true)
		if a == AdminMaint {
			s.maintSeen.Store(true)
			s.cleanupIdle()
		}
		if old == AdminMaint && !s.down.Load() && s.via.Load() == nil {
			// Leaving maintenance up starts the slow start.
			s.startWarmup()
		}
		s.changed.Store(s.be.now().UnixNano())
		s.be.statusChanged(s)
	}
}

// SetUp sets the operational state (health checks). A server going down
// hands its queued connections back to the backend.
func (s *Server) SetUp(up bool) {
	wasStopping := s.stopping.Swap(false)
	if s.down.Swap(!up) != !up || wasStopping {
		if up && !s.InMaint() {
			s.startWarmup()
		} else if !up {
			s.warmFrom.Store(0)
			s.cleanupIdle()
		}
		s.changed.Store(s.be.now().UnixNano())
		s.be.statusChanged(s)
	}
}

// Up reports the operational state.
func (s *Server) Up() bool { return !s.down.Load() }

// SetWeight sets the weight at run time (`set weight`, 0..256).
// roundrobin and leastconn use it at once; static-rr only honours 0 (no new
// traffic) and back, as in haproxy.
func (s *Server) SetWeight(w int) error {
	if w < 0 || w > 256 {
		return fmt.Errorf("server %s/%s: weight %d out of range 0..256", s.be.Name(), s.Name(), w)
	}
	if w != 0 && w != s.cfg.Weight && s.be.staticLB() {
		return errStaticWeight
	}
	s.weight.Store(int32(w))
	s.be.statusChanged(s)
	return nil
}

// ConfigWeight is the weight the configuration gave.
func (s *Server) ConfigWeight() int { return s.cfg.Weight }

// Weight is the effective weight as the stats show it: 0 while
// draining, ramping up during a slow start (haproxy's eweight rounded up
// to the user's scale).
func (s *Server) Weight() int {
	return (s.EWeight() + weightScale - 1) / weightScale
}

// UserWeight is the weight configured or set at run time (haproxy's
// uweight), which neither draining nor a slow start changes.
func (s *Server) UserWeight() int { return int(s.weight.Load()) }

// Usable reports whether the server may take traffic (balance.Server).
func (s *Server) Usable() bool {
	return !s.InMaint() && !s.down.Load() && !s.Unresolved()
}

// Full reports whether the server is at its maxconn (balance.Server),
// the dynamic one with minconn and during a slow start.
func (s *Server) Full() bool {
	return s.MaxConn() > 0 && s.ctr.cur.Load() >= int64(s.DynMaxConn())
}

// MaxConn is the server's maxconn (0 = none): configured, or set at run
// time.
func (s *Server) MaxConn() int {
	if v := s.maxconn.Load(); v > 0 {
		return int(v - 1)
	}
	return s.cfg.MaxConn
}

// SetMaxConn sets maxconn at run time (an agent's "maxconn:N"); with a
// static limit (no minconn) the minconn follows, as haproxy's
// server_parse_maxconn_change_request. Queued connections may then go.
func (s *Server) SetMaxConn(n int) {
	s.maxconn.Store(int64(max(n, 0)) + 1)
	s.be.statusChanged(s)
}

// Conns is the number of current connections (balance.Server).
func (s *Server) Conns() int { return int(s.ctr.cur.Load()) }

// Stats is a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	st := s.ctr.snapshot(s.be.now())
	st.Status = s.Status()
	st.SessionLimit = int64(s.MaxConn())
	st.Weight = s.Weight()
	if s.dynamic && !s.leftMaint.Load() {
		// haproxy computes a dynamic server's effective weight from
		// the default weight, 1, until its state first changes.
		st.Weight = 1
	}
	st.Throttle = s.Throttle()
	if s.cfg.Backup {
		st.BackupServers = 1
	} else {
		st.ActiveServers = 1
	}
	if ns := s.changed.Load(); ns != 0 {
		st.LastChange = time.Unix(0, ns)
	}
	return st
}

// Backend is a proxy's server side (a `backend` or the servers of a
// `listen`).
type Backend struct {
	px *haproxycfg.Proxy
	// dialer connects to the servers (serverDialer), shared by every
	// connection: one made per connection would be an allocation each.
	dialer *net.Dialer
	// set holds the servers; `add server` and `del server` replace it
	// whole (dynsrv.go), so readers take it without a lock.
	set    atomic.Pointer[serverSet]
	policy balance.Policy
	// dispatch is the `dispatch` address as a server that no list holds
	// (no stats row, no checks, no queue): every connection goes to it,
	// logged as <NOSRV> as haproxy does; nil without.
	dispatch *Server
	hash     bool        // hash-based policy (haproxy's BE_LB_KIND_HI, `hash` and rdp-cookie too): retries stay on the server
	pp       atomic.Bool // a server takes a PROXY header (pp_send.go); `add server` may set it
	// ownHdrTimer: some rule of the configuration may set a stream's
	// server timeout (`http-request set-timeout server`), so the wait for
	// a response head is timed per request (settimeout.go), not by the
	// transport's fixed ResponseHeaderTimeout.
	ownHdrTimer bool
	ctr         counters
	errs        errorFiles // errorfile replies by status
	// local answers the requests for the backend's own stats page or
	// exporter (`stats enable` in a backend), made on first use.
	local     http.Handler
	localOnce sync.Once
	started   time.Time
	now       func() time.Time

	mu    sync.Mutex // guards the queue and server slot hand-over
	queue []*waiter  // FIFO of connections waiting for a server slot

	// fullconn is the configured `fullconn`, or haproxy's default: a
	// tenth of the maxconn of the frontends that use the backend.
	fullconn int
	// warm is set while some server is in a slow start: a ticker then
	// lets queued connections take the slots the ramp frees.
	warm atomic.Bool
	// fds is the engine's descriptor estimate and poolThreads the
	// threads counted by the servers' idle pools (idlepool.go).
	fds         *fdGauge
	poolThreads int
	// h1 is the HTTP/1 client towards the servers (transport).
	h1     *h1Client
	h1Once sync.Once
}

// FullConn is the backend's fullconn (its slim in the stats).
func (b *Backend) FullConn() int { return b.fullconn }

// Name is the proxy's name.
func (b *Backend) Name() string { return b.px.Name }

// Proxy is the configuration section.
func (b *Backend) Proxy() *haproxycfg.Proxy { return b.px }

// Servers are the backend's servers in configuration order (by id).
func (b *Backend) Servers() []*Server { return b.pool().servers }

// InUse counts the servers taking new traffic, active and backup, and the
// weight in use (haproxy's act, bck and tot_weight, from recount_servers
// and update_backend_weight): the actives' effective weights, or when no
// active is left the first backup's, or with `option allbackups` every
// backup's; in 16ths, rounded up at the end (the user's scale). Read by
// the stats' BACKEND row and by http-check send-state.
func (b *Backend) InUse() (act, bck, weight int) {
	var wact, wbck, wfirst int
	for _, sv := range b.Servers() {
		if !sv.Usable() || sv.Weight() == 0 {
			continue
		}
		if sv.Backup() {
			if bck == 0 {
				wfirst = sv.EWeight()
			}
			bck++
			wbck += sv.EWeight()
		} else {
			act++
			wact += sv.EWeight()
		}
	}
	w := wact
	switch {
	case act > 0:
	case bck > 0 && !b.px.Options.AllBackups:
		w = wfirst
	default:
		w = wbck
	}
	return act, bck, (w + 15) / 16
}

// Server returns the named server, or nil.
func (b *Backend) Server(name string) *Server {
	for _, s := range b.Servers() {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// Policy is the `balance` keyword in effect.
func (b *Backend) Policy() string {
	if b.dispatch != nil {
		return "none" // haproxy's algorithm of a dispatch backend
	}
	return b.policy.String()
}

// Status is UP while at least one server is usable, else DOWN.
func (b *Backend) Status() Status {
	for _, s := range b.Servers() {
		if s.Usable() {
			return StatusUp
		}
	}
	return StatusDown
}

// Stats is a snapshot of the backend's counters.
func (b *Backend) Stats() Stats {
	st := b.ctr.snapshot(b.now())
	st.Status = b.Status()
	st.SessionLimit = int64(b.px.MaxConn)
	for _, s := range b.Servers() {
		if !s.Usable() {
			continue
		}
		st.Weight += s.Weight()
		if s.Backup() {
			st.BackupServers++
		} else {
			st.ActiveServers++
		}
	}
	st.LastChange = b.started
	for _, s := range b.Servers() {
		if ns := s.changed.Load(); ns != 0 && time.Unix(0, ns).After(st.LastChange) {
			st.LastChange = time.Unix(0, ns)
		}
	}
	return st
}

// Frontend is a proxy's accepting side (a `frontend` or a `listen`).
type Frontend struct {
	px      *haproxycfg.Proxy
	backend *Backend // nil: connections are closed (<NOSRV>)
	now     func() time.Time
	ctr     counters
	errs    errorFiles   // errorfile replies by status
	slots   atomic.Int64 // connections holding a maxconn slot
	gate    gate
	stopped atomic.Bool
	lns     []net.Listener
	// namedBinds: some bind has a name (so_name looks it up then).
	namedBinds bool
}

// Name is the proxy's name.
func (f *Frontend) Name() string { return f.px.Name }

// Proxy is the configuration section.
func (f *Frontend) Proxy() *haproxycfg.Proxy { return f.px }

// Backend is the backend connections go to, or nil.
func (f *Frontend) Backend() *Backend { return f.backend }

// MaxConn is the frontend's effective connection limit (0 = none).
func (f *Frontend) MaxConn() int { return int(f.gate.max) }

// Listeners are the sockets the frontend accepts on.
func (f *Frontend) Listeners() []net.Listener { return f.lns }

// Stats is a snapshot of the frontend's counters.
func (f *Frontend) Stats() Stats {
	st := f.ctr.snapshot(f.now())
	switch {
	case f.stopped.Load():
		st.Status = StatusStop
	case f.gate.full():
		st.Status = StatusFull
	default:
		st.Status = StatusOpen
	}
	st.SessionLimit = f.gate.max
	return st
}
