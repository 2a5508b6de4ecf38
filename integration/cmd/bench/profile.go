package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// runProfile runs gproxy's engine (package proxy) inside this process,
// pinned to the proxy CPU with GOMAXPROCS=1, and takes a CPU profile of
// each load case; then it counts the system calls per request of gproxy
// and haproxy as separate processes with strace -c. It writes
// <out>/profile.md.
func runProfile(ctx context.Context, o options) error {
	e, err := inProcessEnv(o)
	if err != nil {
		return err
	}
	defer e.cleanup()
	dir := e.dir
	cfg, diags, err := haproxycfg.Parse("proxy.cfg", []byte(proxyCfg), haproxycfg.ParseOptions{})
	if err != nil {
		return err
	}
	for _, d := range diags {
		if d.Severity != haproxycfg.Warning {
			return fmt.Errorf("proxy.cfg: %v", d)
		}
	}
	eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	if err := eng.Bind(); err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = eng.Serve(sctx)
	}()
	defer func() {
		stop()
		<-served
		eng.Close()
	}()
	if err := waitTCP(nil, proxyAddr); err != nil {
		return err
	}

	var b strings.Builder
	b.WriteString("# gproxy's data path under load: CPU profiles and system calls\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench -profile`. The engine (hapair/pkg/proxy) runs inside\n")
	b.WriteString("the bench process with GOMAXPROCS=1 pinned to CPU 1, with the same proxy.cfg as `make bench`;\n")
	b.WriteString("wrk and nginx on CPU 0. pprof samples include the kernel time of the sampled thread\n")
	b.WriteString("(syscall.Syscall6 and friends stand for the time spent in the kernel).\n\n")
	fmt.Fprintf(&b, "Date: %s. Load average: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.TrimSpace(readFile("/proc/loadavg")))
	cases := []struct {
		id, name, path string
		extra          []string
	}{
		{"a", "(a) keep-alive, 128 B responses", smallPath, nil},
		{"b", "(b) new connection per request", smallPath, []string{"-H", "Connection: close"}},
		{"c", "(c) 1 MiB bodies", bigPath, nil},
	}
	for _, c := range cases {
		pf := filepath.Join(dir, "prof-"+c.id+".pprof")
		f, err := os.Create(pf)
		if err != nil {
			return err
		}
		var ru0, ru1 syscallRusage
		ru0.read()
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		w, err := runWrk(ctx, dir, o, "http://"+proxyAddr+c.path, c.extra...)
		pprof.StopCPUProfile()
		f.Close()
		ru1.read()
		if err != nil {
			return err
		}
		u, s := ru1.user-ru0.user, ru1.sys-ru0.sys
		fmt.Printf("%s: %.0f req/s, %.2f GB/s; in-process engine user %v sys %v\n", c.name, w.perSec(w.Requests), w.perSec(w.Bytes)/1e9, u, s)
		fmt.Fprintf(&b, "\n## %s\n\n%d requests in %v (%.0f/s, %.2f GB/s), %d errors; this process used user %v, sys %v (%.1f µs per request).\n\n",
			c.name, w.Requests, w.Duration.Round(time.Millisecond), w.perSec(w.Requests), w.perSec(w.Bytes)/1e9, w.Errors,
			u.Round(time.Millisecond), s.Round(time.Millisecond), float64(u+s)/float64(time.Microsecond)/float64(w.Requests))
		for _, mode := range [][]string{{"-top", "-nodecount=22"}, {"-top", "-cum", "-nodecount=22"}} {
			out, err := exec.Command("go", append([]string{"tool", "pprof"}, append(mode, pf)...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("go tool pprof: %w: %s", err, out)
			}
			fmt.Fprintf(&b, "`go tool pprof %s`:\n\n```\n%s```\n\n", strings.Join(mode, " "), trimPprof(string(out)))
		}
	}
	// (e) where an idle session's memory goes, from the runtime's view.
	if err := idleBreakdown(ctx, &b, o); err != nil {
		return err
	}
	stop()
	<-served
	eng.Close()
	eng.Wait(ctx)

	// System calls per request of the real processes: strace -c slows
	// them down, the counts stay right.
	b.WriteString("\n## System calls per request (strace -c -f on the running proxy)\n\n")
	b.WriteString("strace slows the proxy down several times: the counts are what matters, not the rates.\n\n")
	for _, name := range []string{"haproxy", "gproxy"} {
		for _, c := range cases {
			var p *proc
			if name == "haproxy" {
				p, err = e.startProxy("haproxy", nil, "haproxy", "-db", "-f", filepath.Join(dir, "proxy.cfg"))
			} else {
				p, err = e.startProxy("gproxy", []string{"GOMAXPROCS=1"}, filepath.Join(e.bin, "gproxy"), "-db", "-f", filepath.Join(dir, "proxy.cfg"))
			}
			if err != nil {
				return err
			}
			table, total, w, err := straceRun(ctx, e, p.pid(), c.path, c.extra)
			p.stop()
			if err != nil {
				return fmt.Errorf("%s %s: %w", name, c.name, err)
			}
			fmt.Printf("%s %s: %.1f syscalls per request\n", name, c.name, float64(total)/float64(w.Requests))
			fmt.Fprintf(&b, "### %s, %s: %d requests, %.1f system calls per request\n\n```\n%s```\n\n", name, c.name, w.Requests, float64(total)/float64(w.Requests), table)
		}
	}
	path := filepath.Join(o.out, "profile.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("written to %s\n", path)
	return nil
}

func trimPprof(s string) string {
	// Drop the header lines that name the temporary file and build.
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

type syscallRusage struct{ user, sys time.Duration }

func (r *syscallRusage) read() {
	t, _ := cpuSplit(os.Getpid())
	r.user, r.sys = time.Duration(t.U)*clockTick, time.Duration(t.S)*clockTick
}

var straceTotal = regexp.MustCompile(`(?m)^\s*100\.00\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total\s*$`)

// straceRun attaches strace -c -f to pid for one 3-second wrk run and
// returns strace's table, the total number of calls and wrk's counts.
func straceRun(ctx context.Context, e *env, pid int, path string, extra []string) (string, int64, wrkResult, error) {
	var w wrkResult
	table, total, _, err := straceLoad(ctx, e, pid, func(o options) (int64, error) {
		var err error
		w, err = runWrk(ctx, e.dir, o, "http://"+proxyAddr+path, extra...)
		return w.Requests, err
	})
	return table, total, w, err
}

// straceLoad attaches strace -c -f to pid while load runs for 3 seconds
// and returns strace's table, the total number of calls and the number of
// requests load reports.
func straceLoad(ctx context.Context, e *env, pid int, load func(o options) (int64, error)) (string, int64, int64, error) {
	out := filepath.Join(e.dir, fmt.Sprintf("strace-%d.txt", pid))
	st := exec.Command("strace", "-c", "-f", "-o", out, "-p", strconv.Itoa(pid))
	if err := st.Start(); err != nil {
		return "", 0, 0, err
	}
	time.Sleep(500 * time.Millisecond) // attached
	o := e.o
	o.dur = 3 * time.Second
	n, lerr := load(o)
	_ = st.Process.Signal(os.Interrupt)
	_ = st.Wait()
	if lerr != nil {
		return "", 0, n, lerr
	}
	if n == 0 {
		return "", 0, 0, errors.New("no request completed under strace")
	}
	tb, err := os.ReadFile(out)
	if err != nil {
		return "", 0, n, err
	}
	m := straceTotal.FindSubmatch(tb)
	if m == nil {
		return string(tb), 0, n, errors.New("no total in strace -c output")
	}
	total, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return string(tb), total, n, nil
}

// idleBreakdown opens o.idle connections through the in-process engine and
// reports the growth of the runtime's memory classes per connection.
func idleBreakdown(ctx context.Context, b *strings.Builder, o options) error {
	// Client and proxy share this process's 20,000 descriptors: 2,000
	// connections need 14,000 with gproxy's splice pipes.
	o.idle = min(o.idle, 2000)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	g0, fd0 := runtime.NumGoroutine(), fdCount(os.Getpid())
	rss0, _ := statusKiB(os.Getpid(), "VmRSS")
	s := &idleSet{}
	defer s.close()
	if err := s.open(ctx, proxyAddr, smallPath, o.idle); err != nil {
		return fmt.Errorf("in-process idle connections: %w", err)
	}
	time.Sleep(2 * time.Second)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	g1, fd1 := runtime.NumGoroutine(), fdCount(os.Getpid())
	rss1, _ := statusKiB(os.Getpid(), "VmRSS")
	n := float64(o.idle)
	per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / 1024 / n }
	// The client side of each connection lives in this process too: its
	// conn, bufio.Reader (16 KiB) and descriptor are counted; subtract
	// them when reading the figures.
	fmt.Fprintf(b, "\n## (e) %d idle sessions, runtime view (in-process engine)\n\n", o.idle)
	b.WriteString("The client side of each connection (this program's own socket and a 16 KiB bufio.Reader,\n")
	b.WriteString("no goroutine) is in the same process: subtract 16 KiB of heap and 1 descriptor per connection.\n\n```\n")
	fmt.Fprintf(b, "goroutines per connection   %.2f\n", float64(g1-g0)/n)
	fmt.Fprintf(b, "descriptors per connection  %.2f\n", float64(fd1-fd0)/n)
	fmt.Fprintf(b, "StackInuse per connection   %.2f KiB\n", per(m0.StackInuse, m1.StackInuse))
	fmt.Fprintf(b, "HeapInuse per connection    %.2f KiB\n", per(m0.HeapInuse, m1.HeapInuse))
	fmt.Fprintf(b, "VmRSS per connection        %.2f KiB\n", float64(rss1-rss0)/n)
	b.WriteString("```\n")
	fmt.Printf("(e) in-process: %.2f goroutines, %.2f fds, stack %.2f KiB, heap %.2f KiB per connection\n",
		float64(g1-g0)/n, float64(fd1-fd0)/n, per(m0.StackInuse, m1.StackInuse), per(m0.HeapInuse, m1.HeapInuse))
	return nil
}
