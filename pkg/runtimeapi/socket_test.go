package runtimeapi_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/runtimeapi"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root (socket ownership): run as root (CI does)")
	}
}

// haproxySockets runs Debian's haproxy 2.6 with the given global lines and
// a frontend on a Unix socket (no network), until the test ends; it waits
// for every path in socks to exist.
func haproxySockets(t *testing.T, global string, socks ...string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	text := fmt.Sprintf("global\n%s\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nlisten l\n    bind %s\n    server s 127.0.0.1:9\n", global, filepath.Join(dir, "fe.sock"))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("haproxy", "-db", "-f", cfg)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("haproxy 2.6 (the reference) cannot run: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range socks {
		for {
			if _, err := os.Stat(s); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("haproxy never created %s", s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// ownership is what `ls -l` shows of a socket file.
func ownership(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
}

// TestIntegrationStatsSocketOwner: `mode`, `user`/`group` and `uid`/`gid`
// of a stats socket give the file the owner and mode haproxy 2.6 gives it.
func TestIntegrationStatsSocketOwner(t *testing.T) {
	needRoot(t)
	ref, ours := t.TempDir(), t.TempDir()
	haproxySockets(t, fmt.Sprintf("    stats socket %s/names.sock mode 640 user nobody group nogroup\n    stats socket %s/ids.sock mode 604 uid 65534 gid 4", ref, ref),
		ref+"/names.sock", ref+"/ids.sock")
	cmds := &runtimeapi.Commands{}
	for _, sock := range []haproxycfg.StatsSocket{
		{Path: ours + "/names.sock", Mode: 0o640, User: "nobody", Group: "nogroup", UID: -1, GID: -1},
		{Path: ours + "/ids.sock", Mode: 0o604, UID: 65534, GID: 4},
	} {
		srv, err := runtimeapi.Listen(sock, time.Second, cmds, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
	}
	for _, name := range []string{"names.sock", "ids.sock"} {
		want := ownership(t, filepath.Join(ref, name))
		if got := ownership(t, filepath.Join(ours, name)); got != want {
			t.Errorf("%s: %s, haproxy 2.6 gives %s", name, got, want)
		}
	}
	if want := "Srw-r----- 65534:65534"; ownership(t, filepath.Join(ref, "names.sock")) != want {
		t.Errorf("the reference changed: %s, want %s", ownership(t, filepath.Join(ref, "names.sock")), want)
	}
	// An unknown user is an error naming the socket, not a root-owned file.
	_, err := runtimeapi.Listen(haproxycfg.StatsSocket{Path: ours + "/bad.sock", User: "no-such-user-here", UID: -1, GID: -1}, time.Second, cmds, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "no-such-user-here") {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := os.Stat(ours + "/bad.sock"); !os.IsNotExist(err) {
		t.Errorf("socket file created for a failed listen: %v", err)
	}
}

// listenQueue reads, from `ss`, the accept queue and backlog of the Unix
// listening socket bound at a name starting with prefix.
func listenQueue(t *testing.T, prefix string) (queued, backlog int) {
	t.Helper()
	out, err := exec.Command("ss", "-xlnH").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && strings.HasPrefix(f[4], prefix) {
			fmt.Sscan(f[2], &queued)
			fmt.Sscan(f[3], &backlog)
			return queued, backlog
		}
	}
	t.Fatalf("no listening socket named %s* in:\n%s", prefix, out)
	return 0, 0
}

// tenSessionsThenQueue holds MaxConns prompt sessions on sock, then checks
// that an 11th client is queued, not accepted nor refused, and that it is
// served once a session ends.
func tenSessionsThenQueue(t *testing.T, sock string) {
	t.Helper()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < runtimeapi.MaxConns; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "prompt\n")
		// The prompt proves the session was accepted; "prompt" answers
		// with an empty line, as every command.
		if p, err := bufio.NewReader(c).ReadString(' '); p != "\n> " {
			t.Fatalf("session %d: %q, %v", i+1, p, err)
		}
	}
	// Bound as PATH.PID.tmp, then renamed: ss shows the bound name.
	if q, b := listenQueue(t, sock+"."); q != 0 || b != runtimeapi.MaxConns {
		t.Fatalf("with %d sessions: %d queued, backlog %d; want 0 and %d", runtimeapi.MaxConns, q, b, runtimeapi.MaxConns)
	}
	extra, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("the 11th client was refused: %v", err)
	}
	defer extra.Close()
	_ = extra.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(extra, "show info\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if q, _ := listenQueue(t, sock+"."); q == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the 11th client is not in the accept queue")
		}
		time.Sleep(20 * time.Millisecond)
	}
	held[0].Close()
	line, err := bufio.NewReader(extra).ReadString('\n')
	if line != "Name: HAProxy\n" {
		t.Fatalf("the 11th client after a session ended: %q, %v", line, err)
	}
}

// TestStatsSocketTenSessions: at most 10 sessions per stats socket, the
// next client waiting in the backlog, as haproxy 2.6 (checked on it too).
func TestStatsSocketTenSessions(t *testing.T) {
	t.Run("haproxy 2.6", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "ref.sock")
		haproxySockets(t, "    stats socket "+sock+" level admin", sock)
		tenSessionsThenQueue(t, sock)
	})
	t.Run("gproxy", func(t *testing.T) {
		e := start(t, "admin")
		tenSessionsThenQueue(t, e.sock)
	})
}

func TestParseMasterSocket(t *testing.T) {
	good := []struct {
		spec string
		want haproxycfg.StatsSocket
	}{
		{"/run/haproxy-master.sock", haproxycfg.StatsSocket{Path: "/run/haproxy-master.sock", Level: "admin", UID: -1, GID: -1}},
		{"unix@/run/m.sock,mode,600,level,operator", haproxycfg.StatsSocket{Path: "/run/m.sock", Mode: 0o600, Level: "operator", UID: -1, GID: -1}},
		{"/run/m.sock,user,haproxy,group,haproxy", haproxycfg.StatsSocket{Path: "/run/m.sock", Level: "admin", User: "haproxy", Group: "haproxy", UID: -1, GID: -1}},
		{"/run/m.sock,uid,0,gid,4", haproxycfg.StatsSocket{Path: "/run/m.sock", Level: "admin", UID: 0, GID: 4}},
	}
	for _, tt := range good {
		got, err := runtimeapi.ParseMasterSocket(tt.spec)
		if err != nil || got != tt.want {
			t.Errorf("ParseMasterSocket(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
	// haproxy 2.6's words where it has them.
	bad := map[string]string{
		"/run/m.sock,bogus":       "'/run/m.sock bogus' : unknown keyword 'bogus'.",
		"/run/m.sock,mode,9":      "'mode' : missing or invalid mode '9' (octal integer expected)",
		"/run/m.sock,level,root":  "'level' only supports 'user', 'operator', and 'admin' (got 'root')",
		"/run/m.sock,uid,x":       "missing or invalid uid 'x'",
		"ipv4@127.0.0.1:9999":     "only UNIX socket paths are implemented by gproxy",
		"127.0.0.1:9999,level,op": "only UNIX socket paths",
	}
	for spec, want := range bad {
		if _, err := runtimeapi.ParseMasterSocket(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMasterSocket(%q) = %v, want an error containing %q", spec, err, want)
		}
	}
}
