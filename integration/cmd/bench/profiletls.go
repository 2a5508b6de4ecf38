package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// runProfileTLS is -profile-tls: the (h) rows' cases (keep-alive over TLS
// and a new, resumed TLS connection per request in mode tcp; HTTP/2 with
// ALPN h2 in mode http) with gproxy's engine in this process
// (GOMAXPROCS=1, the proxy CPU): per case a CPU profile, the allocations
// per request and an allocation profile; then both proxies' system calls
// per request as processes (strace -c -f). It writes
// <out>/profile-tls.md.
func runProfileTLS(ctx context.Context, o options) error {
	e, err := inProcessEnv(o)
	if err != nil {
		return err
	}
	defer e.cleanup()
	if err := os.MkdirAll(filepath.Join(e.dir, "tls"), 0o700); err != nil {
		return err
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := selfSigned(filepath.Join(e.dir, "tls", "ecdsa.pem"), ek); err != nil {
		return err
	}
	text := strings.ReplaceAll(tlsRowCfg, "{{DIR}}", e.dir)
	cfg := filepath.Join(e.dir, "proxy-tls.cfg")
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# gproxy terminating TLS and HTTP/2 under load: CPU and allocation profiles, system calls\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench -profile-tls`. The engine (hapair/pkg/proxy) runs inside\n")
	b.WriteString("the bench process with GOMAXPROCS=1 pinned to CPU 1, with the configuration of results.md's (h)\n")
	b.WriteString("rows (bench/tmp/proxy-tls.cfg: an ECDSA P-256 certificate, TLS 1.3; mode tcp for keep-alive and\n")
	b.WriteString("a new connection per request, wrk https, which resumes its last session; mode http with ALPN h2\n")
	b.WriteString("for HTTP/2, h2load 50 connections, 10 streams each); wrk, h2load and nginx on CPU 0. pprof\n")
	b.WriteString("samples include the kernel time of the sampled thread.\n\n")
	fmt.Fprintf(&b, "Date: %s. Load average: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.TrimSpace(readFile("/proc/loadavg")))

	loads := map[string]func(o options) (int64, time.Duration, error){
		"ka": func(o options) (int64, time.Duration, error) {
			w, err := runWrk(ctx, e.dir, o, "https://"+tlsECAddr+smallPath)
			return w.Requests, w.Duration, wrkErr(w, err)
		},
		"close": func(o options) (int64, time.Duration, error) {
			w, err := runWrk(ctx, e.dir, o, "https://"+tlsECAddr+smallPath, "-H", "Connection: close")
			return w.Requests, w.Duration, wrkErr(w, err)
		},
		"h2": func(o options) (int64, time.Duration, error) {
			n, d, _, err := h2loadRun(ctx, o, "https://"+tlsH2Addr+smallPath)
			return n, d, err
		},
	}

	_, stop, err := startEngineAt(ctx, text, tlsH2Addr)
	if err != nil {
		return err
	}
	for _, c := range tlsRowCases {
		if err := profileLoad(e, o, "tls-"+c.id, "(h) "+c.what, loads[c.id], &b); err != nil {
			stop()
			return fmt.Errorf("%s: %w", c.id, err)
		}
	}
	stop()

	b.WriteString("\n## System calls per request (strace -c -f on the running proxy)\n\n")
	b.WriteString("bench/tmp/proxy-tls.cfg; strace slows the proxies down several times: the counts are what matters, not the rates.\n\n")
	for _, name := range []string{"haproxy", "gproxy"} {
		for _, c := range tlsRowCases {
			argv := []string{"haproxy", "-db", "-f", cfg}
			var env []string
			if name == "gproxy" {
				argv[0], env = filepath.Join(e.bin, "gproxy"), []string{"GOMAXPROCS=1"}
			}
			p, err := startProc(e.dir, name+"-tls", cpuProxy, env, argv...)
			if err != nil {
				return err
			}
			e.procs = append(e.procs, p)
			if err := waitTCP(p, tlsH2Addr); err != nil {
				p.stop()
				return err
			}
			load := loads[c.id]
			table, total, n, err := straceLoad(ctx, e, p.pid(), func(o options) (int64, error) {
				n, _, err := load(o)
				return n, err
			})
			p.stop()
			if err != nil {
				return fmt.Errorf("%s TLS %s under strace: %w", name, c.id, err)
			}
			fmt.Printf("%s TLS %s: %.1f syscalls per request\n", name, c.id, float64(total)/float64(n))
			fmt.Fprintf(&b, "### %s, (h) %s: %d requests, %.1f system calls per request\n\n```\n%s```\n\n", name, c.what, n, float64(total)/float64(n), table)
		}
	}
	path := filepath.Join(o.out, "profile-tls.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("written to %s\n", path)
	return nil
}

// wrkErr makes answers other than 2xx an error.
func wrkErr(w wrkResult, err error) error {
	if err == nil {
		return w.answered()
	}
	return err
}

// profileLoad takes, for one load against the in-process engine, a CPU
// profile with the allocations per request (runtime.MemStats over the
// same run), then an allocation profile of a second, 3-second run, and
// appends them to b under title.
func profileLoad(e *env, o options, id, title string, load func(o options) (int64, time.Duration, error), b *strings.Builder) error {
	pf := filepath.Join(e.dir, "prof-"+id+".pprof")
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
	n, d, err := load(o)
	pprof.StopCPUProfile()
	f.Close()
	ru1.read()
	runtime.ReadMemStats(&m1)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: no request completed", title)
	}
	u, s := ru1.user-ru0.user, ru1.sys-ru0.sys
	fn := float64(n)
	fmt.Printf("%s: %.0f req/s; engine user %v sys %v; %.1f allocs, %.0f B per request\n", title, fn/d.Seconds(), u, s,
		float64(m1.Mallocs-m0.Mallocs)/fn, float64(m1.TotalAlloc-m0.TotalAlloc)/fn)
	fmt.Fprintf(b, "\n## %s\n\n%d requests in %v (%.0f/s); this process used user %v, sys %v (%.1f µs per request); %.1f heap allocations, %.0f bytes allocated per request; %d GC cycles.\n\n",
		title, n, d.Round(time.Millisecond), fn/d.Seconds(),
		u.Round(time.Millisecond), s.Round(time.Millisecond), float64(u+s)/float64(time.Microsecond)/fn,
		float64(m1.Mallocs-m0.Mallocs)/fn, float64(m1.TotalAlloc-m0.TotalAlloc)/fn, m1.NumGC-m0.NumGC)
	for _, mode := range [][]string{{"-top", "-nodecount=25"}, {"-top", "-cum", "-nodecount=40"}} {
		out, err := exec.Command("go", append([]string{"tool", "pprof"}, append(mode, pf)...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go tool pprof: %w: %s", err, out)
		}
		fmt.Fprintf(b, "`go tool pprof %s`:\n\n```\n%s```\n\n", strings.Join(mode, " "), trimPprof(string(out)))
	}
	runtime.MemProfileRate = 4096
	runtime.GC()
	o2 := o
	o2.dur = 3 * time.Second
	if _, _, err := load(o2); err != nil {
		runtime.MemProfileRate = 512 * 1024
		return err
	}
	runtime.GC()
	mp := filepath.Join(e.dir, "mem-"+id+".pprof")
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
	fmt.Fprintf(b, "`go tool pprof -sample_index=alloc_objects -top` (allocations since the start of the process, the runs above included):\n\n```\n%s```\n\n", trimPprof(string(out)))
	return nil
}
