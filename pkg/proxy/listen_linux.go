package proxy

import (
	"os"
	"strings"
	"syscall"
)

// Socket options of Linux not named by package syscall.
const (
	soReusePort      = 0xf // SO_REUSEPORT
	ipFreebind       = 15  // IP_FREEBIND, SOL_IP; honoured by IPv6 sockets too
	ipTransparent    = 19  // IP_TRANSPARENT, SOL_IP
	ipv6Transparent  = 75  // IPV6_TRANSPARENT, SOL_IPV6
	sysctlBindV6Only = "/proc/sys/net/ipv6/bindv6only"
)

// systemV6Only is net.ipv6.bindv6only of this network namespace: what an
// IPv6 socket gets when nothing sets IPV6_V6ONLY, as haproxy leaves it.
func systemV6Only() (bool, error) {
	b, err := os.ReadFile(sysctlBindV6Only)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) == "1", nil
}

// apply sets the options on a socket before it is bound.
func (o sockOpts) apply(fd int) error {
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soReusePort, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_REUSEPORT", err)
	}
	if o.v6 && o.setV6Opt {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, boolInt(o.v6only)); err != nil {
			return os.NewSyscallError("setsockopt IPV6_V6ONLY", err)
		}
	}
	if o.foreign {
		// haproxy tries the transparent proxy option first and falls back
		// to IP_FREEBIND, which needs no capability.
		level, opt := syscall.SOL_IP, ipTransparent
		if o.v6 {
			level, opt = syscall.SOL_IPV6, ipv6Transparent
		}
		if syscall.SetsockoptInt(fd, level, opt, 1) != nil {
			if err := syscall.SetsockoptInt(fd, syscall.SOL_IP, ipFreebind, 1); err != nil {
				return errNotTransparent
			}
		}
	}
	return nil
}

// matches reports whether an open socket has the options o asks for.
func (o sockOpts) matches(fd int) bool {
	dom, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_DOMAIN)
	if err != nil || (dom == syscall.AF_INET6) != o.v6 {
		return false
	}
	if o.v6 {
		v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY)
		if err != nil || (v == 1) != o.v6only {
			return false
		}
	}
	level, opt := syscall.SOL_IP, ipTransparent
	if o.v6 {
		level, opt = syscall.SOL_IPV6, ipv6Transparent
	}
	tr, err1 := syscall.GetsockoptInt(fd, level, opt)
	fb, err2 := syscall.GetsockoptInt(fd, syscall.SOL_IP, ipFreebind)
	if err1 != nil || err2 != nil {
		return false
	}
	return (tr == 1 || fb == 1) == o.foreign
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
