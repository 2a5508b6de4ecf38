package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"hapair/pkg/netnstest"
)

// inNewNetns moves the test's locked OS thread into a fresh network
// namespace, undone at cleanup, and returns a Netlink bound to it.
func inNewNetns(t *testing.T) *Netlink {
	t.Helper()
	netnstest.Enter(t)
	n, err := NewNetlink()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// addVeth makes a veth pair, both ends up (this kernel has no dummy
// driver), and returns the first end.
func addVeth(t *testing.T, name, peer string) netlink.Link {
	t.Helper()
	return netnstest.Veth(t, name, peer)
}

// ipAddrShow runs iproute2 in the test thread's namespace, as a user would.
func ipAddrShow(t *testing.T, dev string) string {
	t.Helper()
	return netnstest.Run(t, "ip", "-o", "addr", "show", "dev", dev)
}

func TestIntegrationAddHasRemove(t *testing.T) {
	for _, tc := range []struct {
		name string
		vip  VIP
		show string // substring of `ip -o addr show` after Add
	}{
		{"v4 host", VIP{Prefix: netip.MustParsePrefix("192.168.1.84/32"), Dev: "veth0"}, "inet 192.168.1.84/32 scope global veth0"},
		{"v4 label brd", VIP{Prefix: netip.MustParsePrefix("192.168.1.85/24"), Dev: "veth0", Label: "veth0:vip",
			Broadcast: netip.MustParseAddr("192.168.1.255")}, "inet 192.168.1.85/24 brd 192.168.1.255 scope global veth0:vip"},
		// As keepalived 2.2.7 shows `10.0.0.100 peer 10.0.0.200` in a lab run.
		{"v4 peer", VIP{Prefix: netip.MustParsePrefix("10.0.0.100/32"), Dev: "veth0", Peer: netip.MustParseAddr("10.0.0.200")},
			"inet 10.0.0.100 peer 10.0.0.200/32 scope global veth0"},
		{"v4 scope host", VIP{Prefix: netip.MustParsePrefix("10.9.9.9/32"), Dev: "veth0", Scope: ScopeHost}, "inet 10.9.9.9/32 scope host veth0"},
		// As keepalived 2.2.7 shows it: a /128 VIP is deprecated.
		{"v6", VIP{Prefix: netip.MustParsePrefix("fd00::84/128"), Dev: "veth0"}, "inet6 fd00::84/128 scope global nodad deprecated \\       valid_lft forever preferred_lft 0sec"},
		{"v6 /64", VIP{Prefix: netip.MustParsePrefix("fd00::85/64"), Dev: "veth0"}, "inet6 fd00::85/64 scope global nodad \\       valid_lft forever preferred_lft forever"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := inNewNetns(t)
			addVeth(t, "veth0", "peer0")
			ctx := context.Background()
			if has, err := n.Has(tc.vip); err != nil || has {
				t.Fatalf("Has before Add = %v, %v; want false", has, err)
			}
			for i := 0; i < 2; i++ { // the second Add must be a no-op
				if err := n.Add(ctx, tc.vip); err != nil {
					t.Fatalf("Add #%d: %v", i+1, err)
				}
			}
			if has, err := n.Has(tc.vip); err != nil || !has {
				t.Fatalf("Has after Add = %v, %v; want true", has, err)
			}
			if out := ipAddrShow(t, "veth0"); !strings.Contains(out, tc.show) {
				t.Errorf("ip addr show lacks %q:\n%s", tc.show, out)
			}
			// Same address, other length: not the same VIP.
			other := tc.vip
			other.Prefix = netip.PrefixFrom(tc.vip.Prefix.Addr(), tc.vip.Prefix.Bits()-1)
			if has, err := n.Has(other); err != nil || has {
				t.Errorf("Has(%s) = %v, %v; want false", other, has, err)
			}
			for i := 0; i < 2; i++ { // the second Remove must be a no-op
				if err := n.Remove(ctx, tc.vip); err != nil {
					t.Fatalf("Remove #%d: %v", i+1, err)
				}
			}
			if has, err := n.Has(tc.vip); err != nil || has {
				t.Fatalf("Has after Remove = %v, %v; want false", has, err)
			}
			if out := ipAddrShow(t, "veth0"); strings.Contains(out, " "+tc.vip.Prefix.Addr().String()+"/") || strings.Contains(out, " "+tc.vip.Prefix.Addr().String()+" peer") {
				t.Errorf("address still shown after Remove:\n%s", out)
			}
		})
	}
}

func TestIntegrationNoInterface(t *testing.T) {
	n := inNewNetns(t)
	v := VIP{Prefix: netip.MustParsePrefix("192.168.1.84/32"), Dev: "eth7"}
	for name, err := range map[string]error{
		"Add":    n.Add(context.Background(), v),
		"Remove": n.Remove(context.Background(), v),
	} {
		if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), "eth7") {
			t.Errorf("%s on a missing interface: %v; want ErrNoInterface naming eth7", name, err)
		}
	}
	if _, err := n.Has(v); !errors.Is(err, ErrNoInterface) {
		t.Errorf("Has: %v; want ErrNoInterface", err)
	}
	if _, err := n.WatchLink(context.Background(), "eth7"); !errors.Is(err, ErrNoInterface) {
		t.Errorf("WatchLink: %v; want ErrNoInterface", err)
	}
}

func TestIntegrationWatchLink(t *testing.T) {
	n := inNewNetns(t)
	l := addVeth(t, "veth0", "peer0")
	addVeth(t, "veth1", "peer1") // changes on another link must not be reported
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := n.WatchLink(ctx, "veth0")
	if err != nil {
		t.Fatal(err)
	}
	next := func(want bool, what string) {
		t.Helper()
		select {
		case got, ok := <-ch:
			if !ok || got != want {
				t.Fatalf("%s: got %v (open %v), want %v", what, got, ok, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no event within 10s", what)
		}
	}
	next(true, "initial state")
	d1, _ := netlink.LinkByName("veth1")
	if err := netlink.LinkSetDown(d1); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetDown(l); err != nil {
		t.Fatal(err)
	}
	next(false, "ip link set veth0 down")
	if err := netlink.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	next(true, "ip link set veth0 up")
	// The peer going down takes the carrier (IFF_RUNNING) away: down too.
	peer, _ := netlink.LinkByName("peer0")
	if err := netlink.LinkSetDown(peer); err != nil {
		t.Fatal(err)
	}
	next(false, "ip link set peer0 down (no carrier)")
	if err := netlink.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	next(true, "ip link set peer0 up")
	if err := netlink.LinkDel(l); err != nil {
		t.Fatal(err)
	}
	next(false, "ip link del veth0")
	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed 10s after cancel")
		}
	}
}

// TestIntegrationWatchLinkShared: watches share one subscription; each
// sees its own link, a cancelled one closes without disturbing the others,
// and the subscription closes with the last watch.
func TestIntegrationWatchLinkShared(t *testing.T) {
	n := inNewNetns(t)
	l0 := addVeth(t, "veth0", "peer0")
	l1 := addVeth(t, "veth1", "peer1")
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	a, err := n.WatchLink(ctxA, "veth0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.WatchLink(ctxB, "veth1")
	if err != nil {
		t.Fatal(err)
	}
	b2, err := n.WatchLink(ctxB, "veth1")
	if err != nil {
		t.Fatal(err)
	}
	next := func(ch <-chan bool, want bool, what string) {
		t.Helper()
		select {
		case got, ok := <-ch:
			if !ok || got != want {
				t.Fatalf("%s: got %v (open %v), want %v", what, got, ok, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no event within 10s", what)
		}
	}
	for _, ch := range []<-chan bool{a, b, b2} {
		next(ch, true, "initial state")
	}
	if err := netlink.LinkSetDown(l1); err != nil {
		t.Fatal(err)
	}
	next(b, false, "veth1 down, first watch")
	next(b2, false, "veth1 down, second watch")
	cancelA()
	for range a {
	}
	if err := netlink.LinkSetDown(l0); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(l1); err != nil {
		t.Fatal(err)
	}
	next(b, true, "veth1 up after the other watch ended")
	next(b2, true, "veth1 up, second watch")
	cancelB()
	for range b {
	}
	for range b2 {
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n.watchMu.Lock()
		idle := n.watchers == nil && n.stopSub == nil
		n.watchMu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the shared subscription is still open after every watch ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIntegrationWatchRemoved: an operator's `ip addr del` is reported
// with the interface and address; an addition is not.
func TestIntegrationWatchRemoved(t *testing.T) {
	n := inNewNetns(t)
	addVeth(t, "veth0", "peer0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := n.WatchRemoved(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := VIP{Prefix: netip.MustParsePrefix("192.168.1.84/32"), Dev: "veth0"}
	if err := n.Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	nsPath := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), syscall.Gettid())
	if out, err := exec.Command("nsenter", "--net="+nsPath, "ip", "addr", "del", "192.168.1.84/32", "dev", "veth0").CombinedOutput(); err != nil {
		t.Fatalf("ip addr del: %v: %s", err, out)
	}
	for {
		select {
		case r := <-ch:
			if r.Addr.IsLinkLocalUnicast() {
				continue // the veth's own IPv6 address may come and go
			}
			if r != (Removed{Dev: "veth0", Addr: netip.MustParseAddr("192.168.1.84")}) {
				t.Fatalf("got %+v, want veth0 192.168.1.84", r)
			}
			cancel()
			for range ch { // closed once the watch ends
			}
			return
		case <-time.After(5 * time.Second):
			t.Fatal("no removal reported within 5s")
		}
	}
}
