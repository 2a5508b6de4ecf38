package vrrp

import (
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	lb1  = netip.MustParseAddr("192.168.1.80")
	lb2  = netip.MustParseAddr("192.168.1.81")
	vip  = netip.MustParseAddr("192.168.1.84")
	ll1  = netip.MustParseAddr("fe80::1")
	ll2  = netip.MustParseAddr("fe80::2")
	vip6 = netip.MustParseAddr("2001:db8::84")
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		a        Advertisement
		src, dst netip.Addr
		len      int
	}{
		{"v2 none", Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 100, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}, netip.Addr{}, netip.Addr{}, 20},
		{"v2 PASS", Advertisement{Version: 2, Type: 1, VRID: 1, Priority: 255, AuthType: AuthPass, AdvertInt: 255 * time.Second, Addresses: []netip.Addr{vip, lb1}, Password: NewKey("abc")}, lb1, GroupIPv4, 24},
		{"v2 no VIPs", Advertisement{Version: 2, Type: 1, VRID: 1, Priority: 0, AdvertInt: time.Second, Addresses: []netip.Addr{}}, netip.Addr{}, netip.Addr{}, 16},
		{"v3 IPv4", Advertisement{Version: 3, Type: 1, VRID: 51, Priority: 102, AdvertInt: 40950 * time.Millisecond, Addresses: []netip.Addr{vip}}, lb1, GroupIPv4, 12},
		{"v3 IPv4 unicast", Advertisement{Version: 3, Type: 1, VRID: 51, Priority: 102, AdvertInt: 10 * time.Millisecond, Addresses: []netip.Addr{vip}}, lb1, lb2, 12},
		{"v3 IPv6", Advertisement{Version: 3, Type: 1, VRID: 9, Priority: 1, AdvertInt: time.Second, Addresses: []netip.Addr{vip6, ll1}}, ll1, GroupIPv6, 40},
		{"v2 IPv6", Advertisement{Version: 2, Type: 1, VRID: 9, Priority: 1, AdvertInt: time.Second, Addresses: []netip.Addr{vip6}}, ll1, GroupIPv6, 24},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.a.Marshal(tc.src, tc.dst)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tc.len {
				t.Errorf("length %d, want %d: %x", len(b), tc.len, b)
			}
			var got Advertisement
			if err := got.Unmarshal(b, tc.src, tc.dst); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.a) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.a)
			}
			// A different pseudo-header must fail for v3 and IPv6.
			if tc.a.Version == 3 || tc.src.Is6() {
				other := lb2
				if tc.src.Is6() {
					other = ll2
				}
				if err := got.Unmarshal(b, other, tc.dst); !errors.Is(err, ErrChecksum) {
					t.Errorf("with source %v: %v, want ErrChecksum", other, err)
				}
			}
		})
	}
}

// TestV3Checksum checks the VRRPv3 IPv4 checksum against one summed word by
// word (RFC 1071 over the pseudo-header 192.168.1.80 > 224.0.0.18, proto
// 112, length 12, then the message with a zero checksum).
func TestV3Checksum(t *testing.T) {
	a := Advertisement{Version: 3, Type: 1, VRID: 51, Priority: 103, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}
	b, err := a.Marshal(lb1, GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	// Pseudo-header words, then the message: version/type, VRID, priority,
	// count, 100 centiseconds, checksum 0, the VIP.
	var sum uint32
	for _, w := range []uint32{0xc0a8, 0x0150, 0xe000, 0x0012, 0x0070, 0x000c, 0x3133, 0x6701, 0x0064, 0x0000, 0xc0a8, 0x0154} {
		sum += w
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	want := ^uint16(sum)
	if a.Checksum != want || hex.EncodeToString(b[6:8]) != hex.EncodeToString([]byte{byte(want >> 8), byte(want)}) {
		t.Errorf("checksum %#04x, want %#04x (%x)", a.Checksum, want, b)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	good, err := (&Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 100, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	fix := func(b []byte) []byte { // recompute the v2 checksum
		b[6], b[7] = 0, 0
		c := checksum(b, 0)
		b[6], b[7] = byte(c>>8), byte(c)
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"header cut", good[:7], ErrShort},
		{"addresses cut", good[:10], ErrShort},
		{"auth data cut", good[:19], ErrShort},
		{"trailing byte", mod(func(b []byte) []byte { return fix(append(b, 0, 0)) }), ErrLength},
		{"count too high", mod(func(b []byte) []byte { b[3] = 2; return fix(b) }), ErrShort},
		{"version 1", mod(func(b []byte) []byte { b[0] = 0x11; return fix(b) }), ErrVersion},
		{"version 4", mod(func(b []byte) []byte { b[0] = 0x41; return fix(b) }), ErrVersion},
		{"type 2", mod(func(b []byte) []byte { b[0] = 0x22; return fix(b) }), ErrType},
		{"auth type 3", mod(func(b []byte) []byte { b[4] = 3; return fix(b) }), ErrAuthType},
		{"checksum", mod(func(b []byte) []byte { b[7] ^= 1; return b }), ErrChecksum},
		{"priority flipped", mod(func(b []byte) []byte { b[2] = 101; return b }), ErrChecksum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a Advertisement
			err := a.UnmarshalBinary(tc.b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "vrrp: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if !errors.Is(ErrShort, io.ErrUnexpectedEOF) {
		t.Error("ErrShort does not wrap io.ErrUnexpectedEOF")
	}
}

func TestMarshalErrors(t *testing.T) {
	base := func(f func(a *Advertisement)) Advertisement {
		a := Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 100, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}
		f(&a)
		return a
	}
	many := make([]netip.Addr, 256)
	for i := range many {
		many[i] = vip
	}
	tests := []struct {
		name     string
		a        Advertisement
		src, dst netip.Addr
		want     error
	}{
		{"v2 fraction of a second", base(func(a *Advertisement) { a.AdvertInt = 1500 * time.Millisecond }), lb1, GroupIPv4, ErrInterval},
		{"v2 256s", base(func(a *Advertisement) { a.AdvertInt = 256 * time.Second }), lb1, GroupIPv4, ErrInterval},
		{"v3 41s", base(func(a *Advertisement) { a.Version = 3; a.AdvertInt = 41 * time.Second }), lb1, GroupIPv4, ErrInterval},
		{"v3 15ms", base(func(a *Advertisement) { a.Version = 3; a.AdvertInt = 15 * time.Millisecond }), lb1, GroupIPv4, ErrInterval},
		{"v3 with PASS", base(func(a *Advertisement) { a.Version = 3; a.AuthType = AuthPass }), lb1, GroupIPv4, ErrAuthType},
		{"v2 IPv6 with AH", base(func(a *Advertisement) { a.AuthType = AuthAH; a.Addresses = []netip.Addr{vip6} }), ll1, GroupIPv6, ErrAuthType},
		{"auth type 3", base(func(a *Advertisement) { a.AuthType = 3 }), lb1, GroupIPv4, ErrAuthType},
		{"version 4", base(func(a *Advertisement) { a.Version = 4 }), lb1, GroupIPv4, ErrVersion},
		{"type 0", base(func(a *Advertisement) { a.Type = 0 }), lb1, GroupIPv4, ErrType},
		{"256 addresses", base(func(a *Advertisement) { a.Addresses = many }), lb1, GroupIPv4, ErrAddrCount},
		{"IPv6 VIP over IPv4", base(func(a *Advertisement) { a.Addresses = []netip.Addr{vip6} }), lb1, GroupIPv4, ErrAddrCount},
		{"IPv4 VIP over IPv6", base(func(a *Advertisement) { a.Version = 3 }), ll1, GroupIPv6, ErrAddrCount},
		{"v3 without addresses", base(func(a *Advertisement) { a.Version = 3 }), netip.Addr{}, netip.Addr{}, ErrPseudoHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.a.Marshal(tc.src, tc.dst)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewKey(t *testing.T) {
	for pass, want := range map[string]string{
		"supersecret": "supersec",
		"supersec":    "supersec",
		"abc":         "abc\x00\x00\x00\x00\x00",
		"":            "\x00\x00\x00\x00\x00\x00\x00\x00",
	} {
		if k := NewKey(pass); string(k[:]) != want {
			t.Errorf("NewKey(%q) = %q, want %q", pass, k, want)
		}
	}
}

func TestSeqCounter(t *testing.T) {
	var c SeqCounter
	if s, ok := c.Next(); s != 1 || !ok {
		t.Fatalf("first send %d %v, want 1", s, ok)
	}
	steps := []struct {
		op   string
		seq  uint32
		ok   bool
		want uint32 // counter after
	}{
		{"accept", 1, false, 1}, // equal to our own last: replay
		{"accept", 0, false, 1},
		{"accept", 5, true, 5},
		{"accept", 5, false, 5},
		{"accept", 4, false, 5},
		{"next", 6, true, 6},
		{"sync", 3, true, 4}, // master syncs to a lower-priority advert's seq+1
		{"next", 5, true, 5},
		{"accept", 0xFFFFFFFE, true, 0xFFFFFFFE},
		{"next", 0xFFFFFFFE, false, 0xFFFFFFFE}, // exhausted: keepalived stops sending
	}
	for i, s := range steps {
		switch s.op {
		case "accept":
			if ok := c.Accept(s.seq); ok != s.ok {
				t.Errorf("step %d: Accept(%d) = %v", i, s.seq, ok)
			}
		case "next":
			if seq, ok := c.Next(); seq != s.seq || ok != s.ok {
				t.Errorf("step %d: Next() = %d %v, want %d %v", i, seq, ok, s.seq, s.ok)
			}
		case "sync":
			c.Sync(s.seq)
		}
		if c.Value() != s.want {
			t.Errorf("step %d (%s %d): counter %d, want %d", i, s.op, s.seq, c.Value(), s.want)
		}
	}
	c.Reset()
	if c.Value() != 0 {
		t.Error("Reset")
	}
}

func TestEncoderIDSkipsZero(t *testing.T) {
	e := &Encoder{Src: lb1, id: 0xfffe}
	a := Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 100, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}
	var ids []uint16
	for range 3 {
		out, err := e.Encode(&a, lb2, netip.MustParseAddr("192.168.1.82"))
		if err != nil {
			t.Fatal(err)
		}
		// Both peers get the same ID in one round.
		d1, _ := ParseIPv4(out[0])
		d2, _ := ParseIPv4(out[1])
		if d1.ID != d2.ID || d1.Dst != lb2 || d2.Dst.String() != "192.168.1.82" {
			t.Fatalf("round IDs %d %d to %v %v", d1.ID, d2.ID, d1.Dst, d2.Dst)
		}
		ids = append(ids, d1.ID)
	}
	if !reflect.DeepEqual(ids, []uint16{0xffff, 1, 2}) {
		t.Errorf("IDs %x, want ffff 1 2", ids)
	}
}
