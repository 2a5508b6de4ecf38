package proxy

import (
	"encoding/binary"
	"net"
	"syscall"
	"unsafe"
)

// tcpiBytesAcked is the offset of tcpi_bytes_acked in Linux's struct
// tcp_info (include/uapi/linux/tcp.h, present since Linux 4.1).
const tcpiBytesAcked = 120

// ackedBytes returns how many bytes the peer of a TCP socket has
// acknowledged, or -1 when unknown.
func ackedBytes(c net.Conn) int64 {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	v := int64(-1)
	_ = rc.Control(func(fd uintptr) {
		var buf [256]byte
		l := uint32(len(buf))
		_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
		if errno == 0 && l >= tcpiBytesAcked+8 {
			v = int64(binary.NativeEndian.Uint64(buf[tcpiBytesAcked:]))
		}
	})
	return v
}

// unsentBytes returns how many bytes written to a TCP socket the peer has
// not acknowledged yet (SIOCOUTQ), or 0 when unknown.
func unsentBytes(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := int32(0)
	_ = rc.Control(func(fd uintptr) {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
		if errno != 0 {
			n = 0
		}
	})
	return int(n)
}
