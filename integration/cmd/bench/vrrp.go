package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// vrrpResult is one daemon's idle figures, printed by the child as JSON.
type vrrpResult struct {
	Daemon    string
	Instances int
	VIPs      int           // virtual addresses on v0 when measured
	Master    time.Duration // time until every VIP was up
	RSSKiB    int64         // sum of VmRSS over the process tree, end of window
	PSSKiB    int64         // sum of Pss over the tree
	Procs     int
	CPU       time.Duration // utime+stime over the window, whole tree
	Window    time.Duration
	Err       string
}

// perVeth is how many instances share one veth (VRIDs 1..250).
const perVeth = 250

// vrrpSizes are the instance counts measured.
var vrrpSizes = []int{1, 100, 1000}

// vrrpWindow is the measurement window for n instances: at least two
// minutes for one instance, whose idle CPU over 20 s was 20 adverts and
// ~1.5 ms, within what a single collection or scavenger pass costs; two
// minutes is Go's forced-collection period, so the window holds the
// runtime's periodic work as well as the adverts.
func vrrpWindow(o options, n int) time.Duration {
	if n == 1 && o.vrrpWindow < 2*time.Minute {
		return 2 * time.Minute
	}
	return o.vrrpWindow
}

func keepalivedConf(n int) string {
	var b strings.Builder
	b.WriteString("# make bench: n VRRP instances, one VIP each, alone on a veth in a private netns.\n")
	b.WriteString("global_defs {\n\trouter_id bench\n}\n")
	// VRIDs are unique per interface: 250 instances per veth.
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `
vrrp_instance VI_%d {
	state MASTER
	interface v%d
	virtual_router_id %d
	priority 100
	advert_int 1
	virtual_ipaddress {
		10.77.%d.%d/32
	}
}
`, i, (i-1)/perVeth, (i-1)%perVeth+1, i/250, i%250+1)
	}
	return b.String()
}

// vrrp measures keepalived and gkeepalived side by side (each alone in its
// own network namespace) with 1, 100 and 1,000 instances.
func (e *env) vrrp(ctx context.Context) error {
	return e.vrrpAt(ctx, vrrpSizes)
}

// vrrpAt is vrrp for the instance counts sizes; calls may run at the
// same time (make bench measures one instance, whose window is two
// minutes, while it measures the proxies).
func (e *env) vrrpAt(ctx context.Context, sizes []int) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	for _, n := range sizes {
		var wg sync.WaitGroup
		mu := &e.vrrpMu
		var firstErr error
		daemons := []string{"keepalived", "gkeepalived"}
		if e.o.vrrpOnly && e.o.baseBin != "" {
			daemons = append(daemons, "gkeepalived-before")
		}
		for _, d := range daemons {
			wg.Add(1)
			go func(d string) {
				defer wg.Done()
				r, err := e.vrrpRun(ctx, exe, d, n)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					e.result.VRRP = append(e.result.VRRP, r)
					fmt.Printf("%-11s %3d instances: VIPs %d up in %v, RSS %d KiB (PSS %d, %d procs), CPU %v over %v\n",
						d, n, r.VIPs, r.Master.Round(time.Millisecond), r.RSSKiB, r.PSSKiB, r.Procs, r.CPU, r.Window.Round(time.Millisecond))
				}
			}(d)
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
	}
	return nil
}

func (e *env) vrrpRun(ctx context.Context, exe, daemon string, n int) (vrrpResult, error) {
	ctx, cancel := context.WithTimeout(ctx, vrrpWindow(e.o, n)+240*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--mount", "--propagation", "private",
		exe, "-vrrp-child", daemon, "-vrrp-instances", fmt.Sprint(n),
		"-out", e.o.out, "-vrrp-window", e.o.vrrpWindow.String(), "-before", e.o.baseBin)
	cmd.Dir, _ = os.Getwd()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r vrrpResult
	for _, l := range strings.Split(string(out), "\n") {
		if j, ok := strings.CutPrefix(l, "VRRPRESULT "); ok {
			if jerr := json.Unmarshal([]byte(j), &r); jerr != nil {
				return r, fmt.Errorf("%s: %w", daemon, jerr)
			}
			if r.Err != "" {
				return r, fmt.Errorf("%s with %d instances: %s", daemon, n, r.Err)
			}
			return r, nil
		}
	}
	return r, fmt.Errorf("%s with %d instances: no result (%v): %s", daemon, n, err, stderr.String())
}

// vrrpChild runs inside `unshare --net --mount`: a veth pair, /run on a
// tmpfs, one daemon with n instances, measured once every VIP is up.
func vrrpChild(daemon string, n int, o options) int {
	r, err := vrrpMeasure(daemon, n, o)
	if err != nil {
		r.Err = err.Error()
	}
	j, _ := json.Marshal(r)
	fmt.Printf("VRRPRESULT %s\n", j)
	if err != nil {
		return 1
	}
	return 0
}

func vrrpMeasure(daemon string, n int, o options) (vrrpResult, error) {
	window := vrrpWindow(o, n)
	r := vrrpResult{Daemon: daemon, Instances: n, Window: window}
	// We must be in a fresh network namespace: it holds only lo.
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	if n := strings.Count(string(links), "\n"); err != nil || n != 1 {
		return r, fmt.Errorf("refusing to configure a namespace with %d interfaces (expected only lo): not a private netns (%v)", n, err)
	}
	cmds := [][]string{
		{"mount", "-t", "tmpfs", "tmpfs", "/run"},
		{"ip", "link", "set", "lo", "up"},
	}
	for k := 0; k*perVeth < n; k++ {
		v, w := fmt.Sprintf("v%d", k), fmt.Sprintf("w%d", k)
		cmds = append(cmds,
			[]string{"ip", "link", "add", v, "type", "veth", "peer", "name", w},
			[]string{"ip", "addr", "add", fmt.Sprintf("10.76.%d.1/24", k), "dev", v},
			[]string{"ip", "link", "set", v, "up"},
			[]string{"ip", "link", "set", w, "up"})
	}
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return r, fmt.Errorf("%s: %w: %s", strings.Join(c, " "), err, out)
		}
	}
	dir, err := filepath.Abs(filepath.Join(o.out, "tmp", "vrrp"))
	if err != nil {
		return r, err
	}
	conf := filepath.Join(dir, fmt.Sprintf("%s-%d.conf", daemon, n))
	if err := os.WriteFile(conf, []byte(keepalivedConf(n)), 0o644); err != nil {
		return r, err
	}
	prog := daemon
	switch daemon {
	case "gkeepalived":
		prog = filepath.Join(o.out, "tmp", "gkeepalived")
		if prog, err = filepath.Abs(prog); err != nil {
			return r, err
		}
	case "gkeepalived-before":
		if prog, err = filepath.Abs(o.baseBin); err != nil {
			return r, err
		}
	}
	p, err := startProc(dir, fmt.Sprintf("%s-%d", daemon, n), cpuProxy, nil, prog,
		"-n", "-l", "-D", "-P", "-f", conf, "-p", "/run/bench.pid", "-r", "/run/bench_vrrp.pid")
	if err != nil {
		return r, err
	}
	defer p.stop()
	start := time.Now()
	for r.VIPs < n {
		if p.exited() {
			return r, fmt.Errorf("%s exited: %s", daemon, p.logTail())
		}
		if time.Since(start) > 180*time.Second {
			return r, fmt.Errorf("%s: %d of %d VIPs up after 180 s: %s", daemon, r.VIPs, n, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
		r.VIPs = countVIPs()
	}
	r.Master = time.Since(start)
	// Past the gratuitous ARP bursts (at the transition and
	// vrrp_garp_master_delay, 5 s, later) and gkeepalived's one-off
	// return of its start-up garbage (12 s after the start): what is left
	// is steady state.
	time.Sleep(15 * time.Second)
	_, _, t0, _ := treeUsage(p.pid())
	w0 := time.Now()
	time.Sleep(window)
	rss, pss, t1, procs := treeUsage(p.pid())
	r.Window = time.Since(w0)
	r.RSSKiB, r.PSSKiB, r.Procs = rss, pss, procs
	r.CPU = t1 - t0
	r.VIPs = countVIPs()
	if r.VIPs != n {
		return r, fmt.Errorf("%s: only %d of %d VIPs left at the end of the window", daemon, r.VIPs, n)
	}
	return r, nil
}

// countVIPs counts the /32 addresses on the veths (`ip -o addr show`).
func countVIPs() int {
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		return 0
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "/32") {
			n++
		}
	}
	return n
}

// runVRRP is `bench -vrrp-only`: only the VRRP rows, written to
// <out>/vrrp.md (results.md stays the last full run's).
func runVRRP(ctx context.Context, o options) error {
	dir, err := filepath.Abs(filepath.Join(o.out, "tmp"))
	if err != nil {
		return err
	}
	e := &env{o: o, dir: dir, bin: dir, result: &results{}}
	if err := os.MkdirAll(filepath.Join(dir, "vrrp"), 0o755); err != nil {
		return err
	}
	fmt.Println("building gkeepalived")
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(e.bin, "gkeepalived"), "./cmd/gkeepalived")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building gkeepalived: %w: %s", err, out)
	}
	e.result.machine()
	e.result.LoadBefore = strings.TrimSpace(readFile("/proc/loadavg"))
	began := time.Now()
	if err := e.vrrp(ctx); err != nil {
		return err
	}
	e.result.LoadAfter = strings.TrimSpace(readFile("/proc/loadavg"))
	r := e.result
	var b strings.Builder
	b.WriteString("# bench -vrrp-only: gkeepalived vs keepalived, idle masters\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench -vrrp-only` (the VRRP rows of `make bench`); one run.\n\n")
	fmt.Fprintf(&b, "- date: %s; the run took %v\n- machine: %s\n- load average before / after: %s / %s\n- bench binary: %s\n\n",
		r.Date, time.Since(began).Round(time.Second), r.Machine, r.LoadBefore, r.LoadAfter, runtime.Version())
	fmt.Fprintf(&b, "Each daemon alone in a private network namespace, state MASTER, advert_int 1, one /32 VIP per\n"+
		"instance, %d instances per veth (VRIDs 1..%d), measured over %v (1 instance: %v) starting 15 s after every VIP is\n"+
		"up (past the gratuitous-ARP bursts and gkeepalived's start-up trim); RSS/PSS/CPU summed over the process tree (keepalived forks a\n"+
		"VRRP child). Both daemons run at the same time, each pinned to the same CPU.\n\n", perVeth, perVeth, o.vrrpWindow, vrrpWindow(o, 1))
	b.WriteString("| case | unit | better | keepalived | gkeepalived | gkeepalived/keepalived |\n|---|---|---|---|---|---|\n")
	for _, x := range r.rows() {
		if x.refName != "keepalived" {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", x.what, x.unit, x.better, num(x.ref), num(x.ours), ratio(x.ours, x.ref))
	}
	if o.baseBin != "" {
		fmt.Fprintf(&b, "\nThe same run with the gkeepalived binary given with -before (%s):\n\n", o.baseBin)
		b.WriteString("| instances | keepalived RSS KiB | before | ratio | after | ratio | keepalived CPU ms/s | before | ratio | after | ratio |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, n := range vrrpSizes {
			k, g, old := r.vrrpOf("keepalived", n), r.vrrpOf("gkeepalived", n), r.vrrpOf("gkeepalived-before", n)
			if k == nil || g == nil || old == nil {
				continue
			}
			kc, gc, oc := vrrpCPU(k), vrrpCPU(g), vrrpCPU(old)
			fmt.Fprintf(&b, "| %d | %d | %d | %s | %d | %s | %s | %s | %s | %s | %s |\n", n, k.RSSKiB,
				old.RSSKiB, ratio(float64(old.RSSKiB), float64(k.RSSKiB)), g.RSSKiB, ratio(float64(g.RSSKiB), float64(k.RSSKiB)),
				num(kc), num(oc), ratio(oc, kc), num(gc), ratio(gc, kc))
		}
	}
	b.WriteString("\n## Raw figures\n\n```\n")
	for _, v := range r.VRRP {
		fmt.Fprintf(&b, "%s, %d instances: %d VIPs up after %v; %d processes, VmRSS %d KiB, Pss %d KiB, CPU %v over %v\n",
			v.Daemon, v.Instances, v.VIPs, v.Master.Round(time.Millisecond), v.Procs, v.RSSKiB, v.PSSKiB, v.CPU, v.Window.Round(time.Millisecond))
	}
	b.WriteString("```\n")
	return os.WriteFile(filepath.Join(o.out, "vrrp.md"), []byte(b.String()), 0o644)
}

// vrrpOf is the result of daemon with n instances, nil if none.
func (r *results) vrrpOf(daemon string, n int) *vrrpResult {
	for i := range r.VRRP {
		if r.VRRP[i].Daemon == daemon && r.VRRP[i].Instances == n {
			return &r.VRRP[i]
		}
	}
	return nil
}

// vrrpCPU is a result's idle CPU in ms/s.
func vrrpCPU(v *vrrpResult) float64 {
	return float64(v.CPU) / float64(time.Millisecond) / v.Window.Seconds()
}
