package keepalived_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// skipConf is an instance with the given VIPs, with or without
// vrrp_skip_check_adv_addr.
func skipConf(state string, prio int, skip bool, vips ...string) []byte {
	g := ""
	if skip {
		g = "    vrrp_skip_check_adv_addr\n"
	}
	return []byte(fmt.Sprintf(`global_defs {
%s}
vrrp_instance VI_1 {
    interface eth0
    state %s
    priority %d
    virtual_router_id 51
    advert_int 1
    virtual_ipaddress {
        %s
    }
}
`, g, state, prio, strings.Join(vips, "\n        ")))
}

// addrLines are the receiver's log lines about an advert's address list,
// from the instance name on (the two programs' time stamps differ).
var addrLineRe = regexp.MustCompile(`\(VI_1\) (received an unexpected ip number count.*|ip address associated with VRID.*|expected \d+ VIPs.*)`)

func addrLines(log string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range addrLineRe.FindAllString(log, -1) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// skipOutcome is what a receiver did in TestIntegrationInteropSkipCheckAdvAddr.
type skipOutcome struct {
	// lines: the address-list lines it logged in each phase.
	lines [3][]string
	// master: it was MASTER at the end of each phase.
	master [3]bool
	// addrErrs: its Packet Errors/Address List counter grew in the phase.
	addrErrs [3]bool
}

// TestIntegrationInteropSkipCheckAdvAddr: keepalived 2.2.7 on lb1 (priority
// 150) sends adverts whose address list differs from that of lb2 (priority
// 100, the receiver: keepalived as the reference, then gkeepalived), with
// and without vrrp_skip_check_adv_addr on lb2. keepalived skips the check
// only in BACKUP and only for the master it already follows (vrrp.c
// vrrp_state_backup: master_saddr), so:
//
//  1. lb1 advertises two VIPs, lb2 has one: lb2 drops them all ("received
//     an unexpected ip number count 2, expected 1!") with or without the
//     option (it follows no master yet) and becomes MASTER too;
//  2. lb1 reloads with lb2's VIP: lb2 accepts the higher priority advert
//     and goes BACKUP, following lb1, and then drops nothing;
//  3. lb1 reloads with another VIP: without the option lb2 drops the
//     adverts ("ip address associated with VRID 51 not present in MASTER
//     advert: 192.168.1.84") and takes over; with it lb2 stays BACKUP.
//
// Both receivers must log the same lines, end each phase in the same
// state and count the same address-list errors.
func TestIntegrationInteropSkipCheckAdvAddr(t *testing.T) {
	t.Parallel()
	type key struct {
		skip bool
		rx   impl
	}
	res := map[key]skipOutcome{}
	resCh := make(chan struct {
		k key
		o skipOutcome
	}, 4)
	t.Run("labs", func(t *testing.T) {
		for _, skip := range []bool{false, true} {
			for _, rx := range []impl{kd, gk} {
				k := key{skip, rx}
				t.Run(fmt.Sprintf("skip=%v/%s", skip, rx), func(t *testing.T) {
					t.Parallel()
					resCh <- struct {
						k key
						o skipOutcome
					}{k, runSkipCheck(t, rx, skip)}
				})
			}
		}
	})
	close(resCh)
	for r := range resCh {
		res[r.k] = r.o
	}
	if t.Failed() {
		return
	}
	for _, skip := range []bool{false, true} {
		ka, ours := res[key{skip, kd}], res[key{skip, gk}]
		t.Logf("skip=%v: keepalived %+v", skip, ka)
		t.Logf("skip=%v: gkeepalived %+v", skip, ours)
		if fmt.Sprint(ka) != fmt.Sprint(ours) {
			t.Errorf("skip=%v: the receivers differ:\nkeepalived:  %+v\ngkeepalived: %+v", skip, ka, ours)
		}
		// What keepalived's source says, checked on the reference too.
		want := [3]bool{true, false, !skip}
		if ka.master != want {
			t.Errorf("skip=%v: keepalived MASTER at the end of each phase %v, want %v", skip, ka.master, want)
		}
	}
}

func runSkipCheck(t *testing.T, rx impl, skip bool) skipOutcome {
	p := newPair(t, kd, rx, false)
	p.failLogs()
	var o skipOutcome
	p.start(skipConf("MASTER", 150, false, "192.168.1.84/24", "192.168.1.86/24"), skipConf("BACKUP", 100, skip, "192.168.1.84/24"), time.Second)
	addrErrs := func() int { return statsCounter(t, p.lb2.stats(), "Packet Errors", "Address List") }
	// Phase 1: both MASTER, lb2 dropping lb1's adverts.
	poll(t, 15*time.Second, "lb1 MASTER", func() bool { return strings.Contains(p.lb1.log(), masterLine) })
	poll(t, 15*time.Second, p.lb2.String()+" MASTER despite lb1's adverts", func() bool { return strings.Contains(p.lb2.log(), masterLine) })
	time.Sleep(1500 * time.Millisecond) // another advert or two dropped
	end := func(i int, before string, errsBefore int) int {
		o.lines[i] = addrLines(strings.TrimPrefix(p.lb2.log(), before))
		st := p.lb2.log()
		o.master[i] = strings.LastIndex(st, masterLine) > strings.LastIndex(st, backupLine)
		n := addrErrs()
		o.addrErrs[i] = n > errsBefore
		return n
	}
	errs := end(0, "", 0)
	reload := func(vip string) string {
		t.Helper()
		before := p.lb2.log()
		if err := os.WriteFile(filepath.Join(p.l.Dir(), "lb1", "keepalived.conf"), skipConf("MASTER", 150, false, vip), 0o644); err != nil {
			t.Fatal(err)
		}
		reloads := count(p.lb1.log(), "Reload complete")
		if err := p.lb1.daemon.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		poll(t, 10*time.Second, "lb1 reloads", func() bool { return count(p.lb1.log(), "Reload complete") > reloads })
		return before
	}
	// Phase 2: lb1 advertises lb2's VIP; lb2 follows it.
	// The phase is counted from lb2's return to BACKUP: an advert lb1 sent
	// before its reload may still be dropped before it, or not.
	reload("192.168.1.84/24")
	poll(t, 10*time.Second, p.lb2.String()+" BACKUP under lb1", func() bool {
		return count(p.lb2.log(), backupLine) >= 2 && !p.lb2.hasVIP()
	})
	before := p.lb2.log()
	errs = addrErrs()
	time.Sleep(2500 * time.Millisecond)
	errs = end(1, before, errs)
	// Phase 3: lb1 advertises another VIP. Longer than lb2's master-down
	// interval (3 s + skew), polled: without the option lb2 takes over.
	before = reload("192.168.1.85/24")
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(strings.TrimPrefix(p.lb2.log(), before), masterLine) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	end(2, before, errs)
	return o
}
