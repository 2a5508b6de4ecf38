package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
	"hapair/pkg/userlist"
)

// The rules of a mode http frontend and of the backends it reaches, run
// per request in haproxy 2.6's order (http_ana.c): monitor-uri, the
// frontend's tcp-request content, http-request and redirect rules, the
// use_backend choice, the backend's http-request and redirect rules; on
// the response the backend's then the frontend's http-response rules; on
// everything sent, the server's responses and the proxy's own replies,
// http-after-response rules. A frontend with no rule anywhere has no
// httpRules and builds no sample.Txn.

// httpRules are a frontend's rule sets, compiled once.
type httpRules struct {
	fe *haproxycfg.Proxy
	// byName finds a backend chosen by a use_backend name built per
	// request; static names are found once here.
	byName map[string]*Backend
	static map[*haproxycfg.UseBackend]*Backend
	routes *routeCache
}

// needRules reports whether a frontend, or a backend it can reach, has a
// rule or a conditional or dynamic use_backend.
func needRules(e *Engine, f *Frontend) bool {
	px := f.px
	if !px.Rules.Empty() || px.Options.RestrictHdrNames != "" {
		return true
	}
	for _, u := range px.UseBackends {
		if u.Cond != nil || u.Format != nil {
			return true
		}
	}
	for _, b := range reachable(e, f) {
		if !b.px.Rules.Empty() || b.px.BalanceArgs.Expr != nil || b.px.Options.RestrictHdrNames != "" {
			return true
		}
	}
	return false
}

// reachable lists the backends a frontend may send a request to.
func reachable(e *Engine, f *Frontend) []*Backend {
	var out []*Backend
	if f.backend != nil {
		out = append(out, f.backend)
	}
	for _, u := range f.px.UseBackends {
		if u.Format != nil {
			return e.backends // any, by name
		}
		if b := e.Backend(u.Name); b != nil {
			out = append(out, b)
		}
	}
	return out
}

func newHTTPRules(e *Engine, f *Frontend, routes *routeCache) *httpRules {
	r := &httpRules{fe: f.px, byName: map[string]*Backend{}, static: map[*haproxycfg.UseBackend]*Backend{}, routes: routes}
	for _, b := range e.backends {
		r.byName[b.Name()] = b
	}
	for i := range f.px.UseBackends {
		u := &f.px.UseBackends[i]
		if u.Format == nil {
			r.static[u] = r.byName[u.Name]
		}
	}
	return r
}

// ruleRun is one request's evaluation state.
type ruleRun struct {
	txn sample.Txn
	req sample.Message
	res sample.Message
	be  *Backend
	// srcSet: set-src replaced the client address fetches and forwardfor see.
	srcSet bool
	// dstSet: set-dst replaced the address the client reached, which
	// fetches, originalto and servers without a port see.
	dstSet bool
	// head: the client asked with HEAD (set-method does not change
	// what it expects back).
	head   bool
	reason string   // the response's reason phrase (set-status)
	hints  []header // early-hint fields not sent yet
	c      *h1Conn
	e      *Engine
	denied int // the status of the page replacing a denied response
	// denyRule: an http-response deny (not a return or redirect)
	// replaced the response (dresp).
	denyRule bool
	// fe and log: the frontend whose capture slots capture rules fill,
	// in the stream's log fields.
	fe  *haproxycfg.Proxy
	log *accesslog.Session
	// localReply: that page is an http-response redirect or return
	// (logged L, where a deny is P).
	localReply bool
	// resp is the server's response while the response rules run on
	// it (http-response wait-for-body reads its body ahead); nil on a 101.
	resp *http.Response
	// bodyTimeout: wait-for-body's time passed with the body incomplete.
	bodyTimeout bool

	// Room for the header lists of a request of common size (a ruleRun
	// is one request's): no allocation per list.
	reqRoom [12]sample.Header
	resRoom [12]sample.Header
	outRoom [12]header
	pxRoom  [2]*haproxycfg.Proxy
}

// headerRoom is room[:0] when n fields fit in it, else a new list.
func headerRoom[T any](room []T, n int) []T {
	if n <= len(room) {
		return room[:0]
	}
	return make([]T, 0, n)
}

// verdict is how a rule set ended.
type verdict int

const (
	vContinue verdict = iota // no final rule matched, or allow
	vReply                   // a reply was sent (deny, redirect, return, auth, tarpit)
)

// requestRules runs the request side for one request and picks the
// backend. done means a reply was sent and logged fields are set; keep
// then says whether the connection goes on.
func (h *h1Frontend) requestRules(c *h1Conn, req *httpRequest, body *bodyReader, s *accesslog.Session, keep bool) (rr *ruleRun, be *Backend, done, keepOut bool) {
	hr := h.rules
	rr = &ruleRun{head: req.method == http.MethodHead}
	rr.req = sample.Message{Method: req.method, URI: req.uri, Version: req.version}
	rr.req.Headers = headerRoom(rr.reqRoom[:], len(req.headers)+4)
	for _, hd := range req.headers {
		if hd.name == "connection" && hd.value == "" {
			continue
		}
		rr.req.Headers = append(rr.req.Headers, sample.Header{Name: hd.name, Value: hd.value})
	}
	rr.req.Body = body.buffered // option http-buffer-request
	rr.txn = sample.Txn{Src: s.Client, Dst: s.Frontend, FcSrc: c.fcSrc, FcDst: c.fcDst, Frontend: h.f.Name(), Req: &rr.req, Env: envFor(h.e, c.nc), Stick: c.stk, NotFirst: req.notFirst, Captures: s,
		SoName: h.e.soName(h.f, c.nc), ProxyTLV: ppTLVOf(c.nc)}
	rr.c, rr.e = c, h.e
	rr.fe, rr.log = h.f.px, s
	c.ruleTxn = &rr.txn
	if h.f.px.Logging.UniqueID != nil {
		run := rr // not the result variable: the closure would move it to the heap
		rr.txn.UniqueID = func() string { return h.makeUniqueID(&run.txn, s) }
	}
	rr.txn.Vars = h.e.proc.load(c.sessVars)
	rr.txn.Stream, rr.txn.Keeper = true, rr
	if c.reqVars != nil {
		if rr.txn.Vars == nil {
			rr.txn.Vars = map[string]sample.Value{}
		}
		for k, v := range c.reqVars {
			rr.txn.Vars[k] = v
		}
		c.reqVars = nil
	}
	if c.reqLastRule.File != "" {
		lastRule(&rr.txn, c.reqLastRule)
		c.reqLastRule = haproxycfg.Pos{}
	}
	t := &rr.txn
	fe := hr.fe
	// A monitor-uri starting with '/' matches the request's path (an
	// absolute-form target's too), any other the whole target.
	if uri := fe.Rules.MonitorURI; uri != "" && (req.uri == uri || uri[0] == '/' && pathOf(req.uri) == uri) {
		code := http.StatusOK
		for _, cnd := range fe.Rules.MonitorFail {
			if cnd.Eval(t) {
				code = http.StatusServiceUnavailable
				break
			}
		}
		s.TermCause, s.TermState = 'L', stateRequest
		s.Status = code
		c.nolog = true // haproxy does not log monitor requests
		h.f.ctr.intercepted.Add(1)
		return rr, nil, true, h.statusReply(c, rr, s, code, keep && drain(body))
	}
	if v, k := h.runRequestSet(c, rr, fe, body, s, keep); v == vReply {
		return rr, nil, true, k
	}
	if localService(fe, req.method, req.uri) != "" {
		// The frontend's stats page takes the request before any
		// backend is chosen: no backend rules run, as in haproxy.
		return rr, nil, false, keep
	}
	be = h.f.backend
	for i := range fe.UseBackends {
		u := &fe.UseBackends[i]
		if !u.Cond.Eval(t) {
			continue
		}
		if u.Format == nil {
			be = hr.static[u]
			break
		}
		name := string(u.Format.Format.Append(nil, t, nil))
		if b := hr.byName[name]; b != nil {
			be = b
		}
		break
	}
	if be != nil && localService(fe, req.method, req.uri) == "" {
		// The switching rules give the stream its backend before the
		// backend's rules run; the stats page is served before them.
		c.assignBackend(be, h.e.now())
	}
	// The backend is the stream's from here: its own replies (return,
	// deny...) go through its http-after-response rules and errorfiles
	// too, as haproxy's s->be once the switching rules chose it.
	rr.be = be
	if be != nil && be.px != fe {
		t.Backend = be.Name()
		// The backend's own replies are logged on it.
		s.BackendName = be.Name()
		if v, k := h.runRequestSet(c, rr, be.px, body, s, keep); v == vReply {
			return rr, nil, true, k
		}
	} else if be != nil {
		t.Backend = be.Name()
	}
	rr.writeBack(req)
	if s.Txn != nil && s.Txn != t {
		// The log's view of the stream (settimeout.go).
		s.Txn.ServerTimeout, s.Txn.TunnelTimeout = t.ServerTimeout, t.TunnelTimeout
	}
	if rr.srcSet {
		s.Client = rr.txn.Src
	}
	if rr.dstSet {
		s.Frontend = rr.txn.Dst
	}
	return rr, be, false, keep
}

// runRequestSet runs one proxy's tcp-request content, http-request and
// redirect rules.
func (h *h1Frontend) runRequestSet(c *h1Conn, rr *ruleRun, px *haproxycfg.Proxy, body *bodyReader, s *accesslog.Session, keep bool) (verdict, bool) {
	t := &rr.txn
	if px != h.f.px && len(px.Rules.TCPContent) > 0 && rr.backendContent(px) == haproxycfg.ActReject {
		// A backend's content rules run once it is chosen; a reject
		// closes the connection without a reply.
		h.f.ctr.deniedReq.Add(1)
		s.Status, s.TermCause, s.TermState = -1, 'P', stateRequest
		return vReply, false
	}
	defer rr.sendHints(c)
	for si, set := range [][]*haproxycfg.Rule{px.Rules.HTTPRequest, px.Rules.Redirects} {
		if si == 1 && px.Options.RestrictHdrNames != "" && restrictHeaderNames(&rr.req, px.Options.RestrictHdrNames == "reject") {
			// A header name outside [0-9A-Za-z-] under `option
			// http-restrict-req-hdr-names reject`: denied, as haproxy
			// checks once the proxy's http-request rules ran.
			rr.sendHints(c)
			s.Status, s.TermCause, s.TermState = http.StatusForbidden, 'P', stateRequest
			return vReply, h.statusReply(c, rr, s, http.StatusForbidden, h.replyKeep(c, body, keep))
		}
	rules:
		for _, r := range set {
			if r.Action != haproxycfg.ActEarlyHint {
				rr.sendHints(c)
			}
			if !r.Cond.Eval(t) {
				continue
			}
			switch r.Action {
			case haproxycfg.ActEarlyHint:
				if rr.req.Version >= "HTTP/1.1" {
					rr.hints = append(rr.hints, header{strings.ToLower(r.Name), rr.text(r.Value)})
				}
			case haproxycfg.ActAllow:
				lastRule(t, r.Pos)
				break rules
			case haproxycfg.ActDeny:
				lastRule(t, r.Pos)
				code := r.Status
				if code == 0 {
					code = http.StatusForbidden
				}
				s.Status, s.TermCause, s.TermState = code, 'P', stateRequest
				c.deniedRequest(h.f)
				if r.Return != nil && (r.Return.ErrorFile != nil || r.Return.ProxyErrors) {
					return vReply, h.fileReply(c, rr, s, r.Return, h.replyKeep(c, body, keep))
				}
				if r.Return != nil {
					return vReply, h.localReply(c, rr, s, rr.returnPage(r.Return), h.replyKeep(c, body, keep))
				}
				return vReply, h.statusReply(c, rr, s, code, h.replyKeep(c, body, keep))
			case haproxycfg.ActTarpit:
				lastRule(t, r.Pos)
				c.deniedRequest(h.f)
				return vReply, h.tarpit(c, rr, s, r, px, body, keep)
			case haproxycfg.ActReject, haproxycfg.ActSilentDrop:
				lastRule(t, r.Pos)
				// No reply and no request time logged. reject closes
				// the connection after reading what the client sent, so
				// the client sees a FIN (haproxy 2.6.12, measured);
				// silent-drop sends nothing at all (silentdrop.go).
				s.Status, s.TermCause, s.TermState = -1, 'P', stateRequest
				s.TR = -1
				if r.Action == haproxycfg.ActReject {
					c.rejectedRequest(h.f)
				}
				raw := tcpConnOf(c.nc)
				if r.Action == haproxycfg.ActSilentDrop {
					silence(raw)
					if sc, ok := c.nc.(*h2StreamConn); ok {
						silence(tcpConnOf(sc.parent))
					}
					killConn(raw)
				} else if _, h2 := c.nc.(*h2StreamConn); !h2 {
					drainSocket(c.nc)
				} else {
					killConn(raw)
				}
				if sc, ok := c.nc.(*h2StreamConn); ok {
					// On HTTP/2 the whole connection goes, as in haproxy.
					killConn(tcpConnOf(sc.parent))
					sc.parent.Close()
				}
				return vReply, false
			case haproxycfg.ActWaitForBody:
				if !h.waitBody(c, rr, body, s, r.Wait, r.AtLeast) {
					return vReply, false
				}
			case haproxycfg.ActAuth:
				defer lastRule(t, r.Pos) // after the reply, as return
				realm := r.Realm
				if realm == "" {
					realm = px.Name
				}
				p := statusPage(http.StatusUnauthorized)
				p.headers = append(p.headers[:len(p.headers):len(p.headers)], header{"www-authenticate", `Basic realm="` + realm + `"`})
				s.Status, s.TermCause, s.TermState = http.StatusUnauthorized, 'L', stateRequest
				c.intercepted(h.f)
				return vReply, h.localReply(c, rr, s, p, h.replyKeep(c, body, keep))
			case haproxycfg.ActRedirect:
				p, ok := rr.redirectPage(r.Redirect)
				if !ok {
					continue
				}
				// Recorded once the reply ran the http-after-response rules
				// (they do not see it in haproxy), as for return.
				defer lastRule(t, r.Pos)
				s.Status, s.TermCause, s.TermState = p.code, 'L', stateRequest
				c.intercepted(h.f)
				if body.complete() {
					return vReply, h.localReply(c, rr, s, p, keep)
				}
				// haproxy answers before the body and closes, saying so.
				h.reply(c, rr, s, p, true, false, true)
				return vReply, false
			case haproxycfg.ActReturn:
				defer lastRule(t, r.Pos)
				c.intercepted(h.f)
				if r.Return.ErrorFile != nil || r.Return.ProxyErrors {
					s.Status, s.TermCause, s.TermState = r.Return.Status, 'L', stateRequest
					return vReply, h.fileReply(c, rr, s, r.Return, h.replyKeep(c, body, keep))
				}
				p := rr.returnPage(r.Return)
				s.Status, s.TermCause, s.TermState = p.code, 'L', stateRequest
				return vReply, h.localReply(c, rr, s, p, h.replyKeep(c, body, keep))
			case haproxycfg.ActTrackSC, haproxycfg.ActIncGPC, haproxycfg.ActSetGPT:
				h.e.runStick(r.Action, r.Stick, px.Name, t, true, 0)
			case haproxycfg.ActSetMark, haproxycfg.ActSetTOS:
				rr.setSockOpt(r)
			case haproxycfg.ActNormalizeURI:
				uri, ok := normalizeURI(rr.req.URI, r.Normalizer)
				if !ok {
					lastRule(t, r.Pos)
					// A strict normalizer's malformed input: a bad
					// request, as haproxy's ACT_RET_INV.
					s.Status, s.TermCause, s.TermState = http.StatusBadRequest, 'P', stateRequest
					return vReply, h.statusReply(c, rr, s, http.StatusBadRequest, false)
				}
				rr.req.URI = uri
			default:
				rr.apply(r, &rr.req, true)
			}
		}
	}
	return vContinue, keep
}

// backendContent runs a backend's tcp-request content rules on the
// request: their variables are the request's.
func (rr *ruleRun) backendContent(px *haproxycfg.Proxy) haproxycfg.Action {
	src, dst := rr.txn.Src, rr.txn.Dst
	act := tcpVerdict(px.Rules.TCPContent, &rr.txn)
	if rr.txn.Src != src {
		rr.srcSet = true
	}
	if rr.txn.Dst != dst {
		rr.dstSet = true
	}
	if rr.c != nil {
		keepSessVars(&rr.txn, &rr.c.sessVars)
	}
	return act
}

// tarpit holds the request `timeout tarpit` (else `timeout connect`),
// then answers 500 (or deny_status), logged PT.
func (h *h1Frontend) tarpit(c *h1Conn, rr *ruleRun, s *accesslog.Session, r *haproxycfg.Rule, px *haproxycfg.Proxy, body *bodyReader, keep bool) bool {
	d := firstSet(px.Timeouts.Tarpit, px.Timeouts.Connect)
	start := h.e.now()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-h.e.killed.Done():
			t.Stop()
		}
	}
	s.Tw = h.e.now().Sub(start)
	s.TR = -1
	code := r.Status
	if code == 0 {
		code = http.StatusInternalServerError
	}
	s.Status, s.TermCause, s.TermState = code, 'P', 'T'
	if r.Return != nil {
		return h.localReply(c, rr, s, rr.returnPage(r.Return), keep && drain(body))
	}
	return h.statusReply(c, rr, s, code, keep && drain(body))
}

// localReply sends one of the proxy's own replies after the
// http-after-response rules; it returns whether the connection goes on.
func (h *h1Frontend) localReply(c *h1Conn, rr *ruleRun, s *accesslog.Session, p errorPage, keep bool) bool {
	return h.reply(c, rr, s, p, keep, false, false)
}

// replyKeep is whether the connection may go on after a rule's reply
// (deny, return, auth): haproxy answers at once, keeping the connection
// when the request's whole body had arrived, else closing it after the
// reply ("connection: close") without waiting for the body (measured on
// haproxy 2.6.12: a POST whose body is late gets its return at once).
// Under `Expect: 100-continue` the client waits for the interim response
// before sending the body: that body is read as before.
func (h *h1Frontend) replyKeep(c *h1Conn, body *bodyReader, keep bool) bool {
	if _, h2 := c.nc.(*h2StreamConn); h2 || body.first != nil {
		return keep && drain(body)
	}
	if keep && !body.complete() {
		// What already arrived: a read that finds nothing ends at once
		// (the connection's own per-read client timeout set aside).
		idle := c.cnt.idle.Swap(0)
		_ = c.nc.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := io.Copy(io.Discard, io.LimitReader(body, 1<<20))
		_ = c.nc.SetReadDeadline(time.Time{})
		c.cnt.idle.Store(idle)
		if err == nil && body.complete() {
			return true
		}
	}
	if !body.complete() {
		// Read what arrived so that the close is a FIN, not a reset
		// that could take the reply with it.
		drainSocket(c.nc)
		return false
	}
	return keep
}

// statusReply is localReply for a status page an errorfile may replace.
func (h *h1Frontend) statusReply(c *h1Conn, rr *ruleRun, s *accesslog.Session, code int, keep bool) bool {
	return h.reply(c, rr, s, statusPage(code), keep, true, false)
}

// reply sends p; closing adds haproxy's explicit "connection: close"
// field, after the http-after-response rules ran.
func (h *h1Frontend) reply(c *h1Conn, rr *ruleRun, s *accesslog.Session, p errorPage, keep, errorFiles, closing bool) bool {
	if r := h.errorFileFor(rr, p.code); r != nil && errorFiles {
		if r.ret != nil {
			p = h.replyPage(c, rr, s, r.ret)
		}
		if r.msg != nil {
			stickAnswering(c.stk)
			return h.sendErrorFile(c, s, r.msg, keep)
		}
	}
	if rr != nil {
		p = rr.afterPage(h, p)
		s.Status = p.code
	}
	if closing {
		p.headers = append(p.headers[:len(p.headers):len(p.headers)], header{"connection", "close"})
	}
	s.BytesToClient = p.htxSize() + c.interimBytes() // early hints count too
	if c.req != nil && c.req.method == http.MethodHead {
		s.BytesToClient -= int64(len(p.body))
	}
	stickAnswering(c.stk)
	if err := c.writePage(p, keep); err != nil {
		return false
	}
	return keep
}

// sendErrorFile sends an errorfile as the reply.
func (h *h1Frontend) sendErrorFile(c *h1Conn, s *accesslog.Session, m *haproxycfg.ErrorMessage, keep bool) bool {
	n, keep, err := c.writeErrorFile(m, keep)
	s.BytesToClient = n + c.interimBytes()
	return err == nil && keep
}

// fileReply sends a reply naming error files: `errorfile FILE` or
// `errorfiles NAME` (ErrorFile), or `default-errorfiles` (the proxy's
// reply for the status).
func (h *h1Frontend) fileReply(c *h1Conn, rr *ruleRun, s *accesslog.Session, ret *haproxycfg.Return, keep bool) bool {
	if ret.ErrorFile != nil && ret.ErrorFile.Message != nil {
		return h.sendErrorFile(c, s, ret.ErrorFile.Message, keep)
	}
	return h.statusReply(c, rr, s, ret.Status, keep)
}

// errorFileFor is the errorfile for a status, the chosen backend's first.
func (h *h1Frontend) errorFileFor(rr *ruleRun, code int) *errReply {
	if rr != nil && rr.be != nil {
		if m := rr.be.errs[code]; m != nil {
			return m
		}
	}
	return h.errorFile(code)
}

// statusPage is haproxy's built-in reply for a status (its
// http_err_msgs), errorfiles applying.
func statusPage(code int) errorPage {
	t, ok := statusTexts[code]
	if !ok {
		t = statusTexts[http.StatusInternalServerError]
	}
	return newPage(code, t.reason, t.text, false)
}

var statusTexts = map[int]struct{ reason, text string }{
	200: {"OK", "Service ready."},
	400: {"Bad request", "Your browser sent an invalid request."},
	401: {"Unauthorized", "You need a valid user and password to access this content."},
	403: {"Forbidden", "Request forbidden by administrative rules."},
	404: {"Not Found", "The resource could not be found."},
	405: {"Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"},
	407: {"Unauthorized", "You need a valid user and password to access this content."},
	408: {"Request Time-out", "Your browser didn't send a complete request in time."},
	410: {"Gone", "The resource is no longer available and will not be available again."},
	413: {"Payload Too Large", "The request entity exceeds the maximum allowed."},
	421: {"Misdirected Request", "Request sent to a non-authoritative server."},
	425: {"Too Early", "Your browser sent early data."},
	429: {"Too Many Requests", "You have sent too many requests in a given amount of time."},
	500: {"Internal Server Error", "An internal server error occurred."},
	501: {"Not Implemented", ".The server does not support the functionality required to fulfill the request."},
	502: {"Bad Gateway", "The server returned an invalid or incomplete response."},
	503: {"Service Unavailable", "No server is available to handle this request."},
	504: {"Gateway Time-out", "The server didn't respond in time."},
}

// reasonPhrase is the reason haproxy 2.6 writes for a status it sets
// itself (return, set-status without a reason): its own table, which
// differs from Go's (302 "Moved Temporarily", 502 "Bad Gateway or Proxy
// Error", ...), and a class name for the other codes.
func reasonPhrase(code int) string {
	if r, ok := haproxyReasons[code]; ok {
		return r
	}
	switch code / 100 {
	case 1:
		return "Informational"
	case 2:
		return "Success"
	case 3:
		return "Redirection"
	case 4:
		return "Client Error"
	case 5:
		return "Server Error"
	}
	return "Other"
}

var haproxyReasons = map[int]string{
	100: "Continue", 101: "Switching Protocols", 102: "Processing",
	200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
	204: "No Content", 205: "Reset Content", 206: "Partial Content", 207: "Multi-Status",
	210: "Content Different", 226: "IM Used",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily", 303: "See Other",
	304: "Not Modified", 305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
	310: "Too many Redirects",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
	404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
	407: "Proxy Authentication Required", 408: "Request Time-out", 409: "Conflict", 410: "Gone",
	411: "Length Required", 412: "Precondition Failed", 413: "Request Entity Too Large",
	414: "Request-URI Too Long", 415: "Unsupported Media Type", 416: "Requested range unsatisfiable",
	417: "Expectation failed", 418: "I'm a teapot", 421: "Misdirected Request",
	422: "Unprocessable Content", 423: "Locked", 424: "Method failure", 425: "Too Early",
	426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
	431: "Request Header Fields Too Large", 449: "Retry With",
	450: "Blocked by Windows Parental Controls", 451: "Unavailable For Legal Reasons",
	456: "Unrecoverable Error", 499: "client has closed connection",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway or Proxy Error",
	503: "Service Unavailable", 504: "Gateway Time-out", 505: "HTTP Version not supported",
	506: "Variant also negotiate", 507: "Insufficient storage", 508: "Loop detected",
	509: "Bandwidth Limit Exceeded", 510: "Not extended", 511: "Network authentication required",
	520: "Web server is returning an unknown error",
}

// text evaluates a log-format value.
func (rr *ruleRun) text(t haproxycfg.Text) string {
	if t.Format == nil {
		return t.Raw
	}
	return string(t.Format.Append(nil, &rr.txn, nil))
}

// redirectPage builds a redirect reply; false when it does not apply (a
// scheme redirect without a Host).
func (rr *ruleRun) redirectPage(rd *haproxycfg.Redirect) (errorPage, bool) {
	path, query := splitQuery(pathOf(rr.req.URI))
	if rd.Type != haproxycfg.RedirectLocation {
		if rd.DropQuery {
			query = ""
		}
		if rd.AppendSlash && !strings.HasSuffix(path, "/") {
			path += "/"
		}
	}
	var loc string
	switch rd.Type {
	case haproxycfg.RedirectLocation:
		loc = rr.text(rd.Value)
		if loc == "" && rd.IgnoreEmpty && rd.Value.Format != nil {
			return errorPage{}, false
		}
	case haproxycfg.RedirectPrefix:
		pfx := rr.text(rd.Value)
		if pfx == "/" {
			pfx = ""
		}
		loc = pfx + path + query
	case haproxycfg.RedirectScheme:
		host, _ := rr.header(&rr.req, "host")
		loc = rr.text(rd.Value) + "://" + host + path + query
	}
	p := errorPage{code: rd.Code, reason: redirectReason(rd.Code)}
	p.headers = []header{{"content-length", "0"}, {"location", loc}}
	if rd.Code == 302 || rd.Code == 303 || rd.Code == 307 {
		p.headers = append(p.headers, header{"cache-control", "no-cache"})
	}
	if rd.SetCookie != "" {
		p.headers = append(p.headers, header{"set-cookie", rd.SetCookie + "; path=/;"})
	}
	if rd.ClearCookie != "" {
		p.headers = append(p.headers, header{"set-cookie", rd.ClearCookie + "; path=/; Max-Age=0;"})
	}
	return p, true
}

func redirectReason(code int) string {
	switch code {
	case 301:
		return "Moved Permanently"
	case 303:
		return "See Other"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	}
	return "Found"
}

// returnPage builds a `return` reply: its hdr fields, content-length,
// content-type, as haproxy writes them.
func (rr *ruleRun) returnPage(ret *haproxycfg.Return) errorPage {
	p := errorPage{code: ret.Status, reason: reasonPhrase(ret.Status)}
	body := ret.Body
	if ret.BodyFormat != nil {
		body = []byte(rr.text(*ret.BodyFormat))
	}
	for _, hd := range ret.Headers {
		// A field whose value formats to nothing is left out, as
		// haproxy's http_reply_to_htx does.
		if v := rr.text(hd.Value); v != "" {
			p.headers = append(p.headers, header{strings.ToLower(hd.Name), v})
		}
	}
	if ret.Status != 204 && ret.Status != 304 {
		p.headers = append(p.headers, header{"content-length", strconv.Itoa(len(body))})
	} else {
		// haproxy adds "content-length: 0" to these too, and counts it
		// in %B, but its HTTP/1 layer does not send it (measured).
		p.htxExtra = len("content-length") + len("0")
	}
	if ret.ContentType != "" {
		p.headers = append(p.headers, header{"content-type", ret.ContentType})
	}
	p.body = string(body)
	return p
}

// responseReturnPage is returnPage for an http-response return or deny:
// haproxy builds the reply in place of the server's response, which its
// fetches then no longer see (a `status` or `res.hdr` in the body's
// lf-string is empty, measured on haproxy 2.6.12).
func (rr *ruleRun) responseReturnPage(ret *haproxycfg.Return) errorPage {
	res := rr.txn.Res
	rr.txn.Res = nil
	p := rr.returnPage(ret)
	rr.txn.Res = res
	return p
}

// pathOf is the path and query of a URI: an absolute URI loses its
// scheme and authority.
func pathOf(uri string) string {
	if _, _, rest, ok := splitAbsolute(uri); ok {
		if rest == "" {
			return "/"
		}
		return rest
	}
	return uri
}

// splitQuery splits "/p?q" into "/p" and "?q".
func splitQuery(pq string) (string, string) {
	if i := strings.IndexByte(pq, '?'); i >= 0 {
		return pq[:i], pq[i:]
	}
	return pq, ""
}

// header is the first value of a field.
func (rr *ruleRun) header(m *sample.Message, name string) (string, bool) {
	for _, hd := range m.Headers {
		if strings.EqualFold(hd.Name, name) {
			return hd.Value, true
		}
	}
	return "", false
}

// apply runs a rule that changes the message (or the transaction).
func (rr *ruleRun) apply(r *haproxycfg.Rule, m *sample.Message, isReq bool) {
	switch r.Action {
	case haproxycfg.ActSetMap, haproxycfg.ActDelMap, haproxycfg.ActAddACL, haproxycfg.ActDelACL:
		if r.MapRef == nil {
			return // no ACL or map loads the file: haproxy finds no reference
		}
		key := rr.text(*r.Key)
		switch r.Action {
		case haproxycfg.ActSetMap:
			r.MapRef.SetOrAdd(key, rr.text(r.Value))
		case haproxycfg.ActAddACL:
			r.MapRef.AddIfAbsent(key)
		default:
			r.MapRef.Delete(key)
		}
	case haproxycfg.ActSetLogLevel:
		rr.c.logLevel = int8(r.LogLevel)
	case haproxycfg.ActSetTimeout:
		applySetTimeout(r, &rr.txn)
	case haproxycfg.ActCapture:
		// The sample as a string, or no capture when it has none.
		if v, ok := r.Expr.Eval(&rr.txn); ok {
			if sv, ok := sample.Cast(v, sample.TypeStr); ok {
				RuleCapture(rr.fe, rr.log, r.CaptureID, sv.Str, !isReq)
			}
		}
	case haproxycfg.ActSetHeader:
		v := rr.text(r.Value)
		m.Headers = delHeaders(m.Headers, func(n string) bool { return strings.EqualFold(n, r.Name) })
		m.Headers = append(m.Headers, sample.Header{Name: r.Name, Value: v})
	case haproxycfg.ActAddHeader:
		m.Headers = append(m.Headers, sample.Header{Name: r.Name, Value: rr.text(r.Value)})
	case haproxycfg.ActDelHeader:
		m.Headers = delHeaders(m.Headers, func(n string) bool { return nameMatches(r, n) })
	case haproxycfg.ActReplaceHeader, haproxycfg.ActReplaceValue:
		repl := rr.text(r.Value)
		for i := range m.Headers {
			hd := &m.Headers[i]
			if !strings.EqualFold(hd.Name, r.Name) {
				continue
			}
			if r.Action == haproxycfg.ActReplaceHeader {
				hd.Value = replaceRegex(r, hd.Value, repl)
				continue
			}
			// A value that matches is replaced without the blanks
			// before it, as haproxy writes it; the others stay as is.
			parts := strings.Split(hd.Value, ",")
			for j, part := range parts {
				v := strings.Trim(part, " \t")
				if r.Regex.MatchString(v) {
					parts[j] = replaceRegex(r, v, repl)
				}
			}
			hd.Value = strings.Join(parts, ",")
		}
	case haproxycfg.ActSetPath, haproxycfg.ActSetPathQ, haproxycfg.ActSetQuery:
		m.URI = rewriteURI(m.URI, r.Action, rr.text(r.Value))
	case haproxycfg.ActSetURI:
		m.URI = rr.text(r.Value)
	case haproxycfg.ActReplaceURI:
		if r.Regex.MatchString(m.URI) {
			m.URI = replaceRegex(r, m.URI, rr.text(r.Value))
		}
	case haproxycfg.ActReplacePath, haproxycfg.ActReplacePathQ:
		prefix, pq := "", m.URI
		if scheme, auth, rest, ok := splitAbsolute(m.URI); ok {
			prefix, pq = scheme+"://"+auth, rest
		}
		subject, query := pq, ""
		if r.Action == haproxycfg.ActReplacePath {
			subject, query = splitQuery(pq)
		}
		if r.Regex.MatchString(subject) {
			m.URI = prefix + replaceRegex(r, subject, rr.text(r.Value)) + query
		}
	case haproxycfg.ActSetMethod:
		m.Method = rr.text(r.Value)
	case haproxycfg.ActSetStatus:
		m.Status, rr.reason = r.Status, r.Reason
		if r.Reason == "" {
			rr.reason = reasonPhrase(r.Status)
		}
	case haproxycfg.ActSetVar:
		if v, ok := r.Expr.Eval(&rr.txn); ok {
			rr.setVar(r.Name, v, r.VarCond)
		}
	case haproxycfg.ActSetVarFmt:
		rr.setVar(r.Name, sample.Value{Type: sample.TypeStr, Str: rr.text(r.Value)}, r.VarCond)
	case haproxycfg.ActUnsetVar:
		delete(rr.txn.Vars, r.Name)
		rr.keepVar(r.Name, nil)
	case haproxycfg.ActSetSrc, haproxycfg.ActSetDst, haproxycfg.ActSetSrcPort, haproxycfg.ActSetDstPort:
		if setAddr(r, &rr.txn) {
			rr.markAddrSet(r.Action)
		}
	}
}

// isAddrAction tells the actions that change the client's addresses.
func isAddrAction(a haproxycfg.Action) bool {
	switch a {
	case haproxycfg.ActSetSrc, haproxycfg.ActSetDst, haproxycfg.ActSetSrcPort, haproxycfg.ActSetDstPort:
		return true
	}
	return false
}

// setAddr runs a set-src, set-dst, set-src-port or set-dst-port rule on
// t's addresses, as haproxy's tcp_action_req_set_*: the address keeps its
// port, a port goes into the address (made 0.0.0.0 first when it has
// none, a UNIX socket). It reports whether the rule set one.
func setAddr(r *haproxycfg.Rule, t *sample.Txn) bool {
	ap := &t.Src
	if r.Action == haproxycfg.ActSetDst || r.Action == haproxycfg.ActSetDstPort {
		ap = &t.Dst
	}
	v, ok := r.Expr.Eval(t)
	if !ok {
		return false
	}
	if r.Action == haproxycfg.ActSetSrcPort || r.Action == haproxycfg.ActSetDstPort {
		if v, ok = sample.Cast(v, sample.TypeInt); !ok {
			return false
		}
		a := ap.Addr()
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		*ap = netip.AddrPortFrom(a, uint16(v.Int))
		return true
	}
	var a netip.Addr
	switch v.Type {
	case sample.TypeAddr:
		a = v.Addr
	case sample.TypeStr, sample.TypeBin:
		a, _ = netip.ParseAddr(v.Str)
	case sample.TypeInt:
		a = netip.AddrFrom4([4]byte{byte(v.Int >> 24), byte(v.Int >> 16), byte(v.Int >> 8), byte(v.Int)})
	}
	if !a.IsValid() {
		return false
	}
	*ap = netip.AddrPortFrom(a, ap.Port())
	return true
}

// markAddrSet notes that a rule replaced the client's address (set-src,
// set-src-port) or the one it reached (set-dst, set-dst-port): the
// stream then uses them in the place of the connection's.
func (rr *ruleRun) markAddrSet(a haproxycfg.Action) {
	if a == haproxycfg.ActSetDst || a == haproxycfg.ActSetDstPort {
		rr.dstSet = true
	} else {
		rr.srcSet = true
	}
}

func delHeaders(hs []sample.Header, match func(string) bool) []sample.Header {
	out := hs[:0]
	for _, hd := range hs {
		if !match(hd.Name) {
			out = append(out, hd)
		}
	}
	return out
}

func nameMatches(r *haproxycfg.Rule, n string) bool {
	ln, lr := strings.ToLower(n), strings.ToLower(r.Name)
	switch r.Match {
	case haproxycfg.MatchBeg:
		return strings.HasPrefix(ln, lr)
	case haproxycfg.MatchEnd:
		return strings.HasSuffix(ln, lr)
	case haproxycfg.MatchSub:
		return strings.Contains(ln, lr)
	case haproxycfg.MatchReg:
		return r.NameRe.MatchString(n)
	}
	return ln == lr
}

// replaceRegex is haproxy's replace-header on one value: when the regex
// matches, the whole value becomes the replacement, \N standing for the
// Nth group of the match.
func replaceRegex(r *haproxycfg.Rule, v, repl string) string {
	m := r.Regex.FindStringSubmatchIndex(v)
	if m == nil {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c == '\\' && i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
			g := int(repl[i+1] - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(v[m[2*g]:m[2*g+1]])
			}
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// rewriteURI replaces the path, the path and query, or the query of a
// URI, keeping an absolute URI's scheme and authority.
func rewriteURI(uri string, act haproxycfg.Action, v string) string {
	prefix, pq := "", uri
	if scheme, auth, rest, ok := splitAbsolute(uri); ok {
		prefix, pq = scheme+"://"+auth, rest
	}
	path, query := splitQuery(pq)
	switch act {
	case haproxycfg.ActSetPath:
		path = v
	case haproxycfg.ActSetPathQ:
		path, query = v, ""
	case haproxycfg.ActSetQuery:
		query = ""
		if v != "" {
			query = "?" + v
		}
	}
	return prefix + path + query
}

// writeBack gives the rewritten request head to the request the server
// receives: names lower-cased, as haproxy's HTTP/1 layer writes them.
func (rr *ruleRun) writeBack(req *httpRequest) {
	req.method, req.uri = rr.req.Method, rr.req.URI
	hs := req.headers[:0]
	for _, hd := range rr.req.Headers {
		name := lowerFieldName(hd.Name)
		if name == "host" {
			req.host = hd.Value
		}
		hs = append(hs, header{name, hd.Value})
	}
	req.headers = hs
}

// lowerNames are field names lower-cased by lowerFieldName: the names
// rules add (set-header, add-header) are the config's, written as the
// config spells them, the same on every request.
var (
	lowerNames     sync.Map // string -> string
	lowerNamesSize atomic.Int32
)

// lowerFieldName is strings.ToLower(name), which allocates for a name
// with upper case letters; those of the config's rules are kept (up to
// 1024 names: beyond, each is lower-cased anew).
func lowerFieldName(name string) string {
	upper := false
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			upper = true
			break
		}
	}
	if !upper {
		return name
	}
	if l, ok := lowerNames.Load(name); ok {
		return l.(string)
	}
	l := strings.ToLower(name)
	if lowerNamesSize.Add(1) <= 1024 {
		lowerNames.Store(name, l)
	}
	return l
}

// responseRules runs the backend's then the frontend's http-response
// rules, then the after-response ones, on a server's response. It
// returns the status, reason and fields to send; deny replaces the
// response with a 502 page (denied is then the page).
func (rr *ruleRun) responseRules(h *h1Frontend, code int, reason string, fields []header) (int, string, []header, *errorPage) {
	rr.res = sample.Message{Status: code, Version: "HTTP/1.1"}
	rr.reason = reason
	rr.res.Headers = headerRoom(rr.resRoom[:], len(fields)+4)
	te := -1
	for i, f := range fields {
		if f.name == "transfer-encoding" {
			te = i
			continue
		}
		rr.res.Headers = append(rr.res.Headers, sample.Header{Name: f.name, Value: f.value})
	}
	rr.txn.Res, rr.txn.InResponse = &rr.res, true
	// The request went to the server: haproxy's response rules no
	// longer see its headers.
	rr.txn.ReqGone = true
	for _, px := range rr.proxies(h) {
	rules:
		for _, r := range px.Rules.HTTPResponse {
			if !r.Cond.Eval(&rr.txn) {
				continue
			}
			switch r.Action {
			case haproxycfg.ActAllow:
				lastRule(&rr.txn, r.Pos)
				break rules
			case haproxycfg.ActDeny:
				lastRule(&rr.txn, r.Pos)
				code := r.Status
				if code == 0 {
					code = http.StatusBadGateway
				}
				p := statusPage(code)
				if r.Return != nil {
					p = rr.responseReturnPage(r.Return)
				}
				p = rr.afterPage(h, p)
				rr.denyRule = true
				return 0, "", nil, &p
			case haproxycfg.ActReturn:
				p := rr.afterPage(h, rr.responseReturnPage(r.Return))
				lastRule(&rr.txn, r.Pos) // after: http-after-response does not see it
				rr.localReply = true
				return 0, "", nil, &p
			case haproxycfg.ActRedirect:
				p, ok := rr.redirectPage(r.Redirect)
				if !ok {
					continue
				}
				p = rr.afterPage(h, p)
				lastRule(&rr.txn, r.Pos) // after, as return
				rr.localReply = true
				return 0, "", nil, &p
			case haproxycfg.ActWaitForBody:
				if !rr.waitResponseBody(r.Wait, r.AtLeast) {
					p := rr.afterPage(h, page504)
					return 0, "", nil, &p
				}
			case haproxycfg.ActTrackSC, haproxycfg.ActIncGPC, haproxycfg.ActSetGPT:
				h.e.runStick(r.Action, r.Stick, px.Name, &rr.txn, true, rr.res.Status)
			case haproxycfg.ActSetMark, haproxycfg.ActSetTOS:
				rr.setSockOpt(r)
			default:
				rr.apply(r, &rr.res, false)
			}
		}
	}
	rr.after(h, &rr.res)
	out := headerRoom(rr.outRoom[:], len(rr.res.Headers)+1)
	for i, hd := range rr.res.Headers {
		if i == te {
			out = append(out, header{"transfer-encoding", ""})
		}
		out = append(out, header{strings.ToLower(hd.Name), hd.Value})
	}
	if te >= len(rr.res.Headers) {
		out = append(out, header{"transfer-encoding", ""})
	}
	return rr.res.Status, rr.reason, out, nil
}

// proxies are the proxies whose response rules apply, backend first.
func (rr *ruleRun) proxies(h *h1Frontend) []*haproxycfg.Proxy {
	if rr.be != nil && rr.be.px != h.f.px {
		rr.pxRoom = [2]*haproxycfg.Proxy{rr.be.px, h.f.px}
		return rr.pxRoom[:2]
	}
	rr.pxRoom[0] = h.f.px
	return rr.pxRoom[:1]
}

// after runs the http-after-response rules on a response message.
func (rr *ruleRun) after(h *h1Frontend, m *sample.Message) {
	// Gone for the proxy's own replies too: haproxy drops the request
	// when it answers in its place.
	rr.txn.Res, rr.txn.InResponse, rr.txn.ReqGone = m, true, true
	for _, px := range rr.proxies(h) {
	rules:
		for _, r := range px.Rules.HTTPAfterResponse {
			if !r.Cond.Eval(&rr.txn) {
				continue
			}
			if r.Action == haproxycfg.ActAllow {
				break rules
			}
			rr.apply(r, m, false)
		}
	}
}

// afterPage runs the http-after-response rules on one of the proxy's
// own replies.
func (rr *ruleRun) afterPage(h *h1Frontend, p errorPage) errorPage {
	has := false
	for _, px := range rr.proxies(h) {
		has = has || len(px.Rules.HTTPAfterResponse) > 0
	}
	if !has {
		return p
	}
	m := sample.Message{Status: p.code, Version: "HTTP/1.1"}
	for _, hd := range p.headers {
		m.Headers = append(m.Headers, sample.Header{Name: strings.ToLower(hd.name), Value: hd.value})
	}
	saved, savedReason := rr.res, rr.reason
	rr.res, rr.reason = m, p.reason
	rr.after(h, &rr.res)
	m = rr.res
	p.code, p.reason = m.Status, rr.reason
	rr.res, rr.reason = saved, savedReason
	p.headers = p.headers[:0:0]
	for _, hd := range m.Headers {
		p.headers = append(p.headers, header{strings.ToLower(hd.Name), hd.Value})
	}
	return p
}

// NbSrv, SrvIsUp, BeConn and FeConn answer the fetches about the running
// process (sample.Env).
func (e *Engine) NbSrv(backend string) int {
	b := e.Backend(backend)
	if b == nil {
		return -1
	}
	n := 0
	for _, s := range b.Servers() {
		if s.Usable() {
			n++
		}
	}
	return n
}

// SrvIsUp reports whether a server is UP.
func (e *Engine) SrvIsUp(backend, server string) bool {
	b := e.Backend(backend)
	if b == nil {
		return false
	}
	for _, s := range b.Servers() {
		if s.Name() == server {
			return s.Status() == StatusUp
		}
	}
	return false
}

// ServerCounters answers the srv_* fetches (sample.ServerInfo).
func (e *Engine) ServerCounters(backend, server string) (sample.ServerCounters, bool) {
	b := e.Backend(backend)
	if b == nil {
		return sample.ServerCounters{}, false
	}
	s := b.Server(server)
	if s == nil {
		return sample.ServerCounters{}, false
	}
	st := s.Stats()
	c := sample.ServerCounters{Conn: s.Conns(), Queue: int(st.QueueCur), SessRate: int(st.SessionRate),
		Weight: s.Weight(), IWeight: s.ConfigWeight(), UWeight: s.UserWeight(), ConnFree: -1}
	if s.MaxConn() > 0 {
		c.ConnFree = max(0, s.DynMaxConn()-s.Conns())
	}
	return c, true
}

// BeSessRate is a backend's sessions over the last second.
func (e *Engine) BeSessRate(backend string) (int, bool) {
	b := e.Backend(backend)
	if b == nil {
		return 0, false
	}
	return int(b.Stats().SessionRate), true
}

// BeConn is a backend's current connections.
func (e *Engine) BeConn(backend string) int {
	if b := e.Backend(backend); b != nil {
		return int(b.ctr.cur.Load())
	}
	return -1
}

// FeConn is a frontend's current connections.
func (e *Engine) FeConn(frontend string) int {
	if f := e.Frontend(frontend); f != nil {
		return int(f.ctr.cur.Load())
	}
	return -1
}

var _ sample.Env = (*Engine)(nil)

// route is how a frontend's requests reach one backend: its client
// transport, head table and the combined HTTP options.
type route struct {
	tr    *h1Client
	h2    *http2.Transport // nil when no server of the backend speaks HTTP/2 (h2_backend.go)
	heads *headTable
	mode  haproxycfg.HTTPConnMode
	fwd   *haproxycfg.ForwardFor
	orig  *haproxycfg.OriginalTo
}

// routeCache holds the routes to backends other than the frontend's
// default one, made on first use.
type routeCache struct {
	e  *Engine
	f  *Frontend
	mu sync.Mutex
	m  map[*Backend]*route
}

func (rc *routeCache) get(be *Backend) *route {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r := rc.m[be]; r != nil {
		return r
	}
	tr := be.transport(rc.e)
	r := &route{tr: tr, h2: backendH2Transport(be), heads: tr.heads}
	r.mode, r.fwd = httpOptionsFor(rc.f.px, be)
	r.orig = originalToFor(rc.f.px, be)
	if rc.m == nil {
		rc.m = map[*Backend]*route{}
	}
	rc.m[be] = r
	return r
}

// closeIdle closes the route's idle server connections.
func (r *route) closeIdle() {
	r.tr.CloseIdleConnections()
	if r.h2 != nil {
		r.h2.CloseIdleConnections()
	}
}

// closeIdle closes the idle server connections of every route.
func (rc *routeCache) closeIdle() {
	if rc == nil {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, r := range rc.m {
		r.closeIdle()
	}
}

// httpOptionsFor combines a frontend's and a backend's HTTP options as
// Engine.httpOptions does for the default backend.
func httpOptionsFor(fe *haproxycfg.Proxy, be *Backend) (haproxycfg.HTTPConnMode, *haproxycfg.ForwardFor) {
	mode, fwd := fe.HTTP.ConnMode, fe.HTTP.ForwardFor
	if be != nil && be.px != fe {
		mode = max(mode, be.px.HTTP.ConnMode)
		if be.px.HTTP.ForwardFor != nil {
			fwd = be.px.HTTP.ForwardFor
		}
	}
	return mode, fwd
}

// routeFor is the route to be: the frontend's own for its default
// backend.
func (h *h1Frontend) routeFor(be *Backend) *route {
	if be == h.f.backend || h.rules == nil {
		return h.def
	}
	return h.rules.routes.get(be)
}

// deniedResponse replaces a server's response denied by an
// http-response rule with the proxy's page, closing the connection.
//
// haproxy counts the server's response in %B too, and logs no Tr.
func (c *h1Conn) deniedResponse(p errorPage, keep *bool, serverSize int64, body io.Reader) (int64, error) {
	c.rules.denied = p.code
	if c.rules.denyRule {
		c.deniedResponseCount()
	}
	n, _ := io.Copy(io.Discard, body)
	serverSize += n
	if c.req != nil && c.req.method == http.MethodHead {
		serverSize -= int64(len(p.body))
	}
	if err := c.writePage(p, *keep); err != nil {
		return 0, &clientWriteError{err}
	}
	return serverSize + p.htxSize(), nil
}

// waitResponseBody is `http-response wait-for-body time T [at-least
// N]`: the server's body is read ahead until it is complete, fills the
// buffer, or N bytes came; then res.body sees it and it is sent after
// the head. false means T passed first (haproxy answers 504).
func (rr *ruleRun) waitResponseBody(wait time.Duration, atLeast int64) bool {
	resp := rr.resp
	if resp == nil || rr.res.Body != nil || resp.Body == nil || resp.Body == http.NoBody || resp.ContentLength == 0 {
		return true
	}
	// A body to compress is read ahead before the compression, as
	// haproxy compresses what it forwards, after the rules.
	src := &resp.Body
	if cz, ok := resp.Body.(*compressor); ok {
		src = &cz.src
	}
	body := *src
	// The server's body is read through a timedBody (`timeout
	// server`), whose expiry cancels the exchange: T ends it the same way.
	var tb *timedBody
	switch b := body.(type) {
	case *timedBody:
		tb = b
	case struct {
		io.Reader
		io.Closer
	}:
		tb, _ = b.Reader.(*timedBody)
	}
	if tb != nil && wait > 0 {
		t := time.AfterFunc(wait, tb.expire)
		defer t.Stop()
	}
	limit := int64(bufSize - maxRewrite)
	buf := []byte{}
	var tmp [4096]byte
	var rerr error
	for int64(len(buf)) < limit && (atLeast <= 0 || int64(len(buf)) < atLeast) {
		n, err := body.Read(tmp[:min(int64(len(tmp)), limit-int64(len(buf)))])
		buf = append(buf, tmp[:n]...)
		if err != nil {
			rerr = err
			break
		}
	}
	if errors.Is(rerr, os.ErrDeadlineExceeded) {
		// What came counts in %B, as the rest of a denied response.
		rr.bodyTimeout = true
		*src = struct {
			io.Reader
			io.Closer
		}{bytes.NewReader(buf), body}
		return false
	}
	rr.res.Body = buf
	rest := io.Reader(body)
	if rerr != nil {
		rest = errorReader{rerr}
	}
	*src = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), rest), body}
	return true
}

// errorReader gives err at once (the end, or the error, of a body read
// ahead).
type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) { return 0, r.err }

// logResponse puts what the response rules changed in the log: the
// final status, and haproxy's PH for a denied response.
func (rr *ruleRun) logResponse(s *accesslog.Session) {
	switch {
	case rr.denied != 0 && rr.bodyTimeout:
		// haproxy logs it as a response that never came (sR, no Tr).
		s.Status, s.TermCause, s.TermState = rr.denied, termServerTimeout, 'R'
		s.Tr = -1
	case rr.denied != 0:
		s.Status, s.TermCause, s.TermState = rr.denied, 'P', 'H'
		if rr.localReply {
			s.TermCause = 'L'
		}
		s.Tr = -1
	case rr.txn.Res != nil && rr.res.Status != 0:
		s.Status = rr.res.Status
	}
	if rr.srcSet {
		s.Client = rr.txn.Src
	}
	if rr.dstSet {
		s.Frontend = rr.txn.Dst
	}
}

// headSize is the %B share of a response head (HTX form).
func headSize(proto, reason string, fields []header) int64 {
	n := int64(htxStartLine+len(proto)+3+len(reason)) + htxEOH
	for _, f := range fields {
		if f.name != "transfer-encoding" {
			n += int64(len(f.name) + len(f.value))
		}
	}
	return n
}

// tcpContent runs a mode http frontend's tcp-request content rules on a
// request whose head was read, before its HTTP processing, as haproxy
// 2.6 does (its HTTP/1 layer parses the head before the stream's rules
// run): they see the connection and the request. A reject closes the
// connection, logged as haproxy logs it (<BADREQ>, PR, no status).
func (h *h1Frontend) tcpContent(c *h1Conn, s *accesslog.Session, req *httpRequest) bool {
	set := h.f.px.Rules.TCPContent
	if len(set) == 0 {
		return true
	}
	m := sample.Message{Method: req.method, URI: req.uri, Version: req.version}
	for _, hd := range req.headers {
		if hd.name != "connection" || hd.value != "" {
			m.Headers = append(m.Headers, sample.Header{Name: hd.name, Value: hd.value})
		}
	}
	t := sample.Txn{Src: s.Client, Dst: s.Frontend, FcSrc: c.fcSrc, FcDst: c.fcDst, Frontend: h.f.Name(), Req: &m, Env: envFor(h.e, c.nc), Stick: c.stk,
		Vars: h.e.proc.load(c.sessVars), Stream: true, Keeper: h.e, NotFirst: req.notFirst, Captures: s, SoName: h.e.soName(h.f, c.nc), ProxyTLV: ppTLVOf(c.nc)}
	act := tcpVerdictCap(set, &t, &tcpCaps{h.f.px, s})
	// set-src/set-dst here are the stream's (this request's).
	s.Client, s.Frontend = t.Src, t.Dst
	keepSessVars(&t, &c.sessVars)
	c.reqVars = streamVars(&t)
	c.reqLastRule = haproxycfg.Pos{File: t.LastRuleFile, Line: t.LastRuleLine}
	if act != haproxycfg.ActReject {
		return true
	}
	s.Status, s.TermCause, s.TermState = -1, 'P', stateRequest
	// A denied request, and a stream ended without a status; its head
	// was received (%U).
	h.f.ctr.deniedReq.Add(1)
	h.f.ctr.response(-1)
	s.BytesFromClient = req.htx
	h.f.ctr.bytesIn.Add(s.BytesFromClient)
	drainSocket(c.nc)
	end := h.e.now()
	s.Tt = end.Sub(s.Accept)
	s.ActConn = int(h.e.actconn.Load())
	s.FeConn = int(h.f.ctr.cur.Load())
	h.e.logSession(h.f.px, *s)
	return false
}

// CheckUser reports whether user/pass are valid in a userlist
// (http_auth), the password checked as crypt(3) does (pkg/userlist).
func (e *Engine) CheckUser(list, user, pass string) bool {
	ul := e.cfg.Userlist(list)
	if ul == nil {
		return false
	}
	u := ul.User(user)
	switch {
	case u == nil:
		return false
	case u.Insecure:
		return userlist.VerifyInsecure(u.Password, pass)
	}
	return userlist.Verify(u.Password, pass)
}

// UserGroups lists the groups of a user of a userlist (http_auth_group).
func (e *Engine) UserGroups(list, user string) []string {
	if ul := e.cfg.Userlist(list); ul != nil {
		if u := ul.User(user); u != nil {
			return u.Groups
		}
	}
	return nil
}

var _ sample.UserlistChecker = (*Engine)(nil)

// originalToFor is the `option originalto` that applies: the backend's,
// else the frontend's.
func originalToFor(fe *haproxycfg.Proxy, be *Backend) *haproxycfg.OriginalTo {
	if be != nil && be.px.HTTP.OriginalTo != nil {
		return be.px.HTTP.OriginalTo
	}
	return fe.HTTP.OriginalTo
}

// originalTo is the field `option originalto` adds, after forwardfor's:
// the address the client connected to.
func originalTo(ot *haproxycfg.OriginalTo, dst netip.Addr) []header {
	if ot == nil || !dst.IsValid() {
		return nil
	}
	dst = dst.Unmap()
	if ot.Except.IsValid() && ot.Except.Contains(dst) {
		return nil
	}
	name := strings.ToLower(ot.Header)
	if name == "" {
		name = "x-original-to"
	}
	return []header{{name, dst.String()}}
}

// keepVar stores a sess.* variable with the connection and a proc.* one
// with the process, where the next requests find them (nil: unset);
// txn.*, req.* and res.* live with the request.
func (rr *ruleRun) keepVar(name string, v *sample.Value) {
	switch {
	case strings.HasPrefix(name, "sess."):
		if rr.c == nil {
			return
		}
		if v == nil {
			delete(rr.c.sessVars, name)
			return
		}
		if rr.c.sessVars == nil {
			rr.c.sessVars = map[string]sample.Value{}
		}
		rr.c.sessVars[name] = *v
	case strings.HasPrefix(name, "proc.") && rr.e != nil:
		rr.e.proc.store(name, v)
	}
}

// lastRule records the rule that ended a rule set's evaluation
// (last_rule_file, last_rule_line).
func lastRule(t *sample.Txn, p haproxycfg.Pos) { t.LastRuleFile, t.LastRuleLine = p.File, p.Line }

// setVar stores v in variable name under the conditions c, and keeps
// it beyond the request (sess.*, proc.*); a variable the conditions
// created without a value is kept too.
func (rr *ruleRun) setVar(name string, v sample.Value, c sample.VarCond) {
	if c == 0 {
		if rr.txn.Vars == nil {
			rr.txn.Vars = map[string]sample.Value{}
		}
		rr.txn.Vars[name] = v
		rr.keepVar(name, &v)
		return
	}
	rr.txn.SetVar(name, v, c)
	if got, ok := rr.txn.Vars[name]; ok {
		rr.keepVar(name, &got)
	}
}

// KeepVar is the set-var and unset-var converters' (sample.VarKeeper).
func (rr *ruleRun) KeepVar(name string, v *sample.Value) { rr.keepVar(name, v) }

// KeepVar keeps the process variables the set-var and unset-var
// converters set in the TCP rules (sample.VarKeeper); their sess.*
// variables are kept with the connection (keepSessVars).
func (e *Engine) KeepVar(name string, v *sample.Value) {
	if strings.HasPrefix(name, "proc.") {
		e.proc.store(name, v)
	}
}

// procVars are the process-wide variables.
type procVars struct {
	mu sync.Mutex
	m  map[string]sample.Value
}

// load is a request's first variables: the process's and the
// connection's (nil when there are none).
func (p *procVars) load(sess map[string]sample.Value) map[string]sample.Value {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) == 0 && len(sess) == 0 {
		return nil
	}
	out := make(map[string]sample.Value, len(p.m)+len(sess))
	for k, v := range p.m {
		out[k] = v
	}
	for k, v := range sess {
		out[k] = v
	}
	return out
}

func (p *procVars) store(name string, v *sample.Value) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v == nil {
		delete(p.m, name)
		return
	}
	if p.m == nil {
		p.m = map[string]sample.Value{}
	}
	p.m[name] = *v
}

// sendHints sends the fields of consecutive early-hint rules as one 103
// Early Hints interim response, as haproxy does once the next rule is
// not an early-hint (or the rules end).
func (rr *ruleRun) sendHints(c *h1Conn) {
	if len(rr.hints) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 103 Early Hints\r\n")
	for _, hd := range rr.hints {
		b.WriteString(hd.name + ": " + hd.value + "\r\n")
	}
	b.WriteString("\r\n")
	rr.hints = rr.hints[:0]
	c.interimResponse(http.StatusEarlyHints, []byte(b.String()))
}

// ProcVars is a copy of the process-wide variables (the stats socket's
// `get var`).
func (e *Engine) ProcVars() map[string]sample.Value { return e.proc.load(nil) }

// SetProcVar stores a process-wide variable (the stats socket's `set var`).
func (e *Engine) SetProcVar(name string, v sample.Value) { e.proc.store(name, &v) }

// UnsetProcVar removes a process-wide variable (a check's unset-var).
func (e *Engine) UnsetProcVar(name string) { e.proc.store(name, nil) }

// setSockOpt runs set-mark and set-tos on the client's connection (the
// whole connection under HTTP/2, as haproxy's session connection).
func (rr *ruleRun) setSockOpt(r *haproxycfg.Rule) {
	if rr.c == nil {
		return
	}
	nc := rr.c.nc
	if sc, ok := nc.(*h2StreamConn); ok {
		nc = sc.parent
	}
	raw := tcpConnOf(nc)
	if p, ok := raw.(*ppConn); ok {
		raw = p.Conn
	}
	if r.Action == haproxycfg.ActSetMark {
		setMark(raw, int(r.Num))
	} else {
		setTOS(raw, int(r.Num))
	}
}
