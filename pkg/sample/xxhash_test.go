package sample

import "testing"

// Reference values of XXH32 (the xxHash repository's sanity checks).
func TestXXH32(t *testing.T) {
	for _, c := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0x02CC5D05},
		{"abc", 0, 0x32D153FF},
		{"Nobody inspects the spammish repetition", 0, 0xE2293B2F},
	} {
		if got := XXH32([]byte(c.in), c.seed); got != c.want {
			t.Errorf("XXH32(%q, %d) = %#x, want %#x", c.in, c.seed, got, c.want)
		}
	}
}
