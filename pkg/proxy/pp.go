package proxy

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxyproto"
)

// Receiving the PROXY protocol (`bind ... accept-proxy`, `tcp-request
// connection expect-proxy layer4`) as haproxy 2.6 does:
//   - the tcp-request connection rules run first, on the connection's
//     own addresses; the header is read after them, before the TLS
//     handshake of an `ssl` bind, then the session rules run;
//   - the wait is bounded by `timeout client` from the accept, and the
//     TLS handshake that may follow shares that bound (haproxy's
//     embryonic session timeout);
//   - what arrived is peeked at once when the socket becomes readable
//     (conn_recv_proxy's MSG_PEEK): a header cut across two segments is
//     "Truncated", as there; only the header is consumed, the rest is the
//     stream (or the ClientHello);
//   - a PROXY header's addresses replace the connection's everywhere
//     (logs, fetches, forwardfor, stick tables, balance source, send-proxy
//     to servers); a LOCAL header (v2), "UNKNOWN" (v1) or a family other
//     than TCP over IPv4/IPv6 keeps the connection's own;
//   - a bad or missing header closes the connection, logged as haproxy's
//     embryonic sessions are ("ip:port [date] fe/1: Received something
//     which does not look like a PROXY protocol header").

// The connection error texts of haproxy 2.6 (conn_err_code_str, CO_ER_PRX_*).
const (
	prxEmpty     = "Connection closed while waiting for PROXY protocol header"
	prxAbort     = "Connection error while waiting for PROXY protocol header"
	prxTimeout   = "Timeout while waiting for PROXY protocol header"
	prxTruncated = "Truncated PROXY protocol header received"
	prxNotHdr    = "Received something which does not look like a PROXY protocol header"
	prxBadHdr    = "Received an invalid PROXY protocol header"
	prxBadProto  = "Received an unhandled protocol in the PROXY protocol header"
)

// ppListener marks the connections of a listener that may carry a PROXY
// header: those of an accept-proxy bind, or of a frontend with
// expect-proxy rules.
type ppListener struct {
	net.Listener
	always bool // accept-proxy
	luid   int
}

func (l *ppListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &ppConn{Conn: c, always: l.always, luid: l.luid}, nil
}

// wrapPP returns bind number i's listener, marking its connections when
// a PROXY header may come first. Other listeners are left as they are.
func (e *Engine) wrapPP(f *Frontend, i int, ln net.Listener) net.Listener {
	if i >= len(f.px.Binds) {
		return ln
	}
	always := f.px.Binds[i].AcceptProxy
	if !always && !expectsProxy(f.px) && !setsAddrs(f.px) {
		return ln
	}
	return &ppListener{Listener: ln, always: always, luid: i + 1}
}

func expectsProxy(px *haproxycfg.Proxy) bool {
	for _, r := range px.Rules.TCPConnection {
		if r.Action == haproxycfg.ActExpectProxy {
			return true
		}
	}
	return false
}

// setsAddrs reports whether px has tcp-request connection or session
// rules that change the client's addresses: its connections then keep
// them in a ppConn.
func setsAddrs(px *haproxycfg.Proxy) bool {
	for _, set := range [][]*haproxycfg.TCPRule{px.Rules.TCPConnection, px.Rules.TCPSession} {
		for _, r := range set {
			if r.Var != nil && isAddrAction(r.Var.Action) {
				return true
			}
		}
	}
	return false
}

// ppConn is an accepted connection that may carry a PROXY header; once
// read, its addresses are the header's. It passes the data path's fast
// paths (splice, the raw socket) to the connection under it.
//
// Its addresses have haproxy 2.6's two levels: the connection's (fc_src,
// fc_dst: the socket's, or as tcp-request connection rules set them)
// and the session's (src, dst: a PROXY header's, or as tcp-request
// session rules set them), which RemoteAddr and LocalAddr give.
type ppConn struct {
	net.Conn
	always       bool // accept-proxy: the header is required
	luid         int
	src, dst     net.Addr // the session's; nil: the connection's
	fcSrc, fcDst net.Addr // the connection's; nil: the socket's
	header       *proxyproto.Header
}

func (c *ppConn) RemoteAddr() net.Addr {
	if c.src != nil {
		return c.src
	}
	return c.connRemote()
}

func (c *ppConn) LocalAddr() net.Addr {
	if c.dst != nil {
		return c.dst
	}
	return c.connLocal()
}

func (c *ppConn) connRemote() net.Addr {
	if c.fcSrc != nil {
		return c.fcSrc
	}
	return c.Conn.RemoteAddr()
}

func (c *ppConn) connLocal() net.Addr {
	if c.fcDst != nil {
		return c.fcDst
	}
	return c.Conn.LocalAddr()
}

// fcAddrs are the connection-level addresses of a client connection
// (fc_src, fc_dst), which a PROXY header and session rules leave alone.
func fcAddrs(c net.Conn) (src, dst netip.AddrPort) {
	if pp := ppOf(c); pp != nil {
		return addrPort(pp.connRemote()), addrPort(pp.connLocal())
	}
	return addrPort(c.RemoteAddr()), addrPort(c.LocalAddr())
}

// SyscallConn is the socket's, for the data path's raw reads.
func (c *ppConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// ReadFrom and WriteTo keep splice(2) between two TCP sockets.
func (c *ppConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

func (c *ppConn) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := c.Conn.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, struct{ io.Reader }{c.Conn})
}

// CloseWrite half-closes the connection (the server's FIN passed on).
func (c *ppConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// SetLinger reaches the TCP socket (a rejected connection is reset).
func (c *ppConn) SetLinger(sec int) error {
	if tc, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return tc.SetLinger(sec)
	}
	return nil
}

// ppOf finds the ppConn under the engine's wrappers; nil when the
// listener takes no PROXY header.
func ppOf(c net.Conn) *ppConn {
	for {
		switch v := c.(type) {
		case *ppConn:
			return v
		case *gatedConn:
			c = v.Conn
		case *tlsServerConn:
			c = v.raw
		case *h2StreamConn:
			c = v.parent
		default:
			return nil
		}
	}
}

// proxyHeader returns the PROXY header a client connection came with,
// or nil.
func proxyHeader(c net.Conn) *proxyproto.Header {
	if pp := ppOf(c); pp != nil {
		return pp.header
	}
	return nil
}

// peekSize is haproxy's tune.bufsize, the most conn_recv_proxy peeks at.
const peekSize = 16384

var peekPool = sync.Pool{New: func() any { b := make([]byte, peekSize); return &b }}

// readProxy reads the PROXY header of pp, accepted at accept. It returns
// false, after logging as haproxy does, when the connection must close.
func (e *Engine) readProxy(f *Frontend, pp *ppConn, accept time.Time) bool {
	var deadline time.Time
	if t := f.px.Timeouts.Client; t > 0 {
		deadline = accept.Add(t)
	}
	stop := context.AfterFunc(e.killed, func() { _ = pp.Conn.SetReadDeadline(time.Now()) })
	h, n, msg := peekHeader(pp.Conn, deadline)
	stop()
	_ = pp.Conn.SetReadDeadline(time.Time{})
	if msg == "" {
		// Only the header is consumed; it is in the socket already.
		bp := peekPool.Get().(*[]byte)
		_, err := io.ReadFull(pp.Conn, (*bp)[:n])
		peekPool.Put(bp)
		if err != nil {
			msg = prxAbort
		}
	}
	if e.killed.Err() != nil {
		return false
	}
	if msg != "" {
		if (msg == prxEmpty || msg == prxAbort) && f.px.Options.DontLogNull {
			return false
		}
		if e.opts.ConnError != nil && len(f.px.Logs) > 0 {
			client := pp.RemoteAddr()
			if h != nil && h.Source.IsValid() {
				client = net.TCPAddrFromAddrPort(h.Source)
			}
			e.opts.ConnError(f.px, ConnError{Client: client, Accept: accept, Listener: pp.luid, Msg: msg})
		}
		return false
	}
	pp.header = h
	if h.Command == proxyproto.CmdProxy && (h.Family == proxyproto.FamilyInet || h.Family == proxyproto.FamilyInet6) && h.Transport == proxyproto.TransportStream {
		pp.src = net.TCPAddrFromAddrPort(h.Source)
		pp.dst = net.TCPAddrFromAddrPort(h.Destination)
	}
	return true
}

// peekHeader waits for data on c (until deadline) and parses the header
// at its start from one peek, as haproxy's conn_recv_proxy. It returns
// the header and its length, or haproxy's error text.
func peekHeader(c net.Conn, deadline time.Time) (*proxyproto.Header, int, string) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, 0, prxAbort
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, 0, prxAbort
	}
	if !deadline.IsZero() {
		_ = c.SetReadDeadline(deadline)
	}
	bp := peekPool.Get().(*[]byte)
	defer peekPool.Put(bp)
	buf := *bp
	var (
		n    int
		rerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
			if rerr == syscall.EINTR {
				continue
			}
			return rerr != syscall.EAGAIN
		}
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, 0, prxTimeout
	case err != nil || rerr != nil:
		return nil, 0, prxAbort
	case n == 0:
		return nil, 0, prxEmpty
	}
	return parsePeeked(buf[:n])
}

// parsePeeked judges one peek as conn_recv_proxy does. On failure the
// header may still be returned: its source is the one to log.
func parsePeeked(b []byte) (*proxyproto.Header, int, string) {
	v1 := len(b) >= 6 && string(b[:6]) == "PROXY "
	switch {
	case len(b) < 6, !v1 && len(b) < 16, v1 && len(b) < 9:
		return nil, 0, prxTruncated
	}
	h, n, err := proxyproto.Parse(b)
	if errors.Is(err, proxyproto.ErrBadHeader) {
		// haproxy 2.6 takes a v2 header's addresses before it reads the
		// TLVs: a bad TLV is logged with the header's source.
		return partialV2(b), 0, prxBadHdr
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, 0, prxTruncated
	case errors.Is(err, proxyproto.ErrNotHeader):
		return nil, 0, prxNotHdr
	case errors.Is(err, proxyproto.ErrBadProtocol):
		return nil, 0, prxBadProto
	case err != nil:
		return nil, 0, prxBadHdr
	}
	if h.Version == 2 && h.Command == proxyproto.CmdProxy && b[13] != 0x11 && b[13] != 0x21 {
		// haproxy 2.6 reads the TLVs of any other family from the start
		// of the header (tlv_offset stays 0): the signature's bytes make
		// a TLV longer than the header, which it refuses.
		if !oddFamilyTLVs(b[:n]) {
			return nil, 0, prxBadHdr
		}
		h.TLVs = nil
	}
	return h, n, ""
}

// oddFamilyTLVs walks hdr as TLVs from its first byte with
// conn_recv_proxy's checks, and says whether it passes them.
func oddFamilyTLVs(hdr []byte) bool {
	for off := 0; off < len(hdr); {
		if off+3 > len(hdr) {
			return false
		}
		t, l := hdr[off], int(binary.BigEndian.Uint16(hdr[off+1:off+3]))
		v := off + 3
		off = v + l
		if off > len(hdr) {
			return false
		}
		switch t {
		case proxyproto.TypeCRC32C:
			if l != 4 {
				return false
			}
			tab := crc32.MakeTable(crc32.Castagnoli)
			c := crc32.Update(0, tab, hdr[:v])
			c = crc32.Update(c, tab, []byte{0, 0, 0, 0})
			c = crc32.Update(c, tab, hdr[v+4:])
			if c != binary.BigEndian.Uint32(hdr[v:v+4]) {
				return false
			}
		case proxyproto.TypeAuthority:
			if l > proxyproto.MaxAuthority {
				return false
			}
		case proxyproto.TypeUniqueID:
			if l > proxyproto.MaxUniqueID {
				return false
			}
		}
	}
	return true
}

// partialV2 is what haproxy 2.6 has taken from a v2 PROXY header it then
// refuses for a bad TLV: the TCP addresses, when the address block was
// complete; nil otherwise.
func partialV2(b []byte) *proxyproto.Header {
	if len(b) < 16 || string(b[:12]) != proxyproto.Signature || b[12] != 0x21 {
		return nil
	}
	l := int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) < 16+l {
		return nil
	}
	var h proxyproto.Header
	switch {
	case b[13] == 0x11 && l >= 12:
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), binary.BigEndian.Uint16(b[24:26]))
	case b[13] == 0x21 && l >= 36:
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[16:32])), binary.BigEndian.Uint16(b[48:50]))
	default:
		return nil
	}
	return &h
}

// ppTLVOf reads the TLVs of the PROXY header c arrived with
// (fc_pp_authority, fc_pp_unique_id); nil when it had none (yet).
func ppTLVOf(c net.Conn) func(uint8) ([]byte, bool) {
	pp := ppOf(c)
	if pp == nil || pp.header == nil {
		return nil
	}
	return pp.header.TLV
}
