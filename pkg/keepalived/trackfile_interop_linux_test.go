package keepalived_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// trackFileEdits turn the seed's track script into a track_file in the
// host's /run, created with 0 at start (weight 1, the default).
var trackFileEdits = [][2]string{
	authNone,
	{`vrrp_script chk_haproxy { # Requires keepalived-1.1.13
    script "killall -0 haproxy" # widely used idiom
    interval 2 # check every 2 seconds
    weight 2 # add 2 points of prio if OK
}`, `track_file tf {
    file /run/gk-track-file
    init_file 0
}`},
	{"track_script {\n        chk_haproxy\n    }", "track_file {\n        tf\n    }"},
}

// TestIntegrationInteropTrackFile: a mixed pair (keepalived 2.2.7 and
// gkeepalived, both orders) tracking a file: lb1 (101) is elected; writing
// 5 into lb2's file (100+5) moves the VIP to lb2; writing -5 into lb1's
// file when lb1 holds it (101-5 < 100) moves it to lb2 too. Whichever
// program reads the file, the election goes as with keepalived.
func TestIntegrationInteropTrackFile(t *testing.T) {
	for _, c := range []struct {
		lb1, lb2 impl
		write    string // which node's file changes
		value    string
	}{{kd, gk, "lb2", "5"}, {gk, kd, "lb1", "-5"}} {
		t.Run(fmt.Sprintf("%s-%s", c.lb1, c.lb2), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.lb1, c.lb2, false)
			p.failLogs()
			t0 := time.Now()
			p.lb1.startDaemon(seedConf(t, false, trackFileEdits...))
			time.Sleep(time.Second)
			p.lb2.startDaemon(seedConf(t, true, trackFileEdits...))
			p.waitHolder("election", p.lb1, t0, 15*time.Second)
			n := p.lb1
			if c.write == "lb2" {
				n = p.lb2
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if out, err := n.h.Run(ctx, "sh", "-c", "echo "+c.value+" > /run/gk-track-file"); err != nil {
				t.Fatalf("writing the file on %s: %v %s", n, err, out)
			}
			p.waitHolder("file "+c.value+" on "+n.String(), p.lb2, time.Now(), 10*time.Second)
		})
	}
}
