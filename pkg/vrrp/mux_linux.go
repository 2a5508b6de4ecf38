package vrrp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Mux shares raw sockets between the instances of one daemon, as keepalived
// does (vrrp_scheduler.c: one socket pair per interface, family, protocol
// and unicast/multicast, instances found by VRID): one receive socket and
// one reading goroutine per (interface, family, protocol, group or unicast
// source), one send socket per (interface, family, protocol, unicast, hop
// limit). A datagram goes only to the instances of its VRID; one of a VRID
// nobody runs is dropped there, as keepalived drops it. Each receive socket
// owns the only read buffer: instances hold none.
type Mux struct {
	mu    sync.Mutex
	recvs map[recvKey]*muxRecv
	sends map[sendKey]*muxSend
}

// NewMux returns an empty Mux. Sockets belong to the network namespace of
// the thread that opens them (the first Listen of each key).
func NewMux() *Mux {
	return &Mux{recvs: map[recvKey]*muxRecv{}, sends: map[sendKey]*muxSend{}}
}

type recvKey struct {
	ifindex int
	v4      bool
	proto   int
	unicast bool
	bind    netip.Addr // the group, or the unicast source
	rcvbuf  int
}

type sendKey struct {
	ifindex int
	v4      bool
	proto   int
	unicast bool
	hop     int
	group   netip.Addr // selects nothing on the socket; kept apart for clarity
}

type muxSend struct {
	conn *net.IPConn
	refs int

	// The IPv4 send path without allocation (send4): WriteToIP makes an
	// IPAddr, its IP slice and a sockaddr per datagram, a master one per
	// advert interval and instance.
	mu sync.Mutex
	// fd is conn's descriptor (-1: unknown), on which send4 calls
	// sendto(2) itself while closed is false: no RawConn.Write (its
	// descriptor lock and poller checks, a closure) unless the socket
	// buffer is full.
	fd     int
	closed bool // conn is closed or closing: fd may be another file's
	rc     syscall.RawConn
	sa     syscall.RawSockaddrInet4
	b      []byte
	err    error
	write  func(fd uintptr) bool
}

// newMuxSend wraps a send socket.
func newMuxSend(c *net.IPConn) *muxSend {
	s := &muxSend{conn: c, fd: -1, sa: syscall.RawSockaddrInet4{Family: syscall.AF_INET}}
	if rc, err := c.SyscallConn(); err == nil {
		s.rc = rc
		s.write = func(fd uintptr) bool {
			s.err = sendtoRaw(fd, s.b, &s.sa)
			return s.err != syscall.EAGAIN
		}
		rc.Control(func(fd uintptr) { s.fd = int(fd) })
	}
	return s
}

// close closes the socket; send4 no longer uses its descriptor.
func (s *muxSend) close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.conn.Close()
}

// sendtoRaw is sendto(2) on the non-blocking socket fd without the
// runtime's system call bookkeeping (syscall.RawSyscall6): a call through
// syscall.Sendto wakes the runtime's sysmon thread from its deep sleep
// (entersyscall) and resets its back-off, so that each advert of an idle
// master cost sysmon ~5 wake-ups at 20 µs intervals, the largest share of
// the idle CPU with one instance. The socket is non-blocking: the call
// never waits (EAGAIN goes back to the poller as before).
func sendtoRaw(fd uintptr, b []byte, sa *syscall.RawSockaddrInet4) error {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(p), uintptr(len(b)),
		0, uintptr(unsafe.Pointer(sa)), unsafe.Sizeof(*sa))
	if e != 0 {
		return e
	}
	return nil
}

// send4 sends the IPv4 datagram b to dst as WriteToIP does (sendto(2)
// with dst, waiting while the socket buffer is full). On failure the
// datagram goes once more through WriteToIP, whose error (an *net.OpError
// naming the socket and dst) is the one returned, as before.
func (s *muxSend) send4(b []byte, dst netip.Addr) error {
	if s.rc != nil {
		s.mu.Lock()
		s.sa.Addr = dst.As4()
		var err error = syscall.EBADF
		if s.fd >= 0 && !s.closed {
			err = sendtoRaw(uintptr(s.fd), b, &s.sa)
		}
		if err == syscall.EAGAIN {
			// The buffer is full: wait for room in the poller.
			s.b = b
			err = s.rc.Write(s.write)
			if err == nil {
				err = s.err
			}
			s.b, s.err = nil, nil
		}
		s.mu.Unlock()
		if err == nil {
			return nil
		}
	}
	_, err := s.conn.WriteToIP(b, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

type muxRecv struct {
	m    *Mux
	key  recvKey
	conn *net.IPConn
	v4   bool
	refs int
	// subs by VRID, read by the reader under m.mu: a short critical
	// section per datagram, no allocation.
	subs map[uint8][]*MuxConn
	// any are subscribers of every datagram whose VRID cannot be read
	// (too short): they drop it with their own count and log line.
	all []*MuxConn
}

// MuxConn is one instance's Conn on a Mux.
type MuxConn struct {
	m      *Mux
	cfg    Config
	rk     recvKey
	sk     sendKey
	send   *muxSend
	recv   *muxRecv
	closed atomic.Bool

	mu      sync.Mutex
	handler func(Received)
	ch      chan Received // Receive's queue, made by the first Receive
	done    chan struct{} // closed by Close, made with ch
}

var _ Conn = (*MuxConn)(nil)

// Listen opens (or shares) the sockets of cfg for the instance of
// cfg.VRID. Datagrams reach it once Deliver or Receive is called.
func (m *Mux) Listen(cfg Config) (*MuxConn, error) {
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
	v4 := cfg.Src.Is4()
	rk := recvKey{ifindex: cfg.IfIndex, v4: v4, proto: cfg.Protocol(), unicast: cfg.Unicast, rcvbuf: cfg.RecvBuf}
	sk := sendKey{ifindex: cfg.IfIndex, v4: v4, proto: cfg.Protocol(), unicast: cfg.Unicast}
	if cfg.Unicast {
		rk.bind = cfg.Src
		sk.hop = cfg.HopLimit
	} else {
		rk.bind = cfg.group()
		sk.group = rk.bind
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sends[sk]
	if s == nil {
		c, err := openSend(cfg, ifi.Name)
		if err != nil {
			return nil, fmt.Errorf("vrrp: send socket on %s: %w", ifi.Name, err)
		}
		s = newMuxSend(c)
		m.sends[sk] = s
	}
	r := m.recvs[rk]
	if r == nil {
		c, err := openRecv(cfg, ifi.Name)
		if err != nil {
			if s.refs == 0 {
				s.conn.Close()
				delete(m.sends, sk)
			}
			return nil, fmt.Errorf("vrrp: receive socket on %s: %w", ifi.Name, err)
		}
		r = &muxRecv{m: m, key: rk, conn: c, v4: v4, subs: map[uint8][]*MuxConn{}}
		m.recvs[rk] = r
		go r.read(cfg.IfIndex)
	}
	s.refs++
	r.refs++
	return &MuxConn{m: m, cfg: cfg, rk: rk, sk: sk, send: s, recv: r}, nil
}

// Deliver makes the Mux call f, from its reading goroutine, with every
// datagram of the instance's VRID until Close. f must not block. Use
// either Deliver or Receive.
func (c *MuxConn) Deliver(f func(Received)) {
	c.mu.Lock()
	first := c.handler == nil
	c.handler = f
	c.mu.Unlock()
	if !first || c.closed.Load() {
		return
	}
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	r := c.recv
	r.subs[c.cfg.VRID] = append(r.subs[c.cfg.VRID], c)
	r.all = append(r.all, c)
}

func (c *MuxConn) deliver(p Received) {
	if c.closed.Load() {
		return
	}
	c.mu.Lock()
	f := c.handler
	c.mu.Unlock()
	if f != nil {
		f(p)
	}
}

// Send implements Conn.
func (c *MuxConn) Send(b []byte, dst netip.Addr) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	if c.cfg.Src.Is4() && dst.Is4() {
		return c.send.send4(b, dst)
	}
	return sendOn(c.send.conn, c.cfg, b, dst)
}

// muxQueue bounds what Receive holds: adverts beyond it are dropped as a
// full socket buffer drops them.
const muxQueue = 8

// Receive implements Conn for callers that read instead of using Deliver.
func (c *MuxConn) Receive(ctx context.Context) (Received, error) {
	c.mu.Lock()
	if c.ch == nil {
		c.ch, c.done = make(chan Received, muxQueue), make(chan struct{})
		if c.closed.Load() {
			close(c.done)
		}
		ch := c.ch
		c.mu.Unlock()
		c.Deliver(func(r Received) {
			select {
			case ch <- r:
			default:
			}
		})
	} else {
		c.mu.Unlock()
	}
	select {
	case <-ctx.Done():
		return Received{}, ctx.Err()
	case <-c.done:
		return Received{}, net.ErrClosed
	case r := <-c.ch:
		return r, nil
	}
}

// Close implements Conn: the instance stops receiving, and the sockets
// close with their last user.
func (c *MuxConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	m := c.m
	m.mu.Lock()
	r := c.recv
	r.subs[c.cfg.VRID] = without(r.subs[c.cfg.VRID], c)
	if len(r.subs[c.cfg.VRID]) == 0 {
		delete(r.subs, c.cfg.VRID)
	}
	r.all = without(r.all, c)
	var errs []error
	if r.refs--; r.refs == 0 {
		delete(m.recvs, c.rk)
		errs = append(errs, r.conn.Close())
	}
	if c.send.refs--; c.send.refs == 0 {
		delete(m.sends, c.sk)
		errs = append(errs, c.send.close())
	}
	m.mu.Unlock()
	c.mu.Lock()
	if c.done != nil {
		close(c.done) // wakes a blocked Receive
	}
	c.mu.Unlock()
	return errors.Join(errs...)
}

func without(s []*MuxConn, c *MuxConn) []*MuxConn {
	for i, x := range s {
		if x == c {
			return append(s[:i:i], s[i+1:]...)
		}
	}
	return s
}

// read is the socket's only reader: one buffer per socket.
func (r *muxRecv) read(ifindex int) {
	buf := make([]byte, maxDatagram)
	oob := make([]byte, 128)
	var targets []*MuxConn
	for {
		p, err := readOne(r.conn, r.v4, ifindex, buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if p.Packet == nil {
			continue // truncated
		}
		vrid, ok := vridOf(p.Packet, r.v4)
		r.m.mu.Lock()
		if ok {
			targets = append(targets[:0], r.subs[vrid]...)
		} else {
			targets = append(targets[:0], r.all...)
		}
		r.m.mu.Unlock()
		for i, c := range targets {
			if i > 0 {
				p.Packet = append([]byte(nil), p.Packet...)
			}
			c.deliver(p)
		}
	}
}

// vridOf reads the VRID of a datagram as the receive socket returns it
// (IPv4: with the IP header and, under AH, the AH header).
func vridOf(b []byte, v4 bool) (uint8, bool) {
	off := 0
	if v4 {
		if len(b) < IPv4HeaderLen || b[0]>>4 != 4 {
			return 0, false
		}
		off = int(b[0]&0x0f) * 4
		if b[9] == ProtocolAH {
			off += AHLen
		}
	}
	if len(b) < off+HeaderLen {
		return 0, false
	}
	return b[off+1], true
}

// readOne reads one datagram; a truncated one comes back with a nil
// Packet.
func readOne(conn *net.IPConn, v4 bool, ifindex int, buf, oob []byte) (Received, error) {
	n, oobn, flags, addr, err := conn.ReadMsgIP(buf, oob)
	if err != nil {
		return Received{}, err
	}
	if flags&syscall.MSG_TRUNC != 0 {
		return Received{}, nil
	}
	r := Received{Packet: append([]byte(nil), buf[:n]...), HopLimit: -1, IfIndex: ifindex}
	if a, ok := netip.AddrFromSlice(addr.IP); ok {
		r.Src = a.Unmap()
	}
	if v4 {
		if n >= IPv4HeaderLen {
			r.Src = netip.AddrFrom4([4]byte(r.Packet[12:16]))
			r.Dst = netip.AddrFrom4([4]byte(r.Packet[16:20]))
		}
		return r, nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level != syscall.IPPROTO_IPV6 {
				continue
			}
			switch {
			case m.Header.Type == ipv6HopLimit && len(m.Data) >= 4:
				r.HopLimit = int(int32(binary.NativeEndian.Uint32(m.Data)))
			case m.Header.Type == ipv6PktInfo && len(m.Data) >= 20:
				r.Dst = netip.AddrFrom16([16]byte(m.Data[:16]))
				r.IfIndex = int(binary.NativeEndian.Uint32(m.Data[16:20]))
			}
		}
	}
	return r, nil
}
