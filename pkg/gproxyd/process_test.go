package gproxyd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/gproxyd"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
	"hapair/pkg/proxy"
)

// These tests drive the real gproxy binary the way init scripts, systemd
// and operators do, on loopback addresses only.

var gproxyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gproxy-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Installed as the package does: /usr/sbin/haproxy -> gproxy. The
	// daemon must keep the name "haproxy" (keepalived's `killall -0 haproxy`).
	gproxyBin = filepath.Join(dir, "haproxy")
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "gproxy"), "hapair/cmd/gproxy")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building gproxy:", err)
		os.Exit(1)
	}
	if err := os.Symlink("gproxy", gproxyBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// echoBackend answers each connection with its name, then echoes.
func echoBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s\n", name)
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// greet connects, reads the backend's name line and closes.
func greet(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after 10 s", addr)
}

func startGproxy(t *testing.T, args ...string) (*exec.Cmd, *lockedBuf) {
	t.Helper()
	return startGproxyBin(t, gproxyBin, args...)
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCheckSeedConfig(t *testing.T) {
	out, err := exec.Command(gproxyBin, "-c", "-f", "../../conf/haproxy.cfg").CombinedOutput()
	if err != nil {
		t.Fatalf("gproxy -c on the seed's haproxy.cfg: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("output lacks the verdict:\n%s", out)
	}
}

func TestCheckBrokenConfig(t *testing.T) {
	p := writeConfig(t, "global\n    maxconn 10\n\nlisten x\n    bind 127.0.0.1:notaport\n    balance nosuchalgo\n")
	cmd := exec.Command(gproxyBin, "-c", "-f", p)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("exit code %d (%v), want 1\n%s", cmd.ProcessState.ExitCode(), err, out)
	}
	for _, want := range []string{"[ALERT]", "haproxy.cfg:5]", "haproxy.cfg:6]"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "Configuration file is valid") {
		t.Errorf("a broken configuration was called valid:\n%s", out)
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
}

// TestIntegrationDaemonPIDAndStop: -D returns only once the proxy listens,
// the pidfile names the daemon, SIGTERM stops it.
func TestIntegrationDaemonPIDAndStop(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	port := porttest.Free(t)
	pidfile := filepath.Join(t.TempDir(), "haproxy.pid")
	p := writeConfig(t, fmt.Sprintf("global\n    maxconn 100\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind 127.0.0.1:%d\n    server web01 %s\n", port, be))
	out, err := exec.Command(gproxyBin, "-f", p, "-D", "-p", pidfile).CombinedOutput()
	if err != nil {
		t.Fatalf("gproxy -D: %v\n%s", err, out)
	}
	// Listening at once: -D returned after the sockets were bound.
	if got, err := greet(fmt.Sprintf("127.0.0.1:%d", port)); err != nil || got != "web01" {
		t.Fatalf("right after -D returned: %q, %v", got, err)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pidfile %q: %v", b, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if strings.TrimSpace(string(comm)) != "haproxy" {
		t.Fatalf("pid %d is %q, want haproxy", pid, comm)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		// A daemon's parent is init here only if it was reparented; it may
		// stay a zombie of nobody we can reap, so read its state.
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still runs 5 s after SIGTERM", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := greet(fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		t.Fatal("still serving after SIGTERM")
	}
}

// TestIntegrationSoftStopFinishesSessions: SIGUSR1 stops accepting, lets a
// running session finish, then exits.
func TestIntegrationSoftStopFinishesSessions(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	port := porttest.Free(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\nlisten l\n    bind %s\n    server web01 %s\n", addr, be))
	cmd, out := startGproxy(t, "-f", p)
	waitListening(t, addr)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if line, _ := r.ReadString('\n'); strings.TrimSpace(line) != "web01" {
		t.Fatalf("greeting %q", line)
	}
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the listener is closed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting 5 s after SIGUSR1")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The session still works both ways.
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo after SIGUSR1: %q, %v", line, err)
	}
	c.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after soft stop: %v\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("did not exit after its last session ended\n%s", out)
	}
}

// TestIntegrationReloadLosesNothing: a new process started with -sf takes
// the listening sockets over; clients connecting all along see no error and
// a session open on the old process finishes.
func TestIntegrationReloadLosesNothing(t *testing.T) {
	needRoot(t)
	be1 := echoBackend(t, "old")
	be2 := echoBackend(t, "new")
	port := porttest.Free(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := func(be string) string {
		return writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\nlisten l\n    bind %s\n    server s %s\n", addr, be))
	}
	oldCmd, _ := startGproxy(t, "-f", conf(be1))
	waitListening(t, addr)
	long, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	lr := bufio.NewReader(long)
	if line, _ := lr.ReadString('\n'); strings.TrimSpace(line) != "old" {
		t.Fatalf("greeting %q", line)
	}

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 100000 && ctx.Err() == nil; n++ {
				if got, err := greet(addr); err != nil || (got != "old" && got != "new") {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%q %v", got, err))
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	newCmd, newOut := startGproxy(t, "-f", conf(be2), "-sf", strconv.Itoa(oldCmd.Process.Pid))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, err := greet(addr); err == nil && got == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new process never served\n%s", newOut)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	t.Logf("during the reload: %d connections served, %d failed", ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d connections failed during the reload (first: %v)", failed.Load(), firstErr.Load())
	}
	// The old process still serves its session, then exits.
	_ = long.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := long.Write([]byte("still there\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := lr.ReadString('\n'); err != nil || line != "still there\n" {
		t.Fatalf("old session after reload: %q, %v", line, err)
	}
	long.Close()
	done := make(chan error, 1)
	go func() { done <- oldCmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the old process did not exit after its last session")
	}
	_ = newCmd
}

// TestIntegrationFDLimitClamp: the seed's maxconn 20000 under a hard limit
// of 1024 open files starts, clamped, with a message naming the limit, the
// need and the fix. 384 connections fit: 2*384 sockets + 2*96 splice
// pipe descriptors (maxconn/4) + 64 reserved = 1024.
func TestIntegrationFDLimitClamp(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	port := porttest.Free(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := writeConfig(t, fmt.Sprintf("global\n    maxconn 20000\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    server web01 %s\n", addr, be))
	out := &lockedBuf{}
	cmd := exec.Command("prlimit", "--nofile=1024:1024", gproxyBin, "-f", p)
	cmd.Stdout, cmd.Stderr = out, out
	haproxytest.StartProc(t, cmd)
	waitListening(t, addr)
	if got, err := greet(addr); err != nil || got != "web01" {
		t.Fatalf("clamped proxy: %q, %v", got, err)
	}
	for _, want := range []string{"[WARNING]", "maxconn 20000", "50064", "hard limit is 1024", "serving at most 384", "LimitNOFILE=50064"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}
}

// TestIntegrationDropsPrivileges: `user nobody` takes effect after binding
// a privileged port.
func TestIntegrationDropsPrivileges(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	addr := "127.0.0.1:81"
	if ln, err := net.Listen("tcp", addr); err != nil {
		t.Fatalf("port 81 is taken on this machine: %v", err)
	} else {
		ln.Close()
	}
	p := writeConfig(t, fmt.Sprintf("global\n    user nobody\n    group nogroup\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    server web01 %s\n", addr, be))
	cmd, out := startGproxy(t, "-f", p)
	waitListening(t, addr)
	if got, err := greet(addr); err != nil || got != "web01" {
		t.Fatalf("%q, %v\n%s", got, err, out)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") {
			f := strings.Fields(line)
			if len(f) < 3 || f[1] != "65534" || f[2] != "65534" {
				t.Fatalf("after start: %s, want nobody (65534)", line)
			}
			return
		}
	}
	t.Fatal("no Uid line in /proc status")
}

// TestIntegrationMasterWorkerReload: -Ws (Debian's unit) reloads on SIGUSR2
// without refusing connections; a broken config keeps the old worker.
func TestIntegrationMasterWorkerReload(t *testing.T) {
	needRoot(t)
	be1 := echoBackend(t, "v1")
	be2 := echoBackend(t, "v2")
	port := porttest.Free(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := writeConfig(t, "")
	write := func(body string) {
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    server s %s\n"
	write(fmt.Sprintf(tmpl, addr, be1))
	sock := filepath.Join(t.TempDir(), "master.sock")
	cmd, out := startGproxy(t, "-Ws", "-f", cfg, "-p", filepath.Join(t.TempDir(), "pid"), "-S", sock)
	waitListening(t, addr)
	if got, _ := greet(addr); got != "v1" {
		t.Fatalf("before reload: %q", got)
	}
	write("listen broken\n    bind nope\n")
	_ = cmd.Process.Signal(syscall.SIGUSR2)
	// The master CLI says when the reload has failed (two signals close
	// together may arrive as one).
	r := &masterRun{t: t, sock: sock, names: map[int]string{}}
	r.waitProc(`\[failed: 1\]`)
	if got, err := greet(addr); got != "v1" {
		t.Fatalf("after a broken reload: %q, %v\n%s", got, err, out)
	}
	write(fmt.Sprintf(tmpl, addr, be2))
	_ = cmd.Process.Signal(syscall.SIGUSR2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := greet(addr)
		if err != nil {
			t.Fatalf("connection failed during the reload: %v\n%s", err, out)
		}
		if got == "v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served v2\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "[ALERT]") {
		t.Errorf("the broken reload reported no error:\n%s", out)
	}
}

// TestIntegrationGlobalPidfileAndQuiet: the global section's `pidfile` is
// -p when the command line has none, and `quiet` silences -c's verdict, as
// in haproxy 2.6 (which prints nothing for `-c` with `quiet`).
func TestIntegrationGlobalPidfileAndQuiet(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	port := porttest.Free(t)
	pidfile := filepath.Join(t.TempDir(), "global.pid")
	p := writeConfig(t, fmt.Sprintf("global\n    quiet\n    pidfile %s\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind 127.0.0.1:%d\n    server web01 %s\n", pidfile, port, be))
	out, err := exec.Command(gproxyBin, "-c", "-f", p).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("gproxy -c with global quiet: %v, output %q (want none)", err, out)
	}
	out, err = exec.Command(gproxyBin, "-f", p, "-D").CombinedOutput()
	if err != nil {
		t.Fatalf("gproxy -D: %v\n%s", err, out)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("global pidfile not written: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pidfile %q: %v", b, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if got, err := greet(fmt.Sprintf("127.0.0.1:%d", port)); err != nil || got != "web01" {
		t.Fatalf("daemon named in the pidfile does not serve: %q, %v", got, err)
	}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if strings.TrimSpace(string(comm)) != "haproxy" {
		t.Fatalf("pidfile names pid %d (%q), not the daemon", pid, comm)
	}
}

// waitOutput polls a process's output until re matches it and returns the
// first submatch.
func waitOutput(t *testing.T, out *lockedBuf, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[len(m)-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("output never matched %s:\n%s", re, out)
	return ""
}

// waitGone polls until pid no longer exists (its parent reaped it).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still exists after 10 s", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIntegrationMasterSignalsDuringSoftStop: during a soft stop the current
// worker can exit before an old one that still has a session; a further
// signal to the master (another SIGUSR1, a reload, then SIGTERM) must reach
// the old worker and stop the master cleanly, not dereference the worker
// that is gone (the master panicked here).
func TestIntegrationMasterSignalsDuringSoftStop(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	addr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
	cfg := writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nlisten l\n    bind %s\n    server s %s\n", addr, be))
	cmd, out := startGproxy(t, "-W", "-f", cfg)
	first, err := strconv.Atoi(waitOutput(t, out, regexp.MustCompile(`New worker \((\d+)\) forked`)))
	if err != nil {
		t.Fatal(err)
	}
	waitListening(t, addr)
	// A session that keeps the first worker busy.
	long, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	if line, _ := bufio.NewReader(long).ReadString('\n'); strings.TrimSpace(line) != "web01" {
		t.Fatalf("greeting %q", line)
	}
	_ = cmd.Process.Signal(syscall.SIGUSR2)
	second, err := strconv.Atoi(waitOutput(t, out, regexp.MustCompile(`(?s)Reloading HAProxy.*New worker \((\d+)\) forked`)))
	if err != nil {
		t.Fatal(err)
	}
	// Soft stop: the idle new worker exits at once, the old one stays.
	_ = cmd.Process.Signal(syscall.SIGUSR1)
	waitGone(t, second)
	if syscall.Kill(first, 0) != nil {
		t.Fatalf("the old worker %d exited with a session open", first)
	}
	for _, s := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM} {
		_ = cmd.Process.Signal(s)
	}
	// Process.Wait, not cmd.Wait: the workers share the master's output pipe.
	done := make(chan *os.ProcessState, 1)
	go func() { st, _ := cmd.Process.Wait(); done <- st }()
	select {
	case st := <-done:
		if !st.Success() || strings.Contains(out.String(), "panic") {
			t.Fatalf("master after signals during a soft stop: %v\n%s", st, out)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("master still runs 15 s after SIGTERM\n%s", out)
	}
	// SIGTERM reached the old worker in the middle of its soft stop.
	waitGone(t, first)
}

// TestIntegrationHandoffImpostor: a process that binds another's handoff
// name first (the names are abstract: anyone may) does not get its sockets
// used. Run by another user, or on behalf of another pid, the new gproxy
// warns, binds its own socket and serves.
func TestIntegrationHandoffImpostor(t *testing.T) {
	needRoot(t)
	// Another user serving its own pid's name: refused on the uid.
	py := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
		`import os, socket, time
s = socket.socket(socket.AF_UNIX)
s.bind("\0gproxy-handoff-%d" % os.getpid())
s.listen()
print("ready", flush=True)
c, _ = s.accept()
time.sleep(5)`)
	stdout, err := py.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = py.Process.Kill(); _ = py.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("impostor as nobody: %q, %v", line, err)
	}
	if got, err := gproxyd.FetchListeners(py.Process.Pid); !errors.Is(err, gproxyd.ErrHandoffPeer) || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("handoff served by uid 65534: %v, %v; want ErrHandoffPeer naming the uid", got, err)
	}

	// This test serving the name of a sleeping process, with a socket
	// bound to the proxy's address: gproxy -sf <sleeper> must not take it.
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	be := echoBackend(t, "web01")
	addr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
	ap := netip.MustParseAddrPort(addr)
	decoy, err := proxy.ListenBind(haproxycfg.Bind{Host: ap.Addr().String(), Port: int(ap.Port()), Family: haproxycfg.FamilyIPv4})
	if err != nil {
		t.Fatal(err)
	}
	defer decoy.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	files := func() (map[string]*os.File, error) {
		f, err := decoy.File()
		return map[string]*os.File{addr: f}, err
	}
	if err := gproxyd.ServeHandoff(ctx, gproxyd.HandoffPath(sleeper.Process.Pid), files); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    server s %s\n", addr, be))
	_, out := startGproxy(t, "-f", cfg, "-sf", strconv.Itoa(sleeper.Process.Pid))
	waitOutput(t, out, regexp.MustCompile(`(?m)^\[WARNING\].*taking no sockets from pid \d+ .*untrusted handoff.*served by pid \d+, not \d+`))
	// Served on its own socket: the decoy (same port, SO_REUSEPORT) never
	// accepts, so every connection answered came through gproxy.
	decoy.Close()
	waitListening(t, addr)
	if got, err := greet(addr); err != nil || got != "web01" {
		t.Fatalf("after refusing the impostor: %q, %v\n%s", got, err, out)
	}
}

// socketInodes lists the sockets a process holds.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			out[l] = true
		}
	}
	return out
}

// TestIntegrationSocketsFromStatsSocket: -x names the old process's stats
// socket; the new process takes that process's listening socket itself
// (the same kernel socket, not a second bind) and serves.
func TestIntegrationSocketsFromStatsSocket(t *testing.T) {
	needRoot(t)
	be1, be2 := echoBackend(t, "old"), echoBackend(t, "new")
	addr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
	stats := filepath.Join(t.TempDir(), "admin.sock")
	conf := func(be string) string {
		return writeConfig(t, fmt.Sprintf("global\n    stats socket %s mode 600 level admin expose-fd listeners\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\nlisten l\n    bind %s\n    server s %s\n", stats, addr, be))
	}
	oldCmd, _ := startGproxy(t, "-f", conf(be1))
	waitListening(t, addr)
	before := socketInodes(t, oldCmd.Process.Pid)
	// Not -sf: the old process keeps its sockets open while we look.
	newCmd, out := startGproxy(t, "-x", stats, "-f", conf(be2))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, err := greet(addr); err == nil && got == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new process never served\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	shared := 0
	for ino := range socketInodes(t, newCmd.Process.Pid) {
		if before[ino] {
			shared++
		}
	}
	if shared != 1 {
		t.Fatalf("the new process shares %d sockets with the old one, want its listener (1)\n%s", shared, out)
	}
}

// TestIntegrationSocketsFromFails: -x that yields no sockets stops the
// start with haproxy 2.6's messages (compared with it) instead of being
// ignored: a path where nothing listens, and a real haproxy's stats socket.
func TestIntegrationSocketsFromFails(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind 127.0.0.1:%d\n    server s %s\n", porttest.Free(t), be))
	pidRe := regexp.MustCompile(`\(\d+\)`)
	run := func(bin string, args ...string) (int, []string) {
		// Bounded: a start that ignored -x would serve until killed.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		out, _ := cmd.CombinedOutput()
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "[WARNING]") || strings.HasPrefix(l, "[ALERT]") {
				lines = append(lines, pidRe.ReplaceAllString(l, "(PID)"))
			}
		}
		return cmd.ProcessState.ExitCode(), lines
	}
	nothing := filepath.Join(dir, "nothing.sock")
	refCode, ref := run("haproxy", "-db", "-x", nothing, "-f", cfg)
	code, got := run(gproxyBin, "-db", "-x", nothing, "-f", cfg)
	if code != 1 || refCode != 1 || strings.Join(got, "\n") != strings.Join(ref, "\n") {
		t.Errorf("-x %s: exit %d\n%s\nhaproxy 2.6: exit %d\n%s", nothing, code, strings.Join(got, "\n"), refCode, strings.Join(ref, "\n"))
	}

	// A master (-W) starts anyway, as haproxy's does, binding anew.
	port := porttest.Free(t)
	wcfg := writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind 127.0.0.1:%d\n    server s %s\n", port, be))
	_, wout := startGproxy(t, "-W", "-x", nothing, "-f", wcfg)
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	if got, err := greet(fmt.Sprintf("127.0.0.1:%d", port)); err != nil || got != "web01" {
		t.Errorf("-W -x %s: %q, %v\n%s", nothing, got, err, wout)
	}

	// A real haproxy behind the socket: it serves no gproxy handoff.
	stats := filepath.Join(dir, "haproxy-admin.sock")
	refCfg := writeConfig(t, fmt.Sprintf("global\n    stats socket %s level admin expose-fd listeners\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    server s %s\n", stats, filepath.Join(dir, "fe.sock"), be))
	ha := exec.Command("haproxy", "-db", "-f", refCfg)
	if err := ha.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ha.Process.Kill(); _ = ha.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", stats); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("haproxy never served its stats socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, got = run(gproxyBin, "-db", "-x", stats, "-f", cfg)
	text := strings.Join(got, "\n")
	if code != 1 || !strings.Contains(text, "[ALERT]    (PID) : Failed to get the sockets from the old process!") || !strings.Contains(text, "no handoff socket") {
		t.Errorf("-x to a real haproxy: exit %d\n%s", code, text)
	}
}

// TestIntegrationHardStopAfter: `hard-stop-after` ends a soft stop that a
// session keeps alive: the process exits, the session is closed, and the
// same two warnings as haproxy 2.6's are printed. haproxy runs the same
// configuration as the reference.
func TestIntegrationHardStopAfter(t *testing.T) {
	needRoot(t)
	for _, bin := range []string{"/usr/sbin/haproxy", gproxyBin} {
		be := echoBackend(t, "web01")
		addr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		cfg := writeConfig(t, fmt.Sprintf("global\n    hard-stop-after 300ms\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\nlisten l\n    bind %s\n    server s %s\n", addr, be))
		cmd, out := startGproxyBin(t, bin, "-db", "-f", cfg)
		waitListening(t, addr)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		if line, _ := r.ReadString('\n'); strings.TrimSpace(line) != "web01" {
			t.Fatalf("%s: greeting %q", bin, line)
		}
		if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _, _ = cmd.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still running 10 s after a soft stop with hard-stop-after 300ms:\n%s", bin, out)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := r.ReadString('\n'); err != io.EOF {
			t.Errorf("%s: the remaining session was not closed: %v", bin, err)
		}
		for _, want := range []string{
			"soft-stop running for too long, performing a hard-stop.",
			"Proxy l hard-stopped (1 remaining conns will be closed).",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: output lacks %q:\n%s", bin, want, out)
			}
		}
	}
}
