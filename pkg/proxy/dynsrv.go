package proxy

import (
	"errors"
	"fmt"
	"slices"

	"hapair/pkg/balance"
	"hapair/pkg/haproxycfg"
)

// serverSet is a backend's servers: every one by id order of creation,
// and the active and backup pools the balancing algorithm picks from.
// It is never changed in place: `add server` and `del server` store a new
// one.
type serverSet struct {
	servers []*Server
	active  []balance.Server
	backup  []balance.Server
}

// pool is the backend's current server set.
func (b *Backend) pool() *serverSet {
	if s := b.set.Load(); s != nil {
		return s
	}
	return &serverSet{}
}

// Errors of AddServer and DelServer; the runtime API answers them with
// haproxy 2.6's texts.
var (
	// ErrStaticLB: the algorithm cannot take servers at run time
	// (haproxy's algorithms without BE_LB_PROP_DYN: static-rr and
	// map-based hashing).
	ErrStaticLB = errors.New("Backend must use a dynamic load balancing to support dynamic servers.")
	// ErrServerExists: the name is taken in the backend.
	ErrServerExists = errors.New("Already exists a server with the same name in backend.")
	// ErrNotInMaint: only a server in maintenance may be deleted.
	ErrNotInMaint = errors.New("Only servers in maintenance mode can be deleted.")
	// ErrServerBusy: the server still has connections or queued ones.
	ErrServerBusy = errors.New("Server still has connections attached to it, cannot remove it.")
)

// DynamicLB reports whether the backend's algorithm takes servers at run
// time in haproxy 2.6 (BE_LB_PROP_DYN).
func (b *Backend) DynamicLB() bool {
	if b.dispatch != nil {
		return false // no algorithm at all (haproxy's lbprm.algo is 0)
	}
	switch b.px.Balance {
	case haproxycfg.StaticRR:
		return false
	case haproxycfg.Random:
		return true
	}
	return !b.px.Balance.Hashed() || b.px.HashType.Consistent
}

// AddServer is `add server`: it creates a server from a parsed server
// line, in maintenance as haproxy 2.6 starts every dynamic server (`enable
// server` or `set server ... state ready` lets it take traffic). Without an
// id the server takes the lowest free one, as haproxy's get_next_id.
func (b *Backend) AddServer(sc *haproxycfg.Server) (*Server, error) {
	if !b.DynamicLB() {
		return nil, ErrStaticLB
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.pool()
	used := map[int]*Server{}
	for _, s := range old.servers {
		if s.Name() == sc.Name {
			return nil, ErrServerExists
		}
		used[s.id] = s
	}
	s := &Server{cfg: sc, be: b, id: sc.ID}
	if o := used[s.id]; s.id != 0 && o != nil {
		// haproxy's words; a dynamic server has no file position.
		file, line := o.cfg.Pos.File, o.cfg.Pos.Line
		if o.dynamic {
			file, line = "(null)", 0
		}
		return nil, fmt.Errorf("'id' : custom id %d already used at %s:%d ('server %s').", s.id, file, line, o.Name())
	}
	if s.id == 0 {
		s.id = 1
		for used[s.id] != nil {
			s.id++
		}
	}
	if sc.Port != 0 && !haproxycfg.IsAnyHost(sc.Host) {
		s.dialAddr = sc.Address(0)
	}
	if h, ok := b.policy.(*balance.Hash); ok {
		// Consistent hashing and random place a server on the ring by
		// its id (haproxy's chash_init_server_tree for the new server).
		h.SetID(s, s.id)
	}
	s.weight.Store(int32(sc.Weight))
	s.admin.Store(int32(AdminMaint))
	s.dynamic = true
	if sc.SendProxy.Any() {
		// Connections to this backend now carry a PROXY header for
		// this server (h1client.go); the frontends' private transports
		// are made when first needed (http_frontend.go).
		b.pp.Store(true)
	}
	// haproxy's check health of a dynamic server starts at 0, as after
	// a maintenance.
	s.maintSeen.Store(true)
	s.changed.Store(b.now().UnixNano())
	set := &serverSet{
		servers: append(slices.Clip(old.servers), s),
		active:  slices.Clip(old.active),
		backup:  slices.Clip(old.backup),
	}
	if sc.Backup {
		set.backup = append(set.backup, s)
	} else {
		set.active = append(set.active, s)
	}
	b.set.Store(set)
	return s, nil
}

// DelServer is `del server`: the server leaves the backend; it must be in
// maintenance with no connection and none waiting for it.
func (b *Backend) DelServer(s *Server) error {
	if !s.InMaint() {
		return ErrNotInMaint
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.Conns() > 0 || s.ctr.queueCur.Load() > 0 {
		return ErrServerBusy
	}
	for _, w := range b.queue {
		if w.target == s {
			return ErrServerBusy
		}
	}
	old := b.pool()
	set := &serverSet{}
	for _, o := range old.servers {
		if o != s {
			set.servers = append(set.servers, o)
		}
	}
	for _, o := range old.active {
		if o != balance.Server(s) {
			set.active = append(set.active, o)
		}
	}
	for _, o := range old.backup {
		if o != balance.Server(s) {
			set.backup = append(set.backup, o)
		}
	}
	b.set.Store(set)
	// Its idle connections (those that came back to the pool after its
	// maintenance began: haproxy refuses the deletion while it has
	// some) go with it.
	defer s.cleanupIdle()
	if h, ok := b.policy.(*balance.Hash); ok {
		h.DropID(s)
	}
	return nil
}

// reuseMode is the backend's `http-reuse`; connections to a dispatch
// address are private to their client's session whatever it says, as
// haproxy's connect_server makes a connection without a server.
func (b *Backend) reuseMode() string {
	if b.dispatch != nil {
		return "never"
	}
	return b.px.HTTPReuse
}
