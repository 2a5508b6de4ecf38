package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"hapair/pkg/haproxycfg"
)

// Go's HTTP client writes the request line and the header fields its own
// way: a target beginning with "//" gains a scheme ("GET //a/b" becomes
// "GET http://a/b"), names take Go's canonical case, a Host field is
// always sent. haproxy 2.6 forwards the target byte for byte and the
// fields lower-cased, in their order. So the head the server receives is
// written here (appendHead) and swapped in for Go's on the server
// connection (headConn): the client is given a unique placeholder target,
// which the connection recognises at the start of a request and replaces
// with the head registered under it (headTable).

// appendHead appends the request head as haproxy 2.6 sends it to a
// server in its default keep-alive mode: the method and target as
// received, HTTP/1.1 (HTTP/1.0 for a 1.0 client, then asking the server
// for keep-alive), the fields readRequest kept with lower-case names.
//
// extra fields (option forwardfor) follow the client's; with
// http-server-close or httpclose an HTTP/1.1 request asks the server to
// close ("connection: close"), an HTTP/1.0 one says nothing.
func (r *httpRequest) appendHead(b []byte, extra []header, mode haproxycfg.HTTPConnMode) []byte {
	if b == nil {
		// One allocation of the exact size.
		b = make([]byte, 0, r.headCap(extra))
	}
	b = append(b, r.method...)
	b = append(b, ' ')
	b = append(b, r.uri...)
	if r.http11() {
		b = append(b, " HTTP/1.1\r\n"...)
	} else {
		b = append(b, " HTTP/1.0\r\n"...)
	}
	for _, h := range r.headers {
		v := h.value
		if h.name == "te" {
			var ok bool
			if v, ok = teTrailers(v); !ok {
				continue
			}
		}
		b = append(b, h.name...)
		b = append(b, ": "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	for _, h := range extra {
		b = append(b, h.name...)
		b = append(b, ": "...)
		b = append(b, h.value...)
		b = append(b, "\r\n"...)
	}
	switch {
	case mode == haproxycfg.HTTPKeepAlive && !r.http11():
		b = append(b, "connection: keep-alive\r\n"...)
	case mode != haproxycfg.HTTPKeepAlive && r.http11():
		b = append(b, "connection: close\r\n"...)
	}
	return append(b, "\r\n"...)
}

// headCap is the most appendHead writes for r and extra.
func (r *httpRequest) headCap(extra []header) int {
	n := len(r.method) + 1 + len(r.uri) + len(" HTTP/1.1\r\n") + len("connection: keep-alive\r\n") + 2
	for _, h := range r.headers {
		n += len(h.name) + len(h.value) + 4
	}
	for _, h := range extra {
		n += len(h.name) + len(h.value) + 4
	}
	return n
}

// teTrailers is what haproxy 2.6's HTTP/1 layer sends of a TE field:
// "trailers" when the value holds that word (compared as is) ending the
// value or followed by a comma, else nothing (ok false): the other
// codings, and "trailers" with parameters, are dropped.
func teTrailers(v string) (string, bool) {
	i := strings.Index(v, "trailers")
	if i < 0 || (len(v) > i+8 && v[i+8] != ',') {
		return "", false
	}
	return "trailers", true
}

// headTable holds the heads of the requests being sent, by placeholder.
type headTable struct {
	prefix []byte // "/.gproxy-<random>-": the placeholder before the id
	// panicked reports a panic recovered on a server connection, which
	// Go's client writes on its own goroutine; nil ignores it.
	panicked func(r any)
	mu       sync.Mutex
	next     uint64
	heads    map[uint64]*headEntry
}

// headEntry is one request being sent: the head the server receives and
// the head of the server's final response as it arrived (nil until then,
// or if it could not be captured).
type headEntry struct {
	head     []byte
	mu       sync.Mutex
	resp     []byte
	interims [][]byte // interim 1xx heads not yet passed on
	// tail is what came after the final response head in the read that
	// ended it (the start of the body), at most maxTail bytes.
	tail []byte
	// A final head parsed in place (parseRespHead) is not captured:
	// parsedRaw holds its lines, parsed its fields in order; tail is
	// kept then only when wantTail (logasap counts it).
	parsedRaw string
	parsed    []header
	wantTail  bool
}

// setParsed records the final response head parsed in place, and the
// body that came with it when wanted.
func (e *headEntry) setParsed(room *respRoom, tail []byte) {
	e.mu.Lock()
	e.parsedRaw, e.parsed = room.raw, room.fieldList
	if e.wantTail && e.tail == nil {
		e.tail = append([]byte(nil), tail[:min(len(tail), maxTail)]...)
	}
	e.mu.Unlock()
}

// final is the server's final response head: its fields in order when
// it was parsed in place (else nil), and its bytes when captured, or
// when parsed in place and wantRaw (else nil).
func (e *headEntry) final(wantRaw bool) ([]byte, []header) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.parsed == nil {
		return e.resp, nil
	}
	raw := e.resp
	if raw == nil && wantRaw {
		raw = append([]byte(e.parsedRaw), "\r\n"...)
	}
	return raw, e.parsed
}

// maxTail bounds headEntry.tail: haproxy parses at most a buffer.
const maxTail = 16 << 10

// bodyTail is the body that arrived with the response head.
func (e *headEntry) bodyTail() []byte {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tail
}

// nextInterim takes the oldest interim response head received, or nil.
func (e *headEntry) nextInterim() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.interims) == 0 {
		return nil
	}
	h := e.interims[0]
	e.interims = e.interims[1:]
	return h
}

func newHeadTable() *headTable {
	var secret [16]byte
	_, _ = rand.Read(secret[:])
	return &headTable{
		prefix: []byte("/.gproxy-" + hex.EncodeToString(secret[:]) + "-"),
		heads:  map[uint64]*headEntry{},
	}
}

// add registers a head and returns the placeholder target standing for
// it, its entry and the id to forget it by (forget).
func (t *headTable) add(head []byte) (string, *headEntry, uint64) {
	t.mu.Lock()
	t.next++
	id := t.next
	e := &headEntry{head: head}
	t.heads[id] = e
	t.mu.Unlock()
	var buf [96]byte
	return string(strconv.AppendUint(append(buf[:0], t.prefix...), id, 10)), e, id
}

// forget drops the head registered under id.
func (t *headTable) forget(id uint64) {
	t.mu.Lock()
	delete(t.heads, id)
	t.mu.Unlock()
}

// lookup finds the entry of a request line "METHOD <placeholder> ...".
func (t *headTable) lookup(p []byte) (*headEntry, bool) {
	sp := bytes.IndexByte(p, ' ')
	if sp <= 0 || sp > 64 || !bytes.HasPrefix(p[sp+1:], t.prefix) {
		return nil, false
	}
	rest := p[sp+1+len(t.prefix):]
	end := bytes.IndexByte(rest, ' ')
	if end <= 0 {
		return nil, false
	}
	var id uint64
	for _, d := range rest[:end] {
		if d < '0' || d > '9' || id > (1<<64-1)/10-1 {
			return nil, false
		}
		id = id*10 + uint64(d-'0')
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.heads[id]
	return e, ok
}

// lookupTarget finds the entry of a placeholder target, as lookup does
// for a request line.
func (t *headTable) lookupTarget(target string) (*headEntry, bool) {
	if len(target) <= len(t.prefix) || target[:len(t.prefix)] != string(t.prefix) {
		return nil, false
	}
	var id uint64
	for _, d := range []byte(target[len(t.prefix):]) {
		if d < '0' || d > '9' || id > (1<<64-1)/10-1 {
			return nil, false
		}
		id = id*10 + uint64(d-'0')
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.heads[id]
	return e, ok
}

var errHeadSplit = errors.New("proxy: request head split across writes")

// headConn is a server connection that replaces the head Go's client
// writes for a placeholder target with the registered one. Go's head for
// such a request is a few dozen bytes, written whole at the start of the
// first write of the request (its write buffer holds 4 KiB).
//
// It also keeps the head of the response to such a request, byte for
// byte, for the client to receive the server's fields in their order:
// Go's client reads responses one after the other, each after its request.
type headConn struct {
	net.Conn
	t *headTable

	mu  sync.Mutex
	cur *headEntry // the request whose response is being read
	buf []byte     // the response head so far
	// pending is the request written by writeHead: its response is
	// captured only if it is not parsed in place (capturePending).
	pending *headEntry
}

// maxRespHead bounds a captured response head; a longer one is not kept.
const maxRespHead = 64 << 10

func (c *headConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.capture(p[:n])
	}
	return n, err
}

// capture collects the response head of the current request; interim
// 1xx responses before the final one are skipped.
func (c *headConn) capture(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.captureLocked(b)
}

// capturePending starts capturing the response of the request writeHead
// wrote, whose first bytes (read) are already read: the response is not
// parsed in place. The capture sees the same bytes as when it starts
// with the first read.
func (c *headConn) capturePending(read []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		return
	}
	c.cur, c.buf, c.pending = c.pending, nil, nil
	c.captureLocked(read)
}

// parsedInPlace ends the wait of writeHead's request: its response
// head was parsed in place.
func (c *headConn) parsedInPlace() {
	c.mu.Lock()
	c.pending = nil
	c.mu.Unlock()
}

func (c *headConn) captureLocked(b []byte) {
	for c.cur != nil && len(b) > 0 {
		// A head whole in one read is not copied first (the common
		// case); a head split over reads is gathered in c.buf.
		data, gathered := b, len(c.buf) > 0
		if gathered {
			c.buf = append(c.buf, b...)
			data = c.buf
		}
		b = nil
		end := headEnd(data)
		if end < 0 {
			if !gathered {
				c.buf = append(c.buf, data...)
			}
			if len(c.buf) > maxRespHead {
				c.cur, c.buf = nil, nil
			}
			return
		}
		head := data[:end]
		if len(head) >= 12 && head[9] == '1' && string(head[9:12]) != "101" {
			c.cur.mu.Lock()
			c.cur.interims = append(c.cur.interims, append([]byte(nil), head...))
			c.cur.mu.Unlock()
			if gathered {
				b = append([]byte(nil), data[end:]...)
				c.buf = c.buf[:0]
			} else {
				b = data[end:]
			}
			continue
		}
		c.cur.mu.Lock()
		c.cur.resp = append([]byte(nil), head...)
		c.cur.tail = append([]byte(nil), data[end:min(len(data), end+maxTail)]...)
		c.cur.mu.Unlock()
		c.cur, c.buf = nil, nil
	}
}

// headEnd is the length of the head at the start of b, blank line
// included (CRLF or bare LF line ends), or -1.
func headEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

// writeHead writes the registered head of a request without a body in
// one write, as Write does for Go's head of it: the h1Client sends it
// so, without building Go's head only to replace it. Its response is
// captured only if the client does not parse it in place
// (capturePending).
func (c *headConn) writeHead(e *headEntry) (int, error) {
	c.prepareHead(e)
	return c.Conn.Write(e.head)
}

// prepareHead readies the capture of the response to e's head, which the
// caller writes itself (h1ServerConn.sendWait); nil forgets it.
func (c *headConn) prepareHead(e *headEntry) {
	c.mu.Lock()
	c.cur, c.buf, c.pending = nil, nil, e
	c.mu.Unlock()
}

func (c *headConn) Write(p []byte) (n int, err error) {
	defer func() {
		// Go's client calls this on its own goroutine: a panic here
		// fails this request only.
		if r := recover(); r != nil {
			if c.t.panicked != nil {
				c.t.panicked(r)
			}
			n, err = 0, fmt.Errorf("proxy: panic writing to the server: %v", r)
		}
	}()
	e, ok := c.t.lookup(p)
	if !ok {
		return c.Conn.Write(p)
	}
	head := e.head
	c.mu.Lock()
	c.cur, c.buf, c.pending = e, nil, nil
	c.mu.Unlock()
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, errHeadSplit
	}
	bp := headBufs.Get().(*[]byte)
	out := append(append((*bp)[:0], head...), p[end+4:]...)
	_, err = c.Conn.Write(out)
	if cap(out) <= 64<<10 {
		*bp = out[:0]
		headBufs.Put(bp)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// headBufs hold the bytes of one server write (head and the start of
// the body) while it is written.
var headBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// httpOptions combines the frontend's and the backend's HTTP options as
// haproxy 2.6 does: the more closing connection mode; the backend's
// `option forwardfor`, else the frontend's.
func (e *Engine) httpOptions(f *Frontend) (haproxycfg.HTTPConnMode, *haproxycfg.ForwardFor) {
	fo := f.px.HTTP
	mode, fwd := fo.ConnMode, fo.ForwardFor
	if be := f.backend; be != nil && be.px != f.px {
		bo := be.px.HTTP
		mode = max(mode, bo.ConnMode)
		if bo.ForwardFor != nil {
			fwd = bo.ForwardFor
		}
	}
	return mode, fwd
}

// extraHeaders are the fields the proxy adds to a request: option
// forwardfor's, with the client's address, appended after the client's
// own (a client-sent X-Forwarded-For is kept, as haproxy keeps it, and the
// server finds the true address in the last one).
func extraHeaders(fwd *haproxycfg.ForwardFor, req *httpRequest, client netip.Addr) []header {
	return appendExtraHeaders(nil, nil, fwd, req, client)
}

// appendExtraHeaders is extraHeaders appended to room, the client's
// address formatted by text (nil: formatted anew).
func appendExtraHeaders(room []header, text *addrText, fwd *haproxycfg.ForwardFor, req *httpRequest, client netip.Addr) []header {
	if fwd == nil || !client.IsValid() {
		return nil
	}
	client = client.Unmap()
	if fwd.Except.IsValid() && fwd.Except.Contains(client) {
		return nil
	}
	name := strings.ToLower(fwd.Header)
	if name == "" {
		name = "x-forwarded-for"
	}
	if fwd.IfNone {
		for _, hd := range req.headers {
			if hd.name == name {
				return nil
			}
		}
	}
	return append(room, header{name, text.of(client)})
}

// addrText keeps the text of the last address formatted: a client
// connection's address, the same for each of its requests, is formatted
// once (forwardfor's field).
type addrText struct {
	a netip.Addr
	s string
}

func (t *addrText) of(a netip.Addr) string {
	if t == nil {
		return a.String()
	}
	if t.s == "" || t.a != a {
		t.a, t.s = a, a.String()
	}
	return t.s
}
