package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// h2Resp turns the HTTP/1.1 response that the request path writes for an
// HTTP/2 stream into that stream's response, as the bytes come: the head
// becomes the HEADERS (parsed as http.ReadResponse parses it), the body
// is decoded (chunks, a length, or until the path ends) into DATA. It
// runs on the path's own goroutine, the stream's handler: no pipe and no
// goroutine between the two.
type h2Resp struct {
	w      http.ResponseWriter
	method string // the request's method as the server saw it
	ext    bool   // an extended CONNECT: a 101 is the tunnel's 200
	hbuf   []byte // a head not whole yet
	state  h2RespState
	left   int64  // body bytes still to come (respLength), or of the chunk
	length int64  // the declared length, -1 without
	line   []byte // a chunk size or trailer line not whole yet
	excess int64  // chunk framing beyond what net/http allows for the data
	http10 bool   // chunks of an HTTP/1.0 server: no trailer
	err    error  // why the response cannot go on (sticky)
}

type h2RespState uint8

const (
	respHead      h2RespState = iota // waiting for the (next) head
	respLength                       // a body of known length
	respUntilEnd                     // a body ending with the path
	respChunkSize                    // a chunk size line
	respChunkData                    // a chunk's bytes
	respChunkCRLF                    // the CRLF after a chunk
	respTrailer                      // trailer lines until the blank one
	respTunnel                       // after a 101: bytes as they come
	respDone                         // the response is whole
)

var errBadH1Response = errors.New("http/2 stream: malformed HTTP/1.1 response from the request path")

// write takes the next bytes of the response. A client's write error is
// returned as a clientWriteError, as the pipe of the request path gave it.
func (r *h2Resp) write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n := len(p)
	wrote := false
	for len(p) > 0 && r.err == nil {
		switch r.state {
		case respHead:
			var ok bool
			p, ok = r.takeHead(p)
			if !ok {
				return n, nil // more of the head to come
			}
			// A head with a length waits for the body's first bytes (one
			// without was sent already, see bodyAfter).
		case respLength:
			k := int(min(int64(len(p)), r.left))
			r.send(p[:k])
			p, r.left = p[k:], r.left-int64(k)
			if r.left == 0 {
				r.state = respDone
			}
			wrote = true
		case respUntilEnd, respTunnel:
			r.send(p)
			p = nil
			wrote = true
		case respChunkSize, respTrailer:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				if len(r.line)+len(p) > 4096 {
					r.err = errBadH1Response
					break
				}
				r.line = append(r.line, p...)
				return n, nil
			}
			line := p[:i+1]
			if len(r.line) > 0 {
				r.line = append(r.line, line...)
				line = r.line
			}
			p = p[i+1:]
			r.chunkLine(line)
			r.line = r.line[:0]
		case respChunkData:
			k := int(min(int64(len(p)), r.left))
			r.send(p[:k])
			p, r.left = p[k:], r.left-int64(k)
			if r.left == 0 {
				r.state, r.left = respChunkCRLF, 2
			}
			wrote = true
		case respChunkCRLF:
			want := "\r\n"[2-r.left:]
			k := min(len(p), len(want))
			if string(p[:k]) != want[:k] {
				r.err = errBadH1Response
				break
			}
			p, r.left = p[k:], r.left-int64(k)
			if r.left == 0 {
				r.state = respChunkSize
			}
		case respDone:
			// Nothing follows a whole response on a stream (the response
			// stays whole).
			return n - len(p), errStreamClosed
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	// What arrived leaves at once, as haproxy forwards it, but the last
	// bytes, which go with END_STREAM when the stream ends.
	if wrote && r.state != respDone {
		r.w.(http.Flusher).Flush() // an error comes with the next write
	}
	return n, nil
}

// send writes body bytes to the client.
func (r *h2Resp) send(p []byte) {
	if len(p) == 0 {
		return
	}
	if _, err := r.w.Write(p); err != nil && r.err == nil {
		r.err = &clientWriteError{err}
	}
}

// takeHead gathers and parses a head, then sends it; it returns the bytes
// after the head, and false while the head is not whole.
func (r *h2Resp) takeHead(p []byte) ([]byte, bool) {
	buf := p
	if len(r.hbuf) > 0 {
		r.hbuf = append(r.hbuf, p...)
		buf = r.hbuf
	}
	end := headEnd(buf)
	if end < 0 {
		if len(buf) > 64<<10 {
			r.err = errBadH1Response
			return nil, false
		}
		if len(r.hbuf) == 0 {
			r.hbuf = append(r.hbuf, p...)
		}
		return nil, false
	}
	rest := p[len(p)-(len(buf)-end):]
	head := buf[:end]
	r.startResponse(head)
	r.hbuf = r.hbuf[:0]
	return rest, true
}

// startResponse sends the response of head, or skips it if it is an
// interim one, and sets how its body comes.
func (r *h2Resp) startResponse(head []byte) {
	if r.method != http.MethodHead && r.fastHead(head) {
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: r.method})
	if err != nil || resp.StatusCode < 100 {
		r.err = errBadH1Response
		return
	}
	if resp.StatusCode/100 == 1 && resp.StatusCode != http.StatusSwitchingProtocols {
		// Interim responses are not relayed (see the package comment);
		// the final one follows.
		r.state = respHead
		return
	}
	// The HTTP/1 path passes an HTTP/1.0 server's chunked response on as
	// it is: its chunks are decoded here too.
	if len(head) > 9 && string(head[:9]) == "HTTP/1.0 " && lastCodingChunked(head) {
		chunkedHTTP10(resp)
		r.http10 = true
	}
	r.sendHead(resp, len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked")
}

// sendHead sends the head of resp and sets how its body comes.
func (r *h2Resp) sendHead(resp *http.Response, chunked bool) {
	hdr := r.w.Header()
	for k, vs := range resp.Header {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
			continue
		}
		hdr[k] = vs
	}
	// Only what the server (or the proxy's own page) sent: no Date or
	// sniffed Content-Type added by Go's server.
	noDateType(hdr)
	if r.ext && resp.StatusCode == http.StatusSwitchingProtocols {
		// The upgrade is the extended CONNECT's 200 (RFC 8441 section
		// 5), then the stream carries the tunnel.
		r.w.WriteHeader(http.StatusOK)
		r.state = respTunnel
		r.w.(http.Flusher).Flush()
		return
	}
	r.bodyAfter(resp.StatusCode, resp.ContentLength, chunked)
}

// noDateType keeps Go's server from adding a Date or a sniffed
// Content-Type: only what the server (or the proxy's own page) sent.
func noDateType(hdr http.Header) {
	if _, ok := hdr["Date"]; !ok {
		hdr["Date"] = nil
	}
	if _, ok := hdr["Content-Type"]; !ok {
		hdr["Content-Type"] = nil
	}
}

// bodyAfter sends the status and sets how the body comes.
func (r *h2Resp) bodyAfter(code int, length int64, chunked bool) {
	r.w.WriteHeader(code)
	r.length = length
	noBody := r.method == http.MethodHead || code/100 == 1 ||
		code == http.StatusNoContent || code == http.StatusNotModified
	switch {
	case noBody:
		r.state = respDone
	case chunked:
		r.state, r.length = respChunkSize, -1
	case length >= 0:
		r.state, r.left = respLength, length
		if r.left == 0 {
			r.state = respDone
		}
	default:
		r.state = respUntilEnd
	}
	if length < 0 && r.state != respDone {
		// No length: the head leaves now, without a content-length Go's
		// server would add for a body that fits one frame.
		r.w.(http.Flusher).Flush()
	}
}

// chunkLine takes a chunk size line or a trailer line (with its LF), as
// net/http's chunked reader and trailer reader take them.
func (r *h2Resp) chunkLine(line []byte) {
	if r.state == respTrailer {
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			r.state = respDone
			return
		}
		// Trailers are not relayed (nor were they by Go's reader), but
		// a malformed one failed the body.
		colon := bytes.IndexByte(line, ':')
		if colon < 1 {
			r.err = errBadH1Response
			return
		}
		for _, c := range line[:colon] {
			if !validFieldNameByte(c) {
				r.err = errBadH1Response
				return
			}
		}
		return
	}
	// The size line ends with CRLF and has no other CR; white space
	// before it and the extension are dropped (net/http/internal).
	if cr := bytes.IndexByte(line, '\r'); cr < 0 || cr != len(line)-2 || len(line)-2 >= 4096 {
		r.err = errBadH1Response
		return
	}
	r.excess += int64(len(line))
	line = bytes.TrimRight(line[:len(line)-2], " \t")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	if len(line) == 0 || len(line) > 16 {
		r.err = errBadH1Response
		return
	}
	var size uint64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			r.err = errBadH1Response
			return
		}
		size = size<<4 | uint64(d)
	}
	// Go's reader refuses chunks whose framing outweighs their data.
	r.excess = max(r.excess-16-2*int64(size), 0)
	if r.excess > 16*1024 || size > 1<<62 {
		r.err = errBadH1Response
		return
	}
	if size == 0 {
		if r.http10 {
			// httputil's reader of an HTTP/1.0 server's chunks ends
			// there, reading no trailer.
			r.state = respDone
			return
		}
		r.state = respTrailer
		return
	}
	r.state, r.left = respChunkData, int64(size)
}

// complete tells, once the request path is over, whether the response
// went out whole (a body without length ends with the path).
func (r *h2Resp) complete() bool {
	if r.err != nil {
		return false
	}
	switch r.state {
	case respDone, respUntilEnd, respTunnel:
		return true
	}
	return false
}

// started tells whether a final head was sent.
func (r *h2Resp) started() bool { return r.state != respHead }

// fastHead sends a plain final head (parseRespHead's case) straight into
// the stream's fields, with the same checks and the same result as
// http.ReadResponse (FuzzH2Resp): one string for the head and one slice
// for the values. It returns false, having sent nothing, for any other
// head.
func (r *h2Resp) fastHead(buf []byte) bool {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 || end+4 != len(buf) {
		return false
	}
	raw := buf[:end+2]
	if len(raw) < 14 || string(raw[:7]) != "HTTP/1." || (raw[7] != '0' && raw[7] != '1') || raw[8] != ' ' ||
		raw[9] < '2' || raw[9] > '5' || !isDigit(raw[10]) || !isDigit(raw[11]) {
		return false
	}
	nl := bytes.IndexByte(raw, '\n')
	if nl < 13 || raw[nl-1] != '\r' || (nl > 13 && raw[12] != ' ') {
		return false
	}
	for _, c := range raw[9 : nl-1] {
		if c == '\r' || c == '\n' {
			return false
		}
	}
	code := int(raw[9]-'0')*100 + int(raw[10]-'0')*10 + int(raw[11]-'0')
	fields := 0
	for p := raw[nl+1:]; len(p) > 0; {
		i := bytes.IndexByte(p, '\n')
		if i < 1 || p[i-1] != '\r' {
			return false
		}
		line := p[:i-1]
		p = p[i+1:]
		colon := bytes.IndexByte(line, ':')
		if colon < 1 {
			return false
		}
		for _, c := range line[:colon] {
			if !validFieldNameByte(c) {
				return false
			}
		}
		for _, c := range line[colon+1:] {
			if !validFieldValueByte(c) {
				return false
			}
		}
		if name := line[:colon]; bytes.EqualFold(name, []byte("transfer-encoding")) ||
			bytes.EqualFold(name, []byte("pragma")) || bytes.EqualFold(name, []byte("trailer")) {
			// Go's reader moves or adds fields for these.
			return false
		}
		fields++
	}
	head := string(raw)
	vals := make([]string, fields)
	hdr := r.w.Header()
	var contentLength string
	lens := 0
	for p := head[nl+1:]; len(p) > 0; {
		i := strings.IndexByte(p, '\n')
		line := p[:i-1]
		p = p[i+1:]
		colon := strings.IndexByte(line, ':')
		key := textproto.CanonicalMIMEHeaderKey(line[:colon])
		value := trimOWS(line[colon+1:])
		switch key {
		case "Content-Length":
			lens++
			contentLength = value
		case "Connection", "Keep-Alive", "Proxy-Connection", "Upgrade":
			continue
		}
		if vv := hdr[key]; vv == nil {
			vals[0] = value
			hdr[key], vals = vals[:1:1], vals[1:]
		} else {
			hdr[key] = append(vv, value)
		}
	}
	length := int64(-1)
	switch {
	case lens > 1:
		clear(hdr)
		return false
	case lens == 1:
		cl, err := strconv.ParseUint(contentLength, 10, 63)
		if contentLength == "" || err != nil {
			clear(hdr)
			return false
		}
		length = int64(cl)
	}
	if code == 204 || code == 304 {
		length = 0
	}
	noDateType(hdr)
	r.bodyAfter(code, length, false)
	return true
}
