package vrrp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// lab is two private network namespaces joined by a veth pair:
// A (vethA, 192.168.1.80/24, fe80::a) and B (vethB, 192.168.1.81/24,
// fe80::b). Nothing in it can reach the machine's own network.
type lab struct {
	a, b     netns.NsHandle
	ifA, ifB int
}

var (
	labA   = netip.MustParseAddr("192.168.1.80")
	labB   = netip.MustParseAddr("192.168.1.81")
	labA6  = netip.MustParseAddr("fe80::a")
	labB6  = netip.MustParseAddr("fe80::b")
	labVIP = netip.MustParseAddr("192.168.1.84")
)

// inNS runs f on a thread switched to ns. The thread is never unlocked,
// so it dies with the goroutine and never carries the namespace elsewhere.
func inNS(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// newNS creates a network namespace and returns its handle.
func newNS() (netns.NsHandle, error) {
	var h netns.NsHandle
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded
		var err error
		h, err = netns.New()
		errc <- err
	}()
	return h, <-errc
}

func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	l := &lab{}
	var err error
	if l.a, err = newNS(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.a.Close() })
	if l.b, err = newNS(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.b.Close() })
	// Equivalent to: ip link add vethA type veth peer name vethB;
	// ip link set vethB netns B.
	err = inNS(l.a, func() error {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "vethA"}, PeerName: "vethB"}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("add veth: %w", err)
		}
		peer, err := netlink.LinkByName("vethB")
		if err != nil {
			return err
		}
		return netlink.LinkSetNsFd(peer, int(l.b))
	})
	if err != nil {
		t.Fatal(err)
	}
	setup := func(name string, v4, v6 netip.Addr, idx *int) func() error {
		return func() error {
			link, err := netlink.LinkByName(name)
			if err != nil {
				return err
			}
			lo, err := netlink.LinkByName("lo")
			if err != nil {
				return err
			}
			// Equivalent to: ip addr add 192.168.1.8x/24 dev vethX;
			// ip addr add fe80::x/64 dev vethX nodad; ip link set vethX up.
			for _, p := range []string{v4.String() + "/24", v6.String() + "/64"} {
				a, err := netlink.ParseAddr(p)
				if err != nil {
					return err
				}
				a.Flags = 0x02 // IFA_F_NODAD: usable at once
				if err := netlink.AddrAdd(link, a); err != nil {
					return fmt.Errorf("%s: add %s: %w", name, p, err)
				}
			}
			if err := netlink.LinkSetUp(lo); err != nil {
				return err
			}
			*idx = link.Attrs().Index
			return netlink.LinkSetUp(link)
		}
	}
	if err := inNS(l.a, setup("vethA", labA, labA6, &l.ifA)); err != nil {
		t.Fatal(err)
	}
	if err := inNS(l.b, setup("vethB", labB, labB6, &l.ifB)); err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) for the veth carrier and the IPv6 multicast state.
	time.Sleep(200 * time.Millisecond)
	return l
}

// listen opens a RawConn inside ns.
func (l *lab) listen(t *testing.T, ns netns.NsHandle, cfg Config) *RawConn {
	t.Helper()
	var c *RawConn
	err := inNS(ns, func() (err error) {
		c, err = Listen(cfg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// receiveOne waits (bounded) for a datagram that Check accepts with e.
func receiveOne(t *testing.T, c Conn, e Expect) *Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		r, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		m, err := Check(r, e)
		if err != nil {
			t.Logf("dropped: %v", err)
			continue
		}
		return m
	}
}

func TestIntegrationConn(t *testing.T) {
	l := newLab(t)
	key := NewKey("supersecret")
	tests := []struct {
		name     string
		version  int
		auth     AuthType
		unicast  bool
		src, dst netip.Addr // dst: the peer in unicast mode
	}{
		{"v2 multicast none", 2, AuthNone, false, labA, labB},
		{"v2 multicast PASS", 2, AuthPass, false, labA, labB},
		{"v2 multicast AH", 2, AuthAH, false, labA, labB},
		{"v3 multicast", 3, AuthNone, false, labA, labB},
		{"v2 unicast AH", 2, AuthAH, true, labA, labB},
		{"v3 unicast", 3, AuthNone, true, labA, labB},
		{"v3 IPv6 multicast", 3, AuthNone, false, labA6, labB6},
		{"v3 IPv6 unicast", 3, AuthNone, true, labA6, labB6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ah := tc.auth == AuthAH
			sender := l.listen(t, l.a, Config{IfIndex: l.ifA, Src: tc.src, Unicast: tc.unicast, AH: ah})
			receiver := l.listen(t, l.b, Config{IfIndex: l.ifB, Src: tc.dst, Unicast: tc.unicast, AH: ah})
			vips := []netip.Addr{labVIP}
			if tc.src.Is6() {
				vips = []netip.Addr{netip.MustParseAddr("2001:db8::84")}
			}
			a := Advertisement{Version: tc.version, Type: 1, VRID: 51, Priority: 103, AuthType: tc.auth, AdvertInt: time.Second, Addresses: vips}
			enc := &Encoder{Src: tc.src, Key: key, Unicast: tc.unicast, Seq: new(SeqCounter)}
			dst := GroupIPv4
			switch {
			case tc.unicast:
				dst = tc.dst
			case tc.src.Is6():
				dst = GroupIPv6
			}
			e := Expect{VRID: 51, Version: tc.version, AuthType: tc.auth, Key: key, Seq: new(SeqCounter),
				AdvertInt: time.Second, Unicast: tc.unicast, VIPs: vips}
			// Send a few, in case the first is lost to a link still coming up.
			done := make(chan struct{})
			var wg sync.WaitGroup
			defer wg.Wait()
			defer close(done)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					out, err := enc.Encode(&a, dst)
					if err != nil {
						t.Error(err)
						return
					}
					if err := sender.Send(out[0], dst); err != nil {
						t.Errorf("send: %v", err)
						return
					}
					select {
					case <-done:
						return
					case <-time.After(200 * time.Millisecond):
					}
				}
			}()
			m := receiveOne(t, receiver, e)
			if m.Src != tc.src || m.Dst != dst || m.Priority != 103 || m.Version != tc.version {
				t.Errorf("message %+v", m)
			}
			if m.TTL != 255 {
				t.Errorf("TTL/hop limit %d, want 255", m.TTL)
			}
			if ah && m.Seq == 0 {
				t.Error("AH sequence number 0")
			}
		})
	}

	t.Run("receive ends on cancel and close", func(t *testing.T) {
		c := l.listen(t, l.b, Config{IfIndex: l.ifB, Src: labB})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := c.Receive(ctx); errc <- err }()
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("after cancel: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Receive did not return after cancel")
		}
		go func() { _, err := c.Receive(context.Background()); errc <- err }()
		time.Sleep(50 * time.Millisecond)
		c.Close()
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("after close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Receive did not return after Close")
		}
	})
}

// syncBuffer collects a process's output for polling.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const keepalivedConf = `global_defs {
    router_id gotest
}
vrrp_instance VI_AH {
    state BACKUP
    interface vethB
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type AH
        auth_pass supersecret
    }
    virtual_ipaddress {
        192.168.1.84/24
    }
}
vrrp_instance VI_V3 {
    state BACKUP
    interface vethB
    virtual_router_id 52
    version 3
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.168.1.85/24
    }
}
vrrp_instance VI_V6 {
    state BACKUP
    interface vethB
    virtual_router_id 53
    version 3
    priority 100
    advert_int 1
    virtual_ipaddress {
        2001:db8::84/64
    }
}
`

// TestIntegrationKeepalived runs the real keepalived 2.2.7 in namespace B
// (one AH instance, VRID 51, and one VRRPv3 instance, VRID 52) and our Conns
// in namespace A: we must verify its adverts (ICV, sequence, v3 checksum),
// it must accept ours (it yields to our higher priority), and its
// priority-0 adverts on SIGTERM must pass our checks.
func TestIntegrationKeepalived(t *testing.T) {
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatalf("keepalived not installed (apt-get install keepalived): %v", err)
	}
	l := newLab(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(keepalivedConf), 0o644); err != nil {
		t.Fatal(err)
	}
	connAH := l.listen(t, l.a, Config{IfIndex: l.ifA, Src: labA, AH: true})
	connV3 := l.listen(t, l.a, Config{IfIndex: l.ifA, Src: labA})
	connV6 := l.listen(t, l.a, Config{IfIndex: l.ifA, Src: labA6})

	// nsenter into B through our own descriptor of its namespace.
	cmd := exec.Command("nsenter", fmt.Sprintf("--net=/proc/%d/fd/%d", os.Getpid(), int(l.b)),
		bin, "-n", "-l", "-D", "-P", "-f", conf,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(func() {
		stop()
		// The VRRP child, should it have outlived its parent.
		if b, err := os.ReadFile(filepath.Join(dir, "vrrp.pid")); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if t.Failed() || os.Getenv("VRRP_SHOW_LOG") != "" {
			t.Logf("keepalived output:\n%s", log.String())
		}
	})

	key := NewKey("supersecret")
	seq := new(SeqCounter) // our VI_AH's one counter, as in keepalived
	expAH := Expect{VRID: 51, Version: 2, AuthType: AuthAH, Key: key, Seq: seq, AdvertInt: time.Second, VIPs: []netip.Addr{labVIP}}
	expV3 := Expect{VRID: 52, Version: 3, AdvertInt: time.Second, VIPs: []netip.Addr{netip.MustParseAddr("192.168.1.85")}}
	expV6 := Expect{VRID: 53, Version: 3, AdvertInt: time.Second, VIPs: []netip.Addr{netip.MustParseAddr("2001:db8::84")}}

	// One goroutine reads each Conn; the test goroutine checks and sends,
	// so the sequence counter is used from one goroutine only.
	type rx struct {
		r Received
		e *Expect
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rxc := make(chan rx, 64)
	for _, c := range []struct {
		conn Conn
		e    *Expect
	}{{connAH, &expAH}, {connV3, &expV3}, {connV6, &expV6}} {
		go func() {
			for {
				r, err := c.conn.Receive(ctx)
				if err != nil {
					return
				}
				select {
				case rxc <- rx{r, c.e}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var drops []string
	reencoded := 0
	// next returns the next advert of keepalived that passes our checks,
	// after checking that our encoder reproduces its bytes exactly from
	// the decoded fields (IP header, AH and ICV, v3 checksum; over IPv6
	// the message with the kernel's checksum).
	next := func(deadline time.Time) (*Message, bool) {
		for {
			select {
			case x := <-rxc:
				m, err := Check(x.r, *x.e)
				if err != nil {
					drops = append(drops, err.Error())
					continue
				}
				if x.r.Src.Is6() {
					b, err := m.Advertisement.Marshal(m.Src, m.Dst)
					if err != nil || !bytes.Equal(b, x.r.Packet) {
						t.Errorf("re-encoding keepalived's IPv6 advert (%v):\n got %x\nwant %x", err, b, x.r.Packet)
					}
					reencoded++
					return m, false
				}
				d, err := ParseIPv4(x.r.Packet)
				if err != nil {
					t.Fatalf("ParseIPv4 after Check: %v", err)
				}
				again := IPv4Datagram{TOS: TOS, ID: d.ID, TTL: TTL, Src: d.Src, Dst: d.Dst, SPI: SPIFor(d.Src), Seq: d.Seq, Advert: d.Advert}
				b, err := again.Marshal(key, false)
				if err != nil || !bytes.Equal(b, x.r.Packet) {
					t.Errorf("re-encoding keepalived's advert (%v):\n got %x\nwant %x", err, b, x.r.Packet)
				}
				reencoded++
				return m, x.e == &expAH
			case <-time.After(time.Until(deadline)):
				return nil, false
			}
		}
	}

	// Phase 1: keepalived becomes master (3 x 1 s + skew) and advertises.
	deadline := time.Now().Add(15 * time.Second)
	seen := map[uint8]int{}
	for seen[51] < 3 || seen[52] < 3 || seen[53] < 3 {
		m, _ := next(deadline)
		if m == nil {
			t.Fatalf("keepalived adverts accepted by VRID: %v; drops: %q", seen, drops)
		}
		if (m.Src != labB && !m.Src.IsLinkLocalUnicast()) || m.Priority != 100 || m.TTL != 255 {
			t.Errorf("advert %+v", m)
		}
		seen[m.VRID]++
	}
	t.Logf("phase 1: %v adverts accepted, AH counter %d, drops %d", seen, seq.Value(), len(drops))
	if len(drops) != 0 {
		t.Errorf("dropped keepalived adverts: %q", drops)
	}

	// Phase 2: we advertise priority 150 on both VRIDs; keepalived must
	// accept ours and yield.
	encAH := &Encoder{Src: labA, Key: key, Seq: seq}
	encV3 := &Encoder{Src: labA}
	encV6 := &Encoder{Src: labA6}
	adV6 := Advertisement{Version: 3, Type: 1, VRID: 53, Priority: 150, AdvertInt: time.Second, Addresses: expV6.VIPs}
	adAH := Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 150, AuthType: AuthAH, AdvertInt: time.Second, Addresses: []netip.Addr{labVIP}}
	adV3 := Advertisement{Version: 3, Type: 1, VRID: 52, Priority: 150, AdvertInt: time.Second, Addresses: expV3.VIPs}
	send := func() {
		out, err := encAH.Encode(&adAH, GroupIPv4)
		if err != nil {
			t.Fatal(err)
		}
		if err := connAH.Send(out[0], GroupIPv4); err != nil {
			t.Fatal(err)
		}
		if out, err = encV3.Encode(&adV3, GroupIPv4); err != nil {
			t.Fatal(err)
		}
		if err := connV3.Send(out[0], GroupIPv4); err != nil {
			t.Fatal(err)
		}
		if out, err = encV6.Encode(&adV6, GroupIPv6); err != nil {
			t.Fatal(err)
		}
		if err := connV6.Send(out[0], GroupIPv6); err != nil {
			t.Fatal(err)
		}
	}
	yielded := func() bool {
		s := log.String()
		return strings.Contains(s, "(VI_AH) Master received advert from 192.168.1.80 with higher priority 150, ours 100") &&
			strings.Contains(s, "(VI_V3) Master received advert from 192.168.1.80 with higher priority 150, ours 100") &&
			strings.Contains(s, "(VI_V6) Master received advert from fe80::a with higher priority 150, ours 100")
	}
	deadline = time.Now().Add(10 * time.Second)
	for !yielded() {
		if time.Now().After(deadline) {
			t.Fatalf("keepalived did not yield to our priority 150 adverts")
		}
		send()
		// Keep receiving (and syncing the counter) while we advertise.
		next(time.Now().Add(time.Second))
	}
	// As backup it stays silent while we advertise: nothing from it for 2 s.
	drops = nil
	quiet := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(quiet) {
		send()
		if m, _ := next(time.Now().Add(time.Second)); m != nil && m.Priority != 0 {
			// Adverts already queued when it yielded are fine; a fresh one
			// after the first second means it did not stay backup.
			if time.Until(quiet) < 1500*time.Millisecond {
				t.Errorf("keepalived still advertising after yielding: %+v", m)
			}
		}
	}
	if strings.Contains(log.String(), "IPSEC-AH : invalid") || strings.Contains(log.String(), "Invalid VRRPv3 checksum") {
		t.Errorf("keepalived rejected our adverts:\n%s", log.String())
	}

	// Phase 3: we go quiet; keepalived takes over again (its AH counter
	// now follows ours), then SIGTERM makes it send priority 0.
	deadline = time.Now().Add(15 * time.Second)
	back := map[uint8]bool{}
	for !back[51] || !back[52] || !back[53] {
		m, _ := next(deadline)
		if m == nil {
			t.Fatalf("keepalived did not take over again; drops %q", drops)
		}
		if m.Priority == 100 {
			back[m.VRID] = true
		}
	}
	// A master receiving a lower-priority AH advert syncs its counter to
	// ours + 1 and answers at once with ours + 2 ("forcing new election").
	adLow := adAH
	adLow.Priority = 50
	synced := false
	syncDeadline := time.Now().Add(10 * time.Second)
	for try := 0; try < 3 && !synced && time.Now().Before(syncDeadline); {
		// Send right after one of its VRID 51 adverts, so that no advert of
		// its own crosses ours (it would make ours a replay).
		m, _ := next(syncDeadline)
		if m == nil || m.VRID != 51 {
			continue
		}
		try++
		out, err := encAH.Encode(&adLow, GroupIPv4)
		if err != nil {
			t.Fatal(err)
		}
		ours := seq.Value()
		if err := connAH.Send(out[0], GroupIPv4); err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(1500 * time.Millisecond)
		for !synced {
			m, _ := next(until)
			if m == nil {
				break
			}
			if m.VRID == 51 && m.Seq == ours+2 {
				synced = true
			}
		}
	}
	if !synced {
		t.Errorf("keepalived did not answer our lower-priority AH advert with our sequence number + 2")
	}
	// Its log line may trail the advert through the pipe: poll briefly.
	for logDeadline := time.Now().Add(3 * time.Second); !strings.Contains(log.String(), "(VI_AH) IPSEC-AH : Syncing seq_num - Increment seq"); {
		if time.Now().After(logDeadline) {
			t.Errorf("keepalived did not log its sequence sync")
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	deadline = time.Now().Add(10 * time.Second)
	zero := map[uint8]bool{}
	for !zero[51] || !zero[52] || !zero[53] {
		m, _ := next(deadline)
		if m == nil {
			t.Fatalf("no priority-0 advert on SIGTERM: %v; drops %q", zero, drops)
		}
		if m.Priority == 0 {
			zero[m.VRID] = true
		}
	}
	if len(drops) != 0 {
		t.Errorf("dropped keepalived adverts: %q", drops)
	}
	t.Logf("keepalived accepted ours, and its priority-0 adverts verified; AH counter %d; %d adverts re-encoded byte for byte", seq.Value(), reencoded)
}
