package proxyproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const sig = "0d0a0d0a000d0a515549540a"

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string // text, or hex when it starts with "0x"
		want *Header
		n    int
		err  error
	}{
		{name: "v1 TCP4", in: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /",
			want: &Header{Version: 1, Command: CmdProxy, Family: FamilyInet, Transport: TransportStream,
				Source: ap("192.0.2.1:56324"), Destination: ap("198.51.100.2:443")}, n: 45},
		{name: "v1 TCP6", in: "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n",
			want: &Header{Version: 1, Command: CmdProxy, Family: FamilyInet6, Transport: TransportStream,
				Source: ap("[2001:db8::1]:1"), Destination: ap("[::1]:65535")}, n: 36},
		{name: "v1 UNKNOWN", in: "PROXY UNKNOWN\r\nxyz",
			want: &Header{Version: 1, Command: CmdProxy}, n: 15},
		{name: "v1 UNKNOWN with addresses (haproxy 2.6 refuses)", in: "PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", err: ErrBadProtocol},
		{name: "v1 unknown protocol", in: "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", err: ErrBadProtocol},
		{name: "v1 short", in: "PROXY TCP4 1.2.3.4 5.6", err: io.ErrUnexpectedEOF},
		{name: "v1 short prefix", in: "PROX", err: io.ErrUnexpectedEOF},
		{name: "v1 short protocol", in: "PROXY TC", err: io.ErrUnexpectedEOF},
		{name: "v1 TCP4 with IPv6", in: "PROXY TCP4 ::1 ::1 1 2\r\n", err: ErrBadHeader},
		{name: "v1 TCP6 with IPv4", in: "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", err: ErrBadHeader},
		{name: "v1 zone", in: "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", err: ErrBadHeader},
		{name: "v1 port too big", in: "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", err: ErrBadHeader},
		{name: "v1 port sign", in: "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", err: ErrBadHeader},
		{name: "v1 missing field", in: "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", err: ErrBadHeader},
		{name: "v1 double space", in: "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", err: ErrBadHeader},
		{name: "v1 CR without LF", in: "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx", err: ErrBadHeader},
		{name: "v1 no CRLF in 107 bytes", in: "PROXY TCP6 " + strings.Repeat("1", 120), err: ErrBadHeader},
		{name: "http", in: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", err: ErrNotHeader},
		{name: "PROXY lowercase", in: "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", err: ErrNotHeader},

		{name: "v2 TCP4", in: "0x" + sig + "21 11 000c c0000201 c6336402 dc04 01bb ff",
			want: &Header{Version: 2, Command: CmdProxy, Family: FamilyInet, Transport: TransportStream,
				Source: ap("192.0.2.1:56324"), Destination: ap("198.51.100.2:443")}, n: 28},
		{name: "v2 TCP6 with ALPN", in: "0x" + sig + "21 21 0029 20010db8000000000000000000000001 00000000000000000000000000000001 0001 0002 01 0002 6832",
			want: &Header{Version: 2, Command: CmdProxy, Family: FamilyInet6, Transport: TransportStream,
				Source: ap("[2001:db8::1]:1"), Destination: ap("[::1]:2"), TLVs: []TLV{{TypeALPN, []byte("h2")}}}, n: 57},
		{name: "v2 LOCAL skips its body", in: "0x" + sig + "20 00 0003 ffffff",
			want: &Header{Version: 2, Command: CmdLocal}, n: 19},
		{name: "v2 UNSPEC PROXY", in: "0x" + sig + "21 00 0000",
			want: &Header{Version: 2, Command: CmdProxy}, n: 16},
		{name: "v2 UDP4", in: "0x" + sig + "21 12 000c 01020304 05060708 0001 0002",
			want: &Header{Version: 2, Command: CmdProxy, Family: FamilyInet, Transport: TransportDgram,
				Source: ap("1.2.3.4:1"), Destination: ap("5.6.7.8:2")}, n: 28},
		{name: "v2 version 1", in: "0x" + sig + "11 11 000c 01020304 05060708 0001 0002", err: ErrNotHeader},
		{name: "v2 command 2", in: "0x" + sig + "22 11 000c 01020304 05060708 0001 0002", err: ErrBadHeader},
		{name: "v2 family 4", in: "0x" + sig + "21 41 0000", err: ErrBadHeader},
		{name: "v2 transport 3", in: "0x" + sig + "21 13 000c 01020304 05060708 0001 0002", err: ErrBadHeader},
		{name: "v2 short address block", in: "0x" + sig + "21 11 000b 01020304 05060708 0001 00", err: ErrBadHeader},
		{name: "v2 truncated", in: "0x" + sig + "21 11 000c 01020304", err: io.ErrUnexpectedEOF},
		{name: "v2 short signature", in: "0x0d0a0d0a00", err: io.ErrUnexpectedEOF},
		{name: "v2 TLV past the end", in: "0x" + sig + "21 11 0010 01020304 05060708 0001 0002 01 0005 68", err: ErrBadHeader},
		{name: "v2 TLV header cut", in: "0x" + sig + "21 11 000e 01020304 05060708 0001 0002 01 00", err: ErrBadHeader},
		{name: "v2 CRC32C wrong", in: "0x" + sig + "21 11 0013 01020304 05060708 0001 0002 03 0004 00000000", err: ErrBadHeader},
		{name: "v2 CRC32C 2 bytes", in: "0x" + sig + "21 11 0011 01020304 05060708 0001 0002 03 0002 0000", err: ErrBadHeader},
		{name: "v2 authority 256", in: "0x" + sig + "21 00 0103 02 0100" + strings.Repeat("61", 256), err: ErrBadHeader},
		{name: "v2 unique id 129", in: "0x" + sig + "21 00 0084 05 0081" + strings.Repeat("61", 129), err: ErrBadHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if strings.HasPrefix(tt.in, "0x") {
				in = unhex(t, tt.in[2:])
			}
			h, n, err := Parse(in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Parse: err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n != tt.n || !reflect.DeepEqual(h, tt.want) {
				t.Fatalf("Parse = %+v, %d; want %+v, %d", h, n, tt.want, tt.n)
			}
			// The header alone unmarshals to the same; with a byte more it
			// does not.
			var u Header
			if err := u.UnmarshalBinary(in[:n]); err != nil || !reflect.DeepEqual(&u, tt.want) {
				t.Fatalf("UnmarshalBinary = %+v, %v", u, err)
			}
			if err := u.UnmarshalBinary(append(in[:n:n], 'x')); !errors.Is(err, ErrBadHeader) {
				t.Fatalf("UnmarshalBinary with a trailing byte: %v", err)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	tests := []struct {
		name string
		h    Header
		want string // text, or hex after "0x"
		err  error
	}{
		{name: "v1 TCP4", h: Header{Version: 1, Command: CmdProxy, Family: FamilyInet, Source: ap("10.0.0.1:1234"), Destination: ap("10.0.0.2:80")},
			want: "PROXY TCP4 10.0.0.1 10.0.0.2 1234 80\r\n"},
		{name: "v1 TCP6 maps IPv4", h: Header{Version: 1, Command: CmdProxy, Family: FamilyInet6, Source: ap("10.0.0.1:1234"), Destination: ap("[2001:db8::2]:80")},
			want: "PROXY TCP6 ::ffff:10.0.0.1 2001:db8::2 1234 80\r\n"},
		{name: "v1 UNKNOWN", h: Header{Version: 1, Command: CmdProxy}, want: "PROXY UNKNOWN\r\n"},
		{name: "v1 LOCAL", h: Header{Version: 1, Command: CmdLocal}, err: ErrUnencodable},
		{name: "v1 TCP4 with IPv6", h: Header{Version: 1, Command: CmdProxy, Family: FamilyInet, Source: ap("[::1]:1"), Destination: ap("10.0.0.2:80")}, err: ErrUnencodable},
		{name: "v2 LOCAL", h: Header{Version: 2, Command: CmdLocal}, want: "0x" + sig + "20 00 0000"},
		{name: "v2 TCP4", h: Header{Version: 2, Command: CmdProxy, Family: FamilyInet, Transport: TransportStream, Source: ap("10.0.0.1:1234"), Destination: ap("10.0.0.2:80")},
			want: "0x" + sig + "21 11 000c 0a000001 0a000002 04d2 0050"},
		{name: "v2 TCP6 maps IPv4", h: Header{Version: 2, Command: CmdProxy, Family: FamilyInet6, Transport: TransportStream, Source: ap("10.0.0.1:1"), Destination: ap("[::1]:2")},
			want: "0x" + sig + "21 21 0024 00000000000000000000ffff0a000001 00000000000000000000000000000001 0001 0002"},
		// The CRC32C value is computed over the whole header (RFC 3720
		// Castagnoli): checked against what haproxy 2.6 sends with
		// proxy-v2-options crc32c in proxy_haproxy_test.go.
		{name: "v2 CRC32C filled", h: Header{Version: 2, Command: CmdLocal, TLVs: []TLV{{TypeCRC32C, make([]byte, 4)}}},
			want: "0x" + sig + "20 00 0007 03 0004 " + crcHex(t, sig+"20000007030004 00000000")},
		{name: "v2 TCP4 with IPv6", h: Header{Version: 2, Command: CmdProxy, Family: FamilyInet, Source: ap("[::1]:1"), Destination: ap("10.0.0.2:80")}, err: ErrUnencodable},
		{name: "version 3", h: Header{Version: 3}, err: ErrUnencodable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.h.MarshalBinary()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			want := []byte(tt.want)
			if strings.HasPrefix(tt.want, "0x") {
				want = unhex(t, tt.want[2:])
			}
			if err != nil || !bytes.Equal(b, want) {
				t.Fatalf("MarshalBinary = %q, %v; want %q", b, err, want)
			}
			if _, _, err := Parse(b); err != nil {
				t.Fatalf("Parse(MarshalBinary) = %v", err)
			}
		})
	}
}

func crcHex(t *testing.T, s string) string {
	b := unhex(t, s)
	return hex.EncodeToString(bytes.Repeat([]byte{0}, 0)) + hex.EncodeToString(be32(checksum(b, len(b)-4)))
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
