package health

import (
	"net"
	"net/netip"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxyproto"
)

// checkProxyLine is the PROXY protocol header a health check sends, as
// haproxy 2.6's make_proxy_line does for a connection with no client
// behind it: version 2 is a LOCAL header (with the CRC32C and an empty
// SSL TLV when the server's proxy-v2-options ask for them); version 1
// carries the check connection's own addresses ("PROXY UNKNOWN" over a
// UNIX socket).
func checkProxyLine(o haproxycfg.SendProxy, c net.Conn) []byte {
	h := proxyproto.Header{Version: 1, Command: proxyproto.CmdProxy}
	if o.V2 {
		h = proxyproto.Header{Version: 2, Command: proxyproto.CmdLocal}
		if o.CRC32C {
			h.TLVs = append(h.TLVs, proxyproto.TLV{Type: proxyproto.TypeCRC32C, Value: make([]byte, 4)})
		}
		if o.SSL {
			// The check's own connection is not a TLS client of ours:
			// client 0, verify 0.
			h.TLVs = append(h.TLVs, proxyproto.TLV{Type: proxyproto.TypeSSL, Value: make([]byte, 5)})
		}
	} else {
		src, ok1 := c.LocalAddr().(*net.TCPAddr)
		dst, ok2 := c.RemoteAddr().(*net.TCPAddr)
		if ok1 && ok2 {
			s, d := unmap(src.AddrPort()), unmap(dst.AddrPort())
			h.Source, h.Destination = s, d
			h.Family, h.Transport = proxyproto.FamilyInet, proxyproto.TransportStream
			if !s.Addr().Is4() || !d.Addr().Is4() {
				h.Family = proxyproto.FamilyInet6
			}
		}
	}
	b, err := h.MarshalBinary()
	if err != nil {
		return []byte("PROXY UNKNOWN\r\n")
	}
	return b
}

func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }
