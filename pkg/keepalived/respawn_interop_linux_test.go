package keepalived_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vrrpPid reads the VRRP process's pidfile in the host (-r in impl.argv).
func (n *lb) vrrpPid() int {
	b, err := n.h.ReadFile("/run/keepalived_vrrp.pid")
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// TestIntegrationVRRPChildCrash kills the master's VRRP process with
// SIGKILL, as a crash would. keepalived 2.2.7 (the reference row) runs a
// parent that respawns its VRRP child, and the new child removes the VIPs
// it finds as it starts in BACKUP: the VIP leaves the crashed master long
// before its peer takes over (3 adverts + skew), so the two never both hold
// it; the master's daemon keeps running with a new VRRP process, and
// preempts back. Before, gkeepalived was one process: killed, it left the
// VIP up while the peer took over (two masters), and nothing restarted it.
func TestIntegrationVRRPChildCrash(t *testing.T) {
	for _, c := range []struct{ lb1 impl }{{kd}, {gk}} {
		t.Run(fmt.Sprintf("%s-%s", c.lb1, kd), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.lb1, kd, false)
			p.failLogs()
			t0 := p.start(seedConf(t, false), seedConf(t, true), time.Second)
			p.waitHolder("election", p.lb1, t0, 15*time.Second)
			var old int
			poll(t, 5*time.Second, p.lb1.String()+" writes its VRRP pidfile", func() bool { old = p.lb1.vrrpPid(); return old > 0 })
			if old == p.lb1.daemon.Pid() {
				t.Fatalf("%s: the VRRP pidfile names the daemon's own pid %d: no separate VRRP process to supervise", p.lb1, old)
			}
			backups := count(p.lb1.log(), "(VI_1) Entering BACKUP STATE (init)")

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			t1 := time.Now()
			if _, err := p.lb1.h.Run(ctx, "kill", "-KILL", strconv.Itoa(old)); err != nil {
				t.Fatal(err)
			}
			// lb2 needs 3 s + skew without adverts to take over: the VIP
			// must be gone from lb1 before that.
			gone := poll(t, 10*time.Second, "VIP gone from "+p.lb1.String(), func() bool { return !p.lb1.hasVIP() })
			if p.lb2.hasVIP() {
				t.Fatalf("%v after the crash lb1's VIP was gone, but lb2 already held it: both held it meanwhile", gone)
			}
			if gone > 2500*time.Millisecond {
				t.Errorf("the VIP stayed on the crashed master for %v, into the peer's takeover", gone)
			}
			// Service resumes: a new VRRP process, BACKUP at start, then
			// (103 > 102) MASTER again.
			var pid int
			poll(t, 10*time.Second, p.lb1.String()+" runs a new VRRP process", func() bool {
				pid = p.lb1.vrrpPid()
				return pid > 0 && pid != old && p.lb1.h.Running(ctx, c.lb1.procName())
			})
			poll(t, 10*time.Second, p.lb1.String()+"'s new VRRP process enters BACKUP", func() bool {
				return count(p.lb1.log(), "(VI_1) Entering BACKUP STATE (init)") > backups
			})
			back := p.waitHolder("after the respawn", p.lb1, t1, 20*time.Second)
			if p.lb1.daemon.Exited() {
				t.Fatalf("%s's daemon exited", p.lb1)
			}
			t.Logf("%s: VIP gone from the crashed master after %v, new VRRP process %d (was %d), VIP back on lb1 after %v",
				c.lb1, gone.Round(time.Millisecond), pid, old, back.Round(time.Millisecond))
		})
	}
}

// procName is the process name `killall -0` finds.
func (i impl) procName() string {
	if i == gk {
		return "gkeepalived"
	}
	return "keepalived"
}
