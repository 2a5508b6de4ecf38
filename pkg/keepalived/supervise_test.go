package keepalived

import (
	"testing"
	"time"
)

// TestRespawnDelay: a VRRP process that ran a while is restarted at once;
// one that keeps dying soon after its start waits longer each time, up to
// 30 s, so a crash loop cannot spin.
func TestRespawnDelay(t *testing.T) {
	var d time.Duration
	var got []time.Duration
	for i := 0; i < 8; i++ {
		d = respawnDelay(d, 100*time.Millisecond)
		got = append(got, d)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("delays after quick deaths %v, want %v seconds", got, want)
		}
	}
	if d := respawnDelay(30*time.Second, time.Minute); d != 0 {
		t.Errorf("after a minute of running the delay is %v, want 0", d)
	}
	if d := respawnDelay(0, 10*time.Second); d != 0 {
		t.Errorf("a first death after 10 s waits %v, want 0 (as keepalived: \"delayed 0 seconds\")", d)
	}
}
