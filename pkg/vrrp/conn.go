package vrrp

import (
	"context"
	"errors"
	"net/netip"
)

// Conn is the boundary between a VRRP instance and the network: it sends
// datagrams built by an Encoder and receives raw datagrams for Check.
// RawConn (Linux raw sockets) and vrrptest.Conn (an in-memory LAN)
// implement it.
type Conn interface {
	// Send sends one datagram from Encoder.Encode to dst, the multicast
	// group or a unicast peer. Over IPv4 b is the whole IP datagram and is
	// sent as is (IP_HDRINCL); over IPv6 b is the VRRP message and the
	// kernel adds the header and the checksum. Send must not keep b once
	// it returns: a Sender writes its next advert over it.
	Send(b []byte, dst netip.Addr) error
	// Receive blocks until a datagram arrives, ctx is done (it returns
	// ctx.Err()) or the Conn is closed (net.ErrClosed). Datagrams are not
	// checked: pass them to Check. Call it from one goroutine at a time.
	Receive(ctx context.Context) (Received, error)
	// Close releases the sockets and ends a blocked Receive.
	Close() error
}

// Config says where a Conn sends and receives, as a vrrp_instance does.
type Config struct {
	// IfIndex is the interface (keepalived's "interface"): sockets are bound
	// to it (SO_BINDTODEVICE) and the group is joined on it.
	IfIndex int
	// Src is the source address and decides the family: over IPv4 it is
	// written into the header by the Encoder (the Conn uses it only to bind
	// in unicast mode); over IPv6 it is the source of every datagram
	// (IPV6_PKTINFO), normally the interface's link-local address.
	Src netip.Addr
	// Unicast: the instance has unicast peers. No group is joined and the
	// receiving socket is bound to Src, as keepalived does with
	// unicast_src_ip.
	Unicast bool
	// AH: receive IP protocol 51 (keepalived's auth_type AH) instead of 112.
	AH bool
	// Group is the multicast group; zero means 224.0.0.18 or ff02::12
	// (keepalived's vrrp_mcast_group4/6).
	Group netip.Addr
	// HopLimit is the IPv6 unicast hop limit (unicast_ttl); zero means 255.
	// Over IPv4 the Encoder writes the TTL.
	HopLimit int
	// RecvBuf sets SO_RCVBUF when non-zero (vrrp_rx_bufs_policy).
	RecvBuf int
	// VRID is the instance's virtual router: a Mux gives it only the
	// datagrams of this VRID. RawConn ignores it (Check drops the others).
	VRID uint8
}

// ErrConfig means a Config that cannot open a Conn.
var ErrConfig = errors.New("vrrp: bad connection config")

// group returns the configured or default multicast group.
func (c Config) group() netip.Addr {
	if c.Group.IsValid() {
		return c.Group
	}
	if c.Src.Is4() {
		return GroupIPv4
	}
	return GroupIPv6
}

// Protocol is the IP protocol the Conn receives: ProtocolAH or ProtocolVRRP.
func (c Config) Protocol() int {
	if c.AH && c.Src.Is4() {
		return ProtocolAH
	}
	return ProtocolVRRP
}
