package main

import (
	"fmt"
	"strings"
	"time"
)

// The "machine's limit" section of results.md: for each case with a
// proxy CPU row, the proxy's CPU per request beside what the client (wrk
// or h2load) and the server (nginx) used per request in the same run. A
// proxy that costs less than the two together is at the machine's limit:
// pinned, the client and server's core saturates first, so its rate is
// theirs and only its CPU per request can still improve.

// limitCase is one case of the section.
type limitCase struct {
	what         string
	hCPU, gCPU   float64 // proxy µs per unit
	hLoad, gLoad float64 // client+server µs per unit in that proxy's run
}

func perUnit(d time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(n)
}

func tickDur(t ticks) time.Duration { return time.Duration(t.U+t.S) * clockTick }

func (r *results) limitCases() []limitCase {
	h, g := r.get("haproxy"), r.get("gproxy")
	var cs []limitCase
	for _, c := range []struct {
		what       string
		hw, gw     wrkResult
		hcpu, gcpu ticks
	}{
		{"(a) keep-alive, per request", h.KeepAlive, g.KeepAlive, h.CPUKeepAlive, g.CPUKeepAlive},
		{"(b) new connection, per connection", h.Close, g.Close, h.CPUClose, g.CPUClose},
		{"(c) 1 MiB bodies, per MiB", h.Big, g.Big, h.CPUBig, g.CPUBig},
	} {
		cs = append(cs, limitCase{c.what, perUnit(tickDur(c.hcpu), c.hw.Requests), perUnit(tickDur(c.gcpu), c.gw.Requests),
			perUnit(c.hw.Load.total(), c.hw.Requests), perUnit(c.gw.Load.total(), c.gw.Requests)})
	}
	for _, hc := range httpCases {
		for _, c := range []struct{ id, what string }{{"ka", "keep-alive"}, {"close", "`Connection: close`"}} {
			k := hc.id + "-" + c.id
			hr, gr := h.HTTP[k], g.HTTP[k]
			if hr.W.Requests == 0 || gr.W.Requests == 0 {
				continue
			}
			cs = append(cs, limitCase{"(g) " + hc.name + ", " + c.what, perUnit(tickDur(hr.CPU), hr.W.Requests), perUnit(tickDur(gr.CPU), gr.W.Requests),
				perUnit(hr.W.Load.total(), hr.W.Requests), perUnit(gr.W.Load.total(), gr.W.Requests)})
		}
	}
	for _, c := range tlsRowCases {
		hr, gr := h.TLS[c.id], g.TLS[c.id]
		if hr.Requests == 0 || gr.Requests == 0 {
			continue
		}
		cs = append(cs, limitCase{"(h) TLS " + c.id, perUnit(tickDur(hr.CPU), hr.Requests), perUnit(tickDur(gr.CPU), gr.Requests),
			perUnit(hr.Load.total(), hr.Requests), perUnit(gr.Load.total(), gr.Requests)})
	}
	for _, m := range twoThreadModes {
		hr, gr := h.TwoThread[m.mode], g.TwoThread[m.mode]
		if hr.Requests == 0 || gr.Requests == 0 {
			continue
		}
		cs = append(cs, limitCase{"(i) 2 threads, unpinned, mode " + m.mode, perUnit(tickDur(hr.CPU), hr.Requests), perUnit(tickDur(gr.CPU), gr.Requests),
			perUnit(hr.Load.total(), hr.Requests), perUnit(gr.Load.total(), gr.Requests)})
	}
	return cs
}

// verdict names which proxies cost less than client and server together.
func (c limitCase) verdict() string {
	hAt, gAt := c.hCPU < c.hLoad, c.gCPU < c.gLoad
	switch {
	case hAt && gAt:
		return "both"
	case gAt:
		return "gproxy only"
	case hAt:
		return "haproxy only"
	}
	return "neither"
}

// limitSection is results.md's section on the machine's limit.
func (r *results) limitSection() string {
	cs := r.limitCases()
	if len(cs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Which cases are at the machine's limit\n\n")
	b.WriteString("Proxy CPU per request (as the (f)-(i) rows) beside the CPU the client (wrk, h2load for HTTP/2) and\n")
	b.WriteString("nginx used per request in the same proxy's run (the client's rusage, nginx's schedstat). A proxy\n")
	b.WriteString("that costs less than the two together is at the machine's limit: pinned, CPU 0 (client and\n")
	b.WriteString("server) saturates first and the proxy's rate is theirs; only its CPU per request can still\n")
	b.WriteString("improve. \"direct\" is what wrk and nginx cost per request with no proxy.\n\n")
	d := r.get("direct")
	fmt.Fprintf(&b, "direct: (a) %s µs, (b) %s µs, (c) %s µs per MiB of wrk+nginx CPU.\n\n",
		num(perUnit(d.KeepAlive.Load.total(), d.KeepAlive.Requests)), num(perUnit(d.Close.Load.total(), d.Close.Requests)),
		num(perUnit(d.Big.Load.total(), d.Big.Requests)))
	b.WriteString("| case | haproxy µs | wrk+nginx µs, haproxy's run | haproxy/(wrk+nginx) | gproxy µs | wrk+nginx µs, gproxy's run | gproxy/(wrk+nginx) | at the limit |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", c.what, num(c.hCPU), num(c.hLoad), ratio(c.hCPU, c.hLoad),
			num(c.gCPU), num(c.gLoad), ratio(c.gCPU, c.gLoad), c.verdict())
	}
	// The unpinned case: everything shares both cores; say what each used.
	h, g := r.get("haproxy"), r.get("gproxy")
	if h.TwoThread != nil && g.TwoThread != nil {
		b.WriteString("\n(i) unpinned, 2 threads: share of one core each process used over the run (200% is both cores,\n")
		b.WriteString("which other work on the machine also uses; the load average is at the top):\n\n")
		b.WriteString("| mode | proxy | req/s | proxy | wrk | nginx | sum | both CPUs busy (every process) | other work |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range twoThreadModes {
			for _, p := range []struct {
				name string
				t    *targetResult
			}{{"haproxy", h}, {"gproxy", g}} {
				tr := p.t.TwoThread[m.mode]
				if tr.Dur == 0 {
					continue
				}
				pct := func(d time.Duration) float64 { return 100 * d.Seconds() / tr.Dur.Seconds() }
				px, cl, sv := pct(tickDur(tr.CPU)), pct(tr.Load.Client), pct(tr.Load.Server)
				busy := 100 * tr.BusySec / tr.Dur.Seconds()
				fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f%% | %.0f%% | %.0f%% | %.0f%% | %.0f%% | %.0f%% |\n", m.mode, p.name, tr.rate(), px, cl, sv, px+cl+sv,
					busy, max(0, busy-(px+cl+sv)))
			}
		}
	}
	return b.String()
}
