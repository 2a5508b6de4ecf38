package keepalived

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track/tracktest"
	"hapair/pkg/vip"
	"hapair/pkg/vip/viptest"
	"hapair/pkg/vrrp/vrrptest"
	"hapair/pkg/vrrpfsm"
)

// TestSignalLoopSurvivesStuckReload: a reload that never returns (an
// instance's stop stuck in an effect) does not hold the signals after it:
// SIGUSR1 still writes its dump, and SIGTERM ends the loop within its
// bound even though the stop is stuck too. Before, the loop ran the reload
// itself and never read another signal.
func TestSignalLoopSurvivesStuckReload(t *testing.T) {
	dir := t.TempDir()
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	var mu sync.Mutex
	reloads := 0
	logs := &lockedLog{}
	p := &vrrpProc{
		log:      zerolog.New(logs),
		dataFile: filepath.Join(dir, "keepalived.data"), statsFile: filepath.Join(dir, "keepalived.stats"),
		stopWait: 200 * time.Millisecond,
		reload: func() {
			mu.Lock()
			reloads++
			mu.Unlock()
			<-stuck
		},
		data:  func() string { return "------< VRRP Topology >------\n" },
		stats: func() string { return "VRRP Instance: VI_1\n" },
		stop:  func(ctx context.Context) { <-stuck },
	}
	sigs := make(chan os.Signal, 8)
	done := make(chan struct{})
	go func() { defer close(done); p.serve(sigs) }()

	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGUSR1
	waitFor(t, 5*time.Second, "the data dump written behind a stuck reload", func() bool {
		b, err := os.ReadFile(p.dataFile)
		return err == nil && strings.Contains(string(b), "VRRP Topology")
	})
	sigs <- syscall.SIGUSR2
	waitFor(t, 5*time.Second, "the stats dump written", func() bool {
		_, err := os.Stat(p.statsFile)
		return err == nil
	})
	sigs <- syscall.SIGTERM
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not end the loop while a reload and the stop were stuck")
	}
	mu.Lock()
	defer mu.Unlock()
	if reloads != 1 {
		t.Errorf("%d reloads ran, want 1 (the others wait behind the stuck one)", reloads)
	}
	if !strings.Contains(logs.String(), "Stop did not finish") {
		t.Errorf("the stuck stop was not logged: %s", logs.String())
	}
}

// blockingVIPs is a vip.Manager whose Remove blocks until released: an
// instance's LeaveMaster stuck in a netlink call.
type blockingVIPs struct {
	*viptest.Manager
	release chan struct{}
}

func (b *blockingVIPs) Remove(ctx context.Context, v vip.VIP) error {
	<-b.release
	return b.Manager.Remove(ctx, v)
}

// TestDaemonReloadBoundsStuckStop: a reload restarts an instance whose
// stop hangs (removing its VIP never returns); the reload gives up waiting
// after its bound, logs it, starts the new instance, and the daemon still
// answers (a dump, another reload). Before, the reload waited for ever.
func TestDaemonReloadBoundsStuckStop(t *testing.T) {
	link := vrrptest.NewLink()
	mgr := &blockingVIPs{Manager: viptest.New("eth0"), release: make(chan struct{})}
	logs := &lockedLog{}
	log := zerolog.New(logs)
	env := testEnv(link, 2, "192.168.1.80/24", mgr.Manager, log, tracktest.NewStarter(), tracktest.NewStarter())
	env.VIPs = mgr
	conf := func(extra bool) *keepalivedcfg.Config {
		cfg := seedConfig(t, true)
		in := cfg.Instances[0]
		in.Priority, in.TrackScripts, in.Auth, in.State = 255, nil, nil, keepalivedcfg.StateMaster
		if extra {
			in.VIPs = append(in.VIPs, keepalivedcfg.VIP{Prefix: netip.MustParsePrefix("192.168.1.85/32")})
		}
		return cfg
	}
	d := NewDaemon(env)
	d.stopWait = 100 * time.Millisecond
	if err := d.Start(context.Background(), conf(false)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(mgr.release)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	waitFor(t, 5*time.Second, "VI_1 master", func() bool { st, _ := d.Status("VI_1"); return st.State == vrrpfsm.Master })

	reloaded := make(chan struct{})
	go func() { defer close(reloaded); d.Reload(conf(true)) }()
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Fatal("the reload waited for the stuck instance for ever")
	}
	if !strings.Contains(logs.String(), "(VI_1) did not stop within") {
		t.Errorf("the stuck stop was not logged:\n%s", logs.String())
	}
	if !strings.Contains(d.DataDump(), "VRRP Instance = VI_1") {
		t.Error("the data dump lacks the new instance")
	}
	waitFor(t, 5*time.Second, "the new instance master", func() bool {
		st, ok := d.Status("VI_1")
		return ok && st.State == vrrpfsm.Master
	})
}
