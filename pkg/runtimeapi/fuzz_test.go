package runtimeapi_test

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/stats"
)

// FuzzCommandLine feeds arbitrary lines to the socket's parser and
// commands, at every level, on an engine that opened no socket: no input
// may panic, every answer ends a line, and only admin changes state.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		"show info", "show stat", "show servers state", "show servers state web", "help",
		"set weight web/s1 10", "set weight web/s1 50%", "get weight web/s1", "disable server web/s1",
		"enable server web/s1", "set server web/s1 state drain", "set server web/s1 weight 3",
		"show info; show stat", `set server we\ b/s1 state ready`, "\\", ";;;", "set weight /",
		"set weight web/ 999999999999999999999", "show servers state nosuch", "prompt", "quit",
	} {
		f.Add(s)
	}
	cfg, _, err := haproxycfg.Parse("fuzz.cfg", []byte(`
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen web
    bind 127.0.0.1:1
    server s1 127.0.0.1:2 check
    server s2 127.0.0.1:3 backup
`), haproxycfg.ParseOptions{})
	if err != nil {
		f.Fatal(err)
	}
	eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop()})
	if err != nil {
		f.Fatal(err)
	}
	cmds := &runtimeapi.Commands{}
	cmds.Source = &stats.Source{Config: cfg, Engine: eng, PID: os.Getpid(), Start: time.Now(), UserWeight: cmds.UserWeight}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := runtimeapi.SplitLine(line)
		if err != nil {
			return
		}
		for _, level := range []runtimeapi.Level{runtimeapi.LevelUser, runtimeapi.LevelOperator} {
			before := eng.Backend("web").Server("s1").Status()
			for _, w := range words {
				out := cmds.Exec(w, level)
				if out != "" && !strings.HasSuffix(out, "\n") && !strings.HasPrefix(out, "Empty weight") {
					t.Fatalf("%q at level %d: answer %q does not end a line", w, level, out)
				}
			}
			if after := eng.Backend("web").Server("s1").Status(); after != before {
				t.Fatalf("%q changed s1 from %v to %v below admin level", line, before, after)
			}
		}
		for _, w := range words {
			cmds.Exec(w, runtimeapi.LevelAdmin)
		}
	})
}

// TestSessionBadInput sends a line longer than haproxy's buffer and a
// binary line through a real socket session: the server answers or closes,
// and keeps serving.
func TestSessionBadInput(t *testing.T) {
	e := start(t, "admin")
	for _, in := range []string{strings.Repeat("x", 20000) + "\n", "\x00\xff\xfe show\n"} {
		c, err := net.Dial("unix", e.sock)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write([]byte(in))
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		c.Close()
	}
	if out := socat(t, e.sock, "show info\n"); !strings.HasPrefix(out, "Name: HAProxy\n") {
		t.Errorf("socket broken after bad input: %q", out)
	}
}
