package keepalived_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These run the built gkeepalived: its parent starts the VRRP process by
// re-executing itself, which a test binary cannot stand in for.

// TestMainRefusesToStartWithLVS: the daemon does not start on a config
// with an LVS virtual_server: exit 2 (KEEPALIVED_EXIT_CONFIG, as
// keepalived's parent after its child's permanent error), the refusal with
// file:line in its log, no pidfile written.
func TestMainRefusesToStartWithLVS(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	conf := "global_defs {\n  router_id lb1\n}\nvirtual_server 192.0.2.10 80 {\n  delay_loop 6\n  lb_algo rr\n  real_server 192.0.2.11 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pid, vpid := filepath.Join(dir, "k.pid"), filepath.Join(dir, "v.pid")
	out, err := exec.Command(gkBin, "-n", "-l", "-G", "-P", "-f", path, "-p", pid, "-r", vpid).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("%v, want exit 2\n%s", err, out)
	}
	if !strings.Contains(string(out), path+":4: 'virtual_server' needs LVS") {
		t.Errorf("log lacks the refusal with file:line:\n%s", out)
	}
	if _, err := os.Stat(pid); err == nil {
		t.Error("pidfile written for a refused configuration")
	}
}

// TestMainMissingConfigExit6: keepalived's KEEPALIVED_EXIT_NO_CONFIG.
func TestMainMissingConfigExit6(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(gkBin, "-n", "-l", "-G", "-P", "-f", filepath.Join(dir, "none.conf"), "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 6 {
		t.Errorf("%v, want exit 6\n%s", err, out)
	}
}
