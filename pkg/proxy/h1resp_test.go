package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// respHeadSeeds are response heads parseRespHead takes or leaves to
// http.ReadResponse, each followed by a body or the next bytes.
var respHeadSeeds = []string{
	"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\nX-A:  2 \r\n\r\nhel",
	"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
	"HTTP/1.0 200\r\n\r\nuntil the close",
	"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n\r\nbody",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nok",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nFoo: a\r\n b\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
	"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1 200 \r\nfoo bar: x\r\nfoo-\x80: y\r\nv: \x80\x7f\r\n\r\n",
	"HTTP/1.1 502 Bad\rGateway\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
}

// FuzzRespHead checks parseRespHead against http.ReadResponse: whatever
// head it takes gives the same response, head length and body.
func FuzzRespHead(f *testing.F) {
	for _, s := range respHeadSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		req := &http.Request{Method: http.MethodGet}
		if head {
			req.Method = http.MethodHead
		}
		checkRespHead(t, data, req)
	})
}

func TestRespHead(t *testing.T) {
	taken := 0
	for _, s := range respHeadSeeds {
		if checkRespHead(t, []byte(s), &http.Request{Method: http.MethodGet}) {
			taken++
		}
	}
	// The common heads are taken, the others left to Go's reader.
	if taken != 9 {
		t.Errorf("parseRespHead took %d of the seeds, want 9", taken)
	}
}

// checkRespHead compares parseRespHead's response to data with Go's;
// it tells whether parseRespHead took the head.
func checkRespHead(t *testing.T, data []byte, req *http.Request) bool {
	t.Helper()
	room, n, ok := parseRespHead(data, req, nil, true)
	if !ok {
		return false
	}
	got := &room.resp
	// Without the map (forward's common case), the same response once
	// fillHeader builds it, in a room used before.
	lazy := &respRoom{resp: http.Response{Header: http.Header{"X": nil}}, fields: [12]header{{"a", "b"}}}
	if _, ln, lok := parseRespHead(data, req, lazy, false); !lok || ln != n {
		t.Fatalf("%q: taken with the map, not without (%v, %d)", data, lok, ln)
	}
	if lazy.resp.Header != nil {
		t.Errorf("%q: header map built", data)
	}
	lazy.fillHeader()
	if !reflect.DeepEqual(lazy.resp, room.resp) || !reflect.DeepEqual(lazy.fieldList, room.fieldList) {
		t.Errorf("%q: built later %#v, at once %#v", data, lazy.resp, room.resp)
	}
	br := bufio.NewReaderSize(bytes.NewReader(data), len(data)+16)
	want, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("%q: taken, but Go's reader fails: %v", data, err)
	}
	if used := len(data) - br.Buffered(); used != n {
		t.Errorf("%q: head of %d bytes, Go's reader read %d", data, n, used)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Status", got.Status, want.Status},
		{"StatusCode", got.StatusCode, want.StatusCode},
		{"Proto", got.Proto, want.Proto},
		{"ProtoMajor", got.ProtoMajor, want.ProtoMajor},
		{"ProtoMinor", got.ProtoMinor, want.ProtoMinor},
		{"Header", got.Header, want.Header},
		{"ContentLength", got.ContentLength, want.ContentLength},
		{"TransferEncoding", got.TransferEncoding, want.TransferEncoding},
		{"Close", got.Close, want.Close},
		{"Trailer", got.Trailer, want.Trailer},
		{"Request", got.Request, want.Request},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%q: %s %#v, Go's %#v", data, c.name, c.got, c.want)
		}
	}
	// The fields passed on, in order: as responseFields makes them from
	// the head's bytes beside Go's parse (which it must agree with).
	if room.raw != string(data[:n-2]) {
		t.Errorf("%q: raw head %q", data, room.raw)
	}
	for _, keepUpgrade := range []bool{false, true} {
		wf, wok := responseFields(data[:n], want, keepUpgrade)
		gf := forwardedFields(append([]header(nil), room.fieldList...), got, keepUpgrade)
		if !wok || len(gf)+len(wf) > 0 && !reflect.DeepEqual(gf, wf) {
			t.Errorf("%q (upgrade answer %v): fields %q, from the raw head %q (%v)", data, keepUpgrade, gf, wf, wok)
		}
	}
	// The body as h1Client reads it, with small reads.
	var body io.Reader = http.NoBody
	if got.ContentLength != 0 {
		body = &h1BodyReader{br: bufio.NewReader(bytes.NewReader(data[n:])), n: got.ContentLength}
	}
	gb, gerr := readSmall(body)
	wb, werr := readSmall(want.Body)
	if !bytes.Equal(gb, wb) || !errors.Is(gerr, werr) {
		t.Errorf("%q: body %q (%v), Go's %q (%v)", data, gb, gerr, wb, werr)
	}
	return true
}

// readSmall reads r to its end three bytes at a time; the error is the
// one that ended it (io.EOF for a whole body).
func readSmall(r io.Reader) ([]byte, error) {
	var out []byte
	p := make([]byte, 3)
	for range 1 << 16 {
		n, err := r.Read(p)
		out = append(out, p[:n]...)
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("no end")
}
