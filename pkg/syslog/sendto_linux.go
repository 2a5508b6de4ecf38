package syslog

import (
	"syscall"
	"unsafe"
)

// rawAddr is a UDP target's address encoded once as sendto(2) reads it.
// The kernel only reads it, so concurrent senders share it, where
// syscall.Sendto encodes into the Sockaddr it is given (a copy of the
// target's per message: one allocation per log line).
type rawAddr struct {
	buf syscall.RawSockaddrAny
	n   uint32 // its length; 0: not encoded (a unix socket: the Sockaddr way)
}

// encodeAddr encodes an IPv4 or IPv6 address as the kernel reads it.
func encodeAddr(sa syscall.Sockaddr) (r rawAddr) {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		p := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&r.buf))
		p.Family = syscall.AF_INET
		putPort(&p.Port, sa.Port)
		p.Addr = sa.Addr
		r.n = syscall.SizeofSockaddrInet4
	case *syscall.SockaddrInet6:
		p := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&r.buf))
		p.Family = syscall.AF_INET6
		putPort(&p.Port, sa.Port)
		p.Scope_id = sa.ZoneId
		p.Addr = sa.Addr
		r.n = syscall.SizeofSockaddrInet6
	}
	return r
}

// putPort stores port in network byte order.
func putPort(p *uint16, port int) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

// send sends b to t without blocking, as sendto does.
func (t *target) send(fd int, b []byte) error {
	if t.raw.n == 0 || len(b) == 0 {
		return sendto(fd, b, t.sockaddr())
	}
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, uintptr(unsafe.Pointer(&t.raw.buf)), uintptr(t.raw.n))
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return e
	}
}
