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
package porttest

import (
	"fmt"
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
	for try := 0; try < 200; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok, err := claim(p)
		if err != nil {
			return 0, err
		}
		if ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no port left unclaimed after 200 tries")
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
