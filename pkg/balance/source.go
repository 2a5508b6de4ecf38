package balance

import (
	"sync"
)

// Source is `balance source` with haproxy's default `hash-type map-based`:
// the candidate servers are laid out in a map where each appears as many
// times as its weight (interleaved smoothly), and a client goes to the slot
// hash(address) modulo the total weight. A client therefore stays on the
// same server while the set of usable servers and their weights is
// unchanged; when it changes, most clients move (that is the documented
// trade-off of map-based hashing, against `hash-type consistent`).
//
// Full servers stay in the map: a client hashed to a full server waits in
// that server's queue rather than going elsewhere.
type Source struct {
	mu      sync.Mutex
	sig     []member // the candidates the map was built from
	slots   []Server
	scratch []member
}

type member struct {
	s Server
	w int
}

// NewSource returns a `balance source` policy.
func NewSource() *Source { return &Source{} }

// String is the config keyword.
func (*Source) String() string { return "source" }

// Pick returns the server the client's address maps to.
func (p *Source) Pick(pool []Server, key Key) Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scratch = p.scratch[:0]
	for _, s := range pool {
		if candidate(s) {
			p.scratch = append(p.scratch, member{s, s.Weight()})
		}
	}
	switch len(p.scratch) {
	case 0:
		return nil
	case 1:
		return p.scratch[0].s
	}
	if !sameMembers(p.sig, p.scratch) {
		p.rebuild()
	}
	return p.slots[HashAddr(key)%uint32(len(p.slots))]
}

func sameMembers(a, b []member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// rebuild lays the members out in smooth weighted order, so that
// consecutive hash values spread over servers as round-robin would.
func (p *Source) rebuild() {
	p.sig = append(p.sig[:0], p.scratch...)
	total := 0
	for _, m := range p.sig {
		total += m.w
	}
	p.slots = make([]Server, 0, total)
	credit := make([]int, len(p.sig))
	for len(p.slots) < total {
		best := -1
		for i, m := range p.sig {
			credit[i] += m.w
			if best < 0 || credit[i] > credit[best] {
				best = i
			}
		}
		credit[best] -= total
		p.slots = append(p.slots, p.sig[best].s)
	}
}

// HashAddr hashes a client address the way haproxy's source hashing does in
// spirit: the address is folded into 32 bits (IPv4 as is, IPv6 by XOR of its
// four words) and then mixed so that neighbouring addresses spread.
func HashAddr(key Key) uint32 {
	var h uint32
	if key.Client.Is4() {
		b := key.Client.As4()
		h = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	} else {
		b := key.Client.As16()
		for i := 0; i < 16; i += 4 {
			h ^= uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
		}
	}
	// A 32-bit avalanche finaliser (MurmurHash3's fmix32).
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
