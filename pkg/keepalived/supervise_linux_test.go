package keepalived_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartFailureReportedOnce: a configuration the VRRP process refuses
// (an instance on a missing interface) makes the command fail, in the
// foreground and daemonised as the init script runs it, with the reason
// said once (the VRRP process says it, the parent passes it on without
// repeating it) and no pidfile left behind.
func TestStartFailureReportedOnce(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte("vrrp_instance VI_1 {\n    interface nosuchif0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.84\n    }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		flags []string
		code  int // keepalived's parent exits 2 (permanent error CONFIG) in the foreground
	}{{"foreground", []string{"-n", "-l"}, 2}, {"daemon", nil, 1}} {
		t.Run(c.name, func(t *testing.T) {
			pid, vpid := filepath.Join(dir, c.name+".pid"), filepath.Join(dir, c.name+"-vrrp.pid")
			args := append(append([]string{}, c.flags...), "-G", "-f", conf, "-p", pid, "-r", vpid)
			out, err := exec.Command(gkBin, args...).CombinedOutput()
			var ee *exec.ExitError
			if err == nil || !errors.As(err, &ee) || ee.ExitCode() != c.code {
				t.Fatalf("gkeepalived %v: %v, want exit status %d\n%s", args, err, c.code, out)
			}
			if got := strings.Count(string(out), "configuration cannot run"); got != 1 {
				t.Errorf("the reason was printed %d times, want once:\n%s", got, out)
			}
			for _, f := range []string{pid, vpid} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s left behind", f)
				}
			}
		})
	}
}
