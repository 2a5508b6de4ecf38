package vrrp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// datagram builds a keepalived-style IPv4 datagram from lb1 for the seed's
// instance, after mod has changed its fields.
func datagram(t *testing.T, auth AuthType, key Key, mod func(d *IPv4Datagram)) []byte {
	t.Helper()
	d := IPv4Datagram{TOS: TOS, ID: 7, TTL: TTL, Src: lb1, Dst: GroupIPv4, SPI: SPIFor(lb1), Seq: 100,
		Advert: Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 103, AuthType: auth, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}}
	if mod != nil {
		mod(&d)
	}
	unicast := !d.Dst.IsMulticast()
	b, err := d.Marshal(key, unicast)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// raw applies f to the bytes of a datagram, then fixes what f broke so the
// intended check is the one that fails: the VRRP checksum (v2), the IP
// total length, and the ICV (signed with key, multicast rules).
func raw(b []byte, key Key, f func(b []byte, vrrp int)) []byte {
	ihl := int(b[0]&0x0f) * 4
	off := ihl
	if b[9] == ProtocolAH {
		off += AHLen
	}
	f(b, off)
	if b[off]>>4 == 2 {
		b[off+6], b[off+7] = 0, 0
		c := checksum(b[off:], 0)
		binary.BigEndian.PutUint16(b[off+6:], c)
	}
	if b[9] == ProtocolAH {
		icv := computeICV(b, ihl, key, false)
		copy(b[ihl+12:ihl+AHLen], icv[:])
	}
	return b
}

func seedExpect(auth AuthType) Expect {
	return Expect{VRID: 51, Version: 2, AuthType: auth, Key: seedKey, Seq: &SeqCounter{n: 99},
		AdvertInt: time.Second, VIPs: []netip.Addr{vip}}
}

func TestCheck(t *testing.T) {
	wrongKey := NewKey("wrongpw")
	tests := []struct {
		name   string
		b      []byte
		e      func(e *Expect)
		want   DropReason // 0: accepted
		detail string     // substring of keepalived's log line
	}{
		{"AH ok", datagram(t, AuthAH, seedKey, nil), nil, 0, ""},
		{"PASS ok", datagram(t, AuthPass, seedKey, nil), func(e *Expect) { e.AuthType = AuthPass }, 0, ""},
		{"none ok", datagram(t, AuthNone, seedKey, nil), func(e *Expect) { e.AuthType = AuthNone }, 0, ""},
		{"short", datagram(t, AuthAH, seedKey, nil)[:40], nil, DropShort, "too short"},
		{"not IPv4", append([]byte{0x60}, make([]byte, 60)...), nil, DropShort, ""},
		{"VRID", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.Advert.VRID = 52 }), nil, DropVRID, "Unknown VRID(52)"},
		{"VRID before password", datagram(t, AuthPass, wrongKey, func(d *IPv4Datagram) { d.Advert.VRID = 52 }), func(e *Expect) { e.AuthType = AuthPass }, DropVRID, ""},
		{"PASS to AH instance", datagram(t, AuthPass, seedKey, nil), nil, DropAuthMismatch, "No AH header"},
		{"AH to PASS instance", datagram(t, AuthAH, seedKey, nil), func(e *Expect) { e.AuthType = AuthPass }, DropAuthMismatch, "Received AH header"},
		{"none to PASS instance", datagram(t, AuthNone, seedKey, nil), func(e *Expect) { e.AuthType = AuthPass }, DropAuthMismatch, "received a 0 auth, expecting 1"},
		{"trailing byte", append(datagram(t, AuthAH, seedKey, nil), 0), nil, DropLength, "too long"},
		{"TTL 64", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.TTL = 64 }), nil, DropTTL, "Received 64"},
		{"TTL 64 unicast ok", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.TTL = 64; d.Dst = lb2 }), func(e *Expect) { e.Unicast = true }, 0, ""},
		{"version 3 to v2", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Advert.Version = 3 }), func(e *Expect) { e.AuthType = AuthNone }, DropVersion, "Received 3 and expect 2"},
		{"auth type 3", raw(datagram(t, AuthPass, seedKey, nil), seedKey, func(b []byte, o int) { b[o+4] = 3 }), func(e *Expect) { e.AuthType = AuthPass }, DropAuthType, "Invalid auth type: 3"},
		{"wrong password", datagram(t, AuthPass, wrongKey, nil), func(e *Expect) { e.AuthType = AuthPass }, DropPassword, "invalid passwd"},
		{"AH next header", raw(datagram(t, AuthAH, seedKey, nil), seedKey, func(b []byte, o int) { b[20] = 6 }), nil, DropNextHeader, ""},
		{"wrong AH key", datagram(t, AuthAH, wrongKey, nil), nil, DropICV, "HMAC-MD5"},
		{"AH unicast key computed as multicast", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.TTL = 64; d.Dst = lb2 }), nil, DropTTL, ""},
		{"SPI", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.SPI = 1 }), nil, DropSPI, "SPI"},
		{"replayed seq", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.Seq = 99 }), nil, DropSeq, "sequence number 99 already processed"},
		{"interval", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.Advert.AdvertInt = 2 * time.Second }), nil, DropInterval, "interval mismatch"},
		{"type 2", raw(datagram(t, AuthAH, seedKey, nil), seedKey, func(b []byte, o int) { b[o] = 0x22 }), nil, DropType, "Invalid packet type. 2"},
		{"two VIPs for one", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.Advert.Addresses = []netip.Addr{vip, lb2} }), nil, DropAddrCount, "count 2, expected 1"},
		{"count skipped", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.Advert.Addresses = []netip.Addr{vip, lb2} }), func(e *Expect) { e.SkipVIPCheck = true }, 0, ""},
		{"IP total length", raw(datagram(t, AuthAH, seedKey, nil), seedKey, func(b []byte, o int) { b[3]++ }), nil, DropLength, "ip_tot_len"},
		{"v2 checksum", func() []byte {
			b := datagram(t, AuthAH, seedKey, nil)
			b[44+7] ^= 0xff
			icv := computeICV(b, 20, seedKey, false)
			copy(b[32:44], icv[:])
			return b
		}(), nil, DropChecksum, ""},
		{"unicast to multicast instance", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Dst = lb2 }), func(e *Expect) { e.AuthType = AuthNone }, DropCast, "Expected multicast"},
		{"multicast to unicast instance", datagram(t, AuthNone, seedKey, nil), func(e *Expect) { e.AuthType, e.Unicast = AuthNone, true }, DropCast, "Expected unicast"},
		{"AH unicast to multicast instance", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.Dst = lb2 }), nil, DropICV, ""},
		{"other VIP", datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.Advert.Addresses = []netip.Addr{lb2} }), nil, DropVIPs, "not present in MASTER advert: 192.168.1.84"},
		{"unicast peer", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Dst = lb2 }), func(e *Expect) {
			e.AuthType, e.Unicast, e.CheckUnicastSrc, e.Peers = AuthNone, true, true, []netip.Addr{netip.MustParseAddr("192.168.1.82")}
		}, DropPeer, "not a unicast peer"},
		{"unicast peer ok", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Dst = lb2 }), func(e *Expect) {
			e.AuthType, e.Unicast, e.CheckUnicastSrc, e.Peers = AuthNone, true, true, []netip.Addr{lb1}
		}, 0, ""},
		{"peer TTL in range", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Dst = lb2; d.TTL = 254 }), func(e *Expect) {
			e.AuthType, e.Unicast, e.CheckUnicastSrc, e.Peers = AuthNone, true, true, []netip.Addr{lb1}
			e.PeerTTL = map[netip.Addr][2]int{lb1: {250, 254}}
		}, 0, ""},
		{"peer TTL below min_ttl", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Dst = lb2; d.TTL = 64 }), func(e *Expect) {
			e.AuthType, e.Unicast, e.CheckUnicastSrc, e.Peers = AuthNone, true, true, []netip.Addr{lb1}
			e.PeerTTL = map[netip.Addr][2]int{lb1: {250, 255}}
		}, DropTTL, "TTL/HL 64 not in range 250 - 255"},
		{"peer TTL above max_ttl", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Dst = lb2; d.TTL = 255 }), func(e *Expect) {
			e.AuthType, e.Unicast, e.CheckUnicastSrc, e.Peers = AuthNone, true, true, []netip.Addr{lb1}
			e.PeerTTL = map[netip.Addr][2]int{lb1: {0, 254}}
		}, DropTTL, "TTL/HL 255 not in range 0 - 254"},
		{"peer TTL unchecked without check_unicast_src", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Dst = lb2; d.TTL = 64 }), func(e *Expect) {
			e.AuthType, e.Unicast, e.Peers = AuthNone, true, []netip.Addr{lb1}
			e.PeerTTL = map[netip.Addr][2]int{lb1: {250, 255}}
		}, 0, ""},
		{"v3 ok", datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Advert.Version = 3; d.Advert.AdvertInt = 50 * time.Millisecond }), func(e *Expect) { e.Version = 3; e.AuthType = AuthAH /* ignored for v3 */ }, 0, ""},
		{"v3 pseudo-header", raw(datagram(t, AuthNone, seedKey, func(d *IPv4Datagram) { d.Advert.Version = 3 }), seedKey, func(b []byte, o int) { b[19] = 19 }), func(e *Expect) { e.Version = 3 }, DropChecksum, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := seedExpect(AuthAH)
			if tc.e != nil {
				tc.e(&e)
			}
			m, err := Check(Received{Packet: tc.b, Src: lb1, HopLimit: -1}, e)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("dropped: %v", err)
				}
				if m.VRID != 51 || m.Src != lb1 {
					t.Errorf("message %+v", m)
				}
				return
			}
			var de *DropError
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%+v), want a DropError %v", err, m, tc.want)
			}
			if de.Reason != tc.want {
				t.Fatalf("reason %v (%v), want %v", de.Reason, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.detail) || !strings.HasPrefix(err.Error(), "vrrp: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.detail)
			}
		})
	}
}

// TestCheckSeqUpdates: an AH advert that passes the ICV updates the
// counter even when a later check drops it, as in keepalived.
func TestCheckSeqUpdates(t *testing.T) {
	e := seedExpect(AuthAH)
	b := datagram(t, AuthAH, seedKey, func(d *IPv4Datagram) { d.Seq = 150; d.Advert.AdvertInt = 3 * time.Second })
	_, err := Check(Received{Packet: b, HopLimit: -1}, e)
	var de *DropError
	if !errors.As(err, &de) || de.Reason != DropInterval {
		t.Fatalf("got %v", err)
	}
	if e.Seq.Value() != 150 {
		t.Errorf("counter %d, want 150", e.Seq.Value())
	}
	// The same datagram again is a replay.
	if _, err := Check(Received{Packet: b, HopLimit: -1}, e); !errors.As(err, &de) || de.Reason != DropSeq {
		t.Errorf("replay: %v", err)
	}
	// A wrong ICV must not move the counter.
	b = datagram(t, AuthAH, NewKey("x"), func(d *IPv4Datagram) { d.Seq = 500 })
	Check(Received{Packet: b, HopLimit: -1}, e)
	if e.Seq.Value() != 150 {
		t.Errorf("counter %d after a forged advert, want 150", e.Seq.Value())
	}
}

func TestCheckIPv6(t *testing.T) {
	a := Advertisement{Version: 3, Type: 1, VRID: 51, Priority: 103, AdvertInt: time.Second, Addresses: []netip.Addr{vip6}}
	good, err := a.Marshal(ll1, GroupIPv6)
	if err != nil {
		t.Fatal(err)
	}
	unicast, err := a.Marshal(ll1, ll2)
	if err != nil {
		t.Fatal(err)
	}
	e := Expect{VRID: 51, Version: 3, AdvertInt: 3 * time.Second, VIPs: []netip.Addr{vip6}}
	tests := []struct {
		name string
		r    Received
		e    func(e *Expect)
		want DropReason
	}{
		{"ok", Received{Packet: good, Src: ll1, Dst: GroupIPv6, HopLimit: 255}, nil, 0},
		{"hop limit unknown", Received{Packet: good, Src: ll1, Dst: GroupIPv6, HopLimit: -1}, nil, 0},
		{"hop limit 1", Received{Packet: good, Src: ll1, Dst: GroupIPv6, HopLimit: 1}, nil, DropTTL},
		{"hop limit 1 unicast", Received{Packet: unicast, Src: ll1, Dst: ll2, HopLimit: 1}, func(e *Expect) { e.Unicast = true }, 0},
		{"multicast to unicast instance", Received{Packet: good, Src: ll1, Dst: GroupIPv6, HopLimit: 255}, func(e *Expect) { e.Unicast = true }, DropCast},
		{"unicast checksummed for the group", Received{Packet: good, Src: ll1, Dst: ll2, HopLimit: 255}, func(e *Expect) { e.Unicast = true }, DropChecksum},
		{"checksum (other source)", Received{Packet: good, Src: ll2, Dst: GroupIPv6, HopLimit: 255}, nil, DropChecksum},
		{"short", Received{Packet: good[:7], Src: ll1, Dst: GroupIPv6, HopLimit: 255}, nil, DropShort},
		{"length", Received{Packet: good[:20], Src: ll1, Dst: GroupIPv6, HopLimit: 255}, nil, DropLength},
		{"vrid", Received{Packet: good, Src: ll1, Dst: GroupIPv6, HopLimit: 255}, func(e *Expect) { e.VRID = 1 }, DropVRID},
		{"version", Received{Packet: good, Src: ll1, Dst: GroupIPv6, HopLimit: 255}, func(e *Expect) { e.Version = 2 }, DropVersion},
		{"vips", Received{Packet: good, Src: ll1, Dst: GroupIPv6, HopLimit: 255}, func(e *Expect) { e.VIPs = []netip.Addr{ll2} }, DropVIPs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e
			if tc.e != nil {
				tc.e(&e)
			}
			m, err := Check(tc.r, e)
			var de *DropError
			switch {
			case tc.want == 0 && err != nil:
				t.Fatalf("dropped: %v", err)
			case tc.want == 0:
				if m.AdvertInt != time.Second || m.Addresses[0] != vip6 {
					t.Errorf("message %+v", m)
				}
			case !errors.As(err, &de) || de.Reason != tc.want:
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDropReasonString(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range DropReasons() {
		s := r.String()
		if s == "" || strings.HasPrefix(s, "drop(") || seen[s] {
			t.Errorf("reason %d: name %q", int(r), s)
		}
		seen[s] = true
	}
	if len(seen) != int(DropPeer) {
		t.Errorf("%d reasons, want %d", len(seen), int(DropPeer))
	}
	if DropReason(0).String() != "drop(0)" {
		t.Error(DropReason(0).String())
	}
}
