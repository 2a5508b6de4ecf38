package gproxyd_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// Command-line flags that change behaviour, each against the reference
// haproxy 2.6 where both can run.

// runBoth runs haproxy and gproxy with the same arguments and returns
// their outputs (stdout and stderr) and exit codes.
func runBoth(t *testing.T, dir string, args ...string) (ref, got string, refCode, gotCode int) {
	t.Helper()
	run := func(bin string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput()
		return normalize(string(out)), cmd.ProcessState.ExitCode()
	}
	ref, refCode = run(haproxytest.Bin)
	got, gotCode = run(gproxyBin)
	return
}

// TestFlagChDir: -C changes directory before the files are read; a
// missing directory is haproxy's alert and exit 1.
func TestFlagChDir(t *testing.T) {
	dir := t.TempDir()
	rel := "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten x\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n"
	if err := os.WriteFile(filepath.Join(dir, "rel.cfg"), []byte(rel), 0o644); err != nil {
		t.Fatal(err)
	}
	ref, got, rc, gc := runBoth(t, "/", "-C", dir, "-c", "-f", "rel.cfg")
	if gc != 0 || rc != gc || got != ref {
		t.Errorf("-C DIR -c -f rel.cfg: haproxy %d %q, gproxy %d %q", rc, ref, gc, got)
	}
	ref, got, rc, gc = runBoth(t, "/", "-C", filepath.Join(dir, "nonexistent"), "-c", "-f", "rel.cfg")
	if gc != 1 || rc != gc || got != ref || !strings.Contains(got, "Could not change to directory") {
		t.Errorf("-C missing: haproxy %d %q, gproxy %d %q", rc, ref, gc, got)
	}
}

// TestIntegrationFlagChDirDaemon: with a relative -C, the re-executed
// daemon lands in the same directory (it gets the absolute path): it
// serves, and the relative pidfile is written there.
func TestIntegrationFlagChDirDaemon(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	port := porttest.Free(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "etc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten l\n  bind 127.0.0.1:%d\n  server web01 %s\n", port, be)
	if err := os.WriteFile(filepath.Join(dir, "h.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gproxyBin, "-C", "etc", "-D", "-p", "h.pid", "-f", "h.cfg")
	cmd.Dir = parent
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gproxy -C etc -D: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "h.pid"))
	if err != nil {
		t.Fatalf("pidfile not in the -C directory: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if got, err := greet(fmt.Sprintf("127.0.0.1:%d", port)); err != nil || got != "web01" {
		t.Fatalf("daemon started with -C does not serve: %q, %v", got, err)
	}
}

// TestFlagLocalPeer: -L sets HAPROXY_LOCALPEER (the host name without
// it), which a configuration can use.
func TestFlagLocalPeer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lp.cfg"), []byte("listen x\n  \"${HAPROXY_LOCALPEER}\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "-f", "lp.cfg"}, "unknown keyword '" + host + "'"},
		{[]string{"-L", "peer1", "-c", "-f", "lp.cfg"}, "unknown keyword 'peer1'"},
	} {
		ref, got, rc, gc := runBoth(t, dir, c.args...)
		if rc != gc || got != ref || !strings.Contains(got, c.want) {
			t.Errorf("%q: haproxy %d %q, gproxy %d %q", c.args, rc, ref, gc, got)
		}
	}
}

// TestFlagRefusedOrCosmetic: -m cannot be honoured by a Go runtime and is
// a usage error; the poller, splice, TLS-verify and memory-debug switches
// are accepted and change nothing; unknown flags are usage errors.
func TestFlagRefusedOrCosmetic(t *testing.T) {
	p := writeConfig(t, "global\n  stats socket /nonexistent/s.sock\ndefaults\n  mode tcp\n")
	for _, args := range [][]string{{"-m", "100"}, {"-dG"}, {"-dR"}, {"-Z"}, {"-N", "x"}} {
		cmd := exec.Command(gproxyBin, append(args, "-c", "-f", p)...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "Usage : haproxy") || strings.Contains(string(out), "valid") {
			t.Errorf("%q: exit %d, want 1 with the usage:\n%s", args, cmd.ProcessState.ExitCode(), out)
		}
	}
	cmd := exec.Command(gproxyBin, "-de", "-dp", "-dS", "-dV", "-dM", "-dM0x20,no-merge", "-c", "-f", p)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Errorf("cosmetic flags refused: %v\n%s", err, out)
	}
}

// TestIntegrationFlagProxyMaxConn: -N is the maxconn of frontends that set
// none; -n the global one. Seen in the stats socket's slim and Maxconn, as
// haproxy shows them.
func TestIntegrationFlagProxyMaxConn(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	p1, p2 := porttest.Free(t), porttest.Free(t)
	cfg := fmt.Sprintf("global\n  maxconn 100\n  stats socket %s level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n"+
		"frontend f\n  bind 127.0.0.1:%d\n  default_backend b\nfrontend g\n  bind 127.0.0.1:%d\n  maxconn 7\n  default_backend b\nbackend b\n  server s 127.0.0.1:9\n", sock, p1, p2)
	path := filepath.Join(dir, "n.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := func(bin string, args ...string) string {
		cmd := exec.Command(bin, append(args, "-db", "-f", path)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); os.Remove(sock) }()
		var info, stat string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if info = cli(sock, "show info"); info != "" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		stat = cli(sock, "show stat")
		var out []string
		for _, l := range strings.Split(info, "\n") {
			if strings.HasPrefix(l, "Maxconn:") {
				out = append(out, l)
			}
		}
		for _, l := range strings.Split(stat, "\n") {
			if f := strings.Split(l, ","); len(f) > 7 && f[1] == "FRONTEND" {
				out = append(out, f[0]+" slim "+f[6])
			}
		}
		return strings.Join(out, "; ")
	}
	for _, args := range [][]string{{"-N", "5"}, {"-n", "50", "-N", "5"}} {
		ref, got := seen(haproxytest.Bin, args...), seen(gproxyBin, args...)
		if got != ref || !strings.Contains(got, "f slim 5") || !strings.Contains(got, "g slim 7") {
			t.Errorf("%q: haproxy %q, gproxy %q", args, ref, got)
		}
	}
}

// cli sends one command to a stats socket and returns the answer ("" if
// nothing listens yet).
func cli(sock, command string) string {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	// Generous: a TLS command (commit ssl, add server ssl) on a loaded
	// machine took more than 3 s, and the answer came back empty.
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintln(c, command)
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// TestFlagVerboseAndQuiet: `quiet` in global silences -c as -q does, and
// -V undoes both (before, `quiet` was parsed and dropped and -V ignored).
func TestFlagVerboseAndQuiet(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "q.cfg"), []byte("global\n  quiet\ndefaults\n  mode tcp\nlisten l\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"-V"}, {"-q"}, {"-q", "-V"}} {
		ref, got, rc, gc := runBoth(t, dir, append(args, "-c", "-f", "q.cfg")...)
		if rc != gc || got != ref {
			t.Errorf("%q: haproxy %d %q, gproxy %d %q", args, rc, ref, gc, got)
		}
		verbose := len(args) > 0 && args[len(args)-1] == "-V"
		if strings.Contains(got, "missing timeouts") != verbose {
			t.Errorf("%q: warnings shown %v, want %v:\n%s", args, !verbose, verbose, got)
		}
	}
}
