package proxy

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/balance"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
	"hapair/pkg/sticktable"
)

// Termination causes (first character of haproxy's termination state).
const (
	termNormal        = '-'
	termClient        = 'C'
	termServer        = 'S'
	termKilled        = 'K'
	termClientTimeout = 'c'
	termServerTimeout = 's'
)

// Session states (second character).
const (
	stateRequest = 'R' // accepted, not yet assigned to a server
	stateQueue   = 'Q'
	stateConnect = 'C'
	stateData    = 'D'
)

// session is one proxied TCP connection.
type session struct {
	e   *Engine
	f   *Frontend
	be  *Backend
	srv *Server
	cli net.Conn
	txn *sample.Txn // what tcp-request content rules saw (use-server reads it); nil without
	// srvFacts is the server connection as bc_err and ssl_bc_err read it.
	srvFacts *sample.SrvConn

	mu      sync.Mutex
	sc      net.Conn // server connection once established
	state   byte
	cause   byte // termination cause; 0 while running
	tstate  byte
	aborted bool

	lastAct   atomic.Int64 // unix nanoseconds of the last byte moved or acknowledged
	ackCli    atomic.Int64 // tcpi_bytes_acked last seen on each side
	ackSrv    atomic.Int64
	watchdog  *time.Timer
	writing   atomic.Int32 // directions writing or splicing now
	sleeping  atomic.Bool  // the watchdog waits for the next expiry, not a step
	finished  atomic.Bool
	ending    atomic.Bool  // finish has begun: it runs once
	beOpen    bool         // the backend counted the session (run); finish uncounts it
	cliFin    atomic.Bool  // the client sent its FIN
	srvFin    atomic.Bool  // the server sent its FIN
	srvKilled atomic.Bool  // a tcp-response close killed the server connection
	in, out   atomic.Int64 // bytes from and to the client
	left      atomic.Int32 // relay directions not ended
	dirs      [2]relayDir  // client to server, server to client
	poller    *evPoller    // the epoll set the directions park in; nil: goroutines wait

	fe, bt haproxycfg.Timeouts // frontend and backend timeouts

	accept time.Time
	stk    *sticktable.Counters // stick counters; nil without tables
	// sessVars are the sess.* variables the connection and session
	// rules set.
	sessVars map[string]sample.Value
	log      accesslog.Session // filled as the session goes; logged by finish
	// loggedASAP: option logasap logged the session once connected.
	loggedASAP bool
}

// terminate records the termination state unless one is already set.
func (s *session) terminate(cause, state byte) {
	s.mu.Lock()
	if s.cause == 0 {
		s.cause, s.tstate = cause, state
	}
	s.mu.Unlock()
}

// abort records the cause and closes both connections, which ends the
// copies in progress.
func (s *session) abort(cause byte) { s.abortAs(cause, 0) }

// abortAs is abort with the termination state to log; 0 is the session's
// state at that moment.
func (s *session) abortAs(cause, state byte) {
	s.mu.Lock()
	if s.cause == 0 {
		if state == 0 {
			state = s.state
		}
		s.cause, s.tstate = cause, state
	}
	s.aborted = true
	sc, evented := s.sc, s.poller != nil
	s.mu.Unlock()
	s.cli.Close()
	if sc != nil {
		sc.Close()
	}
	if evented {
		// Parked directions see no event from a closed socket.
		s.dirs[0].kick()
		s.dirs[1].kick()
	}
}

func (s *session) isAborted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aborted
}

func (s *session) setState(st byte) {
	s.mu.Lock()
	s.state = st
	s.mu.Unlock()
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// handle serves one accepted connection until its data flows; the relay
// goroutines finish it then, so that this goroutine, whose stack the dial
// grew to 8 KiB, does not stay behind for the session's lifetime.
func (e *Engine) handle(f *Frontend, c net.Conn) {
	stk := e.newCounters()
	var start time.Time // the accept, when a handshake (PROXY, TLS) follows it
	if ppOf(c) != nil {
		start = e.now()
	}
	var sessVars map[string]sample.Value
	if !e.tcpAccept(f, c, stk, start, &sessVars) {
		stickConnEnd(stk)
		e.rejectConn(f, c)
		return
	}
	// tcp-request connection rules run before the PROXY header and the
	// TLS handshake, session rules after them, as in haproxy.
	accepted, ok := e.handshakeTCP(f, c, start)
	if !ok {
		stickConnEnd(stk)
		return
	}
	if !e.tcpSession(f, c, stk, &sessVars) {
		stickConnEnd(stk)
		e.rejectConn(f, c)
		return
	}
	now := e.now()
	if !accepted.IsZero() {
		now = accepted
	} else if !start.IsZero() {
		now = start
	}
	s := &session{e: e, f: f, be: f.backend, cli: c, fe: f.px.Timeouts, state: stateRequest, accept: now, stk: stk, sessVars: sessVars}
	defer s.recoverPanic("session")
	e.mu.Lock()
	e.sessions[s] = struct{}{}
	killed := e.killed.Err() != nil
	e.mu.Unlock()
	if killed {
		s.abort(termKilled)
	}
	f.ctr.open(now)

	s.log = accesslog.Session{
		Client:       addrPort(c.RemoteAddr()),
		Frontend:     addrPort(c.LocalAddr()),
		Accept:       now,
		FrontendName: f.Name(),
		BackendName:  f.Name(),
		ServerName:   "<NOSRV>",
		Tw:           -1,
		Tc:           -1,
		ReqCounter:   e.nextStreamID(),
		SSL:          tlsOf(c) != nil,
	}
	s.log.SSLCipher, s.log.SSLVersion = tlsLogFields(c)
	// On the session's goroutine, under its recover, once the session is
	// counted and its log begun (finish undoes and writes them): a panic
	// while logging the connection ends this session only.
	e.connected(f, c)
	if h := testHookSession.Load(); h != nil {
		(*h)(f.Name())
	}
	if !s.run(&s.log, now) {
		s.finish()
	}
}

// noteSrvConn keeps what bc_err and ssl_bc_err read of the session's
// server connection c, or of its last connect's error, for the
// tcp-response rules and the log line.
func (s *session) noteSrvConn(log *accesslog.Session, c net.Conn, err error) {
	s.srvFacts = srvConnFacts(c, err)
	log.SrvFacts = s.srvFacts
}

// finish closes the session's connections, accounts for it and logs it.
func (s *session) finish() {
	if !s.ending.CompareAndSwap(false, true) {
		return
	}
	e, f, c, log := s.e, s.f, s.cli, &s.log
	defer e.wg.Done()
	// Close and account; %ac and %fc still count this session, %bc and
	// %sc no longer do, as haproxy's log shows ("1/1/0/0/0" alone).
	c.Close()
	s.mu.Lock()
	if s.sc != nil {
		s.sc.Close()
	}
	if s.cause == 0 {
		s.cause, s.tstate = termNormal, termNormal
	}
	log.TermCause, log.TermState = s.cause, s.tstate
	s.mu.Unlock()
	end := e.now()
	log.Tt = end.Sub(s.accept)
	log.BytesFromClient, log.BytesToClient = s.in.Load(), s.out.Load()
	if s.stk != nil {
		s.stk.Bytes(log.BytesFromClient, log.BytesToClient)
		stickConnEnd(s.stk)
	}
	if s.srv != nil {
		// Counted before the release: a slot handed over to a queued
		// session is not counted yet, as haproxy counts it only once
		// that session connects.
		log.SrvConn = s.srv.Conns() - 1
		s.be.release(s.srv)
	}
	if s.be != nil && s.beOpen {
		s.be.ctr.cur.Add(-1)
		log.BeConn = int(s.be.ctr.cur.Load())
	}
	log.ActConn = int(e.actconn.Load())
	log.FeConn = int(f.ctr.cur.Load())
	f.ctr.cur.Add(-1)
	e.mu.Lock()
	delete(e.sessions, s)
	e.mu.Unlock()
	f.gate.release()
	e.global.release()

	if !s.loggedASAP {
		e.logSession(f.px, *log)
	}
}

// logASAP logs a session as soon as its server connection is up
// (`option logasap`), as haproxy's sess_establish does: the total time is
// the connect time, nothing has come from the server, the termination
// state is still "--" and every counter still counts this session.
// dontlognull does not apply to it; the end of the session is then not
// logged.
func (s *session) logASAP(log *accesslog.Session) {
	e := s.e
	if e.opts.SessionLog == nil || len(s.f.px.Logs) == 0 {
		return
	}
	l := *log
	l.Tt = l.Tw + l.Tc
	l.TermCause, l.TermState = termNormal, termNormal
	l.BytesFromClient, l.BytesToClient = s.in.Load(), 0
	l.ActConn, l.FeConn = int(e.actconn.Load()), int(s.f.ctr.cur.Load())
	l.BeConn = int(s.be.ctr.cur.Load())
	l.SrvConn = s.srv.Conns()
	s.loggedASAP = true
	e.opts.SessionLog(s.f.px, l)
}

// logSession calls SessionLog for a frontend with log targets; with
// `option dontlognull`, sessions that received nothing from the client are
// not logged (haproxy checks the request channel's total).
func (e *Engine) logSession(px *haproxycfg.Proxy, log accesslog.Session) {
	if e.opts.SessionLog == nil || len(px.Logs) == 0 {
		return
	}
	if px.Options.DontLogNull && log.BytesFromClient == 0 {
		return
	}
	e.opts.SessionLog(px, log)
}

// run assigns a server, connects with retries and starts relaying the
// data; true when the relay goroutines now own the session and finish it.
func (s *session) run(log *accesslog.Session, accept time.Time) bool {
	pending, ok := s.inspect(log)
	if !ok {
		return false
	}
	e, be := s.e, s.be
	if be == nil {
		// Closed with a FIN, as haproxy does: what the client already
		// sent is read first, or the close would be a reset.
		drainSocket(s.cli)
		s.terminate(termServer, stateConnect)
		return false
	}
	s.bt = be.px.Timeouts
	log.BackendName = be.Name()
	be.ctr.open(accept)
	s.beOpen = true
	if s.isAborted() {
		return false
	}

	key := balance.Key{Client: log.Client.Addr()}
	if len(be.px.Rules.UseServers) > 0 || be.px.BalanceArgs.Expr != nil {
		t := s.txn
		if t == nil {
			t = &sample.Txn{Src: log.Client, Dst: log.Frontend, Frontend: s.f.Name(), Env: envFor(e, s.cli), Stick: s.stk, SoName: e.soName(s.f, s.cli), ProxyTLV: ppTLVOf(s.cli)}
			t.FcSrc, t.FcDst = fcAddrs(s.cli)
		}
		t.Backend = be.Name()
		key.Sample, key.SampleOK = balanceSample(be, t)
		if srv := be.useServer(t); srv != nil {
			key.Persist = srv
		}
	}
	var stores []stickStore
	if len(be.px.StickRules) > 0 {
		// A server chosen by use-server is not looked up (haproxy's
		// SF_ASSIGNED), but the store rules still run.
		t := &sample.Txn{Src: log.Client, Dst: log.Frontend, Frontend: s.f.Name(), Backend: be.Name(), Payload: pending, Env: envFor(e, s.cli), Stick: s.stk, SoName: e.soName(s.f, s.cli), ProxyTLV: ppTLVOf(s.cli)}
		t.FcSrc, t.FcDst = fcAddrs(s.cli)
		var ss *Server
		if ss, stores = e.stickMatch(be, t, key.Persist != nil); ss != nil {
			key.Persist = ss
		}
	}
	s.setState(stateQueue)
	a, err := be.acquire(e.killed, key, nil, s.bt.EffectiveQueue())
	if !s.assigned(log, a, err, accept) {
		return false
	}
	queueExit := e.now()
	log.Tw = queueExit.Sub(accept)

	s.setState(stateConnect)
	retries := be.px.Retries
	var conn net.Conn
	for attempt := 0; ; attempt++ {
		conn, err = s.dial(log.Frontend)
		if err == nil {
			s.srv.observe(HanaL4OK)
			break
		}
		if e.killed.Err() != nil {
			s.terminate(termKilled, stateConnect)
			return false
		}
		timedOut := isTimeout(err)
		srv := s.srv
		srv.observe(HanaL4Err)
		if attempt >= retries {
			s.noteSrvConn(log, nil, err)
			srv.ctr.connErrors.Add(1)
			be.ctr.connErrors.Add(1)
			if timedOut {
				s.terminate(termServerTimeout, stateConnect)
			} else {
				s.terminate(termServer, stateConnect)
			}
			return false
		}
		log.Retries++
		// haproxy 2.6 (back_handle_st_cer): with option redispatch a retry
		// goes back to load balancing when the server is no longer
		// usable, on the last retry, or at every retry when more than one
		// active server is usable and the algorithm is not a hash.
		active := usableActives(be)
		redisp := be.px.Options.Redispatch &&
			(!srv.Usable() || attempt+1 == retries || (!be.hash && active > 1))
		wait := !timedOut
		if redisp {
			be.release(srv)
			s.srv = nil
			s.setState(stateQueue)
			a, err := be.acquire(e.killed, key, srv, s.bt.EffectiveQueue())
			if !s.assigned(log, a, err, accept) {
				return false
			}
			s.setState(stateConnect)
			if s.srv != srv {
				be.ctr.redispatches.Add(1)
				srv.ctr.redispatches.Add(1)
				log.Redisp = true
			} else {
				be.ctr.retries.Add(1)
				srv.ctr.retries.Add(1)
			}
			// No turn-around wait when load balancing moved us on.
			wait = wait && (be.hash || active <= 1)
		} else {
			be.ctr.retries.Add(1)
			srv.ctr.retries.Add(1)
		}
		if wait {
			// haproxy's turn-around timer: min(timeout connect, 1s)
			// before retrying a server that refused.
			d := time.Second
			if c := s.bt.Connect; c > 0 && c < d {
				d = c
			}
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-e.killed.Done():
				t.Stop()
				s.terminate(termKilled, stateConnect)
				return false
			}
		}
	}
	stickStored(stores, s.srv)
	s.noteSrvConn(log, conn, nil)
	s.mu.Lock()
	s.sc = conn
	aborted := s.aborted
	s.state = stateData
	s.mu.Unlock()
	if aborted {
		conn.Close()
		return false
	}
	log.Tc = e.now().Sub(queueExit)
	if s.f.px.Options.LogASAP {
		s.logASAP(log)
	}
	if len(pending) > 0 {
		// What the content rules read goes first.
		if _, err := conn.Write(pending); err != nil {
			s.terminate(termServer, stateData)
			return false
		}
		s.count(int64(len(pending)), true)
	}
	s.relay()
	return true
}

// assigned records the outcome of a server assignment; false ends the
// session.
func (s *session) assigned(log *accesslog.Session, a assignment, err error, accept time.Time) bool {
	if a.sq > log.SrvQueue {
		log.SrvQueue = a.sq
	}
	if a.bq > log.BeQueue {
		log.BeQueue = a.bq
	}
	if err != nil && s.e.killed.Err() == nil && !errors.Is(err, ErrQueueFull) {
		assignFailed(s.be, a.srv) // a full queue is counted by acquire
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrNoServer):
		log.ServerName = "<NOSRV>"
		s.terminate(termServer, stateConnect)
		return false
	case errors.Is(err, ErrQueueTimeout):
		log.ServerName = "<NOSRV>"
		log.Tw = s.e.now().Sub(accept)
		s.terminate(termServerTimeout, stateQueue)
		return false
	case errors.Is(err, ErrQueueFull):
		log.ServerName = a.srv.Name()
		log.Tw = s.e.now().Sub(accept)
		s.terminate(termServer, stateQueue)
		return false
	default: // killed
		log.ServerName = "<NOSRV>"
		log.Tw = s.e.now().Sub(accept)
		s.terminate(termKilled, stateQueue)
		return false
	}
	s.srv = a.srv
	log.ServerName = a.srv.Name()
	a.srv.ctr.total.Add(1)
	if a.srv != s.be.dispatch { // no load balancing for a dispatch address
		s.be.ctr.lbConns.Add(1)
	}
	storeMax(&a.srv.ctr.estConns, a.srv.ctr.cur.Load())
	now := s.e.now()
	a.srv.ctr.rate.add(now)
	storeMax(&a.srv.ctr.maxRate, a.srv.ctr.rate.read(now))
	a.srv.ctr.lastSession.Store(now.UnixNano())
	return true
}

func usableActives(b *Backend) int {
	n := 0
	for _, s := range b.pool().active {
		if s.Usable() && s.Weight() > 0 {
			n++
		}
	}
	return n
}

// dial connects to the current server within `timeout connect`, with TCP
// keep-alive as `option srvtcpka` says (serverDialer).
func (s *session) dial(dst netip.AddrPort) (net.Conn, error) {
	if s.srv.Unresolved() {
		return nil, errNoAddress
	}
	s.srv.ctr.connects.Add(1)
	s.be.ctr.connects.Add(1)
	addr := s.srv.target(dst)
	var c net.Conn
	var err error
	raw := false
	if !s.srv.TLSOn() && rawOf(s.cli) != nil {
		// A plain session whose client socket is raw: the server's
		// is too (a non-blocking connect waited on in the relay's set).
		c, raw, err = dialRaw(s.e.killed, s.be.dialer, addr)
	}
	if !raw {
		c, err = dialServer(s.e.killed, s.be.dialer, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	// %si:%sp and %bi:%bp: both ends of the server connection. A raw
	// socket asks its local address (getsockname) only when a log line or
	// a unique id may print it: nothing else reads it, as in haproxy.
	s.log.ServerAddr = addrPort(c.RemoteAddr())
	if !raw || s.f.px.Logging.UniqueID != nil || (s.e.opts.SessionLog != nil && len(s.f.px.Logs) > 0) {
		s.log.BackendSrc = addrPort(c.LocalAddr())
	}
	if s.srv.cfg.SendProxy.UniqueID && s.log.UniqueID == "" && s.f.px.Logging.UniqueID != nil {
		// haproxy makes the stream's unique id for the header; the log
		// line then shows the same one.
		t := &sample.Txn{Src: s.log.Client, Dst: s.log.Frontend, Frontend: s.log.FrontendName, Backend: s.log.BackendName}
		s.log.UniqueID = string(s.f.px.Logging.UniqueID.Append(nil, t, &s.log))
	}
	if err := sendProxy(c, s.srv.cfg, ppClient{src: s.log.Client, dst: s.log.Frontend, conn: s.cli, uid: s.log.UniqueID}, s.bt.Connect); err != nil {
		c.Close()
		return nil, err
	}
	return s.serverTLS(c)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// timeouts are the client and server inactivity timeouts in effect now.
// `timeout tunnel` replaces both once connected; `timeout client-fin`
// replaces the client's once we have shut our write side towards the
// client (the server sent its FIN), and `timeout server-fin` the server's
// once we have shut towards the server (haproxy manual, 4.2).
func (s *session) timeouts() (tc, ts time.Duration) {
	tc, ts = s.fe.Client, s.bt.Server
	if s.bt.Tunnel > 0 {
		tc, ts = s.bt.Tunnel, s.bt.Tunnel
	}
	if s.srvFin.Load() && s.fe.ClientFin > 0 {
		tc = s.fe.ClientFin
	}
	if s.cliFin.Load() && s.bt.ServerFin > 0 {
		ts = s.bt.ServerFin
	}
	return tc, ts
}

// Periods of the data path. A splice returns every publishStep, to publish
// its byte counters and give its pipe back; an idle direction waits with
// no deadline; the watchdog steps at most every maxStep while a peer's
// acknowledgements matter and otherwise sleeps until the next expiry.
// Measured on loopback, 2400 idle sessions (timeouts 1m) cost 1.3 ms/s of
// CPU, against 6.5 with a read deadline per direction and watchdog steps.
const (
	publishStep = 2 * time.Second
	maxStep     = 15 * time.Second
)

// step is the watchdog's period: a quarter of the shortest inactivity
// timeout in effect, which bounds how late a blocked peer's progress is
// noticed; the watchdog also wakes when a timer is due.
func (s *session) step() time.Duration {
	tc, ts := s.timeouts()
	m := tc
	if m == 0 || (ts > 0 && ts < m) {
		m = ts
	}
	st := m / 4
	if m == 0 || st > maxStep {
		st = maxStep
	}
	if st < 5*time.Millisecond {
		st = 5 * time.Millisecond
	}
	return st
}

// expired returns the timeout cause when a side has been idle too long.
// As in haproxy, a side's timer only runs while something is expected of
// that side: data to read (it has not sent its FIN) or data it has not
// acknowledged yet. A client that half-closed and has read everything is
// not timed out while the server prepares its answer.
func (s *session) expired(now time.Time) byte {
	idle := now.Sub(time.Unix(0, s.lastAct.Load()))
	tc, ts := s.timeouts()
	switch {
	case tc > 0 && idle >= tc && (!s.cliFin.Load() || unsentBytes(s.cli) > 0):
		return termClientTimeout
	case ts > 0 && idle >= ts && (!s.srvFin.Load() || unsentBytes(s.sc) > 0):
		return termServerTimeout
	}
	return 0
}

// ackUnread marks an acknowledgement baseline not read yet.
const ackUnread = math.MinInt64

// tick is the session's watchdog. A copy blocked writing to a peer that
// reads slowly does not return, so besides the bytes the copies report it
// counts the peers' acknowledgements (tcpi_bytes_acked) as activity: the
// inactivity timeout applies "when the client is expected to acknowledge
// or send data" (haproxy manual, timeout client). A peer that stopped
// reading acknowledges nothing and is timed out. While nothing waits on a
// peer the watchdog sleeps until the next expiry: an idle session wakes
// once per timeout, not every step.
func (s *session) tick() {
	defer s.recoverPanic("watchdog")
	if s.finished.Load() || s.isAborted() {
		return
	}
	now := s.e.now()
	// Acknowledgements matter while a write is under way or written data
	// waits in a socket: the peer reading it is activity.
	busy := s.writing.Load() > 0 || unsentBytes(s.cli) > 0 || unsentBytes(s.sc) > 0
	if now.Sub(time.Unix(0, s.lastAct.Load())) >= s.step() {
		if busy {
			// The first look only takes the baseline: a blocked peer's
			// progress is still seen at the next step, well before a
			// timeout of 4 steps, and short sessions never pay for
			// TCP_INFO.
			a, b := ackedBytes(s.cli), ackedBytes(s.sc)
			if oa, ob := s.ackCli.Swap(a), s.ackSrv.Swap(b); (oa != ackUnread && oa != a) || (ob != ackUnread && ob != b) {
				s.lastAct.Store(now.UnixNano())
			}
		} else {
			// Nothing is waiting on a peer's acknowledgements.
			s.ackCli.Store(ackUnread)
			s.ackSrv.Store(ackUnread)
		}
	}
	if cause := s.expired(now); cause != 0 {
		s.abort(cause)
		return
	}
	// Look again after a step while a write is under way, or right when a
	// timer would expire; an idle session sleeps until then, and a write
	// that begins meanwhile brings the watchdog back to steps (writeBegin).
	next := s.step()
	if !busy {
		next = maxIdleSleep
	}
	last := time.Unix(0, s.lastAct.Load())
	tc, ts := s.timeouts()
	for _, t := range []time.Duration{tc, ts} {
		if rem := last.Add(t).Sub(now); t > 0 && rem > 0 && rem < next {
			next = rem
		}
	}
	s.watchdog.Reset(next)
	if busy {
		return
	}
	// Published after the Reset so that a writer that sees it resets last;
	// and a writer that began before it is seen here.
	s.sleeping.Store(true)
	if s.writing.Load() > 0 && s.sleeping.CompareAndSwap(true, false) {
		s.watchdog.Reset(s.step())
	}
}

// maxIdleSleep bounds the watchdog's sleep on an idle session whose
// timers do not run (no timeout, or both sides closed and acknowledged).
const maxIdleSleep = time.Hour

// writeBegin marks a write (or splice) under way, waking a sleeping
// watchdog so that it watches the peer's acknowledgements every step.
func (s *session) writeBegin() {
	s.writing.Add(1)
	if s.sleeping.Load() && s.sleeping.CompareAndSwap(true, false) {
		s.watchdog.Reset(s.step())
	}
}

func (s *session) writeEnd() { s.writing.Add(-1) }

// relay starts copying both ways; the direction that ends last finishes
// the session. With the process's epoll set (evpoll), a direction whose
// socket has nothing to read parks there and its goroutine ends: an idle
// session holds no goroutine; the set's next event starts one again.
func (s *session) relay() {
	s.lastAct.Store(s.e.now().UnixNano())
	s.ackCli.Store(ackUnread)
	s.ackSrv.Store(ackUnread)
	s.watchdog = time.AfterFunc(s.step(), s.tick)
	s.left.Store(2)
	s.dirs[0] = relayDir{s: s, src: s.cli, dst: s.sc, fromClient: true}
	s.dirs[1] = relayDir{s: s, src: s.sc, dst: s.cli}
	inspect := len(s.be.px.Rules.TCPResponse) > 0
	if s.evented(evpoll()) {
		// The directions start parked: adding a socket to the set
		// reports at once what it has to read already, so a session
		// takes no goroutine and no read that finds nothing.
		s.startParked(&s.dirs[0])
		if !inspect {
			s.startParked(&s.dirs[1])
			return
		}
	} else {
		go s.dirs[0].serve()
	}
	go func() {
		if inspect && !s.respond() {
			s.dirs[1].end()
			return
		}
		s.dirs[1].serve()
	}()
}

// startParked leaves a direction added to the set to the poller, or to a
// goroutine when an event came already.
func (s *session) startParked(d *relayDir) {
	if !d.state.CompareAndSwap(dirRunning, dirIdle) {
		d.state.Store(dirRunning)
		go d.serve()
		return
	}
	if s.isAborted() {
		// Aborted before abort could see the set: its closed sockets
		// bring no event.
		d.kick()
	}
}

// evented adds both sockets to the epoll set, or neither: a TLS or
// otherwise wrapped connection is read through Go's API.
func (s *session) evented(p *evPoller) bool {
	if p == nil {
		return false
	}
	for i := range s.dirs {
		d := &s.dirs[i]
		if relayRaw(d.src) == nil {
			return false
		}
	}
	for i := range s.dirs {
		d := &s.dirs[i]
		d.rc, d.wrc = relayRaw(d.src), relayRaw(d.dst)
		d.raw = rawOf(d.src)
		d.state.Store(dirRunning)
		if !p.add(d) {
			for j := 0; j < i; j++ {
				p.remove(&s.dirs[j])
			}
			for j := range s.dirs {
				s.dirs[j].rc, s.dirs[j].wrc, s.dirs[j].raw = nil, nil, nil
			}
			return false
		}
	}
	// Under the lock: abort reads it to kick parked directions.
	s.mu.Lock()
	s.poller = p
	s.mu.Unlock()
	return true
}

// relayRaw is a plain socket's raw connection (a PROXY-protocol wrapper
// gives its socket's); nil for TLS and other wrapped connections.
func relayRaw(c net.Conn) syscall.RawConn {
	switch c.(type) {
	case *net.TCPConn, *ppConn, *rawSock:
	default:
		return nil
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// respond runs the tcp-response rules on what the server sends first and
// forwards it; false when the direction ended there.
func (s *session) respond() bool {
	defer s.recoverPanic("relay")
	first, ok := s.inspectResponse()
	if !ok {
		return false
	}
	if len(first) > 0 {
		s.writeBegin()
		_, err := s.cli.Write(first)
		s.writeEnd()
		if err != nil {
			if !s.isAborted() {
				s.abort(termClient)
			}
			return false
		}
		s.moved(int64(len(first)), false)
	}
	return true
}

// States of an evented relay direction.
const (
	dirRunning = iota // a goroutine serves it
	dirPending        // and an event came meanwhile: read again before parking
	dirIdle           // parked in the epoll set, no goroutine
	dirDone
)

// relayDir is one direction of a session's relay.
type relayDir struct {
	s          *session
	src, dst   net.Conn
	fromClient bool
	rc, wrc    syscall.RawConn // src's and dst's, when evented
	raw        *rawSock        // src, when it lives in the set only (attached, not added)
	carry      carry           // serveInline's handover to serve
	tok        int32           // key in the poller's table
	state      atomic.Int32
	hup        atomic.Bool // the set saw the peer shut (EPOLLRDHUP, HUP, ERR)
}

// serve runs the direction on this goroutine until it parks or ends.
func (d *relayDir) serve() {
	parked := false
	defer func() {
		if !parked {
			d.end()
		}
	}()
	defer d.s.recoverPanic("relay")
	parked = d.s.pipe(d)
}

// end marks the direction done; the last one finishes the session.
func (d *relayDir) end() {
	if d.done() {
		d.s.endRelay()
	}
}

// done marks the direction done; true for the last one.
func (d *relayDir) done() bool {
	d.state.Store(dirDone)
	return d.s.left.Add(-1) == 0
}

// endRelay finishes the session once both directions are done.
func (s *session) endRelay() {
	if s.poller != nil {
		s.poller.remove(&s.dirs[0])
		s.poller.remove(&s.dirs[1])
	}
	s.finished.Store(true)
	s.watchdog.Stop()
	s.finish()
}

// wake is the poller's: src has news. An idle direction is served on the
// poller's goroutine (serveInline); a running one reads again before it
// parks.
func (d *relayDir) wake(hup bool) {
	if hup {
		d.hup.Store(true)
	}
	for {
		switch d.state.Load() {
		case dirIdle:
			if d.state.CompareAndSwap(dirIdle, dirRunning) {
				d.serveInline()
				return
			}
		case dirRunning:
			if d.state.CompareAndSwap(dirRunning, dirPending) {
				return
			}
		default:
			return
		}
	}
}

// serveInline serves an event on the poller's goroutine: a chunk that the
// destination takes at once is copied here, without a goroutine, as an
// event loop does. Whatever would wait or take long goes to a goroutine
// of the direction's own, with what was read (d.carry): a write the peer
// cannot take now, a read that filled the buffer (bulk: splice), the end
// of the stream, an error.
func (d *relayDir) serveInline() {
	s := d.s
	handed := false
	defer func() {
		if r := recover(); r != nil {
			s.e.recovered("relay", s.f.Name(), r)
			s.abort(termInternal)
			if !handed {
				go d.serve()
			}
		}
	}()
	hand := func(c carry) {
		handed = true
		d.carry = c
		go d.serve()
	}
	for {
		bp, n, rerr := readOnce(d.src, d.rc)
		switch {
		case rerr == errWouldBlock:
			if d.park() {
				return
			}
			continue
		case rerr == io.EOF:
			// The FIN is passed on here; the session's end (closes,
			// log) runs on a goroutine, off the poller.
			bufPool.Put(bp)
			s.srcEOF(d)
			handed = true
			if d.done() {
				go s.endRelay()
			}
			return
		case rerr != nil || n == copyBuf:
			hand(carry{ok: true, bp: bp, n: n, err: rerr})
			return
		}
		wn, werr := writeOnce(d.wrc, (*bp)[:n])
		if wn < n || werr != nil {
			// The goroutine writes the rest, or meets the error again.
			hand(carry{ok: true, bp: bp, n: n, off: wn})
			return
		}
		bufPool.Put(bp)
		s.moved(int64(n), d.fromClient)
		if !d.hup.Load() && d.park() {
			return
		}
	}
}

// carry is what serveInline read and could not finish: the goroutine it
// starts begins with it.
type carry struct {
	ok  bool
	bp  *[]byte // pooled; nil with err
	n   int     // bytes read
	off int     // of which already written
	err error   // the read's
}

// park leaves the direction to the poller; false when an event came since
// the last read (read again). A session aborted meanwhile is not parked:
// its closed sockets would bring no event.
func (d *relayDir) park() bool {
	if !d.state.CompareAndSwap(dirRunning, dirIdle) {
		d.state.Store(dirRunning) // pending
		return false
	}
	if d.s.isAborted() {
		// abort's kick may have taken it already; then that goroutine
		// ends it.
		return !d.state.CompareAndSwap(dirIdle, dirRunning)
	}
	return true
}

// kick gives a parked direction a goroutine again, so that it sees its
// closed socket and ends.
func (d *relayDir) kick() {
	if d.state.CompareAndSwap(dirIdle, dirRunning) {
		go d.serve()
	}
}

type closeWriter interface{ CloseWrite() error }

// copyBuf is the size of the pooled buffers small transfers are copied
// through, and the read size that marks a transfer as bulk: haproxy also
// moves 16 KiB at a time (tune.bufsize).
const copyBuf = 16 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBuf); return &b }}

// pipe copies src to dst until src's EOF, then passes the FIN on with
// CloseWrite while the other direction keeps going; true when the
// direction parked instead (evented, nothing to read).
//
// An idle direction holds no buffer and no pipe: it waits for readability
// (in the epoll set, or through the raw connection) and reads into a
// pooled buffer only once data is there. Go's splice takes a pipe (2
// descriptors) before it waits, so splicing idle directions would triple
// a session's descriptors. A read that fills the buffer marks a bulk
// transfer, which is handed to io.Copy (splice(2) between two
// *net.TCPConn) until the data pauses, if one of the engine's MaxPipes
// pipes is free; splice moves a MiB in ~11 system calls where 16 KiB
// copies need ~130.
//
// Inactivity timeouts are the watchdog's business: the buffered loop sets
// no deadline (it publishes its counters per chunk), the splice phase a
// read deadline only to publish its counters and to return to the
// buffered loop. No write deadline is ever set: Go's splice drops the
// bytes already in its pipe when a write times out.
func (s *session) pipe(d *relayDir) (parked bool) {
	src, fromClient := d.src, d.fromClient
	srcSide, err, parked := s.copyLoop(d)
	if parked {
		return true
	}
	if err == nil {
		s.srcEOF(d)
		return false
	}
	if s.isAborted() {
		return false
	}
	if fromClient && !srcSide && s.srvKilled.Load() {
		// A tcp-response close shut the server side: what the client
		// still sends is dropped until its FIN, as haproxy does.
		if _, err := io.Copy(io.Discard, src); err == nil || s.isAborted() {
			s.cliFin.Store(true)
			return false
		}
		s.abort(termClient)
		return false
	}
	if srcSide == fromClient {
		s.be.ctr.cliAborts.Add(1)
		s.srv.ctr.cliAborts.Add(1)
		s.abort(termClient)
	} else {
		s.be.ctr.srvAborts.Add(1)
		s.srv.ctr.srvAborts.Add(1)
		s.abort(termServer)
	}
	return false
}

// srcEOF passes the FIN of d's source on while the other direction keeps
// going.
func (s *session) srcEOF(d *relayDir) {
	var otherDone bool
	if d.fromClient {
		s.cliFin.Store(true)
		otherDone = s.srvFin.Load()
	} else {
		s.srvFin.Store(true)
		otherDone = s.cliFin.Load()
	}
	// When the other direction already ended, dst sent its FIN and has
	// no unread data: closing it at the end of the session, right after
	// this, sends our FIN; a shutdown would be one more system call per
	// connection.
	if cw, ok := d.dst.(closeWriter); ok && !otherDone {
		_ = cw.CloseWrite()
	}
	// client-fin/server-fin may now be shorter than the watchdog's
	// period: look again sooner.
	s.watchdog.Reset(s.step())
}

// errWouldBlock: an evented read found nothing.
var errWouldBlock = errors.New("would block")

// copyLoop copies until src's EOF (nil) or an error, and says whether the
// error is src's (a read) or dst's (a write); or parks the direction.
func (s *session) copyLoop(d *relayDir) (srcSide bool, err error, parked bool) {
	src, dst, fromClient := d.src, d.dst, d.fromClient
	var rc syscall.RawConn
	if d.rc == nil {
		if sc, ok := src.(syscall.Conn); ok {
			rc, _ = sc.SyscallConn()
		}
	}
	for {
		var bp *[]byte
		var n, off int
		var rerr error
		switch {
		case d.carry.ok:
			bp, n, off, rerr = d.carry.bp, d.carry.n, d.carry.off, d.carry.err
			d.carry = carry{}
		case d.rc != nil:
			bp, n, rerr = readOnce(src, d.rc)
		default:
			bp, n, rerr = readReady(src, rc)
		}
		var werr error
		if n > off {
			s.lastAct.Store(s.e.now().UnixNano())
			s.writeBegin()
			_, werr = dst.Write((*bp)[off:n])
			s.writeEnd()
		}
		full := n == copyBuf
		if bp != nil {
			bufPool.Put(bp)
		}
		if n > 0 && werr == nil {
			s.moved(int64(n), fromClient)
		}
		switch {
		case werr != nil:
			return false, werr, false
		case rerr == io.EOF:
			return true, nil, false
		case rerr == errWouldBlock:
			if d.park() {
				return false, nil, true
			}
		case rerr != nil:
			return true, rerr, false
		case full && s.e.takePipe():
			if d.rc != nil {
				s.poller.quiet(d, false)
			}
			s.writeBegin()
			srcSide, err := s.splice(src, dst, fromClient)
			s.writeEnd()
			s.e.putPipe()
			if d.rc != nil {
				s.poller.quiet(d, true)
			}
			if err != io.ErrNoProgress {
				return srcSide, err, false
			}
		case !full && d.rc != nil && !d.hup.Load():
			// A short read emptied the socket (haproxy's
			// fd_cant_recv): the next data or the peer's FIN is a new
			// event. Once the set saw the FIN, read on to the EOF.
			if d.park() {
				return false, nil, true
			}
		}
	}
}

// readOnce reads src once without waiting, into a pooled buffer, which
// the caller puts back; errWouldBlock when nothing is there, io.EOF at
// the end.
func readOnce(src net.Conn, rc syscall.RawConn) (bp *[]byte, n int, err error) {
	bp = bufPool.Get().(*[]byte)
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			n, serr = syscall.Read(int(fd), *bp)
			if serr != syscall.EINTR {
				break
			}
		}
	})
	switch {
	case err != nil:
		// Closed (abort): no read happened.
		bufPool.Put(bp)
		return nil, 0, err
	case serr == syscall.EAGAIN:
		bufPool.Put(bp)
		return nil, 0, errWouldBlock
	case serr != nil:
		return bp, 0, &net.OpError{Op: "read", Net: "tcp", Source: src.LocalAddr(), Addr: src.RemoteAddr(), Err: os.NewSyscallError("read", serr)}
	case n == 0:
		return bp, 0, io.EOF
	}
	return bp, n, nil
}

// writeOnce writes b without waiting; it returns how much the socket
// took (0 when it would block).
func writeOnce(rc syscall.RawConn, b []byte) (n int, err error) {
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			n, serr = syscall.Write(int(fd), b)
			if serr != syscall.EINTR {
				break
			}
		}
	})
	if n < 0 {
		n = 0
	}
	if err != nil {
		return n, err
	}
	if serr == syscall.EAGAIN {
		return n, nil
	}
	return n, serr
}

// readReady waits until src is readable, holding no buffer meanwhile, and
// reads once into a pooled buffer, which the caller puts back. EOF is
// io.EOF.
func readReady(src net.Conn, rc syscall.RawConn) (bp *[]byte, n int, err error) {
	if rc == nil {
		bp = bufPool.Get().(*[]byte)
		n, err = src.Read(*bp)
		return bp, n, err
	}
	var serr error
	err = rc.Read(func(fd uintptr) bool {
		b := bufPool.Get().(*[]byte)
		for {
			n, serr = syscall.Read(int(fd), *b)
			if serr != syscall.EINTR {
				break
			}
		}
		if serr == syscall.EAGAIN {
			bufPool.Put(b)
			return false // wait for readability, then try again
		}
		bp = b
		return true
	})
	switch {
	case err != nil:
		// Closed (abort) or a deadline: no read happened.
		if bp != nil {
			bufPool.Put(bp)
		}
		return nil, 0, err
	case serr != nil:
		return bp, 0, &net.OpError{Op: "read", Net: "tcp", Source: src.LocalAddr(), Addr: src.RemoteAddr(), Err: os.NewSyscallError("read", serr)}
	case n == 0:
		return bp, 0, io.EOF
	}
	return bp, n, nil
}

// splice copies a bulk transfer with io.Copy (splice(2)) for up to
// publishStep and returns io.ErrNoProgress then, so that a direction that
// went idle goes back to waiting without a pipe; otherwise it returns like
// copyLoop.
func (s *session) splice(src, dst net.Conn, fromClient bool) (srcSide bool, err error) {
	_ = src.SetReadDeadline(time.Now().Add(min(publishStep, s.step())))
	n, err := io.Copy(dst, src)
	_ = src.SetReadDeadline(time.Time{})
	if n > 0 {
		s.moved(n, fromClient)
	}
	switch {
	case err == nil:
		return true, nil
	case s.isAborted():
		return true, err
	case isTimeout(err):
		// Counters published; a transfer still going comes back at its
		// next full read.
		return true, io.ErrNoProgress
	}
	// A write to a closed peer is the destination's fault; anything else
	// (reset, read error) is the source's: io.Copy does not say which
	// side failed.
	return !errors.Is(err, syscall.EPIPE), err
}

// moved publishes bytes copied: activity for the watchdog and counters.
func (s *session) moved(n int64, fromClient bool) {
	s.lastAct.Store(s.e.now().UnixNano())
	s.count(n, fromClient)
}

func (s *session) count(n int64, fromClient bool) {
	if fromClient {
		s.in.Add(n)
		s.f.ctr.bytesIn.Add(n)
		s.be.ctr.bytesIn.Add(n)
		s.srv.ctr.bytesIn.Add(n)
	} else {
		s.out.Add(n)
		s.f.ctr.bytesOut.Add(n)
		s.be.ctr.bytesOut.Add(n)
		s.srv.ctr.bytesOut.Add(n)
	}
}
