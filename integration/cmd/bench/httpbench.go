package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/gproxyd"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// mode http: the same nginx backend, each proxy with nbthread 1 (gproxy
// GOMAXPROCS=1) pinned to the proxy CPU, wrk on the load CPU. Two
// configurations: plain (mode http, one server: the HTTP/1 parse and
// forward alone) and typical L7 rules (a dozen ACLs, option forwardfor,
// two set-header, one use_backend, httplog to a UDP collector this
// program drains), each at keep-alive and with "Connection: close".

// logSinkAddr receives the httplog lines of the L7 case (syslog over UDP,
// read and discarded by this program on the load CPU).
const logSinkAddr = "127.77.0.3:5514"

const httpCfg = `# make bench, mode http: the same file for haproxy 2.6 and gproxy.
global
	maxconn 9000
	nbthread 1

defaults
	mode http
	timeout connect 5s
	timeout client 300s
	timeout server 300s

listen bench
	bind ` + proxyAddr + `
	balance roundrobin
	server nginx ` + backendAddr + `
`

// httpRulesCfg is a typical L7 configuration: its ACLs are evaluated on
// every request (the deny conditions are false for the bench's requests),
// /small.html goes to the "static" backend by use_backend.
const httpRulesCfg = `# make bench, mode http with typical L7 rules: the same file for haproxy 2.6 and gproxy.
global
	maxconn 9000
	nbthread 1
	log ` + logSinkAddr + ` local0

defaults
	mode http
	log global
	option httplog
	option dontlognull
	timeout connect 5s
	timeout client 300s
	timeout server 300s
	timeout http-request 10s

frontend bench
	bind ` + proxyAddr + `
	option forwardfor
	acl is_static path_beg /static /images /css /js
	acl is_api path_beg /api
	acl is_admin path_beg /admin
	acl host_www hdr(host) -i www.example.com example.com
	acl is_post method POST
	acl is_get method GET HEAD
	acl has_auth req.hdr(authorization) -m found
	acl bad_ua hdr_sub(user-agent) -i sqlmap nikto
	acl internal src 10.0.0.0/8 192.168.0.0/16
	acl is_html path_end .html
	acl is_json hdr(content-type) -m sub json
	acl is_upload path_beg /upload
	http-request deny if bad_ua
	http-request deny if is_admin !internal
	http-request deny if is_upload !is_post
	http-request set-header X-Forwarded-Proto http
	http-request set-header X-Bench gproxy
	use_backend static if is_html is_get !is_api !has_auth
	default_backend app

backend static
	balance roundrobin
	server nginx ` + backendAddr + `

backend app
	balance roundrobin
	server nginx ` + backendAddr + `
`

// httpCase is one mode http configuration under test.
type httpCase struct {
	id, name, file, cfg string
}

var httpCases = []httpCase{
	{"http", "mode http", "proxy-http.cfg", httpCfg},
	{"l7", "mode http, L7 rules", "proxy-l7.cfg", httpRulesCfg},
}

// httpRun is one wrk run through a proxy in mode http.
type httpRun struct {
	W   wrkResult
	CPU ticks
}

// startLogSink drains the UDP log collector until the returned function
// is called.
func startLogSink() (func(), error) {
	pc, err := net.ListenPacket("udp", logSinkAddr)
	if err != nil {
		return nil, fmt.Errorf("log collector: %w", err)
	}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return func() { pc.Close() }, nil
}

func (e *env) writeHTTPConfigs() error {
	for _, hc := range httpCases {
		if err := os.WriteFile(filepath.Join(e.dir, hc.file), []byte(hc.cfg), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// httpThroughput runs the mode http cases through both proxies: for each
// configuration, keep-alive then a connection per request, with the
// proxy's CPU over each run.
func (e *env) httpThroughput(ctx context.Context) error {
	if err := e.writeHTTPConfigs(); err != nil {
		return err
	}
	stopSink, err := startLogSink()
	if err != nil {
		return err
	}
	defer stopSink()
	for _, hc := range httpCases {
		names := []string{"haproxy", "gproxy"}
		if e.o.baseBin != "" {
			names = append(names, "gproxy-before")
		}
		for _, name := range names {
			cfg := filepath.Join(e.dir, hc.file)
			var p *proc
			switch name {
			case "haproxy":
				p, err = e.startProxy("haproxy", nil, "haproxy", "-db", "-f", cfg)
			case "gproxy-before":
				p, err = e.startProxy(name, []string{"GOMAXPROCS=1"}, e.o.baseBin, "-db", "-f", cfg)
			default:
				p, err = e.startProxy("gproxy", []string{"GOMAXPROCS=1"}, filepath.Join(e.bin, "gproxy"), "-db", "-f", cfg)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", hc.name, err)
			}
			for _, c := range []struct {
				id    string
				extra []string
			}{{"ka", nil}, {"close", []string{"-H", "Connection: close"}}} {
				t0, _ := cpuSplit(p.pid())
				w, err := runWrk(ctx, e.dir, e.o, "http://"+proxyAddr+smallPath, c.extra...)
				if err != nil {
					p.stop()
					return fmt.Errorf("%s %s %s: %w", name, hc.name, c.id, err)
				}
				t1, _ := cpuSplit(p.pid())
				if p.exited() {
					return fmt.Errorf("%s died during %s %s: %s", name, hc.name, c.id, p.logTail())
				}
				if err := w.answered(); err != nil {
					p.stop()
					return fmt.Errorf("%s %s %s: %w", name, hc.name, c.id, err)
				}
				r := e.result.get(name)
				if r.HTTP == nil {
					r.HTTP = map[string]httpRun{}
				}
				r.HTTP[hc.id+"-"+c.id] = httpRun{W: w, CPU: t1.sub(t0)}
				fmt.Printf("%-8s %-22s %-5s %10.0f req/s, proxy CPU %.1f µs/req, errors %d\n", name, hc.name, c.id,
					w.perSec(w.Requests), cpuPerReq(t1.sub(t0), w.Requests), w.Errors)
			}
			p.stop()
		}
	}
	return nil
}

func cpuPerReq(t ticks, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(int64(t.U+t.S)*int64(clockTick)) / 1e3 / float64(n)
}

// httpRows are the mode http rows of the table: requests per second and
// proxy CPU per request, gproxy against haproxy.
func (r *results) httpRows() []row {
	d, h, g := r.get("direct"), r.get("haproxy"), r.get("gproxy")
	if h.HTTP == nil || g.HTTP == nil {
		return nil
	}
	var rows []row
	for _, hc := range httpCases {
		for _, c := range []struct {
			id, what, unit string
			direct         wrkResult
		}{{"ka", "keep-alive", "req/s", d.KeepAlive}, {"close", "`Connection: close`", "conn/s", d.Close}} {
			k := hc.id + "-" + c.id
			hr, gr := h.HTTP[k], g.HTTP[k]
			rows = append(rows,
				row{what: fmt.Sprintf("(g) %s, %s", hc.name, c.what), unit: c.unit, better: "↑",
					direct: c.direct.perSec(c.direct.Requests), ref: hr.W.perSec(hr.W.Requests), ours: gr.W.perSec(gr.W.Requests), refName: "haproxy"},
				row{what: fmt.Sprintf("(g) proxy CPU per request, %s, %s", hc.name, c.what), unit: "µs", better: "↓",
					ref: cpuPerReq(hr.CPU, hr.W.Requests), ours: cpuPerReq(gr.CPU, gr.W.Requests), refName: "haproxy"},
			)
		}
	}
	return rows
}

// httpRaw is the raw figures of the mode http runs of one target.
func httpRaw(b *strings.Builder, t *targetResult) {
	for _, hc := range httpCases {
		for _, c := range []string{"ka", "close"} {
			hr, ok := t.HTTP[hc.id+"-"+c]
			if !ok {
				continue
			}
			fmt.Fprintf(b, "  (g) %s, %s: wrk %d requests, %d bytes in %v, %d errors; proxy CPU user %v sys %v; wrk CPU %v, nginx %v; %s\n", hc.name, c,
				hr.W.Requests, hr.W.Bytes, hr.W.Duration.Round(1e6), hr.W.Errors,
				ticksDur(hr.CPU.U), ticksDur(hr.CPU.S), hr.W.Load.Client.Round(time.Millisecond), hr.W.Load.Server.Round(time.Millisecond), busyText(hr.W.Busy))
		}
	}
}

func ticksDur(n int64) time.Duration { return time.Duration(n) * clockTick }

// runHTTPOnly runs only the mode http rows (and direct (a), (b) for the
// ours/direct column) and writes <out>/http.md.
func runHTTPOnly(ctx context.Context, o options) error {
	began := time.Now()
	dir, err := filepath.Abs(filepath.Join(o.out, "tmp"))
	if err != nil {
		return err
	}
	e := &env{o: o, dir: dir, bin: dir, result: &results{}}
	defer e.cleanup()
	if err := e.prepare(); err != nil {
		return err
	}
	e.result.machine()
	e.result.LoadBefore = strings.TrimSpace(readFile("/proc/loadavg"))
	d := e.result.get("direct")
	if d.KeepAlive, err = runWrk(ctx, e.dir, o, "http://"+backendAddr+smallPath); err != nil {
		return err
	}
	if d.Close, err = runWrk(ctx, e.dir, o, "http://"+backendAddr+smallPath, "-H", "Connection: close"); err != nil {
		return err
	}
	if err := e.httpThroughput(ctx); err != nil {
		return err
	}
	if err := e.idleByMode(ctx); err != nil {
		return err
	}
	e.result.LoadAfter = strings.TrimSpace(readFile("/proc/loadavg"))
	e.result.Took = time.Since(began).Round(time.Second)
	var b strings.Builder
	b.WriteString("# make bench, mode http rows only\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench -http-only`; one run, ratios from that run (same setup as results.md).\n\n")
	fmt.Fprintf(&b, "- date: %s; the run took %v\n- machine: %s\n- load average before / after: %s / %s\n\n", e.result.Date, e.result.Took, e.result.Machine, e.result.LoadBefore, e.result.LoadAfter)
	b.WriteString("| case | unit | better | direct | reference | ours | ours/reference | ours/direct |\n|---|---|---|---|---|---|---|---|\n")
	for _, x := range e.result.httpRows() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s %s | gproxy %s | %s | %s |\n", x.what, x.unit, x.better,
			num(x.direct), x.refName, num(x.ref), num(x.ours), ratio(x.ours, x.ref), ratio(x.ours, x.direct))
	}
	if bf := e.result.get("gproxy-before"); bf.HTTP != nil {
		h := e.result.get("haproxy")
		b.WriteString("\nThe same run, gproxy before this change (" + o.baseBin + "):\n\n")
		b.WriteString("| case | haproxy µs/req | gproxy before µs/req | ratio | gproxy after µs/req | ratio |\n|---|---|---|---|---|---|\n")
		g := e.result.get("gproxy")
		for _, hc := range httpCases {
			for _, c := range []string{"ka", "close"} {
				k := hc.id + "-" + c
				hv := cpuPerReq(h.HTTP[k].CPU, h.HTTP[k].W.Requests)
				bv := cpuPerReq(bf.HTTP[k].CPU, bf.HTTP[k].W.Requests)
				gv := cpuPerReq(g.HTTP[k].CPU, g.HTTP[k].W.Requests)
				fmt.Fprintf(&b, "| %s, %s | %s | %s | %s | %s | %s |\n", hc.name, c, num(hv), num(bv), ratio(bv, hv), num(gv), ratio(gv, hv))
			}
		}
	}
	fmt.Fprintf(&b, "\nRSS and descriptors per idle connection (%d client connections, each idle after one request; the proxy's VmRSS and open descriptors before and 2 s after opening them):\n\n", o.idle)
	b.WriteString("| mode | haproxy KiB/conn | gproxy KiB/conn | ratio | haproxy fds/conn | gproxy fds/conn |")
	if o.baseBin != "" {
		b.WriteString(" gproxy before KiB/conn |")
	}
	b.WriteString("\n|---|---|---|---|---|---|")
	if o.baseBin != "" {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, mode := range []string{"tcp", "http"} {
		h, g := e.result.get("haproxy").IdleByMode[mode], e.result.get("gproxy").IdleByMode[mode]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |", mode, num(h.perConnKiB()), num(g.perConnKiB()),
			ratio(g.perConnKiB(), h.perConnKiB()), num(h.perConnFDs()), num(g.perConnFDs()))
		if o.baseBin != "" {
			fmt.Fprintf(&b, " %s |", num(e.result.get("gproxy-before").IdleByMode[mode].perConnKiB()))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Raw figures\n\n```\n")
	for _, name := range []string{"haproxy", "gproxy", "gproxy-before"} {
		if e.result.get(name).HTTP == nil {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", name)
		httpRaw(&b, e.result.get(name))
		for _, mode := range []string{"tcp", "http"} {
			if r, ok := e.result.get(name).IdleByMode[mode]; ok {
				fmt.Fprintf(&b, "  (e) mode %s, %d idle: VmRSS %d -> %d KiB, fds %d -> %d\n", mode, r.N, r.RSSBefore, r.RSSAfter, r.FDBefore, r.FDAfter)
			}
		}
	}
	b.WriteString("```\n")
	fmt.Print(b.String())
	return os.WriteFile(filepath.Join(o.out, "http.md"), []byte(b.String()), 0o644)
}

// runProfileHTTP runs gproxy's engine in this process (GOMAXPROCS=1, the
// proxy CPU) with each mode http configuration and takes, per case, a CPU
// profile and the allocations per request (runtime.MemStats over the
// same run), then an allocation profile of a second, shorter run. It
// writes <out>/profile-http.md.
func runProfileHTTP(ctx context.Context, o options) error {
	e, err := inProcessEnv(o)
	if err != nil {
		return err
	}
	defer e.cleanup()
	stopSink, err := startLogSink()
	if err != nil {
		return err
	}
	defer stopSink()
	var b strings.Builder
	b.WriteString("# gproxy in mode http under load: CPU and allocation profiles\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench -profile-http`. The engine (hapair/pkg/proxy) runs inside\n")
	b.WriteString("the bench process with GOMAXPROCS=1 pinned to CPU 1, with the mode http configurations of\n")
	b.WriteString("`make bench` (bench/tmp/proxy-http.cfg, proxy-l7.cfg; logs to a UDP collector for the L7 case:\n")
	b.WriteString("the in-process engine formats them as gproxy does); wrk and nginx on CPU 0. pprof samples include\n")
	b.WriteString("the kernel time of the sampled thread.\n\n")
	fmt.Fprintf(&b, "Date: %s. Load average: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.TrimSpace(readFile("/proc/loadavg")))
	for _, hc := range httpCases {
		if err := profileHTTPCase(ctx, e, o, hc, &b); err != nil {
			return err
		}
	}
	if err := straceHTTP(ctx, e, &b); err != nil {
		return err
	}
	path := filepath.Join(o.out, "profile-http.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("written to %s\n", path)
	return nil
}

// straceHTTP counts the system calls per request of haproxy and gproxy
// (and the -before binary) as processes on the plain mode http
// configuration, keep-alive and `Connection: close`: counts do not depend
// on the machine's load as CPU figures do.
func straceHTTP(ctx context.Context, e *env, b *strings.Builder) error {
	if err := e.writeHTTPConfigs(); err != nil {
		return err
	}
	cfg := filepath.Join(e.dir, httpCases[0].file)
	b.WriteString("\n## System calls per request, mode http (strace -c -f on the running proxy)\n\n")
	b.WriteString("bench/tmp/proxy-http.cfg; strace slows the proxies down several times: the counts are what matters, not the rates.\n\n")
	names := []string{"haproxy", "gproxy"}
	if e.o.baseBin != "" {
		names = append(names, "gproxy-before")
	}
	for _, name := range names {
		for _, c := range []struct {
			id    string
			extra []string
		}{{"ka", nil}, {"close", []string{"-H", "Connection: close"}}} {
			var p *proc
			var err error
			switch name {
			case "haproxy":
				p, err = e.startProxy("haproxy", nil, "haproxy", "-db", "-f", cfg)
			case "gproxy-before":
				p, err = e.startProxy(name, []string{"GOMAXPROCS=1"}, e.o.baseBin, "-db", "-f", cfg)
			default:
				p, err = e.startProxy("gproxy", []string{"GOMAXPROCS=1"}, filepath.Join(e.bin, "gproxy"), "-db", "-f", cfg)
			}
			if err != nil {
				return err
			}
			table, total, w, err := straceRun(ctx, e, p.pid(), smallPath, c.extra)
			p.stop()
			if err != nil {
				return fmt.Errorf("%s %s: %w", name, c.id, err)
			}
			fmt.Printf("%s mode http %s: %.1f syscalls per request\n", name, c.id, float64(total)/float64(w.Requests))
			fmt.Fprintf(b, "### %s, mode http, %s: %d requests, %.1f system calls per request\n\n```\n%s```\n\n", name, c.id, w.Requests, float64(total)/float64(w.Requests), table)
		}
	}
	return nil
}

func profileHTTPCase(ctx context.Context, e *env, o options, hc httpCase, b *strings.Builder) error {
	_, stop, err := startEngine(ctx, hc.cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", hc.name, err)
	}
	defer stop()
	for _, c := range []struct {
		id    string
		extra []string
	}{{"ka", nil}, {"close", []string{"-H", "Connection: close"}}} {
		pf := filepath.Join(e.dir, "prof-"+hc.id+"-"+c.id+".pprof")
		f, err := os.Create(pf)
		if err != nil {
			return err
		}
		var ru0, ru1 syscallRusage
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		ru0.read()
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		w, err := runWrk(ctx, e.dir, o, "http://"+proxyAddr+smallPath, c.extra...)
		pprof.StopCPUProfile()
		f.Close()
		ru1.read()
		runtime.ReadMemStats(&m1)
		if err != nil {
			return err
		}
		u, s := ru1.user-ru0.user, ru1.sys-ru0.sys
		n := float64(w.Requests)
		fmt.Printf("%s %s: %.0f req/s; engine user %v sys %v; %.1f allocs, %.0f B per request\n", hc.name, c.id, w.perSec(w.Requests), u, s,
			float64(m1.Mallocs-m0.Mallocs)/n, float64(m1.TotalAlloc-m0.TotalAlloc)/n)
		fmt.Fprintf(b, "\n## %s, %s\n\n%d requests in %v (%.0f/s), %d errors; this process used user %v, sys %v (%.1f µs per request); %.1f heap allocations, %.0f bytes allocated per request; %d GC cycles.\n\n",
			hc.name, c.id, w.Requests, w.Duration.Round(time.Millisecond), w.perSec(w.Requests), w.Errors,
			u.Round(time.Millisecond), s.Round(time.Millisecond), float64(u+s)/float64(time.Microsecond)/n,
			float64(m1.Mallocs-m0.Mallocs)/n, float64(m1.TotalAlloc-m0.TotalAlloc)/n, m1.NumGC-m0.NumGC)
		for _, mode := range [][]string{{"-top", "-nodecount=25"}, {"-top", "-cum", "-nodecount=40"}} {
			out, err := exec.Command("go", append([]string{"tool", "pprof"}, append(mode, pf)...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("go tool pprof: %w: %s", err, out)
			}
			fmt.Fprintf(b, "`go tool pprof %s`:\n\n```\n%s```\n\n", strings.Join(mode, " "), trimPprof(string(out)))
		}
		// Where the allocations come from: a second, shorter run with
		// every 4 KiB sampled.
		runtime.MemProfileRate = 4096
		runtime.GC()
		mp := filepath.Join(e.dir, "mem-"+hc.id+"-"+c.id+".pprof")
		o2 := o
		o2.dur = 3 * time.Second
		if _, err := runWrk(ctx, e.dir, o2, "http://"+proxyAddr+smallPath, c.extra...); err != nil {
			return err
		}
		runtime.GC()
		mf, err := os.Create(mp)
		if err != nil {
			return err
		}
		err = pprof.Lookup("allocs").WriteTo(mf, 0)
		mf.Close()
		runtime.MemProfileRate = 512 * 1024
		if err != nil {
			return err
		}
		out, err := exec.Command("go", "tool", "pprof", "-sample_index=alloc_objects", "-top", "-nodecount=30", mp).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go tool pprof: %w: %s", err, out)
		}
		fmt.Fprintf(b, "`go tool pprof -sample_index=alloc_objects -top` (allocations since the start of the process, the run above and this one included):\n\n```\n%s```\n\n", trimPprof(string(out)))
	}
	return nil
}

// startEngine parses cfg and serves it with gproxy's engine in this
// process; stop ends it.
func startEngine(ctx context.Context, src string) (*proxy.Engine, func(), error) {
	return startEngineAt(ctx, src, proxyAddr)
}

// startEngineAt is startEngine for a configuration that listens on addr.
func startEngineAt(ctx context.Context, src, addr string) (*proxy.Engine, func(), error) {
	// ReadFile: the certificates named by `ssl crt` are read while parsing.
	cfg, diags, err := haproxycfg.Parse("proxy.cfg", []byte(src), haproxycfg.ParseOptions{ReadFile: os.ReadFile})
	if err != nil {
		return nil, nil, err
	}
	for _, d := range diags {
		if d.Severity != haproxycfg.Warning {
			return nil, nil, fmt.Errorf("proxy.cfg: %v", d)
		}
	}
	// The access log as gproxy sends it (the L7 case logs to the UDP
	// collector): formatting and sending are part of a request's cost.
	sessionLog, stopLog, err := gproxyd.SessionLogger(cfg)
	if err != nil {
		return nil, nil, err
	}
	eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop(), SessionLog: sessionLog})
	if err != nil {
		stopLog()
		return nil, nil, err
	}
	if err := eng.Bind(); err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = eng.Serve(sctx)
	}()
	stop := func() {
		cancel()
		<-served
		eng.Close()
		wctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		eng.Wait(wctx)
		stopLog()
	}
	if err := waitTCP(nil, addr); err != nil {
		stop()
		return nil, nil, err
	}
	return eng, stop, nil
}

func (r idleRun) perConnKiB() float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.RSSAfter-r.RSSBefore) / float64(r.N)
}

func (r idleRun) perConnFDs() float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.FDAfter-r.FDBefore) / float64(r.N)
}

// idleByMode measures the memory and descriptors per idle connection of
// each proxy in mode tcp (proxy.cfg) and mode http (proxy-http.cfg):
// -idle client connections, each idle after one request (in mode http
// the proxy keeps the session's server connection, as both do with
// http-reuse safe).
func (e *env) idleByMode(ctx context.Context) error {
	names := []string{"haproxy", "gproxy"}
	if e.o.baseBin != "" {
		names = append(names, "gproxy-before")
	}
	for _, mode := range []string{"tcp", "http"} {
		cfg := filepath.Join(e.dir, "proxy.cfg")
		if mode == "http" {
			cfg = filepath.Join(e.dir, httpCases[0].file)
		}
		for _, name := range names {
			var p *proc
			var err error
			switch name {
			case "haproxy":
				p, err = e.startProxy("haproxy", nil, "haproxy", "-db", "-f", cfg)
			case "gproxy-before":
				p, err = e.startProxy(name, []string{"GOMAXPROCS=1"}, e.o.baseBin, "-db", "-f", cfg)
			default:
				p, err = e.startProxy("gproxy", []string{"GOMAXPROCS=1"}, filepath.Join(e.bin, "gproxy"), "-db", "-f", cfg)
			}
			if err != nil {
				return err
			}
			r, err := e.idleRun(ctx, p)
			p.stop()
			if err != nil {
				return fmt.Errorf("%s mode %s idle: %w", name, mode, err)
			}
			t := e.result.get(name)
			if t.IdleByMode == nil {
				t.IdleByMode = map[string]idleRun{}
			}
			t.IdleByMode[mode] = r
			fmt.Printf("%-8s mode %-4s %d idle: VmRSS %d -> %d KiB (%.2f KiB/conn), fds %d -> %d\n", name, mode, r.N,
				r.RSSBefore, r.RSSAfter, r.perConnKiB(), r.FDBefore, r.FDAfter)
		}
	}
	return nil
}

func (e *env) idleRun(ctx context.Context, p *proc) (idleRun, error) {
	time.Sleep(time.Second)
	pid := p.pid()
	r := idleRun{N: e.o.idle}
	r.RSSBefore, _ = statusKiB(pid, "VmRSS")
	r.FDBefore = fdCount(pid)
	s := &idleSet{}
	defer s.close()
	if err := s.open(ctx, proxyAddr, smallPath, e.o.idle); err != nil {
		return r, fmt.Errorf("%d of %d idle connections: %w", len(s.hs), e.o.idle, err)
	}
	time.Sleep(2 * time.Second)
	r.RSSAfter, _ = statusKiB(pid, "VmRSS")
	r.FDAfter = fdCount(pid)
	c0, w0 := cpuTime(pid), time.Now()
	time.Sleep(3 * time.Second)
	r.CPU, r.Window = cpuTime(pid)-c0, time.Since(w0)
	return r, s.check()
}
