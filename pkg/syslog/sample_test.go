package syslog

import (
	"fmt"
	"testing"

	"hapair/pkg/haproxycfg"
)

// TestSampler: `sample 1,3-4:5` sends the 1st, 3rd and 4th message of
// every 5, and `sample 2:2` every second one, as haproxy does.
func TestSampler(t *testing.T) {
	for _, c := range []struct {
		cfg  haproxycfg.LogSample
		want string
	}{
		{haproxycfg.LogSample{Ranges: [][2]int{{1, 1}, {3, 4}}, Size: 5}, "[1 3 4 6 8 9 11 13 14]"},
		{haproxycfg.LogSample{Ranges: [][2]int{{2, 2}}, Size: 2}, "[2 4 6 8 10 12 14]"},
		{haproxycfg.LogSample{Ranges: [][2]int{{1, 3}}, Size: 3}, "[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15]"},
	} {
		s := &sampler{cfg: &c.cfg, rgUsed: make([]int, len(c.cfg.Ranges))}
		var sent []int
		for i := 1; i <= 15; i++ {
			if s.take() {
				sent = append(sent, i)
			}
		}
		if got := fmt.Sprint(sent); got != c.want {
			t.Errorf("%v: sent %s, want %s", c.cfg, got, c.want)
		}
	}
}
