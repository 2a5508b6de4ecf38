package keepalived_test

// use_vmac on an IPv6 instance against keepalived 2.2.7: the VMAC with the
// MAC 00:00:5e:00:02:VRID, the link-local address keepalived puts on it
// (the base interface's, nodad, preferred_lft 0), its sysctls (IPv6 on,
// none of the IPv4 ones), the adverts and the unsolicited NA sent from it;
// then a mixed pair failing over both ways.

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"hapair/integration/lab"
)

// vmac6Conf is an IPv6 instance (native_ipv6) with use_vmac; extra is
// added to the instance.
func vmac6Conf(state string, prio int, extra string) []byte {
	return []byte(fmt.Sprintf(`global_defs {
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
}
vrrp_instance VI_1 {
    interface eth0
    state %s
    native_ipv6
    priority %d
    virtual_router_id 51
    advert_int 1
    use_vmac
%s
    virtual_ipaddress {
        fd00::84/64
    }
}
`, state, prio, extra))
}

// linkLocal is h's eth0 link-local address.
func linkLocal(t *testing.T, h *lab.Host) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := h.Run(ctx, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := llRe.FindString(string(out))
	if m == "" {
		t.Fatalf("%s: no link-local address on eth0: %q", h.Name(), out)
	}
	return m
}

// kernelState6 is what a user would look at on a balancer with an IPv6
// VMAC: the macvlan as `ip -d link` shows it, the IPv4 and IPv6 sysctls
// keepalived could touch, `ip -6 addr` and `ip -6 route show table all`,
// with eth0's link-local address (made from a random veth MAC) written
// LL(eth0) and interface indexes left out.
func kernelState6(t *testing.T, h *lab.Host) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run := func(args ...string) string {
		out, err := h.Run(ctx, args[0], args[1:]...)
		if err != nil {
			t.Fatalf("%s: %v: %v\n%s", h.Name(), args, err, out)
		}
		return string(out)
	}
	ll := linkLocal(t, h)
	var b strings.Builder
	link := run("ip", "-d", "-o", "link", "show", "type", "macvlan")
	link = regexp.MustCompile(`(?m)^\d+: `).ReplaceAllString(link, "")
	link = regexp.MustCompile(` numtxqueues.*`).ReplaceAllString(link, "")
	fmt.Fprintf(&b, "macvlans: %s\n", strings.TrimSpace(link))
	ifs := []string{"all", "default", "eth0"}
	if strings.Contains(link, "vrrp.51") {
		ifs = append(ifs, "vrrp.51")
	}
	for _, i := range ifs {
		fmt.Fprintf(&b, "%s:", i)
		for _, s := range []string{"ipv4/conf/%s/arp_ignore", "ipv4/conf/%s/arp_filter", "ipv4/conf/%s/accept_local", "ipv4/conf/%s/rp_filter",
			"ipv4/conf/%s/promote_secondaries", "ipv6/conf/%s/disable_ipv6", "ipv6/conf/%s/accept_dad", "ipv6/conf/%s/forwarding"} {
			p := fmt.Sprintf(s, i)
			fmt.Fprintf(&b, " %s=%s", p[:4]+"."+p[strings.LastIndex(p, "/")+1:], strings.TrimSpace(run("cat", "/proc/sys/net/"+p)))
		}
		b.WriteString("\n")
	}
	mask := func(s string) string { return strings.ReplaceAll(s, ll, "LL(eth0)") }
	for _, l := range strings.Split(run("ip", "-6", "-o", "addr"), "\n") {
		if l = strings.TrimSpace(regexp.MustCompile(`^\d+: `).ReplaceAllString(l, "")); l != "" {
			fmt.Fprintf(&b, "addr %s\n", mask(strings.Join(strings.Fields(strings.ReplaceAll(l, "\\", "")), " ")))
		}
	}
	// Sorted: the kernel lists the local routes of one address on two
	// interfaces in the order they were added (keepalived's and ours
	// differed once at load, same routes).
	var routes []string
	for _, l := range strings.Split(run("ip", "-6", "route", "show", "table", "all"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			routes = append(routes, "route "+mask(l)+"\n")
		}
	}
	sort.Strings(routes)
	b.WriteString(strings.Join(routes, ""))
	b.WriteString(nftRuleset(t, h))
	return b.String()
}

type vmac6Run struct {
	master, backup, after string // kernelState6 of lb1 (MASTER), lb2 (BACKUP), lb1 after stop
	// advert: one advert from lb1 as the client sees it: source MAC and
	// address, lb1's eth0 MAC and link-local written MAC(eth0), LL(eth0).
	advert string
	na     string // lb1's unsolicited NA for the VIP, masked the same way
	// reports: the VRRP MACs IGMP/MLD reports came from (keepalived's
	// nftables rules send them from the base interface instead).
	reports []string
}

// runVMAC6 runs the IPv6 VMAC configuration on both balancers with one
// program and records the kernel state once lb1 is MASTER and lb2 BACKUP.
func runVMAC6(t *testing.T, i impl, extra string) vmac6Run {
	p := newPair(t, i, i, true)
	p.failLogs()
	p.lb1.vip, p.lb2.vip = vip6, vip6
	td, err := p.client.Start("tcpdump", "tcpdump", "-p", "-l", "-n", "-t", "-e", "-vv", "-i", "eth0", "ip6")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // tcpdump has no ready signal
	p.start(vmac6Conf("MASTER", 150, extra), vmac6Conf("BACKUP", 100, extra), time.Second)
	p.waitHolder("start", p.lb1, time.Now(), 15*time.Second)
	poll(t, 10*time.Second, "lb2 BACKUP", func() bool { return strings.Contains(p.lb2.log(), backupLine) })
	var r vmac6Run
	r.master = kernelState6(t, p.lb1.h)
	r.backup = kernelState6(t, p.lb2.h)
	mac, ll := macOf(t, p.lb1.h), linkLocal(t, p.lb1.h)
	maskLB1 := func(s string) string {
		s = strings.ReplaceAll(s, mac, "MAC(eth0)")
		h := strings.ReplaceAll(mac, ":", "")
		s = strings.ReplaceAll(s, h[0:4]+" "+h[4:8]+" "+h[8:12], "MAC(eth0)-HEX")
		return strings.ReplaceAll(s, ll, "LL(eth0)")
	}
	advRe := regexp.MustCompile(`^(\S+) > 33:33:00:00:00:12, .*\) (\S+) > ff02::12: VRRPv3, Advertisement, vrid 51, prio 150`)
	poll(t, 5*time.Second, "the client sees lb1's adverts and NA", func() bool {
		for _, pk := range packets(td.Log()) {
			if m := advRe.FindStringSubmatch(pk); m != nil && r.advert == "" {
				r.advert = maskLB1(m[1] + " " + m[2])
			}
			if r.na == "" && strings.Contains(pk, "neighbor advertisement") && strings.Contains(pk, "tgt is "+vip6.String()) {
				r.na = maskLB1(regexp.MustCompile(`flowlabel 0x[0-9a-f]+, `).ReplaceAllString(pk, ""))
			}
		}
		return r.advert != "" && r.na != ""
	})
	r.reports = vmacReports(td.Log())
	p.stop(p.lb1)
	p.waitExited(p.lb1)
	r.after = kernelState6(t, p.lb1.h)
	return r
}

// TestIntegrationVMACIPv6LikeKeepalived: with use_vmac on an IPv6 instance
// (and with vmac_xmit_base), keepalived 2.2.7 and gkeepalived leave the
// same kernel state on the MASTER, on the BACKUP and after the MASTER's
// daemon stopped, send their adverts with the same source MAC and
// address, and the same unsolicited NA for the VIP.
func TestIntegrationVMACIPv6LikeKeepalived(t *testing.T) {
	t.Parallel()
	runs, ok := runVMACLabs(t, runVMAC6)
	if !ok {
		return
	}
	for _, c := range vmacCases {
		ka, ours := runs[c.name+"/"+string(kd)], runs[c.name+"/"+string(gk)]
		t.Logf("%s: advert %s; NA %s; reports from a VRRP MAC: keepalived %v, gkeepalived %v; gkeepalived's MASTER:\n%s", c.name, ours.advert, ours.na, ka.reports, ours.reports, ours.master)
		compareVMACStates(t, c.name, []vmacState{
			{"MASTER", ka.master, ours.master}, {"BACKUP", ka.backup, ours.backup}, {"after stop", ka.after, ours.after},
			{"advert source", ka.advert, ours.advert}, {"unsolicited NA", ka.na, ours.na},
			{"reports from a VRRP MAC", fmt.Sprint(ka.reports), fmt.Sprint(ours.reports)},
		})
		want := []string{"vrrp.51@eth0", "link/ether 00:00:5e:00:02:33", "macvlan mode private", "addrgenmode none",
			"addr vrrp.51 inet6 fd00::84/64", "vrrp.51: ipv4.arp_ignore=0"}
		if c.extra == "" {
			want = append(want, "addr vrrp.51 inet6 LL(eth0)/64 scope link nodad deprecated")
			if ours.advert != "00:00:5e:00:02:33 LL(eth0)" {
				t.Errorf("%s: gkeepalived's adverts leave as %q, want from 00:00:5e:00:02:33 and eth0's link-local address", c.name, ours.advert)
			}
		} else if ours.advert != "MAC(eth0) LL(eth0)" {
			t.Errorf("%s: gkeepalived's adverts leave as %q, want from eth0's MAC and link-local address", c.name, ours.advert)
		}
		for _, w := range want {
			if !strings.Contains(ours.master, w) {
				t.Errorf("%s: gkeepalived's MASTER state lacks %q:\n%s", c.name, w, ours.master)
			}
		}
	}
}

// fetch6 connects from the client to the IPv6 VIP's port 81 and returns
// the answering host's name.
func (p *pair) fetch6(timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := p.client.DialContext(ctx, "tcp", netip.AddrPortFrom(vip6, 81).String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	b := make([]byte, 64)
	n, _ := c.Read(b)
	return strings.TrimSpace(string(b[:n])), nil
}

// TestIntegrationVMACIPv6MixedPairFailover: one gkeepalived and one
// keepalived 2.2.7, both with use_vmac on an IPv6 instance, fail over both
// ways (SIGTERM to the master, then its restart and preemption); a client
// on fd00::/64 reaches the VIP on the new master each time, through a
// neighbour entry that names the VRRP MAC 00:00:5e:00:02:33.
func TestIntegrationVMACIPv6MixedPairFailover(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		i1, i2 impl
	}{{"gk-master", gk, kd}, {"ka-master", kd, gk}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.i1, c.i2, true)
			p.failLogs()
			p.lb1.vip, p.lb2.vip = vip6, vip6
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if out, err := p.client.Run(ctx, "ip", "addr", "add", "fd00::10/64", "dev", "eth0", "nodad"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, n := range []*lb{p.lb1, p.lb2} {
				if out, err := n.h.Run(ctx, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1"); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if _, err := n.h.Start("responder6", "socat", "TCP6-LISTEN:81,bind=["+vip6.String()+"],reuseaddr,fork", "EXEC:hostname"); err != nil {
					t.Fatal(err)
				}
				poll(t, 5*time.Second, n.h.Name()+" listens on :81", func() bool {
					ok, _ := n.h.Listening("tcp", 81)
					return ok
				})
			}
			p.lb1.startHaproxy()
			p.lb2.startHaproxy()
			p.lb1.startDaemon(vmac6Conf("MASTER", 150, ""))
			time.Sleep(time.Second)
			p.lb2.startDaemon(vmac6Conf("BACKUP", 100, ""))
			reach := func(step string, want *lb) {
				t.Helper()
				var got string
				var err error
				poll(t, 8*time.Second, step+": client reaches "+want.String()+" through the VIP", func() bool {
					got, err = p.fetch6(500 * time.Millisecond)
					return err == nil && got == want.h.Name()
				})
				out, _ := p.client.Run(ctx, "ip", "-6", "neigh", "show", vip6.String())
				if n := strings.TrimSpace(string(out)); !strings.Contains(n, "lladdr 00:00:5e:00:02:33") {
					t.Errorf("%s: client's neighbour entry for the VIP is %q, want the VRRP MAC 00:00:5e:00:02:33", step, n)
				} else {
					t.Logf("%s: client's neighbour entry: %s", step, n)
				}
			}
			took := p.waitHolder("start", p.lb1, time.Now(), 15*time.Second)
			reach("start", p.lb1)
			t0 := p.stop(p.lb1)
			failover := p.waitHolder("failover", p.lb2, t0, 10*time.Second)
			reach("failover", p.lb2)
			p.waitExited(p.lb1)
			t1 := time.Now()
			p.lb1.startDaemon(vmac6Conf("MASTER", 150, ""))
			takeback := p.waitHolder("takeback", p.lb1, t1, 15*time.Second)
			reach("takeback", p.lb1)
			t.Logf("IPv6 VMAC lb1=%s lb2=%s: start %.2fs, failover %.2fs, takeback %.2fs", c.i1, c.i2, took.Seconds(), failover.Seconds(), takeback.Seconds())
		})
	}
}
