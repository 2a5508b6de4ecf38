package proxy

import (
	"bufio"
	"strings"
	"testing"
)

// BenchmarkReadRequest parses a browser-like request head: the cost the
// HTTP/1 front pays per request before any rule runs.
func BenchmarkReadRequest(b *testing.B) {
	head := "GET /static/app.js?v=12 HTTP/1.1\r\nHost: www.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n" +
		"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Referer: https://www.example.com/\r\nConnection: keep-alive\r\nCookie: SID=abc123; lang=en\r\n\r\n"
	r := strings.NewReader(head)
	br := bufio.NewReaderSize(r, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(head)))
	for b.Loop() {
		r.Reset(head)
		br.Reset(r)
		if _, err := readRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadRequestBuffered parses heads found whole in the read
// buffer, as the HTTP/1 front finds them: wrk's and a browser's.
func BenchmarkReadRequestBuffered(b *testing.B) {
	for _, c := range []struct{ name, head string }{
		{"wrk", "GET / HTTP/1.1\r\nHost: 127.77.0.2:8000\r\n\r\n"},
		{"browser", "GET /static/app.js?v=12 HTTP/1.1\r\nHost: www.example.com\r\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n" +
			"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
			"Referer: https://www.example.com/\r\nConnection: keep-alive\r\nCookie: SID=abc123; lang=en\r\n\r\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := strings.NewReader(c.head)
			br := bufio.NewReaderSize(r, 4096)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(c.head)
				br.Reset(r)
				_, _ = br.Peek(1)
				if _, err := readRequest(br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
