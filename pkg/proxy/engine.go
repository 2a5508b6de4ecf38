// Package proxy is gproxy's proxy engine: it accepts connections on the
// frontends of a haproxy configuration, chooses a backend server with the
// backend's balancing policy (package balance) and relays bytes both ways,
// with haproxy's maxconn, queue, retry, redispatch and timeout semantics
// (haproxy 2.6 configuration manual, sections 4 and 8). Mode tcp copies
// small transfers through pooled 16 KiB buffers and splices bulk ones
// (io.Copy between TCP connections); mode http serves the stats page or
// reverse-proxies requests.
//
// Compared with haproxy 2.6 (tcplog lines of the same scenarios match:
// NOSRV, refused with retries, redispatch, queue and queue timeout, client
// timeout), known differences are:
//   - an expired client or server timeout closes the whole session at once;
//     haproxy only shuts that side and logs when the other side closes, so
//     its Tt can be longer;
//   - inactivity timeouts are checked by a per-session watchdog, so they
//     fire up to a quarter of the timeout late while a blocked peer is
//     still acknowledging data;
//   - the server and backend queues share one FIFO (the oldest waiter a
//     freed slot may serve goes first, as haproxy compares both heads).
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sticktable"
)

// Options are the engine's collaborators.
type Options struct {
	Logger zerolog.Logger
	// SessionLog is called once per finished session (per request in mode
	// http) of a frontend that has log targets; may be nil.
	SessionLog func(px *haproxycfg.Proxy, s accesslog.Session)
	// Listeners are already-open listeners keyed by haproxycfg.Bind.Address();
	// Bind opens the missing ones.
	Listeners map[string]net.Listener
	// Now is the clock for session timestamps and for the inactivity
	// timeouts' idle time (the watchdog's wake-ups stay on real time);
	// nil means time.Now.
	Now func() time.Time
	// ConnectLog is called for every connection a frontend accepts, before
	// it is served (haproxy's "Connect from" line); may be nil.
	ConnectLog func(px *haproxycfg.Proxy, client, local net.Addr)
	// HTTPHandler serves a `mode http` proxy with `stats enable`; nil, or a
	// nil handler, answers 503.
	HTTPHandler func(px *haproxycfg.Proxy) http.Handler
	// ConnError is called for a connection that failed before becoming a
	// session (a TLS handshake failure) of a frontend with log targets;
	// may be nil.
	ConnError func(px *haproxycfg.Proxy, ce ConnError)
}

// Engine runs every frontend and backend of one configuration.
type Engine struct {
	cfg       *haproxycfg.Config
	opts      Options
	log       zerolog.Logger
	now       func() time.Time
	frontends []*Frontend
	backends  []*Backend
	pp        bool // a server of some backend takes a PROXY header (pp_send.go)
	byProxy   map[*haproxycfg.Proxy]*Backend

	actconn atomic.Int64    // %ac: connections on the process
	streams atomic.Uint64   // %rt: streams started (capture.go)
	proc    procVars        // set-var(proc.*) values (rules.go)
	stick   *sticktable.Set // stick tables (stick.go); nil without
	panics  atomic.Int64    // sessions closed by a recovered panic
	global  gate

	maxPipes int64        // splice pipes in use at most; -1 = no limit
	pipes    atomic.Int64 // splice pipes in use

	mu        sync.Mutex
	listeners map[string]net.Listener
	// rawListeners are in the relay's epoll set: out of it before closing.
	rawListeners []*rawListener
	sessions     map[*session]struct{}
	serving      bool

	stop     chan struct{} // closed by SoftStop/Close: accept loops end
	stopOnce sync.Once
	killed   context.Context // done on Close: queued sessions give up
	kill     context.CancelFunc
	wg       sync.WaitGroup // sessions
	acceptWG sync.WaitGroup
}

// New builds the engine for a validated configuration. It opens no socket.
func New(cfg *haproxycfg.Config, opts Options) (*Engine, error) {
	e := &Engine{
		cfg:       cfg,
		opts:      opts,
		log:       opts.Logger,
		now:       opts.Now,
		byProxy:   map[*haproxycfg.Proxy]*Backend{},
		listeners: map[string]net.Listener{},
		sessions:  map[*session]struct{}{},
		stop:      make(chan struct{}),
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.killed, e.kill = context.WithCancel(context.Background())
	for name, v := range cfg.Global.Vars { // global set-var, set-var-fmt
		e.proc.store(name, &v)
	}
	e.stick = newStickTables(cfg, e.now)
	e.global = gate{max: int64(cfg.Global.MaxConn), cur: &e.actconn}
	e.maxPipes = int64(MaxPipes(cfg.Global.MaxConn))
	for a, ln := range opts.Listeners {
		e.listeners[a] = ln
	}
	start := e.now()
	binds := 0
	for _, px := range cfg.Proxies {
		binds += len(px.Binds)
	}
	fds, threads := newFDGauge(cfg, &e.actconn, binds), poolThreads(cfg)
	for _, px := range cfg.Proxies {
		if !px.Kind.HasBackend() {
			continue
		}
		errs, err := loadErrorFiles(px)
		if err != nil {
			return nil, err
		}
		b := &Backend{px: px, dialer: serverDialer(px, px.Timeouts.Connect), hash: px.Balance.Hashed() || px.Balance == haproxycfg.HashExpr || px.Balance == haproxycfg.RDPCookie, started: start, now: e.now, errs: errs, ownHdrTimer: setsServerTimeout(cfg), fds: fds, poolThreads: threads}
		set := &serverSet{}
		for i, sc := range px.Servers {
			s := &Server{cfg: sc, be: b, id: sc.ID}
			if s.id == 0 {
				s.id = i + 1
			}
			if sc.Port != 0 && !haproxycfg.IsAnyHost(sc.Host) {
				s.dialAddr = sc.Address(0)
			}
			s.weight.Store(int32(sc.Weight))
			if sc.Disabled {
				s.admin.Store(int32(AdminMaint))
				// haproxy's check health of a `disabled` server is 0
				// from the start, as after a maintenance.
				s.maintSeen.Store(true)
			}
			set.servers = append(set.servers, s)
			if sc.SendProxy.Any() {
				b.pp.Store(true)
			}
			e.pp = e.pp || b.pp.Load()
			if sc.Backup {
				set.backup = append(set.backup, s)
			} else {
				set.active = append(set.active, s)
			}
		}
		b.set.Store(set)
		if d := px.Dispatch; d != nil {
			b.dispatch = &Server{cfg: d, be: b, dialAddr: d.Address(0)}
			b.dispatch.weight.Store(1)
		}
		if b.policy, err = newPolicy(b); err != nil {
			return nil, fmt.Errorf("%s: backend %s: %w", px.Pos, px.Name, err)
		}
		e.backends = append(e.backends, b)
		e.byProxy[px] = b
	}
	for _, px := range cfg.Proxies {
		if !px.Kind.HasFrontend() || px.Disabled {
			continue
		}
		errs, err := loadErrorFiles(px)
		if err != nil {
			return nil, err
		}
		f := &Frontend{px: px, now: e.now, errs: errs}
		max := px.MaxConn
		if max == 0 {
			max = cfg.Global.MaxConn
		}
		f.gate = gate{max: int64(max), cur: &f.slots}
		// The first use_backend when it always applies, else the default
		// backend, else a listen section's own; rules choose per request
		// (rules.go). A listen with default_backend sends there, as
		// haproxy's process_switching_rules does.
		name := px.DefaultBackend
		if len(px.UseBackends) > 0 && px.UseBackends[0].Cond == nil && px.UseBackends[0].Format == nil {
			name = px.UseBackends[0].Name
		}
		switch {
		case name != "":
			bp := cfg.Proxy(name, haproxycfg.KindBackend, haproxycfg.KindListen)
			if bp == nil {
				return nil, fmt.Errorf("%s: frontend %s: no backend %q", px.Pos, px.Name, name)
			}
			f.backend = e.byProxy[bp]
		case px.Kind == haproxycfg.KindListen:
			f.backend = e.byProxy[px]
		}
		e.frontends = append(e.frontends, f)
	}
	e.setFullConn()
	return e, nil
}

// setFullConn gives each backend its fullconn: the configured one, or as
// haproxy's proxy_adjust_all_maxconn computes it, a tenth (rounded up, at
// least 1) of the maxconn of the frontends that can send to it: by
// default_backend (else a listen's own servers) and by each static
// use_backend rule naming another backend.
func (e *Engine) setFullConn() {
	sum := map[*Backend]int{}
	for _, f := range e.frontends {
		px := f.px
		def := (*Backend)(nil)
		if px.DefaultBackend != "" {
			if bp := e.cfg.Proxy(px.DefaultBackend, haproxycfg.KindBackend, haproxycfg.KindListen); bp != nil {
				def = e.byProxy[bp]
			}
		}
		switch {
		case def != nil:
			sum[def] += int(f.gate.max)
		case px.Kind == haproxycfg.KindListen:
			sum[e.byProxy[px]] += int(f.gate.max)
		}
		seen := map[*Backend]bool{}
		for _, ub := range px.UseBackends {
			if ub.Format != nil {
				continue
			}
			bp := e.cfg.Proxy(ub.Name, haproxycfg.KindBackend, haproxycfg.KindListen)
			if bp == nil {
				continue
			}
			if b := e.byProxy[bp]; b != nil && b != def && !seen[b] {
				seen[b] = true
				sum[b] += int(f.gate.max)
			}
		}
	}
	for _, b := range e.backends {
		b.fullconn = b.px.FullConn
		if b.fullconn == 0 {
			b.fullconn = max((sum[b]+9)/10, 1)
		}
	}
}

// Frontends are the enabled frontends and listens, in file order.
func (e *Engine) Frontends() []*Frontend { return e.frontends }

// Backends are the backends and listens, in file order.
func (e *Engine) Backends() []*Backend { return e.backends }

// Backend returns the named backend, or nil.
func (e *Engine) Backend(name string) *Backend {
	for _, b := range e.backends {
		if b.Name() == name {
			return b
		}
	}
	return nil
}

// Frontend returns the named frontend, or nil.
func (e *Engine) Frontend(name string) *Frontend {
	for _, f := range e.frontends {
		if f.Name() == name {
			return f
		}
	}
	return nil
}

// ActiveConns is the number of connections on the process (%ac).
func (e *Engine) ActiveConns() int { return int(e.actconn.Load()) }

// MaxConn is the process-wide limit (global maxconn; 0 = none).
func (e *Engine) MaxConn() int { return int(e.global.max) }

// Bind makes sure every bind of every enabled frontend has a listener,
// reusing those given in Options.Listeners.
func (e *Engine) Bind() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.frontends {
		f.lns = f.lns[:0]
		for _, b := range f.px.Binds {
			f.namedBinds = f.namedBinds || b.Name != ""
			a := b.Address()
			ln := e.listeners[a]
			if ln == nil {
				var err error
				ln, err = listenAny(b)
				if err != nil {
					return fmt.Errorf("%s: starting proxy %s: cannot bind socket [%s]: %w", b.Pos, f.px.Name, a, err)
				}
				e.listeners[a] = ln
			}
			f.lns = append(f.lns, ln)
		}
	}
	return nil
}

// Serve accepts connections on every listener until ctx is done, SoftStop
// or Close. It returns nil on such a normal stop. Sessions keep running
// after Serve returns; Wait waits for them.
func (e *Engine) Serve(ctx context.Context) error {
	e.mu.Lock()
	bound := true
	for _, f := range e.frontends {
		if len(f.lns) != len(f.px.Binds) {
			bound = false
		}
	}
	e.mu.Unlock()
	if !bound {
		if err := e.Bind(); err != nil {
			return err
		}
	}
	e.mu.Lock()
	if e.serving {
		e.mu.Unlock()
		return errors.New("proxy: Serve called twice")
	}
	e.serving = true
	select {
	case <-e.stop:
		e.mu.Unlock()
		return nil
	default:
	}
	for _, f := range e.frontends {
		for i, ln := range f.lns {
			ln = e.wrapProto(f, i, e.wrapTLS(f, i, e.wrapPP(f, i, e.clientListener(f, i, ln))))
			if f.px.Mode == haproxycfg.ModeHTTP {
				e.serveHTTP(f, ln)
				continue
			}
			e.acceptWG.Add(1)
			go e.acceptLoop(f, ln)
		}
	}
	e.mu.Unlock()
	select {
	case <-ctx.Done():
		e.SoftStop()
	case <-e.stop:
	}
	e.acceptWG.Wait()
	return nil
}

// acceptLoop accepts on one listener while the frontend and the process
// have free slots; when either is full it stops calling accept, so new
// clients wait in the kernel's backlog.
func (e *Engine) acceptLoop(f *Frontend, ln net.Listener) {
	defer e.acceptWG.Done()
	backoff := 5 * time.Millisecond
	for {
		if !e.global.wait(e.stop) || !f.gate.wait(e.stop) {
			return
		}
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-e.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE, ECONNABORTED and the like: wait and go on.
			e.log.Warn().Err(err).Msgf("proxy %s: accept", f.Name())
			select {
			case <-time.After(backoff):
			case <-e.stop:
				return
			}
			if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			continue
		}
		backoff = 5 * time.Millisecond
		// An accepted connection is served even if a soft stop began
		// meanwhile: during a reload the listening socket is shared with
		// the new process, and dropping it here would lose a client that
		// the new process could have taken. Only a hard stop gives up.
		if !e.global.acquire(e.killed.Done()) {
			c.Close()
			return
		}
		if !f.gate.acquire(e.killed.Done()) {
			e.global.release()
			c.Close()
			return
		}
		e.wg.Add(1)
		go e.handle(f, c)
	}
}

// connected reports an accepted connection to Options.ConnectLog.
func (e *Engine) connected(f *Frontend, c net.Conn) {
	if e.opts.ConnectLog != nil {
		e.opts.ConnectLog(f.px, c.RemoteAddr(), c.LocalAddr())
	}
}

// stopAccepting ends the accept loops and closes this process's listener
// descriptors. A listener handed to a newer process lives on there: closing
// our descriptor does not shut the socket down for the other holder.
func (e *Engine) stopAccepting() {
	e.stopOnce.Do(func() {
		close(e.stop)
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, f := range e.frontends {
			f.stopped.Store(true)
		}
		for _, rl := range e.rawListeners {
			rl.unregister()
		}
		for _, ln := range e.listeners {
			ln.Close()
		}
	})
}

// SoftStop stops accepting; running sessions finish on their own.
func (e *Engine) SoftStop() {
	e.stopAccepting()
}

// Close stops accepting and ends every session now (termination state K).
func (e *Engine) Close() {
	e.stopAccepting()
	e.kill()
	e.mu.Lock()
	for s := range e.sessions {
		s.abort(termKilled)
	}
	e.mu.Unlock()
}

// Wait returns when every session has ended, or when ctx is done.
func (e *Engine) Wait(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		select {
		case <-e.stop:
			// An accept loop may hold a connection it accepted but has not
			// counted yet: wait for the loops first, or a process exiting
			// after a reload would reset that client.
			e.acceptWG.Wait()
		default:
		}
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
