package health

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/health/healthtest"
	"hapair/pkg/porttest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A panic in one server's check ends that check only (issue 10: it killed
// the process): it is logged with its stack and counted, the check fails
// so the server goes DOWN, and the other server's checks go on.
func TestPanicInCheckFailsItOnly(t *testing.T) {
	var addrs []string
	for i := 0; i < 2; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		addrs = append(addrs, ln.Addr().String())
	}
	hook := func(addr string) {
		if addr == addrs[0] {
			panic("injected")
		}
	}
	testHookProbe.Store(&hook)
	t.Cleanup(func() { testHookProbe.Store(nil) })
	port := porttest.Free(t)
	cfg := fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen l
    bind 127.0.0.1:%d
    server bad %s check inter 20ms fall 1 rise 1
    server good %s check inter 20ms fall 1 rise 1
`, port, addrs[0], addrs[1])
	_, eng := healthtest.Engine(t, cfg, zerolog.Nop(), nil)
	out := &lockedBuffer{}
	m := Start(eng, Options{Logger: zerolog.New(out)})
	t.Cleanup(m.Close)
	be := eng.Backend("l")
	bad, good := be.Server("bad"), be.Server("good")
	end := time.Now().Add(10 * time.Second)
	for bad.Up() || m.Panics() < 3 {
		if time.Now().After(end) {
			t.Fatalf("bad up %v after %d panics", bad.Up(), m.Panics())
		}
		time.Sleep(5 * time.Millisecond)
	}
	first, _ := m.Snapshot(good)
	for {
		snap, _ := m.Snapshot(good)
		if snap.LastCheck.After(first.LastCheck) {
			if !good.Up() || !snap.Last.Code.OK() {
				t.Fatalf("the other server: up %v, last check %v", good.Up(), snap.Last.Code)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatal("the other server's checks stopped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	snap, _ := m.Snapshot(bad)
	if snap.Last.Code != CodeSOCKERR || snap.Last.Info != "internal error" {
		t.Errorf("the panicking check's result: %v %q", snap.Last.Code, snap.Last.Info)
	}
	log := out.String()
	if !strings.Contains(log, `"level":"error"`) || !strings.Contains(log, "health check of server l/bad: panic, check failed: injected") || !strings.Contains(log, "panic_test.go") {
		t.Errorf("no error line with the panic and its stack:\n%s", log)
	}
}
