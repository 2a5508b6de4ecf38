package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// proxyCfg is the one configuration both proxies run (haproxy's modern
// spelling; gproxy reads it as is). maxconn 9000 fits the hard limit of
// 20,000 descriptors: haproxy refuses to start when 2*maxconn does not.
const proxyCfg = `# make bench: the same file for haproxy 2.6 and gproxy.
global
	maxconn 9000
	nbthread 1

defaults
	mode tcp
	timeout connect 5s
	timeout client 300s
	timeout server 300s

listen bench
	bind ` + proxyAddr + `
	balance roundrobin
	server nginx ` + backendAddr + `
`

const nginxCfg = `# make bench backend: one worker, static files, long keep-alive.
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
user root;
pid {{DIR}}/nginx.pid;
error_log {{DIR}}/nginx-error.log warn;
events { worker_connections 19000; }
http {
	access_log off;
	client_body_temp_path {{DIR}}/nginx-tmp/body;
	proxy_temp_path {{DIR}}/nginx-tmp/proxy;
	fastcgi_temp_path {{DIR}}/nginx-tmp/fastcgi;
	uwsgi_temp_path {{DIR}}/nginx-tmp/uwsgi;
	scgi_temp_path {{DIR}}/nginx-tmp/scgi;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 300s;
	keepalive_requests 100000000;
	default_type application/octet-stream;
	server {
		listen ` + backendAddr + `;
		root {{DIR}}/www;
	}
}
`

// Paths served by nginx.
const (
	smallPath = "/small.html" // 128 bytes
	bigPath   = "/1m.bin"     // 1 MiB
	smallSize = 128
)

// target is what the load goes to: nginx directly or a proxy in front.
type target struct {
	name  string
	addr  string
	start func() (*proc, error) // nil for direct
}

type env struct {
	o      options
	dir    string // <out>/tmp
	bin    string // built gproxy, gkeepalived
	nginx  *proc
	procs  []*proc
	result *results
	vrrpMu sync.Mutex // result.VRRP, firstErr of concurrent vrrpAt calls
}

func run(ctx context.Context, o options) error {
	began := time.Now()
	dir, err := filepath.Abs(filepath.Join(o.out, "tmp"))
	if err != nil {
		return err
	}
	e := &env{o: o, dir: dir, bin: dir, result: &results{Idle: o.idle, IdleMax: o.idleMax}}
	defer e.cleanup()
	if err := e.prepare(); err != nil {
		return err
	}
	e.result.machine()
	e.result.LoadBefore = strings.TrimSpace(readFile("/proc/loadavg"))
	// One VRRP instance is measured over two minutes, in which each
	// daemon uses about 0.1 ms of CPU a second: it runs beside the proxy
	// rows, which keeps make bench within its time.
	ctx, cancel := context.WithCancel(ctx)
	var vrrp1 sync.WaitGroup
	var vrrp1Err error
	if !o.skipVRRP {
		vrrp1.Add(1)
		go func() {
			defer vrrp1.Done()
			vrrp1Err = e.vrrpAt(ctx, vrrpSizes[:1])
		}()
	}
	// On an early return, end that measurement before cleaning up.
	defer func() {
		cancel()
		vrrp1.Wait()
	}()

	targets := []target{
		{name: "direct", addr: backendAddr},
		{name: "haproxy", addr: proxyAddr, start: func() (*proc, error) {
			return e.startProxy("haproxy", nil, "haproxy", "-db", "-f", filepath.Join(dir, "proxy.cfg"))
		}},
		{name: "gproxy", addr: proxyAddr, start: func() (*proc, error) {
			return e.startProxy("gproxy", []string{"GOMAXPROCS=1"}, filepath.Join(e.bin, "gproxy"), "-db", "-f", filepath.Join(dir, "proxy.cfg"))
		}},
	}

	// (a) keep-alive small responses, (b) a connection per request,
	// (c) 1 MiB bodies; CPU of the proxy over each run (f).
	for _, t := range targets {
		if err := e.throughput(ctx, t); err != nil {
			return err
		}
	}
	// (g) mode http, plain and with L7 rules, keep-alive and close.
	if err := e.httpThroughput(ctx); err != nil {
		return err
	}
	// (h) TLS: keep-alive, a handshake per request, HTTP/2.
	if err := e.tlsThroughput(ctx); err != nil {
		return err
	}
	// (i) 2 threads each, unpinned, keep-alive in mode tcp and http.
	if err := e.twoThreads(ctx); err != nil {
		return err
	}
	// (d) latency at a fixed rate: 30% of the slowest (a), the same rate
	// for every target.
	minA := 0.0
	for _, t := range targets {
		if r := e.result.get(t.name).KeepAlive.perSec(e.result.get(t.name).KeepAlive.Requests); minA == 0 || r < minA {
			minA = r
		}
	}
	rate := int(minA*0.3) / 1000 * 1000
	if rate < 1000 {
		rate = 1000
	}
	for _, t := range targets {
		if err := e.latency(ctx, t, rate); err != nil {
			return err
		}
	}
	// (d) the same rate through each proxy in mode http.
	for _, t := range httpTargets(e) {
		if err := e.latency(ctx, t, rate); err != nil {
			return err
		}
	}
	// (e) memory with idle proxied connections, mode tcp then mode http.
	for _, t := range targets[1:] {
		if err := e.idleMemory(ctx, t); err != nil {
			return err
		}
	}
	for _, t := range httpTargets(e) {
		if err := e.idleHTTP(ctx, t); err != nil {
			return err
		}
	}
	e.nginx.stop()

	if !o.skipVRRP {
		if err := e.vrrpAt(ctx, vrrpSizes[1:]); err != nil {
			return err
		}
	}
	vrrp1.Wait()
	if vrrp1Err != nil {
		return vrrp1Err
	}
	e.result.LoadAfter = strings.TrimSpace(readFile("/proc/loadavg"))
	e.result.Took = time.Since(began).Round(time.Second)
	return e.result.write(o.out)
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func (e *env) cleanup() {
	for _, p := range e.procs {
		p.stop()
	}
}

// prepare builds the binaries, writes nginx's files and starts it.
func (e *env) prepare() error {
	for _, sub := range []string{"www", "nginx-tmp", "vrrp"} {
		if err := os.MkdirAll(filepath.Join(e.dir, sub), 0o755); err != nil {
			return err
		}
	}
	for _, c := range []string{"gproxy", "gkeepalived"} {
		fmt.Printf("building %s\n", c)
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(e.bin, c), "./cmd/"+c)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w: %s", c, err, out)
		}
	}
	small := []byte(strings.Repeat("0123456789abcdef", smallSize/16))
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	if err := os.WriteFile(filepath.Join(e.dir, "www", "small.html"), small, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.dir, "www", "1m.bin"), big, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.dir, "proxy.cfg"), []byte(proxyCfg), 0o644); err != nil {
		return err
	}
	ncfg := filepath.Join(e.dir, "nginx.conf")
	if err := os.WriteFile(ncfg, []byte(strings.ReplaceAll(nginxCfg, "{{DIR}}", e.dir)), 0o644); err != nil {
		return err
	}
	p, err := startProc(e.dir, "nginx", cpuLoad, nil, "nginx", "-e", filepath.Join(e.dir, "nginx-error.log"), "-p", e.dir, "-c", ncfg)
	if err != nil {
		return err
	}
	e.nginx = p
	e.procs = append(e.procs, p)
	if err := waitTCP(p, backendAddr); err != nil {
		return err
	}
	h, err := dialHTTP(backendAddr, bigPath)
	if err != nil {
		return err
	}
	defer h.c.Close()
	if err := h.do(); err != nil {
		return fmt.Errorf("nginx: GET %s: %w", bigPath, err)
	}
	// nginx answered: its worker is up; record master and worker for
	// the server CPU of each run.
	nginxPIDs = tree(p.pid())
	return nil
}

// startProxy starts a proxy on the proxy CPU and waits until a request
// through it is answered.
func (e *env) startProxy(name string, env []string, argv ...string) (*proc, error) {
	return e.startProxyOn(cpuProxy, name, env, argv...)
}

// startProxyOn is startProxy on the CPU list cpus.
func (e *env) startProxyOn(cpus, name string, env []string, argv ...string) (*proc, error) {
	p, err := startProc(e.dir, name, cpus, env, argv...)
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	if err := waitTCP(p, proxyAddr); err != nil {
		p.stop()
		return nil, err
	}
	h, err := dialHTTP(proxyAddr, smallPath)
	if err == nil {
		err = h.do()
		h.c.Close()
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: request through the proxy: %w", name, err)
	}
	return p, nil
}

func (e *env) throughput(ctx context.Context, t target) error {
	var p *proc
	if t.start != nil {
		var err error
		if p, err = t.start(); err != nil {
			return err
		}
		defer p.stop()
	}
	r := e.result.get(t.name)
	cases := []struct {
		name  string
		path  string
		extra []string
		res   *wrkResult
		cpu   *ticks
	}{
		{"(a) keep-alive", smallPath, nil, &r.KeepAlive, &r.CPUKeepAlive},
		{"(b) close", smallPath, []string{"-H", "Connection: close"}, &r.Close, &r.CPUClose},
		{"(c) 1 MiB", bigPath, nil, &r.Big, &r.CPUBig},
	}
	for _, c := range cases {
		var t0 ticks
		if p != nil {
			t0, _ = cpuSplit(p.pid())
		}
		w, err := runWrk(ctx, e.dir, e.o, "http://"+t.addr+c.path, c.extra...)
		if err != nil {
			return fmt.Errorf("%s %s: %w", t.name, c.name, err)
		}
		*c.res = w
		if p != nil {
			t1, _ := cpuSplit(p.pid())
			*c.cpu = t1.sub(t0)
			if p.exited() {
				return fmt.Errorf("%s died during %s: %s", t.name, c.name, p.logTail())
			}
		}
		fmt.Printf("%-8s %-15s %10.0f req/s %8.2f MB/s errors %d\n", t.name, c.name,
			w.perSec(w.Requests), w.perSec(w.Bytes)/1e6, w.Errors)
	}
	return nil
}

func (e *env) latency(ctx context.Context, t target, rate int) error {
	if t.start != nil {
		p, err := t.start()
		if err != nil {
			return err
		}
		defer p.stop()
	}
	rr, err := fixedRate(ctx, t.addr, smallPath, rate, e.o.conns, e.o.dur)
	if err != nil {
		return fmt.Errorf("%s (d): %w", t.name, err)
	}
	name, mode := t.name, "tcp"
	if n, ok := strings.CutSuffix(t.name, httpSuffix); ok {
		name, mode = n, "http"
		e.result.get(name).LatencyHTTP = rr
	} else {
		e.result.get(name).Latency = rr
	}
	fmt.Printf("%-8s (d) mode %-4s %d req/s     p50 %v p99 %v p99.9 %v (late %d, errors %d)\n", name, mode, rate, rr.P50, rr.P99, rr.P999, rr.Late, rr.Errors)
	return nil
}

// httpSuffix marks a target that runs the mode http configuration.
const httpSuffix = " (http)"

// httpTargets are haproxy and gproxy with bench/tmp/proxy-http.cfg
// (written by httpThroughput), pinned as in mode tcp.
func httpTargets(e *env) []target {
	cfg := filepath.Join(e.dir, httpCases[0].file)
	return []target{
		{name: "haproxy" + httpSuffix, addr: proxyAddr, start: func() (*proc, error) {
			return e.startProxy("haproxy", nil, "haproxy", "-db", "-f", cfg)
		}},
		{name: "gproxy" + httpSuffix, addr: proxyAddr, start: func() (*proc, error) {
			return e.startProxy("gproxy", []string{"GOMAXPROCS=1"}, filepath.Join(e.bin, "gproxy"), "-db", "-f", cfg)
		}},
	}
}

// idleHTTP is (e) in mode http: RSS, descriptors and CPU per idle
// connection at the same count as in mode tcp.
func (e *env) idleHTTP(ctx context.Context, t target) error {
	p, err := t.start()
	if err != nil {
		return err
	}
	defer p.stop()
	name := strings.TrimSuffix(t.name, httpSuffix)
	r, err := e.idleRun(ctx, p)
	if err != nil {
		return fmt.Errorf("%s (e) mode http: %w", name, err)
	}
	tr := e.result.get(name)
	if tr.IdleByMode == nil {
		tr.IdleByMode = map[string]idleRun{}
	}
	tr.IdleByMode["http"] = r
	fmt.Printf("%-8s (e) mode http %d idle: VmRSS %d -> %d KiB (%.2f KiB/conn), fds %d -> %d, CPU %v over %v\n", name, r.N,
		r.RSSBefore, r.RSSAfter, r.perConnKiB(), r.FDBefore, r.FDAfter, r.CPU, r.Window.Round(time.Millisecond))
	return nil
}

func (e *env) idleMemory(ctx context.Context, t target) error {
	p, err := t.start()
	if err != nil {
		return err
	}
	defer p.stop()
	r := e.result.get(t.name)
	time.Sleep(time.Second)
	pid := p.pid()
	r.RSSBefore, _ = statusKiB(pid, "VmRSS")
	r.FDBefore = fdCount(pid)
	t0 := time.Now()
	s := &idleSet{}
	defer s.close()
	if err := s.open(ctx, t.addr, smallPath, e.o.idle); err != nil {
		return fmt.Errorf("%s (e): %d of %d idle connections: %w", t.name, len(s.hs), e.o.idle, err)
	}
	r.OpenTook = time.Since(t0)
	time.Sleep(2 * time.Second)
	r.RSSAfter, _ = statusKiB(pid, "VmRSS")
	r.FDAfter = fdCount(pid)
	c0 := cpuTime(pid)
	w0 := time.Now()
	time.Sleep(5 * time.Second)
	r.IdleCPU = cpuTime(pid) - c0
	r.IdleWindow = time.Since(w0)
	if err := s.check(); err != nil {
		return fmt.Errorf("%s (e): %w", t.name, err)
	}
	fmt.Printf("%-8s (e) %d idle: VmRSS %d -> %d KiB, fds %d -> %d, CPU %v over %v, opened in %v\n", t.name, e.o.idle,
		r.RSSBefore, r.RSSAfter, r.FDBefore, r.FDAfter, r.IdleCPU, r.IdleWindow.Round(time.Millisecond), r.OpenTook.Round(time.Millisecond))
	// How many can it hold at all under the descriptor limit? Add
	// connections up to idleMax; a failure here is a result, not an error.
	if e.o.idleMax > e.o.idle {
		err := s.open(ctx, t.addr, smallPath, e.o.idleMax-e.o.idle)
		r.MaxHeld = len(s.hs)
		if err == nil {
			err = s.check()
		}
		if err != nil {
			r.MaxErr = err.Error()
		}
		r.MaxFDs = fdCount(pid)
		fmt.Printf("%-8s (e) %d of %d idle connections held, %d fds (%s)\n", t.name, r.MaxHeld, e.o.idleMax, r.MaxFDs, r.MaxErr)
	}
	return ctx.Err()
}
