// Package scaleout builds the scale-out shapes of the README's "Scaling out"
// in a lab: ECMP anycast (three balancers announcing one address over BGP
// to an FRR router that spreads flows over them) and active/active VRRP
// (two VIPs, each node master for one).
package scaleout

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"hapair/integration/lab"
	"hapair/integration/peers"
)

// The ECMP lab's addresses. Everything shares the lab's bridge; the router
// has an address in the balancers' network and one in the clients', and
// forwards between them.
var (
	Anycast     = netip.MustParseAddr("10.0.0.100")
	RouterLB    = netip.MustParsePrefix("10.0.1.1/24")
	RouterCl    = netip.MustParsePrefix("10.0.2.1/24")
	ClientNet   = netip.MustParsePrefix("10.0.2.0/24")
	RouterAS    = 65000
	BalancerAS  = 65001
	NumClients  = 8
	balancerIPs = []string{"10.0.1.11", "10.0.1.12", "10.0.1.13"}
	webIPs      = []string{"10.0.1.21", "10.0.1.22"}
)

// BalancerAddr is balancer i's (0-based) address.
func BalancerAddr(i int) netip.Addr { return netip.MustParseAddr(balancerIPs[i]) }

// WebAddr is web server i's (0-based) address.
func WebAddr(i int) netip.Addr { return netip.MustParseAddr(webIPs[i]) }

// ClientAddr is the client host's address i (0-based).
func ClientAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 2, byte(101 + i)}) }

// FRRConf is the router's configuration: eBGP with each balancer
// (timers 1 s / 3 s, connect retry 1 s), ECMP over up to 8 paths.
func FRRConf() string {
	var b strings.Builder
	fmt.Fprintf(&b, "frr defaults traditional\nhostname router\nlog stdout informational\n!\nrouter bgp %d\n bgp router-id %s\n", RouterAS, RouterLB.Addr())
	b.WriteString(" no bgp ebgp-requires-policy\n no bgp network import-check\n")
	b.WriteString(" neighbor LB peer-group\n")
	fmt.Fprintf(&b, " neighbor LB remote-as %d\n neighbor LB timers 1 3\n neighbor LB timers connect 1\n neighbor LB advertisement-interval 0\n", BalancerAS)
	for i := range balancerIPs {
		fmt.Fprintf(&b, " neighbor %s peer-group LB\n", balancerIPs[i])
	}
	b.WriteString(" address-family ipv4 unicast\n  maximum-paths 8\n exit-address-family\n!\n")
	return b.String()
}

// StartRouter starts FRR (zebra and bgpd) on h as the
// router: IP forwarding, per-flow (L4) multipath hashing, no ICMP
// redirects (clients and balancers share the bridge, and the router must
// stay in the path).
func StartRouter(ctx context.Context, l *lab.Lab, h *lab.Host, conf string) error {
	if _, err := h.Run(ctx, "sh", "-ec", "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 "+
		"net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0; mkdir -p /run/frr; chown frr:frr /run/frr"); err != nil {
		return err
	}
	dir := filepath.Join(l.Dir(), "router-frr")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := filepath.Join(dir, "frr.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return err
	}
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return err
	}
	daemons := []struct{ name, conf string }{{"zebra", empty}, {"bgpd", cfg}}
	for _, d := range daemons {
		if _, err := h.Start(d.name, "/usr/lib/frr/"+d.name, "-f", d.conf, "-i", "/run/frr/"+d.name+".pid"); err != nil {
			return err
		}
		// bgpd talks to zebra through its socket: wait for zebra.
		if err := waitFile(ctx, h, "/run/frr/"+d.name+".vty", 10*time.Second); err != nil {
			return err
		}
	}
	return nil
}

func waitFile(ctx context.Context, h *lab.Host, name string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", h.Pid1(), name)); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no %s after %s", h.Name(), name, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Nexthops lists the router's kernel next hops for the anycast address
// (`ip route show 10.0.0.100` inside the router), sorted as the kernel has
// them.
func Nexthops(ctx context.Context, h *lab.Host) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(h.Pid1()), "-n", "--",
		"ip", "-4", "route", "show", Anycast.String()).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ip route on %s: %w: %s", h.Name(), err, out)
	}
	var hops []netip.Addr
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "via" {
			if a, err := netip.ParseAddr(f[i+1]); err == nil {
				hops = append(hops, a)
			}
		}
	}
	return hops, nil
}

// WaitNexthops polls (every 10 ms, up to d) until the router's next hops
// for the anycast address are exactly want, in any order. It returns when
// that was first seen.
func WaitNexthops(ctx context.Context, h *lab.Host, want []netip.Addr, d time.Duration) (time.Time, error) {
	deadline := time.Now().Add(d)
	var last []netip.Addr
	for {
		hops, err := Nexthops(ctx, h)
		if err != nil {
			return time.Time{}, err
		}
		if sameSet(hops, want) {
			return time.Now(), nil
		}
		last = hops
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("router's next hops for %s are %v after %s, want %v", Anycast, last, d, want)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func sameSet(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[netip.Addr]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x] == 0 {
			return false
		}
		seen[x]--
	}
	return true
}

// Answer is one request of a client to the anycast address.
type Answer struct {
	Src        netip.Addr // the client address it came from
	Sent, Done time.Time
	Web        string // the web server's name ("web01")
	Balancer   string // the balancer's address, as the web server saw it
	Err        error
}

// Get sends one HTTP/1.0 request to the anycast address from src (a
// client address of h, a fresh source port: a new flow for the router's
// hash), bounded by timeout. The web servers answer "webNN BALANCER".
func Get(ctx context.Context, h *lab.Host, src netip.Addr, timeout time.Duration) Answer {
	a := Answer{Src: src, Sent: time.Now()}
	defer func() { a.Done = time.Now() }()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialFrom(ctx, h, src, netip.AddrPortFrom(Anycast, 80))
	if err != nil {
		a.Err = err
		a.Done = time.Now()
		return a
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: anycast\r\n\r\n"); err != nil {
		a.Err, a.Done = err, time.Now()
		return a
	}
	b, err := io.ReadAll(io.LimitReader(conn, 1<<16))
	a.Done = time.Now()
	if err != nil {
		a.Err = err
		return a
	}
	s := string(b)
	if !strings.HasPrefix(s, "HTTP/1.1 200") && !strings.HasPrefix(s, "HTTP/1.0 200") {
		a.Err = fmt.Errorf("answer %q", firstLine(s))
		return a
	}
	_, body, _ := strings.Cut(s, "\r\n\r\n")
	f := strings.Fields(body)
	if len(f) != 2 {
		a.Err = fmt.Errorf("body %q", body)
		return a
	}
	a.Web, a.Balancer = f[0], f[1]
	return a
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

// dialFrom connects from src inside h's network namespace: the socket is
// made on a thread switched into it with setns(2), as `nsenter -n` does.
func dialFrom(ctx context.Context, h *lab.Host, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", h.Pid1()))
	if err != nil {
		return nil, err
	}
	defer target.Close()
	runtime.LockOSThread()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns: %w", err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	conn, derr := d.DialContext(ctx, "tcp", dst.String())
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// This thread stays in the host's namespace: keep it locked so
		// the runtime discards it.
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return conn, derr
}

// Prober sends requests without pause from every client address in turn
// (each a new flow), several at once, and keeps every answer.
type Prober struct {
	mu      sync.Mutex
	answers []Answer
	stop    chan struct{}
	once    sync.Once
	done    sync.WaitGroup
}

// StartProber starts workers goroutines, each sending a request every
// every, from the client addresses in turn, each bounded by timeout.
func StartProber(ctx context.Context, h *lab.Host, workers int, every, timeout time.Duration) *Prober {
	p := &Prober{stop: make(chan struct{})}
	for w := 0; w < workers; w++ {
		p.done.Add(1)
		go func(w int) {
			defer p.done.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for i := w; ; i += workers {
				a := Get(ctx, h, ClientAddr(i%NumClients), timeout)
				p.mu.Lock()
				p.answers = append(p.answers, a)
				p.mu.Unlock()
				select {
				case <-p.stop:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}(w)
	}
	return p
}

// Stop stops the workers (each finishes its request) and returns every answer.
func (p *Prober) Stop() []Answer {
	p.once.Do(func() { close(p.stop) })
	p.done.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Answer(nil), p.answers...)
}

// GproxyConf is the balancers' gproxy configuration: the anycast address
// on port 80, `balance source` over the two web servers (every balancer
// has the same servers, so a client's address picks the same server on
// each), health checks every second.
func GproxyConf() string {
	return fmt.Sprintf(`global
	daemon
	maxconn 2000

defaults
	mode http
	timeout connect 2s
	timeout client 5s
	timeout server 5s

listen web
	bind %s:80
	balance source
	server web01 %s:80 check inter 1s
	server web02 %s:80 check inter 1s
`, Anycast, webIPs[0], webIPs[1])
}

// KeepalivedConf is balancer i's gkeepalived configuration: the bgp block
// announcing the anycast address to the router while the tracked checks
// pass. script: the seed's `killall -0 haproxy` every second; process: a
// vrrp_track_process on haproxy (the kernel's process events, no polling).
func KeepalivedConf(i int, script, process bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id lb%d\n    enable_script_security\n    script_user root\n}\n\n", i+1)
	b.WriteString("vrrp_script chk_haproxy {\n    script \"/usr/bin/killall -0 haproxy\"\n    interval 1\n    fall 1\n    rise 1\n}\n\n")
	if process {
		b.WriteString("vrrp_track_process haproxy {\n    process haproxy\n}\n\n")
	}
	fmt.Fprintf(&b, "bgp {\n    router_id %s\n    local_as %d\n", balancerIPs[i], BalancerAS)
	fmt.Fprintf(&b, "    neighbor %s {\n        remote_as %d\n        hold_time 3\n        keepalive 1\n        connect_retry 1\n", RouterLB.Addr(), RouterAS)
	fmt.Fprintf(&b, "    }\n    announce {\n        %s/32\n    }\n", Anycast)
	if script {
		b.WriteString("    track_script {\n        chk_haproxy\n    }\n")
	}
	if process {
		b.WriteString("    track_process {\n        haproxy\n    }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// ECMP is the ECMP shape running in a lab: an FRR router, three balancers
// each running gproxy and gkeepalived (bgp block), two nginx web servers
// answering "webNN BALANCER", a client with NumClients addresses.
type ECMP struct {
	Lab         *lab.Lab
	Bins        string // directory of the gproxy and gkeepalived binaries
	Router      *lab.Host
	Client      *lab.Host
	LBs         []*lab.Host
	Proxies     []*peers.Service
	Keepaliveds []*peers.Service
}

// Balancer roles: each is gated by the seed's track script (killall -0
// haproxy, every second). vrrp_track_process cannot gate them here: the
// kernel's process connector answers only in the machine's own network
// namespace (keepalived fails the same way: "Failed to set/clear process
// event listen - errno 111").
var (
	lbScript  = []bool{true, true, true}
	lbProcess = []bool{false, false, false}
)

// StartECMP builds the ECMP shape in l with the binaries in bins.
func StartECMP(ctx context.Context, l *lab.Lab, bins string) (*ECMP, error) {
	e := &ECMP{Lab: l, Bins: bins}
	var err error
	if e.Router, err = l.AddHost("router", RouterLB, RouterCl); err != nil {
		return nil, err
	}
	var cl []netip.Prefix
	for i := 0; i < NumClients; i++ {
		cl = append(cl, netip.PrefixFrom(ClientAddr(i), 24))
	}
	if e.Client, err = l.AddHost("client", cl...); err != nil {
		return nil, err
	}
	if _, err := e.Client.Run(ctx, "ip", "route", "add", "default", "via", RouterCl.Addr().String()); err != nil {
		return nil, err
	}
	for i := range webIPs {
		h, err := l.AddHost(fmt.Sprintf("web%d", i+1), netip.PrefixFrom(WebAddr(i), 24))
		if err != nil {
			return nil, err
		}
		// nginx puts the balancer's address (the connection's source)
		// after its name.
		if _, err := peers.Nginx(ctx, l, h, fmt.Sprintf("web%02d $remote_addr", i+1)); err != nil {
			return nil, err
		}
	}
	if err := StartRouter(ctx, l, e.Router, FRRConf()); err != nil {
		return nil, err
	}
	for i := range balancerIPs {
		h, err := l.AddHost(fmt.Sprintf("lb%d", i+1), netip.PrefixFrom(BalancerAddr(i), 24))
		if err != nil {
			return nil, err
		}
		if _, err := h.Run(ctx, "sh", "-ec", fmt.Sprintf("ip addr add %s/32 dev lo; ip route add %s via %s",
			Anycast, ClientNet, RouterLB.Addr())); err != nil {
			return nil, err
		}
		e.LBs = append(e.LBs, h)
		e.Proxies = append(e.Proxies, nil)
		e.Keepaliveds = append(e.Keepaliveds, nil)
		if err := e.StartProxy(ctx, i); err != nil {
			return nil, err
		}
		if err := e.StartKeepalived(ctx, i); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// StartProxy (re)starts gproxy on balancer i.
func (e *ECMP) StartProxy(ctx context.Context, i int) error {
	d := peers.Haproxy(filepath.Join(e.Bins, "gproxy"))
	d.ListenTCP = []int{80}
	s, err := peers.StartDaemon(ctx, e.Lab, e.LBs[i], d, "haproxy.cfg", []byte(GproxyConf()))
	e.Proxies[i] = s
	return err
}

// StartKeepalived (re)starts gkeepalived on balancer i.
func (e *ECMP) StartKeepalived(ctx context.Context, i int) error {
	conf := KeepalivedConf(i, lbScript[i], lbProcess[i])
	s, err := peers.StartDaemon(ctx, e.Lab, e.LBs[i], peers.Keepalived(filepath.Join(e.Bins, "gkeepalived")), "keepalived.conf", []byte(conf))
	e.Keepaliveds[i] = s
	return err
}

// Since returns the answers to requests sent at or after t.
func (p *Prober) Since(t time.Time) []Answer {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Answer
	for _, a := range p.answers {
		if !a.Sent.Before(t) {
			out = append(out, a)
		}
	}
	return out
}

// Event is what the clients saw after one event (a kill, a stop, a link
// down): from the event to the last failed request, and how many failed.
type Event struct {
	Name        string
	Detection   string        // what withdrew the route
	Converged   time.Duration // event -> the router's next hops changed
	Outage      time.Duration // event -> the end of the last failed request (0: none failed)
	Failed, All int
}

// Measure summarises the answers to requests sent from at to end.
func Measure(name, detection string, answers []Answer, at, converged, end time.Time) Event {
	e := Event{Name: name, Detection: detection, Converged: converged.Sub(at)}
	for _, a := range answers {
		if a.Sent.Before(at) || a.Sent.After(end) {
			continue
		}
		e.All++
		if a.Err != nil {
			e.Failed++
			if d := a.Done.Sub(at); d > e.Outage {
				e.Outage = d
			}
		}
	}
	return e
}
