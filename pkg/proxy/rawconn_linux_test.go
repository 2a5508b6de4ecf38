package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// Many short sessions at once through the raw path, each a request, a
// response and the server's close, as a new connection per request does:
// every response arrives whole and ends with the FIN, and every session
// is logged with its bytes.
func TestRawShortSessions(t *testing.T) {
	if evpoll() == nil {
		t.Skip("no epoll set on this system")
	}
	resp := bytes.Repeat([]byte("r"), 300)
	be := startBackend(t, func(c *net.TCPConn) {
		buf := make([]byte, 64)
		if _, err := io.ReadFull(c, buf[:10]); err != nil {
			return
		}
		_, _ = c.Write(resp)
		c.Close()
	})
	ln, bind := listen(t)
	px := listenProxy("raw", bind, server("s1", be.port))
	_, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	const workers, each = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				c, err := net.Dial("tcp", bind.Address())
				if err != nil {
					errs <- err
					return
				}
				_ = c.SetDeadline(time.Now().Add(deadline))
				if _, err := io.WriteString(c, "0123456789"); err != nil {
					c.Close()
					errs <- err
					return
				}
				got, err := io.ReadAll(c)
				c.Close()
				if err != nil || !bytes.Equal(got, resp) {
					errs <- fmt.Errorf("session %d: %d bytes, %v", i, len(got), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sink.wait(t, workers*each)
	for _, l := range sink.all() {
		if l.BytesFromClient != 10 || l.BytesToClient != int64(len(resp)) {
			t.Fatalf("logged %d/%d bytes, want 10/%d", l.BytesFromClient, l.BytesToClient, len(resp))
		}
	}
}

// A plain mode tcp session's two sockets are raw ones (only in the
// relay's epoll set), its log has both ends of each connection, and its
// server side's local address is asked only because the session logs.
func TestRawSessionSockets(t *testing.T) {
	if evpoll() == nil {
		t.Skip("no epoll set on this system")
	}
	be := startBackend(t, bufEcho)
	ln, bind := listen(t)
	px := listenProxy("raws", bind, server("s1", be.port))
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, ln)
	c := dial(t, bind)
	roundTrip(t, c, "hello")
	e.mu.Lock()
	for s := range e.sessions {
		s.mu.Lock()
		cli, sc := rawOf(s.cli), rawOf(s.sc)
		s.mu.Unlock()
		if cli == nil || sc == nil {
			t.Errorf("session sockets %T and %T, want raw ones", s.cli, s.sc)
		}
	}
	e.mu.Unlock()
	c.Close()
	l := sink.wait(t, 1)
	if l.Client != c.LocalAddr().(*net.TCPAddr).AddrPort() || l.Frontend.Port() != uint16(bind.Port) {
		t.Errorf("logged client %v frontend %v, want %v and port %d", l.Client, l.Frontend, c.LocalAddr(), bind.Port)
	}
	if l.ServerAddr.Port() != uint16(be.port) || !l.BackendSrc.IsValid() || l.BackendSrc.Port() == 0 {
		t.Errorf("logged server %v from %v, want port %d from a valid address", l.ServerAddr, l.BackendSrc, be.port)
	}
}
