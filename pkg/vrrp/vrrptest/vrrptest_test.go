package vrrptest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"hapair/pkg/vrrp"
)

var (
	lb1 = netip.MustParseAddr("192.168.1.80")
	lb2 = netip.MustParseAddr("192.168.1.81")
	lb3 = netip.MustParseAddr("192.168.1.82")
	vip = netip.MustParseAddr("192.168.1.84")
)

func receive(t *testing.T, c *Conn) (vrrp.Received, bool) {
	t.Helper()
	// Already-cancelled context: return what is queued, never wait.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	select {
	case r := <-c.q:
		return r, true
	default:
	}
	if _, err := c.Receive(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive on empty queue: %v", err)
	}
	return vrrp.Received{}, false
}

func TestLinkMulticastAH(t *testing.T) {
	link := NewLink()
	c1, _ := link.Listen(vrrp.Config{Src: lb1, AH: true})
	c2, _ := link.Listen(vrrp.Config{Src: lb2, AH: true})
	c3, _ := link.Listen(vrrp.Config{Src: lb3}) // protocol 112: must not see AH
	enc := &vrrp.Encoder{Src: lb1, Key: vrrp.NewKey("supersec"), Seq: new(vrrp.SeqCounter)}
	a := vrrp.Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 103, AuthType: vrrp.AuthAH, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}
	out, err := enc.Encode(&a, vrrp.GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Send(out[0], vrrp.GroupIPv4); err != nil {
		t.Fatal(err)
	}
	r, ok := receive(t, c2)
	if !ok {
		t.Fatal("lb2 received nothing")
	}
	m, err := vrrp.Check(r, vrrp.Expect{VRID: 51, Version: 2, AuthType: vrrp.AuthAH, Key: vrrp.NewKey("supersec"), Seq: new(vrrp.SeqCounter), AdvertInt: time.Second, VIPs: []netip.Addr{vip}})
	if err != nil || m.Src != lb1 || m.Priority != 103 || m.Seq != 1 {
		t.Fatalf("Check: %+v, %v", m, err)
	}
	if _, ok := receive(t, c1); ok {
		t.Error("sender heard itself (multicast loop must be off)")
	}
	if _, ok := receive(t, c3); ok {
		t.Error("a protocol-112 conn received an AH datagram")
	}
	if f := link.Frames(); len(f) != 1 || f[0].Src != lb1 || f[0].Dst != vrrp.GroupIPv4 {
		t.Errorf("frames %+v", f)
	}
}

func TestLinkUnicastAndDown(t *testing.T) {
	link := NewLink()
	c1, _ := link.Listen(vrrp.Config{Src: lb1, Unicast: true})
	c2, _ := link.Listen(vrrp.Config{Src: lb2, Unicast: true})
	c3, _ := link.Listen(vrrp.Config{Src: lb3, Unicast: true})
	cm, _ := link.Listen(vrrp.Config{Src: netip.MustParseAddr("192.168.1.83")}) // multicast mode
	enc := &vrrp.Encoder{Src: lb1}
	a := vrrp.Advertisement{Version: 3, Type: 1, VRID: 51, Priority: 100, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}
	out, err := enc.Encode(&a, lb2)
	if err != nil {
		t.Fatal(err)
	}
	c1.Send(out[0], lb2)
	r, ok := receive(t, c2)
	if !ok {
		t.Fatal("peer received nothing")
	}
	if _, err := vrrp.Check(r, vrrp.Expect{VRID: 51, Version: 3, Unicast: true, AdvertInt: time.Second, VIPs: []netip.Addr{vip}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Conn{c3, cm} {
		if _, ok := receive(t, c); ok {
			t.Errorf("%v received a unicast advert for %v", c.cfg.Src, lb2)
		}
	}
	c2.SetDown(true)
	c1.Send(out[0], lb2)
	if _, ok := receive(t, c2); ok {
		t.Error("a down conn received")
	}
	c2.SetDown(false)
	c2.Close()
	if err := c2.Send(out[0], lb1); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if _, err := c2.Receive(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Receive after Close: %v", err)
	}
}

func TestLinkIPv6(t *testing.T) {
	link := NewLink()
	s1, s2 := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
	c1, _ := link.Listen(vrrp.Config{Src: s1})
	c2, _ := link.Listen(vrrp.Config{Src: s2})
	v6 := netip.MustParseAddr("2001:db8::84")
	enc := &vrrp.Encoder{Src: s1}
	a := vrrp.Advertisement{Version: 3, Type: 1, VRID: 7, Priority: 200, AdvertInt: 50 * time.Millisecond, Addresses: []netip.Addr{v6}}
	out, err := enc.Encode(&a, vrrp.GroupIPv6)
	if err != nil {
		t.Fatal(err)
	}
	c1.Send(out[0], vrrp.GroupIPv6)
	r, ok := receive(t, c2)
	if !ok || r.HopLimit != 255 || r.Src != s1 || r.Dst != vrrp.GroupIPv6 {
		t.Fatalf("received %+v %v", r, ok)
	}
	m, err := vrrp.Check(r, vrrp.Expect{VRID: 7, Version: 3, AdvertInt: time.Second, VIPs: []netip.Addr{v6}})
	if err != nil || m.AdvertInt != 50*time.Millisecond {
		t.Fatalf("Check: %+v %v", m, err)
	}
}
