package main

import (
	"strings"
	"testing"
	"time"
)

// An idle proxy that used no CPU at all in the window is a figure, not a
// missing one: results.md printed "–" for gproxy's idle CPU when it
// measured 0 ns.
func TestIdleCPUZeroIsAFigure(t *testing.T) {
	r := &results{Idle: 5000, IdleMax: 8000}
	h, g := r.get("haproxy"), r.get("gproxy")
	h.IdleCPU, h.IdleWindow = 9775*time.Microsecond, 5*time.Second
	g.IdleCPU, g.IdleWindow = 0, 5*time.Second
	var line string
	for _, l := range strings.Split(r.table(), "\n") {
		if strings.Contains(l, "(e) CPU with 5000 idle connections") {
			line = l
		}
	}
	if want := "| haproxy 1.96 | gproxy 0 | 0.00 |"; !strings.Contains(line, want) {
		t.Errorf("idle CPU row %q, want it to contain %q", line, want)
	}
	// A row not measured at all keeps its dash.
	r2 := &results{Idle: 5000}
	for _, l := range strings.Split(r2.table(), "\n") {
		if strings.Contains(l, "(e) CPU with") && !strings.Contains(l, "| haproxy – | gproxy – | – |") {
			t.Errorf("unmeasured idle CPU row %q, want dashes", l)
		}
	}
}

// A proxy is at the machine's limit when it costs less per request than
// the client and the server together in its own run.
func TestLimitVerdict(t *testing.T) {
	for _, c := range []struct {
		c    limitCase
		want string
	}{
		{limitCase{hCPU: 17, hLoad: 25, gCPU: 24, gLoad: 27}, "both"},
		{limitCase{hCPU: 67, hLoad: 70, gCPU: 94, gLoad: 73}, "haproxy only"},
		{limitCase{hCPU: 1018, hLoad: 501, gCPU: 377, gLoad: 884}, "gproxy only"},
		{limitCase{hCPU: 30, hLoad: 24, gCPU: 99, gLoad: 87}, "neither"},
	} {
		if got := c.c.verdict(); got != c.want {
			t.Errorf("%+v: verdict %q, want %q", c.c, got, c.want)
		}
	}
}

// The client's and nginx's CPU per request come from the runs' raw
// figures: 6,000 requests with 300 ms of wrk and 150 ms of nginx are
// 75 µs per request.
func TestLimitCasesFromRuns(t *testing.T) {
	r := &results{}
	h, g := r.get("haproxy"), r.get("gproxy")
	h.KeepAlive = wrkResult{Requests: 6000, Duration: 6 * time.Second, Load: loadCPU{Client: 300 * time.Millisecond, Server: 150 * time.Millisecond}}
	h.CPUKeepAlive = ticks{U: 3, S: 9} // 120 ms: 20 µs per request
	g.KeepAlive = wrkResult{Requests: 12000, Duration: 6 * time.Second, Load: loadCPU{Client: 600 * time.Millisecond, Server: 600 * time.Millisecond}}
	g.CPUKeepAlive = ticks{U: 60, S: 60} // 1.2 s: 100 µs per request
	c := r.limitCases()[0]
	if c.hCPU != 20 || c.hLoad != 75 || c.gCPU != 100 || c.gLoad != 100 {
		t.Fatalf("(a) limit case %+v, want haproxy 20/75 µs, gproxy 100/100 µs", c)
	}
	if c.verdict() != "haproxy only" {
		t.Errorf("verdict %q, want haproxy only (gproxy costs as much as wrk and nginx)", c.verdict())
	}
}
