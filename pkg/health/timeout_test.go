package health_test

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/health"
	"hapair/pkg/health/healthtest"
)

// blackhole is a loopback port whose accept queue is full: the kernel
// drops further SYNs, so connecting times out (no packet leaves lo).
func blackhole(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	// Fill the queue: with backlog 0 the first connections complete, the
	// next ones hang.
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return port
}

// TestL4Timeout checks a server whose connections hang: L4TOUT after
// `inter` (haproxy 2.6: "reason: Layer4 timeout, check duration: 1001ms"
// with inter 1s and timeout connect 300ms,
// testdata/haproxy26_stderr_l4tout.txt).
func TestL4Timeout(t *testing.T) {
	port := blackhole(t)
	fe := healthtest.FreePort(t)
	_, eng := healthtest.Engine(t, fmt.Sprintf(`
defaults
    mode tcp
    timeout connect 100ms
    timeout client 5s
    timeout server 5s
backend b
    server s 127.0.0.1:%d check inter 400ms fall 1
frontend f
    bind 127.0.0.1:%d
    default_backend b
`, port, fe), zerolog.Nop(), nil)
	sink := &logSink{}
	m := health.Start(eng, health.Options{Logger: zerolog.Nop(), Log: sink.log})
	t.Cleanup(m.Close)
	healthtest.Eventually(t, "s DOWN", func() bool { return !eng.Backend("b").Server("s").Up() })
	sn, _ := m.Snapshot(eng.Backend("b").Server("s"))
	if sn.Last.Code != health.CodeL4TOUT || sn.Last.Duration < 400*time.Millisecond {
		t.Errorf("last check %v in %v, want L4TOUT after inter (400ms), not timeout connect", sn.Last.Code, sn.Last.Duration)
	}
	// The duration is bounded below above; on a loaded machine it can
	// run past 500ms (seen: 587ms), so the line's figure is not pinned.
	if !sink.has(`^<1>Server b/s is DOWN, reason: Layer4 timeout, check duration: \d+ms\. 0 active and 0 backup servers left\.`) {
		t.Errorf("no L4 timeout line in:\n%s", sink.dump())
	}
}
