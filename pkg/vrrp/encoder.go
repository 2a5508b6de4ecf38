package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrSeqCycled means the AH sequence counter has passed 0xFFFFFFFD: keepalived
// stops advertising (and becomes BACKUP) until it receives an advert.
var ErrSeqCycled = errors.New("vrrp: AH sequence number exhausted")

// Encoder builds the datagrams of one VRRP instance as keepalived 2.2.7
// sends them, ready for Conn.Send: over IPv4 the whole datagram (IP header
// with keepalived's ID counter, AH when configured), over IPv6 the VRRP
// message alone (the kernel adds the header and fixes the checksum).
//
// An Encoder is not safe for concurrent use.
type Encoder struct {
	// Src is the source address: the interface's primary address or
	// unicast_src_ip.
	Src netip.Addr
	// TTL is the IPv4 TTL written into the header: 255, or unicast_ttl.
	// Zero means 255. (Over IPv6 the Conn sets the hop limit.)
	TTL uint8
	// Unicast is set for instances with unicast peers: the AH ICV is then
	// computed with the TTL zeroed.
	Unicast bool
	// Key is the PASS password or the AH key (NewKey(auth_pass)).
	Key Key
	// Seq is the AH sequence state, shared with Check. Required for AH.
	Seq *SeqCounter

	id uint16
}

// Encode returns one datagram per destination (the multicast group, or each
// unicast peer) for advertisement a. As keepalived does, every destination
// of one call gets the same IP ID and AH sequence number, each incremented
// once per call; the ID skips 0 because the kernel would replace it.
func (e *Encoder) Encode(a *Advertisement, dsts ...netip.Addr) ([][]byte, error) {
	return e.encodeInto(nil, a, dsts)
}

// encodeInto is Encode writing the datagrams over out's buffers (grown as
// needed) instead of new ones: a Sender reuses them from one advert to the
// next, so an advert costs no allocation.
func (e *Encoder) encodeInto(out [][]byte, a *Advertisement, dsts []netip.Addr) ([][]byte, error) {
	if len(dsts) == 0 {
		return nil, fmt.Errorf("vrrp: encode VRID %d: no destination", a.VRID)
	}
	out = out[:0]
	if !e.Src.Is4() {
		for i, dst := range dsts {
			b, err := a.appendMarshal(bufAt(out, i), e.Src, dst)
			if err != nil {
				return nil, fmt.Errorf("vrrp: encode VRID %d to %v: %w", a.VRID, dst, err)
			}
			out = append(out, b)
		}
		return out, nil
	}
	e.id++
	if e.id == 0 {
		e.id++
	}
	d := IPv4Datagram{TOS: TOS, ID: e.id, TTL: e.TTL, Src: e.Src, Advert: *a}
	if d.TTL == 0 {
		d.TTL = TTL
	}
	if a.Version == 2 && a.AuthType == AuthAH {
		if e.Seq == nil {
			e.Seq = new(SeqCounter)
		}
		seq, ok := e.Seq.Next()
		if !ok {
			return nil, fmt.Errorf("vrrp: encode VRID %d: %w", a.VRID, ErrSeqCycled)
		}
		d.Seq = seq
		d.SPI = SPIFor(e.Src)
	}
	for i, dst := range dsts {
		d.Dst = dst
		b, err := d.appendMarshal(bufAt(out, i), e.Key, e.Unicast)
		if err != nil {
			return nil, fmt.Errorf("vrrp: encode VRID %d to %v: %w", a.VRID, dst, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// bufAt returns the emptied buffer i of out's backing array, nil past it.
func bufAt(out [][]byte, i int) []byte {
	if i < cap(out) {
		return out[:cap(out)][i][:0]
	}
	return nil
}

// LastID returns the IP ID of the last datagram built (0 before the first).
func (e *Encoder) LastID() uint16 { return e.id }
