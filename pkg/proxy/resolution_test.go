package proxy

import (
	"net/netip"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// TestTargetLikeAllocDstAddress: where a connection goes for a client
// that reached dst, as haproxy's alloc_dst_address: the server's address
// and port, the client's port when the server has none, the client's
// destination address when the server is on any address (either family),
// and an address set at run time in place of the configured one.
func TestTargetLikeAllocDstAddress(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	px := &haproxycfg.Proxy{Name: "b", Servers: []*haproxycfg.Server{
		{Name: "fixed", Host: "10.0.0.1", Port: 80, Weight: 1},
		{Name: "noport", Host: "10.0.0.1", Weight: 1},
		{Name: "any", Host: "0.0.0.0", Port: 9000, Weight: 1},
		{Name: "anynoport", Host: "0.0.0.0", Weight: 1},
		{Name: "any6", Host: "::", Port: 9000, Weight: 1},
		{Name: "moved", Host: "10.0.0.1", Port: 80, Weight: 1},
	}}
	e := newTestEngine(t, px, c)
	b := e.Backend("b")
	b.Server("moved").SetAddrPort(netip.MustParseAddr("10.0.0.9"), 0)
	dst4 := netip.MustParseAddrPort("192.0.2.7:8443")
	dst6 := netip.MustParseAddrPort("[2001:db8::7]:8443")
	for _, tt := range []struct {
		srv  string
		dst  netip.AddrPort
		want string
	}{
		{"fixed", dst4, "10.0.0.1:80"},
		{"noport", dst4, "10.0.0.1:8443"},
		{"any", dst4, "192.0.2.7:9000"},
		{"any", dst6, "[2001:db8::7]:9000"},
		{"anynoport", dst4, "192.0.2.7:8443"},
		{"any6", dst4, "192.0.2.7:9000"},
		{"moved", dst4, "10.0.0.9:8443"},
	} {
		s := b.Server(tt.srv)
		if got := s.target(tt.dst); got != tt.want {
			t.Errorf("%s for a client of %s: %s, want %s", tt.srv, tt.dst, got, tt.want)
		}
		if !s.dialsTo(tt.want) {
			t.Errorf("%s: dialsTo(%s) false", tt.srv, tt.want)
		}
	}
}
