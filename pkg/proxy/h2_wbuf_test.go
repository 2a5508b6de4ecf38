package proxy

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCoalescedConn: what is written arrives whole and in order, more
// than the buffer's bound included, Close sends what is left before
// closing, and a failed send is reported by a later write.
func TestCoalescedConn(t *testing.T) {
	a, b := net.Pipe()
	c := newCoalescedConn(a)
	got := make(chan []byte, 1)
	go func() {
		all, _ := io.ReadAll(b)
		got <- all
	}()
	var want bytes.Buffer
	for i := range 200 {
		p := []byte(strings.Repeat(string(rune('a'+i%26)), 1+i*37%3000))
		want.Write(p)
		if n, err := c.Write(p); n != len(p) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case all := <-got:
		if !bytes.Equal(all, want.Bytes()) {
			t.Fatalf("got %d bytes, want %d (same: %v)", len(all), want.Len(), bytes.HasPrefix(want.Bytes(), all))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the peer did not get the bytes")
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("a write after Close succeeded")
	}

	// The peer goes away: a write fails once the flusher met the error.
	a, b = net.Pipe()
	c = newCoalescedConn(a)
	b.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Write([]byte("hello")); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes to a closed peer kept succeeding")
		}
		time.Sleep(time.Millisecond)
	}
	c.Close()
}
