package track_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/track"
	"hapair/pkg/track/tracktest"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Lines returns the messages logged, one per line.
func (l *logBuf) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func newLogger() (*logBuf, zerolog.Logger) {
	lb := &logBuf{}
	// Messages only, as keepalived writes them to syslog.
	w := zerolog.ConsoleWriter{Out: lb, NoColor: true, PartsOrder: []string{zerolog.MessageFieldName}}
	return lb, zerolog.New(w)
}

var cmd = track.Command{Args: []string{"/usr/bin/killall", "-0", "haproxy"}}

// sequence runs a script whose runs exit with the given statuses (one per
// interval) and returns the published Results and the log.
func sequence(t *testing.T, s track.Script, statuses []int) ([]track.Result, []string) {
	t.Helper()
	lb, log := newLogger()
	clk := tracktest.NewClock(time.Unix(1700000000, 0))
	st := tracktest.NewStarter()
	var mu sync.Mutex
	i := 0
	st.Auto = func(track.Command) track.Exit {
		mu.Lock()
		defer mu.Unlock()
		e := track.Exit{Exited: true, Status: statuses[i]}
		i++
		return e
	}
	r := &track.Runner{Clock: clk, Starter: st, Log: log}
	ctx, cancel := context.WithCancel(context.Background())
	var results []track.Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, s, cmd, func(res track.Result) { results = append(results, res) })
	}()
	for n := 1; n < len(statuses); n++ {
		if !clk.BlockUntil(1, 10*time.Second) {
			t.Fatal("runner never waited for its next interval")
		}
		clk.Step()
	}
	// Wait until the last run is processed (the runner sleeps again).
	for deadline := time.Now().Add(10 * time.Second); ; {
		mu.Lock()
		ran := i
		mu.Unlock()
		if ran == len(statuses) && clk.Waiters() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("runs did not finish")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	return results, lb.Lines()
}

func oks(rs []track.Result) string {
	var b strings.Builder
	for _, r := range rs {
		if r.OK {
			b.WriteString("U")
		} else {
			b.WriteString("D")
		}
	}
	return b.String()
}

func TestDebounce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		s        track.Script
		statuses []int
		want     string // published states: U ok, D failed
	}{
		{"first success decides at once", track.Script{Rise: 3, Fall: 3}, []int{0, 0, 0}, "U"},
		{"first failure decides at once", track.Script{Rise: 3, Fall: 3}, []int{1, 1}, "D"},
		{"fall 2 needs two failures", track.Script{Fall: 2}, []int{0, 1, 0, 1, 1, 1}, "UD"},
		{"rise 2 needs two successes", track.Script{Rise: 2}, []int{1, 0, 1, 0, 0, 0}, "DU"},
		{"rise 1 fall 1 flaps", track.Script{}, []int{0, 1, 0, 1}, "UDUD"},
		{"init_fail: no news until it rises", track.Script{InitFail: true, Rise: 2}, []int{1, 1, 0, 0, 1}, "UD"},
		{"init_fail rise 1", track.Script{InitFail: true}, []int{0}, "U"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Name = "chk"
			tc.s.Weight = 2
			res, log := sequence(t, tc.s, tc.statuses)
			if got := oks(res); got != tc.want {
				t.Errorf("published %q, want %q\nlog:\n%s", got, tc.want, strings.Join(log, "\n"))
			}
			for _, r := range res {
				if r.Name != "chk" || r.Weight != 2 {
					t.Errorf("result %+v lacks name/weight", r)
				}
			}
		})
	}
}

func TestLogLines(t *testing.T) {
	res, log := sequence(t, track.Script{Name: "chk_haproxy", Weight: 2}, []int{0, 0, 1, 1, 2, 0})
	want := []string{
		"VRRP_Script(chk_haproxy) succeeded",
		"Script `chk_haproxy` now returning 1",
		"VRRP_Script(chk_haproxy) failed (exited with status 1)",
		"Script `chk_haproxy` now returning 2",
		"Script `chk_haproxy` now returning 0",
		"VRRP_Script(chk_haproxy) succeeded",
	}
	if strings.Join(log, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
	if oks(res) != "UDU" || res[1].Status != 1 {
		t.Errorf("results %+v", res)
	}
}

// runHanging starts a script that does not exit by itself and returns its
// fake process, the clock and a function returning the Results and log
// once the runner is stopped.
func runHanging(t *testing.T, s track.Script) (*tracktest.Proc, *tracktest.Clock, chan track.Result, *logBuf, func()) {
	t.Helper()
	lb, log := newLogger()
	clk := tracktest.NewClock(time.Unix(1700000000, 0))
	st := tracktest.NewStarter()
	r := &track.Runner{Clock: clk, Starter: st, Log: log}
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan track.Result, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, s, cmd, func(res track.Result) { results <- res })
	}()
	var p *tracktest.Proc
	select {
	case p = <-st.Started:
	case <-time.After(10 * time.Second):
		t.Fatal("script not started")
	}
	return p, clk, results, lb, func() { cancel(); <-done }
}

func TestTimeout(t *testing.T) {
	s := track.Script{Name: "chk", Interval: 2 * time.Second, Timeout: 500 * time.Millisecond}
	p, clk, results, lb, stop := runHanging(t, s)
	defer stop()
	if !clk.BlockUntil(1, 10*time.Second) {
		t.Fatal("no timeout armed")
	}
	start := clk.Now()
	clk.Step()
	if got := clk.Now().Sub(start); got != 500*time.Millisecond {
		t.Errorf("killed after %v, want the 500ms timeout", got)
	}
	var res track.Result
	select {
	case res = <-results:
	case <-time.After(10 * time.Second):
		t.Fatal("no result after the timeout")
	}
	if res.OK {
		t.Error("a timed-out script must count as failed")
	}
	// SIGTERM to the group, then SIGKILL so its children go too.
	if got := p.Signals(); len(got) != 2 || got[0] != syscall.SIGTERM || got[1] != syscall.SIGKILL {
		t.Errorf("signals %v, want [SIGTERM SIGKILL]", got)
	}
	if l := lb.Lines(); len(l) != 1 || l[0] != "VRRP_Script(chk) timed_out" {
		t.Errorf("log %q", l)
	}
}

func TestTimeoutIgnoringTERM(t *testing.T) {
	s := track.Script{Name: "chk", Interval: 10 * time.Second, Timeout: time.Second}
	p, clk, results, lb, stop := runHanging(t, s)
	defer stop()
	p.IgnoreTerm = true
	start := clk.Now()
	for i := 0; i < 2; i++ { // timeout -> TERM; +2s -> KILL
		if !clk.BlockUntil(1, 10*time.Second) {
			t.Fatal("no timer armed")
		}
		clk.Step()
	}
	select {
	case res := <-results:
		if res.OK {
			t.Error("OK after being killed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
	if got := clk.Now().Sub(start); got != 3*time.Second {
		t.Errorf("SIGKILL at %v, want timeout 1s + 2s grace", got)
	}
	if got := p.Signals(); len(got) != 2 || got[0] != syscall.SIGTERM || got[1] != syscall.SIGKILL {
		t.Errorf("signals %v", got)
	}
	if l := lb.Lines(); len(l) == 0 || l[0] != "VRRP_Script(chk) timed_out" {
		t.Errorf("log %q", l)
	}
}

func TestIntervalAndDefaultTimeout(t *testing.T) {
	lb, log := newLogger()
	_ = lb
	clk := tracktest.NewClock(time.Unix(0, 0))
	st := tracktest.NewStarter()
	r := &track.Runner{Clock: clk, Starter: st, Log: log}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, track.Script{Name: "chk", Interval: 2 * time.Second}, cmd, func(track.Result) {})
	}()
	defer func() { cancel(); <-done }()
	var starts []time.Duration
	for i := 0; i < 3; i++ {
		p := <-st.Started
		starts = append(starts, clk.Now().Sub(time.Unix(0, 0)))
		// The run takes 300ms of fake time; the timeout (= interval) is armed.
		if next, ok := waitNext(clk); !ok || next.Sub(clk.Now()) != 2*time.Second {
			t.Fatalf("timeout armed at %v, want now+2s", next.Sub(clk.Now()))
		}
		clk.Advance(300 * time.Millisecond)
		p.Exit(0)
		if !clk.BlockUntil(1, 10*time.Second) {
			t.Fatal("runner did not sleep")
		}
		// Only the interval timer is left once the run ended.
		for clk.Waiters() > 1 {
			time.Sleep(time.Millisecond)
		}
		clk.Step()
	}
	want := []time.Duration{0, 2 * time.Second, 4 * time.Second}
	for i := range want {
		if starts[i] != want[i] {
			t.Fatalf("runs started at %v, want %v (start to start)", starts, want)
		}
	}
}

func waitNext(clk *tracktest.Clock) (time.Time, bool) {
	if !clk.BlockUntil(1, 10*time.Second) {
		return time.Time{}, false
	}
	return clk.Next()
}

func TestStartError(t *testing.T) {
	lb, log := newLogger()
	clk := tracktest.NewClock(time.Unix(0, 0))
	st := tracktest.NewStarter()
	st.Err = syscall.ENOENT
	r := &track.Runner{Clock: clk, Starter: st, Log: log}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan track.Result, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, track.Script{Name: "chk"}, cmd, func(res track.Result) { got <- res })
	}()
	res := <-got
	cancel()
	<-done
	if res.OK {
		t.Error("a script that cannot be executed must count as failed")
	}
	if l := lb.Lines(); len(l) < 1 || !strings.HasPrefix(l[0], "Error exec-ing command '/usr/bin/killall', error 2: ") {
		t.Errorf("log %q", l)
	}
}
