package packaging_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests install the packages into a "world": a private mount, network
// and PID namespace whose root is an overlay of the machine's root
// filesystem (writes land in a tmpfs), so that dpkg can purge Debian's
// haproxy and keepalived and install ours without touching the machine's
// /usr, /etc or network. Its network has lo only (plus the veth pair a test
// creates in it); its /run is a fresh tmpfs; a bash loop as PID 1 reaps the
// daemons the init scripts leave behind.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
}

// repoRoot is the module root: the tests run in packaging/.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

type debs struct {
	dir         string // DISTDIR
	version     string
	gproxy      string
	gkeepalived string
}

var (
	buildOnce sync.Once
	buildBins string // directory holding gproxy and gkeepalived
	buildErr  error
	tmpRoot   string // removed by TestMain

	debsMu    sync.Mutex
	debsBuilt = map[string]debs{} // by requested version ("" = the source's)
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

// binaries builds gproxy, gkeepalived and gkeepalived-bgp once per test run, as
// `make build` does, into a temporary directory (a fresh clone has no bin/).
// PACKAGING_TEST_BINDIR names a directory of binaries already built instead.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		tmpRoot, buildErr = os.MkdirTemp("", "packaging-test-")
		if buildErr != nil {
			return
		}
		if dir := os.Getenv("PACKAGING_TEST_BINDIR"); dir != "" {
			buildBins = dir
			return
		}
		buildBins = filepath.Join(tmpRoot, "bin")
		for b, pkg := range map[string]string{"gproxy": "gproxy", "gkeepalived": "gkeepalived", "gkeepalived-bgp": "gkeepalived/bgpspeaker"} {
			cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(buildBins, b), "./cmd/"+pkg)
			cmd.Dir = repoRoot(t)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build ./cmd/%s: %v\n%s", b, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBins
}

// buildDebs runs build-deb.sh on the test's binaries into a new DISTDIR.
func buildDebs(t *testing.T, version string) debs {
	t.Helper()
	bins := binaries(t)
	debsMu.Lock()
	defer debsMu.Unlock()
	if d, ok := debsBuilt[version]; ok {
		return d
	}
	dist, err := os.MkdirTemp(tmpRoot, "dist-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", filepath.Join(repoRoot(t), "packaging", "build-deb.sh"))
	cmd.Env = append(os.Environ(), "BINDIR="+bins, "DISTDIR="+dist)
	if version != "" {
		cmd.Env = append(cmd.Env, "VERSION="+version)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, out)
	}
	arch, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		t.Fatal(err)
	}
	if version == "" {
		version = debField(t, filepath.Join(dist, firstDeb(t, dist, "gproxy_")), "Version")
	}
	d := debs{dir: dist, version: version}
	a := strings.TrimSpace(string(arch))
	d.gproxy = filepath.Join(dist, fmt.Sprintf("gproxy_%s_%s.deb", version, a))
	d.gkeepalived = filepath.Join(dist, fmt.Sprintf("gkeepalived_%s_%s.deb", version, a))
	for _, f := range []string{d.gproxy, d.gkeepalived} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("build-deb.sh did not write %s (it said:\n%s)", f, out)
		}
	}
	debsBuilt[version] = d
	return d
}

func firstDeb(t *testing.T, dir, prefix string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, prefix+"*.deb"))
	if len(m) != 1 {
		t.Fatalf("want one %s*.deb in %s, have %v", prefix, dir, m)
	}
	return filepath.Base(m[0])
}

func debField(t *testing.T, deb, field string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "-f", deb, field).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -f %s %s: %v", deb, field, err)
	}
	return strings.TrimSpace(string(out))
}

// world is a running private namespace; pid is its PID 1 as the machine
// sees it.
type world struct {
	t   *testing.T
	pid int
}

const worldSetup = `set -e
T="$1"
mount -t tmpfs -o size=4g,mode=0755 tmpfs "$T"
mkdir "$T/u" "$T/w" "$T/m"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/u,workdir=$T/w" "$T/m"
M="$T/m"
mount -t proc proc "$M/proc"
mount -t sysfs sysfs "$M/sys"
mount --rbind /dev "$M/dev"
mount -t tmpfs -o mode=0755 tmpfs "$M/run"
mkdir -p "$M/run/lock"
ip link set lo up
: > "$M/run/world-ready"
exec chroot "$M" /bin/bash -c 'while :; do sleep 1 & wait $!; done'
`

// newWorld starts a world; t.Cleanup kills it (SIGKILL to its PID 1 ends
// every process in it, and its mounts go with its mount namespace).
func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "setup.sh")
	if err := os.WriteFile(script, []byte(worldSetup), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(dir, "ovl")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "setup.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
		"--propagation", "private", "sh", script, mnt)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	w := &world{t: t}
	t.Cleanup(func() {
		if w.pid > 0 {
			_ = syscall.Kill(w.pid, syscall.SIGKILL)
		}
		_ = cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("world (unshare pid %d) did not exit", cmd.Process.Pid)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("world setup exited: %s", b)
		default:
		}
		if w.pid == 0 {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
			if f := strings.Fields(string(b)); len(f) > 0 {
				w.pid, _ = strconv.Atoi(f[0])
			}
		}
		if w.pid > 0 {
			if _, err := os.Stat(w.path("/run/world-ready")); err == nil {
				return w
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(log.Name())
	t.Fatalf("world not ready after 20 s: %s", b)
	return nil
}

// in returns the world for a subtest: failures are reported on t.
func (w *world) in(t *testing.T) *world {
	c := *w
	c.t = t
	return &c
}

// path is where the machine sees a file of the world.
func (w *world) path(p string) string {
	return fmt.Sprintf("/proc/%d/root%s", w.pid, p)
}

func (w *world) read(p string) string {
	w.t.Helper()
	b, err := os.ReadFile(w.path(p))
	if err != nil {
		w.t.Fatalf("reading %s in the world: %v", p, err)
	}
	return string(b)
}

func (w *world) write(p, content string) {
	w.t.Helper()
	if err := os.WriteFile(w.path(p), []byte(content), 0o644); err != nil {
		w.t.Fatalf("writing %s in the world: %v", p, err)
	}
}

func (w *world) exists(p string) bool {
	_, err := os.Lstat(w.path(p))
	return err == nil
}

// run runs a shell script inside the world as root, with a clean
// environment, and returns its combined output and exit code. Output goes
// through a file, not a pipe: a daemon that keeps its inherited descriptors
// must not make the call hang.
func (w *world) run(script string) (string, int) {
	w.t.Helper()
	f, err := os.CreateTemp("", "world-out-")
	if err != nil {
		w.t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(w.pid), "-m", "-n", "-p", "-r", "-w", "--",
		"/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C", "HOME=/root", "TERM=dumb", "/bin/sh", "-c", script)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	if ctx.Err() != nil {
		w.t.Fatalf("timed out after 90 s: %s\n%s", script, out)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			w.t.Fatalf("%s: %v", script, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// must runs a script that has to succeed.
func (w *world) must(script string) string {
	w.t.Helper()
	out, code := w.run(script)
	if code != 0 {
		w.t.Fatalf("%s: exit %d\n%s", script, code, out)
	}
	return out
}

// pids returns the world's processes whose name (comm) is name, as
// `pidof`/`killall` see them (zombies excluded).
func (w *world) pids(name string) []int {
	w.t.Helper()
	out, _ := w.run("for d in /proc/[0-9]*; do c=$(cat $d/comm 2>/dev/null) || continue; s=$(sed -n 's/^State:\\s*\\(.\\).*/\\1/p' $d/status 2>/dev/null); [ \"$c\" = '" + name + "' ] && [ \"$s\" != Z ] && echo ${d#/proc/}; done; true")
	var p []int
	for _, f := range strings.Fields(out) {
		n, _ := strconv.Atoi(f)
		p = append(p, n)
	}
	return p
}

// waitFor polls a condition script until it exits 0, for at most d.
func (w *world) waitFor(what, script string, d time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	var out string
	for time.Now().Before(deadline) {
		var code int
		if out, code = w.run(script); code == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatalf("%s: not true after %v (%s):\n%s", what, d, script, out)
}

func (w *world) waitNoProcess(name string, d time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if len(w.pids(name)) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("processes named %s still run after %v: %v", name, d, w.pids(name))
}

// installOurs replaces Debian's haproxy and keepalived in the world by
// ours, as a user would: purge theirs (ours conflict with them), install.
func (w *world) installOurs(d debs) string {
	w.t.Helper()
	// hatop recommends haproxy: --force-depends keeps dpkg from refusing.
	w.must("dpkg --purge --force-depends haproxy keepalived")
	w.bootedSysvinit()
	return w.must(fmt.Sprintf("dpkg -i %s %s </dev/null", d.gproxy, d.gkeepalived))
}

// bootedSysvinit makes invoke-rc.d act as on a machine booted with
// sysvinit in runlevel 2: the machine's own policy-rc.d (a container's)
// denies every start, and /sbin/runlevel knows no runlevel in a chroot.
func (w *world) bootedSysvinit() {
	w.t.Helper()
	w.must("rm -f /usr/sbin/policy-rc.d /sbin/runlevel && printf '#!/bin/sh\\necho N 2\\n' > /sbin/runlevel && chmod 755 /sbin/runlevel")
}
