package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
	"hapair/pkg/sticktable"
)

// The tcp-request rules (configuration manual section 4.2,
// "tcp-request"): connection and session rules run on each accepted
// connection, before anything is read (session rules after the TLS
// handshake); content rules run in mode tcp on what the client sent
// within `tcp-request inspect-delay`, then use_backend picks the backend;
// in mode http they run once the request head is read (rules.go), as
// haproxy 2.6 runs them on its parsed request.

// maxInspect bounds what content inspection buffers: haproxy's buffer.
const maxInspect = 16384

// tcpVerdict is the first rule of a set whose condition holds: its
// action, or 0 when none does.
func tcpVerdict(set []*haproxycfg.TCPRule, t *sample.Txn) haproxycfg.Action {
	return tcpVerdictCap(set, t, nil)
}

// tcpLastRule records a verdict rule as the one that ended the rules
// (last_rule_file): accept, reject, close and silent-drop end them in
// haproxy; the other actions let the next rules run.
func tcpLastRule(t *sample.Txn, r *haproxycfg.TCPRule) {
	switch r.Action {
	case haproxycfg.ActAccept, haproxycfg.ActReject, haproxycfg.ActClose, haproxycfg.ActSilentDrop:
		t.LastRuleFile, t.LastRuleLine = r.Pos.File, r.Pos.Line
	}
}

// tcpCaps is where tcp-request content capture rules store what they
// capture: the frontend's request slots in the stream's log fields.
type tcpCaps struct {
	fe  *haproxycfg.Proxy
	log *accesslog.Session
}

// capture runs a capture rule whose condition holds, as haproxy's
// tcp_action_capture: no sample captures nothing; a sample that may still
// change with more data makes the rules wait (false) unless last.
func (c *tcpCaps) capture(r *haproxycfg.TCPRule, t *sample.Txn, last bool) bool {
	v, ok, final := r.Expr.EvalMore(t)
	if !final && !last {
		return false // even without a sample, as sample_fetch_as_type
	}
	if !ok || c == nil {
		return true
	}
	if sv, ok := sample.Cast(v, sample.TypeStr); ok {
		RuleCapture(c.fe, c.log, r.CaptureID, sv.Str, false)
	}
	return true
}

// tcpVerdictCap is tcpVerdict with capture rules storing into caps.
func tcpVerdictCap(set []*haproxycfg.TCPRule, t *sample.Txn, caps *tcpCaps) haproxycfg.Action {
	for _, r := range set {
		if r.Cond.Eval(t) {
			if r.Action == haproxycfg.ActCapture {
				caps.capture(r, t, true)
				continue
			}
			if r.Stick != nil {
				stickTCP(r, t) // not final: the next rules run
				continue
			}
			if r.Var != nil {
				tcpVar(r.Var, t) // not final either
				continue
			}
			tcpLastRule(t, r)
			return r.Action
		}
	}
	return 0
}

// tcpVar runs a tcp rule's set-var, set-var-fmt or unset-var on t.Vars;
// proc.* variables go to the process. Before a stream exists (connection
// and session rules: t.Stream false) only sess.* and proc.* variables
// can be set, as in haproxy.
func tcpVar(r *haproxycfg.Rule, t *sample.Txn) {
	if isAddrAction(r.Action) {
		// set-src, set-dst...: on t's addresses; the caller keeps them
		// at its level (connection, session or stream).
		setAddr(r, t)
		return
	}
	proc := strings.HasPrefix(r.Name, "proc.")
	if !t.Stream && !proc && !strings.HasPrefix(r.Name, "sess.") {
		return
	}
	var v sample.Value
	switch r.Action {
	case haproxycfg.ActSetVar:
		var ok bool
		if v, ok = r.Expr.Eval(t); !ok {
			return
		}
	case haproxycfg.ActSetVarFmt:
		v = sample.Value{Type: sample.TypeStr, Str: r.Value.Raw}
		if r.Value.Format != nil {
			v.Str = string(r.Value.Format.Append(nil, t, nil))
		}
	case haproxycfg.ActUnsetVar:
		delete(t.Vars, r.Name)
		if e := engineOf(t.Env); proc && e != nil {
			e.proc.store(r.Name, nil)
		}
		return
	}
	if r.VarCond != 0 {
		if !t.SetVar(r.Name, v, r.VarCond) {
			return
		}
	} else {
		if t.Vars == nil {
			t.Vars = map[string]sample.Value{}
		}
		t.Vars[r.Name] = v
	}
	if e := engineOf(t.Env); proc && e != nil {
		e.proc.store(r.Name, &v)
	}
}

// keepSessVars stores the sess.* variables of t with the connection
// (nil when there are none left).
func keepSessVars(t *sample.Txn, store *map[string]sample.Value) {
	var m map[string]sample.Value
	for k, v := range t.Vars {
		if strings.HasPrefix(k, "sess.") {
			if m == nil {
				m = map[string]sample.Value{}
			}
			m[k] = v
		}
	}
	*store = m
}

// streamVars are t's txn.*, req.* and res.* variables (nil if none), for
// the rules of the same stream that run with another Txn.
func streamVars(t *sample.Txn) map[string]sample.Value {
	var m map[string]sample.Value
	for k, v := range t.Vars {
		if !strings.HasPrefix(k, "sess.") && !strings.HasPrefix(k, "proc.") {
			if m == nil {
				m = map[string]sample.Value{}
			}
			m[k] = v
		}
	}
	return m
}

// engineOf is the engine behind a Txn's Env (TLS connections wrap it).
func engineOf(env sample.Env) *Engine {
	switch v := env.(type) {
	case *Engine:
		return v
	case tlsEnv:
		return engineOf(v.Env)
	case serverTLSEnv:
		return engineOf(v.Env)
	case engineEnv:
		return engineOf(v.Env)
	}
	return nil
}

// tcpAccept runs a frontend's tcp-request connection rules on a new
// connection, then reads its PROXY header when the bind or an expect-proxy
// rule asks for one (pp.go), before any TLS handshake; false means the
// connection must close: a rejected one at once and not logged, as
// haproxy does, a bad header after logging it. Their track-sc actions
// fill stk, their set-var the connection's sess.* variables. accept is
// when the connection was accepted.
func (e *Engine) tcpAccept(f *Frontend, c net.Conn, stk *sticktable.Counters, accept time.Time, sess *map[string]sample.Value) bool {
	rs := &f.px.Rules
	pp := ppOf(c)
	f.ctr.conns.Add(1) // conn_tot: every connection accepted
	if len(rs.TCPConnection) == 0 && pp == nil {
		return true
	}
	t := sample.Txn{Src: addrPort(c.RemoteAddr()), Dst: addrPort(c.LocalAddr()), Frontend: f.Name(), Env: e, Vars: e.proc.load(*sess), Keeper: e, SoName: e.soName(f, c), ProxyTLV: ppTLVOf(c)}
	if stk != nil {
		t.Stick = stk
	}
	src, dst := t.Src, t.Dst
	act, expect := tcpConnVerdict(rs.TCPConnection, &t)
	keepSessVars(&t, sess)
	if pp != nil {
		// set-src/set-dst at this level change the connection's own
		// addresses (fc_src...), which a PROXY header then hides.
		if t.Src != src {
			pp.fcSrc = net.TCPAddrFromAddrPort(t.Src)
		}
		if t.Dst != dst {
			pp.fcDst = net.TCPAddrFromAddrPort(t.Dst)
		}
	}
	if act == haproxycfg.ActReject {
		f.ctr.denied.Add(1)
		// haproxy resets a connection it rejects at this level.
		if g, ok := c.(*gatedConn); ok {
			c = g.Conn
		}
		if tc, ok := c.(interface{ SetLinger(int) error }); ok {
			_ = tc.SetLinger(0)
		}
		return false
	}
	if pp != nil && (pp.always || expect) {
		if !e.readProxy(f, pp, accept) {
			return false
		}
	}
	return true
}

// tcpSession runs a frontend's tcp-request session rules once the
// session exists: after the PROXY header and the TLS handshake, as
// haproxy runs them (they see the header's addresses and the TLS facts,
// ssl_fc_sni...). false means the connection is rejected: closed and not
// logged.
func (e *Engine) tcpSession(f *Frontend, c net.Conn, stk *sticktable.Counters, sess *map[string]sample.Value) bool {
	rs := &f.px.Rules
	if len(rs.TCPConnection) == 0 && len(rs.TCPSession) == 0 {
		return true
	}
	if len(rs.TCPSession) > 0 {
		t := sample.Txn{Src: addrPort(c.RemoteAddr()), Dst: addrPort(c.LocalAddr()), Frontend: f.Name(), Env: envFor(e, c), Vars: e.proc.load(*sess), Keeper: e, SoName: e.soName(f, c), ProxyTLV: ppTLVOf(c)}
		t.FcSrc, t.FcDst = fcAddrs(c)
		if stk != nil {
			t.Stick = stk
		}
		src, dst := t.Src, t.Dst
		act := tcpVerdict(rs.TCPSession, &t)
		keepSessVars(&t, sess)
		if pp := ppOf(c); pp != nil {
			// The session's addresses (src, dst), as a PROXY header's.
			if t.Src != src {
				pp.src = net.TCPAddrFromAddrPort(t.Src)
			}
			if t.Dst != dst {
				pp.dst = net.TCPAddrFromAddrPort(t.Dst)
			}
		}
		if act == haproxycfg.ActReject {
			f.ctr.deniedSess.Add(1)
			// Closed without reading: what the client sent makes it a
			// reset, as with haproxy 2.6.12 (measured).
			return false
		}
	}
	if stk != nil {
		stk.SessionStarted()
	}
	return true
}

// tcpConnVerdict is tcpVerdict over the tcp-request connection rules,
// where expect-proxy does not stop the evaluation: expect says whether
// one matched.
func tcpConnVerdict(set []*haproxycfg.TCPRule, t *sample.Txn) (act haproxycfg.Action, expect bool) {
	for _, r := range set {
		if r.Action == haproxycfg.ActExpectProxy {
			if r.Cond.Eval(t) {
				expect = true
			}
			continue
		}
		if r.Cond.Eval(t) {
			if r.Stick != nil {
				stickTCP(r, t) // not final: the next rules run
				continue
			}
			if r.Var != nil {
				tcpVar(r.Var, t) // not final either
				continue
			}
			tcpLastRule(t, r)
			return r.Action, expect
		}
	}
	return 0, expect
}

// drainSocket reads what already arrived on c without waiting, so that
// closing it sends a FIN rather than a reset: haproxy's conn_sock_drain
// before closing a connection it refuses (tcp-request content reject,
// http-request reject) reads until nothing is left, whatever the size
// (a 100 kB body sent before the reject still gets a FIN).
func drainSocket(c net.Conn) {
	if tc, ok := c.(*tlsServerConn); ok {
		c = tc.raw
	}
	if g, ok := c.(*gatedConn); ok {
		c = g.Conn
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	var buf [16384]byte
	// Control, not Read: a relay goroutine may be waiting in a read of
	// c, holding its read lock; the reads here never block. The bound
	// (64 MiB) only keeps a client that sends fast from holding us.
	_ = rc.Control(func(fd uintptr) {
		for i := 0; i < 4096; i++ {
			n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_DONTWAIT)
			if n <= 0 || err != nil {
				break
			}
		}
	})
}

// tcpVerdictMore is tcpVerdict on a payload that may still grow: final
// is false when a rule's condition cannot be told yet (haproxy waits for
// more data then); last evaluates for good, as at the end of the delay.
// *from is the first rule not decided yet: the rules before it were
// evaluated for good (their stick actions ran, once), and the next call
// resumes there, as haproxy resumes a rule set.
func tcpVerdictMore(set []*haproxycfg.TCPRule, t *sample.Txn, last bool, from *int, caps *tcpCaps) (haproxycfg.Action, bool) {
	if last {
		return tcpVerdictCap(set[*from:], t, caps), true
	}
	for ; *from < len(set); *from++ {
		r := set[*from]
		holds, final := r.Cond.EvalMore(t)
		if !final {
			return 0, false
		}
		if holds {
			if r.Action == haproxycfg.ActCapture {
				if !caps.capture(r, t, false) {
					return 0, false
				}
				continue
			}
			if r.Stick != nil {
				if trackMayChange(r, t) {
					return 0, false // the key may still come (haproxy yields)
				}
				stickTCP(r, t) // not final: the next rules run
				continue
			}
			if r.Var != nil {
				tcpVar(r.Var, t)
				continue
			}
			tcpLastRule(t, r)
			return r.Action, true
		}
	}
	return 0, true
}

// rejectConn closes a connection the tcp-request connection rules
// rejected in mode tcp, releasing what the accept loop took for it.
func (e *Engine) rejectConn(f *Frontend, c net.Conn) {
	f.gate.release()
	e.global.release()
	c.Close()
	e.wg.Done()
}

// dynamicRouting reports whether a frontend chooses its backend per
// stream (a use_backend with a condition or a log-format name).
func dynamicRouting(px *haproxycfg.Proxy) bool {
	for _, u := range px.UseBackends {
		if u.Cond != nil || u.Format != nil {
			return true
		}
	}
	return false
}

// inspect runs a mode tcp frontend's tcp-request content rules and its
// use_backend rules. It returns what it read from the client, which the
// server must receive first, and false when the connection is rejected
// (the session is then terminated, logged as haproxy logs it).
func (s *session) inspect(log *accesslog.Session) ([]byte, bool) {
	f := s.f
	rs := &f.px.Rules
	if n := len(f.px.Logging.ReqCaptures); n > 0 {
		// Every slot prints, '-' when nothing was captured.
		log.ReqCaptures = make([]accesslog.Capture, n)
	}
	beRules := func() bool {
		return s.be != nil && s.be.px != f.px && len(s.be.px.Rules.TCPContent) > 0
	}
	if len(rs.TCPContent) == 0 && !dynamicRouting(f.px) && !beRules() {
		return nil, true
	}
	t := &sample.Txn{Src: log.Client, Dst: log.Frontend, Frontend: f.Name(), Env: envFor(s.e, s.cli), Stick: s.stk,
		Vars: s.e.proc.load(s.sessVars), Stream: true, Keeper: s.e, Captures: log, SoName: s.e.soName(f, s.cli), ProxyTLV: ppTLVOf(s.cli)}
	t.FcSrc, t.FcDst = fcAddrs(s.cli)
	s.txn = t
	// set-src/set-dst here are the stream's: its log, balancing and
	// PROXY line to the server follow them.
	defer func() { log.Client, log.Frontend = t.Src, t.Dst }()
	// An empty buffer, not none: an HTTP fetch then waits for a request
	// head (haproxy parses the buffer as HTTP in mode tcp).
	buf := []byte{}
	t.Payload = buf
	ok := true
	if len(rs.TCPContent) > 0 {
		if buf, ok = s.contentRules(f.px, t, buf, log, s.accept); !ok {
			return nil, false
		}
	}
	for i := range f.px.UseBackends {
		u := &f.px.UseBackends[i]
		if !u.Cond.Eval(t) {
			continue
		}
		name := u.Name
		if u.Format != nil {
			name = string(u.Format.Format.Append(nil, t, nil))
		}
		if b := s.e.Backend(name); b != nil {
			s.be = b
		}
		break
	}
	if beRules() {
		// The backend's own rules, with its own delay from now
		// (haproxy's AN_REQ_INSPECT_BE).
		t.Backend = s.be.Name()
		log.BackendName = s.be.Name() // a rejection is logged on it
		if buf, ok = s.contentRules(s.be.px, t, buf, log, time.Now()); !ok {
			return nil, false
		}
	}
	return buf, true
}

// contentRules runs the tcp-request content rules of px (the frontend's,
// or a backend's after the switch) on the client's first data, reading
// more while a rule cannot decide, until px's inspect-delay from start
// expires or the buffer is full. It returns the data read so far, and
// false when a rule rejected the session (then terminated as haproxy
// logs it).
func (s *session) contentRules(px *haproxycfg.Proxy, t *sample.Txn, buf []byte, log *accesslog.Session, start time.Time) ([]byte, bool) {
	rs := &px.Rules
	deadline := start.Add(rs.InspectDelay)
	done := rs.InspectDelay <= 0
	from := 0 // the first content rule not decided yet
	caps := tcpCaps{s.f.px, log}
	for {
		act, final := tcpVerdictMore(rs.TCPContent, t, done, &from, &caps)
		if !final {
			act = 0 // a rule cannot tell yet: wait for more data
		} else {
			done = true
		}
		switch act {
		case haproxycfg.ActReject:
			s.in.Add(int64(len(buf)))
			drainSocket(s.cli)
			s.terminate('P', stateRequest)
			return nil, false
		}
		if done || len(buf) >= maxInspect {
			if !done {
				done = true
				continue // a full buffer: decide on what is there
			}
			break
		}
		// No rule decided yet: wait for more data, up to the delay.
		_ = s.cli.SetReadDeadline(deadline)
		p := make([]byte, maxInspect-len(buf))
		n, err := s.cli.Read(p)
		buf = append(buf, p[:n]...)
		t.Payload = buf
		if err != nil {
			done = true // a last look at what arrived
			if !errors.Is(err, os.ErrDeadlineExceeded) && err != io.EOF {
				s.in.Add(int64(len(buf)))
				s.terminate(termClient, stateRequest)
				return nil, false
			}
		}
	}
	_ = s.cli.SetReadDeadline(time.Time{})
	return buf, true
}

// inspectResponse runs the backend's tcp-response content rules on the
// first data of the server (configuration manual 4.2, "tcp-response
// content"), before anything goes to the client. Like haproxy, the rules
// run once per session: at the connection, then on each arrival until
// they decide or `tcp-response inspect-delay` expires (without a delay
// they decide at once, on what is there). It returns what it read, which
// the client must receive first, and false when the session is over:
// reject kills the server connection and closes the client's ("PD");
// close kills the server connection once its data went to the client.
func (s *session) inspectResponse() ([]byte, bool) {
	rs := &s.be.px.Rules
	t := s.txn
	if t == nil {
		t = &sample.Txn{Src: s.log.Client, Dst: s.log.Frontend, Frontend: s.f.Name(), Env: envFor(s.e, s.cli), Stick: s.stk,
			Vars: s.e.proc.load(s.sessVars), Stream: true, Keeper: s.e, SoName: s.e.soName(s.f, s.cli), ProxyTLV: ppTLVOf(s.cli)}
		t.FcSrc, t.FcDst = fcAddrs(s.cli)
	}
	t.Backend = s.be.px.Name
	if s.srv != nil {
		t.Server = s.srv.fetchName()
	}
	t.SrvConn = s.srvFacts
	var buf []byte
	deadline := time.Now().Add(rs.ResInspectDelay)
	done := rs.ResInspectDelay <= 0
	from := 0
	var act haproxycfg.Action
	for {
		a, final := tcpVerdictMore(rs.TCPResponse, t, done, &from, nil)
		if final {
			act = a
			break
		}
		if len(buf) >= maxInspect {
			done = true
			continue // a full buffer: decide on what is there
		}
		_ = s.sc.SetReadDeadline(deadline)
		p := make([]byte, maxInspect-len(buf))
		n, err := s.sc.Read(p)
		buf = append(buf, p[:n]...)
		t.ResPayload = buf
		if err != nil {
			done = true // a last look at what arrived (EOF, error, delay)
		}
	}
	_ = s.sc.SetReadDeadline(time.Time{})
	switch act {
	case haproxycfg.ActReject:
		// haproxy counts what it read from the server, sent or not.
		s.count(int64(len(buf)), false)
		s.terminate('P', stateData)
		killConn(s.sc)
		drainSocket(s.cli) // a FIN, not a reset, for the client
		s.abort('P')
		return nil, false
	case haproxycfg.ActClose:
		s.srvKilled.Store(true)
		killConn(s.sc)
		s.sc.Close()
		if len(buf) > 0 {
			s.writeBegin()
			_, err := s.cli.Write(buf)
			s.writeEnd()
			if err != nil {
				s.abort(termClient)
				return nil, false
			}
			s.moved(int64(len(buf)), false)
		}
		s.srvFin.Store(true)
		if cw, ok := s.cli.(closeWriter); ok {
			_ = cw.CloseWrite()
		}
		return nil, false
	}
	return buf, true
}

// tcpConnOf is the TCP connection under c (TLS, accept gate).
func tcpConnOf(c net.Conn) net.Conn {
	if tc, ok := c.(*tlsServerConn); ok {
		c = tc.raw
	}
	if g, ok := c.(*gatedConn); ok {
		c = g.Conn
	}
	return c
}

// killConn makes closing c reset it, as haproxy kills a server
// connection (no lingering, no half-close).
func killConn(c net.Conn) {
	if tc, ok := c.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0)
	}
}

// soName is the name of the listener of f that accepted c (`bind ...
// name NAME`, the so_name fetch), found by the socket's own local
// address (before any PROXY header): a listener bound to that address
// first, else one bound to the wildcard address on its port.
func (e *Engine) soName(f *Frontend, c net.Conn) string {
	if !f.namedBinds {
		return ""
	}
	for {
		switch v := c.(type) {
		case *h2StreamConn:
			c = v.parent
			continue
		case *tlsServerConn:
			c = v.raw
			continue
		case *gatedConn:
			c = v.Conn
			continue
		case *ppConn:
			c = v.Conn
			continue
		}
		break
	}
	local := c.LocalAddr()
	if local == nil {
		return ""
	}
	wild := ""
	for i, ln := range f.lns {
		if i >= len(f.px.Binds) {
			break
		}
		la := ln.Addr()
		if la.Network() != local.Network() {
			continue
		}
		if la.String() == local.String() {
			return f.px.Binds[i].Name
		}
		if lt, ok := la.(*net.TCPAddr); ok && lt.IP.IsUnspecified() {
			if ct, ok := local.(*net.TCPAddr); ok && ct.Port == lt.Port && wild == "" {
				wild = f.px.Binds[i].Name
			}
		}
	}
	return wild
}
