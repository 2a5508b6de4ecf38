// Package lab builds private network worlds for end-to-end tests: a bridge
// in a network namespace of its own, and "hosts" that each have their own
// network, PID, mount and UTS namespaces, joined to the bridge by a veth
// pair. Everything is driven through the unshare, nsenter and ip binaries so
// that a reader can replay any step by hand from the lab's log.
//
// Nothing is ever configured in the machine's own network namespace: the
// bridge lives in the lab's namespace (held by a `sleep infinity` started
// under `unshare --net`) and each host's eth0 is created directly inside the
// host's namespace.
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bridge is the name of the lab's bridge, in the lab's network namespace.
const Bridge = "br0"

// ErrClosed is returned by operations on a lab that has been closed.
var ErrClosed = errors.New("lab: closed")

// Lab is one private network world.
type Lab struct {
	name string
	dir  string
	log  io.Writer

	mu     sync.Mutex
	holder *exec.Cmd // `unshare --net sleep infinity`: its network namespace is the lab's
	hosts  []*Host
	procs  []*Proc
	closed bool
	stop   func() bool
	start  time.Time
}

// New creates a lab: a fresh network namespace holding the bridge br0 (with
// multicast snooping off so VRRP adverts to 224.0.0.18 reach every port).
// Logs of the commands the lab runs go to log; process output goes to files
// under Dir. When ctx is done the lab is closed.
//
// Equivalent to: `unshare --net sleep infinity` then, inside it,
// `ip link add br0 type bridge mcast_snooping 0 && ip link set br0 up`.
func New(ctx context.Context, name string, log io.Writer) (*Lab, error) {
	if log == nil {
		log = io.Discard
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("lab %s: needs root", name)
	}
	dir, err := os.MkdirTemp("", "lab-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", name, err)
	}
	// Daemons drop privileges (haproxy's `user haproxy`, nginx workers) and
	// must still reach their files here.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab %s: %w", name, err)
	}
	l := &Lab{name: name, dir: dir, log: log, start: time.Now()}
	cmd := exec.Command("unshare", "--net", "--", "sleep", "infinity")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	l.logf("lab %s: dir %s", name, dir)
	l.logf("+ %s", strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lab %s: starting namespace holder: %w", name, err)
	}
	l.holder = cmd
	go cmd.Wait() //nolint:errcheck // reaped; Close kills it
	if err := l.setupBridge(ctx); err != nil {
		l.Close()
		return nil, err
	}
	l.stop = context.AfterFunc(ctx, func() { l.Close() })
	return l, nil
}

// NewT creates a lab for a test, closed by t.Cleanup. It fails the test
// (never skips) when not run as root. The lab's directory is kept when the
// test fails, and its path logged.
func NewT(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	l, err := New(context.Background(), sanitize(t.Name()), testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		if t.Failed() {
			t.Logf("lab %s: logs kept in %s", l.name, l.dir)
			return
		}
		os.RemoveAll(l.dir)
	})
	return l
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	if b.Len() > 40 {
		return b.String()[:40]
	}
	return b.String()
}

// Dir is the lab's directory: process logs, generated configs.
func (l *Lab) Dir() string { return l.dir }

// Name is the lab's name.
func (l *Lab) Name() string { return l.name }

// Host returns the host called name, or nil.
func (l *Lab) Host(name string) *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}

// Hosts returns the lab's hosts in the order they were added.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

func (l *Lab) logf(format string, args ...any) {
	fmt.Fprintf(l.log, "%7.3fs "+format+"\n", append([]any{time.Since(l.start).Seconds()}, args...)...)
}

// holderPid is the pid of the process whose network namespace is the lab's.
func (l *Lab) holderPid() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	return l.holder.Process.Pid, nil
}

// NetnsPid is the pid of a process in the lab's network namespace (where
// br0 lives), for tools that must run there, such as
// `nsenter -t PID -n systemd-nspawn --network-bridge=br0`. It fails rather
// than return a process still in the machine's own namespace.
func (l *Lab) NetnsPid() (int, error) {
	pid, err := l.holderPid()
	if err != nil {
		return 0, err
	}
	if err := foreignNetns(pid, 5*time.Second); err != nil {
		return 0, err
	}
	return pid, nil
}

// ErrMachineNamespace is returned instead of running a command in what would
// be the machine's own network namespace.
var ErrMachineNamespace = errors.New("lab: target is in the machine's network namespace")

// foreignNetns waits (up to wait) until pid's network namespace differs from
// this process's: `unshare --net sleep` is in the machine's namespace until
// it has called unshare(2), and nothing may ever be configured there.
func foreignNetns(pid int, wait time.Duration) error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		if ns != self {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: pid %d (%s)", ErrMachineNamespace, pid, ns)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// labRun runs a command in the lab's network namespace (where br0 lives).
func (l *Lab) labRun(ctx context.Context, args ...string) error {
	pid, err := l.holderPid()
	if err != nil {
		return err
	}
	if err := foreignNetns(pid, 5*time.Second); err != nil {
		return err
	}
	full := append([]string{"nsenter", "-t", strconv.Itoa(pid), "-n", "--"}, args...)
	return l.runLogged(ctx, full...)
}

func (l *Lab) runLogged(ctx context.Context, args ...string) error {
	l.logf("+ %s", strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab %s: %s: %w: %s", l.name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (l *Lab) setupBridge(ctx context.Context) error {
	return l.labRun(ctx, "sh", "-ec", "ip link set lo up; ip link add "+Bridge+" type bridge mcast_snooping 0; ip link set "+Bridge+" up")
}

// Close kills every host's PID 1 with SIGKILL (which kills everything in
// that host's PID namespace), every process started through the lab, and
// the lab namespace's holder; the namespaces vanish with their last process.
// It is idempotent and safe to call concurrently.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	hosts, procs := l.hosts, l.procs
	if l.stop != nil {
		l.stop()
	}
	l.mu.Unlock()
	for _, p := range procs {
		p.Kill()
	}
	for _, h := range hosts {
		h.kill()
	}
	if l.holder != nil && l.holder.Process != nil {
		l.holder.Process.Kill()
	}
	for _, h := range hosts {
		h.waitGone(5 * time.Second)
	}
	for _, p := range procs {
		p.waitTimeout(5 * time.Second)
	}
	l.logf("lab %s: closed", l.name)
	return nil
}

// childOf returns the first child of pid, polling up to wait for it to
// appear (unshare --fork and nsenter -p fork before exec).
func childOf(pid int, wait time.Duration) (int, error) {
	deadline := time.Now().Add(wait)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if err != nil {
			return 0, fmt.Errorf("lab: children of %d: %w", pid, err)
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			return strconv.Atoi(f[0])
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("lab: process %d has no child after %s", pid, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nsPid returns the pid of outer pid as seen in its own (innermost) PID
// namespace, from the NSpid line of /proc/PID/status.
func nsPid(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.Atoi(f[len(f)-1])
		}
	}
	return 0, fmt.Errorf("lab: no NSpid for %d", pid)
}

// prefixes formats addresses for logs and commands.
func prefixes(ps []netip.Prefix) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return s
}
