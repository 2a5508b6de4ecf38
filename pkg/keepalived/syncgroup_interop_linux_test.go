package keepalived_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// vip2 is the address of the second instance of the sync group scenario.
var vip2 = netip.MustParseAddr("192.168.1.85")

// syncGroupConf is the seed with its track script unweighted (keepalived
// drops weighted tracking in a sync group), a second instance VI_2 that
// tracks nothing, and a sync group G1 of both.
func syncGroupConf(t *testing.T, backup bool) []byte {
	prio := "101"
	if backup {
		prio = "100"
	}
	s := string(seedConf(t, backup, [2]string{"weight 2 # add 2 points of prio if OK", "weight 0"}))
	return []byte(s + `
vrrp_instance VI_2 {
    interface eth0
    state BACKUP
    priority ` + prio + `
    virtual_router_id 52
    authentication {
        auth_type AH
        auth_pass supersecret
    }
    virtual_ipaddress {
        192.168.1.85
    }
}

vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
}
`)
}

// TestIntegrationInteropSyncGroup runs a sync group of two instances on
// both balancers, gkeepalived against keepalived 2.2.7 both ways: both VIPs
// go to lb1 together; when haproxy dies on lb1 its VI_1 enters FAULT and
// takes VI_2 along, so both VIPs move to lb2; when haproxy is back lb1
// preempts both, and lb2's group follows its first member to BACKUP. The
// log lines asserted are keepalived's, so the reference pair passes too.
func TestIntegrationInteropSyncGroup(t *testing.T) {
	for _, c := range []struct{ lb1, lb2 impl }{{gk, kd}, {kd, gk}} {
		t.Run(fmt.Sprintf("%s-%s", c.lb1, c.lb2), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.lb1, c.lb2, false)
			p.failLogs()
			both := func(n *lb) bool { return n.h.HasAddr(vip) && n.h.HasAddr(vip2) }
			none := func(n *lb) bool { return !n.h.HasAddr(vip) && !n.h.HasAddr(vip2) }
			t0 := p.start(syncGroupConf(t, false), syncGroupConf(t, true), time.Second)

			elect := poll(t, 15*time.Second, "both VIPs on lb1", func() bool { return both(p.lb1) && none(p.lb2) })
			if !strings.Contains(p.lb1.log(), "VRRP_Group(G1) Syncing instances to MASTER state") {
				t.Errorf("%s did not log the group's MASTER sync", p.lb1)
			}

			t1 := time.Now()
			p.lb1.killHaproxy()
			failover := poll(t, 15*time.Second, "both VIPs on lb2 after haproxy died on lb1", func() bool { return both(p.lb2) && none(p.lb1) })
			for _, line := range []string{"(VI_1) Entering FAULT STATE", "VRRP_Group(G1) Syncing instances to FAULT state", "(VI_2) Entering FAULT STATE"} {
				if !strings.Contains(p.lb1.log(), line) {
					t.Errorf("%s did not log %q", p.lb1, line)
				}
			}
			if got := count(p.lb2.log(), "VRRP_Group(G1) Syncing instances to MASTER state"); got != 1 {
				t.Errorf("%s synced its group to MASTER %d times, want 1", p.lb2, got)
			}

			p.lb1.startHaproxy()
			failback := poll(t, 15*time.Second, "both VIPs back on lb1", func() bool { return both(p.lb1) && none(p.lb2) })
			for _, line := range []string{"Master received advert from 192.168.1.80 with higher priority 101, ours 100", "VRRP_Group(G1) Syncing instances to BACKUP state"} {
				if !strings.Contains(p.lb2.log(), line) {
					t.Errorf("%s did not log %q", p.lb2, line)
				}
			}
			t.Logf("pair lb1=%s lb2=%s sync group: election %.2fs, haproxy killed -> both VIPs on lb2 %.2fs, haproxy back -> both on lb1 %.2fs (since %s)",
				c.lb1, c.lb2, elect.Seconds(), failover.Seconds(), failback.Seconds(), t1.Sub(t0).Round(time.Millisecond))
		})
	}
}
