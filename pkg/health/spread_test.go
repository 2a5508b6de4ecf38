package health

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// TestFirstChecksSpreadAsHaproxy: the first checks start at haproxy's
// start_checks offsets (position/total of the shortest interval of at
// least 1 s, or of the check's own when longer; max-spread-checks caps
// it), not at random: a test or an operator sees the first server
// checked at once and the others at fixed times.
func TestFirstChecksSpreadAsHaproxy(t *testing.T) {
	const cfgText = `
global
%s
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:1
    default_backend a
backend a
    server s1 127.0.0.1:1 check inter 1000s
    server s2 127.0.0.1:2 check inter 100ms
    server s3 127.0.0.1:3
backend b
    server s1 127.0.0.1:4 check inter 500s agent-check agent-port 5 agent-inter 2000s
`
	type run struct {
		backend, server string
		want            firstRun
	}
	for _, tc := range []struct {
		name   string
		global string
		want   []run
	}{
		// Four runs (s3 has none), mininter 500 s (100 ms is below
		// the threshold): a/s1 at 0 of its own 1000 s, a/s2 at 1/4 of
		// 500 s, b/s1's check at 2/4 of 500 s, its agent at 3/4 of
		// its own 2000 s.
		{"default", "", []run{{"a", "s1", firstRun{}}, {"a", "s2", firstRun{check: 125 * time.Second}},
			{"a", "s3", firstRun{}}, {"b", "s1", firstRun{check: 250 * time.Second, agent: 1500 * time.Second}}}},
		{"max-spread-checks", "    max-spread-checks 100s", []run{{"a", "s1", firstRun{}}, {"a", "s2", firstRun{check: 25 * time.Second}},
			{"a", "s3", firstRun{}}, {"b", "s1", firstRun{check: 50 * time.Second, agent: 75 * time.Second}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := haproxycfg.Parse("t.cfg", []byte(fmtCfg(cfgText, tc.global)), haproxycfg.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			runs := firstRuns(eng, &cfg.Global)
			for _, r := range tc.want {
				s := eng.Backend(r.backend).Server(r.server)
				if got := runs[s]; got != r.want {
					t.Errorf("%s/%s: first runs %+v, want %+v", r.backend, r.server, got, r.want)
				}
			}
		})
	}
}

// TestSpreadChecksJitter: `spread-checks 20` draws every next interval
// within ±20% of it; without it the interval is exact.
func TestSpreadChecksJitter(t *testing.T) {
	m := &Monitor{}
	if got := m.jitter(10 * time.Second); got != 10*time.Second {
		t.Fatalf("no spread-checks: %v, want 10s", got)
	}
	m.opts.Global = &haproxycfg.Global{SpreadChecks: 20}
	lo, hi := 10*time.Second, 10*time.Second
	for range 2000 {
		d := m.jitter(10 * time.Second)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 8*time.Second || hi > 12*time.Second || lo > 8500*time.Millisecond || hi < 11500*time.Millisecond {
		t.Fatalf("spread-checks 20: intervals in [%v, %v], want spread over [8s, 12s]", lo, hi)
	}
}

func fmtCfg(text, global string) string {
	return strings.Replace(text, "%s", global, 1)
}
