package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Host is one machine of the lab: its own network, PID, mount and UTS
// namespaces, with /proc remounted (so `killall -0 haproxy` sees only this
// host's processes), a tmpfs on /run (so pidfiles do not collide), lo up and
// eth0 joined to the lab's bridge.
type Host struct {
	lab   *Lab
	name  string
	addrs []netip.Prefix
	init  *exec.Cmd // unshare; its child is the host's PID 1
	pid1  int       // the host's PID 1 as seen from outside
	done  chan struct{}
}

var hostName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,13}$`)

// initScript is the host's PID 1: it mounts the host's own /run and
// /etc/hosts (so the host's name resolves, as keepalived expects for its
// router_id and mail subjects), names the host, and then loops forever. Bash as PID 1 reaps every orphan that is
// re-parented to it (a daemon killed inside the host does not linger as a
// zombie that `killall -0` would still find); `sleep infinity` would not.
const initScript = `trap '' TERM INT HUP
mount -t tmpfs -o mode=0755 lab-run /run || exit 1
mount --bind "$2" /etc/hosts || exit 1
hostname "$1" || exit 1
: > /run/lab-ready
while :; do sleep 1; done`

// AddHost creates a host with the given addresses on eth0, a veth whose
// other end (v<name>) is a port of the lab's bridge. net.ipv4.ip_nonlocal_bind
// is 1, as the seed asks of its load balancers.
//
// Equivalent to:
//
//	unshare -p -f -m --mount-proc -n -u bash -c '<init loop>'
//	nsenter -t LAB -n ip link add v<name> type veth peer name eth0 netns PID1
//	nsenter -t LAB -n ip link set v<name> master br0 up
//	nsenter -t PID1 -n sh -c 'ip link set lo up; ip link set eth0 up; ip addr add ADDR dev eth0; sysctl -w net.ipv4.ip_nonlocal_bind=1'
func (l *Lab) AddHost(name string, addrs ...netip.Prefix) (*Host, error) {
	if !hostName.MatchString(name) {
		return nil, fmt.Errorf("lab %s: host name %q: want [a-z][a-z0-9-]{0,13}", l.name, name)
	}
	if l.Host(name) != nil {
		return nil, fmt.Errorf("lab %s: host %s exists", l.name, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hosts := filepath.Join(l.dir, name+"-hosts")
	etc := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if len(addrs) > 0 {
		etc += addrs[0].Addr().String() + "\t" + name + "\n"
	} else {
		etc += "127.0.1.1\t" + name + "\n"
	}
	if err := os.WriteFile(hosts, []byte(etc), 0o644); err != nil {
		return nil, fmt.Errorf("lab %s: host %s: %w", l.name, name, err)
	}
	cmd := exec.Command("unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount", "--mount-proc",
		"--net", "--uts", "--", "bash", "-c", initScript, "init", name, hosts)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	logf, err := os.Create(filepath.Join(l.dir, name+"-init.log"))
	if err != nil {
		return nil, fmt.Errorf("lab %s: host %s: %w", l.name, name, err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	l.logf("+ unshare -p -f -m --mount-proc -n -u bash -c <init> # host %s", name)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	if err := cmd.Start(); err != nil {
		l.mu.Unlock()
		return nil, fmt.Errorf("lab %s: host %s: %w", l.name, name, err)
	}
	h := &Host{lab: l, name: name, addrs: addrs, init: cmd, done: make(chan struct{})}
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	go func() { cmd.Wait(); close(h.done) }() //nolint:errcheck
	pid1, err := childOf(cmd.Process.Pid, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("lab %s: host %s: %w", l.name, name, err)
	}
	if err := foreignNetns(pid1, 0); err != nil {
		return nil, fmt.Errorf("host %s: %w", name, err)
	}
	h.pid1 = pid1
	if err := h.waitReady(5 * time.Second); err != nil {
		return nil, err
	}
	veth := "v" + name
	if err := l.labRun(ctx, "sh", "-ec", fmt.Sprintf(
		"ip link add %s type veth peer name eth0 netns %d; ip link set %s master %s up",
		veth, pid1, veth, Bridge)); err != nil {
		return nil, fmt.Errorf("host %s: %w", name, err)
	}
	script := "ip link set lo up; ip link set eth0 up; sysctl -qw net.ipv4.ip_nonlocal_bind=1"
	for _, a := range addrs {
		script += "; ip addr add " + a.String() + " dev eth0"
	}
	if err := l.runLogged(ctx, "nsenter", "-t", strconv.Itoa(pid1), "-n", "--", "sh", "-ec", script); err != nil {
		return nil, fmt.Errorf("host %s: %w", name, err)
	}
	l.logf("host %s: pid1 %d, eth0 %s", name, pid1, strings.Join(prefixes(addrs), " "))
	return h, nil
}

func (h *Host) waitReady(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		if _, err := os.Stat(h.path("/run/lab-ready")); err == nil {
			return nil
		}
		select {
		case <-h.done:
			b, _ := os.ReadFile(filepath.Join(h.lab.dir, h.name+"-init.log"))
			return fmt.Errorf("lab %s: host %s: init exited: %s", h.lab.name, h.name, strings.TrimSpace(string(b)))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab %s: host %s: not ready after %s", h.lab.name, h.name, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Name is the host's name (also its hostname inside).
func (h *Host) Name() string { return h.name }

// Pid1 is the host's PID 1 as seen from outside: `nsenter -t Pid1 -p -m -n -u`
// enters the host.
func (h *Host) Pid1() int { return h.pid1 }

// Addr is the host's first address on eth0.
func (h *Host) Addr() netip.Addr {
	if len(h.addrs) == 0 {
		return netip.Addr{}
	}
	return h.addrs[0].Addr()
}

// Addrs are the addresses the host was created with.
func (h *Host) Addrs() []netip.Prefix { return append([]netip.Prefix(nil), h.addrs...) }

// path is a path inside the host's mount namespace, seen from outside.
func (h *Host) path(p string) string {
	return fmt.Sprintf("/proc/%d/root%s", h.pid1, p)
}

// ReadFile reads a file as the host sees it (its own /run included).
func (h *Host) ReadFile(name string) ([]byte, error) {
	if !filepath.IsAbs(name) {
		return nil, fmt.Errorf("host %s: ReadFile %q: path must be absolute", h.name, name)
	}
	return os.ReadFile(h.path(name))
}

// nsenter is the command line entering the host. Hosts are created only
// after foreignNetns checked their PID 1 is not in the machine's namespace.
func (h *Host) nsenter(args ...string) []string {
	return append([]string{"nsenter", "-t", strconv.Itoa(h.pid1), "-p", "-m", "-n", "-u", "--"}, args...)
}

// Run runs a command inside the host to completion, bounded by ctx, and
// returns its combined output. When ctx ends the command (not just nsenter)
// is killed.
//
// Equivalent to: `nsenter -t PID1 -p -m -n -u -- cmd args...`.
func (h *Host) Run(ctx context.Context, cmd string, args ...string) ([]byte, error) {
	return h.run(ctx, true, cmd, args...)
}

// run is Run; probes polled many times a second (ip -br addr, killall -0)
// pass logged=false to keep the lab's log readable.
func (h *Host) run(ctx context.Context, logged bool, cmd string, args ...string) ([]byte, error) {
	if err := h.alive(); err != nil {
		return nil, err
	}
	argv := h.nsenter(append([]string{cmd}, args...)...)
	if logged {
		h.lab.logf("%s$ %s", h.name, strings.Join(append([]string{cmd}, args...), " "))
	}
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	c.Cancel = func() error {
		// nsenter -p forks: kill the command inside too.
		if pid, err := childOf(c.Process.Pid, 0); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		return c.Process.Kill()
	}
	c.WaitDelay = 2 * time.Second
	err := c.Run()
	if err != nil {
		return out.Bytes(), fmt.Errorf("host %s: %s: %w: %s", h.name, strings.Join(append([]string{cmd}, args...), " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// Addresses lists the addresses on the host's interfaces (`ip -br addr`
// inside the host).
func (h *Host) Addresses(ctx context.Context) ([]netip.Prefix, error) {
	out, err := h.run(ctx, false, "ip", "-br", "addr")
	if err != nil {
		return nil, err
	}
	var ps []netip.Prefix
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for _, a := range f[min(2, len(f)):] {
			if p, err := netip.ParsePrefix(a); err == nil {
				ps = append(ps, p)
			}
		}
	}
	return ps, nil
}

// HasAddr reports whether ip is on one of the host's interfaces (`ip -br
// addr` inside the host, bounded by 5 s); false if that cannot be run.
func (h *Host) HasAddr(ip netip.Addr) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := h.Addresses(ctx)
	if err != nil {
		return false
	}
	for _, p := range ps {
		if p.Addr() == ip {
			return true
		}
	}
	return false
}

// Running reports whether a process called name runs in the host
// (`killall -0 name`, as keepalived's track scripts ask).
func (h *Host) Running(ctx context.Context, name string) bool {
	_, err := h.run(ctx, false, "killall", "-0", name)
	return err == nil
}

// Signal sends sig to every process called name in the host (`killall -s SIG name`).
func (h *Host) Signal(ctx context.Context, name string, sig syscall.Signal) error {
	_, err := h.Run(ctx, "killall", "-s", strconv.Itoa(int(sig)), name)
	return err
}

// ErrHostGone is returned for commands on a host whose PID 1 has exited (the
// lab was closed): its pid could name another process by now.
var ErrHostGone = errors.New("lab: host is gone")

func (h *Host) alive() error {
	select {
	case <-h.done:
		return fmt.Errorf("host %s: %w", h.name, ErrHostGone)
	default:
	}
	h.lab.mu.Lock()
	defer h.lab.mu.Unlock()
	if h.lab.closed {
		return fmt.Errorf("host %s: %w", h.name, ErrClosed)
	}
	return nil
}

// kill SIGKILLs the host's PID 1: the kernel then kills every process of
// the host's PID namespace.
func (h *Host) kill() {
	if h.pid1 > 0 {
		syscall.Kill(h.pid1, syscall.SIGKILL)
		return
	}
	h.init.Process.Kill()
}

func (h *Host) waitGone(d time.Duration) {
	select {
	case <-h.done:
	case <-time.After(d):
		h.lab.logf("host %s: init still running after %s: killing unshare", h.name, d)
		h.init.Process.Kill()
	}
}

// ErrNotRunning is returned by Proc methods for a process that was never started.
var ErrNotRunning = errors.New("lab: process not running")

// Listening reports whether something in the host listens on port: a TCP
// socket in LISTEN state, or any bound UDP socket, read from the host's
// /proc/net/{tcp,tcp6,udp,udp6} (like `ss -ltn` / `ss -lun` inside).
func (h *Host) Listening(proto string, port int) (bool, error) {
	if proto != "tcp" && proto != "udp" {
		return false, fmt.Errorf("host %s: Listening: proto %q: want tcp or udp", h.name, proto)
	}
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{proto, proto + "6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", h.pid1, f))
		if err != nil {
			return false, fmt.Errorf("host %s: %w", h.name, err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 || !strings.HasSuffix(fs[1], want) {
				continue
			}
			if proto == "udp" || fs[3] == "0A" {
				return true, nil
			}
		}
	}
	return false, nil
}
