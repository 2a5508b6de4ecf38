package gproxyd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	cred, err := peerCred(c)
	return err == nil && (cred.Uid == 0 || int(cred.Uid) == os.Geteuid())
}

// peerCred is the process at the other end of c as the kernel saw it when
// that end connected or listened (SO_PEERCRED).
func peerCred(c *net.UnixConn) (*syscall.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}

// ErrHandoffPeer means the process answering on a handoff socket is not
// the one whose sockets were asked for, or sent something other than
// listening TCP sockets: anyone may bind an abstract socket name.
var ErrHandoffPeer = errors.New("gproxyd: untrusted handoff")

// checkHandoffPeer admits only process pid, run by root or our own user.
func checkHandoffPeer(c *net.UnixConn, pid int) error {
	cred, err := peerCred(c)
	if err != nil {
		return fmt.Errorf("%w: reading the peer's credentials: %v", ErrHandoffPeer, err)
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is served by uid %d (pid %d), neither root nor uid %d", ErrHandoffPeer, HandoffPath(pid), cred.Uid, cred.Pid, os.Geteuid())
	}
	if int(cred.Pid) != pid {
		return fmt.Errorf("%w: %s is served by pid %d, not %d", ErrHandoffPeer, HandoffPath(pid), cred.Pid, pid)
	}
	return nil
}

const ipprotoMPTCP = 262

// checkListener verifies that fd is what the handoff said: a listening TCP
// socket bound to addr's port (and to its address and family when addr
// names an IP).
func checkListener(fd int, addr string) error {
	get := func(opt int) (int, error) { return syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, opt) }
	typ, err := get(syscall.SO_TYPE)
	if err != nil {
		return fmt.Errorf("%w: descriptor for %s is not a socket: %v", ErrHandoffPeer, addr, err)
	}
	dom, err1 := get(syscall.SO_DOMAIN)
	proto, err2 := get(syscall.SO_PROTOCOL)
	acc, err3 := get(syscall.SO_ACCEPTCONN)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("%w: descriptor for %s: %v", ErrHandoffPeer, addr, err)
	}
	// Go's listeners are MPTCP sockets (protocol 262) where the kernel has it.
	if typ != syscall.SOCK_STREAM || (proto != syscall.IPPROTO_TCP && proto != ipprotoMPTCP) || (dom != syscall.AF_INET && dom != syscall.AF_INET6) {
		return fmt.Errorf("%w: descriptor for %s is not a TCP socket (domain %d, type %d, protocol %d)", ErrHandoffPeer, addr, dom, typ, proto)
	}
	if acc != 1 {
		return fmt.Errorf("%w: descriptor for %s is a TCP socket that does not listen", ErrHandoffPeer, addr)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("%w: descriptor for %s: %v", ErrHandoffPeer, addr, err)
	}
	var ip net.IP
	var port int
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		ip, port = net.IP(a.Addr[:]), a.Port
	case *syscall.SockaddrInet6:
		ip, port = net.IP(a.Addr[:]), a.Port
	}
	// The address may carry a family prefix ("ipv4@").
	host, ps, err := net.SplitHostPort(addr[strings.LastIndex(addr, "@")+1:])
	if err != nil {
		return fmt.Errorf("%w: address %q: %v", ErrHandoffPeer, addr, err)
	}
	if strconv.Itoa(port) != ps {
		return fmt.Errorf("%w: descriptor for %s listens on port %d", ErrHandoffPeer, addr, port)
	}
	if want := net.ParseIP(host); want != nil {
		if (want.To4() != nil) != (dom == syscall.AF_INET) || !want.Equal(ip) {
			return fmt.Errorf("%w: descriptor for %s listens on %s", ErrHandoffPeer, addr, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		}
	}
	return nil
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
	if err := checkHandoffPeer(uc, pid); err != nil {
		return nil, err
	}
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
	// All or nothing: on any error the caller binds anew, so the sockets
	// taken so far are closed.
	fail := func(err error) (map[string]*net.TCPListener, error) {
		for _, ln := range out {
			ln.Close()
		}
		return nil, fmt.Errorf("handoff from pid %d: %w", pid, err)
	}
	// Room for more descriptors than expected, so that extra ones are
	// received, and closed, rather than left in the message.
	oob := make([]byte, syscall.CmsgSpace(4*8))
	for _, addr := range rep.Addrs {
		_, oobn, flags, _, err := uc.ReadMsgUnix(b, oob)
		if err != nil {
			return fail(err)
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return fail(fmt.Errorf("bad control message: %v", err))
		}
		var fds []int
		for i := range msgs {
			if got, err := syscall.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, got...)
			}
		}
		if len(fds) != 1 || len(msgs) != 1 || flags&syscall.MSG_CTRUNC != 0 {
			for _, fd := range fds {
				syscall.Close(fd)
			}
			return fail(fmt.Errorf("%w: %d descriptors in one message for %s, want 1", ErrHandoffPeer, len(fds), addr))
		}
		if _, dup := out[addr]; dup {
			syscall.Close(fds[0])
			return fail(fmt.Errorf("%w: %s sent twice", ErrHandoffPeer, addr))
		}
		if err := checkListener(fds[0], addr); err != nil {
			syscall.Close(fds[0])
			return fail(err)
		}
		f := os.NewFile(uintptr(fds[0]), "listener "+addr)
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", addr, err))
		}
		tl, ok := ln.(*net.TCPListener)
		if !ok {
			ln.Close()
			return fail(fmt.Errorf("%w: %s is not a TCP listener", ErrHandoffPeer, addr))
		}
		out[addr] = tl
	}
	return out, nil
}

// SocketsFrom is -x: the old process is found through the stats socket
// at path (its `show info` gives its pid) and its listeners are taken over
// that pid's handoff socket, with the checks FetchListeners makes. haproxy
// asks the stats socket itself for the descriptors, which needs `expose-fd
// listeners` on it; gproxy's handoff needs no such option, being open only
// to root and the process's own user. Taking the sockets of a real haproxy
// is not possible: that is an error, as any failure to take them is.
func SocketsFrom(path string) (int, map[string]*net.TCPListener, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return 0, nil, fmt.Errorf("Failed to connect to the old process socket '%s'", path)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "show info\n"); err != nil {
		return 0, nil, fmt.Errorf("old process socket '%s': %w", path, err)
	}
	info, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("old process socket '%s': %w", path, err)
	}
	pid := 0
	for _, l := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(l, "Pid: "); ok {
			pid, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if pid <= 0 {
		return 0, nil, fmt.Errorf("the process behind '%s' did not tell its pid (show info)", path)
	}
	lns, err := FetchListeners(pid)
	if err != nil {
		return pid, nil, err
	}
	return pid, lns, nil
}

// takeOverListeners gathers the listening sockets of the processes this
// one replaces: from -x, then from each -sf/-st pid (where failing means
// binding anew). A failed -x is fatal for a single process, as in haproxy;
// haproxy's master (-W) starts anyway, binding anew.
func (p *process) takeOverListeners(master bool) (map[string]*net.TCPListener, error) {
	have := map[string]*net.TCPListener{}
	from := 0
	if p.args.SocketFrom != "" {
		pid, got, err := SocketsFrom(p.args.SocketFrom)
		switch {
		case err != nil && master:
			p.log.Info().Msgf("taking no sockets through %s (%v); binding anew", p.args.SocketFrom, err)
		case err != nil:
			p.log.Warn().Msg(err.Error())
			return nil, errors.New("Failed to get the sockets from the old process!")
		default:
			from, have = pid, got
		}
	}
	for _, pid := range append(append([]int{}, p.args.SoftStopPIDs...), p.args.HardStopPIDs...) {
		if pid == from {
			continue // taken already
		}
		got, err := FetchListeners(pid)
		if errors.Is(err, ErrHandoffPeer) {
			p.log.Warn().Msgf("taking no sockets from pid %d (%v); binding anew", pid, err)
		} else if err != nil {
			p.log.Info().Msgf("taking no sockets from pid %d (%v); binding anew", pid, err)
		}
		for a, ln := range got {
			if old, ok := have[a]; ok {
				old.Close()
			}
			have[a] = ln
		}
	}
	return have, nil
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

// listenerFile duplicates ln's descriptor for another process (a worker's
// ExtraFiles, an SCM_RIGHTS message) without putting the socket in
// blocking mode. (*net.TCPListener).File returns a file whose Fd method,
// which os/exec calls on every ExtraFiles entry, clears O_NONBLOCK; that
// flag belongs to the socket shared by every process holding it (master,
// old and new workers), so an old worker whose accept loop then called
// accept4 blocked in the kernel until a client came, and its soft stop
// hung in closing that listener: after a reload with no traffic it never
// left. A descriptor wrapped with os.NewFile keeps its mode through Fd.
func listenerFile(ln *net.TCPListener) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		nfd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, os.NewSyscallError("fcntl", dupErr)
	}
	return os.NewFile(uintptr(nfd), "tcp:"+ln.Addr().String()), nil
}
