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
	"syscall"
	"testing"
	"time"

	"hapair/integration/lab"
	"hapair/integration/peers"
)

// buildOurs builds gproxy and gkeepalived once for the test.
func buildOurs(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	for _, cmd := range []string{"gproxy", "gkeepalived"} {
		c := exec.Command(goBin, "build", "-trimpath", "-o", filepath.Join(dir, cmd), "./cmd/"+cmd)
		c.Dir = root
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/%s: %v\n%s", cmd, err, out)
		}
	}
	return dir
}

func prefix(a netip.Addr, bits int) netip.Prefix { return netip.PrefixFrom(a, bits) }

// ecmpLab is the ECMP shape running: an FRR router, three balancers each
// running gproxy and gkeepalived (bgp block), two nginx web servers, a
// client with NumClients addresses.
type ecmpLab struct {
	l       *lab.Lab
	bins    string
	router  *lab.Host
	client  *lab.Host
	lbs     []*lab.Host
	proxies []*peers.Service
	kas     []*peers.Service
}

// Balancer roles: each is gated by the seed's track script (killall -0
// haproxy, every second). vrrp_track_process cannot gate them here: the
// kernel's process connector answers only in the machine's own network
// namespace (keepalived fails the same way: "Failed to set/clear process
// event listen - errno 111").
var (
	lbScript  = []bool{true, true, true}
	lbProcess = []bool{false, false, false}
	lbBFD     = []bool{false, false, false}
)

func startECMP(ctx context.Context, t *testing.T) *ecmpLab {
	t.Helper()
	e := &ecmpLab{l: lab.NewT(t), bins: buildOurs(t)}
	var err error
	if e.router, err = e.l.AddHost("router", RouterLB, RouterCl); err != nil {
		t.Fatal(err)
	}
	var cl []netip.Prefix
	for i := 0; i < NumClients; i++ {
		cl = append(cl, prefix(ClientAddr(i), 24))
	}
	if e.client, err = e.l.AddHost("client", cl...); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Run(ctx, "ip", "route", "add", "default", "via", RouterCl.Addr().String()); err != nil {
		t.Fatal(err)
	}
	for i := range webIPs {
		h, err := e.l.AddHost(fmt.Sprintf("web%d", i+1), prefix(WebAddr(i), 24))
		if err != nil {
			t.Fatal(err)
		}
		// nginx puts the balancer's address (the connection's source)
		// after its name.
		if _, err := peers.Nginx(ctx, e.l, h, fmt.Sprintf("web%02d $remote_addr", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	bfd := map[int]bool{}
	for i, b := range lbBFD {
		if b {
			bfd[i] = true
		}
	}
	if err := StartRouter(ctx, e.l, e.router, FRRConf(bfd), len(bfd) > 0); err != nil {
		t.Fatal(err)
	}
	for i := range balancerIPs {
		h, err := e.l.AddHost(fmt.Sprintf("lb%d", i+1), prefix(BalancerAddr(i), 24))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Run(ctx, "sh", "-ec", fmt.Sprintf("ip addr add %s/32 dev lo; ip route add %s via %s",
			Anycast, ClientNet, RouterLB.Addr())); err != nil {
			t.Fatal(err)
		}
		e.lbs = append(e.lbs, h)
		e.proxies = append(e.proxies, e.startProxy(ctx, t, i))
		e.kas = append(e.kas, e.startKeepalived(ctx, t, i))
	}
	return e
}

func (e *ecmpLab) startProxy(ctx context.Context, t *testing.T, i int) *peers.Service {
	t.Helper()
	d := peers.Haproxy(filepath.Join(e.bins, "gproxy"))
	d.ListenTCP = []int{80}
	s, err := peers.StartDaemon(ctx, e.l, e.lbs[i], d, "haproxy.cfg", []byte(GproxyConf()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *ecmpLab) startKeepalived(ctx context.Context, t *testing.T, i int) *peers.Service {
	t.Helper()
	conf := KeepalivedConf(i, lbScript[i], lbProcess[i], lbBFD[i])
	s, err := peers.StartDaemon(ctx, e.l, e.lbs[i], peers.Keepalived(filepath.Join(e.bins, "gkeepalived")), "keepalived.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	return s
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
// 10.0.0.100/32 over BGP (gkeepalived's bgp block, GoBGP embedded) to an
// FRR router with maximum-paths; clients' flows spread over the three; a
// balancer whose gproxy dies (or whose link goes, or whose gkeepalived
// stops) is withdrawn and the clients are served by the others; it rejoins
// when it is back. Every client address lands on the same web server
// whichever balancer answers (balance source over the same servers).
func TestIntegrationECMP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	e := startECMP(ctx, t)
	all := addrs(0, 1, 2)
	if _, err := WaitNexthops(ctx, e.router, all, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	t.Run("spread over three balancers", func(t *testing.T) {
		const n = 240
		answers, counts := spread(ctx, t, e.client, n)
		t.Logf("%d requests from %d client addresses: %v", n, NumClients, counts)
		for i := range balancerIPs {
			if c := counts[balancerIPs[i]]; c*5 < n {
				t.Errorf("lb%d (%s) served %d of %d requests, want at least 20%%", i+1, balancerIPs[i], c, n)
			}
		}
		sameWeb(t, answers)
	})

	prober := StartProber(ctx, e.client, 4, 20*time.Millisecond, time.Second)
	defer prober.Stop()
	var events []Event
	// event runs do, waits for the router to drop the balancer, lets the
	// requests in flight end, and records what the clients saw; then undo
	// brings the balancer back and the test waits for it to rejoin.
	event := func(name, detection string, lb int, do, undo func(), wantFailed bool) {
		t.Run(name, func(t *testing.T) {
			var rest []int
			for i := range balancerIPs {
				if i != lb {
					rest = append(rest, i)
				}
			}
			at := time.Now()
			do()
			conv, err := WaitNexthops(ctx, e.router, addrs(rest...), 15*time.Second)
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
			if !wantFailed && ev.Failed > 0 {
				t.Errorf("%d requests failed; want none", ev.Failed)
			}
			back := time.Now()
			undo()
			rejoined, err := WaitNexthops(ctx, e.router, all, 20*time.Second)
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
			if _, err := e.lbs[i].Run(ctx, "ip", "link", "set", "eth0", "down"); err != nil {
				t.Error(err)
			}
		}
	}
	linkUp := func(i int) func() {
		return func() {
			if _, err := e.lbs[i].Run(ctx, "ip", "link", "set", "eth0", "up"); err != nil {
				t.Error(err)
			}
			// The connected route went with the link: put the route
			// back to the clients.
			if _, err := e.lbs[i].Run(ctx, "ip", "route", "replace", ClientNet.String(), "via", RouterLB.Addr().String()); err != nil {
				t.Error(err)
			}
		}
	}
	killProxy := func(i int) func() {
		return func() {
			if err := e.lbs[i].Signal(ctx, "haproxy", syscall.SIGKILL); err != nil {
				t.Error(err)
			}
		}
	}
	startProxy := func(i int) func() { return func() { e.proxies[i] = e.startProxy(ctx, t, i) } }

	event("kill gproxy on lb1", "track_script killall -0 haproxy (interval 1 s)", 0, killProxy(0), startProxy(0), true)
	event("kill gproxy on lb2", "track_script killall -0 haproxy (interval 1 s)", 1, killProxy(1), startProxy(1), true)
	event("stop gkeepalived on lb2", "graceful withdrawal on SIGTERM", 1, func() {
		if err := e.kas[1].Signal(ctx, syscall.SIGTERM); err != nil {
			t.Error(err)
		}
	}, func() { e.kas[1] = e.startKeepalived(ctx, t, 1) }, false)
	event("lb1 link down (no BFD)", "BGP hold timer 3 s", 0, linkDown(0), linkUp(0), true)

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
