package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestDeadlineConnWrite checks the write tried without a deadline: a
// small write goes through even past an old deadline, a write larger
// than the socket takes goes on the ordinary way (all bytes, in order,
// counted), and a peer that does not read makes it time out.
func TestDeadlineConnWrite(t *testing.T) {
	client, server := tcpPair(t)
	d := &deadlineConn{Conn: server, rc: rawConn(server)}
	if d.rc == nil {
		t.Fatal("no raw connection")
	}
	d.idle.Store(int64(time.Second))
	_ = server.SetWriteDeadline(time.Now().Add(-time.Second))
	if n, err := d.Write([]byte("small")); n != 5 || err != nil {
		t.Fatalf("small write past an old deadline: %d, %v", n, err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "small" {
		t.Fatalf("read %q, %v", got, err)
	}

	// More than the socket buffers: written in parts while the peer reads.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(len(big))))
		read <- b
	}()
	if n, err := d.Write(big); n != len(big) || err != nil {
		t.Fatalf("big write: %d of %d, %v", n, len(big), err)
	}
	if b := <-read; !bytes.Equal(b, big) {
		t.Fatalf("read %d bytes, not what was written", len(b))
	}
	if got := d.wn.Load(); got != int64(5+len(big)) {
		t.Errorf("counted %d bytes written, want %d", got, 5+len(big))
	}

	// A peer that reads nothing: the write waits its idle time, then fails.
	d.idle.Store(int64(50 * time.Millisecond))
	huge := bytes.Repeat(big, 16) // more than both sockets buffer
	n, err := d.Write(huge)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n >= len(huge) {
		t.Fatalf("write to a peer not reading: %d, %v", n, err)
	}

	// A closed connection: the error of net's Write.
	server.Close()
	if _, err := d.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write on a closed connection: %v", err)
	}
}
