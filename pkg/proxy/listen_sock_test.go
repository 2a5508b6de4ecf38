package proxy

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// TestListenSockPair: a sockpair@N listener accepts the connections a
// peer passes over socketpair N, one descriptor per message, as haproxy's
// master hands them.
func TestListenSockPair(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer := os.NewFile(uintptr(fds[1]), "peer")
	defer peer.Close()
	ln, err := ListenSock(haproxycfg.Bind{Sock: haproxycfg.SockAddr{Kind: haproxycfg.SockPair, FD: fds[0]}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The connection to hand over: one end of another socketpair.
	conn, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(conn[1])
	if err := syscall.Sendmsg(fds[1], []byte{0}, syscall.UnixRights(conn[0]), nil, 0); err != nil {
		t.Fatal(err)
	}
	syscall.Close(conn[0])
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	var c net.Conn
	select {
	case c = <-got:
	case <-time.After(deadline):
		t.Fatal("no connection accepted")
	}
	if c == nil {
		t.Fatal("nil connection")
	}
	defer c.Close()
	if _, err := syscall.Write(conn[1], []byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(deadline))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Errorf("read %q, %v", buf, err)
	}
}

// TestListenSockUnixReplacesStale: a socket file left at a unix@ path by
// an earlier run is replaced, as haproxy does, and abns@ names listen.
func TestListenSockUnixReplacesStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fe.sock")
	old, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	old.Close() // the file stays, nobody listens
	for _, a := range []haproxycfg.SockAddr{{Kind: haproxycfg.SockUnix, Path: path}, {Kind: haproxycfg.SockABNS, Path: "gproxy-test-" + filepath.Base(t.TempDir())}} {
		ln, err := ListenSock(haproxycfg.Bind{Sock: a})
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		c, err := net.Dial("unix", a.UnixName())
		if err != nil {
			t.Errorf("%s: dial: %v", a, err)
		} else {
			c.Close()
		}
		ln.Close()
	}
}
