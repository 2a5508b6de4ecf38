package keepalived_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIntegrationInteropProcessTuning runs one MASTER with vrrp_no_swap,
// max_auto_priority 1 and min_auto_priority_delay 0.2 s under keepalived
// 2.2.7 and under gkeepalived, stops its VRRP process twice for 1.5 s
// (SIGSTOP, SIGCONT) and compares what a user sees: the memory locked
// (VmLck), the "timer expired" and "Set realtime priority" lines, and the
// scheduling policy of every thread of the VRRP process (SCHED_RR at 1,
// raised once: the maximum is 1).
func TestIntegrationInteropProcessTuning(t *testing.T) {
	conf := []byte(`global_defs {
    vrrp_no_swap
    max_auto_priority 1
    min_auto_priority_delay 200000
}
vrrp_instance VI_1 {
    interface eth0
    state MASTER
    priority 255
    virtual_router_id 51
    virtual_ipaddress {
        192.168.1.84
    }
}
`)
	expired := regexp.MustCompile(`A thread timer expired \d+\.\d{6} seconds ago`)
	seen := map[impl]string{}
	for _, i := range []impl{kd, gk} {
		t.Run(string(i), func(t *testing.T) {
			p := newPair(t, i, kd, false)
			p.failLogs()
			p.lb1.startDaemon(conf)
			poll(t, 10*time.Second, p.lb1.String()+" MASTER", func() bool { return strings.Contains(p.lb1.log(), masterLine) })
			run := func(script string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				out, err := p.lb1.h.Run(ctx, "sh", "-c", script)
				if err != nil {
					t.Fatalf("%s: %v: %s", script, err, out)
				}
				return strings.TrimSpace(string(out))
			}
			const pid = "$(cat /run/keepalived_vrrp.pid)"
			lck := run("grep VmLck /proc/" + pid + "/status")
			if f := strings.Fields(lck); len(f) < 2 || f[1] == "0" {
				t.Errorf("%s: VRRP process %q with vrrp_no_swap, want memory locked", i, lck)
			}
			before := run("ps -L -o cls= -o rtprio= -p " + pid + " | sort -u")
			for round := 1; round <= 2; round++ {
				run("kill -STOP " + pid + "; sleep 1.5; kill -CONT " + pid)
				poll(t, 5*time.Second, "timer expired line", func() bool {
					return len(expired.FindAllString(p.lb1.log(), -1)) >= round
				})
			}
			after := run("ps -L -o cls= -o rtprio= -p " + pid + " | sort -u")
			raised := strings.Count(p.lb1.log(), "Set realtime priority 1")
			// Both stops were logged (polled above); a loaded machine can
			// delay a timer past keepalived's threshold on its own, so more
			// expired lines than stops are not a difference.
			got := "before: " + strings.Join(strings.Fields(before), " ") + "; after: " + strings.Join(strings.Fields(after), " ") +
				"; raised " + strconv.Itoa(raised)
			seen[i] = got
			t.Logf("%s: %s; %s; expired lines %d", i, lck, got, len(expired.FindAllString(p.lb1.log(), -1)))
		})
	}
	if want := "before: TS -; after: RR 1; raised 1"; seen[kd] != want {
		t.Fatalf("keepalived: %q, want %q (reference changed?)", seen[kd], want)
	}
	if seen[gk] != seen[kd] {
		t.Errorf("gkeepalived: %q, keepalived: %q", seen[gk], seen[kd])
	}
}
