package gproxyd

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fdOf returns a duplicate descriptor of a socket, closed with the test.
func fdOf(t *testing.T, c interface {
	File() (*os.File, error)
}) int {
	t.Helper()
	f, err := c.File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}

func TestCheckListener(t *testing.T) {
	ln4, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln4.Close()
	port := strconv.Itoa(ln4.Addr().(*net.TCPAddr).Port)
	any4, err := net.ListenTCP("tcp4", &net.TCPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer any4.Close()
	anyPort := strconv.Itoa(any4.Addr().(*net.TCPAddr).Port)
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	conn, err := net.DialTCP("tcp4", nil, ln4.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	unix, err := net.ListenUnix("unix", &net.UnixAddr{Name: "@gproxy-test-" + strconv.Itoa(os.Getpid()), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()

	tests := []struct {
		name string
		fd   int
		addr string
		ok   bool
	}{
		{"listening IPv4 socket", fdOf(t, ln4), "127.0.0.1:" + port, true},
		{"with a family prefix", fdOf(t, ln4), "ipv4@127.0.0.1:" + port, true},
		{"wildcard", fdOf(t, any4), ":" + anyPort, true},
		{"other port", fdOf(t, ln4), "127.0.0.1:1", false},
		{"other address", fdOf(t, ln4), "127.0.0.2:" + port, false},
		{"other family", fdOf(t, ln4), "[::1]:" + port, false},
		{"UDP socket", fdOf(t, udp), "127.0.0.1:" + port, false},
		{"connected TCP socket", fdOf(t, conn), "127.0.0.1:" + port, false},
		{"Unix socket", fdOf(t, unix), "127.0.0.1:" + port, false},
		{"pipe", int(pr.Fd()), "127.0.0.1:" + port, false},
	}
	for _, tt := range tests {
		err := checkListener(tt.fd, tt.addr)
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, ErrHandoffPeer) {
			t.Errorf("%s as %s: %v, want ErrHandoffPeer", tt.name, tt.addr, err)
		}
	}
}

// impostor serves HandoffPath(pid) itself and answers with send.
func impostor(t *testing.T, pid int, send func(c *net.UnixConn)) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: HandoffPath(pid), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			send(c)
			c.Close()
		}
	}()
}

// TestFetchListenersRefusesImpostors: whoever binds the abstract name first
// answers; the sockets are taken only from the process asked for, and only
// if they are listening TCP sockets for the addresses announced.
func TestFetchListenersRefusesImpostors(t *testing.T) {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	reply := func(c *net.UnixConn, addrs []string, rights ...[]int) {
		msg, _ := json.Marshal(handoffReply{Addrs: addrs})
		_, _ = c.Write(append(msg, '\n'))
		for _, fds := range rights {
			_, _, _ = c.WriteMsgUnix([]byte{0}, syscall.UnixRights(fds...), nil)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Read(make([]byte, 1)) // until the client hangs up
	}

	// Another process's name, served by this one: refused on the pid.
	other := os.Getpid() + 1000000 // no such pid: pid_max is at most 2^22
	impostor(t, other, func(c *net.UnixConn) { reply(c, []string{addr}, []int{fdOf(t, ln)}) })
	if got, err := FetchListeners(other); !errors.Is(err, ErrHandoffPeer) || got != nil {
		t.Errorf("impostor for pid %d: %v, %v; want ErrHandoffPeer", other, got, err)
	}

	// Our own name (the right pid) with wrong descriptors.
	for name, send := range map[string]func(c *net.UnixConn){
		"UDP socket":      func(c *net.UnixConn) { reply(c, []string{addr}, []int{fdOf(t, udp)}) },
		"two descriptors": func(c *net.UnixConn) { reply(c, []string{addr}, []int{fdOf(t, ln), fdOf(t, ln)}) },
		"no descriptor":   func(c *net.UnixConn) { reply(c, []string{addr}, []int{}) },
		"wrong address":   func(c *net.UnixConn) { reply(c, []string{"127.0.0.1:1"}, []int{fdOf(t, ln)}) },
		"same address twice": func(c *net.UnixConn) {
			reply(c, []string{addr, addr}, []int{fdOf(t, ln)}, []int{fdOf(t, ln)})
		},
	} {
		t.Run(name, func(t *testing.T) {
			impostor(t, os.Getpid(), send)
			got, err := FetchListeners(os.Getpid())
			if got != nil || err == nil {
				t.Fatalf("took %v, %v", got, err)
			}
			t.Logf("refused: %v", err)
		})
	}

	// The right pid and a good socket are taken.
	t.Run("genuine", func(t *testing.T) {
		impostor(t, os.Getpid(), func(c *net.UnixConn) { reply(c, []string{addr}, []int{fdOf(t, ln)}) })
		got, err := FetchListeners(os.Getpid())
		if err != nil || got[addr] == nil {
			t.Fatalf("genuine handoff: %v, %v", got, err)
		}
		got[addr].Close()
	})
}
