package proxy

import "golang.org/x/sys/unix"

// peerShut reports whether the peer of socket fd shut its sending side
// or the connection failed.
func peerShut(fd uintptr) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0 && p[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
}
