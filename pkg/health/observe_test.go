package health

import (
	"testing"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// TestHanaVerdict is haproxy 2.6's analyze_statuses table: layer 4
// counts connection errors and clears on a connection, layer 7 counts
// connection errors and bad responses and clears on a good response.
func TestHanaVerdict(t *testing.T) {
	l4, l7 := haproxycfg.ObserveLayer4, haproxycfg.ObserveLayer7
	cases := []struct {
		h      proxy.Hana
		l4, l7 int
	}{
		{proxy.HanaL4OK, 1, 0},
		{proxy.HanaL4Err, -1, -1},
		{proxy.HanaHTTPOK, 0, 1},
		{proxy.HanaHTTPStatus, 0, -1},
		{proxy.HanaHTTPHeaders, 0, -1},
		{proxy.HanaHTTPResponse, 0, -1},
		{proxy.HanaHTTPReadError, 0, -1},
		{proxy.HanaHTTPReadTimeout, 0, -1},
		{proxy.HanaHTTPBrokenPipe, 0, -1},
	}
	for _, c := range cases {
		if got := hanaVerdict(l4, c.h); got != c.l4 {
			t.Errorf("layer4 %v: %d, want %d", c.h, got, c.l4)
		}
		if got := hanaVerdict(l7, c.h); got != c.l7 {
			t.Errorf("layer7 %v: %d, want %d", c.h, got, c.l7)
		}
	}
	if s := proxy.HanaL4Err.String(); s != "L4 unsuccessful connection" {
		t.Errorf("HanaL4Err.String() = %q", s)
	}
}
