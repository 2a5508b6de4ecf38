package sample

import (
	"net/netip"
	"strings"
	"testing"
)

func testTxn() *Txn {
	return &Txn{
		Src: netip.MustParseAddrPort("10.1.2.3:40000"),
		Dst: netip.MustParseAddrPort("192.168.0.1:80"),
		Req: &Message{Method: "GET", URI: "/static/img/logo.png?a=1&b=two", Version: "HTTP/1.1",
			Headers: []Header{{"Host", "www.Example.com:8080"}, {"X-List", "a, b,c"}, {"X-List", "d"},
				{"Cookie", "SID=abc; lang=fr"}, {"Content-Length", "12"}}},
		Frontend: "fe",
	}
}

func TestSmokeCond(t *testing.T) {
	acls := ACLSet{}
	for _, l := range []string{
		"is_static path_beg /static /images",
		"is_png path_end .png",
		"host_ex hdr_dom(host) -i example.com",
		"lan src 10.0.0.0/8",
		"has_d hdr(x-list) d",
	} {
		w := strings.Fields(l)
		a, err := ParseACL(w[0], w[1:], nil)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		acls.Add(a)
	}
	for c, want := range map[string]bool{
		"if is_static is_png":         true,
		"if !is_static":               false,
		"if is_static !is_png or lan": true,
		"unless host_ex":              false,
		"if { path_sub img } has_d":   true,
		"if METH_GET LOCALHOST":       false,
		"if { hdr_cnt(x-list) 4 }":    true,
		"if { req.cook(lang) fr }":    true,
		"if { url_param(b) two }":     true,
	} {
		cond, err := ParseCond(strings.Fields(c), acls, nil)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if got := cond.Eval(testTxn()); got != want {
			t.Errorf("%s = %v, want %v", c, got, want)
		}
	}
}
