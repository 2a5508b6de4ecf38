package proxy

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
)

// errorFiles are a proxy's `errorfile` and `http-error` replies by
// status code.
type errorFiles map[int]*errReply

// errReply is one status's reply: an errorfile (msg), an http-error reply
// built as `return` builds one (ret), or neither: haproxy's own page
// (`http-error ... default-errorfiles` over an inherited errorfile).
type errReply struct {
	msg *haproxycfg.ErrorMessage
	ret *haproxycfg.Return
}

// loadErrorFiles parses the errorfiles a proxy names, from the content
// read with the configuration. A file haproxy would refuse, or one whose
// content was not read, stops the engine from starting.
func loadErrorFiles(px *haproxycfg.Proxy) (errorFiles, error) {
	if len(px.ErrorFiles) == 0 {
		return nil, nil
	}
	out := make(errorFiles, len(px.ErrorFiles))
	codes := make([]int, 0, len(px.ErrorFiles))
	for code := range px.ErrorFiles {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	for _, code := range codes {
		ef := px.ErrorFiles[code]
		switch {
		case ef.Builtin:
			out[code] = &errReply{}
			continue
		case ef.Reply != nil:
			out[code] = &errReply{ret: ef.Reply}
			continue
		}
		if ef.Content == nil {
			return nil, fmt.Errorf("%s: proxy %s: errorfile %d: the content of '%s' was not read with the configuration", ef.Pos, px.Name, code, ef.Path)
		}
		m, err := haproxycfg.ParseErrorFile(ef.Path, ef.Content)
		if err != nil {
			return nil, fmt.Errorf("%s: proxy %s: errorfile : %w", ef.Pos, px.Name, err)
		}
		out[code] = &errReply{msg: m}
	}
	return out, nil
}

// errorFile is the errorfile replacing the reply with status code, as
// haproxy chooses it: the backend's, else the frontend's; nil for the
// built-in page.
func (h *h1Frontend) errorFile(code int) *errReply {
	if be := h.f.backend; be != nil {
		if m := be.errs[code]; m != nil {
			return m
		}
	}
	return h.f.errs[code]
}

// replyPage builds an http-error reply; its log-format values see the
// request (rr is nil when the frontend has no rules).
func (h *h1Frontend) replyPage(c *h1Conn, rr *ruleRun, s *accesslog.Session, ret *haproxycfg.Return) errorPage {
	if rr == nil {
		rr = &ruleRun{c: c, e: h.e}
		rr.txn = sample.Txn{Src: s.Client, Dst: s.Frontend, FcSrc: c.fcSrc, FcDst: c.fcDst, Frontend: h.f.Name(), Env: envFor(h.e, c.nc), Captures: s}
		if req := c.req; req != nil {
			rr.req = sample.Message{Method: req.method, URI: req.uri, Version: req.version}
			for _, hd := range req.headers {
				rr.req.Headers = append(rr.req.Headers, sample.Header{Name: hd.name, Value: hd.value})
			}
			rr.txn.Req = &rr.req
		}
	}
	return rr.returnPage(ret)
}

// writeErrorFile sends an errorfile as haproxy 2.6 re-emits it from its
// parsed form: the file's status line, its fields with lower-case names
// but for Connection, then the connection's own Connection field (close
// for an HTTP/1.1 reply that ends the connection, keep-alive for an
// HTTP/1.0 one that does not), the payload (none to HEAD). The connection
// stays open only if the client allows it and the file announces its
// length. An empty file sends nothing and closes. It returns the %B size
// (the HTX form, Connection field included) and whether the connection
// may go on.
func (c *h1Conn) writeErrorFile(m *haproxycfg.ErrorMessage, keep bool) (int64, bool, error) {
	c.startResponse()
	if m.Empty {
		return 0, false, nil
	}
	keep = keep && (m.ContentLength >= 0 || m.Status == http.StatusNoContent || m.Status == http.StatusNotModified)
	code := strconv.Itoa(m.Status)
	bw := c.writer()
	bw.WriteString(m.Version)
	bw.WriteByte(' ')
	bw.WriteString(code)
	bw.WriteByte(' ')
	bw.WriteString(m.Reason)
	bw.WriteString("\r\n")
	size := int64(htxStartLine + len(m.Version) + len(code) + len(m.Reason) + htxEOH)
	for _, h := range m.Headers {
		size += int64(len(h.Name) + len(h.Value))
		if h.Name == "connection" {
			continue
		}
		bw.WriteString(h.Name)
		bw.WriteString(": ")
		bw.WriteString(h.Value)
		bw.WriteString("\r\n")
	}
	v := m.Version
	ver11 := len(v) == 8 && (v[5] > '1' || v[5] == '1' && v[7] >= '1')
	switch {
	case ver11 && !keep:
		bw.WriteString("connection: close\r\n")
	case !ver11 && keep:
		bw.WriteString("connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if c.req == nil || c.req.method != http.MethodHead {
		bw.Write(m.Body)
		size += int64(len(m.Body))
	}
	if err := bw.Flush(); err != nil {
		return size, false, err
	}
	return size, keep, nil
}

// rawPage sends a reply of the HTTP/1 layer (400 for a malformed request,
// 408 for one too slow), which ends the connection. haproxy 2.6 sends its
// built-in page there even with an errorfile for the code, but nothing at
// all when that errorfile is empty.
func (h *h1Frontend) rawPage(c *h1Conn, code int, page string) {
	if m := h.f.errs[code]; m != nil && m.msg != nil && m.msg.Empty {
		c.startResponse()
		return
	}
	c.writeRaw(page)
}
