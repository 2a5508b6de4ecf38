package gproxyd_test

import (
	"fmt"
	"io"
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

// mcli sends input to a master CLI and returns everything it answers
// until it closes (socat's habit: the input, then end of input).
func mcli(t *testing.T, sock, input string) string {
	t.Helper()
	// haproxy's master re-executes itself on reload, and while it starts
	// its socket may refuse or reset a connection: retry for a while when
	// nothing was answered.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := mcliOnce(sock, input)
		if err == nil {
			return out
		}
		if out != "" || time.Now().After(deadline) {
			t.Fatalf("master CLI %s %q: %v (got %q)", sock, input, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mcliOnce(sock, input string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, input); err != nil {
		return "", err
	}
	_ = c.(*net.UnixConn).CloseWrite()
	out, err := io.ReadAll(c)
	return string(out), err
}

var procLine = regexp.MustCompile(`(?m)^(\d+)\s+(master|worker)\s+(\d+)`)

// procs reads `show proc`: the master's pid, then the workers' (current
// first, then the old ones).
func procs(out string) (master int, workers []int) {
	for _, m := range procLine.FindAllStringSubmatch(out, -1) {
		pid, _ := strconv.Atoi(m[1])
		if m[2] == "master" {
			master = pid
		} else {
			workers = append(workers, pid)
		}
	}
	return master, workers
}

// masterRun is one master-worker process (haproxy or gproxy) and what a
// user reads from its master CLI, with the pids named by role and the
// uptimes blanked: the only things that differ by nature.
type masterRun struct {
	t     *testing.T
	sock  string
	names map[int]string
}

var uptime = regexp.MustCompile(`\d+d\d\dh\d\dm\d\ds`)

func (r *masterRun) ask(input string) string {
	out := mcli(r.t, r.sock, input)
	m, ws := procs(mcli(r.t, r.sock, "show proc\n"))
	if _, ok := r.names[m]; !ok && m != 0 {
		r.names[m] = "MASTER"
	}
	for _, w := range ws {
		if _, ok := r.names[w]; !ok {
			r.names[w] = fmt.Sprintf("WORKER%d", len(r.names))
		}
	}
	out = uptime.ReplaceAllString(out, "UPTIME")
	return regexp.MustCompile(`\b\d{2,8}\b`).ReplaceAllStringFunc(out, func(s string) string {
		n, _ := strconv.Atoi(s)
		if name, ok := r.names[n]; ok {
			return name
		}
		return s
	})
}

// waitProc polls `show proc` until it matches re.
func (r *masterRun) waitProc(re string) string {
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := mcli(r.t, r.sock, "show proc\n")
		if regexp.MustCompile(re).MatchString(out) {
			return out
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("show proc never matched %s:\n%s", re, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// masterScenario drives a master CLI the way an operator does with socat
// and returns each answer, normalised.
func masterScenario(t *testing.T, bin string) []string {
	dir := t.TempDir()
	be := echoBackend(t, "web01")
	addr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
	cfg := filepath.Join(dir, "haproxy.cfg")
	good := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nlisten l\n    bind %s\n    server s %s\n", addr, be)
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &masterRun{t: t, sock: filepath.Join(dir, "master.sock"), names: map[int]string{}}
	cmd := exec.Command(bin, "-W", "-S", r.sock+",mode,600", "-f", cfg)
	out := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, out)
		}
	})
	haproxytest.StartProc(t, cmd)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// haproxy names the file before it listens on it.
		if c, err := net.Dial("unix", r.sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never created %s\n%s", bin, r.sock, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.waitProc(`(?m)^\d+\s+worker`)
	waitListening(t, addr)

	var got []string
	for _, in := range []string{
		"show proc\n", "help\n", "help show\n", "show version; show cli level\n", "show\n", "\n",
		"user; show cli level; reload\n", "user; operator\n", "@1 show cli level\n", "@1 show version\n",
		"@2 show info\n", "@!1 show info\n", "@nope\n", "@0 show version\n", "@master show cli level\n",
		"prompt\nshow version\n@1\nshow cli level\n@\nquit\n",
	} {
		got = append(got, in+" => "+r.ask(in))
	}
	info := r.ask("@1 show info\n")
	if !strings.HasPrefix(info, "Name: HAProxy\n") || !strings.Contains(info, "\nPid: WORKER1\n") {
		t.Errorf("%s: @1 show info does not describe the current worker:\n%s", bin, info)
	}
	// A session keeps the first worker busy through a reload.
	long, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	if _, err := long.Read(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	got = append(got, "reload => "+r.ask("reload\n"))
	r.waitProc(`# old workers\n\d+\s+worker\s+1 `)
	for _, in := range []string{"show proc\n", "@!" + pidOf(r, "WORKER1") + " show cli level\n", "prompt\n@!" + pidOf(r, "WORKER1") + "\nshow version\n"} {
		got = append(got, strings.ReplaceAll(in, pidOf(r, "WORKER1"), "WORKER1")+" => "+r.ask(in))
	}
	// A reload that fails keeps the workers and says so.
	if err := os.WriteFile(cfg, []byte(good+"listen broken\n    bind nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got = append(got, "failed reload => "+r.ask("reload\n"))
	r.waitProc(`\[failed: 1\]`)
	for _, in := range []string{"show proc\n", "prompt\nshow version\n"} {
		got = append(got, in+" => "+r.ask(in))
	}
	return got
}

func pidOf(r *masterRun, name string) string {
	for pid, n := range r.names {
		if n == name {
			return strconv.Itoa(pid)
		}
	}
	r.t.Fatalf("no process named %s yet", name)
	return ""
}

// TestIntegrationMasterCLI: gproxy's -S master CLI answers as haproxy 2.6's
// (run here on the same scenario): show proc before and after reloads
// (with an old worker still serving, then a failed reload), help, levels,
// prefixes to the current and to an old worker, prompt mode and errors.
func TestIntegrationMasterCLI(t *testing.T) {
	needRoot(t)
	ref := masterScenario(t, "haproxy")
	got := masterScenario(t, gproxyBin)
	t.Logf("haproxy 2.6 answered:\n%s", strings.Join(ref, "\n"))
	for i := range ref {
		if i >= len(got) {
			break
		}
		if got[i] != ref[i] {
			t.Errorf("gproxy:\n%s\nhaproxy 2.6:\n%s", got[i], ref[i])
		}
	}
	if len(got) != len(ref) {
		t.Errorf("%d answers, haproxy gave %d", len(got), len(ref))
	}
}

// diagLines keeps a run's [WARNING] and [ALERT] lines, pids and the
// temporary directory replaced.
func diagLines(out, dir string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[WARNING]") || strings.HasPrefix(l, "[ALERT]") {
			l = regexp.MustCompile(`\(\d+\)`).ReplaceAllString(l, "(PID)")
			lines = append(lines, strings.ReplaceAll(l, dir, "DIR"))
		}
	}
	return strings.Join(lines, "\n")
}

// TestIntegrationMasterSocketOptions: -S options as haproxy 2.6 takes them:
// a bad one stops the start with its words, -S without -W is a warning,
// mode/uid/gid give the socket file the same owner and mode.
func TestIntegrationMasterSocketOptions(t *testing.T) {
	needRoot(t)
	be := echoBackend(t, "web01")
	cfgFor := func() string {
		return writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind 127.0.0.1:%d\n    server s %s\n", porttest.Free(t), be))
	}
	// run starts bin until its output matches until (or it exits), then
	// stops it; it returns the exit code (-1 if stopped) and the output.
	run := func(bin, until string, args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		out := &lockedBuf{}
		cmd.Stdout, cmd.Stderr = out, out
		haproxytest.StartProc(t, cmd)
		done := make(chan int, 1)
		// cmd.Wait: the output is complete once it returns (no worker
		// outlives these runs to hold the pipe).
		go func() { _ = cmd.Wait(); done <- cmd.ProcessState.ExitCode() }()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case code := <-done:
				return code, out.String()
			case <-deadline:
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("%s %q: neither exited nor printed %q in 10 s\n%s", bin, args, until, out)
			case <-time.After(20 * time.Millisecond):
				if until != "" && regexp.MustCompile(until).MatchString(out.String()) {
					_ = cmd.Process.Kill()
					<-done
					return -1, out.String()
				}
			}
		}
	}
	type result struct {
		code int
		diag string
	}
	scenario := func(bin string) []result {
		dir := t.TempDir()
		var res []result
		code, out := run(bin, "", "-W", "-S", dir+"/m.sock,bogus", "-f", cfgFor())
		res = append(res, result{code, diagLines(out, dir)})
		code, out = run(bin, "master-worker mode", "-db", "-S", dir+"/m.sock", "-f", cfgFor())
		res = append(res, result{code, diagLines(out, dir)})
		if _, err := os.Stat(dir + "/m.sock"); !os.IsNotExist(err) {
			t.Errorf("%s: -S without -W created the socket: %v", bin, err)
		}
		sock := dir + "/owned.sock"
		startGproxyBin(t, bin, "-W", "-S", sock+",mode,640,uid,65534,gid,4", "-f", cfgFor())
		deadline := time.Now().Add(10 * time.Second)
		for {
			if c, err := net.Dial("unix", sock); err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never served %s", bin, sock)
			}
			time.Sleep(20 * time.Millisecond)
		}
		fi, err := os.Stat(sock)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		res = append(res, result{0, fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)})
		return res
	}
	ref, got := scenario("haproxy"), scenario(gproxyBin)
	for i := range ref {
		if got[i] != ref[i] {
			t.Errorf("case %d: gproxy %+v\nhaproxy 2.6 %+v", i, got[i], ref[i])
		}
	}
	if ref[0].code != 1 || !strings.Contains(ref[0].diag, "unknown keyword 'bogus'") {
		t.Errorf("the reference changed: %+v", ref[0])
	}
}

func startGproxyBin(t *testing.T, bin string, args ...string) (*exec.Cmd, *lockedBuf) {
	t.Helper()
	out := &lockedBuf{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// A -W/-Ws master and its workers die with the test, even by timeout.
	haproxytest.StartProc(t, cmd)
	return cmd, out
}

// TestIntegrationMasterLogLines: the master's own lines through a start,
// a reload, a failed reload and a soft stop are haproxy 2.6's (run on the
// same steps), pids aside.
func TestIntegrationMasterLogLines(t *testing.T) {
	needRoot(t)
	scenario := func(bin string) string {
		be := echoBackend(t, "web01")
		addr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		good := fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    server s %s\n", addr, be)
		cfg := writeConfig(t, good)
		sock := filepath.Join(t.TempDir(), "m.sock")
		cmd, out := startGproxyBin(t, bin, "-W", "-S", sock, "-f", cfg)
		r := &masterRun{t: t, sock: sock, names: map[int]string{}}
		r.waitProc(`(?m)^\d+\s+worker`)
		waitListening(t, addr)
		// The worker answers: it is fully started (haproxy's may otherwise
		// miss the soft stop of the reload).
		if v := r.ask("@1 show version\n"); v != "2.6.12-1+deb12u4\n\n" {
			t.Fatalf("%s: @1 show version: %q", bin, v)
		}
		_ = cmd.Process.Signal(syscall.SIGUSR2)
		r.waitProc(`master\s+1 \[failed: 0\](?s:.*)# workers\n\d+\s+worker\s+0 `)
		r.waitProc(`(?m)# workers\n\d+\s+worker\s+0 [^\n]*\n# programs`) // the old worker is gone
		if err := os.WriteFile(cfg, []byte(good+"listen broken\n    bind nope\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Process.Signal(syscall.SIGUSR2)
		r.waitProc(`\[failed: 1\]`)
		_ = cmd.Process.Signal(syscall.SIGUSR1)
		done := make(chan struct{})
		// cmd.Wait: the output is complete (the workers are gone too).
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the master still runs 10 s after SIGUSR1\n%s", bin, out)
		}
		master := regexp.MustCompile(`\((\d+)\)`).FindStringSubmatch(out.String())[1]
		var lines []string
		for _, l := range strings.Split(out.String(), "\n") {
			// The master's lines, without those haproxy prints again when
			// it re-executes itself and the configuration's own alerts.
			if !strings.Contains(l, "("+master+")") || strings.Contains(l, "haproxy version is") ||
				strings.Contains(l, "path to executable") || strings.Contains(l, "config :") {
				continue
			}
			lines = append(lines, regexp.MustCompile(`\(\d+\)`).ReplaceAllString(l, "(PID)"))
		}
		return strings.Join(lines, "\n")
	}
	ref, got := scenario("haproxy"), scenario(gproxyBin)
	if got != ref {
		t.Errorf("gproxy's master said:\n%s\nhaproxy 2.6's:\n%s", got, ref)
	}
}

// TestIntegrationMasterWorkerKilled: a worker killed by SIGKILL makes the
// master stop with haproxy 2.6's lines and exit status (137 = 128 + 9).
func TestIntegrationMasterWorkerKilled(t *testing.T) {
	needRoot(t)
	scenario := func(bin string) (int, string) {
		be := echoBackend(t, "web01")
		addr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
		cfg := writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    server s %s\n", addr, be))
		sock := filepath.Join(t.TempDir(), "m.sock")
		cmd, out := startGproxyBin(t, bin, "-W", "-S", sock, "-f", cfg)
		r := &masterRun{t: t, sock: sock, names: map[int]string{}}
		_, workers := procs(r.waitProc(`(?m)^\d+\s+worker`))
		waitListening(t, addr)
		if err := syscall.Kill(workers[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		done := make(chan int, 1)
		go func() { _ = cmd.Wait(); done <- cmd.ProcessState.ExitCode() }()
		select {
		case code := <-done:
			var lines []string
			for _, l := range strings.Split(out.String(), "\n") {
				if (strings.HasPrefix(l, "[ALERT]") || strings.HasPrefix(l, "[WARNING]")) && !strings.Contains(l, "haproxy version") {
					lines = append(lines, regexp.MustCompile(`\(\d+\) :`).ReplaceAllString(strings.ReplaceAll(l, strconv.Itoa(workers[0]), "WORKER"), "(PID) :"))
				}
			}
			return code, strings.Join(lines, "\n")
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the master still runs 10 s after its worker was killed\n%s", bin, out)
		}
		return 0, ""
	}
	refCode, ref := scenario("haproxy")
	code, got := scenario(gproxyBin)
	if code != refCode || got != ref {
		t.Errorf("gproxy: exit %d\n%s\nhaproxy 2.6: exit %d\n%s", code, got, refCode, ref)
	}
}
