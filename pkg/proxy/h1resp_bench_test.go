package proxy

import (
	"net/http"
	"testing"
)

// benchRespHead is nginx's head for a small static file.
var benchRespHead = []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 05 Dec 2026 02:00:00 GMT\r\n" +
	"Content-Type: text/plain\r\nContent-Length: 128\r\nLast-Modified: Fri, 04 Dec 2026 10:00:00 GMT\r\n" +
	"Connection: keep-alive\r\nETag: \"6750a0a0-80\"\r\nAccept-Ranges: bytes\r\n\r\n")

// BenchmarkParseRespHead parses the head as h1Client did for every
// response: a new room and the header map.
func BenchmarkParseRespHead(b *testing.B) {
	req := &http.Request{Method: http.MethodGet}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := parseRespHead(benchRespHead, req, nil, true); !ok {
			b.Fatal("not taken")
		}
	}
}

// BenchmarkParseRespHeadForward parses it as forward's requests have it
// parsed: into their own room, without the map.
func BenchmarkParseRespHeadForward(b *testing.B) {
	req := &http.Request{Method: http.MethodGet}
	var room respRoom
	b.ReportAllocs()
	for b.Loop() {
		// Each request has a room of its own (in fwdState): the head goes
		// in it. (Reset here only because nothing keeps the strings.)
		room.headUsed = false
		if _, _, ok := parseRespHead(benchRespHead, req, &room, false); !ok {
			b.Fatal("not taken")
		}
	}
}
