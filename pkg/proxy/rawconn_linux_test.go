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
