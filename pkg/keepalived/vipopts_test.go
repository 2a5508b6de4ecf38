package keepalived

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
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

// startOwner runs cfg alone on an in-memory LAN, with fake interfaces
// links, and waits until instance name is MASTER.
func startOwner(t *testing.T, cfg *keepalivedcfg.Config, vips *viptest.Manager, name string, tune func(*Env)) *Daemon {
	t.Helper()
	log := zerolog.New(&syncBuilder{})
	env := testEnv(vrrptest.NewLink(), 2, "10.0.0.1/24", vips, log, tracktest.NewStarter(), tracktest.NewStarter())
	if tune != nil {
		tune(env)
	}
	d := NewDaemon(env)
	if err := d.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	waitFor(t, 5*time.Second, name+" MASTER", func() bool {
		st, _ := d.Status(name)
		return st.State == vrrpfsm.Master
	})
	return d
}

// TestVIPPeer: `virtual_ipaddress { A peer P }` is added as a
// point-to-point address (as keepalived 2.2.7 shows it in a lab run:
// "inet 10.0.0.100 peer 10.0.0.200/32"); a prefix given with a peer is
// ignored, as keepalived ignores it.
func TestVIPPeer(t *testing.T) {
	cfg := parseConf(t, `vrrp_instance P {
    interface eth0
    virtual_router_id 5
    priority 255
    virtual_ipaddress {
        10.0.0.100 peer 10.0.0.200
        10.0.0.101/24 peer 10.0.0.201
        10.0.0.102/24
    }
}
`)
	vips := viptest.New("eth0")
	startOwner(t, cfg, vips, "P", nil)
	var got []string
	for _, op := range vips.Ops() {
		if op.Kind == "add" {
			got = append(got, op.VIP.String())
		}
	}
	want := []string{
		"10.0.0.100 peer 10.0.0.200/32 dev eth0",
		"10.0.0.101 peer 10.0.0.201/32 dev eth0",
		"10.0.0.102/24 dev eth0",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("VIPs added:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// timedSender records each announcement with the fake time it was sent.
type timedSender struct {
	clk   *garptest.Clock
	start time.Time
	mu    sync.Mutex
	sent  []string
}

func (s *timedSender) Send(ifi *net.Interface, ip netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, fmt.Sprintf("%s/%s@%v", ip, ifi.Name, s.clk.Now().Sub(s.start)))
	return nil
}

func (s *timedSender) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.sent, " ")
}

// TestGARPSpacingAndNA: on becoming MASTER every VIP is announced on its
// own interface (gratuitous ARP for IPv4, unsolicited NA for IPv6), and
// vrrp_garp_interval spaces the ARPs per interface the way keepalived
// 2.2.7 does (repeats of a pending address collapse; see garp.Spacing).
func TestGARPSpacingAndNA(t *testing.T) {
	cfg := parseConf(t, `global_defs {
    vrrp_garp_interval 0.3
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 2
}
vrrp_instance G {
    interface eth0
    virtual_router_id 5
    priority 255
    virtual_ipaddress {
        10.0.0.100
        10.0.0.101
        10.1.0.102 dev eth1
    }
    virtual_ipaddress_excluded {
        fd00::1
    }
}
`)
	start := time.Unix(1700000000, 0)
	clk := garptest.NewClock(start)
	snd := &timedSender{clk: clk, start: start}
	d := startOwner(t, cfg, viptest.New("eth0", "eth1"), "G", func(e *Env) {
		e.GARP, e.GARPClock = snd, clk
		e.Interfaces = func(name string) (*net.Interface, []netip.Prefix, error) {
			idx := map[string]int{"eth0": 2, "eth1": 3}[name]
			return &net.Interface{Index: idx, Name: name, Flags: net.FlagUp | net.FlagMulticast}, []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")}, nil
		}
	})
	want := "10.0.0.100/eth0@0s 10.1.0.102/eth1@0s fd00::1/eth0@0s fd00::1/eth0@0s " +
		"10.0.0.100/eth0@300ms 10.1.0.102/eth1@300ms 10.0.0.101/eth0@600ms"
	for i := 0; i < 50 && snd.String() != want && clk.BlockUntil(1, 2*time.Second); i++ {
		clk.Step()
	}
	if got := snd.String(); got != want {
		t.Errorf("announcements:\n%s\nwant:\n%s", got, want)
	}
	// The announcer of the spaced announcements ends with the instance
	// (its schedule ended long before): the daemon stops.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.Stop(ctx)
	if ctx.Err() != nil {
		t.Error("the daemon did not stop within 10 s: the instance's announcer still runs")
	}
}

// TestVIPNoTrack: a VIP on another interface makes the instance track
// that interface (keepalived 2.2.7 vrrp.c, TRACK_ADDR): it goes down, the
// instance enters FAULT and drops its VIPs; with no_track it stays MASTER.
// A track_interface weight on that interface no longer applies (the VIP
// makes the track unweighted, as in keepalived). Seen in a lab run of
// keepalived 2.2.7: `ip link set eth1 down` put T in FAULT, N kept 10.1.0.2.
func TestVIPNoTrack(t *testing.T) {
	cfg := parseConf(t, `vrrp_instance T {
    interface eth0
    virtual_router_id 1
    priority 255
    virtual_ipaddress {
        10.1.0.1 dev eth1
    }
}
vrrp_instance N {
    interface eth0
    virtual_router_id 2
    priority 255
    virtual_ipaddress {
        10.1.0.2 dev eth1 no_track
    }
}
vrrp_instance W {
    interface eth0
    virtual_router_id 3
    priority 254
    state MASTER
    track_interface {
        eth2 weight -10
    }
    virtual_ipaddress {
        10.2.0.3 dev eth2
    }
}
`)
	vips := viptest.New("eth0", "eth1", "eth2")
	d := startOwner(t, cfg, vips, "T", nil)
	state := func(name string) vrrpfsm.State { st, _ := d.Status(name); return st.State }
	waitFor(t, 5*time.Second, "N and W MASTER", func() bool { return state("N") == vrrpfsm.Master && state("W") == vrrpfsm.Master })

	vips.SetLink("eth1", false)
	vips.SetLink("eth2", false)
	waitFor(t, 5*time.Second, "T and W in FAULT", func() bool { return state("T") == vrrpfsm.Fault && state("W") == vrrpfsm.Fault })
	if state("N") != vrrpfsm.Master {
		t.Errorf("N (no_track) is %v, want MASTER", state("N"))
	}
	has := func(p string) bool {
		for _, a := range vips.Addrs("eth1") {
			if a.String() == p {
				return true
			}
		}
		return false
	}
	if has("10.1.0.1/32") || !has("10.1.0.2/32") {
		t.Errorf("eth1 holds %v; want 10.1.0.2 only", vips.Addrs("eth1"))
	}
	vips.SetLink("eth1", true)
	waitFor(t, 10*time.Second, "T MASTER again", func() bool { return state("T") == vrrpfsm.Master })
}

// TestVIPRemovedExternally: `ip addr del` of a MASTER's VIP makes the
// instance leave MASTER and take it again after its skew time, adding the
// VIP back; a no_track VIP stays deleted and its instance MASTER. As
// keepalived 2.2.7 in a lab run: "(T) Entering BACKUP STATE", "(T) sent 0
// priority", "(T) removing VIPs.", then MASTER with the VIP back, while
// N's no_track VIP stayed deleted.
func TestVIPRemovedExternally(t *testing.T) {
	cfg := parseConf(t, `vrrp_instance T {
    interface eth0
    virtual_router_id 1
    priority 255
    virtual_ipaddress {
        10.1.0.1 dev eth1
    }
}
vrrp_instance N {
    interface eth0
    virtual_router_id 2
    priority 255
    virtual_ipaddress {
        10.1.0.2 dev eth1 no_track
    }
}
`)
	vips := viptest.New("eth0", "eth1")
	d := startOwner(t, cfg, vips, "T", nil)
	waitFor(t, 5*time.Second, "N MASTER", func() bool { st, _ := d.Status("N"); return st.State == vrrpfsm.Master })
	has := func(p string) bool {
		for _, a := range vips.Addrs("eth1") {
			if a.String() == p {
				return true
			}
		}
		return false
	}
	vips.DeleteExternally("eth1", netip.MustParsePrefix("10.1.0.1/32"))
	vips.DeleteExternally("eth1", netip.MustParsePrefix("10.1.0.2/32"))
	waitFor(t, 5*time.Second, "T's VIP added back", func() bool { return has("10.1.0.1/32") })
	st, _ := d.Status("T")
	if st.State != vrrpfsm.Master || st.LastReason != vrrpfsm.ReasonMasterDown {
		t.Errorf("T is %v (%v), want MASTER again after its skew time", st.State, st.LastReason)
	}
	if has("10.1.0.2/32") {
		t.Error("N's no_track VIP came back")
	}
	if st, _ := d.Status("N"); st.State != vrrpfsm.Master {
		t.Errorf("N is %v, want MASTER", st.State)
	}
}
