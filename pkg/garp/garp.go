// Package garp sends the gratuitous ARP keepalived sends when it takes a
// virtual IP, and schedules the repeats and refreshes keepalived makes
// (garp_master_delay, garp_master_repeat, garp_master_refresh).
//
// The frame matches keepalived 2.2.7's send_gratuitous_arp_immediate
// (vrrp_arp.c), checked against captures of the real daemon: an ARP
// *request* (opcode 1) broadcast to ff:ff:ff:ff:ff:ff, sender and target IP
// both the VIP, sender hardware the interface's MAC, target hardware the
// broadcast address (not zeros as in RFC 5227 probes), 42 bytes unpadded.
// IPv6 VIPs get keepalived's unsolicited Neighbor Advertisement instead
// (NAFrame).
package garp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
)

// etherTypeARP is the EtherType of ARP (RFC 826).
const etherTypeARP = 0x0806

// FrameLen is the length of the frame keepalived sends: a 14-byte
// Ethernet header and a 28-byte ARP packet, no padding (the NIC pads).
const FrameLen = 42

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Errors returned (wrapped) by Frame and Send.
var (
	// ErrNotIPv4 means the address given for an ARP is not IPv4.
	ErrNotIPv4 = errors.New("garp: not an IPv4 address")
	// ErrNoHardwareAddr means the interface has no Ethernet address (for
	// example a tunnel): keepalived sends nothing there either.
	ErrNoHardwareAddr = errors.New("garp: interface has no Ethernet address")
)

// Frame returns the Ethernet frame announcing that ip is at hw.
func Frame(hw net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	ip = ip.Unmap()
	if !ip.Is4() {
		return nil, fmt.Errorf("%w: %s", ErrNotIPv4, ip)
	}
	if len(hw) != 6 {
		return nil, fmt.Errorf("%w (%q)", ErrNoHardwareAddr, hw.String())
	}
	p, err := arp.NewPacket(arp.OperationRequest, hw, ip, broadcast, ip)
	if err != nil {
		return nil, fmt.Errorf("garp: %w", err)
	}
	body, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("garp: %w", err)
	}
	b := make([]byte, 0, FrameLen)
	b = append(b, broadcast...)
	b = append(b, hw...)
	b = binary.BigEndian.AppendUint16(b, etherTypeARP)
	return append(b, body...), nil
}

// Sender sends gratuitous ARPs; Conn is the real one.
type Sender interface {
	Send(ifi *net.Interface, ip netip.Addr) error
}

// Conn is a packet socket on one interface that only sends: a BPF filter
// drops everything it would receive (keepalived's if_setsockopt_no_receive).
type Conn struct {
	mu  sync.Mutex // RawSender's: announce6 opens c6 on first use
	ifi *net.Interface
	c   *packet.Conn
	c6  *packet.Conn // for IPv6 NAs, opened on first use
}

// dropAll is the classic BPF program "ret #0".
var dropAll = []bpf.RawInstruction{{Op: 0x06, K: 0}}

// Dial opens a send-only ARP packet socket on ifi. Needs CAP_NET_RAW.
func Dial(ifi *net.Interface) (*Conn, error) {
	c, err := packet.Listen(ifi, packet.Raw, etherTypeARP, &packet.Config{Filter: dropAll})
	if err != nil {
		return nil, fmt.Errorf("garp: packet socket on %s: %w", ifi.Name, err)
	}
	return &Conn{ifi: ifi, c: c}, nil
}

// Close closes the sockets.
func (c *Conn) Close() error {
	if c.c6 != nil {
		c.c6.Close()
	}
	return c.c.Close()
}

// Announce sends one gratuitous ARP for an IPv4 ip, or one unsolicited
// Neighbor Advertisement for an IPv6 one.
func (c *Conn) Announce(ip netip.Addr) error {
	if ip.Is6() && !ip.Is4In6() {
		return c.announce6(ip)
	}
	f, err := Frame(c.ifi.HardwareAddr, ip)
	if err != nil {
		return fmt.Errorf("garp: %s on %s: %w", ip, c.ifi.Name, err)
	}
	if _, err := c.c.WriteTo(f, &packet.Addr{HardwareAddr: broadcast}); err != nil {
		return fmt.Errorf("garp: sending for %s on %s: %w", ip, c.ifi.Name, err)
	}
	return nil
}

// Send announces ip on ifi (gratuitous ARP or, for IPv6, unsolicited NA),
// opening and closing a socket.
// Callers sending bursts should Dial once and Announce.
func Send(ifi *net.Interface, ip netip.Addr) error {
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("garp: %s: %w", ifi.Name, ErrNoHardwareAddr)
	}
	c, err := Dial(ifi)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Announce(ip)
}

// RawSender is the Sender of the daemon: one send-only packet socket per
// interface, opened by its first announcement and kept, as keepalived keeps
// its ARP and NA sockets open (vrrp_arp.c, vrrp_ndisc.c) instead of one
// socket per frame. Closing a packet socket waits for an RCU grace period
// in the kernel (milliseconds): with 1,000 instances becoming master at
// once, each GARP's close blocked a thread, and the runtime started a new
// one for the others (219 threads in the VRRP process, each with its
// stacks resident for the life of the process).
type RawSender struct{}

// sockets are RawSender's open sockets, by interface index.
var sockets struct {
	sync.Mutex
	m map[int]*Conn
}

// Send implements Sender. A socket that fails is closed, and the frame sent
// once more as Send sends it (a new socket), whose error is returned: an
// interface deleted or recreated gets a fresh socket, and errors read as
// before.
func (RawSender) Send(ifi *net.Interface, ip netip.Addr) error {
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("garp: %s: %w", ifi.Name, ErrNoHardwareAddr)
	}
	c := cachedConn(ifi)
	if c != nil {
		c.mu.Lock()
		err := c.Announce(ip)
		c.mu.Unlock()
		if err == nil {
			return nil
		}
		dropConn(ifi.Index, c)
	}
	return Send(ifi, ip)
}

// cachedConn is the socket for ifi, opened now if needed (nil if that
// fails: Send then reports the error). A socket opened for another name or
// hardware address under this index is replaced.
func cachedConn(ifi *net.Interface) *Conn {
	sockets.Lock()
	defer sockets.Unlock()
	c := sockets.m[ifi.Index]
	if c != nil && c.ifi.Name == ifi.Name && bytes.Equal(c.ifi.HardwareAddr, ifi.HardwareAddr) {
		return c
	}
	if c != nil {
		delete(sockets.m, ifi.Index)
		go c.Close() // see RawSender: a close waits
	}
	own := *ifi
	own.HardwareAddr = bytes.Clone(ifi.HardwareAddr)
	c, err := Dial(&own)
	if err != nil {
		return nil
	}
	if sockets.m == nil {
		sockets.m = map[int]*Conn{}
	}
	sockets.m[ifi.Index] = c
	return c
}

// dropConn closes c unless it was already replaced.
func dropConn(index int, c *Conn) {
	sockets.Lock()
	if sockets.m[index] == c {
		delete(sockets.m, index)
	}
	sockets.Unlock()
	go c.Close()
}
