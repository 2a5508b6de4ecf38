package health

import (
	"errors"
	"io"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/logformat"
)

// HTTP checks over HTTP/2 with prior knowledge in clear text, as haproxy
// runs them with `check-proto h2` or a server's `proto h2`: the request is
// stream 1 of a fresh connection, and the answer is made into the HTTP/1
// form the expect steps read ("HTTP/2.0 200", no reason, its fields and
// body), which is how haproxy's HTX gives it to them.

// h2Conn is the HTTP/2 side of a check connection.
type h2Conn struct {
	fr   *http2.Framer
	done bool // the answer was read (or the connection ended)
}

// sendH2 writes the connection preface, the SETTINGS and the request.
func (r *runner) sendH2(h *haproxycfg.HTTPRequest, state string) error {
	method, uri, _, hdrs, body := requestParts(h, state, r.lf)
	var hb strings.Builder
	enc := hpack.NewEncoder(&hb)
	// haproxy 2.6.12 sends :scheme https and no :authority for a check,
	// its host field as a field (measured with VTest's HTTP/2 server).
	fields := []hpack.HeaderField{{Name: ":method", Value: method}, {Name: ":scheme", Value: "https"}, {Name: ":path", Value: uri}}
	for _, kv := range hdrs {
		switch kv[0] {
		case "connection", "proxy-connection", "keep-alive", "upgrade", "transfer-encoding":
			// connection-specific fields are not carried by HTTP/2
			continue
		}
		fields = append(fields, hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	if body != "" {
		fields = append(fields, hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))})
	}
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(r.conn, http2.ClientPreface); err != nil {
		return err
	}
	fr := http2.NewFramer(r.conn, r.conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = bufSize
	r.h2 = &h2Conn{fr: fr}
	if err := fr.WriteSettings(); err != nil {
		return err
	}
	err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte(hb.String()),
		EndHeaders: true, EndStream: body == ""})
	if err == nil && body != "" {
		err = fr.WriteData(1, true, []byte(body))
	}
	return err
}

// recvH2 reads the answer to stream 1 whole and puts its HTTP/1 form in
// r.buf; it stops the check on a timeout, or an error with nothing read.
func (r *runner) recvH2(st *Step, last *bool) (Result, bool) {
	*last = true
	if r.h2.done {
		return Result{}, false
	}
	r.h2.done = true
	status := 0
	var head strings.Builder
	var body []byte
	for {
		f, err := r.h2.fr.ReadFrame()
		if err != nil {
			if isTimeout(err) {
				return r.timeout(), true
			}
			if !errors.Is(err, io.EOF) && status == 0 {
				return r.connErr(err, false), true
			}
			break
		}
		end := false
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = r.h2.fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = r.h2.fr.WritePing(true, f.Data)
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			n, _ := strconv.Atoi(f.PseudoValue("status"))
			if n >= 100 && n < 200 {
				continue // an interim answer
			}
			if status == 0 {
				status = n
				for _, hf := range f.RegularFields() {
					head.WriteString(hf.Name + ": " + hf.Value + "\r\n")
				}
			}
			end = f.StreamEnded()
		case *http2.DataFrame:
			if f.StreamID != 1 {
				continue
			}
			if len(body) < bufSize {
				body = append(body, f.Data()...)
			}
			if n := len(f.Data()); n > 0 {
				_ = r.h2.fr.WriteWindowUpdate(0, uint32(n))
				_ = r.h2.fr.WriteWindowUpdate(1, uint32(n))
			}
			end = f.StreamEnded()
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			end = true
		}
		if end {
			break
		}
	}
	r.buf = r.buf[:0]
	if status != 0 {
		r.buf = append(r.buf, "HTTP/2.0 "+strconv.Itoa(status)+"\r\n"+head.String()+"\r\n"...)
		r.buf = append(r.buf, body...)
		if len(r.buf) > bufSize {
			r.buf = r.buf[:bufSize]
		}
	}
	return Result{}, false
}

// requestParts is an HTTP check request's method, URI, version, fields
// (names in lower case, empty log-format values left out, the server's
// state last) and body, as haproxy's tcpcheck_eval_send builds them.
func requestParts(h *haproxycfg.HTTPRequest, state string, lf func(*logformat.Format) string) (method, uri, version string, hdrs [][2]string, body string) {
	method, uri, version = h.Method, h.URI, h.Version
	if h.URIFmt != nil {
		uri = lf(h.URIFmt)
	}
	if method == "" {
		method = "OPTIONS"
	}
	if uri == "" {
		uri = "/"
	}
	if version == "" {
		version = "HTTP/1.0"
	}
	for i, kv := range h.Headers {
		v := kv[1]
		if i < len(h.HeaderFmts) && h.HeaderFmts[i] != nil {
			if v = lf(h.HeaderFmts[i]); v == "" {
				continue
			}
		}
		hdrs = append(hdrs, [2]string{strings.ToLower(kv[0]), v})
	}
	if state != "" {
		hdrs = append(hdrs, [2]string{"x-haproxy-server-state", state})
	}
	if h.HasBody {
		body = h.Body
		if h.BodyFmt != nil {
			body = lf(h.BodyFmt)
		}
	}
	return method, uri, version, hdrs, body
}
