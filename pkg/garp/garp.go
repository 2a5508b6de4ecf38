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
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

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

// RawSender is the Sender that uses Send.
type RawSender struct{}

// Send implements Sender.
func (RawSender) Send(ifi *net.Interface, ip netip.Addr) error { return Send(ifi, ip) }
