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
	e, ok := t.Env.(*Engine)
	if !ok {
		return
	}
	px := t.Frontend
	if t.Backend != "" && !r.Stick.Session {
		px = t.Backend
	}
	e.runStick(r.Action, r.Stick, px, t, false)
}

// runStick runs track-sc, sc-inc-gpc0/1 or sc-set-gpt0 from a rule of
// proxy px; httpReq marks an http-request rule, whose track-sc counts the
// request on the entry it starts tracking (haproxy's
// http_action_track_sc).
func (e *Engine) runStick(act haproxycfg.Action, sa *haproxycfg.StickAction, px string, t *sample.Txn, httpReq bool) {
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
		if httpReq {
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

// stickRequestEnd counts how a request ended (a 4xx or a denial is an
// error, a 5xx but 501 and 505 a failure), its bytes, and ends the
// stream's own counters.
func stickRequestEnd(c *sticktable.Counters, s *accesslog.Session) {
	if c == nil {
		return
	}
	switch {
	case s.Status >= 400 && s.Status < 500,
		s.TermCause == 'P' && s.TermState == stateRequest && s.Status > 0:
		c.HTTPError()
	case s.Status >= 500 && s.Status < 600 && s.Status != 501 && s.Status != 505:
		c.HTTPFailure()
	}
	c.Bytes(s.BytesFromClient, s.BytesToClient)
	c.ReleaseStream()
}

// stickConnEnd ends a connection's counters.
func stickConnEnd(c *sticktable.Counters) {
	if c != nil {
		c.ReleaseStream()
		c.ReleaseSession()
	}
}
