package garp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"

	"hapair/pkg/netnstest"
)

// vethInNewNetns moves the test's locked thread into a fresh network
// namespace with a veth pair veth0/veth1, both up.
func vethInNewNetns(t *testing.T) (*net.Interface, *net.Interface) {
	t.Helper()
	netnstest.Enter(t)
	netnstest.Veth(t, "veth0", "veth1")
	var ifs []*net.Interface
	for _, name := range []string{"veth0", "veth1"} {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			t.Fatal(err)
		}
		ifs = append(ifs, ifi)
	}
	// Frames sent before the kernel's link watcher has attached a qdisc
	// (operstate up, asynchronously) are dropped: wait for it.
	for _, name := range []string{"veth0", "veth1"} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			l, err := netlink.LinkByName(name)
			if err == nil && l.Attrs().OperState == netlink.OperUp {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not operationally up after 10s", name)
			}
		}
	}
	return ifs[0], ifs[1]
}

func TestIntegrationSend(t *testing.T) {
	ifi, peer := vethInNewNetns(t)
	capture, err := packet.Listen(peer, packet.Raw, etherTypeARP, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()

	vip := netip.MustParseAddr("192.168.1.84")
	// Send works without any IPv4 address on the interface: keepalived
	// announces the VIP it has just added, whatever else is there.
	if err := Send(ifi, vip); err != nil {
		t.Fatal(err)
	}
	c, err := Dial(ifi)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Announce(netip.MustParseAddr("192.168.1.85")); err != nil {
		t.Fatal(err)
	}

	want1, _ := Frame(ifi.HardwareAddr, vip)
	want2, _ := Frame(ifi.HardwareAddr, netip.MustParseAddr("192.168.1.85"))
	var got [][]byte
	buf := make([]byte, 1500)
	capture.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(got) < 2 {
		n, from, err := capture.ReadFrom(buf)
		if err != nil {
			t.Fatalf("reading on veth1 after %d frames: %v", len(got), err)
		}
		if !bytes.Equal(from.(*packet.Addr).HardwareAddr, ifi.HardwareAddr) {
			continue
		}
		got = append(got, append([]byte(nil), buf[:n]...))
	}
	for i, want := range [][]byte{want1, want2} {
		if !bytes.Equal(got[i], want) {
			t.Errorf("frame %d on the wire\n got %x\nwant %x", i, got[i], want)
		}
		p := gopacket.NewPacket(got[i], layers.LayerTypeEthernet, gopacket.Default)
		a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		if !ok {
			t.Fatalf("frame %d is not ARP: %v", i, p)
		}
		if a.Operation != layers.ARPRequest || !bytes.Equal(a.SourceProtAddress, a.DstProtAddress) {
			t.Errorf("frame %d: op %d, %v -> %v; want a request with sender IP = target IP", i,
				a.Operation, net.IP(a.SourceProtAddress), net.IP(a.DstProtAddress))
		}
	}

	// An IPv6 VIP is announced with an unsolicited Neighbor Advertisement.
	cap6, err := packet.Listen(peer, packet.Raw, etherTypeIPv6, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cap6.Close()
	vip6 := netip.MustParseAddr("fd00::84")
	if err := c.Announce(vip6); err != nil {
		t.Fatal(err)
	}
	want6, _ := NAFrame(ifi.HardwareAddr, vip6, false)
	cap6.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, from, err := cap6.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no NA seen on veth1: %v", err)
		}
		// Skip the kernel's own IPv6 traffic (MLD, router solicitations).
		if !bytes.Equal(from.(*packet.Addr).HardwareAddr, ifi.HardwareAddr) || n != NAFrameLen || buf[54] != 136 {
			continue
		}
		if !bytes.Equal(buf[:n], want6) {
			t.Errorf("NA on the wire\n got %x\nwant %x", buf[:n], want6)
		}
		break
	}
}

// RawSender keeps one socket per interface: frames as Send's, the socket
// reused by the next announcement, replaced when the interface's hardware
// address changed, and an interface gone reported as Send reports it.
func TestIntegrationRawSenderKeepsSocket(t *testing.T) {
	ifi, peer := vethInNewNetns(t)
	capture, err := packet.Listen(peer, packet.Raw, etherTypeARP, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	buf := make([]byte, 1500)
	expect := func(hw net.HardwareAddr, ip netip.Addr) {
		t.Helper()
		want, _ := Frame(hw, ip)
		capture.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			n, _, err := capture.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no GARP for %s from %s on veth1: %v", ip, hw, err)
			}
			if bytes.Equal(buf[:n], want) {
				return
			}
		}
	}
	var s RawSender
	vip1, vip2 := netip.MustParseAddr("192.168.1.84"), netip.MustParseAddr("192.168.1.85")
	if err := s.Send(ifi, vip1); err != nil {
		t.Fatal(err)
	}
	expect(ifi.HardwareAddr, vip1)
	first := cachedConnOf(ifi.Index)
	if err := s.Send(ifi, vip2); err != nil {
		t.Fatal(err)
	}
	expect(ifi.HardwareAddr, vip2)
	if c := cachedConnOf(ifi.Index); c == nil || c != first {
		t.Fatalf("second announcement on veth0 used socket %p, the first %p: want the same", c, first)
	}

	link, err := netlink.LinkByName("veth0")
	if err != nil {
		t.Fatal(err)
	}
	hw := net.HardwareAddr{0x02, 0, 0, 0, 0x77, 0x01}
	if err := netlink.LinkSetHardwareAddr(link, hw); err != nil {
		t.Fatal(err)
	}
	ifi2, err := net.InterfaceByName("veth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ifi2, vip1); err != nil {
		t.Fatal(err)
	}
	expect(hw, vip1)
	if c := cachedConnOf(ifi.Index); c == first {
		t.Error("socket of the old hardware address kept after the change")
	}

	if err := netlink.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	got, want := s.Send(ifi2, vip2), Send(ifi2, vip2)
	if got == nil || want == nil || got.Error() != want.Error() {
		t.Errorf("send on a deleted interface: RawSender %v, Send %v: want the same error", got, want)
	}
}

func cachedConnOf(index int) *Conn {
	sockets.Lock()
	defer sockets.Unlock()
	return sockets.m[index]
}
