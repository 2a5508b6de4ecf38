package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runTCPOnly measures only the mode tcp rows (a), (b), (c) with the
// proxy's CPU per request, and (e) RSS per idle connection, for haproxy,
// gproxy and, with -before, another gproxy binary, in rounds that
// alternate the targets so that outside load weighs on each alike; with
// -strace also the system calls per request of each (strace -c -f).
// It writes <out>/tcp.md.
func runTCPOnly(ctx context.Context, o options) error {
	began := time.Now()
	dir, err := filepath.Abs(filepath.Join(o.out, "tmp"))
	if err != nil {
		return err
	}
	e := &env{o: o, dir: dir, bin: dir, result: &results{Idle: o.idle}}
	defer e.cleanup()
	if err := e.prepare(); err != nil {
		return err
	}
	e.result.machine()
	e.result.LoadBefore = strings.TrimSpace(readFile("/proc/loadavg"))
	gp := func(bin string) func() (*proc, error) {
		return func() (*proc, error) {
			return e.startProxy("gproxy", []string{"GOMAXPROCS=1"}, bin, "-db", "-f", filepath.Join(dir, "proxy.cfg"))
		}
	}
	targets := []target{
		{name: "haproxy", addr: proxyAddr, start: func() (*proc, error) {
			return e.startProxy("haproxy", nil, "haproxy", "-db", "-f", filepath.Join(dir, "proxy.cfg"))
		}},
		{name: "gproxy", addr: proxyAddr, start: gp(filepath.Join(e.bin, "gproxy"))},
	}
	if o.baseBin != "" {
		targets = append(targets, target{name: "gproxy-before", addr: proxyAddr, start: gp(o.baseBin)})
	}
	// Per target and round: the CPU per request of each case and the
	// idle RSS per connection.
	type fig struct{ a, b, c, e []float64 }
	figs := map[string]*fig{}
	cpu := func(t ticks, n int64, scale float64) float64 {
		return float64(time.Duration(t.U+t.S)*clockTick) / float64(time.Microsecond) / float64(n) * scale
	}
	for round := 0; round < o.rounds; round++ {
		order := targets
		if round%2 == 1 { // reverse every other round
			order = make([]target, len(targets))
			for i, t := range targets {
				order[len(targets)-1-i] = t
			}
		}
		for _, t := range order {
			e.result.T = nil
			if err := e.throughput(ctx, t); err != nil {
				return err
			}
			e.o.idleMax = 0
			if err := e.idleMemory(ctx, t); err != nil {
				return err
			}
			r := e.result.get(t.name)
			f := figs[t.name]
			if f == nil {
				f = &fig{}
				figs[t.name] = f
			}
			f.a = append(f.a, cpu(r.CPUKeepAlive, r.KeepAlive.Requests, 1))
			f.b = append(f.b, cpu(r.CPUClose, r.Close.Requests, 1))
			f.c = append(f.c, cpu(r.CPUBig, r.Big.Bytes, 1<<20))
			f.e = append(f.e, float64(r.RSSAfter-r.RSSBefore)/float64(o.idle))
		}
	}
	var b strings.Builder
	b.WriteString("# mode tcp rows only\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench -tcp-only`: (a) keep-alive, (b) a connection per request,\n")
	b.WriteString("(c) 1 MiB bodies (proxy CPU per request or per MiB, utime+stime in 10 ms ticks), (e) VmRSS growth per\n")
	fmt.Fprintf(&b, "idle proxied connection (%d, each after one request); same setup as results.md. %d rounds, targets\n", o.idle, o.rounds)
	b.WriteString("alternating in order; each cell lists the rounds.\n\n")
	fmt.Fprintf(&b, "- date: %s\n- machine: %s\n- load average before: %s\n", e.result.Date, e.result.Machine, e.result.LoadBefore)
	fmt.Fprintf(&b, "- load average after: %s; took %v\n", strings.TrimSpace(readFile("/proc/loadavg")), time.Since(began).Round(time.Second))
	if o.baseBin != "" {
		fmt.Fprintf(&b, "- gproxy-before: %s\n", o.baseBin)
	}
	b.WriteString("\n| target | (a) µs/req | (b) µs/conn | (c) µs/MiB | (e) KiB/idle conn |\n|---|---|---|---|---|\n")
	list := func(xs []float64) string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = num(x)
		}
		return strings.Join(s, ", ")
	}
	for _, t := range targets {
		f := figs[t.name]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.name, list(f.a), list(f.b), list(f.c), list(f.e))
	}
	if o.strace {
		b.WriteString("\n## System calls per request (strace -c -f)\n\n")
		cases := []struct {
			name, path string
			extra      []string
		}{
			{"(a) keep-alive", smallPath, nil},
			{"(b) close", smallPath, []string{"-H", "Connection: close"}},
			{"(c) 1 MiB", bigPath, nil},
		}
		for _, t := range targets {
			for _, c := range cases {
				p, err := t.start()
				if err != nil {
					return err
				}
				table, total, w, err := straceRun(ctx, e, p.pid(), c.path, c.extra)
				p.stop()
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.name, c.name, err)
				}
				fmt.Printf("%s %s: %.1f syscalls per request\n", t.name, c.name, float64(total)/float64(w.Requests))
				fmt.Fprintf(&b, "### %s, %s: %d requests, %.2f system calls per request\n\n```\n%s```\n\n", t.name, c.name, w.Requests, float64(total)/float64(w.Requests), table)
			}
		}
	}
	fmt.Print(b.String())
	return os.WriteFile(filepath.Join(o.out, "tcp.md"), []byte(b.String()), 0o644)
}
