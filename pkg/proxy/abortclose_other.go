//go:build !linux

package proxy

// peerShut is false where the socket cannot tell a peer's shutdown
// behind pending data (no POLLRDHUP): only a read of nothing counts.
func peerShut(uintptr) bool { return false }
