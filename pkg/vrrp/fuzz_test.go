package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// captureSeeds returns the IPv4 datagrams of the three captures.
func captureSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, c := range captures {
		fh, err := os.Open("testdata/" + c.name + ".pcap")
		if err != nil {
			f.Fatal(err)
		}
		r, err := pcapgo.NewReader(fh)
		if err != nil {
			f.Fatal(err)
		}
		for {
			data, _, err := r.ReadPacketData()
			if err != nil {
				break
			}
			p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
			if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && (ip.Protocol == 112 || ip.Protocol == 51) {
				out = append(out, append(append([]byte{}, ip.Contents...), ip.Payload...))
			}
		}
		fh.Close()
	}
	return out
}

// FuzzUnmarshal: whatever parses must marshal and parse back to the same
// advertisement; a v2 IPv4 message must come back byte for byte.
func FuzzUnmarshal(f *testing.F) {
	for _, b := range captureSeeds(f) {
		ihl := int(b[0]&0x0f) * 4
		if b[9] == ProtocolAH {
			ihl += AHLen
		}
		f.Add(b[ihl:], false, false)
	}
	v3, _ := (&Advertisement{Version: 3, Type: 1, VRID: 1, Priority: 1, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}).Marshal(lb1, GroupIPv4)
	f.Add(v3, false, true)
	v6, _ := (&Advertisement{Version: 3, Type: 1, VRID: 1, Priority: 1, AdvertInt: time.Second, Addresses: []netip.Addr{vip6}}).Marshal(ll1, GroupIPv6)
	f.Add(v6, true, true)
	f.Add([]byte{0x21, 1, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, true)
	f.Fuzz(func(t *testing.T, b []byte, ipv6, fixSum bool) {
		src, dst := lb1, GroupIPv4
		if ipv6 {
			src, dst = ll1, GroupIPv6
		}
		in := append([]byte(nil), b...)
		if fixSum && len(in) >= HeaderLen {
			in[6], in[7] = 0, 0
			var sum uint32
			if ipv6 || in[0]>>4 == 3 {
				sum = pseudoHeaderSum(src, dst, len(in))
			}
			binary.BigEndian.PutUint16(in[6:], checksum(in, sum))
		}
		var a Advertisement
		if err := a.Unmarshal(in, src, dst); err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrLength) && !errors.Is(err, ErrVersion) &&
				!errors.Is(err, ErrType) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrAuthType) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		out, err := a.Marshal(src, dst)
		if err != nil {
			t.Fatalf("parsed %+v but cannot marshal it: %v", a, err)
		}
		var back Advertisement
		if err := back.Unmarshal(out, src, dst); err != nil {
			t.Fatalf("cannot parse our own %x: %v", out, err)
		}
		if !reflect.DeepEqual(a, back) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", back, a)
		}
		if a.Version == 2 && !ipv6 && !bytes.Equal(out, in) {
			t.Fatalf("v2 bytes differ:\n got %x\nwant %x", out, in)
		}
	})
}

// FuzzCheck: Check never panics, and whatever it accepts re-encodes.
func FuzzCheck(f *testing.F) {
	for _, b := range captureSeeds(f) {
		f.Add(b, false, uint8(0))
	}
	v6, _ := (&Advertisement{Version: 3, Type: 1, VRID: 51, Priority: 1, AdvertInt: time.Second, Addresses: []netip.Addr{vip6}}).Marshal(ll1, GroupIPv6)
	f.Add(v6, true, uint8(4))
	f.Add([]byte{0x4f}, false, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, ipv6 bool, mode uint8) {
		e := Expect{VRID: 51, Version: 2 + int(mode&1), AuthType: AuthType(mode >> 1 & 3), Key: seedKey,
			Seq: new(SeqCounter), AdvertInt: time.Second, Unicast: mode&8 != 0, SkipVIPCheck: mode&16 != 0,
			VIPs: []netip.Addr{vip}, CheckUnicastSrc: true, Peers: []netip.Addr{lb1}}
		r := Received{Packet: b, HopLimit: -1}
		if ipv6 {
			r.Src, r.Dst, r.HopLimit = ll1, GroupIPv6, 255
			e.VIPs = []netip.Addr{vip6}
		}
		m, err := Check(r, e)
		if err != nil {
			var de *DropError
			if !errors.As(err, &de) || de.Reason.String() == "" {
				t.Fatalf("error %v is not a DropError", err)
			}
			return
		}
		if _, err := m.Advertisement.Marshal(m.Src, m.Dst); err != nil {
			t.Fatalf("accepted %+v but cannot marshal it: %v", m, err)
		}
	})
}
