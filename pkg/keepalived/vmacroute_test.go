package keepalived

import (
	"context"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/track/tracktest"
	"hapair/pkg/vip/viptest"
	"hapair/pkg/vmac"
	"hapair/pkg/vroute"
	"hapair/pkg/vrrp/vrrptest"
	"hapair/pkg/vrrpfsm"
)

// fakeRoutes is a RouteManager on a map.
type fakeRoutes struct {
	mu       sync.Mutex
	set      map[string]bool
	watchers []chan struct{}
}

func newFakeRoutes() *fakeRoutes { return &fakeRoutes{set: map[string]bool{}} }

// deleted tells every watcher that something was deleted.
func (f *fakeRoutes) deleted() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.watchers {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

func (f *fakeRoutes) put(k string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on {
		f.set[k] = true
	} else {
		delete(f.set, k)
	}
	return nil
}
func (f *fakeRoutes) has(k string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set[k], nil
}
func (f *fakeRoutes) AddRoute(r vroute.Route) error         { return f.put("route "+r.String(), true) }
func (f *fakeRoutes) DelRoute(r vroute.Route) error         { return f.put("route "+r.String(), false) }
func (f *fakeRoutes) AddRule(r vroute.Rule) error           { return f.put("rule "+r.String(), true) }
func (f *fakeRoutes) DelRule(r vroute.Rule) error           { return f.put("rule "+r.String(), false) }
func (f *fakeRoutes) HasRoute(r vroute.Route) (bool, error) { return f.has("route " + r.String()) }
func (f *fakeRoutes) HasRule(r vroute.Rule) (bool, error)   { return f.has("rule " + r.String()) }
func (f *fakeRoutes) WatchDeleted(ctx context.Context) (<-chan struct{}, error) {
	c := make(chan struct{}, 1)
	f.mu.Lock()
	f.watchers = append(f.watchers, c)
	f.mu.Unlock()
	return c, nil
}

func (f *fakeRoutes) list() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.set {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// fakeVMACs records Create and Remove.
type fakeVMACs struct {
	mu   sync.Mutex
	live map[string]bool
}

func (f *fakeVMACs) Create(s vmac.Spec) (*net.Interface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live[s.Name] = true
	return &net.Interface{Index: 100 + int(s.VRID), Name: s.Name, Flags: net.FlagUp | net.FlagMulticast,
		HardwareAddr: net.HardwareAddr{0, 0, 0x5e, 0, 1, s.VRID}}, nil
}

func (f *fakeVMACs) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, name)
	return nil
}

func (f *fakeVMACs) has(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live[name]
}

const routesConf = `static_routes {
    10.50.0.0/16 via 192.168.1.1 dev eth0 table 100
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 255
    use_vmac
    virtual_ipaddress {
        192.168.1.84/24
    }
    virtual_routes {
        10.70.0.0/16 via 192.168.1.1 dev eth0
    }
    virtual_rules {
        from 10.80.0.0/16 table 101 priority 300
    }
}
`

// TestVirtualAndStaticRoutes: the static route is there from the start,
// the virtual route and rule while MASTER; a reload changes only what
// changed; a virtual route deleted by someone else sends the MASTER to
// BACKUP; the VMAC carries the VIP and goes at Stop with everything else.
func TestVirtualAndStaticRoutes(t *testing.T) {
	link := vrrptest.NewLink()
	vips := viptest.New()
	routes, vmacs := newFakeRoutes(), &fakeVMACs{live: map[string]bool{}}
	logb := &syncBuf{}
	log := zerolog.New(logb)
	env := testEnv(link, 2, "192.168.1.80/24", vips, log, tracktest.NewStarter(), tracktest.NewStarter())
	env.Routes, env.VMACs = routes, vmacs
	d := NewDaemon(env)
	if err := d.Start(context.Background(), parseConf(t, routesConf)); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			d.Stop(context.Background())
		}
	})
	waitFor(t, 5*time.Second, "MASTER with its virtual route and rule", func() bool {
		st, _ := d.Status("VI_1")
		return st.State == vrrpfsm.Master && strings.Contains(routes.list(), "route 10.70.0.0/16")
	})
	want := "route 10.50.0.0/16 via 192.168.1.1 dev eth0 table 100; route 10.70.0.0/16 via 192.168.1.1 dev eth0; rule 300: from 10.80.0.0/16 lookup 101"
	if got := routes.list(); got != want {
		t.Errorf("routes and rules:\n got %s\nwant %s", got, want)
	}
	if !vmacs.has("vrrp.51") || len(vips.Addrs("vrrp.51")) != 1 {
		t.Errorf("VMAC vrrp.51 %v, VIPs on it %v", vmacs.has("vrrp.51"), vips.Addrs("vrrp.51"))
	}

	// Reload: the static route moves, the instance keeps running.
	d.Reload(parseConf(t, strings.Replace(routesConf, "10.50.0.0/16", "10.51.0.0/16", 1)))
	if got := routes.list(); strings.Contains(got, "10.50.0.0") || !strings.Contains(got, "route 10.51.0.0/16") || !strings.Contains(got, "route 10.70.0.0/16") {
		t.Errorf("after reload: %s", got)
	}

	// Someone deletes the virtual rule: the MASTER leaves MASTER.
	_ = routes.DelRule(vroute.Rule{Family: 4, From: netip.MustParsePrefix("10.80.0.0/16"), Action: vroute.ActionToTable, Table: 101, Priority: 300, Protocol: 18})
	routes.deleted()
	waitFor(t, 5*time.Second, "the MASTER leaves MASTER", func() bool {
		return strings.Contains(logb.String(), "virtual rule 300: from 10.80.0.0/16 lookup 101 deleted") &&
			strings.Contains(logb.String(), "(VI_1) Entering BACKUP STATE")
	})

	d.Stop(context.Background())
	stopped = true
	if got := routes.list(); got != "" {
		t.Errorf("after Stop: %s", got)
	}
	if vmacs.has("vrrp.51") {
		t.Error("VMAC left after Stop")
	}
}

// syncBuf is a log buffer safe for concurrent writes and reads.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
