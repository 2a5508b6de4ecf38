package keepalived

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/garp/garptest"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track/tracktest"
	"hapair/pkg/vip/viptest"
	"hapair/pkg/vrrp"
	"hapair/pkg/vrrp/vrrptest"
	"hapair/pkg/vrrpfsm"
)

// These tests check that settings the parser reads reach the running
// instance (they were parsed and dropped before).

func parseConf(t *testing.T, src string) *keepalivedcfg.Config {
	t.Helper()
	opts := keepalivedcfg.DefaultOptions()
	opts.FS = nil
	cfg, diags, err := keepalivedcfg.Parse("k.conf", []byte(src), opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, keepalivedcfg.FormatDiagnostics(diags))
	}
	return cfg
}

type settingsNode struct {
	d     *Daemon
	vips  *viptest.Manager
	garps *garptest.Sender
	clock *garptest.Clock
	log   *syncBuilder
}

func startSettingsNode(t *testing.T, link *vrrptest.Link, index int, addr string, cfg *keepalivedcfg.Config) *settingsNode {
	t.Helper()
	n := &settingsNode{vips: viptest.New("eth0"), garps: &garptest.Sender{}, clock: garptest.NewClock(time.Unix(1e9, 0)), log: &syncBuilder{}}
	log := zerolog.New(n.log)
	env := testEnv(link, index, addr, n.vips, log, tracktest.NewStarter(), tracktest.NewStarter())
	env.GARP, env.GARPClock = n.garps, n.clock
	n.d = NewDaemon(env)
	if err := n.d.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.d.Stop(ctx)
	})
	return n
}

func (n *settingsNode) node(name string) *node {
	n.d.mu.Lock()
	defer n.d.mu.Unlock()
	return n.d.nodes[name].node
}

func (n *settingsNode) state(name string) vrrpfsm.State {
	st, _ := n.d.Status(name)
	return st.State
}

const lowerPrioConf = `vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 200
  advert_int 1
  garp_master_delay 0
  garp_master_repeat 1
  @LOWER@
  virtual_ipaddress {
    192.168.1.84/24
  }
}
`

// TestLowerPrioGARPs: a master that hears a lower priority advert sends
// garp_lower_prio_repeat GARPs at once and again garp_lower_prio_delay
// later, as keepalived's vrrp_state_master_rx.
func TestLowerPrioGARPs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lower     string
		now, late int // GARPs after the lower priority advert, and after the delay
	}{
		{"repeat 3 delay 10", "garp_lower_prio_repeat 3\n  garp_lower_prio_delay 10", 3, 3},
		{"repeat 2 no delay", "garp_lower_prio_repeat 2\n  garp_lower_prio_delay 0", 2, 0},
		{"off", "garp_lower_prio_repeat 0", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startSettingsNode(t, vrrptest.NewLink(), 2, "192.168.1.80/24", parseConf(t, strings.Replace(lowerPrioConf, "@LOWER@", tc.lower, 1)))
			waitFor(t, 8*time.Second, "MASTER with its first GARP", func() bool {
				return n.state("VI_1") == vrrpfsm.Master && len(n.garps.Sent()) == 1
			})
			n.node("VI_1").fsm.Receive(vrrpfsm.Advert{Src: netip.MustParseAddr("192.168.1.81"), Priority: 100, AdvertInt: time.Second})
			waitFor(t, 3*time.Second, "the lower priority advert handled", func() bool {
				return strings.Contains(n.log.String(), "Received advert from 192.168.1.81 with lower priority 100, ours 200")
			})
			if tc.now > 0 {
				waitFor(t, 3*time.Second, "the lower priority GARPs", func() bool { return len(n.garps.Sent()) == 1+tc.now })
			}
			if tc.late > 0 {
				if !n.clock.BlockUntil(1, 3*time.Second) {
					t.Fatal("no delayed GARP burst pending")
				}
				n.clock.Advance(10 * time.Second)
				waitFor(t, 3*time.Second, "the delayed GARPs", func() bool { return len(n.garps.Sent()) == 1+tc.now+tc.late })
			}
			if got := len(n.garps.Sent()); got != 1+tc.now+tc.late {
				t.Fatalf("%d GARPs, want %d", got, 1+tc.now+tc.late)
			}
			for _, s := range n.garps.Sent() {
				if s.IP != netip.MustParseAddr("192.168.1.84") || s.Iface != "eth0" {
					t.Errorf("GARP %+v", s)
				}
			}
		})
	}
}

// TestDontTrackPrimary: with dont_track_primary the instance ignores its
// interface going down; without, it goes to FAULT.
func TestDontTrackPrimary(t *testing.T) {
	conf := func(vrid int, extra string) *keepalivedcfg.Config {
		return parseConf(t, strings.NewReplacer("51", strconv.Itoa(vrid), "@LOWER@", extra).Replace(lowerPrioConf))
	}
	tracked := startSettingsNode(t, vrrptest.NewLink(), 2, "192.168.1.80/24", conf(51, ""))
	untracked := startSettingsNode(t, vrrptest.NewLink(), 3, "192.168.1.81/24", conf(52, "dont_track_primary"))
	waitFor(t, 8*time.Second, "both MASTER", func() bool {
		return tracked.state("VI_1") == vrrpfsm.Master && untracked.state("VI_1") == vrrpfsm.Master
	})
	untracked.vips.SetLink("eth0", false)
	tracked.vips.SetLink("eth0", false)
	waitFor(t, 3*time.Second, "the tracking instance in FAULT", func() bool { return tracked.state("VI_1") == vrrpfsm.Fault })
	if st := untracked.state("VI_1"); st != vrrpfsm.Master {
		t.Fatalf("dont_track_primary instance is %v after its interface went down, want MASTER", st)
	}
}

// TestCheckUnicastSrcReachesTheInstance: check_unicast_src (or the global
// vrrp_check_unicast_src) and the peers' min_ttl/max_ttl are what the
// receive checks get; an advert from another source or with a TTL out of
// range is dropped and counted.
func TestCheckUnicastSrcReachesTheInstance(t *testing.T) {
	const conf = `global_defs {
  @GLOBAL@
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  unicast_src_ip 192.168.1.80
  unicast_peer {
    192.168.1.81 min_ttl 250 max_ttl 254
  }
  @INSTANCE@
  virtual_ipaddress {
    192.168.1.84/24
  }
}
`
	for _, tc := range []struct {
		name, global, instance string
		check                  bool
	}{
		{"instance", "", "check_unicast_src", true},
		{"global", "vrrp_check_unicast_src", "", true},
		{"off", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link := vrrptest.NewLink()
			n := startSettingsNode(t, link, 2, "192.168.1.80/24", parseConf(t, strings.NewReplacer("@GLOBAL@", tc.global, "@INSTANCE@", tc.instance).Replace(conf)))
			e := n.node("VI_1").expect
			if e.CheckUnicastSrc != tc.check {
				t.Fatalf("CheckUnicastSrc = %v, want %v", e.CheckUnicastSrc, tc.check)
			}
			if r := e.PeerTTL[netip.MustParseAddr("192.168.1.81")]; r != [2]int{250, 254} {
				t.Fatalf("peer TTL range %v, want [250 254]", r)
			}
			// A stranger's advert, and the peer's with TTL 255 (> max_ttl).
			send := func(src string, ttl uint8) {
				b, err := (&vrrp.Encoder{Src: netip.MustParseAddr(src), TTL: ttl, Unicast: true}).Encode(
					&vrrp.Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 200, AdvertInt: time.Second, Addresses: []netip.Addr{netip.MustParseAddr("192.168.1.84")}},
					netip.MustParseAddr("192.168.1.80"))
				if err != nil {
					t.Fatal(err)
				}
				link.Inject(b[0], netip.MustParseAddr(src), netip.MustParseAddr("192.168.1.80"))
			}
			send("192.168.1.99", 255)
			send("192.168.1.81", 255)
			if !tc.check {
				return
			}
			waitFor(t, 3*time.Second, "both adverts dropped", func() bool {
				d := n.node("VI_1").Drops()
				return d[vrrp.DropPeer] == 1 && d[vrrp.DropTTL] == 1
			})
			log := n.log.String()
			for _, want := range []string{"(VI_1) unicast source address 192.168.1.99 not a unicast peer", "(VI_1) TTL/HL 255 not in range 250 - 254"} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
		})
	}
}

// TestPreferredLftReachesTheVIP: preferred_lft goes to the address added.
func TestPreferredLftReachesTheVIP(t *testing.T) {
	cfg := parseConf(t, "vrrp_instance I {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\nfe80::1/64\n2001:db8::1/64 preferred_lft 0\n}\n}\n")
	v, err := toVIP(cfg.Instances[0].VIPs[1], "eth0")
	if err != nil {
		t.Fatal(err)
	}
	if v.PreferredLft == nil || *v.PreferredLft != 0 {
		t.Fatalf("VIP %+v, want preferred_lft 0", v)
	}
}

// TestLowerPrioGARPsSyncGroup: a lower priority advert to one member of a
// sync group also sends the GARPs of the other members that set
// garp_lower_prio_repeat (keepalived's vrrp_state_master_rx).
func TestLowerPrioGARPsSyncGroup(t *testing.T) {
	const conf = `vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 200
  garp_master_delay 0
  garp_master_repeat 1
  garp_lower_prio_repeat 3
  garp_lower_prio_delay 0
  virtual_ipaddress {
    192.168.1.84/24
  }
}
vrrp_instance VI_2 {
  state MASTER
  interface eth0
  virtual_router_id 52
  priority 200
  garp_master_delay 0
  garp_master_repeat 1
  garp_lower_prio_repeat 2
  garp_lower_prio_delay 0
  virtual_ipaddress {
    192.168.1.85/24
  }
}
`
	n := startSettingsNode(t, vrrptest.NewLink(), 2, "192.168.1.80/24", parseConf(t, conf))
	count := func(ip string) int {
		c := 0
		for _, s := range n.garps.Sent() {
			if s.IP == netip.MustParseAddr(ip) {
				c++
			}
		}
		return c
	}
	waitFor(t, 8*time.Second, "both MASTER with their first GARP", func() bool {
		return n.state("VI_1") == vrrpfsm.Master && n.state("VI_2") == vrrpfsm.Master && count("192.168.1.84") == 1 && count("192.168.1.85") == 1
	})
	n.node("VI_1").fsm.Receive(vrrpfsm.Advert{Src: netip.MustParseAddr("192.168.1.81"), Priority: 100, AdvertInt: time.Second})
	waitFor(t, 3*time.Second, "the lower priority GARPs of both members", func() bool {
		return count("192.168.1.84") == 4 && count("192.168.1.85") == 3
	})
}

// TestVIPInterfaceTracked: a VIP on another interface puts the instance in
// FAULT while that interface is down, as keepalived tracks it, unless the
// VIP says no_track (which was parsed and dropped before).
func TestVIPInterfaceTracked(t *testing.T) {
	conf := func(vrid int, opt string) *keepalivedcfg.Config {
		return parseConf(t, strings.NewReplacer("51", strconv.Itoa(vrid), "@LOWER@", "", "192.168.1.84/24", "192.168.1.84/24\n    10.9.9.9/24 dev eth1"+opt).Replace(lowerPrioConf))
	}
	start := func(index int, addr string, cfg *keepalivedcfg.Config) *settingsNode {
		n := &settingsNode{vips: viptest.New("eth0", "eth1"), garps: &garptest.Sender{}, clock: garptest.NewClock(time.Unix(1e9, 0)), log: &syncBuilder{}}
		log := zerolog.New(n.log)
		env := testEnv(vrrptest.NewLink(), index, addr, n.vips, log, tracktest.NewStarter(), tracktest.NewStarter())
		n.d = NewDaemon(env)
		if err := n.d.Start(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n.d.Stop(ctx)
		})
		return n
	}
	tracked := start(2, "192.168.1.80/24", conf(51, ""))
	untracked := start(3, "192.168.1.81/24", conf(52, " no_track"))
	waitFor(t, 8*time.Second, "both MASTER", func() bool {
		return tracked.state("VI_1") == vrrpfsm.Master && untracked.state("VI_1") == vrrpfsm.Master
	})
	untracked.vips.SetLink("eth1", false)
	tracked.vips.SetLink("eth1", false)
	waitFor(t, 3*time.Second, "the instance with a VIP on the down interface in FAULT", func() bool { return tracked.state("VI_1") == vrrpfsm.Fault })
	if st := untracked.state("VI_1"); st != vrrpfsm.Master {
		t.Fatalf("no_track instance is %v after its VIP's interface went down, want MASTER", st)
	}
	tracked.vips.SetLink("eth1", true)
	waitFor(t, 8*time.Second, "back to MASTER once the interface is up", func() bool { return tracked.state("VI_1") == vrrpfsm.Master })
}
