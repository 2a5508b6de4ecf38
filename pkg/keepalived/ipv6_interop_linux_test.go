package keepalived_test

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

var vip6 = netip.MustParseAddr("fd00::84")

// ipv6Conf is an IPv6 instance (native_ipv6, so VRRPv3) tracking the fake
// haproxy, on lb1 (priority 101) or lb2 (100).
func ipv6Conf(backup bool) []byte {
	prio := 101
	if backup {
		prio = 100
	}
	return []byte(fmt.Sprintf(`global_defs {
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
}
vrrp_script chk_haproxy {
    script "killall -0 haproxy"
    interval 1
    weight 2
}
vrrp_instance VI_1 {
    interface eth0
    state BACKUP
    native_ipv6
    priority %d
    virtual_router_id 51
    virtual_ipaddress {
        fd00::84/64
    }
    track_script {
        chk_haproxy
    }
}
`, prio))
}

// llRe finds link-local addresses in tcpdump's text.
var llRe = regexp.MustCompile(`\bfe80::[0-9a-f:]+`)

// packets splits `tcpdump -t -e -vv` output into one string per packet
// (continuation lines start with white space).
func packets(capture string) []string {
	var out []string
	for _, l := range strings.Split(capture, "\n") {
		switch {
		case l == "":
		case (l[0] == ' ' || l[0] == '\t') && len(out) > 0:
			out[len(out)-1] += "\n" + strings.TrimSpace(l)
		default:
			out = append(out, l)
		}
	}
	return out
}

// unsolicitedNA returns the first unsolicited NA for vip6 from mac in
// capture, its sender's MAC and link-local address replaced by
// placeholders so two senders' frames compare.
func unsolicitedNA(capture, mac string) string {
	for _, p := range packets(capture) {
		if !strings.HasPrefix(p, mac+" > ") || !strings.Contains(p, "neighbor advertisement") || !strings.Contains(p, "tgt is "+vip6.String()) {
			continue
		}
		p = strings.ReplaceAll(p, mac, "SENDER-MAC")
		// -vv also dumps the link-address option in hex: "e2d7 92c5 26b9".
		h := strings.ReplaceAll(mac, ":", "")
		p = strings.ReplaceAll(p, h[0:4]+" "+h[4:8]+" "+h[8:12], "SENDER-MAC-HEX")
		return llRe.ReplaceAllString(p, "SENDER-LL")
	}
	return ""
}

// TestIntegrationInteropIPv6 runs an IPv6 instance (native_ipv6) on mixed
// pairs: election, failover when haproxy dies on the master, and the
// priority-0 handover when the master's daemon stops. The adverts of both
// programs come from their link-local address, and the unsolicited
// neighbour advertisement each new master sends for the VIP is the same
// frame from gkeepalived as from keepalived 2.2.7 (MAC and link-local
// address aside), as seen by the peer.
func TestIntegrationInteropIPv6(t *testing.T) {
	t.Parallel()
	// One pair: the VIP moves both ways between the programs, and each
	// sends its NA as the new master.
	for _, c := range []struct{ lb1, lb2 impl }{{gk, kd}} {
		t.Run(fmt.Sprintf("%s-%s", c.lb1, c.lb2), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.lb1, c.lb2, false)
			p.failLogs()
			p.lb1.vip, p.lb2.vip = vip6, vip6
			caps := map[*lb]interface{ Log() string }{}
			for _, n := range []*lb{p.lb1, p.lb2} {
				td, err := n.h.Start("tcpdump", "tcpdump", "-p", "-l", "-n", "-t", "-e", "-vv", "-i", "eth0", "ip6 proto 112 or (icmp6 and ip6[40] == 136)")
				if err != nil {
					t.Fatal(err)
				}
				caps[n] = td
			}
			time.Sleep(500 * time.Millisecond) // tcpdump has no ready signal
			t0 := p.start(ipv6Conf(false), ipv6Conf(true), time.Second)
			elect := p.waitHolder("election", p.lb1, t0, 15*time.Second)
			t1 := time.Now()
			p.lb1.killHaproxy()
			failover := p.waitHolder("haproxy killed on lb1", p.lb2, t1, 15*time.Second)
			t2 := time.Now()
			p.lb1.startHaproxy()
			failback := p.waitHolder("haproxy back on lb1", p.lb1, t2, 15*time.Second)
			t3 := p.stop(p.lb1)
			handover := p.waitHolder("SIGTERM to lb1's daemon", p.lb2, t3, 10*time.Second)
			p.waitExited(p.lb1)
			if got := statsCounter(t, p.lb2.stats(), "Priority Zero", "Received"); got < 1 {
				t.Errorf("%s counted %d priority-0 adverts after lb1's daemon stopped, want >= 1", p.lb2, got)
			}
			// Adverts: VRRPv3 to ff02::12 from each balancer's link-local address.
			nas := map[impl]string{}
			for _, n := range []*lb{p.lb1, p.lb2} {
				peer := p.lb2
				if n == p.lb2 {
					peer = p.lb1
				}
				mac := macOf(t, n.h)
				var srcs []string
				for _, pk := range packets(caps[peer].Log()) {
					if strings.HasPrefix(pk, mac+" > ") && strings.Contains(pk, "VRRPv") {
						m := regexp.MustCompile(`\) (\S+) > ff02::12: .*VRRPv(\d)`).FindStringSubmatch(pk)
						if m == nil {
							t.Errorf("%s: advert not to ff02::12: %s", n, pk)
							continue
						}
						a, err := netip.ParseAddr(m[1])
						if err != nil || !a.IsLinkLocalUnicast() || m[2] != "3" {
							t.Errorf("%s sent an advert from %s version %s, want VRRPv3 from its link-local address: %s", n, m[1], m[2], pk)
						}
						srcs = append(srcs, m[1])
					}
				}
				if len(srcs) == 0 {
					t.Errorf("%s saw no advert from %s", peer, n)
				}
				nas[n.impl] = unsolicitedNA(caps[peer].Log(), mac)
				if nas[n.impl] == "" {
					t.Errorf("%s saw no unsolicited NA for %v from %s:\n%s", peer, vip6, n, lastLines(caps[peer].Log(), 20))
				}
			}
			if nas[gk] != nas[kd] {
				t.Errorf("unsolicited NA for %v differs:\ngkeepalived: %s\nkeepalived:  %s", vip6, nas[gk], nas[kd])
			}
			t.Logf("IPv6 lb1=%s lb2=%s: election %.2fs, failover %.2fs, failback %.2fs, SIGTERM handover %.2fs; NA: %s",
				c.lb1, c.lb2, elect.Seconds(), failover.Seconds(), failback.Seconds(), handover.Seconds(), nas[kd])
		})
	}
}
