package proxy

import (
	"errors"
	"testing"

	"hapair/pkg/haproxycfg"
)

// TestStaticWeight: as haproxy 2.6 (checked with its stats socket),
// `set weight` on a static-rr or map-based hash backend only takes 0 and
// the configured weight; consistent hashing takes any.
func TestStaticWeight(t *testing.T) {
	for _, tt := range []struct {
		alg        haproxycfg.Algorithm
		consistent bool
		static     bool
	}{
		{haproxycfg.Source, false, true},
		{haproxycfg.URI, false, true},
		{haproxycfg.StaticRR, false, true},
		{haproxycfg.Source, true, false},
		{haproxycfg.RoundRobin, false, false},
		{haproxycfg.Random, false, false},
	} {
		px := &haproxycfg.Proxy{Name: "b", Kind: haproxycfg.KindBackend, Balance: tt.alg,
			HashType: haproxycfg.HashType{Consistent: tt.consistent},
			Servers:  []*haproxycfg.Server{{Name: "s1", Host: "127.0.0.1", Port: 1, Weight: 2}}}
		e, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s := e.Backend("b").Server("s1")
		err = s.SetWeight(5)
		if got := errors.Is(err, errStaticWeight); got != tt.static {
			t.Errorf("%s (consistent %v): set weight 5 -> %v", tt.alg, tt.consistent, err)
		}
		if err := s.SetWeight(0); err != nil {
			t.Errorf("%s: set weight 0: %v", tt.alg, err)
		}
		if err := s.SetWeight(2); err != nil {
			t.Errorf("%s: back to the configured weight: %v", tt.alg, err)
		}
	}
}
