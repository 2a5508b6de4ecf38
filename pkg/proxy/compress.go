package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"

	"hapair/pkg/haproxycfg"
)

// HTTP compression as haproxy 2.6's compression filter decides it
// (src/flt_http_comp.c): the request picks an algorithm from the client's
// Accept-Encoding, the response is compressed when its status, version,
// length, type and headers allow it. Bodies are compressed with Go's
// compress/* at zlib's level 1 (haproxy's tune.comp.maxlevel default),
// flushed each time data arrives from the server, as haproxy flushes each
// forwarded block.

// compressLevel is tune.comp.maxlevel's default.
const compressLevel = 1

// compSettings returns the algorithms and types that apply to a stream:
// the backend's when it has algorithms (or types), else the frontend's;
// offload is set by either.
func compSettings(fe, be *haproxycfg.Proxy) (algos, types []string, offload, any bool) {
	fc, bc := fe.Compression, (*haproxycfg.Compression)(nil)
	if be != nil {
		bc = be.Compression
	}
	if fc == nil && bc == nil {
		return nil, nil, false, false
	}
	pick := func(f func(*haproxycfg.Compression) []string) []string {
		if bc != nil && len(f(bc)) > 0 {
			return f(bc)
		}
		if fc != nil {
			return f(fc)
		}
		return nil
	}
	algos = pick(func(c *haproxycfg.Compression) []string { return c.Algos })
	types = pick(func(c *haproxycfg.Compression) []string { return c.Types })
	offload = fc != nil && fc.Offload || bc != nil && bc.Offload
	return algos, types, offload, true
}

// uaName is the name an algorithm has in Accept-Encoding and
// Content-Encoding.
func uaName(algo string) string {
	if algo == "raw-deflate" {
		return "deflate"
	}
	return algo
}

func isTokenChar(c byte) bool {
	return c > 32 && c < 127 && !strings.ContainsRune("()<>@,;:\\\"/[]?={}", rune(c))
}

// qvalue reads a q-value as haproxy's http_parse_qvalue: "1", "0.5",
// "0.125" in thousandths, 1000 when not a number.
func qvalue(s string) int {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 1000
	}
	q := int(s[0]-'0') * 1000
	if len(s) > 1 && s[1] == '.' {
		mul := 100
		for i := 2; i < len(s) && i < 5 && s[i] >= '0' && s[i] <= '9'; i++ {
			q += int(s[i]-'0') * mul
			mul /= 10
		}
	}
	return min(q, 1000)
}

// oldMozilla is haproxy's exception for "Mozilla/4" user agents other
// than MSIE 6 SV1 and later, which get no compression.
func oldMozilla(ua string) bool {
	if len(ua) < 9 || ua[:9] != "Mozilla/4" {
		return false
	}
	return len(ua) < 31 || ua[25:30] != "MSIE " || ua[30] < '6' ||
		ua[30] == '6' && (len(ua) < 54 || ua[51:54] != "SV1")
}

// headerValues returns a request header's comma-separated elements, each
// trimmed, in order across repeated fields.
func headerValues(hs []header, name string) []string {
	var out []string
	for _, h := range hs {
		if !strings.EqualFold(h.name, name) {
			continue
		}
		for _, v := range strings.Split(h.value, ",") {
			if v = strings.Trim(v, " \t"); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// compressRequest picks the algorithm for a request, "" for none, and
// with `compression offload` removes Accept-Encoding from what the server
// receives.
func compressRequest(fe, be *haproxycfg.Proxy, req *httpRequest) string {
	algos, _, offload, any := compSettings(fe, be)
	if !any {
		return ""
	}
	for _, h := range req.headers {
		if strings.EqualFold(h.name, "user-agent") {
			if oldMozilla(h.value) {
				return ""
			}
			break
		}
	}
	chosen, best := "", 0
	for _, v := range headerValues(req.headers, "accept-encoding") {
		tok := 0
		for tok < len(v) && isTokenChar(v[tok]) {
			tok++
		}
		q := 1000
		for _, p := range strings.Split(v[tok:], ";")[1:] {
			if p = strings.TrimLeft(p, " \t"); strings.HasPrefix(p, "q=") {
				q = qvalue(p[2:])
				break
			}
		}
		if q <= best {
			continue
		}
		for _, a := range algos {
			if v[0] == '*' || strings.EqualFold(v[:tok], uaName(a)) {
				chosen, best = a, q
				break
			}
		}
	}
	if chosen != "" {
		if offload {
			kept := req.headers[:0]
			for _, h := range req.headers {
				if !strings.EqualFold(h.name, "accept-encoding") {
					kept = append(kept, h)
				}
			}
			req.headers = kept
		}
		return chosen
	}
	// identity needs no Accept-Encoding.
	for _, a := range algos {
		if a == "identity" {
			return a
		}
	}
	return ""
}

// etagValid is haproxy's http_get_etag_type != ETAG_INVALID: "..." or
// W/"...".
func etagValid(v string) bool {
	v = strings.TrimPrefix(v, "W/")
	return len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"'
}

// compressResponse decides whether a response is compressed with algo
// (from compressRequest) and, if so, rewrites its head as haproxy does
// (Content-Length removed, then "transfer-encoding: chunked", "vary:
// Accept-Encoding" and "content-encoding" appended, a strong ETag made
// weak)
// and its body; it returns the raw head writeResponse then sends, and
// the compression's figures (nil when the response is not compressed).
func compressResponse(fe, be *haproxycfg.Proxy, algo string, req *httpRequest, resp *http.Response, raw []byte) ([]byte, *compCount) {
	if algo == "" || !req.http11() || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 || req.method == http.MethodHead {
		return raw, nil
	}
	switch resp.StatusCode {
	case 200, 201, 202, 203:
	default:
		return raw, nil
	}
	chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[len(resp.TransferEncoding)-1] == "chunked"
	if resp.ContentLength < 0 && !chunked || resp.ContentLength == 0 {
		return raw, nil // no known length (the close ends the body), or no body
	}
	h := resp.Header
	if _, ok := h["Content-Encoding"]; ok {
		return raw, nil
	}
	for _, v := range h["Cache-Control"] {
		for _, e := range strings.Split(v, ",") {
			if strings.EqualFold(strings.Trim(e, " \t"), "no-transform") {
				return raw, nil
			}
		}
	}
	if et := h["Etag"]; len(et) > 1 || len(et) == 1 && !etagValid(et[0]) {
		return raw, nil
	}
	_, types, _, _ := compSettings(fe, be)
	if ct, ok := h["Content-Type"]; ok && len(ct) > 0 {
		v := ct[0]
		if len(v) >= 9 && strings.EqualFold(v[:9], "multipart") {
			return raw, nil
		}
		if len(types) > 0 {
			match := false
			for _, t := range types {
				if len(v) >= len(t) && strings.EqualFold(v[:len(t)], t) {
					match = true
					break
				}
			}
			if !match {
				return raw, nil
			}
		}
	} else if len(types) > 0 {
		return raw, nil
	}
	// %B counts the response as the server sent it: cc.headDelta is
	// what the rewriting below adds to the head's share of it, as
	// writeResponse counts it.
	cc := &compCount{identity: algo == "identity"}

	// The head: fields in the server's order without Content-Length,
	// the strong ETag weakened, then the added fields.
	// haproxy 2.6 sends them in this order (seen on the wire).
	var added []header
	if !chunked {
		added = append(added, header{"transfer-encoding", "chunked"})
		cc.headDelta += int64(len("transfer-encoding")+len("chunked")) + htxEOT -
			int64(len("content-length")+len(strconv.FormatInt(resp.ContentLength, 10)))
	}
	added = append(added, header{"vary", "Accept-Encoding"})
	h.Add("Vary", "Accept-Encoding")
	if algo != "identity" {
		added = append(added, header{"content-encoding", uaName(algo)})
		h.Add("Content-Encoding", uaName(algo))
	}
	for _, a := range added {
		if a.name != "transfer-encoding" {
			cc.headDelta += int64(len(a.name) + len(a.value))
		}
	}
	h.Del("Content-Length")
	if et := h.Get("Etag"); strings.HasPrefix(et, `"`) {
		h.Set("Etag", "W/"+et)
		cc.headDelta += 2
	}
	resp.ContentLength = -1
	resp.TransferEncoding = []string{"chunked"}
	raw = rewriteHead(raw, added)
	if algo != "identity" {
		resp.Body = newCompressor(algo, resp.Body, cc)
	} else {
		resp.Body = &countedBody{ReadCloser: resp.Body, n: &cc.in}
	}
	return raw, cc
}

// compCount is what a compressed response counts: the body bytes into
// and out of the compressor (comp_in, comp_out; comp_byp for `identity`,
// which haproxy runs at level 0) and the head's growth.
type compCount struct {
	in, out   int64
	headDelta int64
	identity  bool
}

// account puts a compressed response in the counters of its frontend and
// backend (haproxy's comp_in, comp_out, comp_byp, comp_rsp) and returns
// n, its %B, as the response the server sent (haproxy counts it before
// compression). done: the response was sent whole (comp_rsp).
func (cc *compCount) account(n int64, done bool, ctrs ...*counters) int64 {
	if cc == nil {
		return n
	}
	out := cc.out
	if cc.identity {
		out = cc.in
	}
	for _, c := range ctrs {
		if c == nil {
			continue
		}
		if cc.identity {
			c.compByp.Add(cc.in)
		} else {
			c.compIn.Add(cc.in)
			c.compOut.Add(cc.out)
		}
		if done {
			c.compRsp.Add(1)
		}
	}
	return n - out + cc.in - cc.headDelta
}

// countedBody counts what is read through it.
type countedBody struct {
	io.ReadCloser
	n *int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	*b.n += int64(n)
	return n, err
}

// rewriteHead drops Content-Length from a raw response head, weakens a
// strong ETag and appends fields; a nil head (Go parsed it alone) stays
// nil, writeResponse then works from the header map.
func rewriteHead(raw []byte, added []header) []byte {
	if raw == nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n"), "\n")
	var b bytes.Buffer
	b.WriteString(lines[0])
	b.WriteString("\r\n")
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			continue
		case "etag":
			if v := strings.Trim(value, " \t"); strings.HasPrefix(v, `"`) {
				l = name + ": W/" + v
			}
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	for _, a := range added {
		b.WriteString(a.name + ": " + a.value + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// flushWriter is a compressor that can flush its pending output.
type flushWriter interface {
	io.WriteCloser
	Flush() error
}

// compressor reads the server's body and returns it compressed, flushing
// after each piece it reads so that a slow stream is not held back.
type compressor struct {
	src  io.ReadCloser
	zw   flushWriter
	out  bytes.Buffer
	buf  []byte
	done bool
	cc   *compCount // the bytes in and out
}

func newCompressor(algo string, src io.ReadCloser, cc *compCount) *compressor {
	c := &compressor{src: src, buf: make([]byte, 16<<10), cc: cc}
	switch algo {
	case "gzip":
		c.zw, _ = gzip.NewWriterLevel(&c.out, compressLevel)
	case "deflate":
		c.zw, _ = zlib.NewWriterLevel(&c.out, compressLevel)
	default: // raw-deflate
		c.zw, _ = flate.NewWriter(&c.out, compressLevel)
	}
	return c
}

func (c *compressor) Read(p []byte) (int, error) {
	for c.out.Len() == 0 {
		if c.done {
			return 0, io.EOF
		}
		n, err := c.src.Read(c.buf)
		if n > 0 {
			c.cc.in += int64(n)
			_, _ = c.zw.Write(c.buf[:n])
		}
		switch {
		case err == io.EOF:
			_ = c.zw.Close()
			c.done = true
		case err != nil:
			// What arrived is passed on; the error follows.
			_ = c.zw.Flush()
			if c.out.Len() == 0 {
				return 0, err
			}
			n, _ := c.out.Read(p)
			c.cc.out += int64(n)
			return n, nil
		case n > 0:
			_ = c.zw.Flush()
		}
	}
	n, err := c.out.Read(p)
	c.cc.out += int64(n)
	return n, err
}

func (c *compressor) Close() error { return c.src.Close() }
