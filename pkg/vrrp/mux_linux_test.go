package vrrp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// fdCount is how many descriptors the test process holds.
func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestIntegrationMux: two instances (VRIDs 51 and 52) on one Mux share one
// receive and one send socket per family and protocol, and each gets only
// its own VRID's adverts, over IPv4 (none and AH) and IPv6; the sockets
// close with their last user.
func TestIntegrationMux(t *testing.T) {
	l := newLab(t)
	key := NewKey("supersecret")
	for _, tc := range []struct {
		name     string
		auth     AuthType
		version  int
		src, dst netip.Addr
	}{
		{"v2 IPv4", AuthNone, 2, labA, labB},
		{"v2 IPv4 AH", AuthAH, 2, labA, labB},
		{"v3 IPv6", AuthNone, 3, labA6, labB6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ah := tc.auth == AuthAH
			sm, rm := NewMux(), NewMux()
			vips := []netip.Addr{labVIP}
			group := GroupIPv4
			if tc.src.Is6() {
				vips, group = []netip.Addr{netip.MustParseAddr("2001:db8::84")}, GroupIPv6
			}
			before := fdCount(t)
			conns := map[uint8][2]*MuxConn{}
			for _, vrid := range []uint8{51, 52} {
				var s, r *MuxConn
				if err := inNS(l.a, func() (err error) {
					s, err = sm.Listen(Config{IfIndex: l.ifA, Src: tc.src, AH: ah, VRID: vrid})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if err := inNS(l.b, func() (err error) {
					r, err = rm.Listen(Config{IfIndex: l.ifB, Src: tc.dst, AH: ah, VRID: vrid})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				conns[vrid] = [2]*MuxConn{s, r}
			}
			// Two senders and two receivers, one socket each per Mux.
			if got := fdCount(t) - before; got != 4 {
				t.Errorf("two instances on each side opened %d descriptors, want 4 (a send and a receive socket per Mux)", got)
			}
			// VRID 51 is read with Receive, VRID 52 delivered.
			got52 := make(chan Received, 64)
			conns[52][1].Deliver(func(r Received) { got52 <- r })
			seqs := map[uint8]*SeqCounter{51: new(SeqCounter), 52: new(SeqCounter)}
			send := func(vrid uint8, prio uint8) {
				a := Advertisement{Version: tc.version, Type: 1, VRID: vrid, Priority: prio, AuthType: tc.auth, AdvertInt: time.Second, Addresses: vips}
				enc := &Encoder{Src: tc.src, Key: key, Seq: seqs[vrid]}
				out, err := enc.Encode(&a, group)
				if err != nil {
					t.Fatal(err)
				}
				if err := conns[vrid][0].Send(out[0], group); err != nil {
					t.Fatal(err)
				}
			}
			expect := func(vrid uint8) Expect {
				return Expect{VRID: vrid, Version: tc.version, AuthType: tc.auth, Key: key, Seq: new(SeqCounter), AdvertInt: time.Second, VIPs: vips}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// Retry until the first arrives (the link may still be coming up).
			var first Received
			for i := 0; ; i++ {
				send(51, 100)
				c, cc := context.WithTimeout(ctx, 200*time.Millisecond)
				r, err := conns[51][1].Receive(c)
				cc()
				if err == nil {
					first = r
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("no VRID 51 advert received: %v", err)
				}
			}
			if m, err := Check(first, expect(51)); err != nil || m.Priority != 100 {
				t.Fatalf("VRID 51 got %+v, %v", m, err)
			}
			send(52, 120)
			select {
			case r := <-got52:
				if m, err := Check(r, expect(52)); err != nil || m.Priority != 120 {
					t.Fatalf("VRID 52 got %+v, %v", m, err)
				}
			case <-ctx.Done():
				t.Fatal("no VRID 52 advert delivered")
			}
			// Another 52 and then a 51: the 51 instance sees only the 51.
			send(52, 121)
			send(51, 101)
			r, err := conns[51][1].Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := Check(r, expect(51)); err != nil || m.Priority != 101 {
				t.Fatalf("VRID 51 instance got %+v, %v: another VRID's advert reached it", m, err)
			}
			select {
			case r := <-got52:
				if m, err := Check(r, expect(52)); err != nil || m.Priority != 121 {
					t.Fatalf("VRID 52 got %+v, %v", m, err)
				}
			case <-ctx.Done():
				t.Fatal("second VRID 52 advert not delivered")
			}
			select {
			case r := <-got52:
				t.Fatalf("VRID 52 instance also got %x", r.Packet)
			case <-time.After(100 * time.Millisecond):
			}
			// Closing one instance leaves the other its sockets; the last
			// close releases them, and a closed Conn's Receive ends.
			conns[51][1].Close()
			if _, err := conns[51][1].Receive(ctx); err == nil {
				t.Error("Receive on a closed MuxConn returned a datagram")
			}
			send(52, 122)
			select {
			case <-got52:
			case <-ctx.Done():
				t.Fatal("VRID 52 stopped receiving when VRID 51 closed")
			}
			for _, c := range conns {
				c[0].Close()
				c[1].Close()
			}
			if got := fdCount(t); got != before {
				t.Errorf("after closing every instance the process holds %d descriptors, had %d", got, before)
			}
		})
	}
}

// TestIntegrationMuxSendClosed: a send racing the close of its socket's
// last user fails as a send on a closed socket does, and does not write on
// the descriptor number, which the next socket opened may reuse.
func TestIntegrationMuxSendClosed(t *testing.T) {
	l := newLab(t)
	m := NewMux()
	var c *MuxConn
	if err := inNS(l.a, func() (err error) {
		c, err = m.Listen(Config{IfIndex: l.ifA, Src: labA, VRID: 51})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s := c.send
	a := Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 100, AdvertInt: time.Second, Addresses: []netip.Addr{labVIP}}
	out, err := (&Encoder{Src: labA}).Encode(&a, GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.send4(out[0], GroupIPv4); err != nil {
		t.Fatalf("send on the open socket: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Raw sockets, on which a send would succeed, until one has the
	// closed socket's number.
	reused := false
	for i := 0; i < 8 && !reused; i++ {
		var fd int
		if err := inNS(l.a, func() (err error) {
			fd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, ProtocolVRRP)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		reused = fd == s.fd
	}
	if !reused {
		t.Fatalf("descriptor %d not reused", s.fd)
	}
	// To the peer: a destination the new socket can reach.
	if err := s.send4(out[0], labB); !errors.Is(err, net.ErrClosed) {
		t.Errorf("send after close: %v, want net.ErrClosed", err)
	}
	if err := c.Send(out[0], labB); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close: %v, want net.ErrClosed", err)
	}
}
