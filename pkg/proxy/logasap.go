package proxy

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/sticktable"
)

// logASAP logs a mode http request when its response head is ready to go
// to the client (`option logasap`), as haproxy 2.6's response analyser
// does: the total and active times end when the head came from the
// server, %B is what the response holds then (the head as the rules and
// the persistence cookie left it, and the body that arrived with it),
// %U is still 0, the termination state is still "--" and the counters still count this
// request. The end of the request is then not logged.
func (h *h1Frontend) logASAP(c *h1Conn, s *accesslog.Session, be *Backend, srv *Server, req *httpRequest, resp *http.Response, entry *headEntry, out int64) {
	if c.nolog || c.asapLogged {
		return
	}
	e := h.e
	c.asapLogged = true
	if e.opts.SessionLog == nil || len(h.f.px.Logs) == 0 {
		return
	}
	l := *s
	var t time.Duration
	for _, d := range []time.Duration{l.Th, l.Ti, l.TR, l.Tw, l.Tc, l.Tr} {
		t += max(d, 0)
	}
	l.Tt = t
	l.Ta = t - max(l.Th, 0) - max(l.Ti, 0)
	if req.method != http.MethodHead {
		out += tailBody(entry.bodyTail(), resp)
	}
	l.BytesToClient = out + c.interimBytes()
	// haproxy has not counted the request's bytes yet.
	l.BytesFromClient = 0
	l.TermCause, l.TermState = termNormal, termNormal
	if req.persist != nil {
		l.CookieState, l.SetCookieState = req.persist.logStates()
	}
	if c.rules != nil {
		c.rules.logResponse(&l)
	}
	l.ActConn = int(e.actconn.Load())
	l.FeConn = int(h.f.ctr.cur.Load())
	l.BeConn = int(be.ctr.cur.Load())
	if srv != nil {
		l.SrvConn = srv.Conns()
	}
	l.Level = c.logLevel
	logStick(&l, c.stk)
	e.logSession(h.f.px, l)
}

// logStick gives the log's fetches the stream's tracked counters as they
// are when it is logged (%[sc0_http_req_cnt]): track-sc rules may have
// made them after the log's view of the request was taken.
func logStick(s *accesslog.Session, stk *sticktable.Counters) {
	if s.Txn != nil && stk != nil {
		t := *s.Txn // the view may be shared with a log still being written
		t.Stick = stk
		s.Txn = &t
	}
}

// tailBody is the body data among the bytes that followed a response
// head in its read: up to the Content-Length, or the data of the chunks
// there (chunk framing is not data; a chunk cut short counts what came).
func tailBody(tail []byte, resp *http.Response) int64 {
	switch {
	case len(tail) == 0:
		return 0
	case resp.ContentLength >= 0:
		return min(int64(len(tail)), resp.ContentLength)
	case len(resp.TransferEncoding) == 0:
		return int64(len(tail)) // up to the close
	}
	var n int64
	for len(tail) > 0 {
		eol := bytes.IndexByte(tail, '\n')
		if eol < 0 {
			break
		}
		line := bytes.TrimRight(tail[:eol], "\r")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size <= 0 {
			break
		}
		tail = tail[eol+1:]
		if int64(len(tail)) < size {
			n += int64(len(tail))
			break
		}
		n += size
		tail = tail[size:]
		if len(tail) >= 2 && tail[0] == '\r' && tail[1] == '\n' {
			tail = tail[2:]
		} else if len(tail) >= 1 && tail[0] == '\n' {
			tail = tail[1:]
		}
	}
	return n
}
