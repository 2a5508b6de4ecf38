package keepalived

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
	"hapair/pkg/notify/notifytest"
	"hapair/pkg/track"
	"hapair/pkg/track/tracktest"
	"hapair/pkg/vip/viptest"
	"hapair/pkg/vrrp/vrrptest"
)

// syncConf is a keepalived.conf with a sync group of two instances; only
// VI_1 tracks the script, so only a group can move VI_2's address.
const syncConf = `global_defs {
  router_id %s
}
vrrp_script chk {
  script "/usr/bin/true chk"
  interval 1
  fall 1
  rise 1
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
  notify_fault "/usr/bin/true group_fault"
  notify "/usr/bin/true group"
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int 1
  virtual_ipaddress {
    192.168.1.51/24
  }
  track_script {
    chk
  }
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority %d
  advert_int 1
  virtual_ipaddress {
    192.168.1.52/24
  }
}
`

// parseSync reads syncConf with VI_1's and VI_2's priorities.
func parseSync(t *testing.T, name string, prio1, prio2 int) *keepalivedcfg.Config {
	t.Helper()
	opts := keepalivedcfg.DefaultOptions()
	opts.FS = nil
	cfg, _, err := keepalivedcfg.Parse("keepalived.conf", []byte(fmt.Sprintf(syncConf, name, prio1, prio2)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// syncNode is one load balancer running syncConf on the in-memory LAN.
type syncNode struct {
	d       *Daemon
	vips    *viptest.Manager
	healthy atomic.Bool // the track script's verdict
	mu      sync.Mutex
	ran     []string // notify command lines run
	log     *lockedLog
}

type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startSyncNode(t *testing.T, link *vrrptest.Link, name string, index int, addr string, prio int) *syncNode {
	t.Helper()
	return startSyncNodeWith(t, link, name, index, addr, parseSync(t, name, prio, prio), "")
}

// startSyncNodeWith runs cfg; with smtp set, mail goes to that server.
func startSyncNodeWith(t *testing.T, link *vrrptest.Link, name string, index int, addr string, cfg *keepalivedcfg.Config, smtp string) *syncNode {
	t.Helper()
	n := &syncNode{vips: viptest.New("eth0"), log: &lockedLog{}}
	n.healthy.Store(true)
	scripts := tracktest.NewStarter()
	scripts.Auto = func(track.Command) track.Exit {
		if n.healthy.Load() {
			return track.Exit{Exited: true, Status: 0}
		}
		return track.Exit{Exited: true, Status: 1}
	}
	notifies := tracktest.NewStarter()
	notifies.Auto = func(cmd track.Command) track.Exit {
		n.mu.Lock()
		n.ran = append(n.ran, strings.Join(cmd.Args[1:], " "))
		n.mu.Unlock()
		return track.Exit{Exited: true}
	}
	log := zerolog.New(n.log).With().Str("node", name).Logger()
	env := testEnv(link, index, addr, n.vips, log, scripts, notifies)
	if smtp != "" {
		env.Mailer = func(g keepalivedcfg.Global) *notify.Mailer {
			return &notify.Mailer{Server: smtp, To: g.NotificationEmail, RouterID: g.RouterID, Hostname: "lb", Log: log}
		}
	}
	n.d = NewDaemon(env)
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

// holds reports which of the two VIPs the node has: "51+52", "51", "52" or "".
func (n *syncNode) holds() string {
	var got []string
	for _, p := range n.vips.Addrs("eth0") {
		switch p.Addr() {
		case netip.MustParseAddr("192.168.1.51"):
			got = append(got, "51")
		case netip.MustParseAddr("192.168.1.52"):
			got = append(got, "52")
		}
	}
	slices.Sort(got)
	return strings.Join(got, "+")
}

func (n *syncNode) states() string {
	s1, _ := n.d.Status("VI_1")
	s2, _ := n.d.Status("VI_2")
	return s1.State.String() + "/" + s2.State.String()
}

func (n *syncNode) notified() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.ran)
}

// TestSyncGroupFailover: lb1 (150) holds both VIPs; its VI_1 script fails,
// so both of its instances enter FAULT and lb2 takes both VIPs, although
// VI_2 tracks nothing. When the script recovers lb1 takes both back.
func TestSyncGroupFailover(t *testing.T) {
	link := vrrptest.NewLink()
	lb1 := startSyncNode(t, link, "lb1", 2, "192.168.1.80/24", 150)
	lb2 := startSyncNode(t, link, "lb2", 3, "192.168.1.81/24", 100)

	waitFor(t, 8*time.Second, "lb1 holds both VIPs", func() bool { return lb1.holds() == "51+52" && lb1.states() == "MASTER/MASTER" })
	if lb2.holds() != "" || lb2.states() != "BACKUP/BACKUP" {
		t.Fatalf("lb2 is %s holding %q, want BACKUP/BACKUP holding nothing", lb2.states(), lb2.holds())
	}
	if !strings.Contains(lb1.log.String(), "VRRP_Group(G1) Syncing instances to MASTER state") {
		t.Fatalf("lb1's log lacks the group line:\n%s", lb1.log.String())
	}

	lb1.healthy.Store(false)
	took := waitFor(t, 10*time.Second, "lb2 takes both VIPs", func() bool { return lb2.holds() == "51+52" && lb1.holds() == "" })
	t.Logf("both VIPs moved after the script failed: %v", took)
	if s := lb1.states(); s != "FAULT/FAULT" {
		t.Fatalf("lb1 is %s, want FAULT/FAULT", s)
	}
	if !strings.Contains(lb1.log.String(), "VRRP_Group(G1) Syncing instances to FAULT state") {
		t.Fatalf("lb1's log lacks the FAULT group line:\n%s", lb1.log.String())
	}
	waitFor(t, 3*time.Second, "lb1's group FAULT notifications", func() bool {
		ran := lb1.notified()
		return slices.Contains(ran, "group_fault") && slices.Contains(ran, "group GROUP G1 FAULT 0")
	})

	lb1.healthy.Store(true)
	waitFor(t, 10*time.Second, "lb1 takes both VIPs back", func() bool { return lb1.holds() == "51+52" && lb2.holds() == "" })
	if s := lb2.states(); s != "BACKUP/BACKUP" {
		t.Fatalf("lb2 is %s, want BACKUP/BACKUP", s)
	}
	ran := lb2.notified()
	for _, want := range []string{"group GROUP G1 MASTER 0", "group GROUP G1 BACKUP 0"} {
		if !slices.Contains(ran, want) {
			t.Errorf("lb2 ran %q, want it to include %q", ran, want)
		}
	}

	// Stopping: the members' STOP, then the group's, once.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lb1.d.Stop(ctx)
	ran = lb1.notified()
	if n := slices.Index(ran, "group GROUP G1 STOP 0"); n < 0 || slices.Index(ran[n+1:], "group GROUP G1 STOP 0") >= 0 {
		t.Fatalf("lb1 ran %q, want the group's STOP notification once", ran)
	}
}

// TestSyncGroupReload: an identical reload leaves the group alone; a
// member's new priority is applied in place (both keep their state and
// VIPs, as keepalived 2.2.7 does); a change to one member's identity (its
// advert interval) restarts both, under a new group that still syncs them.
func TestSyncGroupReload(t *testing.T) {
	link := vrrptest.NewLink()
	lb1 := startSyncNode(t, link, "lb1", 2, "192.168.1.80/24", 150)
	waitFor(t, 8*time.Second, "lb1 holds both VIPs", func() bool { return lb1.holds() == "51+52" && lb1.states() == "MASTER/MASTER" })
	before, _ := lb1.d.Status("VI_1")
	ops := len(lb1.vips.Ops())

	lb1.d.Reload(parseSync(t, "lb1", 150, 150))
	if after, _ := lb1.d.Status("VI_1"); !after.LastTransition.Equal(before.LastTransition) || len(lb1.vips.Ops()) != ops {
		t.Fatalf("an identical reload restarted VI_1 or touched the VIPs: %v", lb1.vips.Ops()[ops:])
	}

	// Only VI_2's priority changes: applied in place.
	lb1.d.Reload(parseSync(t, "lb1", 150, 160))
	waitFor(t, 8*time.Second, "VI_2 at 160", func() bool {
		st, _ := lb1.d.Status("VI_2")
		return st.EffectivePriority == 160
	})
	if after, _ := lb1.d.Status("VI_1"); !after.LastTransition.Equal(before.LastTransition) || len(lb1.vips.Ops()) != ops || lb1.states() != "MASTER/MASTER" {
		t.Fatalf("a priority change restarted the group or touched the VIPs: %s, %v", lb1.states(), lb1.vips.Ops()[ops:])
	}

	// VI_2's advert interval changes: VI_1 restarts with it.
	changed := parseSync(t, "lb1", 150, 160)
	changed.Instances[1].AdvertInt = 2 * time.Second
	lb1.d.Reload(changed)
	waitFor(t, 8*time.Second, "both members MASTER again", func() bool {
		st, _ := lb1.d.Status("VI_1")
		return lb1.states() == "MASTER/MASTER" && !st.LastTransition.Equal(before.LastTransition) && lb1.holds() == "51+52"
	})
	if got := strings.Count(lb1.log.String(), "VRRP_Group(G1) Syncing instances to MASTER state"); got != 2 {
		t.Fatalf("the group synced to MASTER %d times, want 2 (start, after the reload)", got)
	}
	lb1.healthy.Store(false)
	waitFor(t, 8*time.Second, "the new group takes VI_2 to FAULT with VI_1", func() bool { return lb1.states() == "FAULT/FAULT" && lb1.holds() == "" })
}

// TestSyncGroupDump: the data dump's sync group section, in the words of
// keepalived 2.2.7's /tmp/keepalived.data (captured with a group of two
// instances and a generic notify script), follows the group's state.
func TestSyncGroupDump(t *testing.T) {
	link := vrrptest.NewLink()
	lb1 := startSyncNode(t, link, "lb1", 2, "192.168.1.80/24", 150)
	waitFor(t, 8*time.Second, "lb1 MASTER", func() bool { return lb1.states() == "MASTER/MASTER" })
	dump := func() string {
		lb1.d.mu.Lock()
		defer lb1.d.mu.Unlock()
		var b strings.Builder
		lb1.d.dumpSyncGroups(&b)
		return b.String()
	}
	ids := fmt.Sprintf("uid:gid %d:%d", os.Getuid(), os.Getgid())
	want := func(state string, fault int) string {
		return "------< VRRP Sync groups >------\n" +
			" VRRP Sync Group = G1, " + state + "\n" +
			fmt.Sprintf("   Num member fault %d, num member init 0\n", fault) +
			"   VRRP member instances :\n     VI_1\n     VI_2\n" +
			"   Using smtp notification = no\n" +
			"   Fault state transition script = '/usr/bin/true' 'group_fault', " + ids + "\n" +
			"   Generic state transition script = '/usr/bin/true' 'group', " + ids + "\n"
	}
	if got := dump(); got != want("MASTER", 0) {
		t.Fatalf("dump:\n%s\nwant:\n%s", got, want("MASTER", 0))
	}
	lb1.healthy.Store(false)
	waitFor(t, 8*time.Second, "lb1 FAULT", func() bool { return lb1.states() == "FAULT/FAULT" })
	if got := dump(); got != want("FAULT", 1) {
		t.Fatalf("dump:\n%s\nwant:\n%s", got, want("FAULT", 1))
	}
	lb1.d.mu.Lock()
	g1, g2 := lb1.d.syncGroupOf("VI_1"), lb1.d.syncGroupOf("nope")
	lb1.d.mu.Unlock()
	if g1 != "G1" || g2 != "" {
		t.Fatalf("syncGroupOf: %q, %q", g1, g2)
	}
}

// TestSyncGroupSMTPAlert: a group with smtp_alert mails each group
// transition, with keepalived's subject "[router_id] VRRP Group G1 -
// Entering MASTER state".
func TestSyncGroupSMTPAlert(t *testing.T) {
	srv := &notifytest.SMTPServer{}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	text := fmt.Sprintf(syncConf, "lb1", 150, 150)
	text = strings.Replace(text, "  router_id lb1\n", "  router_id lb1\n  smtp_server 127.0.0.1\n  notification_email {\n    ops@example.com\n  }\n", 1)
	text = strings.Replace(text, "  notify \"/usr/bin/true group\"\n", "  notify \"/usr/bin/true group\"\n  smtp_alert\n", 1)
	opts := keepalivedcfg.DefaultOptions()
	opts.FS = nil
	cfg, _, err := keepalivedcfg.Parse("keepalived.conf", []byte(text), opts)
	if err != nil {
		t.Fatal(err)
	}
	if g := cfg.SyncGroups[0]; g.SMTPAlert == nil || !*g.SMTPAlert || cfg.Global.SMTPServer == "" {
		t.Fatalf("the edited configuration lacks smtp_alert or smtp_server:\n%s", text)
	}
	link := vrrptest.NewLink()
	lb1 := startSyncNodeWith(t, link, "lb1", 2, "192.168.1.80/24", cfg, srv.Addr)
	mailed := func(subject string) bool {
		for _, s := range srv.Sessions() {
			if bytes.Contains(s, []byte(subject)) {
				return true
			}
		}
		return false
	}
	waitFor(t, 10*time.Second, "the group's MASTER mail", func() bool { return mailed("[lb1] VRRP Group G1 - Entering MASTER state") })
	if !mailed("[lb1] VRRP Group G1 - Entering BACKUP state") {
		t.Error("no BACKUP mail for the group's first state")
	}
	lb1.healthy.Store(false)
	waitFor(t, 10*time.Second, "the group's FAULT mail", func() bool { return mailed("[lb1] VRRP Group G1 - Entering FAULT state") })
}
