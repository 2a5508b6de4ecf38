package keepalived_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// trackProcessEdits turn the seed's `killall -0 haproxy` script into a
// vrrp_track_process on the process name haproxy, with that weight line.
func trackProcessEdits(weight string) [][2]string {
	return [][2]string{
		authNone,
		{`vrrp_script chk_haproxy { # Requires keepalived-1.1.13
    script "killall -0 haproxy" # widely used idiom
    interval 2 # check every 2 seconds
    weight 2 # add 2 points of prio if OK
}`, `vrrp_track_process chk_haproxy {
    process haproxy
    ` + weight + `
}`},
		{"track_script {", "track_process {"},
	}
}

// connectorRefused is what both daemons log in a lab host: the kernel
// sends process events only to the machine's first network namespace,
// and keepalived then counts no process at all.
const connectorRefused = "Failed to set/clear process event listen - errno 111 - Connection refused"

// TestIntegrationInteropTrackProcess: the seed's pair with the track
// script replaced by vrrp_track_process, keepalived 2.2.7 on lb1 and
// gkeepalived on lb2, in lab hosts (network namespaces), haproxy (a copy
// of sleep in the host's own PID namespace) running on lb2. There the
// kernel refuses the process events, and keepalived then counts nothing:
// with weight 2, gkeepalived's backup (100) must not add the weight and
// take over from keepalived's master (101); with no weight both nodes go
// to FAULT ("quorum not achieved") and nobody holds the VIP. Both log the
// same lines. The event-driven counting (haproxy starting, reloading with
// -sf, stopping) is pkg/track's TestIntegrationProcessConnector, in the
// machine's namespace where the kernel sends the events.
func TestIntegrationInteropTrackProcess(t *testing.T) {
	keep := regexp.MustCompile(`(process event|tracked process|entering FAULT)`)
	for _, c := range []struct {
		name, weight string
	}{{"weighted", "weight 2"}, {"unweighted", ""}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, kd, gk, false)
			p.failLogs()
			p.lb2.startHaproxy()
			t0 := time.Now()
			p.lb1.startDaemon(seedConf(t, false, trackProcessEdits(c.weight)...))
			p.lb2.startDaemon(seedConf(t, true, trackProcessEdits(c.weight)...))
			if c.weight != "" {
				p.waitHolder("election", p.lb1, t0, 15*time.Second)
			} else {
				for _, n := range []*lb{p.lb1, p.lb2} {
					poll(t, 10*time.Second, n.String()+" in FAULT", func() bool { return strings.Contains(n.log(), "(VI_1) entering FAULT state\n") })
				}
				time.Sleep(4 * time.Second) // past a master-down timer
				if p.lb1.hasVIP() || p.lb2.hasVIP() {
					t.Errorf("VIP held in FAULT: lb1 %v, lb2 %v", p.lb1.hasVIP(), p.lb2.hasVIP())
				}
			}
			k := strings.Join(logLines(p.lb1.log(), keep), "\n")
			g := strings.Join(logLines(p.lb2.log(), keep), "\n")
			if k != g || !strings.Contains(g, connectorRefused) {
				t.Errorf("log lines differ or lack %q\nkeepalived:\n%s\ngkeepalived:\n%s", connectorRefused, k, g)
			}
		})
	}
}
