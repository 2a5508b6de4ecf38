package vrrp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Socket options the syscall package lacks (linux/in.h, linux/in6.h).
const (
	ipMulticastAll   = 49
	ipv6MulticastAll = 29
	ipv6Tclass       = 67
	ipv6HopLimit     = 52 // cmsg type of IPV6_RECVHOPLIMIT
	ipv6PktInfo      = 50 // cmsg type of IPV6_RECVPKTINFO
)

// RawConn is a Conn on Linux raw sockets, set up as keepalived 2.2.7 sets up
// its VRRP sockets (vrrp.c open_vrrp_send_socket / open_vrrp_read_socket):
//
//   - a send socket: IP_HDRINCL over IPv4 (the datagram, IP ID included,
//     is ours), IPV6_CHECKSUM at offset 6 and hop limit 255 over IPv6;
//     bound to the device; multicast interface set and loopback off; a
//     filter that drops everything, since it never receives;
//   - a receive socket for protocol 112 (51 with AH): IP_MULTICAST_ALL off,
//     the group joined on the interface and the socket bound to the group
//     (or, in unicast mode, bound to the source address), bound to the
//     device, and over IPv6 IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO.
type RawConn struct {
	cfg  Config
	send *net.IPConn
	recv *net.IPConn
	buf  []byte
	oob  []byte
}

var _ Conn = (*RawConn)(nil)

// maxDatagram bounds what Receive reads: the largest VRRP datagram (255
// IPv6 addresses, 4 KiB) fits a jumbo frame, anything larger is not VRRP and
// is skipped as truncated. A 64 KiB buffer per instance cost 6 MiB of RSS
// with 100 instances.
const maxDatagram = 9216

// Listen opens the sockets of cfg. It needs CAP_NET_RAW. Sockets belong to
// the network namespace of the calling thread.
func Listen(cfg Config) (*RawConn, error) {
	if !cfg.Src.IsValid() || cfg.Src.Is4In6() {
		return nil, fmt.Errorf("%w: source address %v", ErrConfig, cfg.Src)
	}
	ifi, err := net.InterfaceByIndex(cfg.IfIndex)
	if err != nil {
		return nil, fmt.Errorf("%w: interface %d: %v", ErrConfig, cfg.IfIndex, err)
	}
	if g := cfg.group(); !cfg.Unicast && (!g.IsMulticast() || g.Is4() != cfg.Src.Is4()) {
		return nil, fmt.Errorf("%w: group %v for source %v", ErrConfig, g, cfg.Src)
	}
	c := &RawConn{cfg: cfg, buf: make([]byte, maxDatagram), oob: make([]byte, 256)}
	if c.send, err = openSend(cfg, ifi.Name); err != nil {
		return nil, fmt.Errorf("vrrp: send socket on %s: %w", ifi.Name, err)
	}
	if c.recv, err = openRecv(cfg, ifi.Name); err != nil {
		c.send.Close()
		return nil, fmt.Errorf("vrrp: receive socket on %s: %w", ifi.Name, err)
	}
	return c, nil
}

// rawSocket opens a non-blocking raw socket, lets setup configure it and
// hands it to the runtime poller as a *net.IPConn.
func rawSocket(family, proto int, setup func(fd int) error) (*net.IPConn, error) {
	fd, err := syscall.Socket(family, syscall.SOCK_RAW|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	f := os.NewFile(uintptr(fd), "vrrp")
	defer f.Close() // FilePacketConn dups the descriptor
	if err := setup(fd); err != nil {
		return nil, err
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, err
	}
	ipc, ok := pc.(*net.IPConn)
	if !ok {
		pc.Close()
		return nil, fmt.Errorf("raw socket is a %T", pc)
	}
	return ipc, nil
}

func setInt(fd, level, opt, v int, name string) error {
	if err := syscall.SetsockoptInt(fd, level, opt, v); err != nil {
		return os.NewSyscallError("setsockopt "+name, err)
	}
	return nil
}

func openSend(cfg Config, ifname string) (*net.IPConn, error) {
	v4 := cfg.Src.Is4()
	family, proto := syscall.AF_INET6, ProtocolVRRP
	if v4 {
		// With IP_HDRINCL the protocol only selects the socket; the header
		// we write says 112 or 51.
		family, proto = syscall.AF_INET, cfg.Protocol()
	}
	return rawSocket(family, proto, func(fd int) error {
		if err := setInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 0, "SO_RCVBUF"); err != nil {
			return err
		}
		if v4 {
			if err := setInt(fd, syscall.IPPROTO_IP, ipMulticastAll, 0, "IP_MULTICAST_ALL"); err != nil {
				return err
			}
			if err := setInt(fd, syscall.IPPROTO_IP, syscall.IP_HDRINCL, 1, "IP_HDRINCL"); err != nil {
				return err
			}
		} else {
			if err := setInt(fd, syscall.IPPROTO_IPV6, ipv6MulticastAll, 0, "IPV6_MULTICAST_ALL"); err != nil {
				return err
			}
			// The kernel computes the checksum at offset 6 with the
			// pseudo-header.
			if err := setInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_CHECKSUM, 6, "IPV6_CHECKSUM"); err != nil {
				return err
			}
			if cfg.Unicast {
				hl := cfg.HopLimit
				if hl == 0 {
					hl = TTL
				}
				if err := setInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS, hl, "IPV6_UNICAST_HOPS"); err != nil {
					return err
				}
			} else if err := setInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_HOPS, TTL, "IPV6_MULTICAST_HOPS"); err != nil {
				return err
			}
		}
		if err := syscall.BindToDevice(fd, ifname); err != nil {
			return os.NewSyscallError("SO_BINDTODEVICE", err)
		}
		if !cfg.Unicast {
			if v4 {
				mreq := &syscall.IPMreqn{Ifindex: int32(cfg.IfIndex)}
				if err := syscall.SetsockoptIPMreqn(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, mreq); err != nil {
					return os.NewSyscallError("setsockopt IP_MULTICAST_IF", err)
				}
				if err := setInt(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP"); err != nil {
					return err
				}
			} else {
				if err := setInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_IF, cfg.IfIndex, "IPV6_MULTICAST_IF"); err != nil {
					return err
				}
				if err := setInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP"); err != nil {
					return err
				}
			}
		}
		if v4 {
			if err := setInt(fd, syscall.IPPROTO_IP, syscall.IP_TOS, TOS, "IP_TOS"); err != nil {
				return err
			}
		} else if err := setInt(fd, syscall.IPPROTO_IPV6, ipv6Tclass, TOS, "IPV6_TCLASS"); err != nil {
			return err
		}
		// Never receive on the send socket: a filter that returns 0.
		if err := syscall.AttachLsf(fd, []syscall.SockFilter{{Code: syscall.BPF_RET | syscall.BPF_K, K: 0}}); err != nil {
			return os.NewSyscallError("SO_ATTACH_FILTER", err)
		}
		return nil
	})
}

func openRecv(cfg Config, ifname string) (*net.IPConn, error) {
	v4 := cfg.Src.Is4()
	family := syscall.AF_INET6
	if v4 {
		family = syscall.AF_INET
	}
	return rawSocket(family, cfg.Protocol(), func(fd int) error {
		if cfg.RecvBuf > 0 {
			if err := setInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, cfg.RecvBuf, "SO_RCVBUF"); err != nil {
				return err
			}
		}
		if v4 {
			if err := setInt(fd, syscall.IPPROTO_IP, ipMulticastAll, 0, "IP_MULTICAST_ALL"); err != nil {
				return err
			}
		} else if err := setInt(fd, syscall.IPPROTO_IPV6, ipv6MulticastAll, 0, "IPV6_MULTICAST_ALL"); err != nil {
			return err
		}
		var sa syscall.Sockaddr
		if cfg.Unicast {
			if v4 {
				sa = &syscall.SockaddrInet4{Addr: cfg.Src.As4()}
			} else {
				sa = &syscall.SockaddrInet6{Addr: cfg.Src.As16(), ZoneId: zoneID(cfg.Src, cfg.IfIndex)}
			}
		} else {
			g := cfg.group()
			if v4 {
				mreq := &syscall.IPMreqn{Multiaddr: g.As4(), Ifindex: int32(cfg.IfIndex)}
				if err := syscall.SetsockoptIPMreqn(fd, syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP, mreq); err != nil {
					return os.NewSyscallError("setsockopt IP_ADD_MEMBERSHIP", err)
				}
				sa = &syscall.SockaddrInet4{Addr: g.As4()}
			} else {
				mreq := &syscall.IPv6Mreq{Multiaddr: g.As16(), Interface: uint32(cfg.IfIndex)}
				if err := syscall.SetsockoptIPv6Mreq(fd, syscall.IPPROTO_IPV6, syscall.IPV6_JOIN_GROUP, mreq); err != nil {
					return os.NewSyscallError("setsockopt IPV6_JOIN_GROUP", err)
				}
				sa = &syscall.SockaddrInet6{Addr: g.As16(), ZoneId: uint32(cfg.IfIndex)}
			}
		}
		// Bound to the group, the socket gets no unicast; bound to the
		// unicast source, no multicast.
		if err := syscall.Bind(fd, sa); err != nil {
			return os.NewSyscallError("bind", err)
		}
		if err := syscall.BindToDevice(fd, ifname); err != nil {
			return os.NewSyscallError("SO_BINDTODEVICE", err)
		}
		if !v4 {
			if err := setInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"); err != nil {
				return err
			}
			if err := setInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"); err != nil {
				return err
			}
		}
		return nil
	})
}

// zoneID is the scope for binding a link-local IPv6 address.
func zoneID(a netip.Addr, ifindex int) uint32 {
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		return uint32(ifindex)
	}
	return 0
}

// Send implements Conn.
func (c *RawConn) Send(b []byte, dst netip.Addr) error {
	return sendOn(c.send, c.cfg, b, dst)
}

// sendOn sends one datagram of an instance configured by cfg on conn.
func sendOn(conn *net.IPConn, cfg Config, b []byte, dst netip.Addr) error {
	if cfg.Src.Is4() {
		if !dst.Is4() {
			return fmt.Errorf("vrrp: send to %v from an IPv4 connection", dst)
		}
		_, err := conn.WriteToIP(b, &net.IPAddr{IP: dst.AsSlice()})
		return err
	}
	if !dst.Is6() {
		return fmt.Errorf("vrrp: send to %v from an IPv6 connection", dst)
	}
	// IPV6_PKTINFO: the source address and the interface.
	var oobBuf [64]byte
	oob := oobBuf[:syscall.CmsgSpace(20)]
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = syscall.IPPROTO_IPV6
	h.Type = ipv6PktInfo
	h.SetLen(syscall.CmsgLen(20))
	data := oob[syscall.CmsgLen(0):]
	src := cfg.Src.As16()
	copy(data[:16], src[:])
	binary.NativeEndian.PutUint32(data[16:20], uint32(cfg.IfIndex))
	addr := &net.IPAddr{IP: dst.AsSlice()}
	if zoneID(dst, cfg.IfIndex) != 0 {
		addr.Zone = fmt.Sprint(cfg.IfIndex)
	}
	_, _, err := conn.WriteMsgIP(b, oob, addr)
	return err
}

// aLongTimeAgo is a deadline that has passed, to interrupt a read.
var aLongTimeAgo = time.Unix(1, 0)

// Receive implements Conn. Truncated datagrams are skipped, as keepalived
// skips them.
func (c *RawConn) Receive(ctx context.Context) (Received, error) {
	if err := ctx.Err(); err != nil {
		return Received{}, err
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		c.recv.SetReadDeadline(aLongTimeAgo)
	})
	defer func() {
		if !stop() {
			<-interrupted
			c.recv.SetReadDeadline(time.Time{})
		}
	}()
	for {
		r, err := readOne(c.recv, c.cfg.Src.Is4(), c.cfg.IfIndex, c.buf, c.oob)
		if err != nil {
			if ctx.Err() != nil {
				return Received{}, ctx.Err()
			}
			return Received{}, err
		}
		if r.Packet == nil {
			continue // truncated
		}
		return r, nil
	}
}

// Close implements Conn.
func (c *RawConn) Close() error {
	return errors.Join(c.send.Close(), c.recv.Close())
}
