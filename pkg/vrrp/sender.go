package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// Sender sends one instance's advertisements on a Conn: the
// SendAdvert(prio) / SyncAHSeq(seq) pair a VRRP state machine needs.
// It is safe for concurrent use.
type Sender struct {
	Conn Conn
	// Enc holds the source, TTL, key and AH counter (share Enc.Seq with
	// the instance's Expect.Seq).
	Enc *Encoder
	// Advert is the template: version, VRID, auth type, interval, VIPs.
	// SendAdvert sets the priority.
	Advert Advertisement
	// Dsts are the destinations: the group, or every unicast peer.
	Dsts []netip.Addr

	mu sync.Mutex
	// bufs are the datagrams of the last advert, reused by the next:
	// Conn.Send does not keep b.
	bufs [][]byte
}

// SendAdvert sends the template with priority prio to every destination,
// one IP ID and AH sequence number for the round, as keepalived does. It
// tries every destination and joins the errors.
func (s *Sender) SendAdvert(prio uint8) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.Advert
	a.Priority = prio
	out, err := s.Enc.encodeInto(s.bufs, &a, s.Dsts)
	if err != nil {
		return err
	}
	s.bufs = out
	var errs []error
	for i, b := range out {
		if err := s.Conn.Send(b, s.Dsts[i]); err != nil {
			errs = append(errs, fmt.Errorf("vrrp: send VRID %d to %v: %w", a.VRID, s.Dsts[i], err))
		}
	}
	return errors.Join(errs...)
}

// SyncAHSeq is keepalived's reaction of a master to a lower-priority AH
// advert with sequence number received: the counter becomes received + 1
// (see SeqCounter.Sync). Without AH it does nothing.
func (s *Sender) SyncAHSeq(received uint32) {
	if s.Enc.Seq != nil {
		s.Enc.Seq.Sync(received)
	}
}
