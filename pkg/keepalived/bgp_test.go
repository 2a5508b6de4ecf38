package keepalived

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/bgp/bgpproc"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track"
	"hapair/pkg/track/tracktest"
	"hapair/pkg/vrrp/vrrptest"
)

// fakeSpeaker records what the daemon asks of the BGP speaker.
type fakeSpeaker struct {
	mu        sync.Mutex
	cfg       bgpproc.Config
	announced bool
	stopped   bool
	calls     []string
	fail      error
}

func (f *fakeSpeaker) Announce(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.announced = on
	f.calls = append(f.calls, map[bool]string{true: "announce", false: "withdraw"}[on])
	return nil
}

func (f *fakeSpeaker) Announced() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.announced
}

func (f *fakeSpeaker) Stop(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// The real speaker withdraws first, then closes the sessions.
	if f.announced {
		f.calls = append(f.calls, "withdraw")
	}
	f.announced, f.stopped = false, true
	f.calls = append(f.calls, "stop")
}

func (f *fakeSpeaker) state() (bool, bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.announced, f.stopped, strings.Join(f.calls, " ")
}

const bgpDaemonConf = `vrrp_script chk_haproxy {
  script "/usr/bin/killall -0 haproxy"
  interval 1
  fall 1
  rise 1
}
bgp {
  router_id 10.0.1.11
  local_as 65001
  neighbor 10.0.1.1 {
    remote_as 65000
    hold_time 3
    keepalive 1
  }
  announce {
    10.0.0.100/32
  }
  track_script {
    chk_haproxy
  }
}
`

// TestBGPFollowsTrackScript: a configuration with only a bgp block runs
// its tracked script (no instance tracks it), announces once the script
// passes, withdraws when it fails, announces again when it passes, and
// withdraws then closes the sessions on stop.
func TestBGPFollowsTrackScript(t *testing.T) {
	fake := &fakeSpeaker{}
	old := startSpeaker
	startSpeaker = func(ctx context.Context, cfg bgpproc.Config, log zerolog.Logger) (speaker, error) {
		fake.cfg = cfg
		return fake, nil
	}
	t.Cleanup(func() { startSpeaker = old })

	cfg, diags, err := keepalivedcfg.Parse("k.conf", []byte(bgpDaemonConf), keepalivedcfg.Options{})
	if err != nil || len(diags) > 0 {
		t.Fatalf("Parse: %v %v", err, diags)
	}
	var haproxy atomic.Bool
	starter := tracktest.NewStarter()
	starter.Auto = func(cmd track.Command) track.Exit {
		if haproxy.Load() {
			return track.Exit{Exited: true, Status: 0}
		}
		return track.Exit{Exited: true, Status: 1}
	}
	var logs syncBuilder
	log := zerolog.New(&logs)
	d := NewDaemon(testEnv(vrrptest.NewLink(), 2, "10.0.1.11/24", nil, log, starter, tracktest.NewStarter()))
	if err := d.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			d.Stop(context.Background())
		}
	})
	want := bgpproc.Config{RouterID: netip.MustParseAddr("10.0.1.11"), LocalAS: 65001,
		Prefixes:  []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32")},
		Neighbors: []bgpproc.Neighbor{{Address: netip.MustParseAddr("10.0.1.1"), RemoteAS: 65000, HoldTime: 3 * time.Second, Keepalive: time.Second, ConnectRetry: keepalivedcfg.DefaultBGPConnectRetry}}}
	if got := fake.cfg; got.RouterID != want.RouterID || got.LocalAS != want.LocalAS || len(got.Prefixes) != 1 || got.Prefixes[0] != want.Prefixes[0] ||
		len(got.Neighbors) != 1 || got.Neighbors[0] != want.Neighbors[0] {
		t.Errorf("speaker config %+v, want %+v", got, want)
	}
	wait := func(what string, announced bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if a, _, _ := fake.state(); a == announced {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		_, _, calls := fake.state()
		t.Fatalf("%s: announced is not %v after 5s (calls: %s)\n%s", what, announced, calls, logs.String())
	}
	// The script fails first: nothing is announced until it passes.
	time.Sleep(100 * time.Millisecond)
	if a, _, _ := fake.state(); a {
		t.Fatal("announced before the tracked script passed")
	}
	haproxy.Store(true)
	wait("haproxy runs", true)
	haproxy.Store(false)
	wait("haproxy dies", false)
	haproxy.Store(true)
	wait("haproxy is back", true)
	dump := d.DataDump()
	for _, line := range []string{" Announce = 10.0.0.100/32 (announced)\n", " Tracked = script:chk_haproxy up\n", " Neighbor = 10.0.1.1, remote AS = 65000, hold time = 3s, keepalive = 1s\n"} {
		if !strings.Contains(dump, line) {
			t.Errorf("data dump lacks %q:\n%s", line, dump)
		}
	}
	d.Stop(context.Background())
	stopped = true
	_, stop, calls := fake.state()
	if !stop || calls != "announce withdraw announce withdraw stop" {
		t.Errorf("speaker calls %q (stopped %v), want announce withdraw announce withdraw stop", calls, stop)
	}
	for _, line := range []string{"BGP: announcing (script:chk_haproxy up)", "BGP: withdrawing (script:chk_haproxy down)", "BGP: withdrawn, sessions closed"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs.String())
		}
	}
}

// TestBGPGate: the announcement follows every tracked check; a verdict for
// a check the block does not track changes nothing; a speaker error keeps
// the last state and is logged.
func TestBGPGate(t *testing.T) {
	fake := &fakeSpeaker{}
	var logs strings.Builder
	r := &runningBGP{sp: fake, log: zerolog.New(&logs), checks: map[string]bool{"script:a": false, "process:b": true}}
	r.update("")
	if a, _, _ := fake.state(); a {
		t.Fatal("announced with script:a down")
	}
	r.set("script:a", true)
	if a, _, _ := fake.state(); !a {
		t.Fatal("not announced with every check up")
	}
	r.set("script:other", false)
	if a, _, _ := fake.state(); !a {
		t.Fatal("an untracked check withdrew the route")
	}
	fake.fail = errors.New("boom")
	r.set("process:b", false)
	if a, _, _ := fake.state(); !a || !strings.Contains(logs.String(), "boom") {
		t.Fatalf("speaker error: announced %v, log %q", a, logs.String())
	}
	fake.fail = nil
	r.set("process:b", true)
	r.set("process:b", false)
	if a, _, calls := fake.state(); a || calls != "announce withdraw" {
		t.Fatalf("announced %v, calls %q; want withdrawn after process:b went down", a, calls)
	}
}

// TestBGPReload: a reload that leaves the bgp block as it was keeps the
// speaker (its sessions and announcement); one that changes it replaces
// the speaker; one that removes it withdraws and stops it.
func TestBGPReload(t *testing.T) {
	var speakers []*fakeSpeaker
	old := startSpeaker
	startSpeaker = func(ctx context.Context, cfg bgpproc.Config, log zerolog.Logger) (speaker, error) {
		f := &fakeSpeaker{cfg: cfg}
		speakers = append(speakers, f)
		return f, nil
	}
	t.Cleanup(func() { startSpeaker = old })
	parse := func(src string) *keepalivedcfg.Config {
		t.Helper()
		cfg, diags, err := keepalivedcfg.Parse("k.conf", []byte(src), keepalivedcfg.Options{})
		if err != nil || len(diags) > 0 {
			t.Fatalf("Parse: %v %v", err, diags)
		}
		return cfg
	}
	starter := tracktest.NewStarter()
	starter.Auto = func(cmd track.Command) track.Exit { return track.Exit{Exited: true, Status: 0} }
	d := NewDaemon(testEnv(vrrptest.NewLink(), 2, "10.0.1.11/24", nil, zerolog.Nop(), starter, tracktest.NewStarter()))
	if err := d.Start(context.Background(), parse(bgpDaemonConf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(context.Background()) })
	// Comments and layout do not count: the same block, moved down a line.
	d.Reload(parse("# reloaded\n" + bgpDaemonConf))
	if len(speakers) != 1 {
		t.Fatalf("an unchanged bgp block started %d speakers", len(speakers))
	}
	d.Reload(parse(strings.Replace(bgpDaemonConf, "10.0.0.100/32", "10.0.0.101/32", 1)))
	if len(speakers) != 2 {
		t.Fatalf("a changed bgp block: %d speakers started, want 2", len(speakers))
	}
	if _, stopped, _ := speakers[0].state(); !stopped {
		t.Error("the old speaker still runs after the block changed")
	}
	if p := speakers[1].cfg.Prefixes; len(p) != 1 || p[0] != netip.MustParsePrefix("10.0.0.101/32") {
		t.Errorf("new speaker announces %v", p)
	}
	d.Reload(parse(bgpDaemonConf[:strings.Index(bgpDaemonConf, "bgp {")]))
	if _, stopped, _ := speakers[1].state(); !stopped || len(speakers) != 2 {
		t.Errorf("removing the bgp block: stopped %v, %d speakers", stopped, len(speakers))
	}
}

// TestBGPMissingSpeaker: without the speaker executable, `-t` on a
// configuration with a bgp block names it and exits 5 (as keepalived for a
// vrrp_script whose script is missing), and the daemon refuses to start;
// with it, -t passes.
func TestBGPMissingSpeaker(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "k.conf")
	src := "bgp {\n  router_id 10.0.1.11\n  local_as 65001\n  neighbor 10.0.1.1 {\n    remote_as 65000\n  }\n  announce {\n    10.0.0.100/32\n  }\n}\n"
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, bgpproc.SpeakerName)
	t.Setenv(bgpproc.EnvPath, missing)
	var stdout, stderr strings.Builder
	code := Main([]string{"gkeepalived", "-t", "-f", conf}, &stdout, &stderr)
	if want := fmt.Sprintf("(%s: Line 1) BGP speaker %s: stat %s: no such file or directory\n", conf, missing, missing); code != keepalivedcfg.ExitConfigErrors || stderr.String() != want {
		t.Errorf("-t without the speaker: exit %d, stderr %q; want exit 5, %q", code, stderr.String(), want)
	}

	cfg, diags, err := keepalivedcfg.Parse(conf, []byte(src), keepalivedcfg.Options{})
	if err != nil || len(diags) > 0 {
		t.Fatalf("Parse: %v %v", err, diags)
	}
	d := NewDaemon(testEnv(vrrptest.NewLink(), 2, "10.0.1.11/24", nil, zerolog.Nop(), tracktest.NewStarter(), tracktest.NewStarter()))
	err = d.Start(context.Background(), cfg)
	d.Stop(context.Background())
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Start without the speaker: %v, want an error naming %s", err, missing)
	}

	if err := os.WriteFile(missing, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := Main([]string{"gkeepalived", "-t", "-f", conf}, &stdout, &stderr); code != 0 || stderr.String() != "" {
		t.Errorf("-t with the speaker: exit %d, stderr %q", code, stderr.String())
	}
}
