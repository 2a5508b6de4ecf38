package proxy

import (
	"net"

	"golang.org/x/sys/unix"
)

// silence readies a client connection for `silent-drop`, as haproxy 2.6's
// tcp_exec_action_silent_drop: quick ACKs on (the data received is
// acknowledged, so the client does not retransmit into a reset), then
// TCP_REPAIR, after which closing the socket sends nothing at all (it
// needs CAP_NET_ADMIN); failing that, a TTL (hop limit) of 1, so that the
// reset dies at the first router (it still reaches a local client).
func silence(nc net.Conn) {
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
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
		if unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_REPAIR, 1) == nil {
			return
		}
		if v6 {
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 1)
		} else {
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, 1)
		}
	})
}
