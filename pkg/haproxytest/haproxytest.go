// Package haproxytest runs Debian's haproxy 2.6 in tests: the reference
// whose log lines, messages and behaviour gproxy's are compared with.
package haproxytest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hapair/pkg/porttest"
	"hapair/pkg/track"
)

// Bin is the reference haproxy, installed by integration/install-deps.sh.
const Bin = "/usr/sbin/haproxy"

// Start writes cfg to a temporary file and runs haproxy on it in the
// foreground (-db), so the test owns the process: it is killed at cleanup,
// and its stderr is logged if the test failed.
//
// haproxy 2.6.12 now and then aborts while binding its listeners on a bug
// of its own (`FATAL: bug condition "fdtab[fd].owner != ((void *)0)"` in
// protocol_bind_all; seen twice in a day of test runs under load, with
// different configurations): Start waits until the configuration's TCP
// binds listen, and runs haproxy once more if it aborted that way.
func Start(t testing.TB, cfg string) *exec.Cmd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	binds := tcpBinds(cfg)
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(Bin, "-db", "-f", path)
		stderr := &lockedBuilder{}
		cmd.Stderr = stderr
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("haproxy stderr:\n%s", stderr.String())
			}
		})
		stop := StartProc(t, cmd)
		if attempt > 0 || !abortedOnOwnBug(cmd.Process.Pid, binds, stderr) {
			return cmd
		}
		stop()
		t.Logf("haproxy aborted at start-up on its own bug; started again:\n%s", stderr.String())
	}
}

// bugAtBind is how haproxy 2.6.12 reports the start-up abort Start retries.
const bugAtBind = `FATAL: bug condition "fdtab[fd].owner`

// abortedOnOwnBug waits at most 10 s until every bind of haproxy (pid)
// listens or it exits; it reports whether haproxy reported bugAtBind.
func abortedOnOwnBug(pid int, binds []string, stderr *lockedBuilder) bool {
	if len(binds) == 0 {
		return false
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(stderr.String(), bugAtBind) {
			return true
		}
		if allBound(binds) {
			return false
		}
		if exited(pid) {
			// stderr may still be on its way from the pipe.
			time.Sleep(100 * time.Millisecond)
			return strings.Contains(stderr.String(), bugAtBind)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// exited tells whether process pid has ended, leaving it to be reaped by
// whoever waits for it (WNOWAIT).
func exited(pid int) bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err != nil || info.Signo != 0
}

// allBound tells whether something listens on each address.
func allBound(addrs []string) bool {
	for _, a := range addrs {
		if !Listening(a) {
			return false
		}
	}
	return true
}

// tcpBinds lists the plain TCP addresses of cfg's bind lines (IP:PORT,
// :PORT, *:PORT, ipv4@/ipv6@ ones), as addresses to listen on to probe
// them; others (unix sockets, fd@, port ranges) are left out.
func tcpBinds(cfg string) []string {
	var out []string
	for _, line := range strings.Split(cfg, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "bind" {
			continue
		}
		for _, a := range strings.Split(f[1], ",") {
			a = strings.Trim(a, `"`)
			a = strings.TrimPrefix(strings.TrimPrefix(a, "ipv4@"), "ipv6@")
			host, port, err := net.SplitHostPort(a)
			if err != nil || strings.Contains(a, "@") || strings.ContainsAny(port, "-$") {
				continue
			}
			if _, err := strconv.Atoi(port); err != nil {
				continue
			}
			if host == "" || host == "*" || host == "0.0.0.0" {
				host = "127.0.0.1"
			}
			out = append(out, net.JoinHostPort(host, port))
		}
	}
	return out
}

// StartProc starts cmd (a daemon under test, haproxy's or ours) so that it
// cannot outlive the test: it leads a process group of its own (a -W/-Ws
// master and its workers), killed whole at cleanup, and the kernel
// SIGKILLs it if the test binary dies first, since a timeout's panic runs
// no cleanup (PR_SET_PDEATHSIG, from a thread that lives as long as the
// process: track.StartCmd). The returned stop kills the group now and
// reaps cmd (Process.Wait: a test may run cmd.Wait itself); it may be
// called more than once.
func StartProc(t testing.TB, cmd *exec.Cmd) (stop func()) {
	t.Helper()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := track.StartCmd(cmd); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_, _ = cmd.Process.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

// WaitExit waits at most 10 s for cmd, which the test asked to stop, to
// exit.
func WaitExit(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	done := make(chan struct{})
	go func() { _, _ = cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("haproxy did not stop within 10s")
	}
}

// WaitBound waits at most 10 s until something listens on addr, without
// connecting to it: a probe connection would be logged by a tcplog proxy.
func WaitBound(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !Listening(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after 10s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	return porttest.Free(t)
}

type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Serve runs a test server on a free loopback port: handle gets each
// accepted connection, which is closed when handle returns and has
// deadline d. The listener closes at cleanup, which waits for the handlers.
func Serve(t testing.TB, d time.Duration, handle func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(d))
				handle(c)
			}()
		}
	}()
	return ln
}
