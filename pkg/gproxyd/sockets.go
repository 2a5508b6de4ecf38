package gproxyd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Listening sockets survive reloads: a new process takes the old one's
// sockets instead of binding again, so no connection is refused while one
// process hands over to the next (haproxy 2.6 with -sf loses connections
// between the old process closing and the new one binding). Sockets travel
// as SCM_RIGHTS messages over a Unix socket that every process serves at
// HandoffPath(pid), or as inherited descriptors from the master to its
// workers.

// HandoffPath is where process pid serves its listening sockets: an abstract
// Unix socket, so that it needs no writable directory after privileges are
// dropped or inside a chroot, and disappears with the process. Only root and
// the process's own user may take the sockets (checked with SO_PEERCRED).
func HandoffPath(pid int) string {
	return "@gproxy-handoff-" + strconv.Itoa(pid)
}

// handoffReply precedes the descriptors: one address per descriptor, in order.
type handoffReply struct {
	Addrs []string `json:"addrs"`
}

// ServeHandoff answers every connection on path with the listening sockets
// files returns, until ctx ends.
func ServeHandoff(ctx context.Context, path string, files func() (map[string]*os.File, error)) error {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("handoff socket %s: %w", path, err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go func() {
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			if peerAllowed(c) {
				_ = sendFiles(c, files)
			}
			c.Close()
		}
	}()
	return nil
}

// peerAllowed admits root and our own user.
func peerAllowed(c *net.UnixConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return false
	}
	return cred.Uid == 0 || int(cred.Uid) == os.Geteuid()
}

func sendFiles(c *net.UnixConn, files func() (map[string]*os.File, error)) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fs, err := files()
	if err != nil {
		return err
	}
	var rep handoffReply
	var fds []int
	for addr, f := range fs {
		rep.Addrs = append(rep.Addrs, addr)
		fds = append(fds, int(f.Fd()))
	}
	defer func() {
		for _, f := range fs {
			f.Close()
		}
	}()
	msg, _ := json.Marshal(rep)
	msg = append(msg, '\n')
	// One descriptor per message keeps each under the kernel's SCM_MAX_FD.
	if _, err := c.Write(msg); err != nil {
		return err
	}
	for _, fd := range fds {
		if _, _, err := c.WriteMsgUnix([]byte{0}, syscall.UnixRights(fd), nil); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoHandoff means the old process serves no handoff socket (it is not a
// gproxy, or it is gone).
var ErrNoHandoff = errors.New("gproxyd: no handoff socket")

// FetchListeners takes the listening sockets of process pid, keyed by address.
func FetchListeners(pid int) (map[string]*net.TCPListener, error) {
	path := HandoffPath(pid)
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoHandoff, path, err)
	}
	uc := c.(*net.UnixConn)
	defer uc.Close()
	_ = uc.SetDeadline(time.Now().Add(5 * time.Second))
	// Read the JSON line byte by byte: the descriptors follow in the stream.
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := uc.Read(b); err != nil {
			return nil, fmt.Errorf("handoff from pid %d: %w", pid, err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
		if len(line) > 1<<20 {
			return nil, fmt.Errorf("handoff from pid %d: reply too long", pid)
		}
	}
	var rep handoffReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("handoff from pid %d: %w", pid, err)
	}
	out := make(map[string]*net.TCPListener, len(rep.Addrs))
	oob := make([]byte, syscall.CmsgSpace(4))
	for _, addr := range rep.Addrs {
		_, oobn, _, _, err := uc.ReadMsgUnix(b, oob)
		if err != nil {
			return out, fmt.Errorf("handoff from pid %d: %w", pid, err)
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return out, fmt.Errorf("handoff from pid %d: bad control message", pid)
		}
		fds, err := syscall.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			return out, fmt.Errorf("handoff from pid %d: bad descriptors", pid)
		}
		f := os.NewFile(uintptr(fds[0]), "listener "+addr)
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return out, fmt.Errorf("handoff from pid %d: %s: %w", pid, addr, err)
		}
		out[addr] = ln.(*net.TCPListener)
	}
	return out, nil
}

// Inherited listeners travel from a master to its worker as extra files;
// the environment names their addresses in order, starting at fd 3.
const envListenFDs = "GPROXY_LISTEN_FDS"

// InheritedListeners returns the listeners passed by a master process.
func InheritedListeners() (map[string]*net.TCPListener, error) {
	v := os.Getenv(envListenFDs)
	if v == "" {
		return nil, nil
	}
	os.Unsetenv(envListenFDs)
	out := map[string]*net.TCPListener{}
	for i, addr := range strings.Split(v, ",") {
		f := os.NewFile(uintptr(3+i), "listener "+addr)
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return out, fmt.Errorf("inherited listener %s (fd %d): %w", addr, 3+i, err)
		}
		out[addr] = ln.(*net.TCPListener)
	}
	return out, nil
}
