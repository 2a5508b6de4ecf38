package gproxyd

import (
	"net"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenerFilesKeepSocketNonBlocking: handing a listening socket to a
// worker (os/exec's ExtraFiles calls Fd) or to a new process (sendFiles
// calls Fd) must leave the socket, shared by every process holding it, in
// non-blocking mode. Blocking mode made an old worker's accept loop sleep
// in accept4 and its soft stop wait there for the next client: after a
// reload right after start, with no traffic, it never left.
func TestListenerFilesKeepSocketNonBlocking(t *testing.T) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nonBlocking := func() bool {
		t.Helper()
		rc, err := ln.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var flags int
		var ferr error
		if err := rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
			t.Fatal(err, ferr)
		}
		return flags&unix.O_NONBLOCK != 0
	}
	if !nonBlocking() {
		t.Fatal("a new listener is already in blocking mode")
	}
	files, err := listenerFiles(map[string]*net.TCPListener{ln.Addr().String(): ln})
	if err != nil {
		t.Fatal(err)
	}
	for a, f := range files {
		if f.Fd() < 0 {
			t.Fatalf("%s: no descriptor", a)
		}
		cmd := exec.Command("true")
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if !nonBlocking() {
		t.Error("the listening socket is in blocking mode after being handed to a child process")
	}
	// The listener still accepts through the poller.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
}
