package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzH2ToH1: an HTTP/2 request, with any fields Go's HTTP/2 server
// accepts, becomes an HTTP/1.1 request (writeH1Request) that the HTTP/1
// parser reads back with the same method, target, host, fields and body:
// no field can be injected nor a second request smuggled (the desync
// attacks of haproxy's reg-test h2_desync_attacks).
func FuzzH2ToH1(f *testing.F) {
	f.Add("GET", "/a?b=c", "example.test", "x-a", "1", "cookie", "a=1", []byte(nil), false)
	f.Add("POST", "/p", "h:80", "content-type", "text/plain", "cookie", "b=2", []byte("hello"), true)
	f.Add("PUT", "/", "h", "x-b", "v\x01", "x-c", " s ", []byte("0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"), false)
	f.Fuzz(func(t *testing.T, method, path, authority, n1, v1, n2, v2 string, body []byte, knownLength bool) {
		// What Go's HTTP/2 server lets through (RFC 9113 section 8.2,
		// httpguts checks), as it builds the http.Request.
		if !validMethod(method) || path == "" || path[0] != '/' || !httpguts.ValidHostHeader(authority) || authority == "" {
			return
		}
		for _, c := range []byte(path) {
			if c <= ' ' || c == 0x7f || c >= 0x80 {
				return
			}
		}
		r := &http.Request{Method: method, RequestURI: path, Host: authority, Header: http.Header{}, Body: http.NoBody, ContentLength: 0}
		for _, kv := range [][2]string{{n1, v1}, {n2, v2}} {
			name := strings.ToLower(kv[0])
			if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(kv[1]) || !httpguts.ValidHostHeader(authority) {
				return
			}
			switch name {
			case "host", "connection", "transfer-encoding", "content-length", "te", "upgrade", "keep-alive", "proxy-connection", "expect":
				return
			}
			r.Header.Add(http.CanonicalHeaderKey(name), kv[1])
		}
		if len(body) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = -1
			if knownLength {
				r.ContentLength = int64(len(body))
				r.Header.Set("Content-Length", strconv.Itoa(len(body)))
			}
		}
		pr, pw := io.Pipe()
		go writeH1Request(pw, r)
		br := bufio.NewReader(pr)
		req, err := readRequest(br)
		if err != nil {
			// Refused by the HTTP/1 parser: answered 400, nothing reaches
			// a server. Acceptable, but only for what haproxy refuses too:
			// fields with characters it does not take.
			io.Copy(io.Discard, pr)
			return
		}
		if req.method != method || req.uri != path || req.host != authority {
			t.Fatalf("request line/host: got %q %q %q, want %q %q %q", req.method, req.uri, req.host, method, path, authority)
		}
		want := 1 // host
		for k, vs := range r.Header {
			if k != "Cookie" {
				want += len(vs)
			}
		}
		if len(r.Header["Cookie"]) > 0 {
			want++
		}

		if len(body) > 0 && !knownLength {
			want++ // transfer-encoding: chunked
		}
		if len(req.headers) != want {
			t.Fatalf("%d fields, want %d: %q", len(req.headers), want, req.headers)
		}
		got, err := io.ReadAll(newBodyReader(br, req))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("body %q (%v), want %q", got, err, body)
		}
		if rest, _ := io.ReadAll(br); len(rest) != 0 {
			t.Fatalf("bytes after the request: %q", rest)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return true
}
