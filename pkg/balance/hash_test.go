package balance

import (
	"net/netip"
	"testing"
)

// TestHashFunctions pins the four hash functions and the avalanche step
// to what haproxy 2.6.12 computes for the same bytes: the values were read
// from its converters (`%[path,sdbm] %[path,djb2] %[path,wt6]
// %[path,crc32]` and the same with (1), the avalanche modifier).
func TestHashFunctions(t *testing.T) {
	for _, tt := range []struct {
		in                  string
		sdbm, djb2, wt6, cr uint32
		aSdbm, aDjb2, aWt6  uint32
		aCrc                uint32
	}{
		{"/", 47, 177620, 1886637733, 2043925204, 2118074832, 3725504903, 2250254464, 2724628003},
		{"/a", 3083250, 5861557, 1404582375, 1768979292, 1743195586, 3623408593, 652714202, 2112193429},
		{"/index.html", 858007926, 3776231887, 822151038, 3928116034, 4217574924, 1889807916, 2986733765, 571229468},
		{"/foo/bar/baz.php", 2904956305, 1502129918, 2900749001, 3246732467, 2916878492, 4273973727, 743535827, 2853252657},
		{"/%C3%A9t%C3%A9", 1542375685, 3345611068, 1802817806, 3524982200, 4222855295, 2495789359, 2731390763, 506899096},
		{"/0123456789abcdefghij", 3820023289, 3792658360, 708778740, 4135647705, 458934216, 1122273183, 1534046036, 4273613302},
	} {
		got := []uint32{SDBM.Sum(tt.in), DJB2.Sum(tt.in), WT6.Sum(tt.in), CRC32.Sum(tt.in),
			FullHash(SDBM.Sum(tt.in)), FullHash(DJB2.Sum(tt.in)), FullHash(WT6.Sum(tt.in)), FullHash(CRC32.Sum(tt.in))}
		want := []uint32{tt.sdbm, tt.djb2, tt.wt6, tt.cr, tt.aSdbm, tt.aDjb2, tt.aWt6, tt.aCrc}
		names := []string{"sdbm", "djb2", "wt6", "crc32", "sdbm avalanche", "djb2 avalanche", "wt6 avalanche", "crc32 avalanche"}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s(%q) = %d, haproxy says %d", names[i], tt.in, got[i], want[i])
			}
		}
	}
}

func TestURIKey(t *testing.T) {
	for _, tt := range []struct {
		uri             string
		whole, pathOnly bool
		n, depth        int
		want            string
	}{
		{"/a/b/c?x=1", false, false, 0, 0, "/a/b/c"},
		{"/a/b/c?x=1", true, false, 0, 0, "/a/b/c?x=1"},
		{"/a/b/c?x=1", false, false, 4, 0, "/a/b"},
		{"/a/b/c?x=1", false, false, 0, 2, "/a/b"},
		{"/a/b/c?x=1", false, false, 0, 1, "/a"},
		{"/a/b/c?x=1", true, false, 0, 5, "/a/b/c?x=1"},
		{"http://h.example/p/q?z", false, false, 0, 0, "http://h.example/p/q"},
		{"http://h.example/p/q?z", false, false, 0, 3, "http://h.example/p"},
		{"http://h.example/p/q?z", false, true, 0, 0, "/p/q"},
		{"http://h.example", false, true, 0, 0, ""},
		{"*", false, true, 0, 0, ""},
		{"h.example:443", false, true, 0, 0, ""},
	} {
		if got := URIKey(tt.uri, tt.whole, tt.pathOnly, tt.n, tt.depth); got != tt.want {
			t.Errorf("URIKey(%q, whole=%v, path-only=%v, len %d, depth %d) = %q, want %q", tt.uri, tt.whole, tt.pathOnly, tt.n, tt.depth, got, tt.want)
		}
	}
}

func TestParamKey(t *testing.T) {
	for _, tt := range []struct {
		uri, name, want string
		ok              bool
	}{
		{"/p?user=bob&x=1", "user", "bob", true},
		{"/p?x=1&user=bob", "user", "bob", true},
		{"/p?x=1&user=", "user", "", true},
		{"/p?xuser=1&user=al", "user", "al", true},
		{"/p?user", "user", "", false},
		{"/p?users=1", "user", "", false},
		{"/p", "user", "", false},
		{"/p?a=1&&user=z&user=y", "user", "z", true},
	} {
		got, ok := ParamKey(tt.uri, tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParamKey(%q, %q) = %q, %v; want %q, %v", tt.uri, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHeaderKey(t *testing.T) {
	for in, want := range map[string]string{
		"  a, b":          "a",
		`"x,y" , z`:       `"x,y"`,
		"single ":         "single",
		", b":             "",
		`"a\",b",c`:       `"a\",b"`,
		"www.example.com": "www.example.com",
	} {
		if got := firstValue(in); got != want {
			t.Errorf("firstValue(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"www.example.com":      "example",
		"example.com":          "example",
		"a.b.example.co":       "example",
		"localhost":            "localhost",
		"www.example.com:8080": "example",
		"":                     "",
	} {
		if got := domainOnly(in); got != want {
			t.Errorf("domainOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRingPoints pins the consistent-hashing ring: a server of weight w
// and id n has 16*w points at FullHash(n*4096+j).
func TestRingPoints(t *testing.T) {
	_, ss := pool(1, 2)
	h := NewHash(HashConfig{Kind: KeySource, Consistent: true}, []Member{{ss[0], 1, 1}, {ss[1], 2, 2}})
	h.refresh(ss)
	if len(h.ring) != 48 {
		t.Fatalf("%d points for weights 1 and 2, want 48", len(h.ring))
	}
	found := 0
	for _, p := range h.ring {
		if p.key == FullHash(2*4096+31) && p.s == ss[1] || p.key == FullHash(4096) && p.s == ss[0] {
			found++
		}
	}
	if found != 2 {
		t.Errorf("points of s1 (id 1, j 0) and s2 (id 2, j 31) found %d times, want 2", found)
	}
	// A key exactly on a point goes to that point's server.
	for _, p := range h.ring {
		if got := h.lookup(p.key, nil); got != p.s {
			t.Fatalf("key %d on a point of %s went to %s", p.key, name(p.s), name(got))
		}
	}
}

// TestHashConsistentMoves checks the point of consistent hashing: when a
// server goes down only its keys move, and they come back with it.
func TestHashConsistentMoves(t *testing.T) {
	fs, ss := pool(1, 2, 3, 1)
	var ms []Member
	for i, s := range ss {
		ms = append(ms, Member{s, i + 1, fs[i].weight})
	}
	h := NewHash(HashConfig{Kind: KeySource, Consistent: true, Avalanche: true}, ms)
	key := func(i int) Key { return Key{Client: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 7})} }
	before := map[int]Server{}
	for i := 0; i < 2000; i++ {
		before[i] = h.Pick(ss, key(i))
	}
	fs[2].down = true
	moved := 0
	for i := 0; i < 2000; i++ {
		got := h.Pick(ss, key(i))
		if before[i] == ss[2] {
			moved++
			if got == ss[2] {
				t.Fatalf("key %d still on the down server", i)
			}
		} else if got != before[i] {
			t.Fatalf("key %d moved from %s to %s though its server stayed up", i, name(before[i]), name(got))
		}
	}
	if moved == 0 {
		t.Fatal("no key was on s3 (weight 3 of 7)")
	}
	fs[2].down = false
	for i := 0; i < 2000; i++ {
		if got := h.Pick(ss, key(i)); got != before[i] {
			t.Fatalf("key %d on %s after s3 came back, was %s", i, name(got), name(before[i]))
		}
	}
}

// TestHashAvoid: a redispatched retry moves on along the ring, but stays
// on its server with map-based hashing, as in haproxy.
func TestHashAvoid(t *testing.T) {
	_, ss := pool(1, 1)
	ms := []Member{{ss[0], 1, 1}, {ss[1], 2, 1}}
	for _, consistent := range []bool{false, true} {
		h := NewHash(HashConfig{Kind: KeySource, Consistent: consistent}, ms)
		for i := 0; i < 50; i++ {
			k := clientKey(i)
			first := h.Pick(ss, k)
			got, _ := Choose(h, ss, nil, k, first)
			if consistent && got == first {
				t.Fatalf("consistent: avoiding %s picked it again", name(first))
			}
			if !consistent && got != first {
				t.Fatalf("map-based: avoiding %s moved to %s (haproxy's map ignores it)", name(first), name(got))
			}
		}
	}
}

// TestHashFallback: without the key (no such header, parameter) haproxy
// balances round robin over the map's slots.
func TestHashFallback(t *testing.T) {
	_, ss := pool(1, 2)
	h := NewHash(HashConfig{Kind: KeyHeader, Header: "x-user"}, []Member{{ss[0], 1, 1}, {ss[1], 2, 2}})
	var got []string
	for i := 0; i < 6; i++ {
		got = append(got, name(h.Pick(ss, Key{})))
	}
	if s := fmtList(got); s != "s1 s2 s2 s1 s2 s2" {
		t.Errorf("map round robin = %s, want the map's slots in turn: s1 s2 s2 s1 s2 s2", s)
	}
}

func fmtList(l []string) string {
	out := ""
	for i, s := range l {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

// TestRandomDraws: random(N) draws N points on the ring and keeps the
// server with the fewest connections for its weight; a full choice means
// the backend queue.
func TestRandomDraws(t *testing.T) {
	fs, ss := pool(1, 1)
	ms := []Member{{ss[0], 1, 1}, {ss[1], 2, 1}}
	fs[0].conns = 5
	h := NewHash(HashConfig{Kind: KeyRandom, Draws: 2}, ms)
	draws := []uint32{0, 0}
	for _, p := range h.ringFor(ss) {
		if p.s == ss[0] && draws[0] == 0 {
			draws[0] = p.key
		}
		if p.s == ss[1] && draws[1] == 0 {
			draws[1] = p.key
		}
	}
	// Each pick draws a point of s1 and a point of s2: the less loaded
	// s2 wins whatever the order.
	i := 0
	h.rnd = func() uint32 { i++; return draws[i%2] }
	for n := 0; n < 10; n++ {
		if got := h.Pick(ss, Key{}); got != ss[1] {
			t.Fatalf("draw %d: picked %s with 5 connections against 0", n, name(got))
		}
	}
	fs[1].conns, fs[1].maxconn = 1, 1
	fs[0].conns = 0
	h.rnd = func() uint32 { return draws[1] }
	if got := h.Pick(ss, Key{}); got != nil {
		t.Fatalf("every draw on the full s2: picked %s, want none (backend queue)", name(got))
	}
	if p, _ := New("random"); p.String() != "random" {
		t.Errorf("New(random) = %s", p)
	}
}

// TestBalanceFactor: with hash-balance-factor 125, a server already over
// its share of the outstanding requests is passed over for the next one
// on the ring.
func TestBalanceFactor(t *testing.T) {
	fs, ss := pool(1, 1)
	ms := []Member{{ss[0], 1, 1}, {ss[1], 2, 1}}
	h := NewHash(HashConfig{Kind: KeySource, Consistent: true, Avalanche: true, BalanceFactor: 125}, ms)
	var onS1 *Key
	for i := 0; i < 100 && onS1 == nil; i++ {
		if k := clientKey(i); h.Pick(ss, k) == ss[0] {
			onS1 = &k
		}
	}
	if onS1 == nil {
		t.Fatal("no client of 100 on s1")
	}
	// 4 outstanding + this one, x1.25 = 7 slots (rounded up) over 32
	// weight units: s1 (units 0..15) gets 3, s2 gets 4.
	fs[0].conns, fs[1].conns = 4, 0
	if got := h.Pick(ss, *onS1); got != ss[1] {
		t.Fatalf("s1 holds 4 of 4 requests: picked %s, want s2", name(got))
	}
	fs[0].conns, fs[1].conns = 1, 1
	if got := h.Pick(ss, *onS1); got != ss[0] {
		t.Fatalf("balanced load: picked %s, want the key's own s1", name(got))
	}
}

// TestSetIDPlacesDynamicServer: a server added at run time (SetID) sits on
// the consistent ring and random's ring at the points its id gives, as if
// it had been configured with that id; DropID forgets it.
func TestSetIDPlacesDynamicServer(t *testing.T) {
	for _, cfg := range []HashConfig{{Kind: KeyRandom}, {Kind: KeySource, Consistent: true}} {
		_, ss := pool(1, 2, 1)
		want := NewHash(cfg, []Member{{ss[0], 1, 1}, {ss[1], 7, 2}, {ss[2], 3, 1}}).ringFor(ss)
		h := NewHash(cfg, []Member{{ss[0], 1, 1}})
		h.SetID(ss[1], 7)
		h.SetID(ss[2], 3)
		got := h.ringFor(ss)
		if len(got) != len(want) {
			t.Fatalf("%v: ring of %d points, want %d", cfg.Kind, len(got), len(want))
		}
		for i := range want {
			if got[i].key != want[i].key || got[i].s != want[i].s {
				t.Fatalf("%v: point %d = %08x %s, want %08x %s", cfg.Kind, i, got[i].key, name(got[i].s), want[i].key, name(want[i].s))
			}
		}
		h.DropID(ss[1])
		if _, ok := h.ids[ss[1]]; ok {
			t.Errorf("%v: DropID kept the server's id", cfg.Kind)
		}
	}
}
