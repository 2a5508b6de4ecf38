package proxy

import (
	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
	"hapair/pkg/sticktable"
)

// Stick tables in the engine: the tables of the configuration, the stick
// counters of each connection and stream, and the rule actions that
// track and update them (pkg/sticktable holds the tables and the
// fetches). A configuration without a table pays nothing: connections
// get no Counters and the hooks below return at once.

// newStickTables builds a configuration's tables, on the engine's clock.
func newStickTables(cfg *haproxycfg.Config, now sticktable.Clock) *sticktable.Set {
	var list []*sticktable.Table
	for _, px := range cfg.Proxies {
		if px.StickTable != nil {
			list = append(list, sticktable.New(*px.StickTable, now))
		}
	}
	for _, t := range cfg.PeersTables {
		list = append(list, sticktable.New(*t, now))
	}
	if len(list) == 0 {
		return nil
	}
	return sticktable.NewSet(list)
}

// StickTables is the configuration's tables (nil without any), for the
// fetches and the stats socket.
func (e *Engine) StickTables() *sticktable.Set { return e.stick }

// newCounters gives a new connection its stick counters; nil when the
// configuration has no table.
func (e *Engine) newCounters() *sticktable.Counters {
	if e.stick == nil {
		return nil
	}
	return &sticktable.Counters{Sess: &sticktable.Slots{}}
}

// stickTCP runs a tcp-request rule's stick action: t.Backend names the
// backend whose content rules run, else the frontend's run.
func stickTCP(r *haproxycfg.TCPRule, t *sample.Txn) {
	e := engineOf(t.Env)
	if e == nil {
		return
	}
	px := t.Frontend
	if t.Backend != "" && !r.Stick.Session {
		px = t.Backend
	}
	e.runStick(r.Action, r.Stick, px, t, false, 0)
}

// trackMayChange reports whether a content rule's track-sc should wait
// for more data: its slot is free and its key could still appear or
// change (haproxy's tcp_action_track_sc yields then, until the delay).
func trackMayChange(r *haproxycfg.TCPRule, t *sample.Txn) bool {
	if r.Action != haproxycfg.ActTrackSC || r.Stick.Session || r.Stick.Key == nil {
		return false
	}
	if c, _ := t.Stick.(*sticktable.Counters); c == nil || c.Slot(r.Stick.Slot) != nil {
		return false
	}
	_, _, final := r.Stick.Key.EvalMore(t)
	return !final
}

// runStick runs track-sc, sc-inc-gpc0/1 or sc-set-gpt0 from a rule of
// proxy px; httpReq marks an http-request or http-response rule, whose
// track-sc counts the request on the entry it starts tracking (haproxy's
// http_action_track_sc); resStatus, the response's status for an
// http-response rule, is counted then as an error or failure.
func (e *Engine) runStick(act haproxycfg.Action, sa *haproxycfg.StickAction, px string, t *sample.Txn, httpReq bool, resStatus int) {
	c, _ := t.Stick.(*sticktable.Counters)
	if c == nil || sa == nil {
		return
	}
	switch act {
	case haproxycfg.ActTrackSC:
		// A stream starts with its session's counters: a slot the
		// session tracks is taken for the stream too.
		if sa.Session {
			if c.Sess == nil || c.Sess[sa.Slot] != nil {
				return
			}
		} else if c.Slot(sa.Slot) != nil {
			return
		}
		name := sa.Table
		if name == "" {
			name = px
		}
		tb := e.stick.Table(name)
		if tb == nil {
			return
		}
		v, ok := sa.Key.Eval(t)
		if !ok {
			return
		}
		key, ok := tb.Key(v)
		if !ok {
			return
		}
		ref := tb.Track(key)
		if ref == nil {
			return
		}
		if sa.Session {
			c.Sess[sa.Slot] = ref
		} else {
			c.Strm[sa.Slot] = ref
		}
		switch {
		case resStatus > 0:
			c.TrackedOnResponse(sa.Slot, resStatus)
		case httpReq:
			ref.Add(1, sticktable.HTTPReqCnt, sticktable.HTTPReqRate)
		}
	case haproxycfg.ActIncGPC:
		if r := c.Slot(sa.Slot); r != nil {
			r.IncGPC(sa.Idx)
		}
	case haproxycfg.ActSetGPT:
		r := c.Slot(sa.Slot)
		if r == nil {
			return
		}
		v := sa.Value
		if sa.Expr != nil {
			s, ok := sa.Expr.Eval(t)
			if !ok {
				return
			}
			s, ok = sample.Cast(s, sample.TypeInt)
			if !ok {
				return
			}
			v = s.Int
		}
		r.SetGPT0(v)
	}
}

// stickRequestStart counts a new HTTP request on the tracked counters,
// before the http-request rules (haproxy's stream_inc_http_req_ctr).
func stickRequestStart(c *sticktable.Counters) {
	if c != nil {
		c.HTTPRequest()
	}
}

// stickBadRequest counts a request the HTTP parser refused or timed out
// on: a request, and for a 400 an error (haproxy's mux_h1 does the same
// on the session's counters).
func stickBadRequest(c *sticktable.Counters, status int) {
	if c == nil {
		return
	}
	c.HTTPRequest()
	if status == 400 {
		c.HTTPError()
	}
}

// stickRequestEnd counts how a request ended, its bytes, and ends the
// stream's own counters. As in haproxy, an error is a server's 4xx or a
// request denied by a rule (deny, tarpit), a failure a server's 5xx but
// 501 and 505; what the proxy answers itself otherwise (return, redirect,
// its own 503) counts as neither.
func stickRequestEnd(c *sticktable.Counters, s *accesslog.Session) {
	if c == nil {
		return
	}
	fromServer := s.ServerName != "<NOSRV>" && s.Tr >= 0
	switch {
	case fromServer && s.Status >= 400 && s.Status < 500,
		s.TermCause == 'P' && s.TermState == stateRequest && s.Status > 0:
		c.HTTPError()
	case fromServer && s.Status >= 500 && s.Status < 600 && s.Status != 501 && s.Status != 505:
		c.HTTPFailure()
	}
	c.Bytes(s.BytesFromClient, s.BytesToClient)
	c.ReleaseStream()
}

// stickAnswering ends the stream's counters as the proxy sends an answer
// of its own (deny, return, redirect, an error page): haproxy's stream
// ends with it, before the client reads it.
func stickAnswering(c *sticktable.Counters) {
	if c != nil {
		c.EndStream()
	}
}

// stickConnEnd ends a connection's counters.
func stickConnEnd(c *sticktable.Counters) {
	if c != nil {
		c.ReleaseStream()
		c.ReleaseSession()
	}
}

// stickStore is a pending `stick store-request`: the key to store the
// server under, once the request went to one.
type stickStore struct {
	t   *sticktable.Table
	key string
}

// stickMatch runs a backend's stick rules before the server is chosen
// (haproxy's process_sticking_rules): the first match rule whose key has
// an entry naming a usable server (any, with `option persist`) sends the
// request there; store rules, one per table, remember their key for
// stickStored. assigned is a server already chosen (a persistence
// cookie): match rules are then skipped.
func (e *Engine) stickMatch(be *Backend, t *sample.Txn, assigned bool) (*Server, []stickStore) {
	if e.stick == nil || len(be.px.StickRules) == 0 {
		return nil, nil
	}
	var srv *Server
	var stores []stickStore
	for _, r := range be.px.StickRules {
		if (assigned || srv != nil) && !r.Store {
			continue
		}
		if !r.Cond.Eval(t) {
			continue
		}
		tb := e.stick.Table(r.Table)
		if tb == nil {
			continue
		}
		v, ok := r.Expr.Eval(t)
		if !ok {
			continue
		}
		key, ok := tb.Key(v)
		if !ok {
			continue
		}
		if r.Match && !assigned && srv == nil {
			if name, id, found := tb.LookupServer(key); found {
				srv = be.stickServer(name, id)
			}
		}
		if r.Store {
			dup := false
			for _, s := range stores {
				dup = dup || s.t == tb
			}
			if !dup {
				stores = append(stores, stickStore{tb, key})
			}
		}
	}
	return srv, stores
}

// stickServer finds a stored server: by name, else by id; nil when it
// is gone or down (unless `option persist`).
func (b *Backend) stickServer(name string, id int64) *Server {
	var found *Server
	for _, s := range b.Servers() {
		if name != "" && s.Name() == name {
			found = s
			break
		}
	}
	if found == nil {
		for _, s := range b.Servers() {
			if int64(s.id) == id {
				found = s
				break
			}
		}
	}
	if found == nil || !found.Usable() && !b.px.Options.Persist {
		return nil
	}
	return found
}

// stickStored stores the server the request went to under each pending
// key, unless it is `non-stick`.
func stickStored(stores []stickStore, srv *Server) {
	if srv == nil || srv.cfg.NonStick {
		return
	}
	for _, s := range stores {
		s.t.StoreServer(s.key, int64(srv.id), srv.Name())
	}
}

// stickTxn is what stick rules evaluate on in mode http: the request
// rules' transaction when there is one, else one built for them.
func (h *h1Frontend) stickTxn(c *h1Conn, req *httpRequest, s *accesslog.Session, be *Backend) *sample.Txn {
	if rr := c.rules; rr != nil {
		rr.txn.Backend = be.Name()
		return &rr.txn
	}
	m := &sample.Message{Method: req.method, URI: req.uri, Version: req.version}
	for _, hd := range req.headers {
		if hd.name != "connection" || hd.value != "" {
			m.Headers = append(m.Headers, sample.Header{Name: hd.name, Value: hd.value})
		}
	}
	return &sample.Txn{Src: s.Client, Dst: s.Frontend, FcSrc: c.fcSrc, FcDst: c.fcDst, Frontend: h.f.Name(), Backend: be.Name(), Req: m, Env: h.e, Stick: c.stk, NotFirst: req.notFirst, Captures: s,
		SoName: h.e.soName(h.f, c.nc), ProxyTLV: ppTLVOf(c.nc)}
}
