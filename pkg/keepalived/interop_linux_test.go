package keepalived_test

// End-to-end VRRP interoperability of gkeepalived with Debian's keepalived
// 2.2.7: the seed's two load balancers in a private lab (integration/lab),
// each daemon a real process in its own network and PID namespace, the
// seed's keepalived.conf as written (only the per-host changes its comments
// name), a fake haproxy for the track script `killall -0 haproxy`, and a
// client host that reaches the VIP.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hapair/integration/lab"
)

// gkBin is gkeepalived, built by TestMain.
var gkBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "gkeepalived-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	gkBin = filepath.Join(dir, "gkeepalived")
	cmd := exec.Command("go", "build", "-o", gkBin, "./cmd/gkeepalived")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building gkeepalived: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// moduleRoot finds go.mod above the test's working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for i := 0; i < 10; i++ {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", fmt.Errorf("no go.mod above the working directory")
}

// impl is one VRRP daemon program: ours or the reference.
type impl string

const (
	gk = impl("gkeepalived")
	kd = impl("keepalived")
)

// argv is the command line: keepalived's own flags for both, in the
// foreground, logging to the console only, pidfiles in the host's /run.
func (i impl) argv(conf string) (string, []string) {
	common := []string{"-n", "-l", "-D", "-G", "-f", conf, "-p", "/run/keepalived.pid", "-r", "/run/keepalived_vrrp.pid"}
	if i == gk {
		return gkBin, common
	}
	return "/usr/sbin/keepalived", append([]string{"-P"}, common...)
}

var (
	vip     = netip.MustParseAddr("192.168.1.84")
	lb1Addr = netip.MustParsePrefix("192.168.1.80/24")
	lb2Addr = netip.MustParsePrefix("192.168.1.81/24")
	cliAddr = netip.MustParsePrefix("192.168.1.10/24")
)

// seedConf is conf/keepalived.conf with the per-host changes its comments
// name for a backup, then the edits a scenario asks for (each must apply
// exactly once, so a changed seed cannot silently turn a test into a no-op).
func seedConf(t *testing.T, backup bool, edits ...[2]string) []byte {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "conf", "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if backup {
		edits = append([][2]string{{"state MASTER", "state BACKUP"}, {"priority 101", "priority 100"}}, edits...)
	}
	for _, e := range edits {
		if n := strings.Count(s, e[0]); n != 1 {
			t.Fatalf("seed keepalived.conf: %q occurs %d times, want once", e[0], n)
		}
		s = strings.Replace(s, e[0], e[1], 1)
	}
	return []byte(s)
}

// The scenario edits.
var (
	authPASS   = [2]string{"auth_type AH", "auth_type PASS"}
	authNone   = [2]string{"authentication {\n        auth_type AH\n        auth_pass supersecret\n    }\n", ""}
	wrongPass  = [2]string{"auth_pass supersecret", "auth_pass notsecret"}
	wrongVRID  = [2]string{"virtual_router_id 51", "virtual_router_id 52"}
	masterLine = "(VI_1) Entering MASTER STATE"
	backupLine = "(VI_1) Entering BACKUP STATE"
)

// lb is one load balancer: a lab host running a VRRP daemon and a fake
// haproxy that the track script finds.
type lb struct {
	t       *testing.T
	h       *lab.Host
	impl    impl
	daemon  *lab.Proc
	haproxy *lab.Proc
	fake    string     // a copy of sleep called haproxy
	vip     netip.Addr // the VIP hasVIP looks for; zero: the seed's
}

func (n *lb) String() string { return fmt.Sprintf("%s(%s)", n.h.Name(), n.impl) }

func (n *lb) startHaproxy() {
	n.t.Helper()
	p, err := n.h.Start("haproxy", n.fake, "1000")
	if err != nil {
		n.t.Fatal(err)
	}
	n.haproxy = p
	// Start returns once nsenter forked, maybe before the exec.
	poll(n.t, 5*time.Second, n.String()+": killall -0 haproxy succeeds", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return n.h.Running(ctx, "haproxy")
	})
}

func (n *lb) killHaproxy() {
	n.t.Helper()
	// lab.Proc.Kill SIGKILLs the process, then its nsenter, which may have
	// exited in between: os.ErrProcessDone then only says so.
	if err := n.haproxy.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		n.t.Fatal(err)
	}
	// PID 1 of the host reaps it; the track script must then fail.
	poll(n.t, 5*time.Second, n.String()+": killall -0 haproxy fails", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return !n.h.Running(ctx, "haproxy")
	})
}

func (n *lb) startDaemon(conf []byte) {
	n.t.Helper()
	path := filepath.Join(filepath.Dir(n.fake), "keepalived.conf")
	if err := os.WriteFile(path, conf, 0o644); err != nil {
		n.t.Fatal(err)
	}
	bin, args := n.impl.argv(path)
	p, err := n.h.Start(string(n.impl), bin, args...)
	if err != nil {
		n.t.Fatal(err)
	}
	n.daemon = p
}

func (n *lb) log() string { return n.daemon.Log() }

func (n *lb) hasVIP() bool {
	if n.vip.IsValid() {
		return n.h.HasAddr(n.vip)
	}
	return n.h.HasAddr(vip)
}

// stats sends SIGUSR2 and returns /tmp/keepalived.stats as the daemon
// writes it. /tmp is shared by every lab host, so the signal and the read
// are serialized and the file must be newer than the signal.
func (n *lb) stats() string {
	n.t.Helper()
	statsMu.Lock()
	defer statsMu.Unlock()
	const file = "/tmp/keepalived.stats"
	sent := time.Now()
	time.Sleep(10 * time.Millisecond) // coarse mtimes
	if err := n.daemon.Signal(syscall.SIGUSR2); err != nil {
		n.t.Fatal(err)
	}
	var out string
	poll(n.t, 5*time.Second, n.String()+" writes "+file, func() bool {
		fi, err := os.Stat(file)
		if err != nil || fi.ModTime().Before(sent) {
			return false
		}
		b, err := os.ReadFile(file)
		out = string(b)
		return err == nil && strings.Contains(out, "VRRP Instance: VI_1") && strings.Contains(out, "Priority Zero:")
	})
	os.Remove(file) // leave the machine's /tmp as it was
	return out
}

var statsMu sync.Mutex

// statsCounter reads one counter of keepalived's stats layout: the
// indented line "name: N" under the section line "section:".
func statsCounter(t *testing.T, stats, section, name string) int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(section) + `:\n(?:    .*\n)*?    ` + regexp.QuoteMeta(name) + `: (\d+)`)
	m := re.FindStringSubmatch(stats)
	if m == nil {
		t.Fatalf("no %q/%q counter in stats:\n%s", section, name, stats)
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

// poll checks cond until it holds, for at most d; it returns how long that took.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for i := 0; ; i++ {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > d || i > 10000 {
			t.Fatalf("after %v: %s did not happen", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pair is a lab with two load balancers and a client.
type pair struct {
	t        *testing.T
	l        *lab.Lab
	lb1, lb2 *lb
	client   *lab.Host
}

func newPair(t *testing.T, i1, i2 impl, withClient bool) *pair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	l := lab.NewT(t)
	p := &pair{t: t, l: l}
	fake := func(name string) string {
		dir := filepath.Join(l.Dir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile("/bin/sleep")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "haproxy")
		if err := os.WriteFile(path, src, 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, c := range []struct {
		dst  **lb
		name string
		addr netip.Prefix
		impl impl
	}{{&p.lb1, "lb1", lb1Addr, i1}, {&p.lb2, "lb2", lb2Addr, i2}} {
		h, err := l.AddHost(c.name, c.addr)
		if err != nil {
			t.Fatal(err)
		}
		*c.dst = &lb{t: t, h: h, impl: c.impl, fake: fake(c.name)}
	}
	if withClient {
		h, err := l.AddHost("client", cliAddr)
		if err != nil {
			t.Fatal(err)
		}
		p.client = h
		// A web-ish responder on both balancers, bound to the VIP (nonlocal
		// bind): it answers the name of the host that holds the VIP.
		for _, n := range []*lb{p.lb1, p.lb2} {
			if _, err := n.h.Start("responder", "socat", "TCP-LISTEN:80,bind="+vip.String()+",reuseaddr,fork", "EXEC:hostname"); err != nil {
				t.Fatal(err)
			}
			poll(t, 5*time.Second, n.h.Name()+" listens on :80", func() bool {
				ok, _ := n.h.Listening("tcp", 80)
				return ok
			})
		}
	}
	return p
}

// start runs the fake haproxy and the daemons on both balancers, lb2's
// stagger after lb1's. It returns when lb1's daemon was started.
//
// Under AH both start as BACKUP, and their master-down timers (3 intervals
// plus a skew of (256-priority)/256 s) differ by 4 ms: started within a few
// ms of each other both expire together, both become MASTER and the lower
// one steps down at the first advert (seen with either program). A second
// of stagger makes lb2 hear lb1's adverts before its own timer fires.
func (p *pair) start(conf1, conf2 []byte, stagger time.Duration) time.Time {
	p.lb1.startHaproxy()
	p.lb2.startHaproxy()
	start := time.Now()
	p.lb1.startDaemon(conf1)
	time.Sleep(stagger)
	p.lb2.startDaemon(conf2)
	return start
}

// waitHolder waits until want holds the VIP and the other balancer does
// not (the overlap right at a handover is allowed), then checks that this
// stays so for one advert interval. It returns the time from since until
// want had the VIP.
func (p *pair) waitHolder(step string, want *lb, since time.Time, limit time.Duration) time.Duration {
	p.t.Helper()
	other := p.lb1
	if want == p.lb1 {
		other = p.lb2
	}
	var took time.Duration
	poll(p.t, limit, step+": VIP on "+want.String(), func() bool {
		if want.hasVIP() {
			took = time.Since(since)
			return true
		}
		return false
	})
	poll(p.t, 5*time.Second, step+": VIP gone from "+other.String(), func() bool { return !other.hasVIP() })
	time.Sleep(time.Second)
	if !want.hasVIP() || other.hasVIP() {
		p.t.Fatalf("%s: one second later the VIP is on %s: %v, on %s: %v; want only on %s", step, want, want.hasVIP(), other, other.hasVIP(), want)
	}
	return took
}

// fetch connects from the client to the VIP's port 80 and returns the
// answering host's name.
func (p *pair) fetch(timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := p.client.DialContext(ctx, "tcp", netip.AddrPortFrom(vip, 80).String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), err
}

// clientReaches checks that the client reaches the VIP on want, through
// its ARP cache (which the new master's gratuitous ARP must update: without
// it the entry still names the old master's MAC for tens of seconds).
func (p *pair) clientReaches(step string, want *lb) {
	p.t.Helper()
	if p.client == nil {
		return
	}
	var got string
	var err error
	poll(p.t, 4*time.Second, step+": client reaches "+want.String()+" through the VIP", func() bool {
		got, err = p.fetch(300 * time.Millisecond)
		return err == nil && got == want.h.Name()
	})
	mac := macOf(p.t, want.h)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := p.client.Run(ctx, "ip", "neigh", "show", vip.String())
	if err != nil {
		p.t.Fatal(err)
	}
	if !strings.Contains(string(out), "lladdr "+mac) {
		p.t.Fatalf("%s: client's ARP entry for %v is %q, want %s's MAC %s", step, vip, strings.TrimSpace(string(out)), want, mac)
	}
}

func macOf(t *testing.T, h *lab.Host) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := h.Run(ctx, "ip", "-br", "link", "show", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		t.Fatalf("%s: ip -br link: %q", h.Name(), out)
	}
	return f[2]
}

// stop sends SIGTERM to n's daemon and waits for it to exit.
func (p *pair) stop(n *lb) time.Time {
	p.t.Helper()
	t0 := time.Now()
	if err := n.daemon.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	return t0
}

func (p *pair) waitExited(n *lb) {
	p.t.Helper()
	poll(p.t, 15*time.Second, n.String()+" exits after SIGTERM", n.daemon.Exited)
}

// count is how many lines of s contain sub.
func count(s, sub string) int {
	c := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			c++
		}
	}
	return c
}

// failLogs shows both daemons' logs when a test failed, or always with
// GK_INTEROP_LOGS=1 (to compare the two programs' words).
func (p *pair) failLogs() {
	p.t.Cleanup(func() {
		if p.t.Failed() || os.Getenv("GK_INTEROP_LOGS") != "" {
			for _, n := range []*lb{p.lb1, p.lb2} {
				if n.daemon != nil {
					p.t.Logf("--- %s log:\n%s", n, lastLines(n.log(), 80))
				}
			}
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestIntegrationInteropSeedAH runs the seed's keepalived.conf (AH) on
// both balancers for each pairing of gkeepalived and keepalived: election,
// failover when haproxy dies on the master, preemption when it comes back,
// and the priority-0 handover when the master's daemon stops; a client
// reaches the VIP on whichever balancer holds it.
func TestIntegrationInteropSeedAH(t *testing.T) {
	// keepalived-keepalived is the reference: the same assertions hold for it.
	for _, c := range []struct{ lb1, lb2 impl }{{gk, kd}, {kd, gk}, {gk, gk}, {kd, kd}} {
		t.Run(fmt.Sprintf("%s-%s", c.lb1, c.lb2), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.lb1, c.lb2, true)
			p.failLogs()
			t0 := p.start(seedConf(t, false), seedConf(t, true), time.Second)

			// AH: both start as BACKUP (keepalived clears state MASTER);
			// lb1 wins at 101+2 against 100+2.
			elect := p.waitHolder("election", p.lb1, t0, 15*time.Second)
			if !strings.Contains(p.lb1.log(), "Initial state master is incompatible with AH authentication - clearing") {
				t.Errorf("%s did not say it clears state MASTER under AH", p.lb1)
			}
			if count(p.lb1.log(), masterLine) != 1 || count(p.lb2.log(), masterLine) != 0 {
				t.Fatalf("election: MASTER entries lb1 %d lb2 %d, want 1 and 0", count(p.lb1.log(), masterLine), count(p.lb2.log(), masterLine))
			}
			p.clientReaches("election", p.lb1)

			t1 := time.Now()
			p.lb1.killHaproxy()
			failover := p.waitHolder("haproxy killed on lb1", p.lb2, t1, 15*time.Second)
			t.Logf("haproxy killed on lb1 at %s, VIP on lb2 at %s", t1.Format("15:04:05.000"), t1.Add(failover).Format("15:04:05.000"))
			p.clientReaches("haproxy killed on lb1", p.lb2)

			t2 := time.Now()
			p.lb1.startHaproxy()
			failback := p.waitHolder("haproxy back on lb1", p.lb1, t2, 15*time.Second)
			p.clientReaches("haproxy back on lb1", p.lb1)

			t3 := p.stop(p.lb1)
			handover := p.waitHolder("SIGTERM to lb1's daemon", p.lb2, t3, 10*time.Second)
			p.waitExited(p.lb1)
			p.clientReaches("SIGTERM to lb1's daemon", p.lb2)
			// The backup needs 3 advert intervals plus its skew without
			// the priority-0 advert; with it only the skew (0.6 s).
			st := p.lb2.stats()
			if got := statsCounter(t, st, "Priority Zero", "Received"); got < 1 {
				t.Errorf("%s counted %d priority-0 adverts after lb1's daemon stopped, want >= 1", p.lb2, got)
			}
			if handover > 2500*time.Millisecond {
				t.Errorf("priority-0 handover took %v, want well under the 3.6 s master-down interval", handover)
			}
			if got := count(p.lb2.log(), masterLine); got != 2 {
				t.Errorf("%s entered MASTER %d times, want 2", p.lb2, got)
			}
			t.Logf("pair lb1=%s lb2=%s AH: election %.2fs, haproxy killed -> VIP on lb2 %.2fs, haproxy back -> VIP on lb1 %.2fs, SIGTERM -> VIP on lb2 %.2fs; the client followed each move",
				c.lb1, c.lb2, elect.Seconds(), failover.Seconds(), failback.Seconds(), handover.Seconds())
		})
	}
}

// TestIntegrationInteropAuthVariants runs the mixed pairs with auth_type
// PASS and with no authentication block: election and failover.
func TestIntegrationInteropAuthVariants(t *testing.T) {
	for _, c := range []struct {
		name     string
		lb1, lb2 impl
		edit     [2]string
	}{
		{"PASS", gk, kd, authPASS},
		{"PASS", kd, gk, authPASS},
		{"none", gk, kd, authNone},
		{"none", kd, gk, authNone},
	} {
		t.Run(fmt.Sprintf("%s-%s-%s", c.name, c.lb1, c.lb2), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.lb1, c.lb2, false)
			p.failLogs()
			t0 := p.start(seedConf(t, false, c.edit), seedConf(t, true, c.edit), time.Second)
			elect := p.waitHolder("election", p.lb1, t0, 15*time.Second)
			if got := count(p.lb2.log(), masterLine); got != 0 {
				t.Fatalf("%s entered MASTER %d times during the election, want 0", p.lb2, got)
			}
			t1 := time.Now()
			p.lb1.killHaproxy()
			failover := p.waitHolder("haproxy killed on lb1", p.lb2, t1, 15*time.Second)
			// "(init)" at start, then once for the failover.
			if got := count(p.lb1.log(), backupLine); got != 2 {
				t.Errorf("%s logged %q %d times, want 2", p.lb1, backupLine, got)
			}
			t.Logf("pair lb1=%s lb2=%s %s: election %.2fs, haproxy killed -> VIP on lb2 %.2fs", c.lb1, c.lb2, c.name, elect.Seconds(), failover.Seconds())
		})
	}
}

// TestIntegrationInteropMismatch runs gkeepalived on lb2 (the lower
// priority) against keepalived on lb1 with a different password or VRID:
// each ignores the other's adverts and, as with two keepalived (the
// reference rows), each is MASTER of its own view and holds the VIP. Had
// gkeepalived accepted lb1's higher-priority adverts it would have stayed
// BACKUP. GK_INTEROP_TCPDUMP=1 logs what tcpdump sees on both balancers.
func TestIntegrationInteropMismatch(t *testing.T) {
	for _, c := range []struct {
		name         string
		lb2          impl
		edit1, edit2 [][2]string
		// what both programs' stats must count, and both logs say
		statsSection, statsName string
		logs                    string
	}{
		{"wrong-password-AH", gk, nil, [][2]string{wrongPass}, "Authentication Errors", "Failure", "invalid IPSEC HMAC-MD5"},
		{"wrong-password-PASS", gk, [][2]string{authPASS}, [][2]string{authPASS, wrongPass}, "Authentication Errors", "Failure", "received an invalid passwd!"},
		{"wrong-vrid", gk, nil, [][2]string{wrongVRID}, "", "", ""},
		{"wrong-password-AH", kd, nil, [][2]string{wrongPass}, "Authentication Errors", "Failure", "invalid IPSEC HMAC-MD5"},
	} {
		t.Run(fmt.Sprintf("%s-keepalived-%s", c.name, c.lb2), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, kd, c.lb2, false)
			p.failLogs()
			if os.Getenv("GK_INTEROP_TCPDUMP") != "" {
				for _, n := range []*lb{p.lb1, p.lb2} {
					td, _ := n.h.Start("tcpdump", "tcpdump", "-p", "-l", "-n", "-i", "eth0", "-tt", "ip proto 51 or ip proto 112")
					t.Cleanup(func() { t.Logf("tcpdump on %s:\n%s", n, td.Log()) })
				}
			}
			t0 := p.start(seedConf(t, false, c.edit1...), seedConf(t, true, c.edit2...), 0)
			for _, n := range []*lb{p.lb1, p.lb2} {
				poll(t, 15*time.Second, n.String()+" is MASTER with the VIP", func() bool {
					return strings.Contains(n.log(), masterLine) && n.hasVIP()
				})
			}
			t.Logf("%s: both MASTER after %.2fs", c.name, time.Since(t0).Seconds())
			// Three more advert intervals: nothing changes.
			time.Sleep(3500 * time.Millisecond)
			for _, n := range []*lb{p.lb1, p.lb2} {
				l := n.log()
				if got := count(l, masterLine); got != 1 {
					t.Errorf("%s entered MASTER %d times, want 1", n, got)
				}
				if i := strings.LastIndex(l, backupLine); i > strings.Index(l, masterLine) {
					t.Errorf("%s went back to BACKUP: %s", n, l[i:])
				}
				if !n.hasVIP() {
					t.Errorf("%s lost the VIP", n)
				}
			}
			st1, st2 := p.lb1.stats(), p.lb2.stats()
			for _, s := range []struct {
				n        *lb
				st, peer string
			}{{p.lb1, st1, st2}, {p.lb2, st2, st1}} {
				if got := statsCounter(t, s.st, "Advertisements", "Received"); got != 0 {
					t.Errorf("%s accepted %d adverts from its peer, want 0", s.n, got)
				}
				if c.statsSection == "" {
					continue
				}
				// Every advert of the peer is refused and counted; the
				// two stats are read a moment apart, so one or two
				// adverts may be in flight.
				got := statsCounter(t, s.st, c.statsSection, c.statsName)
				sent := statsCounter(t, s.peer, "Advertisements", "Sent")
				if got < 1 || got < sent-2 {
					t.Errorf("%s counted %d %s/%s for the %d adverts its peer sent; stats:\n%s\npeer's:\n%s", s.n, got, c.statsSection, c.statsName, sent, s.st, s.peer)
				}
				if !strings.Contains(s.n.log(), c.logs) {
					t.Errorf("%s did not log %q", s.n, c.logs)
				}
			}
			t.Logf("%s: lb1(keepalived) sent %d adverts, says %q; lb2(%s) sent %d, says %q", c.name,
				statsCounter(t, st1, "Advertisements", "Sent"), firstMatch(p.lb1.log(), dropWords), c.lb2,
				statsCounter(t, st2, "Advertisements", "Sent"), firstMatch(p.lb2.log(), dropWords))
		})
	}
}

// dropWords finds the log lines where either program says it refused an advert.
var dropWords = regexp.MustCompile(`(?i)dropped|invalid|HMAC|VRID|passw|discard|ignor`)

func firstMatch(log string, r *regexp.Regexp) string {
	for _, l := range strings.Split(log, "\n") {
		if r.MatchString(l) {
			return l
		}
	}
	return ""
}

// TestIntegrationInteropUnicastPeerTTL: lb2 (gkeepalived, or keepalived as
// the reference row) checks its unicast peer with check_unicast_src and
// max_ttl 254, while keepalived on lb1 sends its unicast adverts with TTL
// 255: both programs drop every advert with keepalived's line, so lb2 also
// becomes MASTER. With max_ttl 255 (min_ttl 250) the adverts pass and lb2
// stays BACKUP. Before, gkeepalived read min_ttl/max_ttl and
// check_unicast_src and ignored them.
func TestIntegrationInteropUnicastPeerTTL(t *testing.T) {
	unicast := func(src, peer string) [2]string {
		return [2]string{"virtual_router_id 51", "virtual_router_id 51\n    unicast_src_ip " + src + "\n    unicast_peer {\n        " + peer + "\n    }\n    check_unicast_src"}
	}
	for _, c := range []struct {
		lb2      impl
		peer     string
		dropping bool
	}{
		{gk, "192.168.1.80 max_ttl 254", true},
		{kd, "192.168.1.80 max_ttl 254", true},
		{gk, "192.168.1.80 min_ttl 250 max_ttl 255", false},
	} {
		t.Run(fmt.Sprintf("keepalived-%s-%s", c.lb2, strings.ReplaceAll(c.peer[13:], " ", "_")), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, kd, c.lb2, false)
			p.failLogs()
			// lb1 starts first, so that it wins the first election.
			t0 := p.start(seedConf(t, false, unicast("192.168.1.80", "192.168.1.81")), seedConf(t, true, unicast("192.168.1.81", c.peer)), time.Second)
			poll(t, 15*time.Second, "lb1 is MASTER with the VIP", func() bool {
				return strings.Contains(p.lb1.log(), masterLine) && p.lb1.hasVIP()
			})
			const drop = "(VI_1) TTL/HL 255 not in range 0 - 254"
			if !c.dropping {
				// Three advert intervals after lb1 took over: lb2 accepted them.
				time.Sleep(3500 * time.Millisecond)
				if strings.Contains(p.lb2.log(), masterLine) || p.lb2.hasVIP() || strings.Contains(p.lb2.log(), "TTL/HL") {
					t.Fatalf("%s became MASTER or dropped adverts although lb1's are in its TTL range:\n%s", p.lb2, lastLines(p.lb2.log(), 20))
				}
				return
			}
			poll(t, 15*time.Second, p.lb2.String()+" is MASTER too, dropping lb1's adverts", func() bool {
				return strings.Contains(p.lb2.log(), masterLine) && p.lb2.hasVIP()
			})
			if !strings.Contains(p.lb2.log(), drop) {
				t.Errorf("%s did not log %q:\n%s", p.lb2, drop, lastLines(p.lb2.log(), 20))
			}
			t.Logf("%s: both MASTER after %.2fs", p.lb2, time.Since(t0).Seconds())
		})
	}
}

// TestIntegrationInteropLowerPrioGARPs: lb1 is MASTER and keeps hearing
// lower priority adverts from lb2 (keepalived, which drops lb1's adverts
// with max_ttl 254 and so stays MASTER). lb1, gkeepalived or keepalived as
// the reference row, answers the first with garp_lower_prio_repeat 2 GARPs
// (after the one of garp_master_repeat 1 on becoming MASTER): both
// programs log the same GARP lines. Before,
// gkeepalived read garp_lower_prio_* and sent none.
func TestIntegrationInteropLowerPrioGARPs(t *testing.T) {
	lb1Edits := [][2]string{
		authNone,
		{"virtual_router_id 51", "virtual_router_id 51\n    unicast_src_ip 192.168.1.80\n    unicast_peer {\n        192.168.1.81\n    }\n" +
			"    garp_master_delay 0\n    garp_master_repeat 1\n    garp_lower_prio_repeat 2\n    garp_lower_prio_delay 0"},
	}
	lb2Edits := [][2]string{
		authNone,
		{"virtual_router_id 51", "virtual_router_id 51\n    unicast_src_ip 192.168.1.81\n    unicast_peer {\n        192.168.1.80 max_ttl 254\n    }\n    check_unicast_src"},
	}
	for _, lb1 := range []impl{gk, kd} {
		t.Run(string(lb1)+"-keepalived", func(t *testing.T) {
			t.Parallel()
			p := newPair(t, lb1, kd, false)
			p.failLogs()
			p.start(seedConf(t, false, lb1Edits...), seedConf(t, true, lb2Edits...), time.Second)
			lower := regexp.MustCompile(`\(VI_1\) Received advert from 192\.168\.1\.81 with lower priority 102, ours 103`)
			const garp = "Sending gratuitous ARP on eth0 for 192.168.1.84"
			// The GARPs before the first lower priority advert, and those
			// after it up to the next advert line (or so far).
			windows := func() (before, after int, closed bool) {
				log := p.lb1.log()
				m := lower.FindStringIndex(log)
				if m == nil {
					return 0, 0, false
				}
				rest := log[m[1]:]
				next := strings.Index(rest, "Received advert")
				closed = next >= 0
				if !closed {
					next = len(rest)
				}
				return strings.Count(log[:m[0]], garp), strings.Count(rest[:next], garp), closed
			}
			poll(t, 20*time.Second, p.lb1.String()+" MASTER answering a lower priority advert", func() bool {
				_, after, closed := windows()
				return closed || after >= 2
			})
			before, after, _ := windows()
			// One on becoming MASTER, two per lower priority advert.
			if before != 1 || after != 2 {
				t.Errorf("%s logged %d GARPs on becoming MASTER (want 1) and %d for the lower priority advert (want 2):\n%s", p.lb1, before, after, lastLines(p.lb1.log(), 40))
			}
		})
	}
}
