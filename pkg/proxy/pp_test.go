package proxy

import (
	"net/netip"
	"strings"
	"testing"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxyproto"
)

// TestParsePeeked: one peek judged as haproxy 2.6's conn_recv_proxy
// judges it (the texts are its log lines; TestIntegrationProxyProtocol
// LikeHaproxy in pkg/gproxyd compares them with haproxy's own).
func TestParsePeeked(t *testing.T) {
	sig := proxyproto.Signature
	tests := []struct {
		name, in, msg string
		n             int
	}{
		{"v1", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nrest", "", 32},
		{"five bytes", "PROXY", prxTruncated, 0},
		{"PROXY and 2 bytes", "PROXY TC", prxTruncated, 0},
		{"short other bytes", "GET / HTTP/1.", prxTruncated, 0},
		{"not a header", "GET / HTTP/1.1\r\n\r\n", prxNotHdr, 0},
		{"bad protocol", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", prxBadProto, 0},
		{"bad field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 x\r\n", prxBadHdr, 0},
		{"v1 cut", "PROXY TCP4 1.2.3.4 5.6.7.8 1", prxTruncated, 0},
		{"v2 LOCAL", sig + "\x20\x00\x00\x00", "", 16},
		{"v2 cut", sig + "\x21\x11\x00\x0c\x01\x02", prxTruncated, 0},
		{"v2 version 3", sig + "\x31\x11\x00\x00", prxNotHdr, 0},
		{"v2 command 2", sig + "\x22\x11\x00\x00", prxBadHdr, 0},
		// A PROXY command with a family haproxy does not take: its TLV
		// walk starts at the signature and overruns.
		{"v2 UNSPEC", sig + "\x21\x00\x00\x00", prxBadHdr, 0},
		{"v2 UDP4", sig + "\x21\x12\x00\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", prxBadHdr, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, msg := parsePeeked([]byte(tt.in))
			if msg != tt.msg || n != tt.n {
				t.Fatalf("parsePeeked(%q) = %d, %q; want %d, %q", tt.in, n, msg, tt.n, tt.msg)
			}
		})
	}
}

// TestProxyLine: the headers servers get, as haproxy 2.6 writes them
// (the TLV bytes were captured from haproxy by the pkg/gproxyd test).
func TestProxyLine(t *testing.T) {
	cl := ppClient{src: netip.MustParseAddrPort("192.0.2.1:56324"), dst: netip.MustParseAddrPort("198.51.100.2:443")}
	mixed := ppClient{src: netip.MustParseAddrPort("192.0.2.1:1"), dst: netip.MustParseAddrPort("[2001:db8::2]:2")}
	tests := []struct {
		name string
		o    haproxycfg.SendProxy
		cl   ppClient
		want string
	}{
		{"v1", haproxycfg.SendProxy{V1: true}, cl, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"},
		{"v1 mixed families", haproxycfg.SendProxy{V1: true}, mixed, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 2\r\n"},
		{"v1 no IP client", haproxycfg.SendProxy{V1: true}, ppClient{}, "PROXY UNKNOWN\r\n"},
		{"options alone send v1", haproxycfg.SendProxy{CRC32C: true}, cl, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"},
		{"v2", haproxycfg.SendProxy{V2: true}, cl, proxyproto.Signature + "\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x01\xbb"},
		{"v2 no IP client", haproxycfg.SendProxy{V2: true}, ppClient{}, proxyproto.Signature + "\x20\x00\x00\x00"},
		{"v2 ssl of a clear client", haproxy2SSL(), cl, proxyproto.Signature + "\x21\x11\x00\x14\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x01\xbb\x20\x00\x05\x00\x00\x00\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(proxyLine(tt.o, tt.cl)); got != tt.want {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func haproxy2SSL() haproxycfg.SendProxy { return haproxycfg.SendProxy{V2: true, SSL: true} }

// FuzzParsePeeked: any peek is judged without panicking; an accepted
// header is no longer than the peek, and a refused one's logged source
// comes from a v2 address block only.
func FuzzParsePeeked(f *testing.F) {
	for _, s := range []string{
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY UNKNOWN\r\n",
		proxyproto.Signature + "\x21\x11\x00\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02",
		proxyproto.Signature + "\x21\x11\x00\x13\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02\x03\x00\x04\x00\x00\x00\x00",
		proxyproto.Signature + "\x21\x12\x0a\x10" + strings.Repeat("\x00", 2576),
		proxyproto.Signature + "\x20\x00\x00\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, msg := parsePeeked(b)
		if msg == "" && (h == nil || n <= 0 || n > len(b)) {
			t.Fatalf("accepted %d of %d bytes, header %v", n, len(b), h)
		}
		if msg != "" && h != nil && (len(b) < 16 || string(b[:12]) != proxyproto.Signature) {
			t.Fatalf("a source from a non-v2 header: %q", b)
		}
	})
}
