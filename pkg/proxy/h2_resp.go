package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
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
			wrote = true
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
	var resp *http.Response
	var room *respRoom
	chunked := false
	if room, _, _ = parseRespHead(head, nil); room != nil && r.method != http.MethodHead {
		resp = &room.resp
	} else {
		var err error
		resp, err = http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: r.method})
		if err != nil || resp.StatusCode < 100 {
			r.err = errBadH1Response
			return
		}
		if resp.StatusCode/100 == 1 && resp.StatusCode != http.StatusSwitchingProtocols {
			// Interim responses are not relayed (see the package
			// comment); the final one follows.
			r.state = respHead
			return
		}
		// The HTTP/1 path passes an HTTP/1.0 server's chunked response
		// on as it is: its chunks are decoded here too.
		if len(head) > 9 && string(head[:9]) == "HTTP/1.0 " && lastCodingChunked(head) {
			chunkedHTTP10(resp)
		}
		chunked = len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
	}
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
	if _, ok := hdr["Date"]; !ok {
		hdr["Date"] = nil
	}
	if _, ok := hdr["Content-Type"]; !ok {
		hdr["Content-Type"] = nil
	}
	if r.ext && resp.StatusCode == http.StatusSwitchingProtocols {
		// The upgrade is the extended CONNECT's 200 (RFC 8441 section
		// 5), then the stream carries the tunnel.
		r.w.WriteHeader(http.StatusOK)
		r.state = respTunnel
		r.w.(http.Flusher).Flush()
		return
	}
	r.w.WriteHeader(resp.StatusCode)
	r.length = resp.ContentLength
	noBody := r.method == http.MethodHead || resp.StatusCode/100 == 1 ||
		resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	switch {
	case noBody:
		r.state = respDone
	case chunked:
		r.state, r.length = respChunkSize, -1
	case resp.ContentLength >= 0:
		r.state, r.left = respLength, resp.ContentLength
		if r.left == 0 {
			r.state = respDone
		}
	default:
		r.state = respUntilEnd
	}
	if resp.ContentLength < 0 && r.state != respDone {
		// No length: the head leaves now, without a content-length Go's
		// server would add for a body that fits one frame.
		r.w.(http.Flusher).Flush()
	}
}

// chunkLine takes a chunk size line or a trailer line (with its LF), as
// net/http's chunked reader and trailer reader take them.
func (r *h2Resp) chunkLine(line []byte) {
	if r.state == respTrailer {
		if len(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))) == 0 {
			r.state = respDone
		}
		return // trailers are not relayed (nor were they by Go's reader)
	}
	// As net/http/internal's chunked reader: trailing white space off,
	// then the extension.
	line = bytes.TrimRight(line, " \t\r\n")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	if len(line) == 0 || len(line) > 16 {
		r.err = errBadH1Response
		return
	}
	var size int64
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
		size = size<<4 | int64(d)
	}
	if size < 0 {
		r.err = errBadH1Response
		return
	}
	if size == 0 {
		r.state = respTrailer
		return
	}
	r.state, r.left = respChunkData, size
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
