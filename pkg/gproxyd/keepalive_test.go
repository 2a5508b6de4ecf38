package gproxyd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// TestIntegrationTCPKeepAliveLikeHaproxy: TCP keep-alive on the proxy's
// sockets as haproxy 2.6 sets it. Without `option tcpka`/`clitcpka`
// haproxy sends no keep-alive probes to clients; a -Ws worker serves
// sockets it inherits from the master, and Go turns keep-alive on (15 s
// probes) for connections accepted on an inherited socket, which gproxy
// must undo. With `option tcpka` and clitcpka-idle/srvtcpka-idle both
// sides probe after the configured idle time; `option clitcpka` alone
// keeps the system's idle time (net.ipv4.tcp_keepalive_time), not Go's. Checked with `ss -o` (the
// "keepalive" timer of the proxy's side of the client connection and of
// its connection to the server, rounded up to 10 s) for tcp and http
// binds, before and after a reload, with both proxies under -Ws.
func TestIntegrationTCPKeepAliveLikeHaproxy(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("ss"); err != nil {
		t.Fatalf("needs ss (iproute2): %v", err)
	}
	scenario := func(bin string) []string {
		be := echoBackend(t, "web01")
		beKA := echoBackend(t, "web02")
		tcpAddr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		kaAddr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		httpAddr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		ckaAddr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		cfg := writeConfig(t, fmt.Sprintf(`defaults
    timeout connect 1s
    timeout client 5m
    timeout server 5m
listen t
    mode tcp
    bind %s
    server s %s
listen ka
    mode tcp
    option tcpka
    clitcpka-idle 30
    srvtcpka-idle 1m
    srvtcpka-intvl 5s
    srvtcpka-cnt 3
    bind %s
    server s %s
listen h
    mode http
    bind %s
    http-request return status 200
listen cka
    mode http
    option clitcpka
    bind %s
    http-request return status 200
`, tcpAddr, be, kaAddr, beKA, httpAddr, ckaAddr))
		sock := filepath.Join(t.TempDir(), "m.sock")
		cmd, out := startGproxyBin(t, bin, "-Ws", "-S", sock, "-f", cfg)
		r := &masterRun{t: t, sock: sock, names: map[int]string{}}
		_, first := procs(r.waitProc(`(?m)^\d+\s+worker`))
		for _, a := range []string{tcpAddr, kaAddr, httpAddr, ckaAddr} {
			waitListening(t, a)
		}
		var got []string
		probe := func(phase string) {
			for _, c := range []struct{ name, addr, server string }{{"tcp", tcpAddr, be}, {"tcpka", kaAddr, beKA}, {"http", httpAddr, ""}, {"clitcpka", ckaAddr, ""}} {
				conn, err := net.DialTimeout("tcp", c.addr, 2*time.Second)
				if err != nil {
					t.Fatalf("%s: %v\n%s", bin, err, out)
				}
				// The proxy has accepted (and connected) once it answers.
				if c.server == "" {
					fmt.Fprintf(conn, "GET / HTTP/1.1\r\nhost: x\r\n\r\n")
				}
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				b := make([]byte, 64)
				_, _ = conn.Read(b)
				line := fmt.Sprintf("%s %s: client side %s", phase, c.name, timers(t, "sport", c.addr))
				if c.server != "" {
					line += ", server side " + timers(t, "dport", c.server)
				}
				got = append(got, line)
				conn.Close()
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
		t.Errorf("TCP keep-alive timers of the proxy's sockets differ:\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(h, "\n"), strings.Join(g, "\n"))
	}
	for _, want := range []string{"start tcp: client side none, server side none", "start tcpka: client side keepalive 30s, server side keepalive 60s",
		"start http: client side none", "reload clitcpka: client side keepalive system's idle time"} {
		if !strings.Contains(strings.Join(g, "\n"), want) {
			t.Errorf("gproxy: no %q in\n%s", want, strings.Join(g, "\n"))
		}
	}
}

var kaTimer = regexp.MustCompile(`timer:\(keepalive,(?:(\d+)min)?(?:(\d+)sec)?(?:(\d+)ms)?`)

// timers is what `ss -o` shows of the proxy's side of the established
// connections with dir (sport or dport) = addr's port: "keepalive N s"
// (rounded up to 10 s) when the socket sends probes, else "none".
func timers(t *testing.T, dir, addr string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ss", "-Htno", "state", "established", "( "+dir+" = :"+port+" )").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) == "" {
		return "no connection"
	}
	m := kaTimer.FindStringSubmatch(string(out))
	if m == nil {
		return "none"
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	secs := atoi(m[1])*60 + atoi(m[2])
	if m[3] != "" {
		secs++
	}
	if secs >= 600 {
		// ss shows long timers in whole minutes: compared to the
		// system's idle time, within two minutes.
		b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_keepalive_time")
		if sys := atoi(strings.TrimSpace(string(b))); err == nil && secs > sys-120 && secs <= sys {
			return "keepalive system's idle time"
		}
	}
	return fmt.Sprintf("keepalive %ds", (secs+9)/10*10)
}
