package garp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func TestNAFrame(t *testing.T) {
	hw := net.HardwareAddr{0x8a, 0xac, 0x36, 0xce, 0x6a, 0xf6}
	vip := netip.MustParseAddr("fd00:1::84")
	for _, router := range []bool{false, true} {
		b, err := NAFrame(hw, vip, router)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != NAFrameLen {
			t.Fatalf("len %d, want %d", len(b), NAFrameLen)
		}
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		ip6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		icmp := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		na, ok := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
		if !ok {
			t.Fatalf("no NA decoded: %v", p)
		}
		wantFlags := uint8(0x20)
		if router {
			wantFlags |= 0x80
		}
		for _, c := range []struct {
			what      string
			got, want any
		}{
			{"eth dst", eth.DstMAC.String(), "33:33:00:00:00:01"},
			{"eth src", eth.SrcMAC.String(), hw.String()},
			{"ip src", ip6.SrcIP.String(), "fd00:1::84"},
			{"ip dst", ip6.DstIP.String(), "ff02::1"},
			{"hop limit", ip6.HopLimit, uint8(255)},
			{"next header", ip6.NextHeader, layers.IPProtocolICMPv6},
			{"type", icmp.TypeCode.Type(), uint8(layers.ICMPv6TypeNeighborAdvertisement)},
			{"flags", na.Flags, wantFlags},
			{"target", na.TargetAddress.String(), "fd00:1::84"},
			{"options", len(na.Options), 1},
			{"option type", na.Options[0].Type, layers.ICMPv6OptTargetAddress},
			{"option mac", net.HardwareAddr(na.Options[0].Data).String(), hw.String()},
		} {
			if c.got != c.want {
				t.Errorf("router=%v %s = %v, want %v", router, c.what, c.got, c.want)
			}
		}
		// gopacket computes the checksum independently: same bytes.
		icmp.SetNetworkLayerForChecksum(ip6)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
			eth, ip6, icmp, na); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), b) {
			t.Errorf("router=%v: gopacket's serialisation differs\n got %x\nwant %x", router, b, buf.Bytes())
		}
	}
	if _, err := NAFrame(hw, netip.MustParseAddr("10.0.0.1"), false); err == nil {
		t.Error("IPv4 address: want error")
	}
}
