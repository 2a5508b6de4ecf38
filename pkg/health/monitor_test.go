package health_test

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/health/healthtest"
	"hapair/pkg/proxy"
)

// logSink records what the monitor sends to a proxy's log targets.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) log(px *haproxycfg.Proxy, level haproxycfg.Level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("<%d>%s", level, msg))
}

func (l *logSink) has(re string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := regexp.MustCompile(re)
	for _, s := range l.lines {
		if r.MatchString(s) {
			return true
		}
	}
	return false
}

func (l *logSink) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func status(m *health.Monitor, s *proxy.Server) string {
	snap, _ := m.Snapshot(s)
	return snap.State.Text()
}

// TestTCPChecksAgainstNginx stops and starts real nginx servers behind a
// `mode tcp` listen with TCP connect checks: DOWN after `fall` failed
// checks, the backup taking over when every active server is down, UP
// again after `rise` passed checks, with haproxy 2.6's log lines.
func TestTCPChecksAgainstNginx(t *testing.T) {
	s1, s2, b1 := healthtest.StartNginx(t, "s1"), healthtest.StartNginx(t, "s2"), healthtest.StartNginx(t, "b1")
	fe := healthtest.FreePort(t)
	cfgText := fmt.Sprintf(`
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    balance roundrobin
    server s1 %s check inter 100ms rise 2 fall 3
    server s2 %s check inter 100ms rise 2 fall 2
    server b1 %s check inter 100ms backup
`, fe, s1.Addr(), s2.Addr(), b1.Addr())
	_, eng := healthtest.Engine(t, cfgText, zerolog.Nop(), nil)
	sink := &logSink{}
	var daemon strings.Builder
	var dmu sync.Mutex
	m := health.Start(eng, health.Options{Logger: zerolog.New(lockedWriter{&dmu, &daemon}), Log: sink.log})
	t.Cleanup(m.Close)
	be := eng.Backend("web")
	srv := func(n string) *proxy.Server { return be.Server(n) }
	url := fmt.Sprintf("http://127.0.0.1:%d/", fe)

	healthtest.Eventually(t, "first checks pass", func() bool {
		sn, _ := m.Snapshot(srv("s1"))
		return sn.Last.Code == health.CodeL4OK && status(m, srv("s1")) == "UP" && status(m, srv("s2")) == "UP"
	})
	seen := map[string]bool{}
	for range 6 {
		seen[healthtest.Get(url)] = true
	}
	if !seen["s1"] || !seen["s2"] || seen["b1"] {
		t.Fatalf("with both actives up, answers came from %v, want s1 and s2 only", seen)
	}

	s1.Stop()
	healthtest.Eventually(t, "s1 DOWN", func() bool { return !srv("s1").Up() })
	sn, _ := m.Snapshot(srv("s1"))
	if sn.State.Health != 0 || sn.Last.Code != health.CodeL4CON || sn.Downs != 1 || sn.Failures != 3 {
		t.Errorf("s1 after going down: %+v; want health 0, L4CON, chkdown 1, chkfail 3 (fall 3)", sn)
	}
	if !sink.has(`^<1>Server web/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 1 active and 1 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.$`) {
		t.Errorf("no haproxy DOWN line for s1 in:\n%s", sink.dump())
	}
	for range 6 {
		if got := healthtest.Get(url); got != "s2" {
			t.Fatalf("with s1 down, answer %q, want s2", got)
		}
	}

	s2.Stop()
	healthtest.Eventually(t, "s2 DOWN", func() bool { return !srv("s2").Up() })
	for range 4 {
		if got := healthtest.Get(url); got != "b1" {
			t.Fatalf("with every active server down, answer %q, want the backup b1", got)
		}
	}
	if !sink.has(`^<1>Server web/s2 is DOWN, .* 0 active and 1 backup servers left\. Running on backup\. 0 sessions active`) {
		t.Errorf("no DOWN line for s2 with 0 active left in:\n%s", sink.dump())
	}

	b1.Stop()
	healthtest.Eventually(t, "b1 DOWN", func() bool { return !srv("b1").Up() })
	healthtest.Eventually(t, "no-server alert", func() bool { return sink.has(`^<0>backend web has no server available!$`) })
	if !sink.has(`^<1>Backup Server web/b1 is DOWN, .* 0 active and 0 backup servers left\.`) {
		t.Errorf("no DOWN line for the backup in:\n%s", sink.dump())
	}

	s1.Start()
	healthtest.Eventually(t, "s1 UP", func() bool { return srv("s1").Up() })
	if !sink.has(`^<5>Server web/s1 is UP, reason: Layer4 check passed, check duration: \d+ms\. 1 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue\.$`) {
		t.Errorf("no UP line for s1 in:\n%s", sink.dump())
	}
	if got := healthtest.Get(url); got != "s1" {
		t.Errorf("after s1 came back, answer %q, want s1", got)
	}
	dmu.Lock()
	d := daemon.String()
	dmu.Unlock()
	if !strings.Contains(d, `"level":"error","message":"backend 'web' has no server available!"`) || !strings.Contains(d, `"level":"warn","message":"Server web/s1 is UP`) {
		t.Errorf("daemon log lacks haproxy's stderr messages:\n%s", d)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestHTTPChecksAgainstNginx uses `option httpchk GET /health` with
// `http-check expect status 200`: a server whose nginx still runs but
// answers 404 is taken DOWN and receives no request at all.
func TestHTTPChecksAgainstNginx(t *testing.T) {
	s1, s2 := healthtest.StartNginx(t, "s1"), healthtest.StartNginx(t, "s2")
	fe := healthtest.FreePort(t)
	cfgText := fmt.Sprintf(`
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    server s1 %s check inter 100ms fastinter 50ms downinter 200ms rise 2 fall 2
    server s2 %s check inter 100ms rise 2 fall 2
`, fe, s1.Addr(), s2.Addr())
	_, eng := healthtest.Engine(t, cfgText, zerolog.Nop(), nil)
	sink := &logSink{}
	m := health.Start(eng, health.Options{Logger: zerolog.Nop(), Log: sink.log})
	t.Cleanup(m.Close)
	be := eng.Backend("web")
	url := fmt.Sprintf("http://127.0.0.1:%d/", fe)
	healthtest.Eventually(t, "first L7 checks", func() bool {
		sn, _ := m.Snapshot(be.Server("s1"))
		return sn.Last.Code == health.CodeL7OK && sn.Last.HTTP == 200
	})

	s1.SetHealthy(false)
	healthtest.Eventually(t, "s1 DOWN on 404", func() bool { return !be.Server("s1").Up() })
	if !sink.has(`^<1>Server web/s1 is DOWN, reason: Layer7 wrong status, code: 404, info: "Not Found", check duration: \d+ms\. 1 active and 0 backup servers left\.`) {
		t.Errorf("no L7STS DOWN line in:\n%s", sink.dump())
	}
	sn, _ := m.Snapshot(be.Server("s1"))
	if sn.Last.Code != health.CodeL7STS || sn.State.Text() != "DOWN" {
		t.Errorf("s1: %v %q, want L7STS DOWN", sn.Last.Code, sn.State.Text())
	}
	before := s1.AccessLines()
	for range 8 {
		if got := healthtest.Get(url); got != "s2" {
			t.Fatalf("answer %q while s1 is DOWN, want s2", got)
		}
	}
	// Only health checks (GET /health) may have reached s1 meanwhile.
	b, _ := readFile(s1.Dir + "/access.log")
	for _, line := range strings.Split(strings.TrimSpace(b), "\n")[before:] {
		if !strings.Contains(line, "GET /health") {
			t.Errorf("a DOWN server received a request: %s", line)
		}
	}

	s1.SetHealthy(true)
	healthtest.Eventually(t, "s1 UP", func() bool { return be.Server("s1").Up() })
	if !sink.has(`^<5>Server web/s1 is UP, reason: Layer7 check passed, code: 200, check duration: \d+ms\. 2 active and 0 backup servers online\.`) {
		t.Errorf("no L7OK UP line in:\n%s", sink.dump())
	}
}
