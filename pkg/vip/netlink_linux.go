package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// ifaFNoDAD is IFA_F_NODAD: keepalived adds IPv6 VIPs without duplicate
// address detection so they are usable at once (vrrp_ipaddress.c).
const ifaFNoDAD = 0x02

// Netlink is the Manager and LinkWatcher for the network namespace that was
// current when NewNetlink was called, whatever thread later uses it.
type Netlink struct {
	h  *netlink.Handle
	ns netns.NsHandle

	watchMu  sync.Mutex
	watchers map[*linkWatch]struct{} // nil when not subscribed
	stopSub  chan struct{}           // closes the shared subscription

	addrMu      sync.Mutex
	addrWatch   map[chan Removed]struct{} // nil when not subscribed
	addrStopSub chan struct{}
}

var (
	_ Manager     = (*Netlink)(nil)
	_ LinkWatcher = (*Netlink)(nil)
	_ AddrWatcher = (*Netlink)(nil)
)

// NewNetlink opens a netlink route socket in the calling thread's network
// namespace. Close releases it.
func NewNetlink() (*Netlink, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("vip: current network namespace: %w", err)
	}
	h, err := netlink.NewHandleAt(ns, syscall.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("vip: netlink socket: %w", err)
	}
	return &Netlink{h: h, ns: ns}, nil
}

// Close releases the netlink socket.
func (n *Netlink) Close() error {
	n.h.Close()
	return n.ns.Close()
}

func (n *Netlink) link(name string) (netlink.Link, error) {
	l, err := n.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("%w: %s", ErrNoInterface, name)
		}
		return nil, fmt.Errorf("vip: interface %s: %w", name, err)
	}
	return l, nil
}

func toAddr(v VIP) (*netlink.Addr, error) {
	if !v.Prefix.IsValid() {
		return nil, fmt.Errorf("vip: invalid prefix in %q", v.String())
	}
	a := v.Prefix.Addr().Unmap()
	bits := v.Prefix.Bits()
	addr := &netlink.Addr{
		IPNet: &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(bits, a.BitLen())},
		Scope: v.Scope,
	}
	if v.Peer.IsValid() {
		p := v.Peer.Unmap()
		if p.Is4() != a.Is4() {
			return nil, fmt.Errorf("vip: peer %s of %s is another address family", p, a)
		}
		// IFA_ADDRESS is the peer, IFA_LOCAL the VIP; the prefix length
		// is the peer's (netlink takes it from Peer's mask).
		addr.Peer = &net.IPNet{IP: net.IP(p.AsSlice()), Mask: addr.Mask}
	}
	if a.Is4() {
		addr.Label = v.Label
		if v.Broadcast.IsValid() {
			addr.Broadcast = net.IP(v.Broadcast.Unmap().AsSlice())
		}
	} else {
		addr.Flags = ifaFNoDAD
		if lft := v.preferredLft(); lft != LftForever {
			addr.PreferedLft = int(lft)
			addr.ValidLft = int(LftForever)
		}
	}
	return addr, nil
}

// Add assigns the VIP; if the address is already there it succeeds.
//
// Equivalent to: `ip addr add 192.168.1.84/32 dev eth0 [brd B] [scope S] [label L] [peer P]`
// (for IPv6: `ip addr add fd00::84/128 dev eth0 nodad preferred_lft 0`,
// as keepalived).
func (n *Netlink) Add(ctx context.Context, v VIP) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	addr, err := toAddr(v)
	if err != nil {
		return err
	}
	l, err := n.link(v.Dev)
	if err != nil {
		return fmt.Errorf("vip: adding %s: %w", v, err)
	}
	if err := n.h.AddrAdd(l, addr); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("vip: adding %s to %s: %w", v.Prefix, v.Dev, err)
	}
	return nil
}

// Remove deletes the VIP; if the address is not there it succeeds.
//
// Equivalent to: `ip addr del 192.168.1.84/32 dev eth0`
func (n *Netlink) Remove(ctx context.Context, v VIP) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	addr, err := toAddr(v)
	if err != nil {
		return err
	}
	l, err := n.link(v.Dev)
	if err != nil {
		return fmt.Errorf("vip: removing %s: %w", v, err)
	}
	// The kernel answers EADDRNOTAVAIL for an address that is not there.
	if err := n.h.AddrDel(l, addr); err != nil &&
		!errors.Is(err, syscall.EADDRNOTAVAIL) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("vip: removing %s from %s: %w", v.Prefix, v.Dev, err)
	}
	return nil
}

// Has reports whether the VIP's address with its length is on the device.
//
// Equivalent to: `ip -o addr show dev eth0 to 192.168.1.84/32`
func (n *Netlink) Has(v VIP) (bool, error) {
	want, err := toAddr(v)
	if err != nil {
		return false, err
	}
	l, err := n.link(v.Dev)
	if err != nil {
		return false, fmt.Errorf("vip: looking up %s: %w", v, err)
	}
	family := netlink.FAMILY_V4
	if v.Prefix.Addr().Unmap().Is6() {
		family = netlink.FAMILY_V6
	}
	addrs, err := n.h.AddrList(l, family)
	if err != nil {
		return false, fmt.Errorf("vip: listing addresses of %s: %w", v.Dev, err)
	}
	wantOnes, _ := want.Mask.Size()
	for _, a := range addrs {
		ones, _ := a.Mask.Size()
		if a.IP.Equal(want.IP) && ones == wantOnes {
			return true, nil
		}
	}
	return false, nil
}

func flagsUp(f uint32) bool {
	const up = syscall.IFF_UP | syscall.IFF_RUNNING
	return f&up == up
}

// WatchLink reports whether the interface is up and running: the current
// state first, then each change (a receiver that falls behind gets the
// latest state, not every flap). A deleted interface reads as down; one
// created again with the same name is followed.
//
// All watches of a Netlink share one netlink subscription: 100 instances
// on one interface used to open 100 sockets, each reading every link event
// into its own 64 KiB buffer.
//
// Equivalent to: `ip monitor link dev eth0`
func (n *Netlink) WatchLink(ctx context.Context, name string) (<-chan bool, error) {
	n.watchMu.Lock()
	defer n.watchMu.Unlock()
	if n.watchers == nil {
		if err := n.subscribe(); err != nil {
			return nil, fmt.Errorf("vip: watching %s: %w", name, err)
		}
	}
	// Read the state after subscribing so no change falls between the two.
	l, err := n.link(name)
	if err != nil {
		n.unsubscribeIfIdle()
		return nil, fmt.Errorf("vip: watching %s: %w", name, err)
	}
	w := &linkWatch{name: name, index: l.Attrs().Index, cur: flagsUp(l.Attrs().RawFlags), out: make(chan bool, 1), gone: make(chan struct{})}
	w.out <- w.cur
	n.watchers[w] = struct{}{}
	// A callback, not a goroutine per watch: gkeepalived watches once per
	// instance. After a failed subscription (w.gone) the watch is no
	// longer in the map and the callback does nothing.
	context.AfterFunc(ctx, func() {
		n.watchMu.Lock()
		defer n.watchMu.Unlock()
		if _, ok := n.watchers[w]; ok {
			delete(n.watchers, w)
			close(w.out)
			n.unsubscribeIfIdle()
		}
	})
	return w.out, nil
}

// linkWatch is one WatchLink caller.
type linkWatch struct {
	name  string
	index int
	cur   bool
	out   chan bool
	gone  chan struct{} // closed when the subscription failed
}

// subscribe opens the shared subscription and its dispatcher. watchMu is
// held.
func (n *Netlink) subscribe() error {
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	ns := n.ns
	// A fatal receive error closes updates, which ends every watch; other
	// errors are per message and skipped by the library.
	err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		Namespace:     &ns,
		ErrorCallback: func(error) {},
	})
	if err != nil {
		return err
	}
	n.watchers = map[*linkWatch]struct{}{}
	n.stopSub = done
	go n.dispatch(updates, done)
	return nil
}

// unsubscribeIfIdle closes the subscription once nobody watches. watchMu
// is held.
func (n *Netlink) unsubscribeIfIdle() {
	if len(n.watchers) > 0 || n.stopSub == nil {
		return
	}
	close(n.stopSub)
	n.stopSub = nil
	n.watchers = nil
}

func (n *Netlink) dispatch(updates <-chan netlink.LinkUpdate, done chan struct{}) {
	defer func() {
		// Drain so the library's receiver is never stuck sending.
		go func() {
			for range updates {
			}
		}()
	}()
	for u := range updates {
		if u.Attrs() == nil {
			continue
		}
		n.watchMu.Lock()
		if n.stopSub != done {
			n.watchMu.Unlock()
			return
		}
		for w := range n.watchers {
			if u.Attrs().Name != w.name && int(u.Index) != w.index {
				continue
			}
			up := flagsUp(u.Flags)
			if u.Header.Type == syscall.RTM_DELLINK {
				up = false
			} else {
				w.index = int(u.Index)
			}
			if up == w.cur {
				continue
			}
			w.cur = up
			// Latest state wins: never block the dispatcher.
			select {
			case <-w.out:
			default:
			}
			w.out <- up
		}
		n.watchMu.Unlock()
	}
	// The subscription failed: end every watch, a later WatchLink
	// subscribes again.
	n.watchMu.Lock()
	defer n.watchMu.Unlock()
	if n.stopSub != done {
		return
	}
	for w := range n.watchers {
		close(w.gone)
		close(w.out)
	}
	n.watchers = nil
	n.stopSub = nil
}

// WatchRemoved reports addresses deleted from the namespace's interfaces.
// All watches share one netlink subscription, as WatchLink's do.
//
// Equivalent to: `ip monitor address` (the "Deleted" lines)
func (n *Netlink) WatchRemoved(ctx context.Context) (<-chan Removed, error) {
	n.addrMu.Lock()
	defer n.addrMu.Unlock()
	if n.addrWatch == nil {
		updates := make(chan netlink.AddrUpdate, 64)
		done := make(chan struct{})
		ns := n.ns
		err := netlink.AddrSubscribeWithOptions(updates, done, netlink.AddrSubscribeOptions{
			Namespace:     &ns,
			ErrorCallback: func(error) {},
		})
		if err != nil {
			return nil, fmt.Errorf("vip: watching addresses: %w", err)
		}
		n.addrWatch = map[chan Removed]struct{}{}
		n.addrStopSub = done
		go n.dispatchAddrs(updates, done)
	}
	out := make(chan Removed, 64)
	n.addrWatch[out] = struct{}{}
	context.AfterFunc(ctx, func() {
		n.addrMu.Lock()
		defer n.addrMu.Unlock()
		if _, ok := n.addrWatch[out]; ok {
			delete(n.addrWatch, out)
			close(out)
			if len(n.addrWatch) == 0 {
				close(n.addrStopSub)
				n.addrWatch, n.addrStopSub = nil, nil
			}
		}
	})
	return out, nil
}

func (n *Netlink) dispatchAddrs(updates <-chan netlink.AddrUpdate, done chan struct{}) {
	defer func() {
		go func() {
			for range updates {
			}
		}()
	}()
	for u := range updates {
		if u.NewAddr {
			continue
		}
		ip, ok := netip.AddrFromSlice(u.LinkAddress.IP)
		if !ok {
			continue
		}
		dev := ""
		if l, err := n.h.LinkByIndex(u.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		r := Removed{Dev: dev, Addr: ip.Unmap()}
		n.addrMu.Lock()
		if n.addrStopSub != done {
			n.addrMu.Unlock()
			return
		}
		for w := range n.addrWatch {
			select {
			case w <- r:
			default:
			}
		}
		n.addrMu.Unlock()
	}
	// The subscription failed: end every watch.
	n.addrMu.Lock()
	defer n.addrMu.Unlock()
	if n.addrStopSub != done {
		return
	}
	for w := range n.addrWatch {
		close(w)
	}
	n.addrWatch, n.addrStopSub = nil, nil
}
