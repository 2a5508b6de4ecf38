package scaleout

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/integration/lab"
	"hapair/integration/peers"
)

// The active/active lab uses conf/active-active as written: the seed's
// addresses, inside the lab's namespaces only.
var (
	aaVIP    = []netip.Addr{netip.MustParseAddr("192.168.1.84"), netip.MustParseAddr("192.168.1.85")}
	aaLB     = []netip.Prefix{netip.MustParsePrefix("192.168.1.80/24"), netip.MustParsePrefix("192.168.1.81/24")}
	aaWeb    = []netip.Prefix{netip.MustParsePrefix("192.168.1.68/24"), netip.MustParsePrefix("192.168.1.69/24")}
	aaClient = netip.MustParsePrefix("192.168.1.100/24")
)

func readConf(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../conf/active-active", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vipHolder returns the index of the balancer holding vip, -1 if none,
// -2 if both do.
func vipHolder(lbs []*lab.Host, vip netip.Addr) int {
	at := -1
	for i, h := range lbs {
		if h.HasAddr(vip) {
			if at >= 0 {
				return -2
			}
			at = i
		}
	}
	return at
}

// TestIntegrationActiveActive is active/active VRRP with conf/active-active:
// two VIPs, lb1 (gproxy + gkeepalived) master of the first, lb2 (Debian's
// haproxy 2.6 + keepalived 2.2.7) master of the second. Both VIPs are
// served, each by its own node; when a node's proxy dies its VIP moves to
// the other node (which then serves both) and comes back when the proxy
// is back.
func TestIntegrationActiveActive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	t.Parallel() // with TestIntegrationECMP
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	bins := buildOurs(t)
	l := lab.NewT(t)
	client, err := l.AddHost("client", aaClient)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range aaWeb {
		h, err := l.AddHost(fmt.Sprintf("web%d", i+1), p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := peers.Nginx(ctx, l, h, fmt.Sprintf("web%02d $remote_addr", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	proxy := []peers.Daemon{peers.Haproxy(filepath.Join(bins, "gproxy")), peers.Haproxy("/usr/sbin/haproxy")}
	vrrp := []peers.Daemon{peers.Keepalived(filepath.Join(bins, "gkeepalived")), peers.Keepalived("/usr/sbin/keepalived")}
	names := []string{"lb1 (gproxy, gkeepalived)", "lb2 (haproxy 2.6, keepalived 2.2.7)"}
	var lbs []*lab.Host
	startProxy := func(i int) {
		d := proxy[i]
		d.ListenTCP = []int{80}
		if _, err := peers.StartDaemon(ctx, l, lbs[i], d, "haproxy.cfg", readConf(t, "haproxy.cfg")); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range aaLB {
		h, err := l.AddHost(fmt.Sprintf("lb%d", i+1), p)
		if err != nil {
			t.Fatal(err)
		}
		lbs = append(lbs, h)
		startProxy(i)
		if _, err := peers.StartDaemon(ctx, l, h, vrrp[i], "keepalived.conf", readConf(t, fmt.Sprintf("keepalived-lb%d.conf", i+1))); err != nil {
			t.Fatal(err)
		}
	}

	// served polls (every 50 ms, up to d) until vip is held by node want
	// alone and a request to it is answered through that node; it
	// returns when that answer came and how many requests failed before.
	served := func(vip netip.Addr, want int, d time.Duration) (time.Time, int, error) {
		deadline := time.Now().Add(d)
		failed := 0
		last := ""
		for time.Now().Before(deadline) {
			code, body, err := client.Get(ctx, "http://"+vip.String()+"/", 500*time.Millisecond)
			f := strings.Fields(string(body))
			switch {
			case err != nil || code != 200 || len(f) != 2:
				failed++
				last = fmt.Sprintf("%d %q %v", code, body, err)
			case f[1] == aaLB[want].Addr().String() && vipHolder(lbs, vip) == want:
				return time.Now(), failed, nil
			default:
				last = fmt.Sprintf("answered via %s, VIP on lb%d", f[1], vipHolder(lbs, vip)+1)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Time{}, failed, fmt.Errorf("%s not served via lb%d within %s (last: %s)", vip, want+1, d, last)
	}

	for v, vip := range aaVIP {
		if _, _, err := served(vip, v, 20*time.Second); err != nil {
			t.Fatalf("at start: %v", err)
		}
	}
	t.Logf("both VIPs served: %s by %s, %s by %s", aaVIP[0], names[0], aaVIP[1], names[1])

	type move struct {
		what           string
		outage, rejoin time.Duration
		failed         int
	}
	var moves []move
	for i := range lbs {
		other := 1 - i
		t.Run(fmt.Sprintf("kill the proxy on lb%d", i+1), func(t *testing.T) {
			at := time.Now()
			if err := lbs[i].Signal(ctx, "haproxy", syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			got, failed, err := served(aaVIP[i], other, 15*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			// The other VIP stays where it was, served.
			if _, _, err := served(aaVIP[other], other, 2*time.Second); err != nil {
				t.Errorf("the other VIP: %v", err)
			}
			back := time.Now()
			startProxy(i)
			again, _, err := served(aaVIP[i], i, 15*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := served(aaVIP[other], other, 2*time.Second); err != nil {
				t.Errorf("the other VIP after the return: %v", err)
			}
			moves = append(moves, move{what: fmt.Sprintf("kill the proxy on %s: %s moves to lb%d", names[i], aaVIP[i], other+1),
				outage: got.Sub(at), rejoin: again.Sub(back), failed: failed})
		})
	}
	var b strings.Builder
	b.WriteString("| event | outage (kill -> served via the other node) | failed requests (every 50 ms) | back on its node after the proxy restarts |\n|---|---|---|---|\n")
	for _, m := range moves {
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", m.what, m.outage.Round(time.Millisecond), m.failed, m.rejoin.Round(time.Millisecond))
	}
	t.Log("\n" + b.String())
}
