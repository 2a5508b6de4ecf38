package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"hapair/pkg/sample"
)

// maxRequestHead is the largest request head accepted: haproxy 2.6's
// tune.bufsize (16384) less tune.maxrewrite (1024). A longer head is a bad
// request.
const maxRequestHead = 16384 - 1024

// Request read outcomes; each ends the connection with its own log line.
var (
	// errEmptyRequest means the client closed without sending a byte.
	errEmptyRequest = errors.New("proxy: connection closed before a request")
	// errCutRequest means the client closed in the middle of a request
	// head (haproxy's "CR", status 400, nothing sent back).
	errCutRequest = errors.New("proxy: connection closed in the middle of a request")
	// errBadRequest means the head is malformed (haproxy's "PR", 400).
	errBadRequest = errors.New("proxy: malformed request")
	// errUnknownCoding means a transfer coding other than chunked comes
	// before the final chunked one (haproxy's 422, logged "PR").
	errUnknownCoding = errors.New("proxy: unsupported transfer coding")
)

// header is one request header field as received.
type header struct{ name, value string }

// httpRequest is a parsed HTTP/1.x request head.
type httpRequest struct {
	method, uri, version string
	// headers are the fields as haproxy 2.6 forwards them, in their order:
	// one Host, one Content-Length (none with Transfer-Encoding), the
	// Connection tokens other than close and keep-alive.
	headers       []header
	host          string
	contentLength int64 // -1 when the request has no Content-Length
	chunked       bool
	// upgrade is the Upgrade header of an HTTP/1.1 request that also
	// says "Connection: upgrade" (both are then forwarded; after a 101
	// the connection becomes a tunnel); "" otherwise.
	upgrade string
	// htx is the head's size as haproxy 2.6 counts it in %U (HTX form:
	// start line and fields as parsed, Connection close/keep-alive
	// removed), set by readRequest.
	htx int64
	// notFirst: an earlier request came on the same HTTP/1 connection,
	// or the request is an HTTP/2 stream (http_first_req false).
	notFirst       bool
	keepAlive      bool // the client allows another request afterwards
	expectContinue bool // "Expect: 100-continue": the client waits before its body
	size           int  // bytes of the head, CRLFs included
	// direct: the server persistence chose (a cookie, use-server or a
	// stick match: haproxy's SF_DIRECT), which retries stay on.
	direct    *Server
	persist   *persistence // cookie persistence (cookie.go); nil without
	bodyStart []byte       // the body received with the head, for url_param (lb.go)
	eol       int          // length of the last line's end: 1 (LF) or 2 (CRLF)
	inBuf     string       // the rest of a head found whole in the read buffer
	// headerRoom holds headers when they fit (one allocation with the
	// request).
	headerRoom [8]header
}

// readRequest reads and checks one request head with the rules of haproxy
// 2.6's HTTP/1 parser that a client can observe: a request line of three
// parts with a token method, a URI of visible ASCII without '#', version
// HTTP/d.d; header names are tokens followed at once by ':'; values hold
// no control character but HTAB; folded lines are joined; one Host;
// Content-Length values agree; Transfer-Encoding ends with chunked and
// then replaces Content-Length (RFC 9112 section 6.3). Lines may end in
// CRLF or a bare LF.
func readRequest(br *bufio.Reader) (*httpRequest, error) {
	r := &httpRequest{contentLength: -1}
	if n := br.Buffered(); n > 0 {
		// The common head, whole in the buffer: one string for all its
		// lines (readLine takes them from it as it would from br).
		if buf, _ := br.Peek(n); len(buf) > 0 {
			if end := headEnd(buf); end > 0 && end <= maxRequestHead {
				r.inBuf = string(buf[:end])
			}
		}
	}
	line, err := r.readLine(br)
	if err != nil {
		if r.size == 0 && errors.Is(err, io.EOF) {
			return nil, errEmptyRequest
		}
		return nil, err
	}
	if err := r.parseRequestLine(line); err != nil {
		return nil, err
	}
	// Collect the fields first: an obsolete folded line continues the
	// previous value, haproxy turning the line end into spaces (RFC 9112
	// section 5.2).
	var fieldsArr [24]header
	fields := fieldsArr[:0]
	for {
		eol := r.eol
		line, err := r.readLine(br)
		if err != nil {
			return nil, err
		}
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) == 0 {
				return nil, errBadRequest
			}
			last := &fields[len(fields)-1]
			last.value = strings.Trim(last.value+strings.Repeat(" ", eol)+line, " \t")
			continue
		}
		i := strings.IndexByte(line, ':')
		if i <= 0 || !isToken(line[:i]) {
			return nil, errBadRequest
		}
		fields = append(fields, header{line[:i], strings.Trim(line[i+1:], " \t")})
	}
	var te, connTokens, kept []string
	clAt, connAt, hostSeen := -1, -1, false
	upgrade := r.upgradeRequested(fields)
	switch {
	case len(fields) >= len(r.headerRoom):
		r.headers = make([]header, 0, len(fields)+1)
	case len(fields) > 0:
		r.headers = r.headerRoom[:0]
	}
	for _, f := range fields {
		name, value := lowerName(f.name), f.value
		if err := checkValue(value); err != nil {
			return nil, err
		}
		switch name {
		case "content-length":
			elems := strings.Split(value, ",")
			for _, v := range elems {
				n, ok := parseContentLength(strings.Trim(v, " \t"))
				if !ok || (r.contentLength >= 0 && n != r.contentLength) {
					return nil, errBadRequest
				}
				r.contentLength = n
			}
			if clAt >= 0 {
				continue // a repeat of the same length
			}
			if len(elems) > 1 {
				// haproxy sends a list of equal lengths as one.
				value = strconv.FormatInt(r.contentLength, 10)
			}
			clAt = len(r.headers)
		case "transfer-encoding":
			for _, v := range strings.Split(value, ",") {
				te = append(te, strings.ToLower(strings.Trim(v, " \t")))
			}
		case "connection":
			for _, v := range strings.Split(value, ",") {
				v = strings.Trim(v, " \t")
				lv := strings.ToLower(v)
				connTokens = append(connTokens, lv)
				// close and keep-alive concern this connection only;
				// upgrade goes with the Upgrade header, not relayed.
				if lv != "close" && lv != "keep-alive" && (lv != "upgrade" || upgrade) && v != "" {
					kept = append(kept, v)
				}
			}
			if connAt < 0 {
				connAt = len(r.headers)
				r.headers = append(r.headers, header{name: name})
			}
			continue
		case "upgrade":
			if !upgrade {
				continue // without "Connection: upgrade" it is dropped
			}
			if r.upgrade == "" {
				r.upgrade = value
			}
		case "expect":
			r.expectContinue = strings.EqualFold(value, "100-continue")
		case "host":
			if hostSeen {
				if r.host != value {
					return nil, errBadRequest
				}
				continue
			}
			hostSeen, r.host = true, value
		}
		r.headers = append(r.headers, header{name, value})
	}
	if connAt >= 0 {
		if len(kept) > 0 {
			r.headers[connAt].value = strings.Join(kept, ", ")
		} else {
			r.headers = slices.Delete(r.headers, connAt, connAt+1)
			if clAt > connAt {
				clAt--
			}
		}
	}
	if len(te) > 0 {
		// Only "chunked", last and once; haproxy 2.6 takes it from an
		// HTTP/1.0 client too.
		n := 0
		for _, v := range te {
			if v == "chunked" {
				n++
			}
		}
		if te[len(te)-1] != "chunked" || n != 1 {
			return nil, errBadRequest
		}
		if len(te) > 1 {
			// Codings haproxy 2.6 cannot undo ("gzip, chunked").
			return nil, errUnknownCoding
		}
		r.chunked, r.contentLength = true, -1
		if clAt >= 0 {
			r.headers = slices.Delete(r.headers, clAt, clAt+1)
		}
	}
	if err := r.normalizeAuthority(hostSeen); err != nil {
		return nil, err
	}
	r.htx = int64(htxStartLine+len(r.method)+len(r.uri)+len(r.version)) + htxEOH
	for _, f := range r.headers {
		r.htx += int64(len(f.name) + len(f.value))
	}
	r.keepAlive = r.http11()
	if !r.http11() && slices.Contains(connTokens, "keep-alive") {
		r.keepAlive = true
	}
	if slices.Contains(connTokens, "close") || r.chunked && clAt >= 0 {
		// Both Transfer-Encoding and Content-Length: a smuggling
		// attempt, or a broken client; haproxy 2.6 keeps the chunked
		// framing and closes the connection after the response
		// (RFC 9112 section 6.3, item 3).
		r.keepAlive = false
	}
	return r, nil
}

// normalizeAuthority applies haproxy 2.6's rules to an absolute-form
// target ("scheme://authority/path"): the Host header, when there is one,
// must name the authority (userinfo aside, case and an http or https
// default port ignored), else the request is bad; an http or https
// default port, or an empty one, is dropped from the target, and the Host
// header then becomes the authority. Other targets are forwarded as
// received, byte for byte ("//a/b" included).
func (r *httpRequest) normalizeAuthority(hostSeen bool) error {
	scheme, auth, rest, ok := splitAbsolute(r.uri)
	if !ok {
		return nil
	}
	host := auth
	if k := strings.LastIndexByte(auth, '@'); k >= 0 {
		host = auth[k+1:]
	}
	def := ""
	switch strings.ToLower(scheme) {
	case "http":
		def = "80"
	case "https":
		def = "443"
	}
	norm := stripDefaultPort(host, def)
	if hostSeen && host != "" && !strings.EqualFold(norm, stripDefaultPort(r.host, def)) {
		return errBadRequest
	}
	if norm == host {
		return nil
	}
	r.uri = scheme + "://" + auth[:len(auth)-len(host)] + norm + rest
	if hostSeen {
		r.host = norm
		for i := range r.headers {
			if r.headers[i].name == "host" {
				r.headers[i].value = norm
			}
		}
	}
	return nil
}

// splitAbsolute splits an absolute-form target at "://" and the first
// '/' after it, as haproxy finds the authority (a query does not end it).
func splitAbsolute(uri string) (scheme, authority, rest string, ok bool) {
	i := strings.IndexByte(uri, ':')
	if i <= 0 || uri[0] == '/' || !strings.HasPrefix(uri[i:], "://") {
		return "", "", "", false
	}
	a := uri[i+3:]
	j := strings.IndexByte(a, '/')
	if j < 0 {
		j = len(a)
	}
	return uri[:i], a[:j], a[j:], true
}

// stripDefaultPort drops ":" or ":def" (def not empty) ending host.
func stripDefaultPort(host, def string) string {
	if def == "" {
		return host
	}
	if strings.HasSuffix(host, ":") {
		return host[:len(host)-1]
	}
	if strings.HasSuffix(host, ":"+def) {
		return host[:len(host)-len(def)-1]
	}
	return host
}

// http11 reports whether the request is HTTP/1.1 or later, where
// connections stay open by default.
func (r *httpRequest) http11() bool { return r.version >= "HTTP/1.1" }

// readLine returns one line without its CRLF or LF, counting it in r.size.
func (r *httpRequest) readLine(br *bufio.Reader) (string, error) {
	if r.inBuf != "" {
		i := strings.IndexByte(r.inBuf, '\n') + 1 // the head ends with a line end
		line := r.inBuf[:i]
		r.inBuf = r.inBuf[i:]
		_, _ = br.Discard(i)
		r.size += i
		if r.size > maxRequestHead {
			return "", errBadRequest
		}
		return r.endLine(line)
	}
	var buf []byte
	for {
		b, err := br.ReadSlice('\n')
		r.size += len(b)
		if r.size > maxRequestHead {
			return "", errBadRequest
		}
		if err == nil && buf == nil {
			buf = b // whole in the buffer: converted below, not copied first
			break
		}
		buf = append(buf, b...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if r.size == 0 {
				return "", io.EOF
			}
			return "", errCutRequest
		}
		return "", err
	}
	return r.endLine(string(buf))
}

// endLine checks a line read whole and returns it without its end.
func (r *httpRequest) endLine(line string) (string, error) {
	line = line[:len(line)-1]
	r.eol = 1
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
		r.eol = 2
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c == '\r' || c == 0 {
			return "", errBadRequest
		}
	}
	return line, nil
}

// parseRequestLine splits the request line with the rules the mode tcp
// fetches share (sample.SplitRequestLine); DEL is let through in the URI,
// as haproxy's HTTP/1 mux does.
func (r *httpRequest) parseRequestLine(line string) error {
	m, uri, version, ok := sample.SplitRequestLine(line, true)
	if !ok || !sample.ValidVersion(version) {
		return errBadRequest
	}
	r.method, r.uri, r.version = m, uri, version
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseContentLength reads one Content-Length element as haproxy 2.6
// does: one or more digits and nothing else ("+5", "-0", "0x5", "" and
// "5 5" are bad requests; "05" is 5), at most 2^63-1.
func parseContentLength(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, false
		}
		d := int64(v[i] - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// checkValue refuses control characters but HTAB in a field value. haproxy
// 2.6 forwards a NUL there; we refuse it, as RFC 9110 section 5.5 allows
// and as Go's client would refuse to send it.
func checkValue(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return errBadRequest
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token (section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// bodyReader reads a request body off the client connection: exactly
// Content-Length bytes, or chunks up to the last one and its trailers. It
// records whether the whole body was read, so the connection can serve
// another request, and never closes the connection.
type bodyReader struct {
	r     io.Reader
	first func() // called before the first read, once
	// pre is the body read ahead by waitBody, not yet read; buffered all
	// that was read ahead (req.body).
	pre, buffered []byte
	aborted       bool // the client closed while its body was waited for
	br            *bufio.Reader
	ch            bool
	done          chan struct{} // closed at the end of the body
	mu            sync.Mutex
	err           error // the client's read error, set by the reading goroutine
	// got counts the body bytes read from the client (decoded: chunk
	// framing aside), for %U.
	got atomic.Int64
}

// readErr is the error that ended the body early, if any.
func (b *bodyReader) readErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func newBodyReader(br *bufio.Reader, req *httpRequest) *bodyReader {
	return new(bodyReader).init(br, req)
}

// init sets a zero b up as newBodyReader's, in its caller's room.
func (b *bodyReader) init(br *bufio.Reader, req *httpRequest) *bodyReader {
	b.br, b.done = br, closedDone
	switch {
	case req.chunked:
		b.ch = true
		b.r = &chunkReader{br: br}
		b.done = make(chan struct{})
	case req.contentLength > 0:
		b.r = &lengthReader{br: br, left: req.contentLength}
		b.done = make(chan struct{})
	}
	return b
}

// closedDone is the done of every body-less request: closed, never
// closed again (read closes done only with a body reader).
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (b *bodyReader) Read(p []byte) (n int, err error) {
	if len(b.pre) > 0 {
		// The part read ahead (waitBody) comes first.
		n = copy(p, b.pre)
		b.pre = b.pre[n:]
		return n, nil
	}
	return b.read(p)
}

func (b *bodyReader) read(p []byte) (n int, err error) {
	defer func() {
		// Go's client reads the body on its own goroutine: a panic here
		// fails this request only (its connection is then not reused).
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("proxy: panic reading the request body: %v", r)
			b.mu.Lock()
			b.err = err
			b.mu.Unlock()
		}
	}()
	if b.r == nil {
		return 0, io.EOF
	}
	if f := b.first; f != nil {
		b.first = nil
		f()
	}
	n, err = b.r.Read(p)
	b.got.Add(int64(n))
	if err == io.EOF {
		b.r = nil
		close(b.done)
	} else if err != nil {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
	}
	return n, err
}

func (b *bodyReader) Close() error { return nil }

// complete reports whether the body was read to its end.
func (b *bodyReader) complete() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// parseChunkSize reads a chunk-size line: hex digits, then optional
// extensions after ';' (RFC 9112 section 7.1.1).
func parseChunkSize(l string) (int64, error) {
	size, _, _ := strings.Cut(l, ";")
	size = strings.TrimRight(size, " \t")
	if size == "" || len(size) > 15 {
		return 0, errBadRequest
	}
	for i := 0; i < len(size); i++ {
		if c := size[i] | 0x20; !isDigit(size[i]) && (c < 'a' || c > 'f') {
			return 0, errBadRequest
		}
	}
	n, err := strconv.ParseInt(size, 16, 64)
	if err != nil {
		return 0, errBadRequest
	}
	return n, nil
}

// checkBufferedChunks checks the framing of the chunked body bytes that
// arrived with the head. haproxy parses them with the head, so an error
// there is a bad request (<BADREQ>, "PR") rather than a body error.
func checkBufferedChunks(buf []byte) error {
	for len(buf) > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return nil
		}
		line := strings.TrimSuffix(string(buf[:i]), "\r")
		n, err := parseChunkSize(line)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // trailers follow
		}
		buf = buf[i+1:]
		if int64(len(buf)) < n+1 {
			return nil
		}
		buf = buf[n:]
		switch {
		case buf[0] == '\n':
			buf = buf[1:]
		case buf[0] == '\r' && len(buf) == 1:
			return nil
		case buf[0] == '\r' && buf[1] == '\n':
			buf = buf[2:]
		default:
			return errBadRequest
		}
	}
	return nil
}

// lengthReader reads a Content-Length body; the client's close before its
// end is an error, not the end of the body.
type lengthReader struct {
	br   *bufio.Reader
	left int64
}

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.br.Read(p)
	l.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && l.left == 0 {
		err = io.EOF
	}
	return n, err
}

// chunkReader decodes chunked transfer coding (RFC 9112 section 7.1),
// trailers included, reading no further than the message's end.
type chunkReader struct {
	br   *bufio.Reader
	left int64 // bytes left in the current chunk
	eof  bool
	mid  bool // inside a chunk's data
}

func (c *chunkReader) line() (string, error) {
	var buf []byte
	for {
		b, err := c.br.ReadSlice('\n')
		buf = append(buf, b...)
		if len(buf) > 4096 {
			return "", errBadRequest
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r")
	if strings.ContainsAny(s, "\r\x00") {
		return "", errBadRequest
	}
	return s, nil
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.eof {
		return 0, io.EOF
	}
	if !c.mid {
		l, err := c.line()
		if err != nil {
			return 0, err
		}
		n, err := parseChunkSize(l)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			for { // trailers up to the empty line
				l, err := c.line()
				if err != nil {
					return 0, err
				}
				if l == "" {
					break
				}
			}
			c.eof = true
			return 0, io.EOF
		}
		c.left, c.mid = n, true
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.left == 0 {
		l, lerr := c.line()
		if lerr != nil {
			return n, lerr
		}
		if l != "" {
			return n, errBadRequest
		}
		c.mid = false
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
