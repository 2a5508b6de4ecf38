package haproxycfg

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorFileMaxSize is the most of an errorfile haproxy 2.6 keeps
// (tune.bufsize); a longer file is truncated, with a warning
// (ErrorFileTruncated).
const ErrorFileMaxSize = 16384

// ErrorMessage is an errorfile's content as haproxy 2.6 holds it once
// loaded: an HTTP response split into its status line, header fields and
// payload. haproxy re-emits it from this form, not byte for byte.
type ErrorMessage struct {
	// Empty: the file is empty. haproxy then closes the connection
	// without sending anything.
	Empty bool
	// Truncated: the file was longer than ErrorFileMaxSize and was cut
	// there before parsing.
	Truncated bool
	Version   string // as written: 8 bytes, "HTTP/1.0" or "HTTP/1.1" in practice
	Status    int
	Reason    string
	// Headers are the fields in file order, names lower-cased, values
	// trimmed, folded lines joined with spaces; a Content-Length repeated
	// with the same value is kept once, and dropped beside a
	// Transfer-Encoding.
	Headers []ErrorHeader
	// ContentLength is the announced length, -1 when the file announces
	// none (the payload then ends with the connection).
	ContentLength int64
	Body          []byte
}

// ErrorHeader is one header field of an ErrorMessage.
type ErrorHeader struct{ Name, Value string }

// ErrorFileTruncated is haproxy's warning for an errorfile longer than
// ErrorFileMaxSize.
func ErrorFileTruncated(path string) string {
	return fmt.Sprintf("custom error message file '%s' larger than %d bytes. Truncating.", path, ErrorFileMaxSize)
}

// ParseErrorFile checks and parses the content of `errorfile CODE FILE`
// as haproxy 2.6 does when it loads the file, so that a file haproxy
// refuses is refused here with the same words. The error's text follows
// "errorfile : " in haproxy's alert, for instance
// "'/etc/haproxy/errors/503.http': unable to parse headers (error offset: 0)".
func ParseErrorFile(path string, content []byte) (*ErrorMessage, error) {
	m := &ErrorMessage{ContentLength: -1}
	if len(content) == 0 {
		m.Empty = true
		return m, nil
	}
	if len(content) > ErrorFileMaxSize {
		content, m.Truncated = content[:ErrorFileMaxSize], true
	}
	fail := func(format string, args ...any) (*ErrorMessage, error) {
		return nil, fmt.Errorf("'%s': "+format, append([]any{path}, args...)...)
	}
	p := &respParser{b: content}
	n, err := p.parse()
	if err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			return fail("unable to parse headers (error offset: %d)", pe.off)
		}
		return fail("%v", err)
	}
	if len(p.version) != 8 {
		return fail("invalid http version (%s)", p.version)
	}
	if p.status < 200 && (p.status == 100 || p.status >= 102) {
		return fail("invalid http status code for an error message (%d)", p.status)
	}
	rest := len(content) - n
	known, bodyless := false, false
	switch {
	case p.status == 204 || p.status == 304:
		known, bodyless = true, true
		p.clen = -1
	case p.chunked:
		return fail("chunk-encoded payload not supported")
	case p.clen >= 0:
		known, bodyless = true, p.clen == 0
	}
	if known && bodyless && rest > 0 {
		return fail("message payload not expected")
	}
	if p.clen >= 0 && p.clen != int64(rest) {
		return fail("payload size does not match the announced content-length (%d != %d)", rest, p.clen)
	}
	m.Version, m.Status, m.Reason = p.version, int(p.status), p.reason
	m.Headers, m.ContentLength = p.headers, p.clen
	m.Body = append([]byte(nil), content[n:]...)
	return m, nil
}

// parseError is a malformed head; off is where haproxy's parser stopped,
// -2 when the head does not end.
type parseError struct{ off int }

func (e *parseError) Error() string { return fmt.Sprintf("malformed head at %d", e.off) }

// respParser reads a response head with the rules of haproxy 2.6's HTTP/1
// parser, which haproxy uses for errorfiles: leading empty lines skipped,
// a version of upper-case letters, digits, '/' and '.', a status of
// digits, an optional reason; header names are tokens, values anything
// but CR and LF; a CR must be followed by LF.
type respParser struct {
	b       []byte
	i       int
	version string
	status  uint32
	reason  string
	headers []ErrorHeader
	clen    int64
	teSeen  bool
	chunked bool
}

var errIncomplete = &parseError{off: -2}

func (p *respParser) at() (byte, bool) {
	if p.i >= len(p.b) {
		return 0, false
	}
	return p.b[p.i], true
}

func (p *respParser) bad() error { return &parseError{off: p.i} }

func isSPHT(c byte) bool { return c == ' ' || c == '\t' }
func isCRLF(c byte) bool { return c == '\r' || c == '\n' }
func isVerChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '.'
}
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// eol consumes a line end at p.i (CR LF or LF).
func (p *respParser) eol() error {
	c, _ := p.at()
	p.i++
	if c == '\r' {
		c, ok := p.at()
		if !ok {
			return errIncomplete
		}
		if c != '\n' {
			return p.bad()
		}
		p.i++
	}
	return nil
}

// parse reads the head and returns its length.
func (p *respParser) parse() (int, error) {
	p.clen = -1
	// Empty lines before the status line.
	for {
		c, ok := p.at()
		if !ok {
			return 0, errIncomplete
		}
		if isTokenChar(c) {
			break
		}
		if !isCRLF(c) {
			return 0, p.bad()
		}
		if err := p.eol(); err != nil {
			return 0, err
		}
	}
	start := p.i
	for {
		c, ok := p.at()
		if !ok {
			return 0, errIncomplete
		}
		if !isVerChar(c) {
			if !isSPHT(c) {
				return 0, p.bad()
			}
			break
		}
		p.i++
	}
	p.version = string(p.b[start:p.i])
	for {
		c, ok := p.at()
		if !ok {
			return 0, errIncomplete
		}
		if isCRLF(c) {
			return 0, p.bad()
		}
		if !isSPHT(c) {
			break
		}
		p.i++
	}
	for {
		c, ok := p.at()
		if !ok {
			return 0, errIncomplete
		}
		if c >= '0' && c <= '9' {
			p.status = p.status*10 + uint32(c-'0')
			p.i++
			continue
		}
		if !isSPHT(c) && !isCRLF(c) {
			return 0, p.bad()
		}
		break
	}
	for {
		c, ok := p.at()
		if !ok {
			return 0, errIncomplete
		}
		if !isSPHT(c) {
			break
		}
		p.i++
	}
	rs := p.i
	for {
		c, ok := p.at()
		if !ok {
			return 0, errIncomplete
		}
		if isCRLF(c) {
			break
		}
		p.i++
	}
	p.reason = string(p.b[rs:p.i])
	if err := p.eol(); err != nil {
		return 0, err
	}
	for {
		c, ok := p.at()
		if !ok {
			return 0, errIncomplete
		}
		if isCRLF(c) {
			if err := p.eol(); err != nil {
				return 0, err
			}
			break
		}
		if err := p.header(); err != nil {
			return 0, err
		}
	}
	if p.teSeen && p.clen >= 0 {
		p.clen = -1
		kept := p.headers[:0]
		for _, h := range p.headers {
			if h.Name != "content-length" {
				kept = append(kept, h)
			}
		}
		p.headers = kept
	}
	return p.i, nil
}

// header reads one field, folded lines included.
func (p *respParser) header() error {
	ns := p.i
	for {
		c, ok := p.at()
		if !ok {
			return errIncomplete
		}
		if c == ':' && p.i > ns {
			break
		}
		if !isTokenChar(c) {
			return p.bad()
		}
		p.i++
	}
	name := strings.ToLower(string(p.b[ns:p.i]))
	p.i++ // ':'
	var val []byte
	for {
		for {
			c, ok := p.at()
			if !ok {
				return errIncomplete
			}
			if isCRLF(c) {
				break
			}
			val = append(val, c)
			p.i++
		}
		le := p.i
		if err := p.eol(); err != nil {
			return err
		}
		c, ok := p.at()
		if !ok {
			return errIncomplete
		}
		if !isSPHT(c) {
			break
		}
		// A folded line: its line end becomes spaces.
		for ; le < p.i; le++ {
			val = append(val, ' ')
		}
	}
	// The value starts after the blanks that follow the colon; its
	// position is where haproxy reports a bad Content-Length.
	vs := ns + len(name) + 1
	for vs < len(p.b) && isSPHT(p.b[vs]) {
		vs++
	}
	v := strings.Trim(string(val), " \t\r\n")
	switch name {
	case "content-length":
		n, ok := errorFileLength(v)
		if !ok || (p.clen >= 0 && n != p.clen) {
			return &parseError{off: vs}
		}
		if p.clen >= 0 {
			return nil // the same length again
		}
		p.clen = n
		if strings.Contains(v, ",") {
			v = fmt.Sprint(n) // a list of equal lengths is sent as one
		}
	case "transfer-encoding":
		p.teSeen = true
		toks := strings.Split(v, ",")
		p.chunked = strings.EqualFold(strings.TrimSpace(toks[len(toks)-1]), "chunked")
	}
	p.headers = append(p.headers, ErrorHeader{name, v})
	return nil
}

// errorFileLength reads a Content-Length value: digits, or a list of
// equal ones.
func errorFileLength(v string) (int64, bool) {
	var n int64 = -1
	for _, e := range strings.Split(v, ",") {
		e = strings.Trim(e, " \t")
		if e == "" {
			return 0, false
		}
		var x int64
		for i := 0; i < len(e); i++ {
			c := e[i]
			if c < '0' || c > '9' || x > (1<<62)/10 {
				return 0, false
			}
			x = x*10 + int64(c-'0')
		}
		if n >= 0 && x != n {
			return 0, false
		}
		n = x
	}
	return n, true
}
