package garp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/mdlayher/packet"
)

// etherTypeIPv6 is the EtherType of IPv6 (RFC 2464).
const etherTypeIPv6 = 0x86dd

// NAFrameLen is the length of keepalived's unsolicited Neighbor
// Advertisement: Ethernet 14, IPv6 40, NA 24, target link-layer option 8.
const NAFrameLen = 86

var allNodes = netip.MustParseAddr("ff02::1")

// NAFrame returns the unsolicited Neighbor Advertisement (RFC 4861,
// Section 7.2.6) keepalived 2.2.7 sends for an IPv6 VIP
// (vrrp_ndisc.c ndisc_send_unsolicited_na_immediate): from the VIP to
// all-nodes ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255, Override
// set, Router set when the interface forwards, target the VIP, and the
// target link-layer address option.
func NAFrame(hw net.HardwareAddr, ip netip.Addr, router bool) ([]byte, error) {
	if !ip.Is6() || ip.Is4In6() {
		return nil, fmt.Errorf("garp: not an IPv6 address: %s", ip)
	}
	if len(hw) != 6 {
		return nil, fmt.Errorf("%w (%q)", ErrNoHardwareAddr, hw.String())
	}
	b := make([]byte, 0, NAFrameLen)
	b = append(b, 0x33, 0x33, 0, 0, 0, 1)
	b = append(b, hw...)
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv6)

	src, dst := ip.As16(), allNodes.As16()
	b = append(b, 0x60, 0, 0, 0) // version 6, traffic class 0, flow 0
	b = binary.BigEndian.AppendUint16(b, 32)
	b = append(b, 58, 255) // ICMPv6, hop limit 255
	b = append(b, src[:]...)
	b = append(b, dst[:]...)

	icmp := make([]byte, 32)
	icmp[0] = 136 // Neighbor Advertisement
	flags := byte(0x20)
	if router {
		flags |= 0x80
	}
	icmp[4] = flags
	copy(icmp[8:24], src[:])
	icmp[24], icmp[25] = 2, 1 // target link-layer address, 8 bytes
	copy(icmp[26:], hw)
	binary.BigEndian.PutUint16(icmp[2:], icmpv6Checksum(src, dst, icmp))
	return append(b, icmp...), nil
}

// icmpv6Checksum is the RFC 4443 Section 2.3 checksum with the IPv6
// pseudo-header (RFC 8200 Section 8.1).
func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += uint32(len(msg))
	sum += 58
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// forwarding reports whether IPv6 forwarding is on for the interface:
// keepalived then sets the Router flag.
func forwarding(ifname string) bool {
	b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + ifname + "/forwarding")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

func (c *Conn) announce6(ip netip.Addr) error {
	if c.c6 == nil {
		p, err := packet.Listen(c.ifi, packet.Raw, etherTypeIPv6, &packet.Config{Filter: dropAll})
		if err != nil {
			return fmt.Errorf("garp: packet socket on %s: %w", c.ifi.Name, err)
		}
		c.c6 = p
	}
	f, err := NAFrame(c.ifi.HardwareAddr, ip, forwarding(c.ifi.Name))
	if err != nil {
		return fmt.Errorf("garp: %s on %s: %w", ip, c.ifi.Name, err)
	}
	if _, err := c.c6.WriteTo(f, &packet.Addr{HardwareAddr: net.HardwareAddr(f[:6])}); err != nil {
		return fmt.Errorf("garp: sending NA for %s on %s: %w", ip, c.ifi.Name, err)
	}
	return nil
}
