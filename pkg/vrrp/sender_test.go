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

// discardConn records the datagrams sent without keeping the caller's
// buffers.
type discardConn struct{ sent [][]byte }

func (c *discardConn) Send(b []byte, dst netip.Addr) error {
	c.sent = append(c.sent[:0], append([]byte(nil), b...))
	return nil
}
func (c *discardConn) Receive(ctx context.Context) (vrrp.Received, error) {
	<-ctx.Done()
	return vrrp.Received{}, ctx.Err()
}
func (c *discardConn) Close() error { return nil }

// TestSenderReusesBuffers: a master sends an advert per interval for as
// long as it runs; once the first one has sized the buffers, the next ones
// allocate nothing (with 1,000 instances, the per-advert garbage kept the
// VRRP process's heap at twice its live size), and each datagram is still
// the one Encode builds.
func TestSenderReusesBuffers(t *testing.T) {
	src := netip.MustParseAddr("10.0.0.1")
	group := netip.MustParseAddr("224.0.0.18")
	vips := []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")}
	for _, auth := range []vrrp.AuthType{vrrp.AuthNone, vrrp.AuthPass} {
		conn := &discardConn{}
		key := vrrp.NewKey("secret")
		s := &vrrp.Sender{
			Conn:   conn,
			Enc:    &vrrp.Encoder{Src: src, Key: key},
			Advert: vrrp.Advertisement{Version: 2, Type: 1, VRID: 7, AuthType: auth, AdvertInt: time.Second, Addresses: vips},
			Dsts:   []netip.Addr{group},
		}
		ref := &vrrp.Encoder{Src: src, Key: key}
		for prio := uint8(100); prio < 103; prio++ {
			if err := s.SendAdvert(prio); err != nil {
				t.Fatal(err)
			}
			a := s.Advert
			a.Priority = prio
			want, err := ref.Encode(&a, group)
			if err != nil {
				t.Fatal(err)
			}
			if string(conn.sent[0]) != string(want[0]) {
				t.Fatalf("auth %v prio %d: sent\n%x\nEncode builds\n%x", auth, prio, conn.sent[0], want[0])
			}
		}
		quiet := &vrrp.Sender{Conn: &noopConn{}, Enc: &vrrp.Encoder{Src: src, Key: key}, Advert: s.Advert, Dsts: s.Dsts}
		quiet.SendAdvert(100)
		if n := testing.AllocsPerRun(100, func() { quiet.SendAdvert(100) }); n != 0 {
			t.Errorf("auth %v: %v allocations per advert, want 0", auth, n)
		}
	}
}

type noopConn struct{ discardConn }

func (*noopConn) Send(b []byte, dst netip.Addr) error { return nil }
