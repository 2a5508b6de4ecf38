package bgpproc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// The test binary is also the speaker (and a gkeepalived stand-in) of the
// process tests, by this variable.
const envRole = "BGPPROC_TEST_ROLE"

// envEvents names the file the fake speaker process appends what it is
// asked to.
const envEvents = "BGPPROC_TEST_EVENTS"

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case "speaker":
		speakerMain()
		return
	case "parent":
		parentMain()
		return
	}
	os.Exit(m.Run())
}

// fakeSpeaker stands for GoBGP; it records the calls.
type fakeSpeaker struct {
	mu        sync.Mutex
	cfg       Config
	announced bool
	record    func(string)
}

func (f *fakeSpeaker) Announce(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.announced = on
	f.record(map[bool]string{true: "announce", false: "withdraw"}[on])
	return nil
}

func (f *fakeSpeaker) Announced() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.announced
}

func (f *fakeSpeaker) Neighbors() []NeighborStatus {
	var out []NeighborStatus
	for _, n := range f.cfg.Neighbors {
		out = append(out, NeighborStatus{Address: n.Address, State: "Established"})
	}
	return out
}

func (f *fakeSpeaker) Stop(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.announced {
		f.record("withdraw")
	}
	f.announced = false
	f.record("stop")
}

// speakerMain is the fake speaker process: the real main's wiring with a
// fake speaker that appends its calls to $BGPPROC_TEST_EVENTS.
func speakerMain() {
	ev, err := os.OpenFile(os.Getenv(envEvents), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		os.Exit(3)
	}
	record := func(s string) { fmt.Fprintf(ev, "%d %s\n", os.Getpid(), s) }
	parent := os.Getppid()
	term := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	signal.Notify(term, syscall.SIGTERM)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE) // as the real main
	go func() {
		for range term {
			if os.Getppid() != parent {
				cancel()
				return
			}
		}
	}()
	start := func(ctx context.Context, cfg Config, log zerolog.Logger) (Speaker, error) {
		record("configure " + cfg.RouterID.String())
		log.Info().Msg("fake speaker configured")
		return &fakeSpeaker{cfg: cfg, record: record}, nil
	}
	if err := Serve(ctx, os.NewFile(3, "gkeepalived"), start, zerolog.New(os.Stderr)); err != nil {
		os.Exit(1)
	}
}

// parentMain stands for gkeepalived: it starts the speaker, announces,
// says "ready" and waits to be killed.
func parentMain() {
	os.Setenv(envRole, "speaker")
	exe, _ := os.Executable()
	c, err := Start(context.Background(), exe, testConfig(), zerolog.New(os.Stderr))
	if err != nil {
		fmt.Println("start:", err)
		os.Exit(1)
	}
	if err := c.Announce(true); err != nil {
		fmt.Println("announce:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

func testConfig() Config {
	return Config{RouterID: netip.MustParseAddr("10.0.1.11"), LocalAS: 65001,
		Neighbors: []Neighbor{{Address: netip.MustParseAddr("10.0.1.1"), RemoteAS: 65000, HoldTime: 3 * time.Second, Keepalive: time.Second}},
		Prefixes:  []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32")}}
}

// TestServe: the speaker side of the protocol answers each request with
// its id, refuses another version and requests before configure, and
// withdraws then stops when the socket ends (gkeepalived gone).
func TestServe(t *testing.T) {
	a, b := net.Pipe()
	var mu sync.Mutex
	var calls []string
	record := func(s string) { mu.Lock(); calls = append(calls, s); mu.Unlock() }
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), b, func(ctx context.Context, cfg Config, log zerolog.Logger) (Speaker, error) {
			record("configure")
			return &fakeSpeaker{cfg: cfg, record: record}, nil
		}, zerolog.Nop())
	}()
	rd := bufio.NewReader(a)
	ask := func(req Request) Response {
		t.Helper()
		line, _ := json.Marshal(req)
		if _, err := a.Write(append(line, '\n')); err != nil {
			t.Fatal(err)
		}
		l, err := rd.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var r Response
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("answer %q: %v", l, err)
		}
		if r.V != Version || r.ID != req.ID {
			t.Fatalf("answer %q to request id %d", l, req.ID)
		}
		return r
	}
	if r := ask(Request{V: 2, ID: 1, Op: OpStatus}); !strings.Contains(r.Error, "protocol version 2") {
		t.Errorf("version 2 request: %+v, want a version error", r)
	}
	if r := ask(Request{V: Version, ID: 2, Op: OpAnnounce}); !strings.Contains(r.Error, "before configure") {
		t.Errorf("announce before configure: %+v", r)
	}
	cfg := testConfig()
	if r := ask(Request{V: Version, ID: 3, Op: OpConfigure, Config: &cfg}); r.Error != "" {
		t.Fatalf("configure: %s", r.Error)
	}
	if r := ask(Request{V: Version, ID: 4, Op: OpAnnounce}); r.Error != "" || r.Status == nil || !r.Status.Announced {
		t.Errorf("announce: %+v", r)
	}
	r := ask(Request{V: Version, ID: 5, Op: OpStatus})
	if r.Status == nil || len(r.Status.Neighbors) != 1 || r.Status.Neighbors[0].Address != cfg.Neighbors[0].Address || r.Status.Neighbors[0].State != "Established" {
		t.Errorf("status: %+v", r.Status)
	}
	if r := ask(Request{V: Version, ID: 6, Op: "dance"}); !strings.Contains(r.Error, "unknown operation") {
		t.Errorf("unknown op: %+v", r)
	}
	a.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after end of file: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return at the socket's end")
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(calls, " "); got != "configure announce withdraw stop" {
		t.Errorf("speaker calls %q, want configure announce withdraw stop", got)
	}
}

func readEvents(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func waitEvents(t *testing.T, path string, what string, ok func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := readEvents(t, path)
		if ok(ev) {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10s; speaker events:\n%s", what, strings.Join(ev, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuf is a log destination for a test.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestClientProcess: the speaker runs as a process; its log lines reach
// ours; a speaker killed from outside is restarted, configured and
// announces again, and that is logged; Stop withdraws first, then the
// speaker exits.
func TestClientProcess(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events")
	t.Setenv(envRole, "speaker")
	t.Setenv(envEvents, events)
	oldMin := BackoffMin
	BackoffMin = 10 * time.Millisecond
	t.Cleanup(func() { BackoffMin = oldMin })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuf
	c, err := Start(context.Background(), exe, testConfig(), zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop(context.Background())
		}
	})
	if err := c.Announce(true); err != nil || !c.Announced() {
		t.Fatalf("Announce: %v, announced %v", err, c.Announced())
	}
	st, pid, err := c.Status()
	if err != nil || !st.Announced || len(st.Neighbors) != 1 || pid == 0 {
		t.Fatalf("Status: %+v pid %d %v", st, pid, err)
	}
	waitEvents(t, events, "log relayed", func([]string) bool { return strings.Contains(logs.String(), "fake speaker configured") })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// A new process is configured and announces again, unasked.
	ev := waitEvents(t, events, "restart", func(ev []string) bool {
		n := 0
		for _, e := range ev {
			if strings.HasSuffix(e, " announce") {
				n++
			}
		}
		return n == 2
	})
	var pid2 int
	fmt.Sscanf(ev[len(ev)-1], "%d", &pid2)
	if pid2 == pid || pid2 == 0 {
		t.Fatalf("announce again from pid %d, killed %d:\n%s", pid2, pid, strings.Join(ev, "\n"))
	}
	for _, want := range []string{fmt.Sprintf("(pid %d) exited unasked", pid), "restarting it in", "speaker restarted, announcing again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if !c.Announced() {
		t.Error("not announced after the restart")
	}
	c.Stop(context.Background())
	stopped = true
	ev = readEvents(t, events)
	if got := strings.Join(ev[len(ev)-2:], "|"); got != fmt.Sprintf("%d withdraw|%d stop", pid2, pid2) {
		t.Errorf("last speaker events %q, want withdraw then stop", got)
	}
	if err := syscall.Kill(pid2, 0); err == nil {
		t.Errorf("speaker pid %d still runs after Stop", pid2)
	}
	if err := c.Announce(true); err != ErrStopped {
		t.Errorf("Announce after Stop: %v", err)
	}
}

// TestSpeakerStopsWithoutParent: gkeepalived killed (SIGKILL, no chance to
// stop anything): its speaker withdraws, stops and exits by itself.
func TestSpeakerStopsWithoutParent(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envRole+"=parent", envEvents+"="+events)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("parent says %q", line)
	}
	ev := readEvents(t, events)
	var pid int
	fmt.Sscanf(ev[0], "%d", &pid)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ev = waitEvents(t, events, "speaker stops after its parent's death", func(ev []string) bool {
		return strings.HasSuffix(ev[len(ev)-1], " stop")
	})
	if got := strings.Join(ev, "|"); got != fmt.Sprintf("%d configure 10.0.1.11|%d announce|%d withdraw|%d stop", pid, pid, pid, pid) {
		t.Errorf("speaker events %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("speaker pid %d still runs 10s after its parent died", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMissingSpeaker: a speaker that is not there is a clear error.
func TestMissingSpeaker(t *testing.T) {
	missing := filepath.Join(t.TempDir(), SpeakerName)
	if _, err := Start(context.Background(), missing, testConfig(), zerolog.Nop()); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Start of a missing speaker: %v", err)
	}
	t.Setenv(EnvPath, missing)
	if _, err := FindSpeaker(); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("FindSpeaker with $%s missing: %v", EnvPath, err)
	}
}
