package runtimeapi_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/runtimeapi"
)

// fakeMaster has a current worker 200 and an old one 100; a worker answers
// each forwarded line with what it received and at which level.
type fakeMaster struct {
	mu      sync.Mutex
	reloads int
}

func (f *fakeMaster) Procs() []runtimeapi.Proc {
	start := time.Now()
	return []runtimeapi.Proc{{PID: 1, Master: true, Start: start}, {PID: 200, Start: start}, {PID: 100, Old: true, Reloads: 1, Start: start}}
}

func (f *fakeMaster) Reload() {
	f.mu.Lock()
	f.reloads++
	f.mu.Unlock()
}

func (f *fakeMaster) DialWorker(pid int, level runtimeapi.Level) (net.Conn, error) {
	if pid == 100 {
		return nil, errors.New("worker 100 is gone")
	}
	ours, theirs := net.Pipe()
	go func() {
		defer theirs.Close()
		line, _ := bufio.NewReader(theirs).ReadString('\n')
		fmt.Fprintf(theirs, "worker %d at %s got %q\n\n", pid, level, line)
	}()
	return ours, nil
}

// session runs one master CLI session on input and returns its output.
func session(t *testing.T, m runtimeapi.Master, input string) string {
	t.Helper()
	path := t.TempDir() + "/m.sock"
	srv, err := runtimeapi.ListenMaster(haproxycfg.StatsSocket{Path: path, Level: "admin", UID: -1, GID: -1}, m, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		_, _ = io.WriteString(c, input)
		_ = c.(*net.UnixConn).CloseWrite()
	}()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v", input, err)
	}
	return string(out)
}

func TestMasterSessionForwarding(t *testing.T) {
	m := &fakeMaster{}
	tests := []struct{ in, want string }{
		// Words keep their escapes on the way to the worker.
		{"@1 set server a\\ b/c state ready\n", "worker 200 at admin got \"set server a\\\\ b/c state ready\\n\"\n\n"},
		{"@!200 show info;@1 show stat\n", "worker 200 at admin got \"show info\\n\"\n\nworker 200 at admin got \"show stat\\n\"\n\n"},
		// The session's level goes with the command.
		{"operator; @1 show info\n", "worker 200 at operator got \"show info\\n\"\n\n"},
		{"user; @1 show info\n", "worker 200 at user got \"show info\\n\"\n\n"},
		// A bare prefix makes the worker the default target.
		{"@1\nshow info\n", "worker 200 at admin got \"show info\\n\"\n\n"},
		{"prompt\n@1\nshow info\n@\n", "master> 200> worker 200 at admin got \"show info\\n\"\n\n200> master> "},
		// A worker that cannot be reached, and unknown targets, end the session.
		{"@!100 show info\nshow version\n", "Can't connect to the target CLI!\n"},
		{"@!300 show info\nshow version\n", "Can't find the target PID matching the prefix '@!300'\n"},
		{"@2 show info\n", "Can't find the target PID matching the prefix '@2'\n"},
	}
	for _, tt := range tests {
		if got := session(t, m, tt.in); got != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestMasterSessionReload(t *testing.T) {
	m := &fakeMaster{}
	if got := session(t, m, "reload\nshow version\n"); got != "" {
		t.Errorf("reload answered %q; haproxy closes the session without a word", got)
	}
	if got := session(t, m, "user; reload\n"); got != "Permission denied\n\n" {
		t.Errorf("reload at level user: %q", got)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reloads != 1 {
		t.Errorf("%d reloads, want 1", m.reloads)
	}
}

// TestMasterSessionBadInput: lines too long or with too many words end the
// session with a message, never a panic or a hang.
func TestMasterSessionBadInput(t *testing.T) {
	m := &fakeMaster{}
	for in, want := range map[string]string{
		strings.Repeat("a ", 100) + "\n":  "runtimeapi: too many words in command\n",
		strings.Repeat("x", 20000) + "\n": "", // longer than haproxy's buffer: closed
		"@\x00\n":                         "Can't find the target PID matching the prefix '@\x00'\n",
		"@!\n":                            "Can't find the target PID matching the prefix '@!'\n",
		"@!-1 show info\n":                "Can't find the target PID matching the prefix '@!-1'\n",
		"@-1\n":                           "Can't find the target PID matching the prefix '@-1'\n",
		"\\":                              "Unknown command. Please enter one of the following commands only:\n",
		";;;\n":                           "Unknown command. Please enter one of the following commands only:\n",
	} {
		if out := session(t, m, in); !strings.HasPrefix(out, want) || (want == "" && out != "") {
			t.Errorf("%.20q => %.80q, want %q", in, out, want)
		}
	}
}

// FuzzMasterLine sends arbitrary input to a master CLI: no input may
// panic or hang the session, and only `reload` at operator level or above
// asks for a reload.
func FuzzMasterLine(f *testing.F) {
	for _, s := range []string{
		"show proc\n", "help\n", "help show\n", "@1 show info\n", "@!200 show stat\n", "@master show proc\n",
		"prompt\n@1\nshow info\n@\nquit\n", "user; reload\n", "operator; reload\n", "@!100 x\n", "@\n", "@!\n",
		"show version;\n", "\\\n", ";;;\n", "@1 a\\ b\\;c\n", "reload\n",
	} {
		f.Add(s)
	}
	m := &fakeMaster{}
	path := f.TempDir() + "/m.sock"
	srv, err := runtimeapi.ListenMaster(haproxycfg.StatsSocket{Path: path, Level: "admin", UID: -1, GID: -1}, m, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, in string) {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			_, _ = io.WriteString(c, in)
			_ = c.(*net.UnixConn).CloseWrite()
		}()
		m.mu.Lock()
		before := m.reloads
		m.mu.Unlock()
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		m.mu.Lock()
		reloaded := m.reloads != before
		m.mu.Unlock()
		if reloaded && !strings.Contains(in, "reload") {
			t.Errorf("%q asked for a reload", in)
		}
	})
}
