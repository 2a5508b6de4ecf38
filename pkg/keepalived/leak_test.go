package keepalived

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/garp/garptest"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track/tracktest"
	"hapair/pkg/vip/viptest"
	"hapair/pkg/vrrp/vrrptest"
	"hapair/pkg/vrrpfsm"
)

// TestDaemonReloadEndsInstanceGoroutines restarts an instance (its VIP set
// changes) 20 times by reload. The instance tracks its interface and runs a
// gratuitous ARP schedule with garp_master_refresh (which repeats forever):
// both must end with the instance. Before, each restart left one watch of
// the tracked interface (and its goroutines) running until the daemon
// stopped.
func TestDaemonReloadEndsInstanceGoroutines(t *testing.T) {
	link := vrrptest.NewLink()
	vips := viptest.New("eth0")
	logs := &lockedLog{}
	log := zerolog.New(logs)
	env := testEnv(link, 2, "192.168.1.80/24", vips, log, tracktest.NewStarter(), tracktest.NewStarter())
	garps := &garptest.Sender{}
	env.GARP, env.GARPClock = garps, garptest.NewClock(time.Unix(0, 0))
	conf := func(extraVIP bool) *keepalivedcfg.Config {
		cfg := seedConfig(t, true)
		in := cfg.Instances[0]
		in.Priority = 255     // the owner is MASTER at once...
		in.TrackScripts = nil // ...when no script is pending
		in.Auth, in.State = nil, keepalivedcfg.StateMaster
		in.TrackInterfaces = []keepalivedcfg.TrackInterface{{Name: "eth0"}}
		in.GARP.MasterRefresh, in.GARP.MasterRefreshRepeat = time.Second, 1
		if extraVIP {
			in.VIPs = append(in.VIPs, keepalivedcfg.VIP{Prefix: netip.MustParsePrefix("192.168.1.85/32")})
		}
		return cfg
	}
	d := NewDaemon(env)
	if err := d.Start(context.Background(), conf(false)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	master := func() (vrrpfsm.Status, bool) {
		st, ok := d.Status("VI_1")
		return st, ok && st.State == vrrpfsm.Master
	}
	waitFor(t, 5*time.Second, "VI_1 master", func() bool { _, ok := master(); return ok })
	// The instance watches its interface and its tracked interface (the
	// same): the daemon's instances share one watch per interface.
	waitFor(t, 5*time.Second, "one watch of eth0", func() bool { return vips.Watchers("eth0") == 1 })
	base := runtime.NumGoroutine()

	const reloads = 20
	for i := 1; i <= reloads; i++ {
		before, _ := d.Status("VI_1")
		d.Reload(conf(i%2 == 1))
		waitFor(t, 5*time.Second, "the restarted VI_1 master", func() bool {
			st, ok := master()
			return ok && st.LastTransition != before.LastTransition
		})
	}
	var watchers, goroutines int
	deadline := time.Now().Add(5 * time.Second)
	for {
		watchers, goroutines = vips.Watchers("eth0"), runtime.NumGoroutine()
		if watchers == 1 && goroutines <= base+2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if watchers != 1 {
		t.Errorf("after %d restarts %d watches of eth0 remain, want 1 (shared by the running instance's two)", reloads, watchers)
	}
	if goroutines > base+2 {
		t.Errorf("after %d restarts %d goroutines run, %d before: the stopped instances left some behind", reloads, goroutines, base)
	}
}

// TestDaemonStartRemovesStaleVIPs: a VRRP process starting where a crashed
// one left its VIP removes it before its instances run (keepalived's
// "(VI_1) removing VIPs." at start), so a BACKUP does not hold it.
func TestDaemonStartRemovesStaleVIPs(t *testing.T) {
	link := vrrptest.NewLink()
	vips := viptest.New("eth0")
	cfg := seedConfig(t, false)
	v, err := toVIP(cfg.Instances[0].VIPs[0], "eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := vips.Add(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	logs := &lockedLog{}
	d := NewDaemon(testEnv(link, 3, "192.168.1.81/24", vips, zerolog.New(logs), tracktest.NewStarter(), tracktest.NewStarter()))
	if err := d.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	if ok, _ := vips.Has(v); ok {
		t.Fatal("the stale VIP is still there after the start")
	}
	if !strings.Contains(logs.String(), "(VI_1) removing VIPs.") {
		t.Errorf("the removal was not logged:\n%s", logs.String())
	}
	if st, _ := d.Status("VI_1"); st.State == vrrpfsm.Master {
		t.Fatal("VI_1 is MASTER at once; the test expects it to start BACKUP")
	}
}
