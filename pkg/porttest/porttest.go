// Package porttest hands tests loopback TCP ports that were free a moment
// ago and that no other caller on the machine has been handed since.
//
// A port picked by binding port 0 and closing the socket may be picked
// again by the next bind to port 0, in this process or in another test
// binary running in parallel. haproxy and gproxy both listen with
// SO_REUSEPORT, so two proxies given the same port do not fail: they share
// it, and the kernel spreads one test's connections over the other's
// listener (TestIntegrationHashMatchesHaproxy failed that way in CI, two of
// its fifteen backends swapping ~40% of their requests). Each port handed
// out here is therefore locked (flock on a file under the temp directory,
// released when the process exits) for the rest of the process's life.
//
// Ports are also drawn from below the kernel's ephemeral range
// (ip_local_port_range): a port from that range, free a moment ago, may
// become the source port of any outgoing connection before the proxy
// under test binds it (haproxy then exits "Some protocols failed to start
// their listeners", as TestIntegrationHTTPReuseHaproxy did in CI).
package porttest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

var (
	mu   sync.Mutex
	held = map[int]*os.File{}
)

// Free returns a loopback TCP port nobody listens on and that no other
// caller of Free, in this process or another, has been given.
func Free(t testing.TB) int {
	t.Helper()
	p, err := free()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return p
}

// FreeAddr is Free as "127.0.0.1:PORT".
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", Free(t))
}

func free() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	lo, hi := below()
	for try := 0; try < 500; try++ {
		p := lo + rand.IntN(hi-lo)
		if try >= 400 { // the range is crowded: what port 0 binding gives
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			p = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
		}
		// Free on every address, as a proxy binding *:p needs it.
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		ok, err := claim(p)
		if err != nil {
			return 0, err
		}
		if ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no port left unclaimed after 500 tries")
}

// below is the range ports are drawn from: under the ephemeral range the
// kernel gives outgoing connections and port 0 bindings, above the
// well-known and registered ports tests might meet (10000).
func below() (lo, hi int) {
	lo, hi = 10000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	var elo, ehi int
	if _, err := fmt.Sscan(string(b), &elo, &ehi); err != nil {
		return lo, hi
	}
	if elo-lo >= 2000 {
		return lo, elo
	}
	return ehi + 1, 65536 // a machine whose ephemeral range starts low
}

// claim locks port p for this process; false when this process or
// another one already holds it. The caller holds mu.
func claim(p int) (bool, error) {
	if held[p] != nil {
		return false, nil
	}
	dir := filepath.Join(os.TempDir(), "hapair-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return false, err
	}
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprint(p)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close() // another test process holds it
		return false, nil
	}
	held[p] = f
	return true, nil
}
