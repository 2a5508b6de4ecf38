package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// targetResult holds one target's raw figures.
type targetResult struct {
	KeepAlive, Close, Big          wrkResult
	CPUKeepAlive, CPUClose, CPUBig ticks // proxy utime, stime over each run
	Latency                        *rateResult
	LatencyHTTP                    *rateResult // (d) through proxy-http.cfg
	RSSBefore, RSSAfter            int64       // KiB
	FDBefore, FDAfter              int
	IdleCPU, IdleWindow, OpenTook  time.Duration
	MaxHeld, MaxFDs                int // connections held when trying idleMax, descriptors then
	MaxErr                         string
	HTTP                           map[string]httpRun // mode http runs by case id ("http-ka", "l7-close"...)
	TLS                            map[string]tlsRun  // TLS runs by case id ("ka", "close", "h2")
	IdleByMode                     map[string]idleRun // idle connections by mode ("tcp" in -http-only, "http")
	TwoThread                      map[string]tlsRun  // (i) keep-alive at 2 threads, unpinned, by mode ("tcp", "http")
}

// idleRun is the proxy's memory and descriptors before and after
// opening n idle connections (each after one request).
type idleRun struct {
	N                   int
	RSSBefore, RSSAfter int64 // KiB
	FDBefore, FDAfter   int
	CPU, Window         time.Duration // the proxy's CPU while they are idle
}

type results struct {
	Idle, IdleMax         int
	Date, Machine         string
	Versions              [][2]string
	LoadBefore, LoadAfter string
	Took                  time.Duration
	T                     map[string]*targetResult
	VRRP                  []vrrpResult
}

func (r *results) get(name string) *targetResult {
	if r.T == nil {
		r.T = map[string]*targetResult{}
	}
	if r.T[name] == nil {
		r.T[name] = &targetResult{}
	}
	return r.T[name]
}

func (r *results) machine() {
	r.Date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	mem := ""
	for _, l := range strings.Split(readFile("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			mem = strings.TrimSpace(v)
		}
	}
	model := ""
	for _, l := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			break
		}
	}
	r.Machine = fmt.Sprintf("nproc --all %s (%s), MemTotal %s, kernel %s", firstLine("nproc", "--all"), model, mem, firstLine("uname", "-r"))
	gover, _ := exec.Command("go", "version").Output()
	r.Versions = [][2]string{
		{"go", strings.TrimSpace(string(gover))},
		{"haproxy -v", firstLine("haproxy", "-v")},
		{"keepalived -v", firstLine("keepalived", "-v")},
		{"nginx -v", firstLine("nginx", "-v")},
		{"wrk -v", firstLine("wrk", "-v")},
		{"gproxy -v", firstLine(filepath.Join("bench", "tmp", "gproxy"), "-v")},
		{"gkeepalived -v", firstLine(filepath.Join("bench", "tmp", "gkeepalived"), "-v")},
	}
}

type row struct {
	what, unit, better string
	direct, ref, ours  float64 // NaN-free: 0 means not applicable
	refName            string
	zeroOK             bool // 0 in ref or ours is a measurement (idle CPU), not "not applicable"
}

// cell is v as the table prints it.
func (x row) cell(v float64) string {
	if v == 0 && x.zeroOK {
		return "0"
	}
	return num(v)
}

// ratio is ours/reference as the table prints it.
func (x row) ratio() string {
	if x.ours == 0 && x.zeroOK && x.ref > 0 {
		return "0.00"
	}
	return ratio(x.ours, x.ref)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func (r *results) rows() []row {
	d, h, g := r.get("direct"), r.get("haproxy"), r.get("gproxy")
	rate := func(w wrkResult) float64 { return w.perSec(w.Requests) }
	gbs := func(w wrkResult) float64 { return w.perSec(w.Bytes) / 1e9 }
	cpuPer := func(t ticks, n int64, scale float64) float64 {
		if n == 0 {
			return 0
		}
		return float64(time.Duration(t.U+t.S)*clockTick) / float64(time.Microsecond) / float64(n) * scale
	}
	rows := []row{
		{what: "(a) keep-alive, 128 B responses", unit: "req/s", better: "↑", direct: rate(d.KeepAlive), ref: rate(h.KeepAlive), ours: rate(g.KeepAlive)},
		{what: "(b) new connection per request", unit: "conn/s", better: "↑", direct: rate(d.Close), ref: rate(h.Close), ours: rate(g.Close)},
		{what: "(c) 1 MiB bodies", unit: "GB/s", better: "↑", direct: gbs(d.Big), ref: gbs(h.Big), ours: gbs(g.Big)},
	}
	if d.Latency != nil && h.Latency != nil && g.Latency != nil {
		at := fmt.Sprintf(" at %d req/s", d.Latency.Rate)
		rows = append(rows,
			row{what: "(d) p50 latency" + at, unit: "µs", better: "↓", direct: us(d.Latency.P50), ref: us(h.Latency.P50), ours: us(g.Latency.P50)},
			row{what: "(d) p99 latency" + at, unit: "µs", better: "↓", direct: us(d.Latency.P99), ref: us(h.Latency.P99), ours: us(g.Latency.P99)},
			row{what: "(d) p99.9 latency" + at, unit: "µs", better: "↓", direct: us(d.Latency.P999), ref: us(h.Latency.P999), ours: us(g.Latency.P999)},
		)
		if h.LatencyHTTP != nil && g.LatencyHTTP != nil {
			rows = append(rows,
				row{what: "(d) p50 latency" + at + ", mode http", unit: "µs", better: "↓", direct: us(d.Latency.P50), ref: us(h.LatencyHTTP.P50), ours: us(g.LatencyHTTP.P50)},
				row{what: "(d) p99 latency" + at + ", mode http", unit: "µs", better: "↓", direct: us(d.Latency.P99), ref: us(h.LatencyHTTP.P99), ours: us(g.LatencyHTTP.P99)},
				row{what: "(d) p99.9 latency" + at + ", mode http", unit: "µs", better: "↓", direct: us(d.Latency.P999), ref: us(h.LatencyHTTP.P999), ours: us(g.LatencyHTTP.P999)},
			)
		}
	}
	perConn := func(t *targetResult) float64 { return float64(t.RSSAfter-t.RSSBefore) / float64(r.Idle) }
	fdPer := func(t *targetResult) float64 { return float64(t.FDAfter-t.FDBefore) / float64(r.Idle) }
	idle := func(t *targetResult) float64 {
		if t.IdleWindow == 0 {
			return 0
		}
		return float64(t.IdleCPU) / float64(time.Millisecond) / t.IdleWindow.Seconds()
	}
	n := fmt.Sprintf("%d", r.Idle)
	rows = append(rows,
		row{what: "(e) RSS per idle proxied connection (" + n + ")", unit: "KiB", better: "↓", ref: perConn(h), ours: perConn(g)},
		row{what: "(e) descriptors per idle proxied connection", unit: "fds", better: "↓", ref: fdPer(h), ours: fdPer(g)},
		row{what: "(e) CPU with " + n + " idle connections", unit: "ms/s", better: "↓", ref: idle(h), ours: idle(g), zeroOK: h.IdleWindow > 0 && g.IdleWindow > 0},
		row{what: fmt.Sprintf("(e) idle connections held of %d tried (fd limit %d)", r.IdleMax, fdLimit), unit: "conns", better: "↑", ref: float64(h.MaxHeld), ours: float64(g.MaxHeld)},
	)
	if hi, gi := h.IdleByMode["http"], g.IdleByMode["http"]; hi.N > 0 && gi.N > 0 {
		idleCPU := func(i idleRun) float64 {
			if i.Window == 0 {
				return 0
			}
			return float64(i.CPU) / float64(time.Millisecond) / i.Window.Seconds()
		}
		rows = append(rows,
			row{what: fmt.Sprintf("(e) RSS per idle proxied connection, mode http (%d)", hi.N), unit: "KiB", better: "↓", ref: hi.perConnKiB(), ours: gi.perConnKiB()},
			row{what: "(e) descriptors per idle proxied connection, mode http", unit: "fds", better: "↓", ref: hi.perConnFDs(), ours: gi.perConnFDs()},
			row{what: fmt.Sprintf("(e) CPU with %d idle connections, mode http", hi.N), unit: "ms/s", better: "↓", ref: idleCPU(hi), ours: idleCPU(gi), zeroOK: hi.Window > 0 && gi.Window > 0},
		)
	}
	rows = append(rows,
		row{what: "(f) proxy CPU per request, (a)", unit: "µs", better: "↓", ref: cpuPer(h.CPUKeepAlive, h.KeepAlive.Requests, 1), ours: cpuPer(g.CPUKeepAlive, g.KeepAlive.Requests, 1)},
		row{what: "(f) proxy CPU per connection, (b)", unit: "µs", better: "↓", ref: cpuPer(h.CPUClose, h.Close.Requests, 1), ours: cpuPer(g.CPUClose, g.Close.Requests, 1)},
		row{what: "(f) proxy CPU per MiB, (c)", unit: "µs", better: "↓", ref: cpuPer(h.CPUBig, h.Big.Requests, 1), ours: cpuPer(g.CPUBig, g.Big.Requests, 1)},
	)
	for i := range rows {
		rows[i].refName = "haproxy"
	}
	rows = append(rows, r.httpRows()...)
	rows = append(rows, r.tlsRows()...)
	rows = append(rows, r.twoThreadRows()...)
	vr := func(d string, n int) *vrrpResult {
		for i := range r.VRRP {
			if r.VRRP[i].Daemon == d && r.VRRP[i].Instances == n {
				return &r.VRRP[i]
			}
		}
		return nil
	}
	for _, n := range vrrpSizes {
		k, g := vr("keepalived", n), vr("gkeepalived", n)
		if k == nil || g == nil {
			continue
		}
		cpu := func(v *vrrpResult) float64 {
			return float64(v.CPU) / float64(time.Millisecond) / v.Window.Seconds()
		}
		rows = append(rows,
			row{what: fmt.Sprintf("VRRP RSS, %d instance(s), process tree", n), unit: "KiB", better: "↓", ref: float64(k.RSSKiB), ours: float64(g.RSSKiB), refName: "keepalived"},
			row{what: fmt.Sprintf("VRRP PSS, %d instance(s), process tree", n), unit: "KiB", better: "↓", ref: float64(k.PSSKiB), ours: float64(g.PSSKiB), refName: "keepalived"},
			row{what: fmt.Sprintf("VRRP idle CPU, %d instance(s), master", n), unit: "ms/s", better: "↓", ref: cpu(k), ours: cpu(g), refName: "keepalived"},
		)
	}
	return rows
}

func (r *results) table() string {
	var b strings.Builder
	b.WriteString("| case | unit | better | direct | reference | ours | ours/reference | ours/direct |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.rows() {
		ref := x.refName
		ours := "gproxy"
		if ref == "keepalived" {
			ours = "gkeepalived"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s %s | %s %s | %s | %s |\n", x.what, x.unit, x.better,
			num(x.direct), ref, x.cell(x.ref), ours, x.cell(x.ours), x.ratio(), ratio(x.ours, x.direct))
	}
	return b.String()
}

func (r *results) raw() string {
	var b strings.Builder
	for _, name := range []string{"direct", "haproxy", "gproxy"} {
		t := r.get(name)
		fmt.Fprintf(&b, "%s:\n", name)
		for _, c := range []struct {
			n   string
			w   wrkResult
			cpu ticks
		}{{"(a)", t.KeepAlive, t.CPUKeepAlive}, {"(b)", t.Close, t.CPUClose}, {"(c)", t.Big, t.CPUBig}} {
			fmt.Fprintf(&b, "  %s wrk: %d requests, %d bytes in %v, %d errors", c.n, c.w.Requests, c.w.Bytes,
				c.w.Duration.Round(time.Millisecond), c.w.Errors)
			if name != "direct" {
				fmt.Fprintf(&b, "; proxy CPU user %v sys %v", time.Duration(c.cpu.U)*clockTick, time.Duration(c.cpu.S)*clockTick)
			}
			fmt.Fprintf(&b, "; wrk CPU %v, nginx %v; %s", c.w.Load.Client.Round(time.Millisecond), c.w.Load.Server.Round(time.Millisecond), busyText(c.w.Busy))
			b.WriteString("\n")
		}
		httpRaw(&b, t)
		tlsRaw(&b, t)
		twoThreadRaw(&b, t)
		for _, l := range []struct {
			mode string
			r    *rateResult
		}{{"", t.Latency}, {", mode http", t.LatencyHTTP}} {
			if l.r == nil {
				continue
			}
			fmt.Fprintf(&b, "  (d)%s %d req/s over %d connections: %d samples (%.0f/s), p50 %v p99 %v p99.9 %v, %d late, %d errors\n",
				l.mode, l.r.Rate, l.r.Conns, l.r.Samples, l.r.Achieved, l.r.P50, l.r.P99, l.r.P999, l.r.Late, l.r.Errors)
		}
		if t.RSSAfter > 0 {
			fmt.Fprintf(&b, "  (e) %d idle connections opened in %v: VmRSS %d -> %d KiB, fds %d -> %d, CPU %v over %v\n", r.Idle,
				t.OpenTook.Round(time.Millisecond), t.RSSBefore, t.RSSAfter, t.FDBefore, t.FDAfter, t.IdleCPU, t.IdleWindow.Round(time.Millisecond))
			fmt.Fprintf(&b, "  (e) trying %d: %d held, %d fds; %s\n", r.IdleMax, t.MaxHeld, t.MaxFDs, orOK(t.MaxErr))
		}
		if i, ok := t.IdleByMode["http"]; ok {
			fmt.Fprintf(&b, "  (e) mode http, %d idle connections: VmRSS %d -> %d KiB, fds %d -> %d, CPU %v over %v\n", i.N,
				i.RSSBefore, i.RSSAfter, i.FDBefore, i.FDAfter, i.CPU, i.Window.Round(time.Millisecond))
		}
	}
	for _, v := range r.VRRP {
		fmt.Fprintf(&b, "%s, %d instances: %d VIPs up after %v; %d processes, VmRSS %d KiB, Pss %d KiB, CPU %v over %v\n",
			v.Daemon, v.Instances, v.VIPs, v.Master.Round(time.Millisecond), v.Procs, v.RSSKiB, v.PSSKiB, v.CPU, v.Window.Round(time.Millisecond))
	}
	return b.String()
}

// busyText is how busy both CPUs were over a run, every process
// counted: beside the bench's own processes' CPU it shows the other
// work that shared the cores.
func busyText(b [2]float64) string {
	return fmt.Sprintf("CPU 0 busy %.0f%%, CPU 1 %.0f%%", 100*b[0], 100*b[1])
}

func orOK(s string) string {
	if s == "" {
		return "no error"
	}
	return s
}

func (r *results) write(out string) error {
	var b strings.Builder
	b.WriteString("# make bench: gproxy vs haproxy, gkeepalived vs keepalived\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench` (`make bench`); one run, ratios from that run.\n")
	b.WriteString("Every process shares the machine's 2 cores with other work: compare ratios, not absolute figures across runs.\n\n")
	fmt.Fprintf(&b, "- date: %s; the run took %v\n- machine: %s\n- load average before / after: %s / %s\n", r.Date, r.Took, r.Machine, r.LoadBefore, r.LoadAfter)
	for _, v := range r.Versions {
		fmt.Fprintf(&b, "- %s: %s\n", v[0], v[1])
	}
	fmt.Fprintf(&b, "- bench binary: %s\n", runtime.Version())
	b.WriteString(`
Setup: nginx-light (1 worker, sendfile, keepalive_timeout 300s) on 127.77.0.1:8080 serving a
128-byte file and a 1 MiB file; each proxy alone on 127.77.0.2:8000 with the same file
(bench/tmp/proxy.cfg: mode tcp, roundrobin, one server, nbthread 1); gproxy with GOMAXPROCS=1.
The proxy is pinned to CPU 1 (taskset), nginx, wrk and the Go load generator to CPU 0, so
"direct" is what the client and nginx do on one core: gproxy/direct near 1 means the proxy
is not the bottleneck. wrk 1 thread, 50 connections, 6 s per case. (d) is this program's
open-loop generator: a fixed schedule over 50 keep-alive connections, latency counted from
each request's scheduled time (no coordinated omission), first second discarded; the rate is
30% of the slowest (a), then the same rate through each proxy with bench/tmp/proxy-http.cfg
(mode http, below). (e) opens the connections through a freshly started proxy, one request
on each, then reads VmRSS and the descriptor count 2 s later and the proxy's CPU (schedstat)
over the next seconds; in mode tcp (proxy.cfg), then in mode http (proxy-http.cfg), at the same
count; every process the bench starts gets its RLIMIT_NOFILE soft limit raised to the hard one
(` + "`fd limit`" + ` in the row; a proxied connection needs two descriptors in the proxy, so 10,000
would need over 20,000). (f) is utime+stime of the proxy from /proc/PID/stat over the run, divided by requests (10 ms ticks). VRRP: each daemon alone in a
private network namespace (unshare --net) on a veth, state MASTER, advert_int 1, one /32 VIP
per instance, distinct VRIDs; measured over the window after every VIP is up and the
gratuitous-ARP bursts are over; RSS/PSS/CPU summed over the daemon's process tree
(keepalived forks a VRRP child); the window is 2 minutes for one instance (Go's forced
collection period), measured while the proxy rows run (each daemon then uses ~0.1 ms/s),
and 20 s for 100 and 1,000 instances, after them. (g) is mode http, the same 128-byte file through each proxy
alone (nbthread 1 / GOMAXPROCS=1, pinned as above), keep-alive and with "Connection: close"
(a new client connection per request: gproxy sends it over an idle server connection,
haproxy's http-reuse safe over a new one, see bench/NOTES.md), with two configurations: bench/tmp/proxy-http.cfg (mode http, one server) and
bench/tmp/proxy-l7.cfg (typical L7 rules: 12 ACLs, three deny rules whose conditions are
false, option forwardfor, two set-header, one use_backend, option httplog to a UDP collector
this program drains); its ours/direct column compares with direct (a) and (b). (h) is TLS
termination (bench/tmp/proxy-tls.cfg, an ECDSA P-256 certificate, TLS 1.3): keep-alive requests and
a new connection per request (wrk offers its last session: resumed TLS 1.3 handshakes) over TLS in mode tcp
(wrk https), HTTP/2 with ALPN h2 in mode http (h2load from nghttp2-client, 1 thread, 50
connections, 10 streams each); each proxy runs each case twice for 3 s, in the order haproxy,
gproxy, gproxy, haproxy, so that outside load changing during the run weighs on both alike.
"bench -tls" (bench/tls.md) has the handshake, resumption and 1 MiB rows. (i) is keep-alive
throughput at two threads, as a default install runs here: haproxy ` + "`nbthread 2`" + `, gproxy with Go's
default GOMAXPROCS (2), nothing pinned (the proxy, wrk and nginx share both cores), mode tcp
(proxy-2t.cfg) and mode http (proxy-http-2t.cfg), in the same haproxy, gproxy, gproxy, haproxy
rounds of 3 s. The section after the table compares each proxy's CPU per request with what
wrk (or h2load) and nginx used in the same run. CPU profiles and system call counts of each
case: bench/profile.md (a)-(c), profile-http.md (g), profile-tls.md (h).

`)
	b.WriteString(r.table())
	b.WriteString(r.limitSection())
	b.WriteString("\n## Raw figures\n\n```\n")
	b.WriteString(r.raw())
	b.WriteString("```\n")
	fmt.Println()
	fmt.Print(r.table())
	fmt.Print(r.limitSection())
	path := filepath.Join(out, "results.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwritten to %s\n", path)
	return nil
}
