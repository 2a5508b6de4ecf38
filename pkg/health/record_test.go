package health

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// TestRecordCountsWithFakeClock drives the monitor's bookkeeping with an
// injected clock: chkfail counts failures seen while up, chkdown the UP to
// DOWN transitions, downtime the time spent down.
func TestRecordCountsWithFakeClock(t *testing.T) {
	cfg, _, err := haproxycfg.Parse("t.cfg", []byte(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend be
    server s1 127.0.0.1:1 check rise 2 fall 2
    server s2 127.0.0.1:2 check backup
`), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var logged []string
	m := &Monitor{
		opts: Options{Logger: zerolog.Nop(), Now: func() time.Time { return now },
			Log: func(px *haproxycfg.Proxy, l haproxycfg.Level, msg string) { logged = append(logged, msg) }},
		checks: map[*proxy.Server]*check{},
	}
	s1 := eng.Backend("be").Server("s1")
	c := &check{srv: s1, st: NewState(2, 2)}
	m.checks[s1] = c
	fail := Result{Code: CodeL4CON, Info: "Connection refused", Duration: 3 * time.Millisecond}
	pass := Result{Code: CodeL4OK}
	steps := []struct {
		r       Result
		advance time.Duration
		up      bool
	}{
		{pass, time.Second, true}, // full health
		{fail, time.Second, true}, // UP 1/2
		{fail, time.Second, false},
		{fail, 10 * time.Second, false},
		{pass, 5 * time.Second, false},
		{pass, time.Second, true},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		m.record(c, st.r)
		if s1.Up() != st.up {
			t.Fatalf("step %d: engine up=%v, want %v", i, s1.Up(), st.up)
		}
	}
	snap, _ := m.Snapshot(s1)
	if got := m.BackendDowns(eng.Backend("be")); got != 0 {
		t.Errorf("backend chkdown %d while the backup was left", got)
	}
	if snap.Failures != 2 || snap.Downs != 1 || snap.Downtime != 16*time.Second {
		t.Errorf("chkfail %d chkdown %d downtime %v; want 2, 1, 16s", snap.Failures, snap.Downs, snap.Downtime)
	}
	want := []string{
		"Server be/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 3ms. 0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"Server be/s1 is UP, reason: Layer4 check passed, check duration: 0ms. 1 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.",
	}
	if strings.Join(logged, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(logged, "\n"), strings.Join(want, "\n"))
	}
}

func TestNextInterval(t *testing.T) {
	s := &haproxycfg.Server{Inter: 2 * time.Second, FastInter: 500 * time.Millisecond, DownInter: 5 * time.Second}
	tests := []struct {
		st   State
		want time.Duration
	}{
		{State{Health: 4, Rise: 2, Fall: 3}, 2 * time.Second},
		{State{Health: 3, Rise: 2, Fall: 3}, 500 * time.Millisecond},
		{State{Health: 1, Rise: 2, Fall: 3}, 500 * time.Millisecond},
		{State{Health: 0, Rise: 2, Fall: 3}, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := next(s, tt.st); got != tt.want {
			t.Errorf("next(health %d) = %v, want %v", tt.st.Health, got, tt.want)
		}
	}
	if got := next(&haproxycfg.Server{}, State{Health: 0, Rise: 2, Fall: 3}); got != 2*time.Second {
		t.Errorf("defaults: %v, want haproxy's 2s inter", got)
	}
}

func TestProbeFor(t *testing.T) {
	px := &haproxycfg.Proxy{Timeouts: haproxycfg.Timeouts{Connect: 5 * time.Second}}
	tests := []struct {
		name string
		px   *haproxycfg.Proxy
		s    *haproxycfg.Server
		want Probe
	}{
		{"inter bounds the check, not timeout connect", px, &haproxycfg.Server{Host: "127.0.0.1", Port: 80, Inter: time.Second},
			Probe{Addr: "127.0.0.1:80", Connect: time.Second, Read: time.Second, Whole: time.Second}},
		{"addr and port", px, &haproxycfg.Server{Host: "127.0.0.1", Port: 80, CheckAddr: "127.0.0.2", CheckPort: 8080, Inter: 10 * time.Second},
			Probe{Addr: "127.0.0.2:8080", Connect: 10 * time.Second, Read: 10 * time.Second, Whole: 10 * time.Second}},
		{"timeout check: min(connect, inter) then check", &haproxycfg.Proxy{Timeouts: haproxycfg.Timeouts{Connect: time.Second, Check: 300 * time.Millisecond}}, &haproxycfg.Server{Host: "::1", Port: 80},
			Probe{Addr: "[::1]:80", Connect: time.Second, Read: 300 * time.Millisecond}},
	}
	for _, tt := range tests {
		got := ProbeFor(tt.px, tt.s)
		if got.Addr != tt.want.Addr || got.Connect != tt.want.Connect || got.Read != tt.want.Read || got.Whole != tt.want.Whole {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
		if len(got.Steps) != 1 || got.Steps[0].Action != haproxycfg.RuleConnect {
			t.Errorf("%s: steps %+v, want one implicit connect", tt.name, got.Steps)
		}
	}
}
