package keepalived

import (
	"testing"
	"time"
)

// TestRespawnDelay: the first VRRP process that dies soon after its start
// is restarted at once (keepalived logs "delayed 0 seconds"); one that
// keeps dying waits longer each time, up to 30 s, so a crash loop cannot
// spin.
func TestRespawnDelay(t *testing.T) {
	want := []time.Duration{0, 1, 2, 4, 8, 16, 30, 30, 30}
	for i, w := range want {
		if got := respawnDelay(i + 1); got != w*time.Second {
			t.Errorf("death %d in a row: delay %v, want %v", i+1, got, w*time.Second)
		}
	}
}
