package gproxyd_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationNoClientKeepAliveLikeHaproxy: without `option clitcpka`
// haproxy sends no TCP keep-alive probes to clients. A -Ws worker serves
// sockets it inherits from the master, and Go turns keep-alive on (15 s
// probes) for connections accepted on an inherited socket; gproxy must
// turn it off again. Checked with `ss -o` (a "timer:(keepalive" on the
// proxy's side of the connection) for a tcp and an http bind, before and
// after a reload, with both proxies.
func TestIntegrationNoClientKeepAliveLikeHaproxy(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("ss"); err != nil {
		t.Fatalf("needs ss (iproute2): %v", err)
	}
	scenario := func(bin string) []string {
		be := echoBackend(t, "web01")
		tcpAddr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		httpAddr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		cfg := writeConfig(t, fmt.Sprintf(`defaults
    timeout connect 1s
    timeout client 30s
    timeout server 30s
listen t
    mode tcp
    bind %s
    server s %s
listen h
    mode http
    bind %s
    http-request return status 200
`, tcpAddr, be, httpAddr))
		sock := filepath.Join(t.TempDir(), "m.sock")
		cmd, out := startGproxyBin(t, bin, "-Ws", "-S", sock, "-f", cfg)
		r := &masterRun{t: t, sock: sock, names: map[int]string{}}
		_, first := procs(r.waitProc(`(?m)^\d+\s+worker`))
		waitListening(t, tcpAddr)
		waitListening(t, httpAddr)
		var got []string
		probe := func(phase string) {
			for _, addr := range []string{tcpAddr, httpAddr} {
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					t.Fatalf("%s: %v\n%s", bin, err, out)
				}
				// The proxy has accepted it once it answers.
				if addr == tcpAddr {
					_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
					b := make([]byte, 6)
					_, _ = c.Read(b)
				} else {
					fmt.Fprintf(c, "GET / HTTP/1.1\r\nhost: x\r\n\r\n")
					_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
					b := make([]byte, 64)
					_, _ = c.Read(b)
				}
				got = append(got, fmt.Sprintf("%s %s: %s", phase, map[bool]string{true: "tcp", false: "http"}[addr == tcpAddr], timers(t, addr)))
				c.Close()
			}
		}
		probe("start")
		_ = cmd.Process.Signal(syscall.SIGUSR2)
		// The new worker alone serves once the old one (idle) left.
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, ws := procs(mcli(t, sock, "show proc\n"))
			if len(ws) == 1 && len(first) == 1 && ws[0] != first[0] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: workers %v after the reload (before: %v)", bin, ws, first)
			}
			time.Sleep(50 * time.Millisecond)
		}
		probe("reload")
		return got
	}
	h := scenario(haproxytest.Bin)
	g := scenario(gproxyBin)
	t.Logf("haproxy: %v", h)
	if strings.Join(h, "\n") != strings.Join(g, "\n") {
		t.Errorf("TCP timers on the proxy's side of client connections differ:\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(h, "\n"), strings.Join(g, "\n"))
	}
	for _, l := range g {
		if strings.Contains(l, "keepalive") {
			t.Errorf("gproxy: %s", l)
		}
	}
}

// timers is what `ss -o` shows of the proxy's side of the established
// connections on addr: "keepalive" when the socket sends probes, else
// "none".
func timers(t *testing.T, addr string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ss", "-Htno", "state", "established", "( sport = :"+port+" )").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) == "" {
		return "no connection"
	}
	if strings.Contains(string(out), "timer:(keepalive") {
		return "keepalive"
	}
	return "none"
}
