package runtimeapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/health/healthtest"
	"hapair/pkg/proxy"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/stats"
)

func TestSplitLine(t *testing.T) {
	tests := []struct {
		in   string
		want [][]string
	}{
		{"show info\n", [][]string{{"show", "info"}}},
		{"show info; show stat", [][]string{{"show", "info"}, {"show", "stat"}}},
		{"  set   weight\tbe/s1 10 \r\n", [][]string{{"set", "weight", "be/s1", "10"}}},
		{`set server a\ b/c state ready`, [][]string{{"set", "server", "a b/c", "state", "ready"}}},
		{`show info\;x`, [][]string{{"show", "info;x"}}},
		{"", [][]string{nil}},
	}
	for _, tt := range tests {
		got, err := runtimeapi.SplitLine(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := runtimeapi.SplitLine(strings.Repeat("a ", 100)); err == nil {
		t.Error("100 words accepted, haproxy's limit is 64")
	}
}

type env struct {
	eng  *proxy.Engine
	src  *stats.Source
	cmds *runtimeapi.Commands
	sock string
	fe   int
	logs chan string
}

func start(t *testing.T, level string, servers ...*healthtest.Nginx) *env {
	t.Helper()
	e := &env{fe: healthtest.FreePort(t), sock: filepath.Join(t.TempDir(), "admin.sock"), logs: make(chan string, 100)}
	var lines []string
	for i, n := range servers {
		lines = append(lines, fmt.Sprintf("    server s%d %s check inter 100ms", i+1, n.Addr()))
	}
	cfgText := fmt.Sprintf(`
global
    stats socket %s mode 660 level %s
    stats timeout 30s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    balance roundrobin
%s
`, e.sock, level, e.fe, strings.Join(lines, "\n"))
	cfg, eng := healthtest.Engine(t, cfgText, zerolog.Nop(), nil)
	e.eng = eng
	mon := health.Start(eng, health.Options{Logger: zerolog.Nop()})
	t.Cleanup(mon.Close)
	e.cmds = &runtimeapi.Commands{Log: func(px *haproxycfg.Proxy, l haproxycfg.Level, msg string) {
		select {
		case e.logs <- fmt.Sprintf("<%d>%s", l, msg):
		default:
		}
	}}
	e.src = &stats.Source{Config: cfg, Engine: eng, Checks: mon, PID: os.Getpid(), Start: time.Now(), UserWeight: e.cmds.UserWeight}
	e.cmds.Source = e.src
	srv, err := runtimeapi.Listen(cfg.Global.StatsSockets[0], cfg.Global.StatsTimeout, e.cmds, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return e
}

// socat sends input to the socket with socat, as operators do.
func socat(t *testing.T, sock, input string) string {
	t.Helper()
	cmd := exec.Command("socat", "-t", "5", "-", "UNIX-CONNECT:"+sock)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("socat %q: %v\n%s", input, err, out)
	}
	return string(out)
}

func keys(text string) []string {
	var k []string
	for _, l := range strings.Split(text, "\n") {
		if name, _, ok := strings.Cut(l, ": "); ok {
			k = append(k, name)
		}
	}
	return k
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSocatShowCommands compares `show info`, `show servers state`, `show
// stat` and `help` with haproxy 2.6's (testdata/haproxy26_*.txt).
func TestSocatShowCommands(t *testing.T) {
	s1, s2 := healthtest.StartNginx(t, "s1"), healthtest.StartNginx(t, "s2")
	e := start(t, "admin", s1, s2)
	if fi, err := os.Stat(e.sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket %s: %v, mode %v; want mode 660", e.sock, err, fi.Mode())
	}

	info := socat(t, e.sock, "show info\n")
	ref := golden(t, "haproxy26_info.txt")
	if !reflect.DeepEqual(keys(info), keys(ref)) {
		t.Errorf("show info fields:\n%q\nhaproxy 2.6:\n%q", keys(info), keys(ref))
	}
	if !strings.HasSuffix(info, "Tainted: 0\n\n") || !strings.Contains(info, fmt.Sprintf("\nPid: %d\n", os.Getpid())) {
		t.Errorf("show info ending or pid wrong:\n%s", info)
	}

	healthtest.Eventually(t, "checks ran", func() bool {
		a, _ := e.src.Checks.Snapshot(e.eng.Backend("web").Server("s1"))
		b, _ := e.src.Checks.Snapshot(e.eng.Backend("web").Server("s2"))
		return a.Last.Code == health.CodeL4OK && b.Last.Code == health.CodeL4OK
	})
	state := socat(t, e.sock, "show servers state\n")
	refState := strings.Split(golden(t, "haproxy26_servers_state.txt"), "\n")
	got := strings.Split(state, "\n")
	if got[0] != "1" || got[1] != refState[1] {
		t.Fatalf("show servers state header:\n%s\nhaproxy:\n%s", strings.Join(got[:2], "\n"), strings.Join(refState[:2], "\n"))
	}
	// mode http without httpchk: TCP checks as haproxy, L4OK = 6; the
	// check state is 7 while a check runs (CHK_ST_INPROGRESS), as haproxy.
	re := regexp.MustCompile(`^2 web 1 s1 127\.0\.0\.1 2 0 1 1 \d+ 6 3 4 [67] 0 0 0 - \d+ - 0 0 - - 0$`)
	if !re.MatchString(got[2]) {
		t.Errorf("s1 state line %q, want like haproxy's %q", got[2], refState[2])
	}
	if !strings.HasSuffix(state, "\n\n") {
		t.Errorf("show servers state does not end with an empty line: %q", state)
	}

	stat := socat(t, e.sock, "show stat\n")
	refHdr := strings.SplitN(golden(t, "haproxy26_showstat.txt"), "\n", 2)[0]
	if strings.SplitN(stat, "\n", 2)[0] != refHdr {
		t.Errorf("show stat header differs from haproxy's")
	}
	if !strings.Contains(stat, "\nweb,s1,") || !strings.Contains(stat, "\nweb,BACKEND,") || !strings.HasSuffix(stat, "\n\n") {
		t.Errorf("show stat rows:\n%s", stat)
	}

	// Filters as hatop's -f uses them (type mask 4 = servers).
	for in, want := range map[string][]string{
		"show stat -1 4 -1\n": {"web,s1", "web,s2"},
		"show stat 2 1 -1\n":  {"web,FRONTEND"},
		"show stat web 6 2\n": {"web,s2", "web,BACKEND"},
	} {
		lines := strings.Split(strings.TrimSpace(socat(t, e.sock, in)), "\n")[1:]
		var got []string
		for _, l := range lines {
			f := strings.SplitN(l, ",", 3)
			got = append(got, f[0]+","+f[1])
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%q rows %v, want %v", in, got, want)
		}
	}
	if got := socat(t, e.sock, "show stat nosuch 2 -1\n"); got != "No such proxy.\n\n" {
		t.Errorf("unknown proxy: %q", got)
	}

	help := socat(t, e.sock, "help\n")
	lineRE := regexp.MustCompile(`^  .{39} : .+$`)
	lines := strings.Split(strings.TrimSpace(help), "\n")
	if lines[0] != "The following commands are valid at this level:" {
		t.Errorf("help first line %q", lines[0])
	}
	for _, l := range lines[1:] {
		if !lineRE.MatchString(l) {
			t.Errorf("help line not in haproxy's layout: %q", l)
		}
	}
	for _, want := range []string{"  get weight <bk>/<srv>                   : ", "  prompt                                  : toggle interactive mode with prompt", "  quit                                    : disconnect"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q (haproxy's line layout)", want)
		}
	}
}

// TestSocatDrivesServers changes servers' states and weights and checks
// the traffic follows, with haproxy's answers and error messages.
func TestSocatDrivesServers(t *testing.T) {
	s1, s2 := healthtest.StartNginx(t, "s1"), healthtest.StartNginx(t, "s2")
	e := start(t, "admin", s1, s2)
	url := fmt.Sprintf("http://127.0.0.1:%d/", e.fe)
	tests := []struct{ in, want string }{
		{"set weight web/s1 5\n", "\n"},
		{"get weight web/s1\n", "5 (initial 1)\n\n"},
		{"set weight web/nosuch 1\n", "No such server.\n\n"},
		{"set weight nosuch/s1 1\n", "No such backend.\n\n"},
		{"set weight web/s1 300\n", "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
		{"set weight web/s1\n", "Require <weight> or <weight%>.\n\n"},
		{"disable server web\n", "Require 'backend/server'.\n\n"},
		{"set server web/s1 state bogus\n", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"},
		{"show servers state nosuch\n", "Can't find backend.\n\n"},
		{"set weight web/s1 1\n", "\n"},
	}
	for _, tt := range tests {
		if got := socat(t, e.sock, tt.in); got != tt.want {
			t.Errorf("%q answered %q, haproxy 2.6 answers %q", tt.in, got, tt.want)
		}
	}

	socat(t, e.sock, "disable server web/s1\n")
	if st := e.eng.Backend("web").Server("s1").Status(); st != proxy.StatusMaint {
		t.Fatalf("after disable server: %v", st)
	}
	select {
	case l := <-e.logs:
		if l != "<1>Server web/s1 is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue." {
			t.Errorf("maintenance log line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Error("no log line for maintenance")
	}
	for range 6 {
		if got := healthtest.Get(url); got != "s2" {
			t.Fatalf("answer %q with s1 in maintenance", got)
		}
	}
	if !strings.Contains(socat(t, e.sock, "show stat\n"), "\nweb,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,") {
		t.Error("show stat does not show s1 MAINT")
	}
	socat(t, e.sock, "set server web/s1 state ready; set server web/s2 state drain\n")
	for _, want := range []string{
		"<5>Server web/s1 is UP/READY (leaving forced maintenance).",
		"<5>Server web/s2 enters drain state. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
	} {
		select {
		case l := <-e.logs:
			if l != want {
				t.Errorf("log line %q, haproxy 2.6 logs %q", l, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("no log line %q", want)
		}
	}
	for range 6 {
		if got := healthtest.Get(url); got != "s1" {
			t.Fatalf("answer %q with s2 draining", got)
		}
	}
	socat(t, e.sock, "enable server web/s1; set server web/s2 state ready\n")
	seen := map[string]bool{}
	for range 6 {
		seen[healthtest.Get(url)] = true
	}
	if !seen["s1"] || !seen["s2"] {
		t.Errorf("after enabling both, answers from %v", seen)
	}
}

// TestPromptSession talks to the socket as hatop and socat's readline mode
// do: `prompt`, then commands each answered and followed by "> ".
func TestPromptSession(t *testing.T) {
	s1 := healthtest.StartNginx(t, "s1")
	e := start(t, "operator", s1)
	c, err := net.Dial("unix", e.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	readPrompt := func() string {
		var b strings.Builder
		for {
			ch, err := r.ReadByte()
			if err != nil {
				t.Fatalf("reading to the prompt: %v (got %q)", err, b.String())
			}
			b.WriteByte(ch)
			if strings.HasSuffix(b.String(), "> ") {
				return strings.TrimSuffix(b.String(), "> ")
			}
		}
	}
	// haproxy 2.6 answers "prompt" with an empty line, then the prompt
	// (testdata/haproxy26_prompt.txt).
	fmt.Fprint(c, "prompt\n")
	if got := readPrompt(); got != "\n" {
		t.Errorf("prompt answered %q before the prompt, want an empty line", got)
	}
	fmt.Fprint(c, "show info\n")
	if got := readPrompt(); !strings.HasPrefix(got, "Name: HAProxy\n") || !strings.HasSuffix(got, "Tainted: 0\n\n") {
		t.Errorf("show info in prompt mode: %q", got)
	}
	fmt.Fprint(c, "get weight web/s1\n")
	if got := readPrompt(); got != "1 (initial 1)\n\n" {
		t.Errorf("get weight: %q", got)
	}
	fmt.Fprint(c, "\n")
	if got := readPrompt(); got != "" {
		t.Errorf("empty line: %q", got)
	}
	fmt.Fprint(c, "set weight web/s1 3\n")
	if got := readPrompt(); got != "Permission denied\n\n" {
		t.Errorf("set weight at level operator: %q, want Permission denied", got)
	}
	fmt.Fprint(c, "quit\n")
	if rest, _ := io.ReadAll(r); len(rest) != 0 {
		t.Errorf("after quit: %q", rest)
	}
}

// TestReloadKeepsNewSocket opens a second server on the same path, as the
// new process of a reload does, then closes the first: the path must still
// answer (the old process may not unlink the new socket), and closing the
// second removes the file.
func TestReloadKeepsNewSocket(t *testing.T) {
	e := start(t, "admin")
	cfg := haproxycfg.StatsSocket{Path: e.sock, Level: "admin"}
	old, err := runtimeapi.Listen(cfg, time.Second, e.cmds, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	neu, err := runtimeapi.Listen(cfg, time.Second, e.cmds, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	if out := socat(t, e.sock, "show info\n"); !strings.HasPrefix(out, "Name: HAProxy") {
		t.Fatalf("new socket gone after the old server closed: %q", out)
	}
	neu.Close()
	if _, err := os.Stat(e.sock); !os.IsNotExist(err) {
		t.Errorf("socket file left after close: %v", err)
	}
}
