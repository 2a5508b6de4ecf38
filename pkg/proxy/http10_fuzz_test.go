package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestLastCodingChunked: the transfer codings of a response head as
// haproxy 2.6 reads them: the last one decides, across fields.
func TestLastCodingChunked(t *testing.T) {
	for head, want := range map[string]bool{
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n":                            true,
		"HTTP/1.0 200 OK\r\ntransfer-encoding: gzip, Chunked \r\n\r\n":                     true,
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n":                      false,
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n": true,
		"HTTP/1.0 200 OK\r\nX-Transfer-Encoding: chunked\r\n\r\n":                          false,
		"HTTP/1.0 200 OK\r\n\r\n": false,
	} {
		if got := lastCodingChunked([]byte(head)); got != want {
			t.Errorf("%q: %v, want %v", head, got, want)
		}
		if got := http10Chunked(bufio.NewReader(strings.NewReader(head))); got != want {
			t.Errorf("http10Chunked(%q) = %v, want %v", head, got, want)
		}
		h11 := strings.Replace(head, "HTTP/1.0", "HTTP/1.1", 1)
		if http10Chunked(bufio.NewReader(strings.NewReader(h11))) {
			t.Errorf("http10Chunked(%q) = true for HTTP/1.1", h11)
		}
	}
}

// FuzzHTTP10Chunked reads a server's response as the HTTP/1 client does
// (http10Chunked before Go's parse, then the chunks decoded): any bytes,
// no panic, and a chunked reading only of an HTTP/1.0 head.
func FuzzHTTP10Chunked(f *testing.F) {
	f.Add([]byte("HTTP/1.0 200 Ok\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 Ok\r\nContent-Length: 30\r\nTransfer-Encoding: gzip, chunked\r\n\r\nzz\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nX: 1\r\n\r\nok\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		te10 := http10Chunked(br)
		if te10 && !bytes.HasPrefix(in, []byte("HTTP/1.0 ")) {
			t.Fatalf("chunked HTTP/1.0 reading of %q", in)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return
		}
		if te10 {
			chunkedHTTP10(resp)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	})
}
