package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxyproto"
	"hapair/pkg/tlsconf"
)

// Sending the PROXY protocol to servers (`send-proxy`, `send-proxy-v2`,
// `proxy-v2-options`) as haproxy 2.6's make_proxy_line does: the header
// carries the client's addresses as the session sees them (from its own
// PROXY header with accept-proxy, after set-src), written before
// anything else on the connection (before the TLS handshake of an `ssl`
// server); a client that is not TCP over IP gets "PROXY UNKNOWN" (v1)
// or a LOCAL header (v2). Version 2 TLVs, in haproxy's order: CRC32C
// (`crc32c`), ALPN when the client negotiated one over TLS, AUTHORITY
// (`authority`: the client's SNI, or the authority of its own PROXY
// header), UNIQUE_ID (`unique-id`: the frontend's unique-id-format,
// made at connect time in mode tcp and then logged as it was sent), SSL
// (`ssl`, `cert-cn`, `ssl-cipher`).

// ppClient is what a server's PROXY header says about the client.
type ppClient struct {
	src, dst netip.AddrPort
	conn     net.Conn // the client connection: TLS facts, its own PROXY header
	uid      string   // the stream's unique id (unique-id-format), for `unique-id`
}

// proxyLine builds the header server options o send for client cl.
func proxyLine(o haproxycfg.SendProxy, cl ppClient) []byte {
	h := proxyproto.Header{Version: 1, Command: proxyproto.CmdProxy}
	ip := cl.src.IsValid() && cl.dst.IsValid()
	if ip {
		h.Source, h.Destination = cl.src, cl.dst
		h.Family, h.Transport = proxyproto.FamilyInet, proxyproto.TransportStream
		if !cl.src.Addr().Is4() || !cl.dst.Addr().Is4() {
			h.Family = proxyproto.FamilyInet6
		}
	}
	if o.V2 {
		h.Version = 2
		if !ip {
			h.Command = proxyproto.CmdLocal
		}
		h.TLVs = v2TLVs(o, cl)
	}
	b, err := h.MarshalBinary()
	if err != nil {
		// Not reachable with the header built above; an UNKNOWN line
		// rather than nothing.
		return []byte("PROXY UNKNOWN\r\n")
	}
	return b
}

func v2TLVs(o haproxycfg.SendProxy, cl ppClient) []proxyproto.TLV {
	var tlvs []proxyproto.TLV
	if o.CRC32C {
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeCRC32C, Value: make([]byte, 4)})
	}
	var st *tls.ConnectionState
	if cl.conn != nil {
		if tc := tlsOf(cl.conn); tc != nil {
			s := tc.ConnectionState()
			st = &s
		}
	}
	if st != nil && st.NegotiatedProtocol != "" {
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeALPN, Value: []byte(st.NegotiatedProtocol)})
	}
	if o.Authority {
		var auth []byte
		if h := proxyHeader(cl.conn); h != nil {
			auth, _ = h.TLV(proxyproto.TypeAuthority)
		}
		if auth == nil && st != nil && st.ServerName != "" {
			auth = []byte(st.ServerName)
		}
		if auth != nil {
			tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeAuthority, Value: auth})
		}
	}
	if o.UniqueID {
		// Sent even when empty (no unique-id-format), as haproxy does.
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeUniqueID, Value: []byte(cl.uid)})
	}
	if o.SSL {
		// client (1 byte), verify (4 bytes), then the sub-TLVs.
		v := make([]byte, 5)
		if st != nil {
			v[0] |= proxyproto.ClientSSL
			v = appendTLV(v, proxyproto.SubtypeSSLVersion, tlsconf.VersionName(st.Version))
			if len(st.PeerCertificates) > 0 {
				// A certificate verified (or accepted with verify
				// optional|none) in this session: X509_V_OK.
				v[0] |= proxyproto.ClientCertSess
				if !st.DidResume {
					v[0] |= proxyproto.ClientCertConn
				}
			}
			if o.SSLCN && len(st.PeerCertificates) > 0 && st.PeerCertificates[0].Subject.CommonName != "" {
				v = appendTLV(v, proxyproto.SubtypeSSLCN, st.PeerCertificates[0].Subject.CommonName)
			}
			if o.SSLCipher {
				v = appendTLV(v, proxyproto.SubtypeSSLCipher, tlsconf.SuiteName(st.CipherSuite))
			}
		}
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeSSL, Value: v})
	}
	return tlvs
}

func appendTLV(b []byte, t uint8, v string) []byte {
	b = append(b, t, byte(len(v)>>8), byte(len(v)))
	return append(b, v...)
}

// sendProxy writes server s's PROXY header for cl on the new connection
// c, within the connect timeout; a failure fails the connection.
func sendProxy(c net.Conn, s *haproxycfg.Server, cl ppClient, timeout time.Duration) error {
	if !s.SendProxy.Any() {
		return nil
	}
	if timeout > 0 {
		_ = c.SetWriteDeadline(time.Now().Add(timeout))
		defer c.SetWriteDeadline(time.Time{})
	}
	_, err := c.Write(proxyLine(s.SendProxy, cl))
	return err
}

// ppKey carries a request's ppClient to the HTTP transport's dial.
type ppKey struct{}

// sendsProxy reports whether any server of be takes a PROXY header: its
// HTTP connections then belong to one client connection each, as
// haproxy makes them private.
func sendsProxy(be *Backend) bool { return be != nil && be.pp.Load() }

// dialProxy is the HTTP transport's PROXY step: the server at addr gets
// the header of the client in ctx.
func dialProxy(ctx context.Context, be *Backend, addr string, c net.Conn, timeout time.Duration) error {
	cl, ok := ctx.Value(ppKey{}).(ppClient)
	if !ok {
		return nil
	}
	if t := dialTargetOf(ctx); t != nil && t.srv != nil {
		if t.srv.cfg.SendProxy.Any() {
			return sendProxy(c, t.srv.cfg, cl, timeout)
		}
		return nil
	}
	for _, s := range be.Servers() {
		if s.cfg.SendProxy.Any() && s.target(cl.dst) == addr {
			return sendProxy(c, s.cfg, cl, timeout)
		}
	}
	return nil
}

// privateTransports are one client connection's transports to the
// backends whose servers take a PROXY header.
type privateTransports struct {
	mu sync.Mutex
	m  map[*Backend]*h1Client
}

func (p *privateTransports) get(be *Backend, heads *headTable) *h1Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	tr := p.m[be]
	if tr == nil {
		if p.m == nil {
			p.m = map[*Backend]*h1Client{}
		}
		tr = backendTransport(be, heads)
		p.m[be] = tr
	}
	return tr
}

// close closes the idle connections of every transport; nil is none.
func (p *privateTransports) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tr := range p.m {
		tr.CloseIdleConnections()
	}
}
