package sticktable

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"hapair/pkg/sample"
)

// fakeClock is the injected clock: time moves only when a test says.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }
func ipKey(t *testing.T, tb *Table, s string) string {
	t.Helper()
	k, ok := tb.Key(sample.Value{Type: sample.TypeAddr, Addr: netip.MustParseAddr(s)})
	if !ok {
		t.Fatalf("no key for %s", s)
	}
	return k
}

// The sliding window of haproxy's freq_ctr: the previous period counts
// for the share of it still within one period of now.
func TestFreqCtrSwrate(t *testing.T) {
	const p = 10000
	var f FreqCtr
	t0 := uint32(1_000_000)
	for i := 0; i < 10; i++ {
		f.Update(t0, p, 1)
	}
	for _, c := range []struct {
		at   uint32
		want uint32
	}{
		{t0, 10}, {t0 + 9999, 10}, // the first period: its count
		{t0 + 15000, 5}, // half of it still in the window
		{t0 + 19000, 1}, // a tenth
		{t0 + 20000, 0}, // gone
		{t0 + 25000, 0},
	} {
		if got := f.Read(c.at, p); got != c.want {
			t.Errorf("read at +%d ms = %d, want %d", c.at-t0, got, c.want)
		}
	}
	// An event in the next period rotates the counter.
	f.Update(t0+12000, p, 1)
	if f.Prev != 10 || f.Curr != 1 || f.Tick != t0+10000 {
		t.Fatalf("after rotation: %+v", f)
	}
	if got := f.Read(t0+12000, p); got != 9 { // 10*8000/10000 + 1
		t.Errorf("read after rotation = %d, want 9", got)
	}
	// Two periods without events: the history is dropped.
	f.Update(t0+40000, p, 3)
	if f.Prev != 0 || f.Curr != 3 || f.Tick != t0+40000 {
		t.Fatalf("after a long pause: %+v", f)
	}
	// Very low rates do not flap: one event in the last period reads 1.
	var g FreqCtr
	g.Update(t0, p, 1)
	if got := g.Read(t0+15000, p); got != 1 {
		t.Errorf("low rate = %d, want 1", got)
	}
}

func TestExpiryAndTracking(t *testing.T) {
	clk := newClock()
	tb := New(Config{Name: "t", Type: KeyIP, Size: 10, Expire: 30 * time.Second,
		Stores: []Store{{Type: ConnCur}, {Type: ConnCnt}, {Type: HTTPReqRate, Period: 10 * time.Second}}}, clk.now)
	k := ipKey(t, tb, "10.0.0.1")
	r := tb.Track(k)
	r.Add(1, HTTPReqRate)
	clk.add(time.Minute)
	if tb.Len() != 1 {
		t.Fatal("a tracked entry expired")
	}
	if v, _ := r.Value(ConnCur); v != 1 {
		t.Errorf("conn_cur = %d while tracked, want 1", v)
	}
	r.Release() // expired while tracked: goes now
	if tb.Len() != 0 {
		t.Fatal("an expired entry stayed after its last tracker left")
	}
	r = tb.Track(k)
	r.Release()
	clk.add(29 * time.Second)
	if !tb.Has(k) {
		t.Fatal("entry gone before its expiry")
	}
	clk.add(time.Second)
	if tb.Has(k) {
		t.Fatal("entry still there at its expiry")
	}
}

func TestPurgeWhenFull(t *testing.T) {
	clk := newClock()
	tb := New(Config{Name: "t", Type: KeyInteger, Size: 2, Expire: time.Minute, Stores: []Store{{Type: ConnCnt}}}, clk.now)
	key := func(n int64) string {
		k, _ := tb.Key(sample.Value{Type: sample.TypeInt, Int: n})
		return k
	}
	a := tb.Track(key(1))
	clk.add(time.Second)
	tb.Track(key(2)).Release()
	clk.add(time.Second)
	tb.Track(key(3)).Release()
	// 1 is tracked: 2, the oldest of the others, made room for 3.
	if !tb.Has(key(1)) || tb.Has(key(2)) || !tb.Has(key(3)) {
		t.Errorf("after purge: 1=%v 2=%v 3=%v, want true false true", tb.Has(key(1)), tb.Has(key(2)), tb.Has(key(3)))
	}
	a.Release()

	np := New(Config{Name: "n", Type: KeyInteger, Size: 1, NoPurge: true, Stores: []Store{{Type: ConnCnt}}}, clk.now)
	k1, _ := np.Key(sample.Value{Type: sample.TypeInt, Int: 1})
	k2, _ := np.Key(sample.Value{Type: sample.TypeInt, Int: 2})
	np.Track(k1).Release()
	if np.Track(k2) != nil {
		t.Error("nopurge: a full table took a new entry")
	}
}

func TestKeys(t *testing.T) {
	ip := New(Config{Name: "ip", Type: KeyIP, Size: 1}, nil)
	if _, ok := ip.Key(sample.Value{Type: sample.TypeAddr, Addr: netip.MustParseAddr("2001:db8::1")}); ok {
		t.Error("an IPv6 address became an ip key")
	}
	if k, ok := ip.Key(sample.Value{Type: sample.TypeAddr, Addr: netip.MustParseAddr("::ffff:10.0.0.1")}); !ok || ip.KeyString(k) != "10.0.0.1" {
		t.Errorf("mapped address: %q %v", ip.KeyString(k), ok)
	}
	v6 := New(Config{Name: "v6", Type: KeyIPv6, Size: 1}, nil)
	if k, ok := v6.Key(sample.Value{Type: sample.TypeAddr, Addr: netip.MustParseAddr("10.0.0.1")}); !ok || v6.KeyString(k) != "::ffff:10.0.0.1" {
		t.Errorf("v4 in an ipv6 table: %q %v", v6.KeyString(k), ok)
	}
	str := New(Config{Name: "s", Type: KeyString, Len: 4, Size: 1}, nil)
	if k, _ := str.Key(sample.Value{Type: sample.TypeStr, Str: "abcdef"}); k != "abcd" {
		t.Errorf("string key not cut at len: %q", k)
	}
	if got := dumpText("a b=c\\\t\x01"); got != `a\ b\=c\\\t\x01` {
		t.Errorf("dumpText = %q", got)
	}
}

func TestShowTable(t *testing.T) {
	clk := newClock()
	tb := New(Config{Name: "fe", Type: KeyInteger, Size: 100, Expire: 10 * time.Second,
		Stores: []Store{{Type: HTTPReqCnt}, {Type: GPC0}, {Type: HTTPReqRate, Period: 10 * time.Second}}}, clk.now)
	set := NewSet([]*Table{New(Config{Name: "other", Type: KeyIP, Size: 5}, clk.now), tb})
	for _, n := range []int64{256, 1, 2} {
		k, _ := tb.Key(sample.Value{Type: sample.TypeInt, Int: n})
		r := tb.Track(k)
		r.Add(n, HTTPReqCnt, HTTPReqRate)
		r.Release()
	}
	clk.add(4 * time.Second)
	got := set.Show([]string{"fe"}, true)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if lines[0] != "# table: fe, type: integer, size:100, used:3" || len(lines) != 4 {
		t.Fatalf("show table fe:\n%s", got)
	}
	// haproxy's tree order: the key's bytes in host order (256 before 1);
	// the data in haproxy's order of data types.
	for i, want := range []string{"key=256 use=0 exp=6000 gpc0=0 http_req_cnt=256 http_req_rate(10000)=256",
		"key=1 use=0 exp=6000 gpc0=0 http_req_cnt=1 http_req_rate(10000)=1",
		"key=2 use=0 exp=6000 gpc0=0 http_req_cnt=2 http_req_rate(10000)=2"} {
		if _, rest, _ := strings.Cut(lines[i+1], ": "); rest != want {
			t.Errorf("line %d = %q, want %q", i+1, lines[i+1], want)
		}
	}
	if got := set.Show(nil, true); got != "# table: fe, type: integer, size:100, used:3\n# table: other, type: ip, size:5, used:0\n" {
		t.Errorf("show table:\n%s", got)
	}
	if got := set.Show([]string{"fe"}, false); got != "# table: fe, type: integer, size:100, used:3\n# contents not dumped due to insufficient privileges\n" {
		t.Errorf("show table at level user:\n%s", got)
	}
	if got := set.Show([]string{"fe", "data.http_req_cnt", "gt", "1"}, true); strings.Count(got, "key=") != 2 {
		t.Errorf("filter gt 1:\n%s", got)
	}
	if got := set.SetEntry([]string{"fe", "key", "7", "data.gpc0", "5", "data.http_req_rate", "40"}, true); got != "" {
		t.Errorf("set table: %q", got)
	}
	if got := set.Show([]string{"fe", "key", "7"}, true); !strings.Contains(got, "key=7 use=0 exp=10000 gpc0=5 http_req_cnt=0 http_req_rate(10000)=40") {
		t.Errorf("after set table:\n%s", got)
	}
	if got := set.Clear([]string{"fe", "data.gpc0", "eq", "0"}, true); got != "" {
		t.Errorf("clear table: %q", got)
	}
	if n := tb.Len(); n != 1 {
		t.Errorf("clear by filter left %d entries, want 1", n)
	}
	clk.add(10 * time.Second)
	if n := tb.Len(); n != 0 {
		t.Errorf("%d entries after expiry", n)
	}
}
