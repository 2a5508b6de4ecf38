package vrrp_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"hapair/pkg/vrrp"
	"hapair/pkg/vrrp/vrrptest"
)

// TestSenderUnicastAH: two peers on a fake link; the Sender sends one
// round to both with one IP ID and sequence number; SyncAHSeq moves the
// counter as keepalived's master does.
func TestSenderUnicastAH(t *testing.T) {
	link := vrrptest.NewLink()
	lb1 := netip.MustParseAddr("192.168.1.80")
	peers := []netip.Addr{netip.MustParseAddr("192.168.1.81"), netip.MustParseAddr("192.168.1.82")}
	vip := netip.MustParseAddr("192.168.1.84")
	c1, _ := link.Listen(vrrp.Config{Src: lb1, Unicast: true, AH: true})
	var rx []*vrrptest.Conn
	for _, p := range peers {
		c, _ := link.Listen(vrrp.Config{Src: p, Unicast: true, AH: true})
		rx = append(rx, c)
	}
	key := vrrp.NewKey("supersecret")
	seq := new(vrrp.SeqCounter)
	s := &vrrp.Sender{
		Conn:   c1,
		Enc:    &vrrp.Encoder{Src: lb1, Key: key, Unicast: true, Seq: seq},
		Advert: vrrp.Advertisement{Version: 2, Type: 1, VRID: 51, AuthType: vrrp.AuthAH, AdvertInt: time.Second, Addresses: []netip.Addr{vip}},
		Dsts:   peers,
	}
	if err := s.SendAdvert(120); err != nil {
		t.Fatal(err)
	}
	s.SyncAHSeq(41)
	if err := s.SendAdvert(0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, c := range rx {
		e := vrrp.Expect{VRID: 51, Version: 2, AuthType: vrrp.AuthAH, Key: key, Seq: new(vrrp.SeqCounter),
			AdvertInt: time.Second, Unicast: true, VIPs: []netip.Addr{vip}}
		for round, want := range []struct {
			prio uint8
			seq  uint32
			id   uint16
		}{{120, 1, 1}, {0, 43, 2}} {
			r, err := c.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m, err := vrrp.Check(r, e)
			if err != nil {
				t.Fatalf("peer %d round %d: %v", i, round, err)
			}
			d, _ := vrrp.ParseIPv4(r.Packet)
			if m.Priority != want.prio || m.Seq != want.seq || d.ID != want.id || m.Dst != peers[i] {
				t.Errorf("peer %d round %d: prio %d seq %d id %d dst %v, want %+v", i, round, m.Priority, m.Seq, d.ID, m.Dst, want)
			}
		}
	}
}
