// Command demo runs the ECMP anycast shape (README "Scaling out") in
// private network namespaces and narrates it: an FRR router, three
// balancers (bin/gproxy + bin/gkeepalived announcing 10.0.0.100/32 over
// BGP), two nginx, a client with eight addresses; the spread over the
// balancers, a balancer whose gproxy dies, one whose gkeepalived stops.
// Needs root; `make demo SHAPE=ecmp` builds the binaries first.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"hapair/integration/lab"
	"hapair/integration/scaleout"
)

func main() {
	bins := flag.String("bin", "bin", "directory holding gproxy and gkeepalived")
	verbose := flag.Bool("v", false, "also show every command the lab runs")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (it creates network namespaces, never touching this machine's own network): sudo make demo SHAPE=ecmp")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bins, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func hops(ctx context.Context, e *scaleout.ECMP) string {
	h, err := scaleout.Nexthops(ctx, e.Router)
	if err != nil {
		return err.Error()
	}
	s := make([]string, len(h))
	for i, a := range h {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func run(ctx context.Context, bins string, verbose bool) error {
	abs, err := filepath.Abs(bins)
	if err != nil {
		return err
	}
	var logw io.Writer // nil: the lab logs nothing
	if verbose {
		logw = os.Stderr
	}
	l, err := lab.New(ctx, "ecmp-demo", logw)
	if err != nil {
		return err
	}
	defer func() { l.Close(); os.RemoveAll(l.Dir()) }()
	fmt.Printf("ECMP anycast: FRR router (AS %d, maximum-paths 8, per-flow hashing), balancers lb1..lb3 (AS %d) each with %s on lo,\n"+
		"running gproxy (balance source over web01, web02) and gkeepalived (bgp block gated by `killall -0 haproxy`).\n\n",
		scaleout.RouterAS, scaleout.BalancerAS, scaleout.Anycast)
	e, err := scaleout.StartECMP(ctx, l, abs)
	if err != nil {
		return err
	}
	all := []netip.Addr{scaleout.BalancerAddr(0), scaleout.BalancerAddr(1), scaleout.BalancerAddr(2)}
	at := time.Now()
	if _, err := scaleout.WaitNexthops(ctx, e.Router, all, 20*time.Second); err != nil {
		return err
	}
	fmt.Printf("The router has %s via %s (%s after the start).\n", scaleout.Anycast, hops(ctx, e), time.Since(at).Round(time.Millisecond))

	counts := map[string]int{}
	webs := map[netip.Addr]map[string]bool{}
	const n = 240
	for i := 0; i < n; i++ {
		a := scaleout.Get(ctx, e.Client, scaleout.ClientAddr(i%scaleout.NumClients), 2*time.Second)
		if a.Err != nil {
			fmt.Printf("  request from %s failed: %v\n", a.Src, a.Err)
			continue
		}
		counts[a.Balancer]++
		if webs[a.Src] == nil {
			webs[a.Src] = map[string]bool{}
		}
		webs[a.Src][a.Web] = true
	}
	fmt.Printf("%d requests from %d client addresses, a new connection each:\n", n, scaleout.NumClients)
	for i := range all {
		fmt.Printf("  lb%d served %3d (%2.0f%%)\n", i+1, counts[all[i].String()], 100*float64(counts[all[i].String()])/n)
	}
	var srcs []netip.Addr
	for s := range webs {
		srcs = append(srcs, s)
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Less(srcs[j]) })
	for _, s := range srcs {
		var w []string
		for x := range webs[s] {
			w = append(w, x)
		}
		sort.Strings(w)
		fmt.Printf("  client %s always reached %s, whichever balancer answered\n", s, strings.Join(w, " and "))
	}

	prober := scaleout.StartProber(ctx, e.Client, 4, 20*time.Millisecond, time.Second)
	defer prober.Stop()
	var events []scaleout.Event
	event := func(name, detection string, lb int, do, undo func() error) error {
		var rest []netip.Addr
		for i := range all {
			if i != lb {
				rest = append(rest, all[i])
			}
		}
		fmt.Printf("\n%s.\n", name)
		at := time.Now()
		if err := do(); err != nil {
			return err
		}
		conv, err := scaleout.WaitNexthops(ctx, e.Router, rest, 15*time.Second)
		if err != nil {
			return err
		}
		fmt.Printf("  the router dropped lb%d after %s: %s via %s\n", lb+1, conv.Sub(at).Round(time.Millisecond), scaleout.Anycast, hops(ctx, e))
		time.Sleep(1700 * time.Millisecond)
		ev := scaleout.Measure(name, detection, prober.Since(at), at, conv, time.Now())
		events = append(events, ev)
		if ev.Failed == 0 {
			fmt.Printf("  clients: none of %d requests failed\n", ev.All)
		} else {
			fmt.Printf("  clients: %d of %d requests failed, the last failed one ended %s after the event; the others served them\n",
				ev.Failed, ev.All, ev.Outage.Round(time.Millisecond))
		}
		back := time.Now()
		if err := undo(); err != nil {
			return err
		}
		if _, err := scaleout.WaitNexthops(ctx, e.Router, all, 20*time.Second); err != nil {
			return err
		}
		fmt.Printf("  lb%d is back: the router has it again %s later (%s)\n", lb+1, time.Since(back).Round(time.Millisecond), hops(ctx, e))
		return nil
	}
	if err := event("Killing gproxy on lb1 (kill -9)", "track_script killall -0 haproxy (1 s)", 0,
		func() error { return e.LBs[0].Signal(ctx, "haproxy", syscall.SIGKILL) },
		func() error { return e.StartProxy(ctx, 0) }); err != nil {
		return err
	}
	if err := event("Stopping gkeepalived on lb2 (SIGTERM: graceful withdrawal, gproxy still runs)", "graceful withdrawal", 1,
		func() error { return e.Keepaliveds[1].Signal(ctx, syscall.SIGTERM) },
		func() error { return e.StartKeepalived(ctx, 1) }); err != nil {
		return err
	}
	prober.Stop()
	fmt.Printf("\n| event | router converged | outage | failed requests |\n|---|---|---|---|\n")
	for _, ev := range events {
		fmt.Printf("| %s | %s | %s | %d of %d |\n", ev.Name, ev.Converged.Round(time.Millisecond), ev.Outage.Round(time.Millisecond), ev.Failed, ev.All)
	}
	return nil
}
