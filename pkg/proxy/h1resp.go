package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/net/http/httpguts"
)

// parseRespHead parses a server's response head found whole at the start
// of buf, in place: the common case of a final response with a
// Content-Length (or none) and plain fields, giving the http.Response
// that http.ReadResponse gives for the same bytes without its textproto
// reader, per-line strings and transfer reader. ok is false for any head
// outside that case (interim responses, Transfer-Encoding, folded or
// malformed lines, bare LF or CR, a HEAD request...): the caller leaves
// those to http.ReadResponse, which also reports the errors. n is the
// head's length, blank line included. The body reader is not set.
//
// The room also holds the head (raw, the lines without the blank one)
// and its fields in order as writeResponse passes them on (fields: names
// lower-cased, values trimmed), so that the head is not split again.
// room is filled when given (the caller's, one allocation with its
// request), else allocated. The header map is built only when withHeader is
// true (else resp.Header stays nil until fillHeader): the common
// forward reads the ordered fields, and the map cost two allocations and
// a canonical key per field.
//
// FuzzRespHead checks every head this accepts against http.ReadResponse.
func parseRespHead(buf []byte, req *http.Request, room *respRoom, withHeader bool) (_ *respRoom, n int, ok bool) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 || (req != nil && req.Method == http.MethodHead) {
		return nil, 0, false
	}
	n = end + 4
	raw := buf[:end+2] // each line with its CRLF
	// Status line: HTTP/1.x, three digits, then the reason after a space.
	if len(raw) < 14 || string(raw[:7]) != "HTTP/1." || (raw[7] != '0' && raw[7] != '1') || raw[8] != ' ' ||
		raw[9] < '2' || raw[9] > '5' || !isDigit(raw[10]) || !isDigit(raw[11]) {
		return nil, 0, false
	}
	nl := bytes.IndexByte(raw, '\n')
	if nl < 13 || raw[nl-1] != '\r' || (nl > 13 && raw[12] != ' ') {
		return nil, 0, false
	}
	for _, c := range raw[9 : nl-1] {
		if c == '\r' || c == '\n' {
			return nil, 0, false
		}
	}
	code := int(raw[9]-'0')*100 + int(raw[10]-'0')*10 + int(raw[11]-'0')
	// The fields: count them and check their bytes first.
	fields := 0
	for p := raw[nl+1:]; len(p) > 0; {
		i := bytes.IndexByte(p, '\n')
		if i < 1 || p[i-1] != '\r' {
			return nil, 0, false
		}
		line := p[:i-1]
		p = p[i+1:]
		colon := bytes.IndexByte(line, ':')
		if colon < 1 {
			return nil, 0, false
		}
		for _, c := range line[:colon] {
			if !validFieldNameByte(c) {
				return nil, 0, false
			}
		}
		for _, c := range line[colon+1:] {
			if !validFieldValueByte(c) {
				return nil, 0, false
			}
		}
		fields++
	}
	// The names are tokens (checked above): Go's canonical key of a name
	// is then equal to it but for case, so the lower-cased names below
	// decide as the keys of Go's map would.
	if room == nil {
		room = new(respRoom)
	}
	flds := room.fields[:0]
	if fields > len(room.fields) {
		flds = make([]header, 0, fields)
	}
	var contentLength string
	lens := 0
	hasClose, hasKeepAlive := false, false
	// One string holds the head: names (when common) and values are
	// parts of it. A room's first head is copied into the room itself.
	var head string
	if !room.headUsed && len(raw) <= len(room.headBuf) {
		head = room.keepHead(raw)
	} else {
		head = string(raw)
	}
	for p := head[nl+1:]; len(p) > 0; {
		i := strings.IndexByte(p, '\n')
		line := p[:i-1]
		p = p[i+1:]
		colon := strings.IndexByte(line, ':')
		name := lowerName(line[:colon])
		value := trimOWS(line[colon+1:])
		flds = append(flds, header{name, value})
		switch name {
		case "transfer-encoding", "pragma", "trailer":
			// Go's reader moves or adds fields for these.
			return nil, 0, false
		case "content-length":
			lens++
			contentLength = value
		case "connection":
			// Go's shouldClose reads every Connection field's tokens.
			hasClose = hasClose || httpguts.HeaderValuesContainsToken([]string{value}, "close")
			hasKeepAlive = hasKeepAlive || httpguts.HeaderValuesContainsToken([]string{value}, "keep-alive")
		}
	}
	room.raw, room.fieldList, room.statusEnd = head, flds, nl
	resp := &room.resp
	*resp = http.Response{
		Status:     head[9 : nl-1],
		StatusCode: code,
		Proto:      head[:8],
		ProtoMajor: 1,
		ProtoMinor: int(raw[7] - '0'),
		Request:    req,
	}
	// Connection: Go's shouldClose, which drops an HTTP/1.1 "close".
	room.dropConn = false
	if resp.ProtoMinor == 0 {
		resp.Close = hasClose || !hasKeepAlive
	} else {
		resp.Close = hasClose
		room.dropConn = hasClose
	}
	// The body's length: Go's fixLength for a response to a non-HEAD
	// request without Transfer-Encoding.
	switch {
	case lens > 1:
		return nil, 0, false
	case lens == 1:
		if contentLength == "" {
			return nil, 0, false
		}
		cl, err := strconv.ParseUint(contentLength, 10, 63)
		if err != nil {
			return nil, 0, false
		}
		resp.ContentLength = int64(cl)
	default:
		resp.ContentLength = -1
	}
	if code == 204 || code == 304 {
		resp.ContentLength = 0
	} else if resp.ContentLength < 0 {
		resp.Close = true // the body ends with the connection
	}
	if withHeader {
		room.fillHeader()
	}
	return room, n, true
}

// fillHeader builds resp.Header as http.ReadResponse does, from the head
// parseRespHead took (its fields' original names, canonical keys).
func (room *respRoom) fillHeader() {
	resp := &room.resp
	if resp.Header != nil {
		return
	}
	lines := room.raw[room.statusEnd+1:]
	fields := strings.Count(lines, "\n")
	h := make(http.Header, fields)
	vals := room.vals[:]
	if fields > len(vals) {
		vals = make([]string, fields)
	}
	for p := lines; len(p) > 0; {
		i := strings.IndexByte(p, '\n')
		line := p[:i-1]
		p = p[i+1:]
		colon := strings.IndexByte(line, ':')
		key := textproto.CanonicalMIMEHeaderKey(line[:colon])
		value := trimOWS(line[colon+1:])
		if vv := h[key]; vv == nil {
			vals[0] = value
			h[key], vals = vals[:1:1], vals[1:]
		} else {
			h[key] = append(vv, value)
		}
	}
	if room.dropConn {
		delete(h, "Connection")
	}
	resp.Header = h
}

// respRoom is a parsed response with room for the values of its fields
// and their list (one allocation for all when they fit).
type respRoom struct {
	resp      http.Response
	raw       string   // the head's lines, each with its CRLF, not the blank line
	fieldList []header // the fields in order (lower-cased names)
	statusEnd int      // the status line's '\n' in raw
	headUsed  bool     // headBuf holds a head
	dropConn  bool     // an HTTP/1.1 "Connection: close", not in Go's header map
	vals      [12]string
	fields    [12]header
	body      h1Body // the response's body (h1ServerConn.roundTrip)
	headBuf   [512]byte
}

// keepHead copies raw into the room's buffer and returns it as a string,
// once per room: the bytes are never written again, so the string stays
// what it is (as unsafe.String requires) while anything refers to it.
func (room *respRoom) keepHead(raw []byte) string {
	room.headUsed = true
	n := copy(room.headBuf[:], raw)
	return unsafe.String(&room.headBuf[0], n)
}

// trimOWS trims spaces and tabs at both ends, as Go's reader trims a
// field's line and then its value.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// validFieldNameByte is a token byte (RFC 9110 tchar).
func validFieldNameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validFieldValueByte is a byte Go's reader accepts in a field value:
// VCHAR, SP, HTAB and obs-text.
func validFieldValueByte(c byte) bool {
	return c == '\t' || (c >= 0x20 && c != 0x7f)
}

// h1BodyReader reads a response body parsed by parseRespHead from the
// server connection's reader: n bytes, or to the connection's end when
// n < 0, with Go's body's errors (io.ErrUnexpectedEOF for a body cut
// short, io.EOF along with the last bytes).
type h1BodyReader struct {
	br     *bufio.Reader
	n      int64
	sawEOF bool
}

func (r *h1BodyReader) Read(p []byte) (int, error) {
	if r.sawEOF {
		return 0, io.EOF
	}
	if r.n == 0 {
		r.sawEOF = true
		return 0, io.EOF
	}
	if r.n > 0 && int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n, err := r.br.Read(p)
	if r.n > 0 {
		r.n -= int64(n)
	}
	if err == io.EOF {
		r.sawEOF = true
		if r.n > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == nil && n > 0 && r.n == 0 {
		err = io.EOF
		r.sawEOF = true
	}
	return n, err
}
