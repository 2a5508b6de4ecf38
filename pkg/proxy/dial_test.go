package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http/httptrace"
	"testing"
	"time"
)

// dialServer's connect to an IP address (no resolver) is what
// net.Dialer.DialContext does for it: the same peer, the same error text
// and kind on a refused port, the same httptrace connect events.
func TestDialServerIPLikeDialContext(t *testing.T) {
	ln, bind := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	open := fmt.Sprintf("127.0.0.1:%d", bind.Port)
	dead := fmt.Sprintf("127.0.0.1:%d", deadPort(t))
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1}
	for _, addr := range []string{open, dead, "[::1]:" + fmt.Sprint(deadPort(t))} {
		var events [2][]string
		dialWith := func(i int, dial func(ctx context.Context) (net.Conn, error)) (net.Conn, error) {
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				ConnectStart: func(network, a string) { events[i] = append(events[i], "start "+network+" "+a) },
				ConnectDone: func(network, a string, err error) {
					events[i] = append(events[i], fmt.Sprintf("done %s %s %v", network, a, err))
				},
			})
			return dial(ctx)
		}
		c0, err0 := dialWith(0, func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) })
		c1, err1 := dialWith(1, func(ctx context.Context) (net.Conn, error) { return dialServer(ctx, d, "tcp", addr) })
		if (err0 == nil) != (err1 == nil) || err0 != nil && err0.Error() != err1.Error() {
			t.Errorf("%s: error %v, DialContext's %v", addr, err1, err0)
		}
		if err1 != nil && isTimeout(err1) != isTimeout(err0) {
			t.Errorf("%s: timeout %v, DialContext's %v", addr, isTimeout(err1), isTimeout(err0))
		}
		if c0 != nil && c1 != nil {
			if c0.RemoteAddr().String() != c1.RemoteAddr().String() {
				t.Errorf("%s: peer %s, DialContext's %s", addr, c1.RemoteAddr(), c0.RemoteAddr())
			}
			if _, ok := c1.(*net.TCPConn); !ok {
				t.Errorf("%s: a %T", addr, c1)
			}
		}
		for _, c := range []net.Conn{c0, c1} {
			if c != nil {
				c.Close()
			}
		}
		if fmt.Sprint(events[0]) != fmt.Sprint(events[1]) {
			t.Errorf("%s: trace %q, DialContext's %q", addr, events[1], events[0])
		}
	}
}
