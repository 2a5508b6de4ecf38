package proxy

import (
	"errors"
	"net/http"
	"os"
	"time"

	"hapair/pkg/accesslog"
)

// maxRewrite is haproxy's tune.maxrewrite: the part of a buffer kept free
// for rewrites, so a request waits for at most bufSize-maxRewrite bytes
// of head and body.
const maxRewrite = 1024

// waitBody is haproxy's wait for a request body (`option
// http-buffer-request`, `http-request wait-for-body`): it reads the body
// ahead until it is complete, the buffer is full, atLeast bytes came
// (0: no such limit), or the client is too slow: no byte for `timeout
// client`, or the body incomplete after wait (0: no such limit). Too slow
// answers 408 and closes (logged cD), and waitBody then returns false. A
// client that closes ends the wait; the request goes on with what came.
func (h *h1Frontend) waitBody(c *h1Conn, rr *ruleRun, body *bodyReader, s *accesslog.Session, wait time.Duration, atLeast int64) bool {
	if body.r == nil || c.req == nil || c.req.method == http.MethodConnect {
		return true
	}
	limit := int64(bufSize - maxRewrite - c.req.size)
	var end time.Time
	if wait > 0 {
		end = time.Now().Add(wait)
	}
	client := h.f.px.Timeouts.Client
	idle := c.cnt.idle.Swap(0) // deadlines are set here while waiting
	defer func() {
		_ = c.nc.SetReadDeadline(time.Time{})
		c.cnt.idle.Store(idle)
	}()
	var tmp [4096]byte
	for {
		got := int64(len(body.buffered))
		if body.r == nil || got >= limit || atLeast > 0 && got >= atLeast {
			break
		}
		var dl time.Time
		if client > 0 {
			dl = time.Now().Add(client)
		}
		if !end.IsZero() && (dl.IsZero() || end.Before(dl)) {
			dl = end
		}
		_ = c.nc.SetReadDeadline(dl)
		n, err := body.read(tmp[:min(int64(len(tmp)), limit-got)])
		body.buffered = append(body.buffered, tmp[:n]...)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				s.Status, s.TermCause, s.TermState = http.StatusRequestTimeout, 'c', 'D'
				body.pre = nil
				h.statusReply(c, rr, s, http.StatusRequestTimeout, false)
				return false
			}
			// The client left before the end of its body: the request
			// goes on to its backend, then stops there (CR).
			body.aborted = !body.complete()
			break
		}
	}
	if body.buffered == nil {
		body.buffered = []byte{}
	}
	body.pre = body.buffered
	if rr != nil {
		rr.req.Body = body.buffered
	}
	return true
}
