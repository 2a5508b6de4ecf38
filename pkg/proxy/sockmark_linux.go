package proxy

import (
	"net"

	"golang.org/x/sys/unix"
)

// setMark and setTOS are `set-mark` and `set-tos` on the client's
// connection, as haproxy 2.6's conn_set_mark and conn_set_tos: SO_MARK
// (netfilter mark; needs CAP_NET_ADMIN), and IP_TOS, or IPV6_TCLASS on an
// IPv6 socket whose peer is not IPv4-mapped. Failures are ignored, as
// haproxy ignores them.
func setMark(c net.Conn, mark int) {
	sockopt(c, func(fd int, _ bool) { _ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, mark) })
}

func setTOS(c net.Conn, tos int) {
	sockopt(c, func(fd int, v6 bool) {
		if v6 {
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
			return
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, tos)
	})
}

func sockopt(nc net.Conn, f func(fd int, v6 bool)) {
	c := plainSocket(nc)
	if c == nil {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	v6 := false
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		v6 = a.IP.To4() == nil
	}
	_ = rc.Control(func(fd uintptr) { f(int(fd), v6) })
}
