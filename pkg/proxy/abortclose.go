package proxy

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// abortWatch is `option abortonclose` for a request read whole: while it
// waits for a server (queue, connect, response head), a close of the
// client's side (its FIN, or a reset) ends it, as haproxy's stream does on
// the read0 of its request channel, even behind data not read yet (a
// pipelined request, a TLS close_notify): the peer's shutdown is asked of
// the socket (POLLRDHUP), whose edge-triggered poller wakes the watch
// again when it comes.
type abortWatch struct {
	ctx    context.Context // ended by the client's close (or the engine's kill)
	cancel context.CancelFunc
	nc     net.Conn
	closed atomic.Bool // the client closed
	stop   atomic.Bool
	done   chan struct{}
}

// watchAbort starts watching the client of nc, a TCP connection (under
// TLS too); nil for other connections.
func watchAbort(parent context.Context, nc net.Conn) *abortWatch {
	rc := rawConn(nc)
	if rc == nil {
		return nil
	}
	w := &abortWatch{nc: nc, done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(parent)
	go w.run(rc)
	return w
}

func (w *abortWatch) run(rc syscall.RawConn) {
	defer close(w.done)
	var b [1]byte
	_ = rc.Read(func(fd uintptr) bool {
		if w.stop.Load() {
			return true
		}
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
			return false
		case n == 0 || err != nil:
			w.closed.Store(true)
			return true
		}
		// Data waits: closed only if the peer shut its side behind it.
		if peerShut(fd) {
			w.closed.Store(true)
			return true
		}
		return false
	})
	if w.closed.Load() {
		w.cancel()
	}
}

// aborted reports whether the client closed; nil watches nothing.
func (w *abortWatch) aborted() bool { return w != nil && w.closed.Load() }

// context is the request's: ended by the client's close when watched.
func (w *abortWatch) context(def context.Context) context.Context {
	if w == nil {
		return def
	}
	return w.ctx
}

// end stops the watch (a past read deadline wakes its wait) and gives
// the connection back without a read deadline.
func (w *abortWatch) end() {
	if w == nil || w.stop.Swap(true) {
		return
	}
	_ = w.nc.SetReadDeadline(time.Unix(1, 0))
	<-w.done
	_ = w.nc.SetReadDeadline(time.Time{})
	w.cancel()
}

// clientTCP is the TCP connection under a client's connection (its TLS
// layer and accept gate removed); another kind when there is none.
func clientTCP(c net.Conn) net.Conn {
	for {
		switch x := c.(type) {
		case *gatedConn:
			c = x.Conn
		case *tlsServerConn:
			c = x.raw
		default:
			return c
		}
	}
}

// overTLS reports whether a client's connection is TLS.
func overTLS(c net.Conn) bool {
	if g, ok := c.(*gatedConn); ok {
		c = g.Conn
	}
	_, ok := c.(*tlsServerConn)
	return ok
}
