package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The TLS cases (`bench -tls`, bench/tls.md): both proxies terminate TLS
// in front of nginx (mode tcp), each alone on the proxy CPU; full
// handshakes per second with an RSA 2048 and an ECDSA P-256 certificate,
// resumed handshakes (TLS 1.2 session tickets), keep-alive requests and
// 1 MiB bodies over TLS (wrk, https).

const (
	tlsRSAAddr = "127.77.0.2:8443"
	tlsECAddr  = "127.77.0.2:8444"
	tlsH2Addr  = "127.77.0.2:8445"
)

const tlsProxyCfg = `# make bench -tls: the same file for haproxy 2.6 and gproxy.
global
	maxconn 9000
	nbthread 1

defaults
	mode tcp
	timeout connect 5s
	timeout client 300s
	timeout server 300s

listen rsa
	bind ` + tlsRSAAddr + ` ssl crt {{DIR}}/tls/rsa.pem
	server nginx ` + backendAddr + `

listen ecdsa
	bind ` + tlsECAddr + ` ssl crt {{DIR}}/tls/ecdsa.pem
	server nginx ` + backendAddr + `

# HTTP/2 to clients (ALPN h2), HTTP/1.1 keep-alive to nginx
listen h2
	mode http
	bind ` + tlsH2Addr + ` ssl crt {{DIR}}/tls/ecdsa.pem alpn h2,http/1.1
	server nginx ` + backendAddr + `
`

// selfSigned writes a certificate and its key for bench.test.
func selfSigned(path string, key crypto.Signer) error {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "bench.test"},
		DNSNames:     []string{"bench.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
	return os.WriteFile(path, b, 0o600)
}

type tlsCase struct {
	name, unit, per string
	// done and took are what each proxy did (handshakes, requests or
	// MB) and in how long; cpu its CPU meanwhile, summed over rounds.
	done map[string]float64
	took map[string]time.Duration
	cpu  map[string]ticks
	// errs are wrk's errors (timeouts of 1 MiB bodies on a loaded machine).
	errs map[string]int64
}

func (c *tlsCase) add(name string, n float64, d time.Duration, cpu ticks) {
	c.done[name] += n
	c.took[name] += d
	t := c.cpu[name]
	c.cpu[name] = ticks{t.U + cpu.U, t.S + cpu.S}
}

func (c *tlsCase) rate(name string) float64 {
	if c.took[name] <= 0 {
		return 0
	}
	return c.done[name] / c.took[name].Seconds()
}

// cpuPer is the proxy's CPU in µs per unit done (handshake, request, MB).
func (c *tlsCase) cpuPer(name string) float64 {
	if c.done[name] == 0 {
		return 0
	}
	t := c.cpu[name]
	return float64(int64(t.U+t.S)*int64(clockTick)) / 1e3 / c.done[name]
}

func runTLS(ctx context.Context, o options) error {
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
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		return err
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := selfSigned(filepath.Join(dir, "tls", "rsa.pem"), rk); err != nil {
		return err
	}
	if err := selfSigned(filepath.Join(dir, "tls", "ecdsa.pem"), ek); err != nil {
		return err
	}
	cfg := filepath.Join(dir, "tls.cfg")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(tlsProxyCfg, "{{DIR}}", dir)), 0o644); err != nil {
		return err
	}
	cases := []*tlsCase{
		{name: "full TLS 1.3 handshakes, RSA 2048", unit: "hs/s", per: "handshake"},
		{name: "full TLS 1.3 handshakes, ECDSA P-256", unit: "hs/s", per: "handshake"},
		{name: "resumed TLS 1.2 handshakes (tickets), ECDSA", unit: "hs/s", per: "handshake"},
		{name: "keep-alive 128 B responses over TLS", unit: "req/s", per: "request"},
		{name: "1 MiB bodies over TLS", unit: "MB/s", per: "MB"},
		{name: "HTTP/2 128 B responses (h2load, ALPN h2, mode http)", unit: "req/s", per: "request"},
	}
	for _, c := range cases {
		c.done, c.took, c.cpu, c.errs = map[string]float64{}, map[string]time.Duration{}, map[string]ticks{}, map[string]int64{}
	}
	type proxy struct {
		name string
		env  []string
		argv []string
	}
	hap := proxy{"haproxy", nil, []string{"haproxy", "-db", "-f", cfg}}
	gp := proxy{"gproxy", []string{"GOMAXPROCS=1"}, []string{filepath.Join(e.bin, "gproxy"), "-db", "-f", cfg}}
	names := []string{"haproxy", "gproxy"}
	// Two rounds of half the case length, in mirrored order, so that
	// outside load drifting during the run weighs on every proxy alike.
	order := []proxy{hap, gp, gp, hap}
	if o.baseBin != "" {
		bb, err := filepath.Abs(o.baseBin)
		if err != nil {
			return err
		}
		bp := proxy{"gproxy-before", []string{"GOMAXPROCS=1"}, []string{bb, "-db", "-f", cfg}}
		names = append(names, bp.name)
		order = []proxy{hap, gp, bp, bp, gp, hap}
	}
	half := o
	half.dur = max(time.Second, o.dur/2)
	cryptoOps, err := cryptoCosts(ctx)
	if err != nil {
		return err
	}
	for _, px := range order {
		p, err := startProc(e.dir, px.name+"-tls", cpuProxy, px.env, px.argv...)
		if err != nil {
			return err
		}
		e.procs = append(e.procs, p)
		if err := waitTCP(p, tlsECAddr); err != nil {
			return err
		}
		// measure runs one case and charges the proxy's CPU meanwhile.
		measure := func(c *tlsCase, f func() (float64, time.Duration, error)) error {
			t0, _ := cpuSplit(p.pid())
			n, d, err := f()
			t1, _ := cpuSplit(p.pid())
			if err != nil {
				return fmt.Errorf("%s, %s: %w", px.name, c.name, err)
			}
			c.add(px.name, n, d, t1.sub(t0))
			return nil
		}
		hs := func(addr string, cache tls.ClientSessionCache) func() (float64, time.Duration, error) {
			return func() (float64, time.Duration, error) {
				n := handshakes(ctx, addr, half.dur, cache)
				return float64(n), half.dur, nil
			}
		}
		wrk := func(c *tlsCase, path string, mb bool) func() (float64, time.Duration, error) {
			return func() (float64, time.Duration, error) {
				w, err := runWrk(ctx, e.dir, half, "https://"+tlsECAddr+path)
				c.errs[px.name] += w.Errors
				if mb {
					return float64(w.Bytes) / 1e6, w.Duration, err
				}
				return float64(w.Requests), w.Duration, err
			}
		}
		steps := []func() (float64, time.Duration, error){
			hs(tlsRSAAddr, nil), hs(tlsECAddr, nil), hs(tlsECAddr, tls.NewLRUClientSessionCache(64)),
			wrk(cases[3], smallPath, false), wrk(cases[4], bigPath, true),
			func() (float64, time.Duration, error) {
				n, d, _, err := h2loadRun(ctx, half, "https://"+tlsH2Addr+smallPath)
				return float64(n), d, err
			},
		}
		for i, c := range cases {
			if err := measure(c, steps[i]); err != nil {
				p.stop()
				return err
			}
		}
		if p.exited() {
			return fmt.Errorf("%s died: %s", px.name, p.logTail())
		}
		p.stop()
		for _, c := range cases {
			fmt.Printf("%-13s %-52s %10.0f %s %8.1f µs/%s\n", px.name, c.name, c.rate(px.name), c.unit, c.cpuPer(px.name), c.per)
		}
	}
	var b strings.Builder
	b.WriteString("# make bench -tls: gproxy vs haproxy 2.6 terminating TLS\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench -tls`; one run, ratios from that run.\n")
	b.WriteString("Both proxies `mode tcp` with `ssl crt` in front of nginx (bench/results.md's setup), nbthread 1 /\n")
	b.WriteString("GOMAXPROCS=1, pinned to CPU 1; the clients on CPU 0: handshakes are this program's crypto/tls\n")
	b.WriteString("client with 16 connections at a time, each closed after its handshake (no session cache for\n")
	b.WriteString("full handshakes; a shared one for resumed); requests are wrk 1 thread, 50 connections, https;\n")
	b.WriteString("HTTP/2: h2load (nghttp2-client) 1 thread, 50 connections, 10 streams each, mode http.\n")
	b.WriteString("Each proxy runs every case twice for half the case length, in mirrored order (haproxy,\n")
	b.WriteString("gproxy[, gproxy-before, gproxy-before], gproxy, haproxy); CPU is the proxy's utime+stime\n")
	b.WriteString("from /proc over each case divided by what it served: the rate depends on the clients\n")
	b.WriteString("(on a shared CPU), the CPU per unit on the proxy.\n\n")
	fmt.Fprintf(&b, "- date: %s; the run took %s\n- load average after: %s\n", began.UTC().Format("2006-01-02 15:04 UTC"),
		time.Since(began).Round(time.Second), strings.TrimSpace(readFile("/proc/loadavg")))
	if o.baseBin != "" {
		fmt.Fprintf(&b, "- gproxy-before: %s\n", o.baseBin)
	}
	b.WriteString("\n| case | unit | better |")
	sep := "|---|---|---|"
	for _, n := range names {
		b.WriteString(" " + n + " |")
		sep += "---|"
	}
	for _, n := range names[1:] {
		b.WriteString(" " + n + "/haproxy |")
		sep += "---|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "| %s | %s | ↑ |", c.name, c.unit)
		for _, n := range names {
			b.WriteString(" " + num(c.rate(n)) + " |")
		}
		for _, n := range names[1:] {
			b.WriteString(" " + ratio(c.rate(n), c.rate("haproxy")) + " |")
		}
		fmt.Fprintf(&b, "\n| proxy CPU per %s | µs | ↓ |", c.per)
		for _, n := range names {
			b.WriteString(" " + num(c.cpuPer(n)) + " |")
		}
		for _, n := range names[1:] {
			b.WriteString(" " + ratio(c.cpuPer(n), c.cpuPer("haproxy")) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n" + cryptoTable(cryptoOps))
	b.WriteString("\nRaw figures (both rounds): \n\n")
	for _, c := range cases {
		for _, n := range names {
			t := c.cpu[n]
			fmt.Fprintf(&b, "- %s, %s: %.0f %s in %v; CPU user %v sys %v", c.name, n, c.done[n], strings.TrimSuffix(c.unit, "/s"),
				c.took[n].Round(time.Millisecond), ticksDur(t.U), ticksDur(t.S))
			if c.errs[n] > 0 {
				fmt.Fprintf(&b, "; %d wrk errors", c.errs[n])
			}
			b.WriteString("\n")
		}
	}
	return os.WriteFile(filepath.Join(o.out, "tls.md"), []byte(b.String()), 0o644)
}

// handshakes counts complete handshakes per second over dur, with 16
// connections at a time; cache set means resumed TLS 1.2 handshakes.
func handshakes(ctx context.Context, addr string, dur time.Duration, cache tls.ClientSessionCache) int64 {
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"}
	if cache != nil {
		cfg.ClientSessionCache = cache
		cfg.MaxVersion = tls.VersionTLS12
		if c, err := tls.Dial("tcp", addr, cfg); err == nil {
			c.Close() // fills the cache
		}
	}
	var n atomic.Int64
	end := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &net.Dialer{Timeout: 5 * time.Second}
			for time.Now().Before(end) && ctx.Err() == nil {
				c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
				if err != nil {
					continue
				}
				if cache == nil || c.ConnectionState().DidResume {
					n.Add(1)
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	return n.Load()
}

// h2loadDone is h2load's "finished in 6.00s, 12345.67 req/s, ..." line and
// h2loadTotal its "requests: 74074 total, ..." line.
var (
	h2loadDone  = regexp.MustCompile(`finished in ([0-9.]+)(m?s), [0-9.]+ req/s`)
	h2loadTotal = regexp.MustCompile(`requests: ([0-9]+) total`)
)

// runH2load runs h2load from nghttp2-client on the load CPU for o.dur:
// o.conns connections with 10 concurrent streams each; requests per
// second.
func runH2load(ctx context.Context, o options, url string) (float64, error) {
	n, d, _, err := h2loadRun(ctx, o, url)
	if err != nil {
		return 0, err
	}
	return float64(n) / d.Seconds(), nil
}

// h2loadRun is runH2load's requests completed, the time h2load took and
// h2load's and nginx's CPU over the run.
func h2loadRun(ctx context.Context, o options, url string) (int64, time.Duration, loadCPU, error) {
	secs := max(1, int(o.dur.Seconds()))
	ctx, cancel := context.WithTimeout(ctx, o.dur+30*time.Second)
	defer cancel()
	s0 := serverCPU()
	cmd := exec.CommandContext(ctx, "taskset", "-c", o.wrkCPUs(), "h2load", "-t1", "-c", strconv.Itoa(o.conns), "-m10",
		"-D", strconv.Itoa(secs), url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, loadCPU{}, fmt.Errorf("h2load %s: %w: %s", url, err, out)
	}
	load := loadCPU{Client: clientCPU(cmd), Server: serverCPU() - s0}
	m, t := h2loadDone.FindSubmatch(out), h2loadTotal.FindSubmatch(out)
	if m == nil || t == nil {
		return 0, 0, loadCPU{}, fmt.Errorf("h2load %s: no rate in %s", url, out)
	}
	if !bytes.Contains(out, []byte(" 0 failed, 0 errored")) {
		return 0, 0, loadCPU{}, fmt.Errorf("h2load %s: failed requests: %s", url, out)
	}
	d, err := time.ParseDuration(string(m[1]) + string(m[2]))
	if err != nil || d <= 0 {
		return 0, 0, loadCPU{}, fmt.Errorf("h2load %s: duration in %q", url, m[0])
	}
	n, err := strconv.ParseInt(string(t[1]), 10, 64)
	if err != nil {
		return 0, 0, loadCPU{}, fmt.Errorf("h2load %s: %w", url, err)
	}
	return n, d, load, nil
}
