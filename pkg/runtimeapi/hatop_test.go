package runtimeapi_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/health/healthtest"
	"hapair/pkg/proxy"
)

// tmux runs hatop on its own tmux server (a private socket), so the test
// can read its screen and type into it.
type tmux struct {
	t    *testing.T
	sock string
}

func (x tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.sock}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x tmux) screen() string {
	out, _ := exec.Command("tmux", "-S", x.sock, "capture-pane", "-p", "-t", "hatop").CombinedOutput()
	return string(out)
}

// TestHatop runs the real hatop against our socket: its status screen
// lists the servers with their states, and a command typed in its CLI
// mode (`disable server`) takes effect in the engine.
func TestHatop(t *testing.T) {
	for _, bin := range []string{"hatop", "tmux"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not installed (apt-get install %s)", bin, bin)
		}
	}
	s1, s2 := healthtest.StartNginx(t, "s1"), healthtest.StartNginx(t, "s2")
	e := start(t, "admin", s1, s2)
	x := tmux{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	x.run("new-session", "-d", "-s", "hatop", "-x", "200", "-y", "50",
		fmt.Sprintf("TERM=xterm hatop -s %s -i 1; sleep 30", e.sock))
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", x.sock, "kill-server").Run() })

	var scr string
	healthtest.Eventually(t, "hatop lists the servers", func() bool {
		scr = x.screen()
		return strings.Contains(scr, "s1") && strings.Contains(scr, "s2") && strings.Contains(scr, "BACKEND")
	})
	if !strings.Contains(scr, "HAProxy Version: 2.6.12") && !strings.Contains(scr, "2.6.12") {
		t.Errorf("hatop does not show the version:\n%s", scr)
	}
	for _, l := range strings.Split(scr, "\n") {
		if strings.Contains(l, " s1 ") && !strings.Contains(l, "UP") {
			t.Errorf("hatop's s1 line lacks UP: %q", l)
		}
	}
	// Mode 5 is hatop's CLI: type a command as an operator would.
	// Keys typed while hatop redraws may be lost: press again until the
	// CLI screen shows.
	last := time.Time{}
	healthtest.Eventually(t, "hatop CLI mode", func() bool {
		if strings.Contains(x.screen(), "haproxy command line") {
			return true
		}
		if time.Since(last) > time.Second {
			x.run("send-keys", "-t", "hatop", "5")
			last = time.Now()
		}
		return false
	})
	x.run("send-keys", "-t", "hatop", "disable server web/s1", "Enter")
	healthtest.Eventually(t, "s1 in maintenance through hatop", func() bool {
		return e.eng.Backend("web").Server("s1").Status() == proxy.StatusMaint
	})
	// ALT-1 leaves the CLI for the status screen.
	x.run("send-keys", "-t", "hatop", "M-1")
	ok := false
	for i := 0; i < 100 && !ok; i++ {
		scr = x.screen()
		ok = strings.Contains(scr, "MAINT")
		if !ok {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ok {
		t.Errorf("hatop does not show s1 in MAINT:\n%s", scr)
	}
}
