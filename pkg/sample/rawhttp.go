package sample

import (
	"bytes"
	"strings"
)

// HTTP fetches in mode tcp. haproxy 2.6 answers an HTTP request fetch
// (path, hdr(), method...) in a tcp-mode rule by parsing the buffered
// payload as an HTTP/1 request head (smp_prefetch_htx, "RAW mode"): a
// `tcp-request content reject if { path_beg /admin }` rejects there. The
// head is parsed again only when the payload grew.
//
// pkg/proxy's HTTP/1 parser shares the request line's rules
// (SplitRequestLine) but not the rest: it reads a stream through bufio
// with size limits and rewrites the head for forwarding (Connection,
// Content-Length/Transfer-Encoding, authority), while this one must tell
// an incomplete head from an invalid one on a byte slice and keep the
// fields as sent. One parser for both would mean moving pkg/proxy's
// below pkg/sample and giving it an incomplete state, for no gain in
// what either answers.

// rawState is the outcome of parsing the payload as a request head.
type rawState uint8

const (
	rawIncomplete rawState = iota // no end of head yet: may change with more data
	rawInvalid                    // not an HTTP/1 request: no sample, final
	rawOK
)

// rawFullBuffer is where a head still incomplete stops waiting: haproxy's
// buffer (tune.bufsize 16384) less its reserve (tune.maxrewrite 1024).
const rawFullBuffer = 16384 - 1024

// rawCache is the last parse of Txn.Payload.
type rawCache struct {
	len   int // len(Payload) when parsed; -1: never
	state rawState
	msg   Message
}

// usesHTTPRequest reports whether f reads the HTTP request.
func usesHTTPRequest(f *FetchDef) bool {
	return useOf(f)&(useHrqhv|useHrqhp|useHrqbo) != 0
}

// withRawRequest runs fn with t.Req set from the payload when f reads the
// HTTP request and the stream has no HTTP message (mode tcp). ok is false
// when the payload holds no request head (fn is not called).
func (t *Txn) withRawRequest(f *FetchDef, fn func()) (ok bool) {
	if t.Req != nil || t.Payload == nil || !usesHTTPRequest(f) {
		fn()
		return true
	}
	if t.raw == nil {
		t.raw = &rawCache{len: -1}
	}
	c := t.raw
	if c.len != len(t.Payload) {
		c.len = len(t.Payload)
		c.msg = Message{}
		c.state = parseRequestHead(t.Payload, &c.msg)
		if c.state == rawIncomplete && len(t.Payload) >= rawFullBuffer {
			c.state = rawInvalid
		}
	}
	switch c.state {
	case rawIncomplete:
		t.MayChange()
		return false
	case rawInvalid:
		return false
	}
	t.Req = &c.msg
	fn()
	t.Req = nil
	return true
}

// SplitRequestLine splits an HTTP/1 request line as haproxy 2.6's h1
// parser does, for pkg/proxy's request parser and for the mode tcp
// fetches here: the parts are separated by runs of spaces or tabs, the
// method is a token, the URI a run of visible ASCII without '#' (DEL
// only with allowDEL: haproxy's HTTP/1 mux lets it through, its raw
// parse of a tcp payload does not). ok is false when the method or the
// URI is bad; version is what follows the URI, "" when nothing does
// (ValidVersion tells whether it is one).
func SplitRequestLine(line string, allowDEL bool) (method, uri, version string, ok bool) {
	cut := func(s string) (string, string, bool) {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return s, "", false
		}
		return s[:i], strings.TrimLeft(s[i:], " \t"), true
	}
	method, rest, ok := cut(line)
	if !ok || method == "" || !isToken([]byte(method)) {
		return "", "", "", false
	}
	uri, version, _ = cut(rest)
	if uri == "" {
		return "", "", "", false
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c > 0x7f || c == '#' || c == 0x7f && !allowDEL {
			return "", "", "", false
		}
	}
	return method, uri, version, true
}

// ValidVersion accepts "HTTP/" digit "." digit, as haproxy 2.6 does (a
// request claiming HTTP/2.0 over HTTP/1 syntax is served as HTTP/1.1).
func ValidVersion(v string) bool {
	return len(v) == 8 && strings.HasPrefix(v, "HTTP/") && isDigit(v[5]) && v[6] == '.' && isDigit(v[7])
}

// parseRequestHead reads an HTTP/1 request line and headers from b into m,
// as haproxy's h1 parser accepts them: CRLF or bare LF line ends, folded
// header lines joined with a space, an HTTP/0.9 "GET /uri" taken as
// HTTP/1.0.
func parseRequestHead(b []byte, m *Message) rawState {
	line, rest, ok := cutLine(b)
	if !ok {
		if badRequestLinePrefix(b) {
			return rawInvalid // haproxy's parser stops at the first bad byte
		}
		return rawIncomplete
	}
	meth, uri, ver, ok := SplitRequestLine(string(line), false)
	hasVer := ver != ""
	switch {
	case !ok:
		return rawInvalid
	case !hasVer:
		if meth != "GET" {
			return rawInvalid
		}
		ver = "HTTP/1.0"
	case !ValidVersion(ver):
		return rawInvalid
	}
	m.Method, m.URI, m.Version = meth, uri, ver
	if !hasVer {
		return rawOK // HTTP/0.9: no headers follow
	}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return rawIncomplete
		}
		if len(line) == 0 {
			return rawOK
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(m.Headers) == 0 {
				return rawInvalid
			}
			h := &m.Headers[len(m.Headers)-1]
			h.Value = string(bytes.TrimRight([]byte(h.Value+" "+string(bytes.TrimLeft(line, " \t"))), " \t"))
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 || !isToken(name) {
			return rawInvalid
		}
		m.Headers = append(m.Headers, Header{Name: string(name), Value: string(bytes.Trim(value, " \t"))})
	}
}

// badRequestLinePrefix reports whether p, the start of a request line
// whose end has not arrived, can no longer become a valid one: a byte a
// method, a URI or "HTTP/" cannot hold (a TLS hello fails at once).
func badRequestLinePrefix(p []byte) bool {
	p = bytes.TrimSuffix(p, []byte{'\r'})
	meth, rest, hasURI := bytes.Cut(p, []byte{' '})
	if !isToken(meth) || hasURI && len(meth) == 0 {
		return true
	}
	uri, ver, hasVer := bytes.Cut(rest, []byte{' '})
	for _, c := range uri {
		if c < 0x21 || c == 0x7f {
			return true
		}
	}
	if !hasVer {
		return false
	}
	const proto = "HTTP/"
	n := min(len(ver), len(proto))
	return string(ver[:n]) != proto[:n]
}

// cutLine splits b at its first line end (CRLF or LF).
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	line = b[:i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, b[i+1:], true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isToken: RFC 7230's tchar, what methods and header names are made of.
func isToken(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', isDigit(c):
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return true
}
