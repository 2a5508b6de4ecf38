package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"
)

// readRequestSeeds are request heads, good and bad, with what follows.
var readRequestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /x?y HTTP/1.0\r\nhost: a\r\nUser-Agent: b\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n",
	"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
	"POST /p HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\r\nabc\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  2\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX\x00: 1\r\n\r\n",
	"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
}

// FuzzReadRequestBuffered checks that a head found whole in the read
// buffer (one string for its lines) reads as the same head read line by
// line from a reader giving a byte at a time.
func FuzzReadRequestBuffered(f *testing.F) {
	for _, s := range readRequestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkReadRequestBuffered(t, data)
	})
}

func TestReadRequestBuffered(t *testing.T) {
	for _, s := range readRequestSeeds {
		checkReadRequestBuffered(t, []byte(s))
	}
}

func checkReadRequestBuffered(t *testing.T, data []byte) {
	t.Helper()
	whole := bufio.NewReaderSize(bytes.NewReader(data), bufSize)
	_, _ = whole.Peek(1) // the head in the buffer, as await leaves it
	byByte := bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(data)), bufSize)
	got, gerr := readRequest(whole)
	want, werr := readRequest(byByte)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error() && !(errors.Is(gerr, werr) || errors.Is(werr, gerr))) {
		t.Fatalf("%q: error %v, line by line %v", data, gerr, werr)
	}
	if gerr != nil {
		return
	}
	got.inBuf, want.inBuf = "", ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q:\n got %+v\nwant %+v", data, got, want)
	}
	// Both left the reader at the same place.
	gr, _ := io.ReadAll(whole)
	wr, _ := io.ReadAll(byByte)
	if !bytes.Equal(gr, wr) {
		t.Errorf("%q: rest %q, line by line %q", data, gr, wr)
	}
}
