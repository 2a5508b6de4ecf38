package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rawSock is a plain TCP socket of a mode tcp session that lives only in
// the relay's epoll set (evPoller), never in Go's netpoller: Go's accept
// and dial register each socket in its own set as well (an epoll_ctl ADD
// and a DEL per socket, and every segment then queues an event in both
// sets), and ask getsockname, getpeername and SO_ERROR, which haproxy
// does not. The socket is added once, edge-triggered, for reading and
// writing; an event wakes the relay direction attached to it, or the
// goroutine waiting in Read, Write or the connect.
//
// The descriptor is closed when the last operation using it ends (a
// count of users), so that a read racing with Close cannot reach a
// descriptor number the kernel gave to a new socket meanwhile.
type rawSock struct {
	fd  int
	p   *evPoller
	tok int32

	refs   atomic.Int64 // 2 per user of fd, plus 1 once closed
	closed chan struct{}

	rch, wch chan struct{} // an event for a waiting reader or writer (capacity 1)
	// rready: the socket may have something to read (data, the FIN):
	// set by a read event and by a read that got something, cleared by a
	// read that found nothing. attach needs it: an edge that came before
	// is not repeated, and a read that left data or the FIN behind does
	// not bring one.
	rready atomic.Bool
	hup    atomic.Bool // the peer shut its side (EPOLLRDHUP, HUP, ERR)
	dir    atomic.Pointer[relayDir]

	rdl, wdl atomic.Int64 // deadlines, unix nanoseconds; 0: none

	raddr *net.TCPAddr
	laddr atomic.Pointer[net.TCPAddr] // nil until known (getsockname when asked)
}

// Event bits: what wakes a reader, what wakes a writer.
const (
	rawReadEvents  = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
	rawWriteEvents = syscall.EPOLLOUT | syscall.EPOLLHUP | syscall.EPOLLERR
	rawHupEvents   = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
)

// newRawConn registers fd (non-blocking, close-on-exec) in p; on failure
// fd is closed.
func newRawSock(p *evPoller, fd int, raddr, laddr *net.TCPAddr) (*rawSock, error) {
	c := &rawSock{fd: fd, p: p, closed: make(chan struct{}), rch: make(chan struct{}, 1), wch: make(chan struct{}, 1), raddr: raddr}
	c.refs.Store(2)
	if laddr != nil {
		c.laddr.Store(laddr)
	}
	if err := p.register(c); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return c, nil
}

// event is the poller's.
func (c *rawSock) event(ev uint32) {
	if ev&rawHupEvents != 0 {
		c.hup.Store(true)
	}
	if ev&rawReadEvents != 0 {
		c.rready.Store(true)
		signal(c.rch)
		if d := c.dir.Load(); d != nil {
			d.wake(ev&rawHupEvents != 0)
		}
	}
	if ev&rawWriteEvents != 0 {
		signal(c.wch)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// attach gives the socket's read events to d from now on; an event that
// came before is passed on at once.
func (c *rawSock) attach(d *relayDir) {
	c.dir.Store(d)
	if c.hup.Load() {
		d.hup.Store(true)
	}
	// A read event no reader took (one that came as a read gave up on
	// its deadline) counts too.
	if c.rready.Load() || len(c.rch) > 0 {
		d.wake(c.hup.Load())
	}
}

func (c *rawSock) detach(d *relayDir) { c.dir.CompareAndSwap(d, nil) }

// incref takes a use of fd; false once closed.
func (c *rawSock) incref() bool {
	for {
		v := c.refs.Load()
		if v&1 != 0 {
			return false
		}
		if c.refs.CompareAndSwap(v, v+2) {
			return true
		}
	}
}

// decref ends a use; the last one after Close closes fd.
func (c *rawSock) decref() {
	if c.refs.Add(-2) == 1 {
		syscall.Close(c.fd)
	}
}

// Close forgets the socket and closes it once no operation uses it; the
// waiting ones return net.ErrClosed.
func (c *rawSock) Close() error {
	for {
		v := c.refs.Load()
		if v&1 != 0 {
			return c.opErr("close", net.ErrClosed)
		}
		if c.refs.CompareAndSwap(v, v|1) {
			break
		}
	}
	close(c.closed)
	c.p.forget(c.tok)
	c.decref() // the owner's use
	return nil
}

func (c *rawSock) opErr(op string, err error) error {
	var src net.Addr
	if la := c.laddr.Load(); la != nil {
		src = la
	}
	return &net.OpError{Op: op, Net: "tcp", Source: src, Addr: c.raddr, Err: err}
}

// wait waits for an event of the kind (read or write) until the deadline
// or Close. A deadline changed meanwhile wakes it too (the caller tries
// again and comes back with the new one).
func (c *rawSock) wait(write bool) error {
	ch, dl := c.rch, &c.rdl
	if write {
		ch, dl = c.wch, &c.wdl
	}
	d := dl.Load()
	if d == 0 {
		select {
		case <-ch:
			return nil
		case <-c.closed:
			return net.ErrClosed
		}
	}
	left := time.Until(time.Unix(0, d))
	if left <= 0 {
		return os.ErrDeadlineExceeded
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-c.closed:
		return net.ErrClosed
	case <-t.C:
		if dl.Load() == d {
			return os.ErrDeadlineExceeded
		}
		return nil
	}
}

// expired is Go's check before an operation: a deadline in the past
// fails it without trying.
func expired(dl *atomic.Int64) bool {
	d := dl.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

func drainSig(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func (c *rawSock) Read(b []byte) (int, error) {
	if !c.incref() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	defer c.decref()
	if len(b) == 0 {
		return 0, nil
	}
	for {
		if expired(&c.rdl) {
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
		drainSig(c.rch)
		n, err := ignoringEINTRIO(syscall.Read, c.fd, b)
		c.rready.Store(err != syscall.EAGAIN)
		switch {
		case err == syscall.EAGAIN:
			if werr := c.wait(false); werr != nil {
				return 0, c.opErr("read", werr)
			}
			continue
		case err != nil:
			return 0, c.opErr("read", os.NewSyscallError("read", err))
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *rawSock) Write(b []byte) (int, error) {
	if !c.incref() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	defer c.decref()
	done := 0
	for done < len(b) {
		if expired(&c.wdl) {
			return done, c.opErr("write", os.ErrDeadlineExceeded)
		}
		drainSig(c.wch)
		n, err := ignoringEINTRIO(syscall.Write, c.fd, b[done:])
		if n > 0 {
			done += n
		}
		switch {
		case err == syscall.EAGAIN:
			if werr := c.wait(true); werr != nil {
				return done, c.opErr("write", werr)
			}
		case err != nil:
			return done, c.opErr("write", os.NewSyscallError("write", err))
		}
	}
	return done, nil
}

func ignoringEINTRIO(fn func(int, []byte) (int, error), fd int, b []byte) (int, error) {
	for {
		n, err := fn(fd, b)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

func (c *rawSock) RemoteAddr() net.Addr { return c.raddr }

// LocalAddr asks the kernel the first time only: haproxy too fetches the
// local address when something needs it.
func (c *rawSock) LocalAddr() net.Addr {
	if la := c.laddr.Load(); la != nil {
		return la
	}
	if !c.incref() {
		return &net.TCPAddr{}
	}
	sa, err := syscall.Getsockname(c.fd)
	c.decref()
	if err != nil {
		return &net.TCPAddr{}
	}
	la := sockaddrTCP(sa)
	c.laddr.Store(la)
	return la
}

func (c *rawSock) setDeadline(dl *atomic.Int64, ch chan struct{}, t time.Time) {
	var v int64
	if !t.IsZero() {
		v = t.UnixNano()
		if v == 0 {
			v = 1
		}
	}
	dl.Store(v)
	signal(ch) // a waiter takes the new deadline
}

func (c *rawSock) SetDeadline(t time.Time) error {
	c.setDeadline(&c.rdl, c.rch, t)
	c.setDeadline(&c.wdl, c.wch, t)
	return nil
}

func (c *rawSock) SetReadDeadline(t time.Time) error {
	c.setDeadline(&c.rdl, c.rch, t)
	return nil
}

func (c *rawSock) SetWriteDeadline(t time.Time) error {
	c.setDeadline(&c.wdl, c.wch, t)
	return nil
}

// control runs f on the descriptor while it is open.
func (c *rawSock) control(f func(fd int) error) error {
	if !c.incref() {
		return c.opErr("control", net.ErrClosed)
	}
	defer c.decref()
	return f(c.fd)
}

func (c *rawSock) CloseWrite() error {
	return c.control(func(fd int) error { return wrapSys("shutdown", syscall.Shutdown(fd, syscall.SHUT_WR)) })
}

func (c *rawSock) CloseRead() error {
	return c.control(func(fd int) error { return wrapSys("shutdown", syscall.Shutdown(fd, syscall.SHUT_RD)) })
}

// SetLinger is net.TCPConn's (0: closing resets the connection).
func (c *rawSock) SetLinger(sec int) error {
	return c.control(func(fd int) error {
		l := syscall.Linger{}
		if sec >= 0 {
			l.Onoff, l.Linger = 1, int32(sec)
		}
		return wrapSys("setsockopt", syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &l))
	})
}

func wrapSys(name string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(name, err)
}

// SyscallConn gives the socket to what reads socket options and to the
// relay's raw reads and writes; its Read and Write wait in the set.
func (c *rawSock) SyscallConn() (syscall.RawConn, error) { return rawSys{c}, nil }

type rawSys struct{ c *rawSock }

func (r rawSys) Control(f func(fd uintptr)) error {
	return r.c.control(func(fd int) error { f(uintptr(fd)); return nil })
}

func (r rawSys) Read(f func(fd uintptr) bool) error  { return r.c.rawIO(false, f) }
func (r rawSys) Write(f func(fd uintptr) bool) error { return r.c.rawIO(true, f) }

func (c *rawSock) rawIO(write bool, f func(fd uintptr) bool) error {
	if !c.incref() {
		return c.opErr("raw", net.ErrClosed)
	}
	defer c.decref()
	ch, dl := c.rch, &c.rdl
	if write {
		ch, dl = c.wch, &c.wdl
	}
	for {
		if expired(dl) {
			return os.ErrDeadlineExceeded
		}
		drainSig(ch)
		done := f(uintptr(c.fd))
		if !write {
			c.rready.Store(done) // f waits again when it found nothing
		}
		if done {
			return nil
		}
		if err := c.wait(write); err != nil {
			return err
		}
	}
}

// ReadFrom splices from another raw socket (as net.TCPConn does between
// two TCP sockets); anything else is copied.
func (c *rawSock) ReadFrom(r io.Reader) (int64, error) {
	if src := rawOf(asConn(r)); src != nil {
		return spliceRaw(c, src)
	}
	return io.Copy(struct{ io.Writer }{c}, r)
}

// WriteTo splices to another raw socket; anything else is copied. io.Copy
// asks the source first, so a PROXY-protocol wrapper (whose WriteTo is
// its socket's) still splices.
func (c *rawSock) WriteTo(w io.Writer) (int64, error) {
	if dst := rawWriter(w); dst != nil {
		return spliceRaw(dst, c)
	}
	return io.Copy(w, struct{ io.Reader }{c})
}

func rawWriter(w io.Writer) *rawSock { return rawOf(asConn(w)) }

func asConn(v any) net.Conn {
	c, _ := v.(net.Conn)
	return c
}

// spliceMax is what one splice moves at most, and the pipe's size (Go's
// splice uses the same).
const spliceMax = 1 << 20

type rawPipe struct{ r, w int }

// rawPipes keeps empty pipes between splices as Go's splice does: a pipe
// the pool drops (two collections unused) is closed by its finalizer, so
// idle sessions hold none.
var rawPipes = sync.Pool{New: func() any {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return nil
	}
	_, _ = unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, spliceMax)
	p := &rawPipe{fds[0], fds[1]}
	runtime.SetFinalizer(p, (*rawPipe).close)
	return p
}}

func (p *rawPipe) close() {
	syscall.Close(p.r)
	syscall.Close(p.w)
}

func getPipe() (*rawPipe, error) {
	p, _ := rawPipes.Get().(*rawPipe)
	if p == nil {
		return nil, os.NewSyscallError("pipe2", syscall.EMFILE)
	}
	return p, nil
}

// putPipe keeps an empty pipe for the next splice; one with data left
// (an error midway) is closed.
func putPipe(p *rawPipe, empty bool) {
	if empty {
		rawPipes.Put(p)
		return
	}
	runtime.SetFinalizer(p, nil)
	p.close()
}

// spliceRaw moves src to dst through a pipe until src's EOF (nil), an
// error or src's read deadline. Whatever entered the pipe is written
// before the next read, so a read deadline loses nothing; no write
// deadline applies (the relay sets none).
func spliceRaw(dst, src *rawSock) (written int64, err error) {
	if !src.incref() {
		return 0, src.opErr("read", net.ErrClosed)
	}
	defer src.decref()
	if !dst.incref() {
		return 0, dst.opErr("write", net.ErrClosed)
	}
	defer dst.decref()
	p, err := getPipe()
	if err != nil {
		return 0, err
	}
	inPipe := 0
	defer func() { putPipe(p, inPipe == 0) }()
	const flags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK
	for {
		if expired(&src.rdl) {
			return written, src.opErr("read", os.ErrDeadlineExceeded)
		}
		drainSig(src.rch)
		n, serr := unix.Splice(src.fd, nil, p.w, nil, spliceMax, flags)
		src.rready.Store(serr != syscall.EAGAIN)
		switch {
		case serr == syscall.EINTR:
			continue
		case serr == syscall.EAGAIN:
			if werr := src.wait(false); werr != nil {
				return written, src.opErr("read", werr)
			}
			continue
		case serr != nil:
			return written, src.opErr("read", os.NewSyscallError("splice", serr))
		case n == 0:
			return written, nil
		}
		inPipe = int(n)
		for inPipe > 0 {
			drainSig(dst.wch)
			m, serr := unix.Splice(p.r, nil, dst.fd, nil, inPipe, flags)
			if m > 0 {
				inPipe -= int(m)
				written += m
			}
			switch {
			case serr == syscall.EINTR:
			case serr == syscall.EAGAIN:
				if werr := dst.wait(true); werr != nil {
					return written, dst.opErr("write", werr)
				}
			case serr != nil:
				return written, dst.opErr("write", os.NewSyscallError("splice", serr))
			}
		}
	}
}

// sockaddrTCP is the address as Go's net package gives it.
func sockaddrTCP(sa syscall.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	case *syscall.SockaddrInet6:
		ip := append(net.IP(nil), a.Addr[:]...)
		zone := ""
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		return &net.TCPAddr{IP: ip, Port: a.Port, Zone: zone}
	}
	return &net.TCPAddr{}
}

// rawListener accepts with accept4 on the listening socket and gives
// rawSocks: the peer's address comes with the accept; the local one is
// the bound address when that says it all (a specific address, not
// transparent), else getsockname when asked. Go gives a listener no raw
// read, so the socket is also in the relay's set (edge-triggered) for
// the accept loop to wait on; unregister takes it out before the engine
// closes it (a listener handed to a newer process stays open there and
// would keep sending events).
type rawListener struct {
	*net.TCPListener
	p     *evPoller
	rc    syscall.RawConn
	local *net.TCPAddr // nil: ask the socket
	ka    *net.KeepAliveConfig
	stop  <-chan struct{}
	ch    chan struct{}
	tok   int32
	once  sync.Once
}

func (l *rawListener) event(uint32) { signal(l.ch) }

// rawListen wraps ln for the raw path; nil when it cannot.
func rawListen(ln net.Listener, ka *net.KeepAliveConfig, local *net.TCPAddr, stop <-chan struct{}) *rawListener {
	tl, ok := ln.(*net.TCPListener)
	p := evpoll()
	if !ok || p == nil {
		return nil
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return nil
	}
	l := &rawListener{TCPListener: tl, p: p, rc: rc, local: local, ka: ka, stop: stop, ch: make(chan struct{}, 1)}
	l.tok = p.token(l)
	var eerr error
	cerr := rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | uint32(1<<31), Fd: l.tok}
		eerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if cerr != nil || eerr != nil {
		p.forget(l.tok)
		return nil
	}
	return l
}

// unregister takes the listening socket out of the set; the engine calls
// it before closing the listener.
func (l *rawListener) unregister() {
	l.once.Do(func() {
		_ = l.rc.Control(func(fd uintptr) {
			_ = syscall.EpollCtl(l.p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		})
		l.p.forget(l.tok)
	})
}

func (l *rawListener) Accept() (net.Conn, error) {
	for {
		var nfd int
		var sa syscall.Sockaddr
		var aerr error
		err := l.rc.Control(func(fd uintptr) {
			for {
				nfd, sa, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
				if aerr != syscall.EINTR {
					break
				}
			}
		})
		if err != nil {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
				return nil, net.ErrClosed
			}
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: err}
		}
		switch aerr {
		case nil:
		case syscall.EAGAIN:
			select {
			case <-l.ch:
				continue
			case <-l.stop:
				return nil, net.ErrClosed
			}
		case syscall.ECONNABORTED:
			continue // as Go's accept: the client gave up already
		default:
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", aerr)}
		}
		// Go's accept turns Nagle off; so does this, the same bytes on the
		// wire.
		_ = syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		if l.ka != nil {
			setKeepAlive(nfd, *l.ka)
		}
		c, err := newRawSock(l.p, nfd, sockaddrTCP(sa), l.local)
		if err != nil {
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: err}
		}
		return c, nil
	}
}

// setKeepAlive is net.TCPConn.SetKeepAliveConfig on a descriptor.
func setKeepAlive(fd int, ka net.KeepAliveConfig) {
	if !ka.Enable {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 0)
		return
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
	if ka.Idle > 0 {
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, int((ka.Idle+time.Second-1)/time.Second))
	}
	if ka.Interval > 0 {
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, int((ka.Interval+time.Second-1)/time.Second))
	}
	if ka.Count > 0 {
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, ka.Count)
	}
}

// dialRaw connects to an IP server address with a non-blocking connect
// waited on in the relay's set (EPOLLOUT), within timeout (0: none) and
// until ctx ends. ok is false when the address is not an IP one (a UNIX
// socket, a name): the caller dials through Go.
func dialRaw(ctx context.Context, d *net.Dialer, addr string) (c net.Conn, ok bool, err error) {
	p := evpoll()
	if p == nil {
		return nil, false, nil
	}
	ap, perr := netip.ParseAddrPort(addr)
	if perr != nil {
		return nil, false, nil
	}
	// Go dials an IPv4-mapped address over IPv4 too.
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	raddr := net.TCPAddrFromAddrPort(ap)
	family := syscall.AF_INET
	var sa syscall.Sockaddr
	if ap.Addr().Is4() {
		sa = &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family = syscall.AF_INET6
		s6 := &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
		if z := ap.Addr().Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				s6.ZoneId = uint32(ifi.Index)
			}
		}
		sa = s6
	}
	if err := ctx.Err(); err != nil {
		return nil, true, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, true, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: os.NewSyscallError("socket", err)}
	}
	if family == syscall.AF_INET6 {
		// Go sets it on every IPv6 socket; an IPv6 server address is
		// never an IPv4-mapped one here (ParseAddrPort keeps it as is).
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0)
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	if d.KeepAliveConfig.Enable {
		setKeepAlive(fd, d.KeepAliveConfig)
	}
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	switch err {
	case nil, syscall.EINPROGRESS, syscall.EALREADY:
	default:
		syscall.Close(fd)
		return nil, true, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: os.NewSyscallError("connect", err)}
	}
	// Registered after the connect, as Go does: a socket not connecting
	// yet reports a hang-up.
	rc, rerr := newRawSock(p, fd, raddr, nil)
	if rerr != nil {
		return nil, true, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: rerr}
	}
	if err == nil {
		return rc, true, nil
	}
	fail := func(err error) (net.Conn, bool, error) {
		rc.Close()
		return nil, true, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
	}
	var t <-chan time.Time
	if d.Timeout > 0 {
		tm := time.NewTimer(d.Timeout)
		defer tm.Stop()
		t = tm.C
	}
	for {
		select {
		case <-rc.wch:
		case <-t:
			return fail(os.ErrDeadlineExceeded)
		case <-ctx.Done():
			return fail(ctx.Err())
		}
		// An EPOLLOUT without error says connected, as haproxy reads
		// it; SO_ERROR is asked only when the event says something went
		// wrong (or it was not the connect's event).
		if !rc.hup.Load() {
			return rc, true, nil
		}
		v, gerr := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if gerr != nil {
			return fail(os.NewSyscallError("getsockopt", gerr))
		}
		if v != 0 {
			return fail(os.NewSyscallError("connect", syscall.Errno(v)))
		}
		return rc, true, nil
	}
}

// plainSocket is c when it is a TCP socket itself (not a wrapper): Go's
// or a rawSock.
func plainSocket(c net.Conn) interface {
	net.Conn
	syscall.Conn
} {
	switch t := c.(type) {
	case *net.TCPConn:
		return t
	case *rawSock:
		return t
	}
	return nil
}

// rawOf is the rawSock under c (itself, or under a PROXY-protocol
// wrapper); nil for any other connection.
func rawOf(c net.Conn) *rawSock {
	switch t := c.(type) {
	case *rawSock:
		return t
	case *ppConn:
		rc, _ := t.Conn.(*rawSock)
		return rc
	}
	return nil
}
