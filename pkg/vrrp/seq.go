package vrrp

import "sync"

// maxSeq is the last sequence number keepalived sends; past it the counter
// has "cycled" and keepalived stops sending (vrrp.c, vrrp_update_pkt).
const maxSeq = 0xFFFFFFFD

// SeqCounter is keepalived 2.2.7's AH sequence-number state for one VRRP
// instance: a single counter shared by sending and receiving, 0 at start.
//
//   - Receiving (Accept, called by Check after the ICV and SPI verify): a
//     number is accepted only if it is greater than the counter, which then
//     takes its value; anything else is a replay and the advert is dropped.
//   - Sending (Next): the counter is incremented and sent.
//   - A master that receives a lower-priority advert (Sync) sets the counter
//     to the received number + 1, so its next advert carries received + 2
//     and the peer, whose counter followed its own sends, accepts it.
//
// The consequence, which keepalived accepts: after a restart a node's low
// numbers are dropped by its peers until it has learnt theirs by receiving,
// which is why keepalived refuses "state MASTER" below priority 255 with AH.
//
// The zero value is ready. It is safe for concurrent use, since the receive
// path (Check) and the send path (Encoder, Sender) usually run in different
// goroutines. Share it by pointer; never copy it.
type SeqCounter struct {
	mu sync.Mutex
	n  uint32
}

// Value returns the counter: the last number sent or accepted.
func (c *SeqCounter) Value() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Next returns the sequence number for the next advert. ok is false once
// the counter has passed 0xFFFFFFFD; keepalived then stops advertising and
// becomes BACKUP until a received advert resets it.
func (c *SeqCounter) Next() (seq uint32, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n > maxSeq {
		return c.n, false
	}
	c.n++
	return c.n, true
}

// Accept applies the replay check to a received, authenticated sequence
// number: it reports whether seq is greater than the counter and, if so,
// stores it.
func (c *SeqCounter) Accept(seq uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq <= c.n {
		return false
	}
	c.n = seq
	return true
}

// Sync is what a master does on a lower-priority advert with sequence
// number seq ("IPSEC-AH : Syncing seq_num - Increment seq"): counter =
// seq + 1.
func (c *SeqCounter) Sync(seq uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = seq + 1
}

// Reset sets the counter back to 0, as at start.
func (c *SeqCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = 0
}
