package scaleout

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/integration/lab"
	"hapair/integration/peers"
)

// The shared-tables lab runs conf/peers as written: the seed's pair (VIP
// 192.168.1.84) with the addresses of the active/active lab, inside the
// lab's namespaces only.
var (
	stVIP = netip.MustParseAddr("192.168.1.84")
	// A and B make their entries on lb1, C and D on lb2 (the backup), G and
	// H on lb2 as the master while lb1's proxy is down; E and F are new
	// clients after each failover.
	stClients = []netip.Prefix{
		netip.MustParsePrefix("192.168.1.100/24"), netip.MustParsePrefix("192.168.1.101/24"),
		netip.MustParsePrefix("192.168.1.102/24"), netip.MustParsePrefix("192.168.1.103/24"),
		netip.MustParsePrefix("192.168.1.104/24"), netip.MustParsePrefix("192.168.1.105/24"),
		netip.MustParsePrefix("192.168.1.106/24"), netip.MustParsePrefix("192.168.1.107/24"),
	}
	stLimit = 10 // conf/peers: deny_status 429 if sc_http_req_rate(0) gt 10
)

func readPeersConf(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../conf/peers", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stAnswer is one HTTP/1.0 request from a client address: the status, and
// for a 200 the web server that answered ("web01").
type stAnswer struct {
	code int
	web  string
	err  error
	done time.Time
}

func stGet(ctx context.Context, h *lab.Host, src netip.Addr, dst netip.Addr, timeout time.Duration) (a stAnswer) {
	defer func() { a.done = time.Now() }()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialFrom(ctx, h, src, netip.AddrPortFrom(dst, 80))
	if err != nil {
		return stAnswer{err: err}
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: vip\r\n\r\n"); err != nil {
		return stAnswer{err: err}
	}
	b, err := io.ReadAll(io.LimitReader(conn, 1<<16))
	if err != nil {
		return stAnswer{err: err}
	}
	s := string(b)
	f := strings.Fields(firstLine(s))
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return stAnswer{err: fmt.Errorf("answer %q", firstLine(s))}
	}
	a.code, _ = strconv.Atoi(f[1])
	if a.code == 200 {
		_, body, _ := strings.Cut(s, "\r\n\r\n")
		if bf := strings.Fields(body); len(bf) == 2 {
			a.web = bf[0]
		}
	}
	return a
}

var stEntryRe = regexp.MustCompile(`^0x[0-9a-f]+: key=(\S+) use=\d+ exp=\d+ (.*)$`)

// showTable reads `show table webfarm` from the node's stats socket
// (conf/peers: /run/haproxy/admin.sock, reached through the host's root),
// as key -> data field -> value.
func showTable(h *lab.Host) (map[string]map[string]string, error) {
	c, err := net.DialTimeout("unix", fmt.Sprintf("/proc/%d/root/run/haproxy/admin.sock", h.Pid1()), time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "show table webfarm\n"); err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		m := stEntryRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := map[string]string{}
		for _, kv := range strings.Fields(m[2]) {
			k, v, _ := strings.Cut(kv, "=")
			fields[k] = v
		}
		out[m[1]] = fields
	}
	return out, sc.Err()
}

// waitEntry polls h's table every 5 ms (up to d) until the entry for key
// satisfies ok; it returns when that was seen.
func waitEntry(ctx context.Context, h *lab.Host, key netip.Addr, d time.Duration, ok func(map[string]string) bool) (time.Time, error) {
	deadline := time.Now().Add(d)
	var last map[string]string
	var lastErr error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		tab, err := showTable(h)
		if err == nil {
			if e, found := tab[key.String()]; found && ok(e) {
				return time.Now(), nil
			}
			last = tab[key.String()]
		}
		lastErr = err
		time.Sleep(5 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("%s's table: entry %s is %v after %s (%v)", h.Name(), key, last, d, lastErr)
}

func rateOver(limit int) func(map[string]string) bool {
	return func(e map[string]string) bool {
		n, err := strconv.Atoi(e["http_req_rate(10000)"])
		return err == nil && n > limit
	}
}

func hasServer(e map[string]string) bool { return e["server_id"] != "" && e["server_id"] != "0" }

// TestIntegrationSharedTables is the seed's pair with conf/peers, mixed:
// one node runs gproxy + gkeepalived, the other Debian's haproxy 2.6 +
// keepalived 2.2.7, their stick table shared by haproxy's peers protocol;
// it runs twice, ours on lb1 (the master) then ours on lb2 (the backup).
// A client rate limited (429) or pinned to a web server on one node shows
// in the other node's `show table` within a second, both ways; when lb1's
// proxy dies the VIP moves to lb2, which still limits and pins those
// clients; when it comes back, lb1 (its table learnt from lb2) takes the
// VIP back and does the same.
func TestIntegrationSharedTables(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	t.Parallel()
	bins := buildOurs(t)
	t.Run("ours on lb1", func(t *testing.T) { sharedTables(t, bins, true) })
	t.Run("ours on lb2", func(t *testing.T) { sharedTables(t, bins, false) })
}

// sharedTables runs the shared-tables lab with gproxy + gkeepalived on
// lb1 (oursFirst) or on lb2.
func sharedTables(t *testing.T, bins string, oursFirst bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	l := lab.NewT(t)
	client, err := l.AddHost("client", stClients...)
	if err != nil {
		t.Fatal(err)
	}
	cA, cB, cC, cD := stClients[0].Addr(), stClients[1].Addr(), stClients[2].Addr(), stClients[3].Addr()
	cG, cH := stClients[6].Addr(), stClients[7].Addr()
	for i, p := range aaWeb {
		h, err := l.AddHost(fmt.Sprintf("web%d", i+1), p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := peers.Nginx(ctx, l, h, fmt.Sprintf("web%02d $remote_addr", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	proxy := []peers.Daemon{peers.Haproxy(filepath.Join(bins, "gproxy")), peers.Haproxy("/usr/sbin/haproxy")}
	vrrp := []peers.Daemon{peers.Keepalived(filepath.Join(bins, "gkeepalived")), peers.Keepalived("/usr/sbin/keepalived")}
	px := []string{"gproxy", "haproxy 2.6"}
	ka := []string{"gkeepalived", "keepalived 2.2.7"}
	if !oursFirst {
		proxy[0], proxy[1] = proxy[1], proxy[0]
		vrrp[0], vrrp[1] = vrrp[1], vrrp[0]
		px[0], px[1] = px[1], px[0]
		ka[0], ka[1] = ka[1], ka[0]
	}
	var lbs []*lab.Host
	startProxy := func(i int) {
		d := proxy[i]
		d.ListenTCP = []int{80}
		if _, err := peers.StartDaemon(ctx, l, lbs[i], d, "haproxy.cfg", readPeersConf(t, fmt.Sprintf("haproxy-lb%d.cfg", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range aaLB {
		h, err := l.AddHost(fmt.Sprintf("lb%d", i+1), p)
		if err != nil {
			t.Fatal(err)
		}
		lbs = append(lbs, h)
		if _, err := h.Run(ctx, "mkdir", "-p", "/run/haproxy"); err != nil {
			t.Fatal(err)
		}
		startProxy(i)
		if _, err := peers.StartDaemon(ctx, l, h, vrrp[i], "keepalived.conf", readPeersConf(t, fmt.Sprintf("keepalived-lb%d.conf", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	lbAddr := func(i int) netip.Addr { return aaLB[i].Addr() }

	// held polls until the VIP is on node i alone.
	held := func(i int, d time.Duration) error {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if vipHolder(lbs, stVIP) == i {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("VIP %s on lb%d after %s, want lb%d", stVIP, vipHolder(lbs, stVIP)+1, d, i+1)
	}
	if err := held(0, 20*time.Second); err != nil {
		t.Fatalf("at start: %v", err)
	}

	// limit sends requests from src to dst until one is refused with
	// 429; it returns how many were served before and when the 429 came.
	limit := func(src, dst netip.Addr) (int, time.Time) {
		t.Helper()
		for served := 0; served < 3*stLimit; {
			a := stGet(ctx, client, src, dst, 2*time.Second)
			switch {
			case a.err != nil:
				t.Fatalf("%s -> %s: %v", src, dst, a.err)
			case a.code == 429:
				return served, a.done
			case a.code == 200:
				served++
			default:
				t.Fatalf("%s -> %s: status %d", src, dst, a.code)
			}
		}
		t.Fatalf("%s -> %s: never limited", src, dst)
		return 0, time.Time{}
	}
	// burst sends n more (refused) requests from src: a refused request
	// counts in http_req_rate too, and a rate well over the limit stays
	// over it for some seconds whatever the counter's period boundaries.
	burst := func(src, dst netip.Addr, n int) {
		t.Helper()
		for k := 0; k < n; k++ {
			if a := stGet(ctx, client, src, dst, 2*time.Second); a.err != nil || a.code != 429 {
				t.Fatalf("%s -> %s: %d %v, want 429", src, dst, a.code, a.err)
			}
		}
	}
	// pin sends n requests from src to dst; all must be served by the same
	// web server, which it returns with when the last answer came.
	pin := func(src, dst netip.Addr, n int) (string, time.Time) {
		t.Helper()
		var web string
		var at time.Time
		for k := 0; k < n; k++ {
			a := stGet(ctx, client, src, dst, 2*time.Second)
			if a.err != nil || a.code != 200 {
				t.Fatalf("%s -> %s: %d %v", src, dst, a.code, a.err)
			}
			if web != "" && a.web != web {
				t.Fatalf("%s -> %s: served by %s then %s: not pinned", src, dst, web, a.web)
			}
			web, at = a.web, a.done
		}
		return web, at
	}

	type figure struct {
		what  string
		delay time.Duration
	}
	var figs []figure
	replicated := func(what string, from time.Time, h *lab.Host, key netip.Addr, ok func(map[string]string) bool) {
		t.Helper()
		seen, err := waitEntry(ctx, h, key, 5*time.Second, ok)
		if err != nil {
			t.Fatal(err)
		}
		d := seen.Sub(from)
		figs = append(figs, figure{what, d})
		if d > time.Second {
			t.Errorf("%s: seen on %s after %s, want within 1 s", what, h.Name(), d)
		}
	}

	// 1. Entries made on lb1 (the master) through the VIP.
	n, at := limit(cA, stVIP)
	if n != stLimit {
		t.Errorf("client A: %d requests served before the 429, want %d", n, stLimit)
	}
	replicated(fmt.Sprintf("rate limit made on %s (lb1) -> %s (lb2)", px[0], px[1]), at, lbs[1], cA, rateOver(stLimit))
	burst(cA, stVIP, 2*stLimit)
	webB, at := pin(cB, stVIP, 3)
	replicated(fmt.Sprintf("persistence made on %s (lb1) -> %s (lb2)", px[0], px[1]), at, lbs[1], cB, hasServer)

	// 2. Entries made on lb2 (the backup) through its own address.
	n, at = limit(cC, lbAddr(1))
	if n != stLimit {
		t.Errorf("client C: %d requests served before the 429, want %d", n, stLimit)
	}
	replicated(fmt.Sprintf("rate limit made on %s (lb2) -> %s (lb1)", px[1], px[0]), at, lbs[0], cC, rateOver(stLimit))
	burst(cC, lbAddr(1), 2*stLimit)
	webD, at := pin(cD, lbAddr(1), 3)
	replicated(fmt.Sprintf("persistence made on %s (lb2) -> %s (lb1)", px[1], px[0]), at, lbs[0], cD, hasServer)
	t.Logf("pinned: B on %s, D on %s", webB, webD)
	limited := []netip.Addr{cA, cC}
	pinned := map[netip.Addr]string{cB: webB, cD: webD}

	// honoured checks, through the VIP on the new master, that the
	// limited clients are still limited and the pinned ones still pinned.
	// The limited ones keep sending (every 50 ms) until the VIP answers
	// from node i: that is the outage; their requests keep their rates up.
	honoured := func(i int, at time.Time, fresh netip.Addr) (time.Duration, int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		failed := 0
		var outage time.Duration
		for {
			if time.Now().After(deadline) {
				t.Fatalf("VIP not answered from lb%d within 20 s (on lb%d)", i+1, vipHolder(lbs, stVIP)+1)
			}
			a := stGet(ctx, client, cA, stVIP, 500*time.Millisecond)
			if a.err != nil {
				failed++
			} else if vipHolder(lbs, stVIP) == i {
				outage = a.done.Sub(at)
				if a.code != 429 {
					t.Errorf("client A through lb%d: status %d, want 429 (limit not honoured)", i+1, a.code)
				}
				break
			}
			for _, c := range limited[1:] {
				stGet(ctx, client, c, stVIP, 500*time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, c := range limited[1:] {
			if a := stGet(ctx, client, c, stVIP, 2*time.Second); a.err != nil || a.code != 429 {
				t.Errorf("client %s through lb%d: %d %v, want 429 (limit not honoured)", c, i+1, a.code, a.err)
			}
		}
		for src, want := range pinned {
			if web, _ := pin(src, stVIP, 3); web != want {
				t.Errorf("client %s through lb%d: served by %s, pinned to %s", src, i+1, web, want)
			}
		}
		// A new client is served (the 429s are not the node's only answer).
		if a := stGet(ctx, client, fresh, stVIP, 2*time.Second); a.err != nil || a.code != 200 {
			t.Errorf("a new client through lb%d: %d %v, want 200", i+1, a.code, a.err)
		}
		return outage, failed
	}

	type move struct {
		what   string
		outage time.Duration
		failed int
	}
	var moves []move
	// 3. lb1's proxy dies: the VIP moves to lb2, which honours them.
	kill := time.Now()
	if err := lbs[0].Signal(ctx, "haproxy", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	outage, failed := honoured(1, kill, stClients[4].Addr())
	moves = append(moves, move{fmt.Sprintf("%s killed on lb1: the VIP moves to lb2 (%s, %s)", px[0], px[1], ka[1]), outage, failed})
	if t.Failed() {
		t.FailNow()
	}
	// New entries on lb2 as the master, while lb1's proxy is down: lb1
	// can only learn them when it comes back.
	if n, _ := limit(cG, stVIP); n != stLimit {
		t.Errorf("client G: %d requests served before the 429, want %d", n, stLimit)
	}
	burst(cG, stVIP, 2*stLimit)
	webH, _ := pin(cH, stVIP, 3)
	limited = append(limited, cG)
	pinned[cH] = webH

	// 4. lb1's proxy comes back: it learns the table from lb2, takes the
	// VIP back (higher priority) and honours them too.
	back := time.Now()
	startProxy(0)
	outage, failed = honoured(0, back, stClients[5].Addr())
	moves = append(moves, move{fmt.Sprintf("%s restarted on lb1: it learns the table from lb2 and takes the VIP back", px[0]), outage, failed})

	var b strings.Builder
	b.WriteString("\n| replication | seen in the other node's `show table` after |\n|---|---|\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "| %s | %s |\n", f.what, f.delay.Round(100*time.Microsecond))
	}
	b.WriteString("\n| failover | event -> client A answered (429) by the new master | failed requests of client A (every 50 ms, 0.5 s timeout) |\n|---|---|---|\n")
	for _, m := range moves {
		fmt.Fprintf(&b, "| %s | %s | %d |\n", m.what, m.outage.Round(time.Millisecond), m.failed)
	}
	t.Log(b.String())
}
