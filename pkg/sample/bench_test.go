package sample

import (
	"strings"
	"testing"
)

// benchCond is a typical front-end condition set.
func benchCond(b testing.TB) (*Cond, *Txn) {
	acls := ACLSet{}
	for _, l := range []string{
		"is_static path_beg /static /images /js /css",
		"is_img path_end .png .jpg .gif",
		"host_api hdr(host) -i api.example.com",
		"lan src 10.0.0.0/8 192.168.0.0/16",
		"has_sid req.cook(SID) -m found",
	} {
		w := strings.Fields(l)
		a, err := ParseACL(w[0], w[1:], nil)
		if err != nil {
			b.Fatal(err)
		}
		acls.Add(a)
	}
	c, err := ParseCond(strings.Fields("if is_static is_img !host_api or lan has_sid or { hdr_dom(host) -i example.com }"), acls, nil)
	if err != nil {
		b.Fatal(err)
	}
	return c, testTxn()
}

func BenchmarkCond(b *testing.B) {
	c, txn := benchCond(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Eval(txn)
	}
}

// TestCondAllocs keeps condition evaluation free of allocations for
// string, ip and header matching (issue 14 measures the cost of rules).
func TestCondAllocs(t *testing.T) {
	c, txn := benchCond(t)
	if !c.Eval(txn) {
		t.Fatal("benchmark condition is false")
	}
	if n := testing.AllocsPerRun(100, func() { c.Eval(txn) }); n > 0 {
		t.Errorf("condition evaluation allocates %.0f times per run, want 0", n)
	}
}
