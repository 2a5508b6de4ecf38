package keepalived_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestIntegrationInteropLowerPrioNoAdvert: lb1 (gkeepalived, or keepalived
// as the reference row) is MASTER at priority 103 with VRRPv3, advert_int
// 3 and lower_prio_no_advert; lb2 (keepalived, priority 102, advert_int
// 0.5) drops lb1's adverts (check_unicast_src, max_ttl 254) and so stays
// MASTER, sending lower-priority adverts. Without the option lb1 would
// answer each with an advert of its own; with it lb1 only logs them (no
// "forcing new election") and sends at its own interval: in a capture of
// several seconds lb1 sends far fewer adverts than lb2.
func TestIntegrationInteropLowerPrioNoAdvert(t *testing.T) {
	t.Parallel()
	uni := func(src, peer, extra string) [][2]string {
		return [][2]string{authNone, {"virtual_router_id 51", "virtual_router_id 51\n    version 3\n    unicast_src_ip " + src +
			"\n    unicast_peer {\n        " + peer + "\n    }" + extra}}
	}
	lb1Edits := uni("192.168.1.80", "192.168.1.81", "\n    advert_int 3\n    lower_prio_no_advert")
	lb2Edits := uni("192.168.1.81", "192.168.1.80 max_ttl 254", "\n    advert_int 0.5\n    check_unicast_src")
	lower := regexp.MustCompile(`\(VI_1\) Received advert from 192\.168\.1\.81 with lower priority 102, ours 103(.*)`)
	for _, lb1 := range []impl{gk, kd} {
		t.Run(string(lb1)+"-keepalived", func(t *testing.T) {
			t.Parallel()
			p := newPair(t, lb1, kd, false)
			p.failLogs()
			td, err := p.lb2.h.Start("tcpdump", "tcpdump", "-p", "-l", "-n", "-v", "-i", "eth0", "ip proto 112")
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // tcpdump has no ready signal
			p.start(seedConf(t, false, lb1Edits...), seedConf(t, true, lb2Edits...), time.Second)
			poll(t, 20*time.Second, "lb1 MASTER hearing lower priority adverts", func() bool {
				return strings.Contains(p.lb1.log(), masterLine) && len(lower.FindAllString(p.lb1.log(), -1)) >= 2
			})
			mark := len(td.Log())
			time.Sleep(6 * time.Second) // two of lb1's intervals, about twelve of lb2's
			sent := map[string]int{}
			for _, m := range advLine.FindAllStringSubmatch(td.Log()[mark:], -1) {
				sent[m[1]]++
			}
			from1, from2 := sent["192.168.1.80"], sent["192.168.1.81"]
			if from2 < 6 || from1 > 3 {
				t.Errorf("%s with lower_prio_no_advert sent %d adverts while lb2 sent %d: it answers lower priority adverts", p.lb1, from1, from2)
			}
			for _, m := range lower.FindAllStringSubmatch(p.lb1.log(), -1) {
				if m[1] != "" {
					t.Errorf("%s logged %q, want no suffix with lower_prio_no_advert", p.lb1, m[0])
					break
				}
			}
			t.Logf("%s: %d adverts vs lb2's %d in the window", p.lb1, from1, from2)
		})
	}
}
