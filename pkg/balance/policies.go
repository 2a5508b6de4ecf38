package balance

import (
	"sync"
)

// RoundRobin is `balance roundrobin`: weighted, smooth (a server of weight 3
// among weights 1:2:3 gets every second pick rather than three in a row) and
// dynamic: weight changes take effect on the next pick.
type RoundRobin struct {
	mu     sync.Mutex
	credit map[Server]int
	static map[Server]int // for static-rr: the weight first seen per server
}

// NewRoundRobin returns a `balance roundrobin` policy.
func NewRoundRobin() *RoundRobin { return &RoundRobin{credit: map[Server]int{}} }

// String is the config keyword.
func (r *RoundRobin) String() string {
	if r.static != nil {
		return "static-rr"
	}
	return "roundrobin"
}

// Pick gives every candidate its weight in credit and takes the one with
// the most credit, which then pays back the total: the smooth weighted
// round-robin used by nginx, equivalent in distribution to haproxy's fwrr.
func (r *RoundRobin) Pick(pool []Server, _ Key) Server {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best Server
	bestCredit, total := 0, 0
	for _, s := range pool {
		if !candidate(s) || s.Full() {
			continue
		}
		w := eweight(s)
		if r.static != nil {
			sw, ok := r.static[s]
			if !ok {
				sw = w
				r.static[s] = w
			}
			w = sw
		}
		c := r.credit[s] + w
		r.credit[s] = c
		total += w
		if best == nil || c > bestCredit {
			best, bestCredit = s, c
		}
	}
	if best != nil {
		r.credit[best] -= total
	}
	return best
}

// NewStaticRR returns a `balance static-rr` policy: round-robin with the
// weights each server had when first seen. As in haproxy, changing a weight
// at run time has no effect except that weight 0 stops the server.
func NewStaticRR() *RoundRobin {
	return &RoundRobin{credit: map[Server]int{}, static: map[Server]int{}}
}

// LeastConn is `balance leastconn`: the server with the fewest connections
// relative to its weight; servers that tie are taken in turn.
type LeastConn struct {
	mu   sync.Mutex
	next int
}

// NewLeastConn returns a `balance leastconn` policy.
func NewLeastConn() *LeastConn { return &LeastConn{} }

// String is the config keyword.
func (l *LeastConn) String() string { return "leastconn" }

// Pick compares (conns+1)/weight, as haproxy's fwlc tree key does, by
// cross-multiplication; the scan starts after the last pick so that ties
// rotate.
func (l *LeastConn) Pick(pool []Server, _ Key) Server {
	n := len(pool)
	if n == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.next % n
	var best Server
	bestIdx, bestC, bestW := -1, 0, 1
	for i := 0; i < n; i++ {
		idx := (start + i) % n
		s := pool[idx]
		if !candidate(s) || s.Full() {
			continue
		}
		c, w := s.Conns()+1, eweight(s)
		if best == nil || c*bestW < bestC*w {
			best, bestIdx, bestC, bestW = s, idx, c, w
		}
	}
	if best != nil {
		l.next = bestIdx + 1
	}
	return best
}

// First is `balance first`: the first server, in id order (the pool's
// order), that has a free connection slot. A server without maxconn is
// never full, so it takes everything.
type First struct{}

// NewFirst returns a `balance first` policy.
func NewFirst() First { return First{} }

// String is the config keyword.
func (First) String() string { return "first" }

// Pick returns the first candidate that is not full.
func (First) Pick(pool []Server, _ Key) Server {
	for _, s := range pool {
		if candidate(s) && !s.Full() {
			return s
		}
	}
	return nil
}
