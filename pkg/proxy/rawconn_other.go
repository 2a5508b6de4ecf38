//go:build !linux

package proxy

import (
	"context"
	"net"
)

// rawSock exists on Linux only (rawconn_linux.go): elsewhere sessions
// keep Go's sockets.
type rawSock struct{ net.Conn }

func rawOf(c net.Conn) *rawSock { return nil }

type rawListener struct{ net.Listener }

func (l *rawListener) unregister() {}

func rawListen(ln net.Listener, ka *net.KeepAliveConfig, local *net.TCPAddr, stop <-chan struct{}) *rawListener {
	return nil
}

func dialRaw(ctx context.Context, d *net.Dialer, addr string) (net.Conn, bool, error) {
	return nil, false, nil
}
