package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The TLS rows of `make bench` (results.md's (h)): both proxies terminate
// TLS with an ECDSA P-256 certificate in front of nginx, pinned as the
// other rows. Three cases: keep-alive requests over TLS (mode tcp), a new
// TLS connection per request (wrk with "Connection: close"; wrk offers
// its last session again, so these are resumed handshakes: haproxy's
// SslFrontendSessionReuse_pct says 100), HTTP/2 (h2load, ALPN h2,
// mode http). Each proxy runs each case twice for half the case length,
// in the order haproxy, gproxy, gproxy, haproxy, so that outside load
// drifting during the run weighs on both alike.

// tlsRowCfg is bench/tmp/proxy-tls.cfg.
const tlsRowCfg = `# make bench, TLS rows: the same file for haproxy 2.6 and gproxy.
global
	maxconn 9000
	nbthread 1

defaults
	mode tcp
	timeout connect 5s
	timeout client 300s
	timeout server 300s

listen tls
	bind ` + tlsECAddr + ` ssl crt {{DIR}}/tls/ecdsa.pem
	server nginx ` + backendAddr + `

listen h2
	mode http
	bind ` + tlsH2Addr + ` ssl crt {{DIR}}/tls/ecdsa.pem alpn h2,http/1.1
	server nginx ` + backendAddr + `
`

// tlsRowCase is one TLS row; tlsRowCases' order is results' TLS order.
type tlsRowCase struct {
	id, what, unit string
}

var tlsRowCases = []tlsRowCase{
	{"ka", "keep-alive 128 B responses over TLS (mode tcp)", "req/s"},
	{"close", "new TLS connection per request, resumed (mode tcp)", "conn/s"},
	{"h2", "HTTP/2 128 B responses (h2load, ALPN h2, mode http)", "req/s"},
}

// tlsRun is what one proxy did in one TLS case, summed over its rounds.
type tlsRun struct {
	Requests int64
	Dur      time.Duration
	CPU      ticks
	Load     loadCPU // wrk's or h2load's and nginx's CPU over the rounds
	Errors   int64   // wrk's socket errors and timeouts
	BusySec  float64 // seconds CPU 0 and CPU 1 were busy over the wrk rounds, every process
}

func (r tlsRun) rate() float64 {
	if r.Dur == 0 {
		return 0
	}
	return float64(r.Requests) / r.Dur.Seconds()
}

// tlsThroughput measures the TLS rows for haproxy and gproxy.
func (e *env) tlsThroughput(ctx context.Context) error {
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
	cfg := filepath.Join(e.dir, "proxy-tls.cfg")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(tlsRowCfg, "{{DIR}}", e.dir)), 0o644); err != nil {
		return err
	}
	half := e.o
	half.dur = max(time.Second, e.o.dur/2)
	for _, name := range []string{"haproxy", "gproxy", "gproxy", "haproxy"} {
		argv := []string{"haproxy", "-db", "-f", cfg}
		var env []string
		if name == "gproxy" {
			argv[0] = filepath.Join(e.bin, "gproxy")
			env = []string{"GOMAXPROCS=1"}
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
		r := e.result.get(name)
		if r.TLS == nil {
			r.TLS = map[string]tlsRun{}
		}
		for _, c := range tlsRowCases {
			t0, _ := cpuSplit(p.pid())
			var n int64
			var d time.Duration
			var load loadCPU
			var errs int64
			var busy float64
			switch c.id {
			case "ka", "close":
				var extra []string
				if c.id == "close" {
					extra = []string{"-H", "Connection: close"}
				}
				w, err := runWrk(ctx, e.dir, half, "https://"+tlsECAddr+smallPath, extra...)
				if err == nil {
					err = w.answered()
				}
				if err != nil {
					p.stop()
					return fmt.Errorf("%s TLS %s: %w", name, c.id, err)
				}
				n, d, load, errs = w.Requests, w.Duration, w.Load, w.Errors
				busy = (w.Busy[0] + w.Busy[1]) * w.Duration.Seconds()
			case "h2":
				n, d, load, err = h2loadRun(ctx, half, "https://"+tlsH2Addr+smallPath)
				if err != nil {
					p.stop()
					return fmt.Errorf("%s TLS %s: %w", name, c.id, err)
				}
			}
			t1, _ := cpuSplit(p.pid())
			if p.exited() {
				return fmt.Errorf("%s died during TLS %s: %s", name, c.id, p.logTail())
			}
			run := r.TLS[c.id]
			run.Requests += n
			run.Dur += d
			run.Load = run.Load.add(load)
			run.Errors += errs
			run.BusySec += busy
			cpu := t1.sub(t0)
			run.CPU.U += cpu.U
			run.CPU.S += cpu.S
			r.TLS[c.id] = run
			fmt.Printf("%-8s TLS %-5s %10.0f %s, proxy CPU %.1f µs/req\n", name, c.id,
				float64(n)/d.Seconds(), c.unit, cpuPerReq(cpu, n))
		}
		p.stop()
	}
	return nil
}

// tlsRows are the (h) rows: rate and proxy CPU per request of each TLS
// case, gproxy against haproxy.
func (r *results) tlsRows() []row {
	h, g := r.get("haproxy"), r.get("gproxy")
	if h.TLS == nil || g.TLS == nil {
		return nil
	}
	var rows []row
	for _, c := range tlsRowCases {
		hr, gr := h.TLS[c.id], g.TLS[c.id]
		rows = append(rows,
			row{what: "(h) " + c.what, unit: c.unit, better: "↑", ref: hr.rate(), ours: gr.rate(), refName: "haproxy"},
			row{what: "(h) proxy CPU per request, " + c.id, unit: "µs", better: "↓",
				ref: cpuPerReq(hr.CPU, hr.Requests), ours: cpuPerReq(gr.CPU, gr.Requests), refName: "haproxy"},
		)
	}
	return rows
}

// tlsRaw is the raw figures of one target's TLS runs.
func tlsRaw(b *strings.Builder, t *targetResult) {
	for _, c := range tlsRowCases {
		tr, ok := t.TLS[c.id]
		if !ok {
			continue
		}
		fmt.Fprintf(b, "  (h) TLS %s: %d requests in %v (two rounds), %d errors; proxy CPU user %v sys %v; client CPU %v, nginx %v\n", c.id,
			tr.Requests, tr.Dur.Round(time.Millisecond), tr.Errors, ticksDur(tr.CPU.U), ticksDur(tr.CPU.S),
			tr.Load.Client.Round(time.Millisecond), tr.Load.Server.Round(time.Millisecond))
	}
}
