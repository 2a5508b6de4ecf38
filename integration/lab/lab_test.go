package lab_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/integration/lab"
)

func machineNet(t *testing.T) string {
	t.Helper()
	s, err := lab.MachineSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventually polls cond every 50 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIntegrationLab(t *testing.T) {
	before := machineNet(t)
	l := lab.NewT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	h1, err := l.AddHost("h1", netip.MustParsePrefix("192.168.1.1/24"))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := l.AddHost("h2", netip.MustParsePrefix("192.168.1.2/24"), netip.MustParsePrefix("10.9.0.2/24"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddHost("h1", netip.MustParsePrefix("192.168.1.3/24")); err == nil {
		t.Error("AddHost accepted a second host h1")
	}

	t.Run("addresses", func(t *testing.T) {
		for _, c := range []struct {
			h    *lab.Host
			ip   string
			want bool
		}{{h1, "192.168.1.1", true}, {h1, "192.168.1.2", false}, {h2, "192.168.1.2", true}, {h2, "10.9.0.2", true}} {
			if got := c.h.HasAddr(netip.MustParseAddr(c.ip)); got != c.want {
				t.Errorf("%s.HasAddr(%s) = %v; want %v", c.h.Name(), c.ip, got, c.want)
			}
		}
		ps, err := h2.Addresses(ctx)
		if err != nil || !slices.Contains(ps, netip.MustParsePrefix("10.9.0.2/24")) || !slices.Contains(ps, netip.MustParsePrefix("127.0.0.1/8")) {
			t.Errorf("h2.Addresses() = %v, %v", ps, err)
		}
		if got := h2.Addr(); got != netip.MustParseAddr("192.168.1.2") {
			t.Errorf("h2.Addr() = %s", got)
		}
		out, err := h1.Run(ctx, "sysctl", "-n", "net.ipv4.ip_nonlocal_bind")
		if err != nil || strings.TrimSpace(string(out)) != "1" {
			t.Errorf("ip_nonlocal_bind in h1 = %q, %v; want 1", out, err)
		}
		out, err = h1.Run(ctx, "hostname")
		if err != nil || strings.TrimSpace(string(out)) != "h1" {
			t.Errorf("hostname in h1 = %q, %v", out, err)
		}
		out, err = h1.Run(ctx, "ip", "route", "show", "default")
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("h1 has a default route %q (%v): the lab must not reach outside", out, err)
		}
		out, err = h1.Run(ctx, "getent", "hosts", "h1")
		if err != nil || !strings.HasPrefix(string(out), "192.168.1.1 ") {
			t.Errorf("getent hosts h1 in h1 = %q, %v; want 192.168.1.1", out, err)
		}
	})

	t.Run("tcp across the bridge", func(t *testing.T) {
		srv, err := h2.Start("http", "socat", "TCP-LISTEN:80,reuseaddr,fork", "SYSTEM:'echo HTTP/1.0 200 OK; echo; echo from-h2'")
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Kill()
		var body []byte
		eventually(t, 5*time.Second, "GET http://192.168.1.2/ from h1", func() bool {
			code, b, err := h1.Get(ctx, "http://192.168.1.2/", time.Second)
			body = b
			return err == nil && code == 200
		})
		if strings.TrimSpace(string(body)) != "from-h2" {
			t.Errorf("body = %q", body)
		}
		if srv.Pid() <= 1 || srv.OuterPid() == srv.Pid() {
			t.Errorf("pids inside %d outside %d: want a small inner pid distinct from the outer", srv.Pid(), srv.OuterPid())
		}
	})

	// A binary with a distinctive name, so killall sees nothing else.
	sleeper := filepath.Join(l.Dir(), "labsleeper")
	if out, err := exec.Command("cp", "/bin/sleep", sleeper).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}

	t.Run("pid namespaces and reaping", func(t *testing.T) {
		// Daemonized (re-parented to the host's PID 1), as haproxy is.
		if _, err := h1.Run(ctx, "sh", "-c", sleeper+" 300 >/dev/null 2>&1 &"); err != nil {
			t.Fatal(err)
		}
		if !h1.Running(ctx, "labsleeper") {
			t.Fatal("killall -0 labsleeper fails on h1 after starting it")
		}
		if h2.Running(ctx, "labsleeper") {
			t.Fatal("killall -0 labsleeper on h2 sees h1's process")
		}
		if err := h1.Signal(ctx, "labsleeper", syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 3*time.Second, "killed labsleeper reaped on h1", func() bool { return !h1.Running(ctx, "labsleeper") })
	})

	t.Run("Run bounded by ctx", func(t *testing.T) {
		rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer rcancel()
		start := time.Now()
		if _, err := h2.Run(rctx, sleeper, "30"); err == nil {
			t.Fatal("Run of a 30 s sleep returned no error after a 300 ms context")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Run returned after %s", d)
		}
		eventually(t, 3*time.Second, "sleep killed with its context", func() bool { return !h2.Running(ctx, "labsleeper") })
	})

	t.Run("multicast 224.0.0.18 crosses the bridge", func(t *testing.T) {
		got := filepath.Join(l.Dir(), "mcast.out")
		rx, err := h2.Start("mcast-rx", "socat", "-u", "UDP4-RECV:5018,reuseaddr,ip-add-membership=224.0.0.18:eth0", "OPEN:"+got+",creat,append")
		if err != nil {
			t.Fatal(err)
		}
		defer rx.Kill()
		eventually(t, 5*time.Second, "multicast datagram from h1 at h2", func() bool {
			h1.Run(ctx, "sh", "-c", "echo vrrp-like | socat -u - UDP4-DATAGRAM:224.0.0.18:5018,ip-multicast-if=192.168.1.1")
			b, _ := os.ReadFile(got)
			return strings.Contains(string(b), "vrrp-like")
		})
	})

	t.Run("Close kills everything", func(t *testing.T) {
		p, err := h1.Start("sleeper", sleeper, "300")
		if err != nil {
			t.Fatal(err)
		}
		pid1 := h1.Pid1()
		l.Close()
		l.Close() // idempotent
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid1)); err == nil {
			t.Errorf("h1's PID 1 (%d) survives Close", pid1)
		}
		if !p.Exited() {
			t.Error("a started process survives Close")
		}
		if _, err := h1.Start("late", sleeper, "1"); err == nil {
			t.Error("Start after Close succeeded")
		}
	})

	if after := machineNet(t); after != before {
		t.Errorf("the machine's own addresses, routes or links changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
