package balance

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
)

// HashKind is what a hash policy hashes.
type HashKind int

const (
	KeySource HashKind = iota // balance source: the client's address
	KeyURI                    // balance uri
	KeyParam                  // balance url_param
	KeyHeader                 // balance hdr(NAME)
	KeyRandom                 // balance random: a random number (always on the ring)
	KeySample                 // balance hash EXPR, rdp-cookie: Key.Sample
)

// HashConfig is a hash-based `balance` line with its `hash-type` and
// `hash-balance-factor`.
type HashConfig struct {
	Kind HashKind
	// Consistent is `hash-type consistent`: servers sit on a ring of
	// points and a key goes to the nearest one, so that a server going
	// away moves only its own keys. Otherwise `map-based`.
	Consistent bool
	Func       HashFunc
	Avalanche  bool // the avalanche modifier (FullHash over the result)

	// balance uri
	URIWhole, URIPathOnly bool
	URILen, URIDepth      int // 0 = no limit
	// balance url_param
	Param string
	// balance hdr(NAME)
	Header     string
	DomainOnly bool // use_domain_only
	// balance random(N)
	Draws int
	// BalanceFactor is `hash-balance-factor` (0 or above 100): consistent
	// hashing with bounded loads.
	BalanceFactor int
}

// Member is one server of a backend as configured: hash policies place
// servers by their id (haproxy's puid) and map-based ones scale weights by
// the greatest common divisor of every configured weight.
type Member struct {
	Server Server
	ID     int
	Weight int // the configured weight
}

// Hash is a hash-based policy: source, uri, url_param, hdr() over a map
// or a consistent-hashing ring, and random over the ring. It reproduces
// haproxy 2.6's picks (backend.c, lb_map.c, lb_chash.c) so that a key
// lands on the same server whichever of the two proxies answers.
type Hash struct {
	cfg   HashConfig
	ids   map[Server]int
	gcd   int // of the configured weights; 0 = not known (NewSource)
	mu    sync.Mutex
	sig   []member
	slots []Server // map-based
	rrIdx int      // map-based round-robin position (key missing)
	ring  []point  // consistent: sorted by key
	last  int      // consistent round-robin position; -1 before the first
	cum   map[Server]int
	tot   int
	rnd   func() uint32
}

type point struct {
	key uint32
	s   Server
	w   int // the server's weight
}

// NewHash returns the policy for cfg over a backend's servers (active and
// backup, in declaration order).
func NewHash(cfg HashConfig, servers []Member) *Hash {
	h := &Hash{cfg: cfg, ids: map[Server]int{}, last: -1, rnd: rand.Uint32}
	g := 0
	for _, m := range servers {
		h.ids[m.Server] = m.ID
		g = gcd(g, m.Weight)
	}
	if g == 0 {
		g = 1
	}
	h.gcd = g
	if cfg.Kind == KeyRandom {
		h.cfg.Consistent = true
		if h.cfg.Draws < 1 {
			h.cfg.Draws = 2
		}
	}
	return h
}

// SetID places a server added at run time on the ring by its id, as
// haproxy's dynamic servers (consistent hashing and random only: the
// map-based algorithms take no server at run time).
func (h *Hash) SetID(s Server, id int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ids == nil {
		h.ids = map[Server]int{}
	}
	h.ids[s] = id
}

// DropID forgets a server deleted at run time.
func (h *Hash) DropID(s Server) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.ids, s)
}

// NewSource returns a `balance source` policy with map-based hashing over
// servers identified by their place in the pool.
func NewSource() *Hash { return &Hash{cfg: HashConfig{Kind: KeySource}, last: -1} }

// String is the config keyword.
func (h *Hash) String() string {
	switch h.cfg.Kind {
	case KeyURI:
		return "uri"
	case KeyParam:
		return "url_param"
	case KeyHeader:
		return fmt.Sprintf("hdr(%s)", h.cfg.Header)
	case KeyRandom:
		return "random"
	case KeySample:
		return "hash"
	}
	return "source"
}

// Sticky reports whether the policy keeps a key on its server (haproxy's
// hash kind): a retry does not redispatch while other servers are up.
// random is not.
func (h *Hash) Sticky() bool { return h.cfg.Kind != KeyRandom }

// Pick returns the server the key maps to.
func (h *Hash) Pick(pool []Server, key Key) Server { return h.PickAvoid(pool, key, nil) }

// PickAvoid is Pick with a server to avoid (a redispatched retry): the ring
// moves on to the next server, the map ignores it, as in haproxy.
func (h *Hash) PickAvoid(pool []Server, key Key, avoid Server) Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.refresh(pool) {
		return nil
	}
	if h.cfg.Kind == KeyRandom {
		return h.random(avoid)
	}
	v, ok := h.key(key, len(h.sig) == 1)
	if !ok {
		// haproxy falls back to round robin over the same structure.
		if h.cfg.Consistent {
			return h.nextOnRing(avoid)
		}
		return h.nextInMap(avoid)
	}
	if h.cfg.Consistent {
		return h.lookup(v, avoid)
	}
	return h.slots[v%uint32(len(h.slots))]
}

// key computes the hash of the key; false when the key is absent (haproxy
// then balances round robin). With a single server haproxy skips hashing.
func (h *Hash) key(k Key, single bool) (uint32, bool) {
	var v uint32
	switch h.cfg.Kind {
	case KeySource:
		if single {
			return 0, true
		}
		v = HashAddr(k)
	case KeySample:
		if single {
			return 0, true
		}
		if !k.SampleOK {
			return 0, false
		}
		v = h.cfg.Func.Sum(k.Sample)
	default:
		if k.Req == nil {
			return 0, false
		}
		var s string
		var ok bool
		switch h.cfg.Kind {
		case KeyURI:
			if single {
				return 0, true
			}
			s, ok = URIKey(k.Req.URI(), h.cfg.URIWhole, h.cfg.URIPathOnly, h.cfg.URILen, h.cfg.URIDepth), true
		case KeyParam:
			s, ok = ParamKey(k.Req.URI(), h.cfg.Param)
			if !ok && k.Req.Method() == "POST" {
				s, ok = PostParamKey(k.Req.Body(), h.cfg.Param)
			}
		case KeyHeader:
			var raw string
			raw, ok = k.Req.Header(h.cfg.Header)
			if ok {
				s = firstValue(raw)
				ok = s != ""
			}
			if ok && single {
				return 0, true
			}
			if ok && h.cfg.DomainOnly {
				s = domainOnly(s)
			}
		}
		if !ok {
			return 0, false
		}
		v = h.cfg.Func.Sum(s)
	}
	if h.cfg.Avalanche {
		v = FullHash(v)
	}
	return v, true
}

// refresh rebuilds the map or the ring when the set of candidates or
// their weights changed; false when there is no candidate.
func (h *Hash) refresh(pool []Server) bool {
	same := true
	n := 0
	for _, s := range pool {
		if !candidate(s) {
			continue
		}
		m := member{s, s.Weight()}
		if n >= len(h.sig) || h.sig[n] != m {
			same = false
			break
		}
		n++
	}
	if same && n == len(h.sig) {
		return n > 0
	}
	h.sig = h.sig[:0]
	for _, s := range pool {
		if candidate(s) {
			h.sig = append(h.sig, member{s, s.Weight()})
		}
	}
	if len(h.sig) == 0 {
		return false
	}
	if h.cfg.Consistent {
		h.buildRing(pool)
	} else {
		h.buildMap()
	}
	return true
}

func (h *Hash) id(s Server, pool []Server) int {
	if id, ok := h.ids[s]; ok {
		return id
	}
	for i, x := range pool {
		if x == s {
			return i + 1
		}
	}
	return 0
}

// buildMap lays the members out as haproxy's map-based algorithms do
// (lb_map.c): each weight divided (rounding up) by the GCD of every
// configured weight, then each slot goes to the first server, in
// declaration order, with the highest (score+total)/total, whose score
// then drops by the total.
func (h *Hash) buildMap() {
	g := h.gcd
	if g == 0 { // no configuration known: the GCD of the members
		for _, m := range h.sig {
			g = gcd(g, m.w)
		}
		if g == 0 {
			g = 1
		}
	}
	total := 0
	weights := make([]int, len(h.sig))
	for i, m := range h.sig {
		weights[i] = (m.w + g - 1) / g
		total += weights[i]
	}
	h.slots = h.slots[:0]
	score := make([]int, len(h.sig))
	for len(h.slots) < total {
		best, max := -1, 0
		for i := range h.sig {
			if total == 1 {
				best = i
				break
			}
			score[i] += weights[i]
			// Integer division truncating toward zero, as in C.
			if v := (score[i] + total) / total; best < 0 || v > max {
				best, max = i, v
			}
		}
		score[best] -= total
		h.slots = append(h.slots, h.sig[best].s)
	}
}

// scale is haproxy's BE_WEIGHT_SCALE: a server of weight w has 16*w points
// on the ring, at FullHash(id*4096 + j) (lb_chash.c, SRV_EWGHT_RANGE).
const (
	scale     = 16
	idStride  = 256 * scale
	ringSpace = 1 << 32
)

func (h *Hash) buildRing(pool []Server) {
	var last point
	hadLast := h.last >= 0 && h.last < len(h.ring)
	if hadLast {
		last = h.ring[h.last]
	}
	h.ring = h.ring[:0]
	h.cum = map[Server]int{}
	h.tot = 0
	for _, m := range h.sig {
		id := h.id(m.s, pool)
		h.cum[m.s] = h.tot
		h.tot += m.w * scale
		for j := 0; j < m.w*scale; j++ {
			h.ring = append(h.ring, point{FullHash(uint32(id*idStride + j)), m.s, m.w})
		}
	}
	// Equal keys (rare) keep the order they were added in.
	sort.SliceStable(h.ring, func(i, j int) bool { return h.ring[i].key < h.ring[j].key })
	// The round-robin cursor stays on its point; when that point left
	// the ring, haproxy moves it to the next point that remains.
	h.last = -1
	if !hadLast {
		return
	}
	i := sort.Search(len(h.ring), func(i int) bool { return h.ring[i].key >= last.key })
	for j := i; j < len(h.ring) && h.ring[j].key == last.key; j++ {
		if h.ring[j].s == last.s {
			h.last = j
			return
		}
	}
	for i < len(h.ring) && h.ring[i].key == last.key {
		i++
	}
	if i == len(h.ring) {
		i = 0
	}
	h.last = i
}

// lookup is chash_get_server_hash: the point nearest to v (the lower one
// on a tie), then onwards while the server is the one to avoid or, with a
// balance factor, over its share of the load.
func (h *Hash) lookup(v uint32, avoid Server) Server {
	n := len(h.ring)
	next := sort.Search(n, func(i int) bool { return h.ring[i].key >= v })
	if next == n {
		next = 0
	}
	prev := next - 1
	if prev < 0 {
		prev = n - 1
	}
	i := next
	if v-h.ring[prev].key <= h.ring[next].key-v {
		i = prev
	}
	loop := 0
	for h.ring[i].s == avoid || (h.cfg.BalanceFactor > 0 && !h.eligible(h.ring[i].s, h.ring[i].w)) {
		i++
		if i == n {
			i = 0
			loop++
			if loop > 1 {
				break
			}
		}
	}
	return h.ring[i].s
}

// eligible is the bounded-load test of chash_server_is_eligible: the
// backend's outstanding requests plus this one, times the factor, shared
// between servers by weight; a server is eligible below its share.
func (h *Hash) eligible(s Server, w int) bool {
	served := 0
	for _, m := range h.sig {
		served += m.s.Conns()
	}
	tot := uint(h.tot)
	slots := (uint(served+1)*uint(h.cfg.BalanceFactor) + 99) / 100
	per, rem := slots/tot, slots%tot
	ew, cum := uint(w*scale), uint(h.cum[s])
	n := ew * per
	n += (cum+ew)*rem/tot - cum*rem/tot
	if n == 0 {
		n = 1
	}
	return uint(s.Conns()) < n
}

// nextOnRing is chash_get_next_server: round robin along the ring,
// skipping full servers and, unless it is the only choice, avoid.
func (h *Hash) nextOnRing(avoid Server) Server {
	n := len(h.ring)
	stop := h.last
	i := h.last
	avoided, avoidedAt := Server(nil), -1
	for {
		i++
		if i >= n {
			i = 0
		}
		if stop < 0 {
			stop = i
		}
		h.last = i
		s := h.ring[i].s
		if !s.Full() {
			if s != avoid {
				return s
			}
			avoided, avoidedAt = s, i
		}
		if i == stop {
			break
		}
	}
	if avoided != nil {
		h.last = avoidedAt
	}
	return avoided
}

// nextInMap is map_get_server_rr: round robin along the map's slots,
// skipping full servers and, unless it is the only choice, avoid.
func (h *Hash) nextInMap(avoid Server) Server {
	n := len(h.slots)
	if h.rrIdx < 0 || h.rrIdx >= n {
		h.rrIdx = 0
	}
	i := h.rrIdx
	var avoided Server
	avoidedAt := 0
	for {
		s := h.slots[i]
		i++
		if !s.Full() {
			avoided, avoidedAt = s, i
			if s != avoid {
				h.rrIdx = i
				return s
			}
		}
		if i == n {
			i = 0
		}
		if i == h.rrIdx {
			break
		}
	}
	if avoided != nil {
		h.rrIdx = avoidedAt
	}
	return avoided
}

// random is get_server_rnd: draws random points on the ring and keeps the
// server with the fewest connections relative to its weight; a full
// server means the backend queue.
func (h *Hash) random(avoid Server) Server {
	var cur Server
	curW := 0
	for d := 0; d < h.cfg.Draws; d++ {
		prev, prevW := cur, curW
		cur = h.lookup(h.rnd(), avoid)
		for _, m := range h.sig {
			if m.s == cur {
				curW = m.w
			}
		}
		if prev != nil && prev != cur && cur.Conns()*prevW > prev.Conns()*curW {
			cur, curW = prev, prevW
		}
	}
	if cur != nil && cur.Full() {
		return nil
	}
	return cur
}

// ringFor builds the ring for pool and returns it (tests).
func (h *Hash) ringFor(pool []Server) []point {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refresh(pool)
	return h.ring
}
