package keepalived_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// garpLine is a gratuitous ARP as tcpdump -tt prints it.
var garpLine = regexp.MustCompile(`(?m)^(\d+\.\d+) ARP, Request who-has (\S+) \(ff:ff:ff:ff:ff:ff\) tell (\S+),`)

// TestIntegrationInteropGARPInterval runs the same MASTER (two VIPs,
// vrrp_garp_interval 0.3, garp_master_repeat 5, no delayed burst) with
// keepalived 2.2.7 and with gkeepalived, and compares the gratuitous ARPs
// a neighbour sees: the same addresses in the same order (keepalived sends
// .84, .84, .85: the repeats of a pending address collapse), none closer
// than the interval (a lower bound only; the gaps are logged).
func TestIntegrationInteropGARPInterval(t *testing.T) {
	conf := func(t *testing.T) []byte {
		return seedConf(t, false, authNone,
			[2]string{"    smtp_connect_timeout 30\n", "    smtp_connect_timeout 30\n    vrrp_garp_interval 0.3\n    vrrp_garp_master_delay 0\n"},
			[2]string{"priority 101", "priority 255"},
			[2]string{"        192.168.1.84\n", "        192.168.1.84\n        192.168.1.85\n"})
	}
	seen := map[impl]string{}
	for _, i := range []impl{kd, gk} {
		t.Run(string(i), func(t *testing.T) {
			p := newPair(t, i, kd, false)
			p.failLogs()
			td, err := p.lb2.h.Start("tcpdump", "tcpdump", "-p", "-l", "-n", "-tt", "-i", "eth0", "arp")
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // tcpdump has no ready signal
			p.lb1.startHaproxy()
			p.lb1.startDaemon(conf(t))
			poll(t, 10*time.Second, p.lb1.String()+" MASTER", func() bool { return strings.Contains(p.lb1.log(), masterLine) })
			poll(t, 5*time.Second, "three gratuitous ARPs", func() bool { return len(garpLine.FindAllString(td.Log(), -1)) >= 3 })
			time.Sleep(1500 * time.Millisecond) // several intervals more: nothing else comes
			var ips []string
			var prev float64
			var gaps []string
			for _, m := range garpLine.FindAllStringSubmatch(td.Log(), -1) {
				if m[2] != m[3] {
					continue
				}
				ts, _ := strconv.ParseFloat(m[1], 64)
				if len(ips) > 0 {
					gap := ts - prev
					gaps = append(gaps, strconv.FormatFloat(gap, 'f', 3, 64))
					if gap < 0.29 {
						t.Errorf("%s: gratuitous ARPs %.3fs apart, want at least the 0.3s interval", i, gap)
					}
				}
				prev = ts
				ips = append(ips, m[2])
			}
			seen[i] = strings.Join(ips, " ")
			t.Logf("%s: %s (gaps %s s)", i, seen[i], strings.Join(gaps, " "))
		})
	}
	if want := "192.168.1.84 192.168.1.84 192.168.1.85"; seen[kd] != want {
		t.Fatalf("keepalived sent %q, want %q (reference changed?)", seen[kd], want)
	}
	if seen[gk] != seen[kd] {
		t.Errorf("gkeepalived sent %q, keepalived %q", seen[gk], seen[kd])
	}
}

// naLine is an unsolicited Neighbor Advertisement as tcpdump -tt prints it.
var naLine = regexp.MustCompile(`(?m)^(\d+\.\d+) IP6 (\S+) > ff02::1: ICMP6, neighbor advertisement, tgt is (\S+),`)

// TestIntegrationInteropGNAInterval: an IPv6 MASTER's unsolicited NAs
// (vrrp_gna_interval 0.2, garp_master_repeat 3, three VIPs) as a neighbour
// sees them, keepalived 2.2.7 against gkeepalived: the same addresses in
// the same order (keepalived: fe80::100 twice, then fd00::100, fd00::101),
// none closer than the interval.
func TestIntegrationInteropGNAInterval(t *testing.T) {
	conf := []byte(`global_defs {
    vrrp_gna_interval 0.2
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 3
}
vrrp_instance V6 {
    interface eth0
    virtual_router_id 7
    priority 255
    virtual_ipaddress {
        fe80::100/64
        fd00::100/64
        fd00::101/64
    }
}
`)
	seen := map[impl]string{}
	for _, i := range []impl{kd, gk} {
		t.Run(string(i), func(t *testing.T) {
			p := newPair(t, i, kd, false)
			p.failLogs()
			td, err := p.lb2.h.Start("tcpdump", "tcpdump", "-p", "-l", "-n", "-tt", "-i", "eth0", "icmp6 and ip6[40] == 136")
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // tcpdump has no ready signal
			p.lb1.startDaemon(conf)
			poll(t, 10*time.Second, p.lb1.String()+" MASTER", func() bool { return strings.Contains(p.lb1.log(), "(V6) Entering MASTER STATE") })
			poll(t, 5*time.Second, "four NAs", func() bool { return len(naLine.FindAllString(td.Log(), -1)) >= 4 })
			time.Sleep(1500 * time.Millisecond) // several intervals more: nothing else comes
			var ips []string
			var prev float64
			for _, m := range naLine.FindAllStringSubmatch(td.Log(), -1) {
				if m[2] != m[3] {
					continue
				}
				ts, _ := strconv.ParseFloat(m[1], 64)
				if len(ips) > 0 && ts-prev < 0.19 {
					t.Errorf("%s: NAs %.3fs apart, want at least the 0.2s interval", i, ts-prev)
				}
				prev = ts
				ips = append(ips, m[3])
			}
			seen[i] = strings.Join(ips, " ")
			t.Logf("%s: %s", i, seen[i])
		})
	}
	if want := "fe80::100 fe80::100 fd00::100 fd00::101"; seen[kd] != want {
		t.Fatalf("keepalived sent %q, want %q (reference changed?)", seen[kd], want)
	}
	if seen[gk] != seen[kd] {
		t.Errorf("gkeepalived sent %q, keepalived %q", seen[gk], seen[kd])
	}
}
