package keepalived_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntegrationReloadKeepsState changes the master's priority and adds a
// notify_master script, then sends it SIGHUP. keepalived 2.2.7 (the
// reference row) keeps the instance MASTER with its VIP: no new state
// line, no failover to the peer. gkeepalived must do the same; before, it
// restarted the instance, which resigned (priority 0) and the peer took over.
func TestIntegrationReloadKeepsState(t *testing.T) {
	for _, c := range []struct{ lb1 impl }{{kd}, {gk}} {
		t.Run(fmt.Sprintf("%s-%s", c.lb1, kd), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.lb1, kd, false)
			p.failLogs()
			t0 := p.start(seedConf(t, false), seedConf(t, true), time.Second)
			p.waitHolder("election", p.lb1, t0, 15*time.Second)

			marker := filepath.Join(p.l.Dir(), "lb1", "notified")
			conf := seedConf(t, false,
				[2]string{"priority 101", "priority 110"},
				[2]string{"    smtp_alert", "    notify_master \"/usr/bin/touch " + marker + "\"\n    smtp_alert"})
			if err := os.WriteFile(filepath.Join(p.l.Dir(), "lb1", "keepalived.conf"), conf, 0o644); err != nil {
				t.Fatal(err)
			}
			masters, backups := count(p.lb1.log(), masterLine), count(p.lb1.log(), backupLine)
			if err := p.lb1.daemon.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			poll(t, 10*time.Second, p.lb1.String()+" reloads", func() bool {
				return strings.Contains(p.lb1.log(), "Reload finished") || strings.Contains(p.lb1.log(), "Reloading")
			})
			// Longer than lb2's master-down interval (3 s + skew): had lb1
			// resigned or gone silent, lb2 would take the VIP in this time.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				if p.lb2.hasVIP() || !p.lb1.hasVIP() {
					t.Fatalf("after the reload the VIP moved: on lb1 %v, on lb2 %v", p.lb1.hasVIP(), p.lb2.hasVIP())
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got := count(p.lb1.log(), masterLine); got != masters {
				t.Errorf("%s entered MASTER %d more times after the reload, want 0", p.lb1, got-masters)
			}
			if got := count(p.lb1.log(), backupLine); got != backups {
				t.Errorf("%s entered BACKUP %d more times after the reload, want 0", p.lb1, got-backups)
			}
			if got := count(p.lb2.log(), masterLine); got != 0 {
				t.Errorf("%s entered MASTER %d times, want 0", p.lb2, got)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the new notify_master ran although the instance did not change state")
			}
		})
	}
}
