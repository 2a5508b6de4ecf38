package balance

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// fake is the one pool helper every policy test uses.
type fake struct {
	name    string
	weight  int
	down    bool
	conns   int
	maxconn int
}

func (f *fake) Weight() int  { return f.weight }
func (f *fake) Usable() bool { return !f.down }
func (f *fake) Full() bool   { return f.maxconn > 0 && f.conns >= f.maxconn }
func (f *fake) Conns() int   { return f.conns }

// pool builds servers named s1.. with the given weights.
func pool(weights ...int) ([]*fake, []Server) {
	fs := make([]*fake, len(weights))
	ss := make([]Server, len(weights))
	for i, w := range weights {
		fs[i] = &fake{name: fmt.Sprintf("s%d", i+1), weight: w}
		ss[i] = fs[i]
	}
	return fs, ss
}

func name(s Server) string {
	if s == nil {
		return "<nil>"
	}
	return s.(*fake).name
}

func counts(t *testing.T, p Policy, ss []Server, n int, key func(i int) Key) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		got[name(p.Pick(ss, key(i)))]++
	}
	return got
}

func noKey(int) Key { return Key{} }

func TestNewKeywords(t *testing.T) {
	for _, kw := range []string{"roundrobin", "static-rr", "leastconn", "source", "first"} {
		p, err := New(kw)
		if err != nil {
			t.Fatalf("New(%q): %v", kw, err)
		}
		if p.String() != kw {
			t.Errorf("New(%q).String() = %q", kw, p.String())
		}
	}
	if p, _ := New(""); p.String() != "roundrobin" {
		t.Errorf("default policy = %s, want roundrobin", p)
	}
	if _, err := New("uri"); err == nil {
		t.Error("New(uri) accepted an algorithm we do not implement")
	}
}

func TestRoundRobinWeights(t *testing.T) {
	for _, kw := range []string{"roundrobin", "static-rr"} {
		t.Run(kw, func(t *testing.T) {
			p, _ := New(kw)
			_, ss := pool(1, 2, 3)
			got := counts(t, p, ss, 6000, noKey)
			want := map[string]int{"s1": 1000, "s2": 2000, "s3": 3000}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("6000 picks over weights 1:2:3 = %v, want %v", got, want)
			}
		})
	}
}

func TestRoundRobinSmooth(t *testing.T) {
	p := NewRoundRobin()
	_, ss := pool(5, 1, 1)
	seq := ""
	for i := 0; i < 7; i++ {
		seq += name(p.Pick(ss, Key{})) + " "
	}
	// The heavy server never runs more than its share in a row.
	if seq != "s1 s1 s2 s1 s3 s1 s1 " {
		t.Fatalf("sequence = %q", seq)
	}
}

func TestRoundRobinDynamicWeight(t *testing.T) {
	rr, st := NewRoundRobin(), NewStaticRR()
	fs, ss := pool(1, 1)
	counts(t, rr, ss, 10, noKey)
	counts(t, st, ss, 10, noKey)
	fs[0].weight = 3
	if got := counts(t, rr, ss, 400, noKey); got["s1"] != 300 || got["s2"] != 100 {
		t.Errorf("roundrobin after set weight 3: %v, want s1:300 s2:100", got)
	}
	if got := counts(t, st, ss, 400, noKey); got["s1"] != 200 || got["s2"] != 200 {
		t.Errorf("static-rr after set weight 3: %v, want the start weights (200/200)", got)
	}
	fs[0].weight = 0
	for _, p := range []Policy{rr, st} {
		if got := counts(t, p, ss, 10, noKey); got["s2"] != 10 {
			t.Errorf("%s with s1 at weight 0: %v", p, got)
		}
	}
}

func TestSkipsDownAndFull(t *testing.T) {
	for _, kw := range []string{"roundrobin", "static-rr", "leastconn", "first"} {
		t.Run(kw, func(t *testing.T) {
			p, _ := New(kw)
			fs, ss := pool(1, 1, 1)
			fs[0].down = true
			fs[1].maxconn, fs[1].conns = 2, 2
			if got := counts(t, p, ss, 30, noKey); got["s3"] != 30 {
				t.Fatalf("picks = %v, want only s3", got)
			}
			fs[2].down = true
			if s := p.Pick(ss, Key{}); s != nil {
				t.Fatalf("picked %s with nothing usable", name(s))
			}
		})
	}
}

func TestLeastConn(t *testing.T) {
	p := NewLeastConn()
	fs, ss := pool(1, 1, 1)
	fs[0].conns, fs[1].conns, fs[2].conns = 4, 1, 3
	if s := p.Pick(ss, Key{}); name(s) != "s2" {
		t.Fatalf("picked %s, want s2 (fewest conns)", name(s))
	}
	// Ties rotate.
	fs[0].conns, fs[1].conns, fs[2].conns = 0, 0, 0
	if got := counts(t, p, ss, 300, noKey); got["s1"] != 100 || got["s2"] != 100 || got["s3"] != 100 {
		t.Fatalf("ties = %v, want 100 each", got)
	}
	// Weight scales the count: 3 conns on weight 4 beats 1 conn on weight 1.
	fs[0].weight, fs[0].conns = 4, 3
	fs[1].conns, fs[2].conns = 1, 1
	if s := p.Pick(ss, Key{}); name(s) != "s1" {
		t.Fatalf("picked %s, want s1 ((3+1)/4 < (1+1)/1)", name(s))
	}
	// Simulated traffic: connections stay open, picks follow the counts.
	fs2, ss2 := pool(1, 2)
	for i := 0; i < 300; i++ {
		p.Pick(ss2, Key{}).(*fake).conns++
	}
	if fs2[0].conns != 100 || fs2[1].conns != 200 {
		t.Fatalf("300 open conns over weights 1:2 = %d/%d", fs2[0].conns, fs2[1].conns)
	}
}

func TestFirst(t *testing.T) {
	p := NewFirst()
	fs, ss := pool(1, 1, 1)
	for _, f := range fs {
		f.maxconn = 2
	}
	var seq []string
	for i := 0; i < 7; i++ {
		s := p.Pick(ss, Key{})
		seq = append(seq, name(s))
		if s != nil {
			s.(*fake).conns++
		}
	}
	if fmt.Sprint(seq) != "[s1 s1 s2 s2 s3 s3 <nil>]" {
		t.Fatalf("fill order = %v", seq)
	}
	fs[1].conns--
	if s := p.Pick(ss, Key{}); name(s) != "s2" {
		t.Fatalf("after s2 freed a slot, picked %s", name(s))
	}
}

func clientKey(i int) Key {
	return Key{Client: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}
}

func TestSourceStableAndSpread(t *testing.T) {
	p := NewSource()
	fs, ss := pool(1, 2, 3)
	first := make([]string, 600)
	for i := range first {
		first[i] = name(p.Pick(ss, clientKey(i)))
	}
	got := map[string]int{}
	for i := range first {
		for j := 0; j < 3; j++ {
			if n := name(p.Pick(ss, clientKey(i))); n != first[i] {
				t.Fatalf("client %d moved from %s to %s with an unchanged pool", i, first[i], n)
			}
		}
		got[first[i]]++
	}
	// 600 clients over weights 1:2:3: expect about 100/200/300.
	for n, want := range map[string]int{"s1": 100, "s2": 200, "s3": 300} {
		if got[n] < want*6/10 || got[n] > want*14/10 {
			t.Errorf("%s got %d clients, want about %d (all: %v)", n, got[n], want, got)
		}
	}
	// A full server keeps its clients (they queue on it).
	fs[2].maxconn, fs[2].conns = 1, 1
	for i := range first {
		if n := name(p.Pick(ss, clientKey(i))); n != first[i] {
			t.Fatalf("client %d moved to %s when its server became full", i, n)
		}
	}
	// A server going down sends its clients elsewhere.
	fs[2].down = true
	for i := range first {
		if n := name(p.Pick(ss, clientKey(i))); n == "s3" {
			t.Fatalf("client %d sent to down server", i)
		}
	}
	// Back up: the original mapping returns.
	fs[2].down = false
	for i := range first {
		if n := name(p.Pick(ss, clientKey(i))); n != first[i] {
			t.Fatalf("client %d went to %s after the pool was restored, want %s", i, n, first[i])
		}
	}
	// IPv6 clients hash too.
	v6 := map[string]int{}
	for i := 0; i < 300; i++ {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 15: byte(i), 14: byte(i >> 8)})
		v6[name(p.Pick(ss, Key{Client: a}))]++
	}
	if len(v6) != 3 {
		t.Errorf("300 IPv6 clients reached only %v", v6)
	}
}

func TestChooseBackup(t *testing.T) {
	p := NewRoundRobin()
	fa, active := pool(1, 1)
	fb, backup := pool(1, 1)
	fb[0].name, fb[1].name = "b1", "b2"
	if s, err := Choose(p, active, backup, Key{}, nil); err != nil || name(s)[0] != 's' {
		t.Fatalf("with actives up: %s, %v", name(s), err)
	}
	fa[0].maxconn, fa[0].conns = 1, 1
	fa[1].maxconn, fa[1].conns = 1, 1
	if _, err := Choose(p, active, backup, Key{}, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("actives full: err = %v, want ErrFull (queue, not backup)", err)
	}
	fa[0].down, fa[1].down = true, true
	if s, err := Choose(p, active, backup, Key{}, nil); err != nil || name(s) != "b1" {
		t.Fatalf("actives down: %s, %v; want b1 (first backup)", name(s), err)
	}
	fb[0].down = true
	if s, _ := Choose(p, active, backup, Key{}, nil); name(s) != "b2" {
		t.Fatalf("first backup down: %s, want b2", name(s))
	}
	fb[1].down = true
	if _, err := Choose(p, active, backup, Key{}, nil); !errors.Is(err, ErrNoServer) {
		t.Fatalf("all down: err = %v, want ErrNoServer", err)
	}
}

func TestChooseAvoid(t *testing.T) {
	// balance source with the default map-based hash-type is not here:
	// haproxy's map lookup ignores the server to avoid (a redispatched
	// retry lands on the same server while it is usable); see
	// TestHashAvoid.
	for _, kw := range []string{"roundrobin", "static-rr", "leastconn", "first"} {
		t.Run(kw, func(t *testing.T) {
			p, _ := New(kw)
			_, ss := pool(1, 1)
			for i := 0; i < 20; i++ {
				if s, _ := Choose(p, ss, nil, clientKey(i), ss[0]); s != ss[1] {
					t.Fatalf("avoiding s1 picked %s", name(s))
				}
			}
			// The only usable server is taken even when avoided.
			one := ss[:1]
			if s, _ := Choose(p, one, nil, clientKey(1), ss[0]); s != ss[0] {
				t.Fatalf("single server avoided: %s", name(s))
			}
		})
	}
}
