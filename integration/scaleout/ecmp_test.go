package scaleout

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hapair/integration/lab"
)

// The binaries are built once for the package's tests (TestMain removes
// them).
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildOurs builds gproxy, gkeepalived and gkeepalived-bgp, once per test
// binary.
func buildOurs(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			buildErr = err
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if binDir, buildErr = os.MkdirTemp("", "scaleout-bin-"); buildErr != nil {
			return
		}
		// gkeepalived-bgp, the bgp block's speaker, beside gkeepalived:
		// where gkeepalived looks first.
		for cmd, pkg := range map[string]string{"gproxy": "gproxy", "gkeepalived": "gkeepalived", "gkeepalived-bgp": "gkeepalived/bgpspeaker"} {
			c := exec.Command(goBin, "build", "-trimpath", "-o", filepath.Join(binDir, cmd), "./cmd/"+pkg)
			c.Dir = root
			c.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := c.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build ./cmd/%s: %v\n%s", cmd, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func prefix(a netip.Addr, bits int) netip.Prefix { return netip.PrefixFrom(a, bits) }

func startECMP(ctx context.Context, t *testing.T) *ECMP {
	t.Helper()
	bins := buildOurs(t)
	e, err := StartECMP(ctx, lab.NewT(t), bins)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func addrs(idx ...int) []netip.Addr {
	var out []netip.Addr
	for _, i := range idx {
		out = append(out, BalancerAddr(i))
	}
	return out
}

// spread sends n requests, from the client addresses in turn, and returns
// the share of each balancer; it fails the test on a failed request.
func spread(ctx context.Context, t *testing.T, client *lab.Host, n int) ([]Answer, map[string]int) {
	t.Helper()
	counts := map[string]int{}
	var answers []Answer
	for i := 0; i < n; i++ {
		a := Get(ctx, client, ClientAddr(i%NumClients), 2*time.Second)
		if a.Err != nil {
			t.Errorf("request %d from %s: %v", i, a.Src, a.Err)
			continue
		}
		counts[a.Balancer]++
		answers = append(answers, a)
	}
	return answers, counts
}

// sameWeb checks that every client address was served by one web server
// whichever balancer answered.
func sameWeb(t *testing.T, answers []Answer) {
	t.Helper()
	web := map[netip.Addr]map[string]map[string]int{} // client -> web -> balancer -> n
	for _, a := range answers {
		if a.Err != nil {
			continue
		}
		if web[a.Src] == nil {
			web[a.Src] = map[string]map[string]int{}
		}
		if web[a.Src][a.Web] == nil {
			web[a.Src][a.Web] = map[string]int{}
		}
		web[a.Src][a.Web][a.Balancer]++
	}
	if len(web) != NumClients {
		t.Errorf("answers from %d client addresses, want %d", len(web), NumClients)
	}
	multi := 0
	for src, ws := range web {
		if len(ws) != 1 {
			t.Errorf("client %s was served by %d web servers: %v", src, len(ws), ws)
		}
		for _, bs := range ws {
			if len(bs) > 1 {
				multi++
			}
		}
	}
	if multi == 0 {
		t.Errorf("no client address was answered by more than one balancer: nothing shows the choice is the same on each")
	}
}

// TestIntegrationECMP is the ECMP anycast shape: three balancers announce
// 10.0.0.100/32 over BGP (gkeepalived's bgp block; GoBGP in its speaker process) to an
// FRR router with maximum-paths; clients' flows spread over the three; a
// balancer whose gproxy dies (or whose link goes, or whose gkeepalived
// stops) is withdrawn and the clients are served by the others; it rejoins
// when it is back. Every client address lands on the same web server
// whichever balancer answers (balance source over the same servers).
func TestIntegrationECMP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	// In parallel with TestIntegrationActiveActive: both mostly wait on
	// timers.
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	e := startECMP(ctx, t)
	all := addrs(0, 1, 2)
	if _, err := WaitNexthops(ctx, e.Router, all, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	t.Run("spread over three balancers", func(t *testing.T) {
		const n = 240
		answers, counts := spread(ctx, t, e.Client, n)
		t.Logf("%d requests from %d client addresses: %v", n, NumClients, counts)
		for i := range balancerIPs {
			if c := counts[balancerIPs[i]]; c*5 < n {
				t.Errorf("lb%d (%s) served %d of %d requests, want at least 20%%", i+1, balancerIPs[i], c, n)
			}
		}
		sameWeb(t, answers)
	})

	prober := StartProber(ctx, e.Client, 4, 20*time.Millisecond, time.Second)
	defer prober.Stop()
	var events []Event
	// event runs do, waits for the router to drop the balancer, lets the
	// requests in flight end, and records what the clients saw; then undo
	// brings the balancer back and the test waits for it to rejoin.
	event := func(name, detection string, lb int, do, undo func()) {
		t.Run(name, func(t *testing.T) {
			var rest []int
			for i := range balancerIPs {
				if i != lb {
					rest = append(rest, i)
				}
			}
			at := time.Now()
			do()
			conv, err := WaitNexthops(ctx, e.Router, addrs(rest...), 15*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			// Requests are bounded by 1 s: those sent before the
			// withdrawal have ended 1.2 s after it; then half a second of
			// requests that must all be served by the others.
			time.Sleep(1700 * time.Millisecond)
			end := time.Now()
			ev := Measure(name, detection, prober.Since(at), at, conv, end)
			events = append(events, ev)
			t.Logf("%s: router converged after %s, last failed request ended %s after; %d of %d requests failed",
				name, ev.Converged.Round(time.Millisecond), ev.Outage.Round(time.Millisecond), ev.Failed, ev.All)
			for _, a := range prober.Since(conv.Add(1200 * time.Millisecond)) {
				if a.Sent.After(end) {
					break
				}
				if a.Err != nil {
					t.Errorf("request from %s sent %s after the withdrawal failed: %v", a.Src, a.Sent.Sub(conv).Round(time.Millisecond), a.Err)
				} else if a.Balancer == balancerIPs[lb] {
					t.Errorf("request from %s answered by the withdrawn lb%d", a.Src, lb+1)
				}
			}
			// No assertion on ev.Failed: even a graceful withdrawal
			// fails a few requests, those in flight to the other
			// balancers that the router rehashes when its next hop set
			// changes (Linux's hash-threshold multipath; FRR 8.4 does not
			// ask for resilient next hop groups).
			back := time.Now()
			undo()
			rejoined, err := WaitNexthops(ctx, e.Router, all, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("lb%d rejoined %s after it was brought back", lb+1, rejoined.Sub(back).Round(time.Millisecond))
			served := false
			deadline := time.Now().Add(5 * time.Second)
			for !served && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				for _, a := range prober.Since(rejoined) {
					served = served || (a.Err == nil && a.Balancer == balancerIPs[lb])
				}
			}
			if !served {
				t.Errorf("lb%d serves no client after rejoining", lb+1)
			}
		})
	}
	linkDown := func(i int) func() {
		return func() {
			if _, err := e.LBs[i].Run(ctx, "ip", "link", "set", "eth0", "down"); err != nil {
				t.Error(err)
			}
		}
	}
	linkUp := func(i int) func() {
		return func() {
			if _, err := e.LBs[i].Run(ctx, "ip", "link", "set", "eth0", "up"); err != nil {
				t.Error(err)
			}
			// The connected route went with the link: put the route
			// back to the clients.
			if _, err := e.LBs[i].Run(ctx, "ip", "route", "replace", ClientNet.String(), "via", RouterLB.Addr().String()); err != nil {
				t.Error(err)
			}
		}
	}
	killProxy := func(i int) func() {
		return func() {
			if err := e.LBs[i].Signal(ctx, "haproxy", syscall.SIGKILL); err != nil {
				t.Error(err)
			}
		}
	}
	startProxy := func(i int) func() {
		return func() {
			if err := e.StartProxy(ctx, i); err != nil {
				t.Error(err)
			}
		}
	}

	event("kill gproxy on lb1", "track_script killall -0 haproxy (interval 1 s)", 0, killProxy(0), startProxy(0))
	event("kill gproxy on lb2", "track_script killall -0 haproxy (interval 1 s)", 1, killProxy(1), startProxy(1))
	event("stop gkeepalived on lb2", "graceful withdrawal on SIGTERM", 1, func() {
		if err := e.Keepaliveds[1].Signal(ctx, syscall.SIGTERM); err != nil {
			t.Error(err)
		}
	}, func() {
		if err := e.StartKeepalived(ctx, 1); err != nil {
			t.Error(err)
		}
	})
	// The speaker process dies (SIGKILL): its sessions reset, the router
	// drops lb3's route; gkeepalived restarts the speaker (after 1 s), which
	// announces again: nothing to undo but waiting for the rejoin.
	event("kill gkeepalived's BGP speaker on lb3", "TCP reset of the sessions; gkeepalived restarts it", 2, func() {
		if err := e.LBs[2].Signal(ctx, "gkeepalived-bgp", syscall.SIGKILL); err != nil {
			t.Error(err)
		}
	}, func() {})
	event("lb1 link down", "BGP hold timer 3 s", 0, linkDown(0), linkUp(0))

	answers := prober.Stop()
	t.Run("same web server whichever balancer answers", func(t *testing.T) {
		sameWeb(t, answers)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "| event | withdrawn by | router converged | outage (last failed request ended) | failed requests |\n|---|---|---|---|---|\n")
	for _, ev := range events {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d of %d |\n", ev.Name, ev.Detection, ev.Converged.Round(time.Millisecond),
			ev.Outage.Round(time.Millisecond), ev.Failed, ev.All)
	}
	t.Log("\n" + b.String())
}
