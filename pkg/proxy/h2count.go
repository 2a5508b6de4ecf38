package proxy

import (
	"encoding/binary"
	"net"
	"sync/atomic"

	"golang.org/x/net/http2"
)

// h2Counters are haproxy's HTTP/2 multiplexer counters of a proxy (the
// h2_* columns of `show stat`): frames received and sent by type, the
// protocol errors it detected, its connections and streams.
type h2Counters struct {
	headersRcvd, dataRcvd, settingsRcvd, rstRcvd, goawayRcvd atomic.Int64
	connProtoErr, strmProtoErr                               atomic.Int64
	rstResp, goawayResp                                      atomic.Int64
	openConns, openStreams, totalConns, totalStreams         atomic.Int64
}

// H2Stats are the HTTP/2 multiplexer's counters of a proxy.
type H2Stats struct {
	HeadersRcvd, DataRcvd, SettingsRcvd, RstRcvd, GoawayRcvd int64
	ConnProtoErr, StrmProtoErr                               int64
	RstResp, GoawayResp                                      int64
	OpenConns, OpenStreams, TotalConns, TotalStreams         int64
}

func (c *h2Counters) snapshot() H2Stats {
	return H2Stats{
		HeadersRcvd: c.headersRcvd.Load(), DataRcvd: c.dataRcvd.Load(), SettingsRcvd: c.settingsRcvd.Load(),
		RstRcvd: c.rstRcvd.Load(), GoawayRcvd: c.goawayRcvd.Load(),
		ConnProtoErr: c.connProtoErr.Load(), StrmProtoErr: c.strmProtoErr.Load(),
		RstResp: c.rstResp.Load(), GoawayResp: c.goawayResp.Load(),
		OpenConns: c.openConns.Load(), OpenStreams: c.openStreams.Load(),
		TotalConns: c.totalConns.Load(), TotalStreams: c.totalStreams.Load(),
	}
}

// frameScan follows one direction of an HTTP/2 connection as bytes pass
// and reports each frame's type, flags and the first bytes of its
// payload (an error code is in the first 8), without holding the frame.
type frameScan struct {
	preface int // client preface bytes still to pass
	hdr     [9]byte
	nhdr    int
	left    int // payload bytes of the current frame still to pass
	head    [8]byte
	nhead   int
	want    int // payload bytes wanted in head (0: none)
	typ     http2.FrameType
	flags   http2.Flags
	on      func(t http2.FrameType, f http2.Flags, head []byte)
}

func (s *frameScan) feed(p []byte) {
	for len(p) > 0 {
		switch {
		case s.preface > 0:
			n := min(s.preface, len(p))
			s.preface -= n
			p = p[n:]
		case s.nhdr < len(s.hdr):
			n := copy(s.hdr[s.nhdr:], p)
			s.nhdr += n
			p = p[n:]
			if s.nhdr < len(s.hdr) {
				return
			}
			s.left = int(s.hdr[0])<<16 | int(s.hdr[1])<<8 | int(s.hdr[2])
			s.typ, s.flags = http2.FrameType(s.hdr[3]), http2.Flags(s.hdr[4])
			s.nhead, s.want = 0, 0
			if s.typ == http2.FrameRSTStream || s.typ == http2.FrameGoAway {
				s.want = min(8, s.left)
			}
			s.done()
		default:
			n := min(s.left, len(p))
			if s.nhead < s.want {
				s.nhead += copy(s.head[s.nhead:s.want], p[:n])
			}
			s.left -= n
			p = p[n:]
			s.done()
		}
	}
}

// done reports the current frame once its wanted head arrived, and
// starts the next frame once its payload passed.
func (s *frameScan) done() {
	if s.nhdr == len(s.hdr) && s.nhead == s.want && s.want >= 0 {
		s.on(s.typ, s.flags, s.head[:s.nhead])
		s.want = -1 // reported
	}
	if s.left == 0 && s.want < 0 {
		s.nhdr = 0
	}
}

// h2CountedConn counts the frames an HTTP/2 connection carries in its
// proxy's h2 counters, as haproxy's mux counts them: a client's in the
// frontend's, a server's in the backend's.
type h2CountedConn struct {
	net.Conn
	in, out frameScan
	ctr     *h2Counters
	server  bool // a connection to a server, counted open until closed
	closed  atomic.Bool
}

// newH2CountedConn wraps a connection from a client (fromClient: its
// bytes begin with the client preface) or to a server (ours do).
func newH2CountedConn(c net.Conn, ctr *h2Counters, fromClient bool) *h2CountedConn {
	hc := &h2CountedConn{Conn: c, ctr: ctr, server: !fromClient}
	inPreface, outPreface := len(http2.ClientPreface), 0
	if !fromClient {
		inPreface, outPreface = 0, len(http2.ClientPreface)
		ctr.openConns.Add(1)
		ctr.totalConns.Add(1)
	}
	// haproxy counts the peer's first SETTINGS twice: once as the
	// preface's and once when it processes it (measured: 3 for a curl
	// connection's SETTINGS and ACK).
	firstSettings := true
	hc.in = frameScan{preface: inPreface, on: func(t http2.FrameType, f http2.Flags, _ []byte) {
		switch t {
		case http2.FrameHeaders:
			ctr.headersRcvd.Add(1)
		case http2.FrameData:
			ctr.dataRcvd.Add(1)
		case http2.FrameSettings:
			ctr.settingsRcvd.Add(1)
			if firstSettings {
				firstSettings = false
				ctr.settingsRcvd.Add(1)
			}
		case http2.FrameRSTStream:
			ctr.rstRcvd.Add(1)
		case http2.FrameGoAway:
			ctr.goawayRcvd.Add(1)
		}
	}}
	hc.out = frameScan{preface: outPreface, on: func(t http2.FrameType, _ http2.Flags, head []byte) {
		switch t {
		case http2.FrameRSTStream:
			ctr.rstResp.Add(1)
			if len(head) >= 4 && http2.ErrCode(binary.BigEndian.Uint32(head)) == http2.ErrCodeProtocol {
				ctr.strmProtoErr.Add(1)
			}
		case http2.FrameGoAway:
			ctr.goawayResp.Add(1)
			if len(head) >= 8 && http2.ErrCode(binary.BigEndian.Uint32(head[4:])) == http2.ErrCodeProtocol {
				ctr.connProtoErr.Add(1)
			}
		}
	}}
	return hc
}

func (c *h2CountedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.feed(p[:n])
	return n, err
}

func (c *h2CountedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.feed(p[:n])
	return n, err
}

// Close ends the connection; a server connection leaves the open
// connections count once (serveH2 counts the client side's).
func (c *h2CountedConn) Close() error {
	if c.server && c.closed.CompareAndSwap(false, true) {
		c.ctr.openConns.Add(-1)
	}
	return c.Conn.Close()
}
