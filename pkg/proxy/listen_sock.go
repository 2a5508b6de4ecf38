package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"

	"hapair/pkg/haproxycfg"
)

// ListenSock opens the listener of a bind on a non-IP address: a UNIX
// socket file, an abstract name, a listening socket inherited as fd@N, or
// a socketpair sockpair@N over which connections arrive as descriptors.
func ListenSock(b haproxycfg.Bind) (net.Listener, error) {
	a := b.Sock
	switch a.Kind {
	case haproxycfg.SockFD:
		f := os.NewFile(uintptr(a.FD), a.String())
		if f == nil {
			return nil, fmt.Errorf("%s: not a file descriptor", a)
		}
		// FileListener works on a duplicate; the inherited descriptor is
		// closed, as haproxy takes it over.
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		return ln, nil
	case haproxycfg.SockPair:
		f := os.NewFile(uintptr(a.FD), a.String())
		if f == nil {
			return nil, fmt.Errorf("%s: not a file descriptor", a)
		}
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			c.Close()
			return nil, fmt.Errorf("%s: not a UNIX socket", a)
		}
		return &pairListener{c: uc, addr: &net.UnixAddr{Name: a.String(), Net: "unix"}}, nil
	case haproxycfg.SockUnix:
		// As haproxy, a file left at the path (a previous run's socket)
		// is replaced.
		if fi, err := os.Lstat(a.Path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(a.Path)
		}
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: a.Path, Net: "unix"})
		if err != nil {
			return nil, err
		}
		return ln, nil
	case haproxycfg.SockABNS:
		return net.ListenUnix("unix", &net.UnixAddr{Name: a.UnixName(), Net: "unix"})
	}
	return nil, fmt.Errorf("bind %q is not a socket address", b.Address())
}

// pairListener accepts the connections a peer sends as descriptors over a
// socketpair (haproxy's sockpair@: one descriptor per message).
type pairListener struct {
	c    *net.UnixConn
	addr net.Addr
	once sync.Once
}

func (l *pairListener) Accept() (net.Conn, error) {
	buf := make([]byte, 1)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	for {
		_, oobn, _, _, err := l.c.ReadMsgUnix(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, net.ErrClosed
			}
			return nil, err
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			continue
		}
		var fds []int
		for i := range msgs {
			if got, err := syscall.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, got...)
			}
		}
		if len(fds) == 0 {
			continue
		}
		for _, extra := range fds[1:] {
			syscall.Close(extra)
		}
		f := os.NewFile(uintptr(fds[0]), "sockpair connection")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			continue
		}
		return c, nil
	}
}

func (l *pairListener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() { err = l.c.Close() })
	return err
}

func (l *pairListener) Addr() net.Addr { return l.addr }

// listenAny opens the listener of any bind: IP or socket address.
func listenAny(b haproxycfg.Bind) (net.Listener, error) {
	if b.Sock.IsSet() {
		return ListenSock(b)
	}
	return ListenBind(b)
}

// dialServer connects to a server address: host:port, or the token
// haproxycfg.Server.Address gives a server on a UNIX socket or an abstract
// name.
func dialServer(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	if sa, ok := haproxycfg.ParseDialToken(addr); ok {
		return d.DialContext(ctx, "unix", sa.UnixName())
	}
	return d.DialContext(ctx, network, addr)
}
