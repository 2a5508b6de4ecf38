//go:build !linux

package proxy

import "net"

// silence does nothing where TCP_REPAIR and the TTL trick are not known:
// the connection is reset as by reject.
func silence(net.Conn) {}
