// Package netnstest gives a root test its own network namespace on its
// locked OS thread, with veth pairs and iproute2 run inside it, so that
// the netlink, VIP, route, VMAC and ARP tests never touch the machine's
// own namespace.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Enter locks the calling goroutine to its OS thread and moves the thread
// into a fresh network namespace, restored at cleanup. Sockets and netlink
// handles opened afterwards on this thread live in the new namespace (and
// /proc/sys/net, opened from it, shows its sysctls).
func Enter(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.New()
	if err != nil {
		orig.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Set(orig); err != nil {
			t.Errorf("restoring netns: %v", err)
			return // leave the thread locked: it dies with the goroutine
		}
		orig.Close()
		ns.Close()
		runtime.UnlockOSThread()
	})
}

// Veth adds a veth pair name/peer in the current namespace, sets both ends
// up and returns the first end.
func Veth(t testing.TB, name, peer string) netlink.Link {
	t.Helper()
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}); err != nil {
		t.Fatalf("ip link add %s type veth peer name %s: %v", name, peer, err)
	}
	for _, n := range []string{name, peer} {
		l, err := netlink.LinkByName(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			t.Fatalf("ip link set %s up: %v", n, err)
		}
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Run runs cmd in the calling thread's namespace (as a user would, with
// nsenter) and returns its output; a failure fails the test.
func Run(t testing.TB, cmd string, args ...string) string {
	t.Helper()
	nsPath := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), syscall.Gettid())
	out, err := exec.Command("nsenter", append([]string{"--net=" + nsPath, cmd}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", cmd, strings.Join(args, " "), err, out)
	}
	return string(out)
}
