package packaging_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hapair/integration/lab"
)

// Booted Debian machines for the systemd tests: a minimal bookworm root made
// once with mmdebstrap from Debian's packages (about a minute) and cached,
// booted with systemd-nspawn under a real systemd. Each container sees the
// cached root read-only with a tmpfs overlay on top (--volatile=overlay), so
// whatever a test installs or edits vanishes with it, and runs in the
// network namespace of a lab (integration/lab): its host0 veth is a port of
// the lab's bridge, renamed eth0 inside (the seed's keepalived.conf names
// eth0). Nothing touches the machine's own network.

// rootPackages are installed in the cached root besides the minbase
// variant: a booted systemd, Debian's haproxy and keepalived (the packages
// ours replace), rsyslog and logrotate (the log path), and the probes the
// tests run inside (curl, socat; psmisc for the seed's `killall -0`).
var rootPackages = []string{"systemd", "systemd-sysv", "dbus", "iproute2", "haproxy", "keepalived",
	"rsyslog", "logrotate", "curl", "socat", "psmisc", "procps"}

// rootCacheDir holds the cached roots, one directory per package list
// (HAPAIR_ROOT_CACHE overrides it).
func rootCacheDir() string {
	if d := os.Getenv("HAPAIR_ROOT_CACHE"); d != "" {
		return d
	}
	return "/var/cache/hapair"
}

var rootMu sync.Mutex

// debianRoot returns the cached bookworm root, making it with mmdebstrap
// when the cache has none for this package list. The apt cache is kept in
// it (--skip=cleanup/apt/cache): the tests go back from ours to Debian's
// haproxy and keepalived with those .debs, offline.
func debianRoot(t *testing.T) string {
	t.Helper()
	rootMu.Lock()
	defer rootMu.Unlock()
	args := []string{"--variant=minbase", "--include=" + strings.Join(rootPackages, ","),
		"--skip=cleanup/apt/cache", "bookworm"}
	sum := sha256.Sum256([]byte(strings.Join(args, " ")))
	dir := filepath.Join(rootCacheDir(), "bookworm-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, "etc", "os-release")); err == nil {
		return dir
	}
	if err := os.MkdirAll(rootCacheDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	// Another test binary may be making the same root: one at a time.
	lock, err := os.OpenFile(filepath.Join(rootCacheDir(), "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc", "os-release")); err == nil {
		return dir
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mmdebstrap", append(args, tmp)...).CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(tmp)
		t.Fatalf("mmdebstrap %s: %v\n%s", strings.Join(args, " "), err, tail(out, 3000))
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("made the cached root %s in %.0f s", dir, time.Since(start).Seconds())
	return dir
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// machine is one booted container.
type machine struct {
	t      *testing.T
	name   string
	nspawn *exec.Cmd
	leader int // the container's PID 1 (systemd) as seen from outside
	log    string
	done   chan struct{}
}

// boot starts a container called name from root in the lab's network
// namespace with addr (CIDR) on its eth0, binds read-only the given
// host:container paths, and waits until systemd reports the boot finished.
//
// Equivalent to: nsenter -t LAB -n systemd-nspawn --register=no --keep-unit
// -b -D ROOT --volatile=overlay -M NAME --network-bridge=br0, then inside
// `ip link set host0 name eth0; ip addr add ADDR dev eth0`.
func boot(t *testing.T, l *lab.Lab, root, name, addr string, binds ...string) *machine {
	t.Helper()
	holder, err := l.NetnsPid()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-t", strconv.Itoa(holder), "-n", "--", "systemd-nspawn", "--register=no", "--keep-unit",
		"-b", "-D", root, "--volatile=overlay", "-M", name, "--network-bridge=" + lab.Bridge, "--console=read-only"}
	for _, b := range binds {
		args = append(args, "--bind-ro="+b)
	}
	logPath := filepath.Join(l.Dir(), name+"-console.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// Each container gets cgroups of its own: nspawn without machined
	// puts it in its caller's, and two containers booted from the same
	// cgroup would share /system.slice/haproxy.service and the like (one's
	// systemctl kill then fails on the other's processes).
	cgroups := containerCgroups(t, name)
	// nspawn runs as PID 1 of a PID namespace of its own, under unshare
	// --kill-child: if the test dies (a go test timeout runs no cleanup),
	// the kernel kills that namespace and the container's nested in it;
	// nspawn dying alone would leave the container's systemd running.
	cmd := exec.Command("unshare", append([]string{"--pid", "--fork", "--kill-child=SIGKILL", "--", "sh", "-c",
		`for cg in $CGROUPS; do echo $$ > "$cg/cgroup.procs" || exit 1; done; exec nsenter "$@"`, "nsenter"}, args...)...)
	// Several containers share the read-only root.
	cmd.Env = append(os.Environ(), "SYSTEMD_NSPAWN_LOCK=0", "CGROUPS="+strings.Join(cgroups, " "))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	t.Logf("+ nsenter %s", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &machine{t: t, name: name, nspawn: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	t.Cleanup(func() {
		m.kill()
		removeCgroups(t, cgroups)
	})
	deadline := time.Now().Add(30 * time.Second)
	for m.leader == 0 {
		select {
		case <-m.done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s: systemd-nspawn exited: %s", name, tail(b, 3000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no container PID 1 after 30 s", name)
		}
		m.leader = descendant(cmd.Process.Pid, "systemd", 3)
		time.Sleep(50 * time.Millisecond)
	}
	// The network first: units that start at boot may bind the seed's
	// addresses (ip_nonlocal_bind as the seed asks of its balancers).
	m.net("ip link set host0 name eth0 && ip link set lo up && ip link set eth0 up && ip addr add " + addr +
		" dev eth0 && sysctl -qw net.ipv4.ip_nonlocal_bind=1")
	// systemctl needs systemd's private socket, made early in the boot.
	out, code := m.run("for i in $(seq 300); do [ -S /run/systemd/private ] && break; sleep 0.2; done; timeout 60 systemctl is-system-running --wait")
	if code != 0 && strings.TrimSpace(out) != "degraded" {
		t.Fatalf("%s: boot: is-system-running: %s (exit %d)", name, out, code)
	}
	if strings.TrimSpace(out) == "degraded" {
		failed, _ := m.run("systemctl --failed --no-legend")
		t.Logf("%s: booted degraded: %s", name, failed)
	}
	return m
}

// descendant returns the first process named comm among pid's children,
// their children and so on down to depth levels (0 when none).
func descendant(pid int, comm string, depth int) int {
	if depth == 0 {
		return 0
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(b)) {
		child, _ := strconv.Atoi(f)
		if c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child)); strings.TrimSpace(string(c)) == comm {
			return child
		}
		if d := descendant(child, comm, depth-1); d != 0 {
			return d
		}
	}
	return 0
}

// net runs a script in the container's network namespace only (the
// machine's tools; /proc/sys/net of that namespace is writable from there).
func (m *machine) net(script string) {
	m.t.Helper()
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(m.leader), "-n", "--", "sh", "-ec", script).CombinedOutput()
	if err != nil {
		m.t.Fatalf("%s: %s: %v: %s", m.name, script, err, out)
	}
}

// run runs a shell script inside the container (all its namespaces) with
// a clean environment and no standard input, bounded to two minutes; it
// returns the combined output and the exit code.
func (m *machine) run(script string) (string, int) {
	return m.runIn(script, nil)
}

func (m *machine) runIn(script string, stdin []byte) (string, int) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(m.leader), "-m", "-u", "-i", "-n", "-p", "-C", "--root", "--wd",
		"--", "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "TERM=dumb", "/bin/sh", "-c", script)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return string(out), code
}

// must runs a script and fails the test when it exits non-zero.
func (m *machine) must(script string) string {
	m.t.Helper()
	out, code := m.run(script)
	if code != 0 {
		m.t.Fatalf("%s: %s: exit %d:\n%s", m.name, script, code, out)
	}
	return out
}

// write puts content at path inside the container.
func (m *machine) write(path, content string) {
	m.t.Helper()
	if out, code := m.runIn("cat > "+path, []byte(content)); code != 0 {
		m.t.Fatalf("%s: writing %s: %s", m.name, path, out)
	}
}

// waitFor polls script until it exits 0, up to d.
func (m *machine) waitFor(what, script string, d time.Duration) {
	m.t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, code := m.run(script)
		if code == 0 {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: %s: not after %v: %s", m.name, what, d, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill ends the container: SIGKILL to its PID 1 ends every process of its
// PID namespace; nspawn then exits and its overlay vanishes.
func (m *machine) kill() {
	if m.leader > 0 {
		_ = syscall.Kill(m.leader, syscall.SIGKILL)
	}
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.nspawn.Process.Kill()
		select {
		case <-m.done:
		case <-time.After(5 * time.Second):
			m.t.Errorf("%s: unshare/systemd-nspawn (pid %d) did not exit", m.name, m.nspawn.Process.Pid)
		}
	}
}

// containerCgroups makes a cgroup for a container in each hierarchy
// systemd uses (name=systemd and the unified one of a hybrid layout, or the
// unified one alone).
var (
	cgroupSeq   atomic.Int64
	cgroupSweep sync.Once
)

func containerCgroups(t *testing.T, name string) []string {
	t.Helper()
	// A run killed by go test's timeout ran no cleanup: its containers
	// died with it (see boot), their empty cgroups stayed.
	cgroupSweep.Do(func() {
		old, _ := filepath.Glob("/sys/fs/cgroup/*/hapair-test-*")
		for _, d := range old {
			var pid int
			if _, err := fmt.Sscanf(filepath.Base(d), "hapair-test-%d-", &pid); err != nil || pid == os.Getpid() {
				continue
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				continue // another test run, still going
			}
			removeCgroups(t, []string{d})
		}
	})
	leaf := fmt.Sprintf("hapair-test-%d-%d-%s", os.Getpid(), cgroupSeq.Add(1), name)
	var dirs []string
	for _, h := range []string{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(h, "cgroup.procs")); err != nil {
			continue
		}
		if h == "/sys/fs/cgroup" && len(dirs) > 0 {
			break // hybrid: the tmpfs above the hierarchies
		}
		d := filepath.Join(h, leaf)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("cgroup for %s: %v", name, err)
		}
		dirs = append(dirs, d)
	}
	if len(dirs) == 0 {
		t.Fatal("no cgroup hierarchy under /sys/fs/cgroup")
	}
	return dirs
}

// removeCgroups removes the container's cgroups, deepest first (the
// container's systemd made slices and services below them).
func removeCgroups(t *testing.T, dirs []string) {
	for _, top := range dirs {
		var all []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		for i := len(all) - 1; i >= 0; i-- {
			if err := os.Remove(all[i]); err != nil {
				t.Errorf("removing cgroup %s: %v", all[i], err)
			}
		}
	}
}
