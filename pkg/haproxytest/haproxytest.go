// Package haproxytest runs Debian's haproxy 2.6 in tests: the reference
// whose log lines, messages and behaviour gproxy's are compared with.
package haproxytest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/porttest"
	"hapair/pkg/track"
)

// Bin is the reference haproxy, installed by integration/install-deps.sh.
const Bin = "/usr/sbin/haproxy"

// Start writes cfg to a temporary file and runs haproxy on it in the
// foreground (-db), so the test owns the process: it is killed at cleanup,
// and its stderr is logged if the test failed.
func Start(t testing.TB, cfg string) *exec.Cmd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Bin, "-db", "-f", path)
	stderr := &lockedBuilder{}
	cmd.Stderr = stderr
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("haproxy stderr:\n%s", stderr.String())
		}
	})
	StartProc(t, cmd)
	return cmd
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
	for {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		l.Close()
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
