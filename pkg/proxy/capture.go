package proxy

import (
	"net/http"
	"strings"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
)

// Captures and unique ids of a frontend's streams, for its log lines
// (haproxy configuration manual, "capture" and "unique-id-format").

// nextStreamID numbers streams as haproxy's global request counter does
// (%rt): from 0, one per stream, whether it is logged or not.
func (e *Engine) nextStreamID() uint64 { return e.streams.Add(1) - 1 }

// CumRequests is the number of streams (HTTP requests, TCP sessions)
// created so far: haproxy's CumReq in `show info`.
func (e *Engine) CumRequests() int64 { return int64(e.streams.Load()) }

// captureRequest fills the request capture slots and the client cookie
// capture (%hr, %CC) from the request head, as haproxy captures them once
// the head is parsed: for each slot the last header of that name, its
// value cut at the slot's length (haproxy overwrites the slot at each); for `capture cookie NAME` the first
// cookie whose name starts with NAME, "name=value" cut at its length.
func captureRequest(px *haproxycfg.Proxy, req *httpRequest, s *accesslog.Session, env sample.Env, soName string) {
	lg := &px.Logging
	if lg.Access.HasExpr() || lg.StructuredData.HasExpr() {
		// The log line evaluates %[...] on the request as it arrived,
		// with the connection's facts (ssl_fc_sni, fc_err).
		s.Txn = requestTxn(req, s)
		s.Txn.Env = env
		s.Txn.SoName = soName
	}
	if len(lg.ReqCaptures) > 0 {
		if len(s.ReqCaptures) != len(lg.ReqCaptures) {
			// Unless tcp-request content capture rules already made them.
			s.ReqCaptures = make([]accesslog.Capture, len(lg.ReqCaptures))
		}
		for _, h := range req.headers {
			for i, c := range lg.ReqCaptures {
				if strings.EqualFold(h.name, c.Name) {
					s.ReqCaptures[i] = accesslog.Capture{Value: cut(h.value, c.Len), Set: true}
				}
			}
		}
	}
	if lg.Cookie.Name != "" {
		for _, h := range req.headers {
			if s.CookieClient == "" && strings.EqualFold(h.name, "cookie") {
				s.CookieClient = findCookie(h.value, lg.Cookie, ';')
			}
		}
	}
}

// RuleCapture stores v, cut at the slot's length, in capture slot id of
// the frontend px (`http-request capture SAMPLE id N` or `len N`, whose
// slot haproxycfg.Logging.AddCapture made; response slots for
// `http-response capture`). The rules engine calls it when the action
// runs; an id out of range is ignored, as haproxy ignores it.
func RuleCapture(px *haproxycfg.Proxy, s *accesslog.Session, id int, v string, response bool) {
	slots, defs := &s.ReqCaptures, px.Logging.ReqCaptures
	if response {
		slots, defs = &s.ResCaptures, px.Logging.ResCaptures
	}
	if id < 0 || id >= len(defs) {
		return
	}
	if len(*slots) != len(defs) {
		*slots = make([]accesslog.Capture, len(defs))
	}
	(*slots)[id] = accesslog.Capture{Value: cut(v, defs[id].Len), Set: true}
}

// captureResponse fills the response capture slots and the server cookie
// capture (%hs, %CS) from the response head.
func captureResponse(px *haproxycfg.Proxy, resp *http.Response, s *accesslog.Session) {
	lg := &px.Logging
	// The log's fetches do not see the response: haproxy has released it
	// when it logs (%[status] is no sample there).
	if len(lg.ResCaptures) > 0 {
		if len(s.ResCaptures) != len(lg.ResCaptures) {
			s.ResCaptures = make([]accesslog.Capture, len(lg.ResCaptures))
		}
		for i, c := range lg.ResCaptures {
			if v, ok := resp.Header[http.CanonicalHeaderKey(c.Name)]; ok && len(v) > 0 {
				s.ResCaptures[i] = accesslog.Capture{Value: cut(v[len(v)-1], c.Len), Set: true}
			}
		}
	}
	if lg.Cookie.Name != "" {
		for _, v := range resp.Header["Set-Cookie"] {
			// A Set-Cookie header carries one cookie; its attributes
			// follow the first ';'.
			if c := findCookie(v, lg.Cookie, 0); c != "" {
				s.CookieServer = c
				break
			}
		}
	}
}

// findCookie returns the first "name=value" of a Cookie (sep ';') or
// Set-Cookie (sep 0: one cookie) header whose name starts with the
// captured name, cut at the capture's length.
func findCookie(h string, c haproxycfg.HeaderCapture, sep byte) string {
	for len(h) > 0 {
		var one string
		if i := strings.IndexByte(h, ';'); i >= 0 {
			one, h = h[:i], h[i+1:]
		} else {
			one, h = h, ""
		}
		one = strings.Trim(one, " \t")
		name, _, _ := strings.Cut(one, "=")
		if len(name) >= len(c.Name) && name[:len(c.Name)] == c.Name {
			return cut(one, c.Len)
		}
		if sep == 0 {
			return ""
		}
	}
	return ""
}

func cut(v string, n int) string {
	if len(v) > n {
		return v[:max(n, 0)]
	}
	return v
}

// uniqueID records the chosen backend for the log's fetches and computes
// the request's unique id (`unique-id-format`) once its
// backend is known, and adds it as `unique-id-header` for the server,
// before the X-Forwarded-For header as haproxy does.
func (h *h1Frontend) uniqueID(req *httpRequest, s *accesslog.Session) {
	lg := &h.f.px.Logging
	if s.Txn != nil {
		s.Txn.Backend = s.BackendName
	}
	if lg.UniqueID == nil {
		return
	}
	t := s.Txn
	if t == nil {
		t = requestTxn(req, s)
	}
	h.makeUniqueID(t, s)
	if lg.UniqueIDHeader != "" {
		req.headers = append(req.headers, header{strings.ToLower(lg.UniqueIDHeader), s.UniqueID})
	}
}

// makeUniqueID makes the request's unique id once, on its first use (a
// unique-id fetch in a rule, or once the backend is known), evaluating
// the format on t as haproxy's stream_generate_unique_id does.
func (h *h1Frontend) makeUniqueID(t *sample.Txn, s *accesslog.Session) string {
	if s.UniqueID == "" && h.f.px.Logging.UniqueID != nil {
		s.UniqueID = string(h.f.px.Logging.UniqueID.Append(nil, t, s))
	}
	return s.UniqueID
}

// requestTxn is what sample fetches see of a request for log-format
// expressions (%[...]).
func requestTxn(req *httpRequest, s *accesslog.Session) *sample.Txn {
	m := &sample.Message{Method: req.method, URI: req.uri, Version: req.version, Headers: make([]sample.Header, len(req.headers))}
	for i, hd := range req.headers {
		m.Headers[i] = sample.Header{Name: hd.name, Value: hd.value}
	}
	return &sample.Txn{Src: s.Client, Dst: s.Frontend, Frontend: s.FrontendName, Backend: s.BackendName, Req: m, NotFirst: req.notFirst, Captures: s}
}

// LogUniqueID is the unique id of a stream that has none yet (mode tcp, or
// no backend was reached), made when it is logged as haproxy does; the
// log writer calls it.
func LogUniqueID(px *haproxycfg.Proxy, s *accesslog.Session) {
	if px.Logging.UniqueID == nil || s.UniqueID != "" {
		return
	}
	if px.Mode == haproxycfg.ModeHTTP && s.Method == "" {
		// No request was parsed: haproxy has no stream to give an id.
		return
	}
	t := &sample.Txn{Src: s.Client, Dst: s.Frontend, Frontend: s.FrontendName, Backend: s.BackendName}
	s.UniqueID = string(px.Logging.UniqueID.Append(nil, t, s))
}
