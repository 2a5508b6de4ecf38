package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// h2RespRecorder is the stream's ResponseWriter in the tests of h2Resp.
type h2RespRecorder struct {
	hdr    http.Header
	status int
	body   bytes.Buffer
}

func (w *h2RespRecorder) Header() http.Header { return w.hdr }
func (w *h2RespRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *h2RespRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}
func (w *h2RespRecorder) Flush() {}

// h2RespViaReadResponse is what the HTTP/2 frontend sent for raw before
// h2Resp: http.ReadResponse over a pipe, interim responses skipped, the
// fields copied but the hop-by-hop ones, the body read to its end (an
// error reset the stream).
func h2RespViaReadResponse(raw []byte, method string, ext bool) (w *h2RespRecorder, reset bool) {
	w = &h2RespRecorder{hdr: http.Header{}}
	br := bufio.NewReader(bytes.NewReader(raw))
	head := &http.Request{Method: method}
	te10 := http10Chunked(br)
	resp, err := http.ReadResponse(br, head)
	for err == nil && resp.StatusCode/100 == 1 && resp.StatusCode != http.StatusSwitchingProtocols {
		te10 = http10Chunked(br)
		resp, err = http.ReadResponse(br, head)
	}
	if err == nil && te10 {
		chunkedHTTP10(resp)
	}
	if err != nil || resp.StatusCode < 100 {
		return w, true
	}
	for k, vs := range resp.Header {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
			continue
		}
		w.hdr[k] = vs
	}
	if _, ok := w.hdr["Date"]; !ok {
		w.hdr["Date"] = nil
	}
	if _, ok := w.hdr["Content-Type"]; !ok {
		w.hdr["Content-Type"] = nil
	}
	if ext && resp.StatusCode == http.StatusSwitchingProtocols {
		w.WriteHeader(http.StatusOK)
		rest, _ := io.ReadAll(br)
		w.body.Write(rest)
		return w, false
	}
	w.WriteHeader(resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	w.body.Write(body)
	return w, err != nil
}

// FuzzH2Resp: the HTTP/1.1 response the request path writes for an HTTP/2
// stream, cut in any three writes, reaches the stream as it did through
// http.ReadResponse: same status, fields, body bytes, and a reset where
// that reading failed (a cut or malformed response).
func FuzzH2Resp(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"), "GET", false, uint16(10), uint16(50))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"), "GET", false, uint16(30), uint16(40))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc"), "POST", false, uint16(5), uint16(30))
	f.Add([]byte("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"), "GET", false, uint16(1), uint16(2))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), "GET", false, uint16(0), uint16(0))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), "HEAD", false, uint16(0), uint16(0))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x01a"), "GET", true, uint16(3), uint16(70))
	f.Add([]byte("HTTP/1.1 204 No Content\r\nPragma: no-cache\r\n\r\n"), "GET", false, uint16(3), uint16(7))
	f.Add([]byte("HTTP/1.0 200 OK\nX: y\n\nuntil the end"), "GET", false, uint16(3), uint16(7))
	f.Fuzz(func(t *testing.T, raw []byte, method string, ext bool, cut1, cut2 uint16) {
		switch method {
		case "GET", "HEAD", "POST":
		default:
			return
		}
		want, wantReset := h2RespViaReadResponse(raw, method, ext)
		if want.status == http.StatusSwitchingProtocols && !ext {
			return // only an extended CONNECT's upgrade comes back as 101
		}
		got := &h2RespRecorder{hdr: http.Header{}}
		r := &h2Resp{w: got, method: method, ext: ext}
		a, b := int(cut1)%(len(raw)+1), int(cut2)%(len(raw)+1)
		if a > b {
			a, b = b, a
		}
		for _, part := range [][]byte{raw[:a], raw[a:b], raw[b:]} {
			if _, err := r.write(part); err != nil {
				break
			}
		}
		gotReset := !r.complete()
		if gotReset != wantReset {
			t.Fatalf("reset %v, want %v (body %q, want %q)", gotReset, wantReset, got.body.Bytes(), want.body.Bytes())
		}
		if wantReset {
			return // what went out before a reset does not matter
		}
		if got.status != want.status || !reflect.DeepEqual(got.hdr, want.hdr) || !bytes.Equal(got.body.Bytes(), want.body.Bytes()) {
			t.Fatalf("got %d %v %q, want %d %v %q", got.status, got.hdr, got.body.Bytes(), want.status, want.hdr, want.body.Bytes())
		}
	})
}
