package haproxycfg

import (
	"fmt"
	"testing"
)

// TestXXH64 checks the hash against the published XXH64 vectors (seed 0).
func TestXXH64(t *testing.T) {
	for in, want := range map[string]uint64{
		"":    0xef46db3751d8e999,
		"a":   0xd24ec4f1a98c6e5b,
		"abc": 0x44bc2cf5ad770999,
		"Nobody inspects the spammish repetition": 0xfbcea83c8a378bf1,
	} {
		if got := xxh64([]byte(in)); got != want {
			t.Errorf("xxh64(%q) = %s, want %016x", in, fmt.Sprintf("%016x", got), want)
		}
	}
}
