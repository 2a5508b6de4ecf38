// Package vrrptest provides an in-memory vrrp.Conn: several Conns on one
// Link behave like raw sockets of hosts on one LAN segment.
package vrrptest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"hapair/pkg/vrrp"
)

// queueLen is how many datagrams a Conn holds before dropping, like a full
// socket receive buffer.
const queueLen = 256

// Frame is one datagram sent on a Link.
type Frame struct {
	Src, Dst netip.Addr
	// Packet is what was sent: over IPv4 the whole datagram, over IPv6 the
	// VRRP message.
	Packet []byte
}

// Link is a shared segment. The zero value is not usable: use NewLink.
type Link struct {
	mu     sync.Mutex
	conns  map[*Conn]bool
	frames []Frame
}

// NewLink returns an empty link.
func NewLink() *Link { return &Link{conns: map[*Conn]bool{}} }

// Listen attaches a Conn to the link, configured as vrrp.Listen would be:
// cfg.Src is its address and family, cfg.AH selects protocol 51 over IPv4,
// cfg.Unicast makes it receive only datagrams to cfg.Src, otherwise only
// those to its group. IfIndex is recorded, not checked.
func (l *Link) Listen(cfg vrrp.Config) (*Conn, error) {
	if !cfg.Src.IsValid() {
		return nil, fmt.Errorf("%w: source address %v", vrrp.ErrConfig, cfg.Src)
	}
	if !cfg.Group.IsValid() {
		cfg.Group = vrrp.GroupIPv6
		if cfg.Src.Is4() {
			cfg.Group = vrrp.GroupIPv4
		}
	}
	c := &Conn{link: l, cfg: cfg, q: make(chan vrrp.Received, queueLen), closed: make(chan struct{})}
	l.mu.Lock()
	l.conns[c] = true
	l.mu.Unlock()
	return c, nil
}

// Frames returns every datagram sent on the link so far, in order.
func (l *Link) Frames() []Frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Frame(nil), l.frames...)
}

// Inject delivers a datagram as if a host outside the test sent it from
// src to dst: over IPv4 b is the whole IP datagram, over IPv6 the VRRP
// message (delivered with hop limit 255).
func (l *Link) Inject(b []byte, src, dst netip.Addr) {
	l.deliver(nil, b, src, dst, vrrp.TTL)
}

func (l *Link) deliver(from *Conn, b []byte, src, dst netip.Addr, hops int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.frames = append(l.frames, Frame{Src: src, Dst: dst, Packet: append([]byte(nil), b...)})
	for c := range l.conns {
		// Multicast loopback is off: a sender never hears itself.
		if c == from || c.isDown() || c.cfg.Src.Is4() != src.Is4() {
			continue
		}
		if dst.IsMulticast() {
			if c.cfg.Unicast || dst != c.cfg.Group {
				continue
			}
		} else if !c.cfg.Unicast || dst != c.cfg.Src {
			continue
		}
		r := vrrp.Received{Packet: append([]byte(nil), b...), Src: src, Dst: dst, HopLimit: -1, IfIndex: c.cfg.IfIndex}
		if src.Is4() {
			if len(b) < vrrp.IPv4HeaderLen || int(b[9]) != c.cfg.Protocol() {
				continue
			}
		} else {
			r.HopLimit = hops
		}
		select {
		case c.q <- r:
		default: // receive buffer full: lost, as on a real socket
		}
	}
}

// Conn is an in-memory vrrp.Conn on a Link.
type Conn struct {
	link   *Link
	cfg    vrrp.Config
	q      chan vrrp.Received
	mu     sync.Mutex
	down   bool
	closed chan struct{}
	once   sync.Once
}

var _ vrrp.Conn = (*Conn)(nil)

// Send implements vrrp.Conn. Over IPv4 the source is read from the
// datagram's header, as the kernel sends it with IP_HDRINCL.
func (c *Conn) Send(b []byte, dst netip.Addr) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	if dst.Is4() != c.cfg.Src.Is4() {
		return fmt.Errorf("vrrptest: send to %v from %v", dst, c.cfg.Src)
	}
	if c.isDown() {
		return nil // the cable is out: lost without an error, as on Linux
	}
	src := c.cfg.Src
	hops := vrrp.TTL
	if src.Is4() {
		if len(b) < vrrp.IPv4HeaderLen {
			return fmt.Errorf("vrrptest: %d-byte IPv4 datagram", len(b))
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
	} else if c.cfg.Unicast && c.cfg.HopLimit != 0 {
		hops = c.cfg.HopLimit
	}
	c.link.deliver(c, b, src, dst, hops)
	return nil
}

// Receive implements vrrp.Conn.
func (c *Conn) Receive(ctx context.Context) (vrrp.Received, error) {
	select {
	case r := <-c.q:
		return r, nil
	case <-ctx.Done():
		return vrrp.Received{}, ctx.Err()
	case <-c.closed:
		return vrrp.Received{}, net.ErrClosed
	}
}

// Close implements vrrp.Conn; it detaches the Conn from the link.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.link.mu.Lock()
		delete(c.link.conns, c)
		c.link.mu.Unlock()
	})
	return nil
}

// SetDown cuts (true) or restores (false) this Conn's cable: while down it
// neither sends nor receives, and sends report no error.
func (c *Conn) SetDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

func (c *Conn) isDown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down
}
