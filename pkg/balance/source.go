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

// rebuild lays the members out as haproxy's map-based algorithms do
// (lb_map.c recalc_server_map): weights reduced by their greatest common
// divisor, then each slot goes to the first server, in declaration order,
// with the highest (score+total)/total, whose score then drops by the total.
// The same layout as haproxy is what keeps a client on the same backend
// when haproxy and gproxy share a VIP (a mixed pair during a migration).
func (p *Source) rebuild() {
	p.sig = append(p.sig[:0], p.scratch...)
	g := 0
	for _, m := range p.sig {
		g = gcd(g, m.w)
	}
	if g == 0 {
		g = 1
	}
	total := 0
	weights := make([]int, len(p.sig))
	for i, m := range p.sig {
		weights[i] = m.w / g
		total += weights[i]
	}
	p.slots = make([]Server, 0, total)
	score := make([]int, len(p.sig))
	for len(p.slots) < total {
		best, max := -1, 0
		for i := range p.sig {
			if weights[i] == 0 {
				continue
			}
			score[i] += weights[i]
			// Integer division truncating toward zero, as in C.
			if v := (score[i] + total) / total; best < 0 || v > max {
				best, max = i, v
			}
		}
		score[best] -= total
		p.slots = append(p.slots, p.sig[best].s)
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// HashAddr is haproxy's source hash (backend.c get_server_sh with the
// default map-based hash-type): the address folded into 32 bits, IPv4 as a
// big-endian number, IPv6 as the XOR of its four big-endian words. haproxy
// mixes the bits further only with `hash-type consistent` or `avalanche`,
// which gproxy does not implement.
func HashAddr(key Key) uint32 {
	if key.Client.Is4() {
		b := key.Client.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	var h uint32
	b := key.Client.As16()
	for i := 0; i < 16; i += 4 {
		h ^= uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
	}
	return h
}
