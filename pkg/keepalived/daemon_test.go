package keepalived

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
	"hapair/pkg/track"
	"hapair/pkg/track/tracktest"
	"hapair/pkg/vip/viptest"
	"hapair/pkg/vrrp"
	"hapair/pkg/vrrp/vrrptest"
	"hapair/pkg/vrrpfsm"
)

// testNode is one load balancer of the seed on an in-memory LAN: real
// daemon wiring, real clock, fake sockets, addresses and processes.
type testNode struct {
	name    string
	d       *Daemon
	vips    *viptest.Manager
	haproxy atomic.Bool // what `killall -0 haproxy` finds
	log     *syncBuilder
}

func seedConfig(t *testing.T, master bool) *keepalivedcfg.Config {
	t.Helper()
	src, err := os.ReadFile("../../conf/keepalived.conf")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	if !master {
		s = strings.Replace(s, "state MASTER", "state BACKUP", 1)
		s = strings.Replace(s, "priority 101", "priority 100", 1)
	}
	opts := keepalivedcfg.DefaultOptions()
	opts.FS = nil
	cfg, _, err := keepalivedcfg.Parse("keepalived.conf", []byte(s), opts)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startTestNode(t *testing.T, link *vrrptest.Link, name string, index int, addr string, cfg *keepalivedcfg.Config) *testNode {
	t.Helper()
	n := &testNode{name: name, vips: viptest.New("eth0"), log: &syncBuilder{}}
	n.haproxy.Store(true)
	starter := tracktest.NewStarter()
	starter.Auto = func(cmd track.Command) track.Exit {
		if n.haproxy.Load() {
			return track.Exit{Exited: true, Status: 0}
		}
		return track.Exit{Exited: true, Status: 1}
	}
	log := zerolog.New(n.log).With().Str("node", name).Logger()
	n.d = NewDaemon(testEnv(link, index, addr, n.vips, log, starter, tracktest.NewStarter()))
	if err := n.d.Start(context.Background(), cfg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.d.Stop(ctx)
	})
	return n
}

// testEnv is a daemon's Env on an in-memory LAN: interface eth0 with
// index and addr, fake VIPs, real clock, fake script and notify processes.
func testEnv(link *vrrptest.Link, index int, addr string, vips *viptest.Manager, log zerolog.Logger, scripts, notifies track.Starter) *Env {
	prefix := netip.MustParsePrefix(addr)
	return &Env{
		Log:    log,
		Listen: func(c vrrp.Config) (vrrp.Conn, error) { return link.Listen(c) },
		Interfaces: func(ifname string) (*net.Interface, []netip.Prefix, error) {
			return &net.Interface{Index: index, Name: ifname, Flags: net.FlagUp | net.FlagMulticast}, []netip.Prefix{prefix}, nil
		},
		VIPs:        vips,
		Links:       vips,
		Clock:       vrrpfsm.SystemClock(),
		TrackRunner: &track.Runner{Starter: scripts, Log: log},
		Notifier:    &notify.Notifier{Starter: notifies, Log: log},
	}
}

// syncBuilder is a log sink that tests read while daemons write to it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var seedVIP = netip.MustParsePrefix("192.168.1.84/32")

func (n *testNode) hasVIP() bool {
	for _, p := range n.vips.Addrs("eth0") {
		if p == seedVIP {
			return true
		}
	}
	return false
}

func (n *testNode) state() vrrpfsm.State {
	st, _ := n.d.Status("VI_1")
	return st.State
}

// waitFor polls cond for at most d: failover takes seconds of real VRRP time.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("after %v: %s did not happen", d, what)
	return 0
}

// TestDaemonSeedFailover runs the seed's keepalived.conf (AH, track script
// weight 2, lb1 MASTER 101, lb2 BACKUP 100) through the whole daemon wiring
// on an in-memory LAN: election, failover when haproxy dies on lb1,
// preemption when it comes back, and the priority-0 handover on stop.
func TestDaemonSeedFailover(t *testing.T) {
	link := vrrptest.NewLink()
	lb1 := startTestNode(t, link, "lb1", 2, "192.168.1.80/24", seedConfig(t, true))
	lb2 := startTestNode(t, link, "lb2", 3, "192.168.1.81/24", seedConfig(t, false))

	// AH turns lb1's MASTER into BACKUP; it wins the election at 103 > 102.
	waitFor(t, 8*time.Second, "lb1 holds the VIP", func() bool { return lb1.hasVIP() && lb1.state() == vrrpfsm.Master })
	// Both start as BACKUP and their master-down timers differ by the skew
	// of one priority step (4 ms): on a loaded machine lb2's may expire
	// before lb1's first advert is read, and lb2 is MASTER until that
	// advert, as keepalived would be. What must hold is where it settles.
	waitFor(t, 3*time.Second, "lb2 BACKUP without the VIP", func() bool { return !lb2.hasVIP() && lb2.state() == vrrpfsm.Backup })
	waitFor(t, 3*time.Second, "lb1 still holding the VIP", func() bool { return lb1.hasVIP() && lb1.state() == vrrpfsm.Master })
	frames := link.Frames()
	if len(frames) == 0 {
		t.Fatal("no advert on the link")
	}
	d, err := vrrp.ParseIPv4(frames[len(frames)-1].Packet)
	if err != nil {
		t.Fatal(err)
	}
	if d.Protocol != vrrp.ProtocolAH || d.Advert.Priority != 103 || d.Src != netip.MustParseAddr("192.168.1.80") {
		t.Fatalf("last advert: proto %d prio %d from %v; want AH, 103, 192.168.1.80", d.Protocol, d.Advert.Priority, d.Src)
	}
	if !vrrp.VerifyICV(frames[len(frames)-1].Packet, vrrp.NewKey("supersecret"), false) {
		t.Fatal("lb1's advert does not verify with the key 'supersec'")
	}

	// haproxy dies on lb1: 101 < 102, lb2 takes over after its master-down timer.
	lb1.haproxy.Store(false)
	took := waitFor(t, 10*time.Second, "lb2 takes the VIP", func() bool { return lb2.hasVIP() && !lb1.hasVIP() })
	t.Logf("failover after the script failed: %v", took)
	if lb1.state() != vrrpfsm.Backup {
		t.Fatalf("lb1 is %v, want BACKUP", lb1.state())
	}

	// haproxy is back: lb1 (103) preempts lb2 (102).
	lb1.haproxy.Store(true)
	waitFor(t, 10*time.Second, "lb1 takes the VIP back", func() bool { return lb1.hasVIP() && !lb2.hasVIP() })

	// lb1 stops cleanly: priority 0, lb2 takes over within a skew time.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lb1.d.Stop(ctx)
	if lb1.hasVIP() {
		t.Fatal("lb1 kept the VIP after stopping")
	}
	took = waitFor(t, 3*time.Second, "lb2 takes the VIP after lb1's priority 0", func() bool { return lb2.hasVIP() })
	t.Logf("handover after priority 0: %v", took)
	if !strings.Contains(lb2.log.String(), "Backup received priority 0 advertisement") {
		t.Errorf("lb2's log lacks the priority-0 line:\n%s", lb2.log.String())
	}
}

// TestDaemonWrongPasswordDropped: adverts with another AH key are dropped,
// counted, and change nothing.
func TestDaemonWrongPasswordDropped(t *testing.T) {
	link := vrrptest.NewLink()
	other := seedConfig(t, true)
	other.Instances[0].Auth.Pass = "wrongpwd"
	lb1 := startTestNode(t, link, "lb1", 2, "192.168.1.80/24", other)
	lb2 := startTestNode(t, link, "lb2", 3, "192.168.1.81/24", seedConfig(t, false))
	// Both become master: neither accepts the other's adverts.
	waitFor(t, 8*time.Second, "both nodes master", func() bool {
		return lb1.state() == vrrpfsm.Master && lb2.state() == vrrpfsm.Master
	})
	waitFor(t, 3*time.Second, "an ICV drop counted on lb2", func() bool {
		lb2.d.mu.Lock()
		defer lb2.d.mu.Unlock()
		return lb2.d.nodes["VI_1"].Drops()[vrrp.DropICV] > 0
	})
	if s := lb2.d.StatsDump(); !strings.Contains(s, "Authentication Errors:") || strings.Contains(s, "    Failure: 0\n") {
		t.Errorf("stats dump does not count the failures:\n%s", s)
	}
}

// TestDaemonReloadKeepsUnchangedInstance: a reload (SIGHUP) with the same
// instance keeps it MASTER without touching its VIP; one whose priority,
// notify script and GARP repeat changed also keeps its state and VIP, as keepalived 2.2.7
// does (before, it restarted, resigned and the peer took over), and
// advertises the new priority; one whose identity changed (its VIPs)
// restarts and releases the VIP first.
func TestDaemonReloadKeepsUnchangedInstance(t *testing.T) {
	link := vrrptest.NewLink()
	lb1 := startTestNode(t, link, "lb1", 2, "192.168.1.80/24", seedConfig(t, true))
	waitFor(t, 8*time.Second, "lb1 master", func() bool { return lb1.hasVIP() && lb1.state() == vrrpfsm.Master })
	before, _ := lb1.d.Status("VI_1")
	ops := len(lb1.vips.Ops())

	lb1.d.Reload(seedConfig(t, true))
	after, _ := lb1.d.Status("VI_1")
	if after.State != vrrpfsm.Master || !after.LastTransition.Equal(before.LastTransition) {
		t.Fatalf("after an identical reload: %v since %v, want MASTER since %v", after.State, after.LastTransition, before.LastTransition)
	}
	if n := len(lb1.vips.Ops()); n != ops || !lb1.hasVIP() {
		t.Fatalf("an identical reload touched the VIPs: %v", lb1.vips.Ops()[ops:])
	}

	changed := seedConfig(t, true)
	changed.Instances[0].Priority = 150
	changed.Instances[0].NotifyMaster = &keepalivedcfg.Notify{Args: []string{"/bin/true"}}
	changed.Instances[0].GARP.MasterRepeat = 3
	frames := len(link.Frames())
	lb1.d.Reload(changed)
	waitFor(t, 8*time.Second, "an advert at the new priority 152", func() bool {
		for _, f := range link.Frames()[frames:] {
			if d, err := vrrp.ParseIPv4(f.Packet); err == nil && d.Advert.Priority == 152 {
				return true
			}
		}
		return false
	})
	after, _ = lb1.d.Status("VI_1")
	if after.State != vrrpfsm.Master || !after.LastTransition.Equal(before.LastTransition) || after.EffectivePriority != 152 {
		t.Fatalf("after a priority change: %v at %d since %v, want MASTER at 152 since %v", after.State, after.EffectivePriority, after.LastTransition, before.LastTransition)
	}
	for _, f := range link.Frames()[frames:] {
		if d, err := vrrp.ParseIPv4(f.Packet); err == nil && d.Advert.Priority == 0 {
			t.Fatal("the instance resigned (priority 0) on a priority change")
		}
	}
	if n := len(lb1.vips.Ops()); n != ops || !lb1.hasVIP() {
		t.Fatalf("a priority change touched the VIPs: %v", lb1.vips.Ops()[ops:])
	}
	if !strings.Contains(lb1.d.DataDump(), "   Priority = 150\n") {
		t.Errorf("the data dump does not show the new priority:\n%s", lb1.d.DataDump())
	}

	moved := seedConfig(t, true)
	moved.Instances[0].VIPs = append(moved.Instances[0].VIPs, keepalivedcfg.VIP{Prefix: netip.MustParsePrefix("192.168.1.85/32")})
	lb1.d.Reload(moved)
	waitFor(t, 8*time.Second, "the changed instance back to MASTER", func() bool {
		st, ok := lb1.d.Status("VI_1")
		return ok && st.State == vrrpfsm.Master && lb1.hasVIP() && !st.LastTransition.Equal(before.LastTransition)
	})
	removed := false
	for _, op := range lb1.vips.Ops()[ops:] {
		if op.Kind == "remove" {
			removed = true
		}
	}
	if !removed {
		t.Errorf("the changed instance did not release its VIP before restarting: %v", lb1.vips.Ops()[ops:])
	}
}

// TestDaemonContextEndStopsInstances: when the context given to Start ends
// without a Stop, every instance stops as on Stop (a MASTER resigns and
// removes its VIPs), the one AfterFunc of the daemon doing it.
func TestDaemonContextEndStopsInstances(t *testing.T) {
	link := vrrptest.NewLink()
	vips := viptest.New("eth0")
	logs := &syncBuilder{}
	starter := tracktest.NewStarter()
	starter.Auto = func(track.Command) track.Exit { return track.Exit{Exited: true, Status: 0} }
	log := zerolog.New(logs)
	d := NewDaemon(testEnv(link, 2, "192.168.1.80/24", vips, log, starter, tracktest.NewStarter()))
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Start(ctx, seedConfig(t, true)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		d.Stop(sctx)
	})
	n := &testNode{name: "lb1", d: d, vips: vips, log: logs}
	waitFor(t, 8*time.Second, "lb1 holds the VIP", func() bool { return n.hasVIP() && n.state() == vrrpfsm.Master })
	cancel()
	waitFor(t, 10*time.Second, "lb1 stopped without the VIP", func() bool { return !n.hasVIP() && n.state() == vrrpfsm.Stop })
	frames := link.Frames()
	last, err := vrrp.ParseIPv4(frames[len(frames)-1].Packet)
	if err != nil {
		t.Fatal(err)
	}
	if last.Advert.Priority != 0 {
		t.Errorf("last advert at priority %d, want the resignation's 0", last.Advert.Priority)
	}
}
