package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
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
}

var (
	_ Manager     = (*Netlink)(nil)
	_ LinkWatcher = (*Netlink)(nil)
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
// Equivalent to: `ip addr add 192.168.1.84/32 dev eth0 [brd B] [scope S] [label L]`
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
// state first, then each change. A deleted interface reads as down; one
// created again with the same name is followed.
//
// Equivalent to: `ip monitor link dev eth0`
func (n *Netlink) WatchLink(ctx context.Context, name string) (<-chan bool, error) {
	updates := make(chan netlink.LinkUpdate, 16)
	done := make(chan struct{})
	ns := n.ns
	// A fatal receive error closes updates, which ends the watch; other
	// errors are per message and skipped by the library.
	err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		Namespace:     &ns,
		ErrorCallback: func(error) {},
	})
	if err != nil {
		return nil, fmt.Errorf("vip: watching %s: %w", name, err)
	}
	// Read the state after subscribing so no change falls between the two.
	l, err := n.link(name)
	if err != nil {
		close(done)
		return nil, fmt.Errorf("vip: watching %s: %w", name, err)
	}
	index := l.Attrs().Index
	cur := flagsUp(l.Attrs().RawFlags)

	out := make(chan bool, 1)
	out <- cur
	go func() {
		defer close(out)
		defer func() {
			close(done)
			// Drain so the library's receiver is never stuck sending.
			go func() {
				for range updates {
				}
			}()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-updates:
				if !ok {
					return
				}
				if u.Attrs() == nil || (u.Attrs().Name != name && int(u.Index) != index) {
					continue
				}
				up := flagsUp(u.Flags)
				if u.Header.Type == syscall.RTM_DELLINK {
					up = false
				} else {
					index = int(u.Index)
				}
				if up == cur {
					continue
				}
				cur = up
				select {
				case out <- up:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
