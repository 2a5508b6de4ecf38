package proxy

import (
	"sync"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
)

// `http-request set-timeout server|tunnel` (configuration manual 4.3):
// the stream's server and tunnel timeouts, read back by
// cur_server_timeout and cur_tunnel_timeout. As in haproxy's stream, a
// value a rule sets stays; the unset ones take the backend's once the
// server connection is established.

// setsServerTimeout tells whether some http-request rule of cfg may set
// a stream's server timeout. Without one the transports keep their fixed
// ResponseHeaderTimeout, and nothing here costs a request anything.
func setsServerTimeout(cfg *haproxycfg.Config) bool {
	for _, px := range cfg.Proxies {
		for _, r := range px.Rules.HTTPRequest {
			if r.Action == haproxycfg.ActSetTimeout && r.Name == "server" {
				return true
			}
		}
	}
	return false
}

// applySetTimeout runs one set-timeout rule on t: an expression without
// a sample, or one that is not an integer, leaves the timeouts as they
// are (haproxy's action_timeout_set_stream_timeout).
func applySetTimeout(r *haproxycfg.Rule, t *sample.Txn) {
	ms := r.Wait.Milliseconds()
	if r.Expr != nil {
		v, ok := r.Expr.Eval(t)
		if !ok {
			return
		}
		if v, ok = sample.Cast(v, sample.TypeInt); !ok {
			return
		}
		ms = v.Int
	}
	if r.Name == "server" {
		t.ServerTimeout = ms
	} else {
		t.TunnelTimeout = ms
	}
}

// streamTimeouts are the server and tunnel timeouts in effect for a
// request: the backend's, unless a rule set them (rr is nil without
// rules).
func streamTimeouts(rr *ruleRun, bt haproxycfg.Timeouts) (srv, tun time.Duration) {
	srv, tun = bt.Server, bt.Tunnel
	if rr != nil {
		if ms := rr.txn.ServerTimeout; ms != 0 {
			srv = msTimeout(ms)
		}
		if ms := rr.txn.TunnelTimeout; ms != 0 {
			tun = msTimeout(ms)
		}
	}
	return srv, tun
}

// msTimeout is a timeout a rule set in milliseconds; a negative one (an
// expression's) is a date already past in haproxy: it expires at once.
func msTimeout(ms int64) time.Duration {
	if ms < 0 {
		return time.Nanosecond
	}
	return time.Duration(ms) * time.Millisecond
}

// established gives the timeouts no rule set the backend's values, as
// haproxy does when the server connection is established: in the rules'
// view (http-response rules) and in the log's (%[cur_server_timeout]).
func established(rr *ruleRun, s *accesslog.Session, bt haproxycfg.Timeouts) {
	var srv, tun int64
	if rr != nil {
		srv, tun = rr.txn.ServerTimeout, rr.txn.TunnelTimeout
	}
	if srv == 0 {
		srv = bt.Server.Milliseconds()
	}
	if tun == 0 {
		tun = bt.Tunnel.Milliseconds()
	}
	if rr != nil {
		rr.txn.ServerTimeout, rr.txn.TunnelTimeout = srv, tun
	}
	if s.Txn != nil {
		s.Txn.ServerTimeout, s.Txn.TunnelTimeout = srv, tun
	}
}

// ProxyTimeouts gives a proxy's configured server and tunnel timeouts
// (be_server_timeout, be_tunnel_timeout).
func (e *Engine) ProxyTimeouts(name string) (server, tunnel time.Duration, ok bool) {
	// A frontend and a backend may share a name: the stream's backend
	// is the one with a backend's capability, else its frontend.
	var found *haproxycfg.Proxy
	for _, px := range e.cfg.Proxies {
		if px.Name == name && (found == nil || px.Kind.HasBackend()) {
			found = px
		}
	}
	if found == nil {
		return 0, 0, false
	}
	return found.Timeouts.Server, found.Timeouts.Tunnel, true
}

// hdrTimer times the wait for an HTTP/1 response head with the stream's
// server timeout, from the end of the request's write as Go's
// ResponseHeaderTimeout does; used when the backend's transport has none
// (Backend.ownHdrTimer). wrote runs on the transport's writing goroutine,
// possibly after the round trip returned (an early answer): done keeps a
// late timer from starting then.
type hdrTimer struct {
	mu     sync.Mutex
	d      time.Duration
	cancel func()
	done   bool
	t      *h2HeaderTimer
}

// arm readies the timer for a round trip.
func (h *hdrTimer) arm() {
	h.mu.Lock()
	h.done, h.t = false, nil
	h.mu.Unlock()
}

// wrote starts the timer: the request was written.
func (h *hdrTimer) wrote() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.done && h.d > 0 && h.t == nil {
		h.t = startH2HeaderTimer(h.d, h.cancel)
	}
}

// stop ends the wait; true when the timer had fired.
func (h *hdrTimer) stop() bool {
	h.mu.Lock()
	h.done = true
	t := h.t
	h.t = nil
	h.mu.Unlock()
	return t != nil && t.stop()
}
