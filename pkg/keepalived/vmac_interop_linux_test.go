package keepalived_test

// use_vmac, virtual_routes/virtual_rules and static_ipaddress/routes/rules
// against keepalived 2.2.7: the same configuration run by each program in
// its own lab, the kernel state each leaves on the MASTER and the BACKUP
// compared (the VMAC as `ip -d link` shows it, its sysctls, `ip route show
// table all`, `ip rule`, the addresses), the adverts' source MAC seen by the
// client; then a mixed pair with VMACs failing over both ways.

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/integration/lab"
)

// vmacConf is a keepalived.conf with a VMAC and routes; prio and state
// differ between the two balancers.
func vmacConf(state string, prio int, extra string) []byte {
	return []byte(fmt.Sprintf(`global_defs {
    router_id %[1]s
}
static_ipaddress {
    10.9.9.%[2]d/32 dev eth0
}
static_routes {
    10.50.0.0/16 via 192.168.1.1 dev eth0 table 100 metric 5
}
static_rules {
    from 10.60.0.0/16 table 100 priority 200
}
vrrp_instance VI_1 {
    state %[1]s
    interface eth0
    virtual_router_id 51
    priority %[2]d
    advert_int 1
    use_vmac
%[3]s
    virtual_ipaddress {
        192.168.1.84/24
    }
    virtual_routes {
        10.70.0.0/16 via 192.168.1.1
        blackhole 10.71.0.0/16
        10.72.0.0/16 dev eth0 scope link table 101 metric 7 src 192.168.1.80
        unreachable 10.73.0.0/16 table 102
        10.74.0.0/16 via 192.168.1.1 or 192.168.1.2 table 103
    }
    virtual_rules {
        from 10.80.0.0/16 table 101 priority 300
        to 10.81.0.0/16 lookup 102 preference 301
        not from 10.82.0.0/16 fwmark 0x10/0xff iif eth0 table 103 priority 302
        from 10.83.0.0/16 blackhole priority 303
    }
}
`, state, prio, extra))
}

// kernelState is what a user would look at on a balancer, with what
// differs between any two runs (interface indexes, link-local addresses
// made from random veth MACs) left out.
func kernelState(t *testing.T, h *lab.Host) string {
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
	var b strings.Builder
	link := run("ip", "-d", "-o", "link", "show", "type", "macvlan")
	link = regexp.MustCompile(`^\d+: `).ReplaceAllString(link, "")
	link = regexp.MustCompile(` numtxqueues.*`).ReplaceAllString(link, "")
	fmt.Fprintf(&b, "macvlans: %s\n", strings.TrimSpace(link))
	ifs := []string{"all", "default", "eth0"}
	if strings.Contains(link, "vrrp.51") {
		ifs = append(ifs, "vrrp.51")
	}
	for _, i := range ifs {
		fmt.Fprintf(&b, "%s:", i)
		for _, s := range []string{"arp_ignore", "arp_filter", "accept_local", "rp_filter", "promote_secondaries"} {
			fmt.Fprintf(&b, " %s=%s", s, strings.TrimSpace(run("cat", "/proc/sys/net/ipv4/conf/"+i+"/"+s)))
		}
		b.WriteString("\n")
	}
	if strings.Contains(link, "vrrp.51") {
		fmt.Fprintf(&b, "vrrp.51 disable_ipv6=%s\n", strings.TrimSpace(run("cat", "/proc/sys/net/ipv6/conf/vrrp.51/disable_ipv6")))
	}
	for _, l := range strings.Split(run("ip", "-4", "-o", "addr"), "\n") {
		if f := strings.Fields(l); len(f) >= 4 {
			fmt.Fprintf(&b, "addr %s %s\n", f[1], f[3])
		}
	}
	for _, l := range strings.Split(run("ip", "route", "show", "table", "all"), "\n") {
		if l != "" && !strings.Contains(l, "fe80::") && !strings.Contains(l, "table local") {
			fmt.Fprintf(&b, "route %s\n", strings.TrimSpace(l))
		}
	}
	for _, fam := range []string{"-4", "-6"} {
		for _, l := range strings.Split(run("ip", fam, "rule"), "\n") {
			if l != "" {
				fmt.Fprintf(&b, "rule%s %s\n", fam, strings.TrimSpace(l))
			}
		}
	}
	b.WriteString(nftRuleset(t, h))
	return b.String()
}

var mapData = regexp.MustCompile(`("vrrp\.\d+") : ("[^"]+"|\d+)`)

// vmacReports lists the source MACs of the IGMP and MLD reports in a
// capture (tcpdump -e -n), each once.
func vmacReports(capture string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range strings.Split(capture, "\n") {
		if !strings.Contains(l, "igmp v3 report") && !strings.Contains(l, "multicast listener report") {
			continue
		}
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "00:00:5e:00:0") && !seen[f[0]] {
			seen[f[0]] = true
			out = append(out, f[0])
		}
	}
	return out
}

// nftRuleset is `nft list ruleset` on h: the table keepalived adds for
// VMACs. Without Debian's nftables package (the nft command) it is left
// out, and said.
func nftRuleset(t *testing.T, h *lab.Host) string {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/nft"); err != nil {
		t.Logf("no /usr/sbin/nft (apt-get install nftables): the nftables rules are not compared")
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Run(ctx, "nft", "list", "ruleset")
	if err != nil {
		t.Fatalf("%s: nft list ruleset: %v\n%s", h.Name(), err, out)
	}
	var b strings.Builder
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			// The map's data (the base interface's index) is shown by
			// name for keepalived and as a number for gkeepalived: the
			// library used (github.com/google/nftables) cannot tag a map's
			// data as host byte order, which only nft's display reads.
			// The kernel gets the same index (the reports leave from the
			// base interface for both: vmacReports).
			l = mapData.ReplaceAllString(l, `$1 : BASE-IFINDEX`)
			fmt.Fprintf(&b, "nft %s\n", l)
		}
	}
	return b.String()
}

// advertSrcMAC captures one VRRP advert on the client and returns its
// source MAC.
func advertSrcMAC(t *testing.T, client *lab.Host) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := client.Run(ctx, "tcpdump", "-i", "eth0", "-e", "-n", "-c", "1", "-l", "ip proto 112")
	if err != nil {
		t.Fatalf("tcpdump: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`([0-9a-f]{2}(?::[0-9a-f]{2}){5}) > 01:00:5e:00:00:12`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no advert in %q", out)
	}
	return m[1]
}

type vmacRun struct {
	master, backup string // kernelState of lb1 (MASTER) and lb2 (BACKUP)
	srcMAC         string // an advert's source MAC
	// reports: the VRRP MACs IGMP/MLD reports came from (keepalived's
	// nftables rules send them from the base interface instead).
	reports []string
	after   string // lb1's state after its daemon stopped
	// restored: a static route deleted by hand came back; resigned: the
	// MASTER left MASTER when one of its virtual routes was deleted.
	restored, resigned bool
}

// runVMAC runs conf on both balancers with one program, and records the
// kernel state once lb1 is MASTER and lb2 BACKUP.
func runVMAC(t *testing.T, i impl, extra string) vmacRun {
	p := newPair(t, i, i, true)
	p.failLogs()
	if extra != "" {
		// Reverse path filtering on: the daemons must clear "all" for the
		// VMAC, keep the base interface and "default" filtering, and put
		// everything back on exit (compared through kernelState).
		for _, h := range []*lab.Host{p.lb1.h, p.lb2.h} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out, err := h.Run(ctx, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=2", "net.ipv4.conf.default.rp_filter=1")
			cancel()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		}
	}
	td, err := p.client.Start("tcpdump-reports", "tcpdump", "-p", "-l", "-n", "-e", "-i", "eth0", "igmp or ip6")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // tcpdump has no ready signal
	p.lb1.startHaproxy()
	p.lb2.startHaproxy()
	p.lb1.startDaemon(vmacConf("MASTER", 150, extra))
	p.lb2.startDaemon(vmacConf("BACKUP", 100, extra))
	poll(t, 15*time.Second, "lb1 MASTER", func() bool { return strings.Contains(p.lb1.log(), masterLine) })
	poll(t, 15*time.Second, "lb2 BACKUP", func() bool { return strings.Contains(p.lb2.log(), backupLine) })
	var r vmacRun
	r.srcMAC = advertSrcMAC(t, p.client)
	r.reports = vmacReports(td.Log())
	r.master = kernelState(t, p.lb1.h)
	r.backup = kernelState(t, p.lb2.h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := p.lb1.h.Run(ctx, "ip", "route", "del", "10.50.0.0/16", "table", "100"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !r.restored && time.Now().Before(deadline) {
		out, _ := p.lb1.h.Run(ctx, "ip", "route", "show", "table", "100")
		r.restored = strings.Contains(string(out), "10.50.0.0/16")
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := p.lb1.h.Run(ctx, "ip", "route", "del", "10.72.0.0/16", "table", "101"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	deadline = time.Now().Add(3 * time.Second)
	for !r.resigned && time.Now().Before(deadline) {
		r.resigned = count(p.lb1.log(), backupLine) >= 2
		time.Sleep(100 * time.Millisecond)
	}
	p.stop(p.lb1)
	p.waitExited(p.lb1)
	r.after = kernelState(t, p.lb1.h)
	return r
}

// TestIntegrationVMACRoutesLikeKeepalived: keepalived 2.2.7 and gkeepalived
// leave the same kernel state with use_vmac (and with vmac_xmit_base) and
// the same routes, rules and static addresses, on the MASTER and on the
// BACKUP, and after the MASTER's daemon stopped; their adverts leave from
// the VRRP MAC (the base interface's MAC with vmac_xmit_base). Both put
// back a static route deleted by hand, and a MASTER whose virtual route is
// deleted leaves MASTER.
//
// The vmac_xmit_base labs start with net.ipv4.conf.all.rp_filter=2 and
// default 1: the sysctls keepalived changes for the VMAC then, and what it
// puts back on exit, are compared too.
func TestIntegrationVMACRoutesLikeKeepalived(t *testing.T) {
	t.Parallel()
	runs, ok := runVMACLabs(t, runVMAC)
	if !ok {
		return
	}
	for _, c := range vmacCases {
		ka, ours := runs[c.name+"/"+string(kd)], runs[c.name+"/"+string(gk)]
		t.Logf("%s: adverts from %s (keepalived) and %s (gkeepalived); reports from a VRRP MAC: keepalived %v, gkeepalived %v; gkeepalived's MASTER:\n%s", c.name, ka.srcMAC, ours.srcMAC, ka.reports, ours.reports, ours.master)
		compareVMACStates(t, c.name, []vmacState{
			{"MASTER state", ka.master, ours.master}, {"BACKUP state", ka.backup, ours.backup}, {"state after stop", ka.after, ours.after},
			{"reports from a VRRP MAC", fmt.Sprint(ka.reports), fmt.Sprint(ours.reports)},
		})
		for _, want := range []string{"vrrp.51@eth0", "link/ether 00:00:5e:00:01:33", "macvlan mode private", "addrgenmode none",
			"route blackhole 10.71.0.0/16 proto keepalived", "rule-4 300:\tfrom 10.80.0.0/16 lookup 101 proto keepalived", "addr vrrp.51 192.168.1.84/24"} {
			if !strings.Contains(ours.master, want) {
				t.Errorf("%s: MASTER state lacks %q:\n%s", c.name, want, ours.master)
			}
		}
		if ka.restored != ours.restored || ka.resigned != ours.resigned || !ka.restored || !ka.resigned {
			t.Errorf("%s: static route deleted by hand put back: keepalived %v, gkeepalived %v; MASTER resigned when a virtual route was deleted: keepalived %v, gkeepalived %v (want true for both)",
				c.name, ka.restored, ours.restored, ka.resigned, ours.resigned)
		}
		if strings.Contains(ours.backup, "10.71.0.0/16") || !strings.Contains(ours.backup, "10.50.0.0/16") {
			t.Errorf("%s: BACKUP has a virtual route or lacks the static one:\n%s", c.name, ours.backup)
		}
		const vmacMAC = "00:00:5e:00:01:33"
		if c.extra == "" && (ka.srcMAC != vmacMAC || ours.srcMAC != vmacMAC) {
			t.Errorf("%s: adverts' source MAC: keepalived %s, gkeepalived %s, want %s", c.name, ka.srcMAC, ours.srcMAC, vmacMAC)
		}
		if c.extra != "" && (ka.srcMAC == vmacMAC || ours.srcMAC == vmacMAC) {
			t.Errorf("%s: adverts' source MAC: keepalived %s, gkeepalived %s, want the base interface's", c.name, ka.srcMAC, ours.srcMAC)
		}
	}
}

// vmacCases are the two arrangements the VMAC kernel-state tests compare:
// adverts from the VMAC, and from the base interface (vmac_xmit_base).
var vmacCases = []struct{ name, extra string }{{"vmac", ""}, {"xmit_base", "    vmac_xmit_base"}}

// runVMACLabs runs one lab per arrangement and daemon, all at once (each
// waits mostly for elections), and returns their results by
// "arrangement/daemon"; ok is false when a lab failed.
func runVMACLabs[R any](t *testing.T, run func(t *testing.T, i impl, extra string) R) (runs map[string]R, ok bool) {
	t.Helper()
	var mu sync.Mutex
	runs = map[string]R{}
	t.Run("labs", func(t *testing.T) {
		for _, c := range vmacCases {
			for _, i := range []impl{kd, gk} {
				t.Run(c.name+"/"+string(i), func(t *testing.T) {
					t.Parallel()
					r := run(t, i, c.extra)
					mu.Lock()
					runs[c.name+"/"+string(i)] = r
					mu.Unlock()
				})
			}
		}
	})
	return runs, !t.Failed()
}

// vmacState is one thing both daemons' labs must show alike.
type vmacState struct{ what, ka, gk string }

func compareVMACStates(t *testing.T, arrangement string, states []vmacState) {
	t.Helper()
	for _, s := range states {
		if s.ka != s.gk {
			t.Errorf("%s: %s differs:\nkeepalived:\n%s\ngkeepalived:\n%s", arrangement, s.what, s.ka, s.gk)
		}
	}
}

// vmacNeigh is the client's ARP entry for the VIP ("" when none).
func vmacNeigh(t *testing.T, client *lab.Host) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := client.Run(ctx, "ip", "neigh", "show", vip.String())
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestIntegrationVMACMixedPairFailover: one gkeepalived and one keepalived
// 2.2.7, both with use_vmac, fail over both ways (SIGTERM to the master,
// then its restart and preemption); the client reaches the VIP on the new
// master each time, and its ARP entry for the VIP names the VRRP MAC or the
// holder's own MAC, never the previous holder's.
//
// Seen with keepalived 2.2.7 on both sides as well: the entry does not stay
// at the VRRP MAC. The holder's replies to the client leave by eth0 (the
// base interface's route to the subnet comes first), and its kernel
// resolves the client with an ARP request whose sender is the VIP and
// eth0's MAC (arp_announce 0, which keepalived leaves alone): the client
// then files that MAC for the VIP.
func TestIntegrationVMACMixedPairFailover(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		i1, i2 impl
	}{{"gk-master", gk, kd}, {"ka-master", kd, gk}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.i1, c.i2, true)
			p.failLogs()
			p.lb1.startHaproxy()
			p.lb2.startHaproxy()
			p.lb1.startDaemon(vmacConf("MASTER", 150, ""))
			p.lb2.startDaemon(vmacConf("BACKUP", 100, ""))
			start := time.Now()
			p.waitHolder("start", p.lb1, start, 15*time.Second)
			reach := func(step string, want *lb) {
				t.Helper()
				var got string
				var err error
				poll(t, 6*time.Second, step+": client reaches "+want.String()+" through the VIP", func() bool {
					got, err = p.fetch(300 * time.Millisecond)
					return err == nil && got == want.h.Name()
				})
				n := vmacNeigh(t, p.client)
				own := macOf(t, want.h)
				if !strings.Contains(n, "lladdr 00:00:5e:00:01:33") && !strings.Contains(n, "lladdr "+own) {
					t.Fatalf("%s: client's ARP entry for the VIP is %q, want the VRRP MAC 00:00:5e:00:01:33 or %s's %s", step, n, want, own)
				}
				t.Logf("%s: client's ARP entry: %s", step, n)
			}
			reach("start", p.lb1)
			p.stop(p.lb1)
			p.waitHolder("failover", p.lb2, time.Now(), 10*time.Second)
			reach("failover", p.lb2)
			p.waitExited(p.lb1)
			p.lb1.startDaemon(vmacConf("MASTER", 150, ""))
			p.waitHolder("takeback", p.lb1, time.Now(), 15*time.Second)
			reach("takeback", p.lb1)
		})
	}
}
