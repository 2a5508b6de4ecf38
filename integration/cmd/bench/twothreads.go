package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The (i) rows of `make bench`: keep-alive throughput with two threads
// each, as a default install runs on this 2-core machine: haproxy with
// `nbthread 2`, gproxy with Go's default GOMAXPROCS (the CPU count, 2),
// nothing pinned: the proxy, wrk (1 thread) and nginx (1 worker) share
// both cores. Each proxy runs each mode twice for half the case length,
// in the order haproxy, gproxy, gproxy, haproxy, as the TLS rows. What
// limits the rate is read from the CPU each of the three used over the
// run (results.md's "machine's limit" section).

// allCPUs is the unpinned CPU list.
const allCPUs = "0,1"

// twoThreadModes are the (i) configurations: mode tcp and mode http,
// proxy.cfg's and proxy-http.cfg's text with nbthread 2.
var twoThreadModes = []struct{ mode, file, cfg string }{
	{"tcp", "proxy-2t.cfg", proxyCfg},
	{"http", "proxy-http-2t.cfg", httpCfg},
}

// pinNginx moves nginx's processes (every thread) to the CPU list cpus.
func pinNginx(cpus string) error {
	for _, pid := range nginxPIDs {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput(); err != nil {
			return fmt.Errorf("taskset nginx %d to %s: %w: %s", pid, cpus, err, out)
		}
	}
	return nil
}

func (e *env) twoThreads(ctx context.Context) (err error) {
	if err := pinNginx(allCPUs); err != nil {
		return err
	}
	defer func() {
		if perr := pinNginx(cpuLoad); perr != nil && err == nil {
			err = perr
		}
	}()
	o := e.o
	o.loadCPUs = allCPUs
	o.dur = max(time.Second, e.o.dur/2)
	for _, m := range twoThreadModes {
		cfg := filepath.Join(e.dir, m.file)
		text := strings.Replace(m.cfg, "nbthread 1", "nbthread 2", 1)
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			return err
		}
		for _, name := range []string{"haproxy", "gproxy", "gproxy", "haproxy"} {
			var p *proc
			if name == "haproxy" {
				p, err = e.startProxyOn(allCPUs, name, nil, "haproxy", "-db", "-f", cfg)
			} else {
				// No GOMAXPROCS in the environment: Go's default.
				p, err = e.startProxyOn(allCPUs, name, nil, filepath.Join(e.bin, "gproxy"), "-db", "-f", cfg)
			}
			if err != nil {
				return fmt.Errorf("(i) %s mode %s: %w", name, m.mode, err)
			}
			t0, _ := cpuSplit(p.pid())
			w, werr := runWrk(ctx, e.dir, o, "http://"+proxyAddr+smallPath)
			t1, _ := cpuSplit(p.pid())
			threads := threadCount(p.pid())
			died := p.exited()
			p.stop()
			if werr == nil {
				werr = w.answered()
			}
			if werr != nil {
				return fmt.Errorf("(i) %s mode %s: %w", name, m.mode, werr)
			}
			if died {
				return fmt.Errorf("(i) %s died in mode %s: %s", name, m.mode, p.logTail())
			}
			r := e.result.get(name)
			if r.TwoThread == nil {
				r.TwoThread = map[string]tlsRun{}
			}
			run := r.TwoThread[m.mode]
			cpu := t1.sub(t0)
			run.Requests += w.Requests
			run.Dur += w.Duration
			run.CPU.U += cpu.U
			run.CPU.S += cpu.S
			run.Load = run.Load.add(w.Load)
			run.Errors += w.Errors
			run.BusySec += (w.Busy[0] + w.Busy[1]) * w.Duration.Seconds()
			r.TwoThread[m.mode] = run
			fmt.Printf("%-8s (i) 2 threads, mode %-4s %10.0f req/s, proxy CPU %.1f µs/req (%d threads), wrk %v nginx %v over %v\n", name, m.mode,
				w.perSec(w.Requests), cpuPerReq(cpu, w.Requests), threads, w.Load.Client.Round(time.Millisecond),
				w.Load.Server.Round(time.Millisecond), w.Duration.Round(time.Millisecond))
		}
	}
	return nil
}

// threadCount is the number of threads of pid.
func threadCount(pid int) int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return len(es)
}

// twoThreadRows are the (i) rows: rate and proxy CPU per request.
func (r *results) twoThreadRows() []row {
	h, g := r.get("haproxy"), r.get("gproxy")
	if h.TwoThread == nil || g.TwoThread == nil {
		return nil
	}
	var rows []row
	for _, m := range twoThreadModes {
		hr, gr := h.TwoThread[m.mode], g.TwoThread[m.mode]
		rows = append(rows,
			row{what: "(i) 2 threads, unpinned, mode " + m.mode + ", keep-alive", unit: "req/s", better: "↑", ref: hr.rate(), ours: gr.rate(), refName: "haproxy"},
			row{what: "(i) proxy CPU per request, 2 threads, mode " + m.mode, unit: "µs", better: "↓",
				ref: cpuPerReq(hr.CPU, hr.Requests), ours: cpuPerReq(gr.CPU, gr.Requests), refName: "haproxy"},
		)
	}
	return rows
}

// twoThreadRaw is the raw figures of one target's (i) runs: the share of
// a core each process used (200% is both cores).
func twoThreadRaw(b *strings.Builder, t *targetResult) {
	for _, m := range twoThreadModes {
		tr, ok := t.TwoThread[m.mode]
		if !ok || tr.Dur == 0 {
			continue
		}
		pct := func(d time.Duration) float64 { return 100 * d.Seconds() / tr.Dur.Seconds() }
		proxy := time.Duration(tr.CPU.U+tr.CPU.S) * clockTick
		fmt.Fprintf(b, "  (i) 2 threads, mode %s: %d requests in %v (two rounds), %d errors; proxy CPU user %v sys %v (%.0f%% of a core), wrk %v (%.0f%%), nginx %v (%.0f%%)\n",
			m.mode, tr.Requests, tr.Dur.Round(time.Millisecond), tr.Errors, ticksDur(tr.CPU.U), ticksDur(tr.CPU.S), pct(proxy),
			tr.Load.Client.Round(time.Millisecond), pct(tr.Load.Client), tr.Load.Server.Round(time.Millisecond), pct(tr.Load.Server))
		fmt.Fprintf(b, "      both CPUs busy %.0f%% of 200%% (every process on the machine)\n", 100*tr.BusySec/tr.Dur.Seconds())
	}
}
