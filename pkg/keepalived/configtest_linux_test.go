package keepalived_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// refResult is what one daemon printed and its exit status.
type refResult struct {
	out  string
	code int
}

// runBoth runs keepalived 2.2.7 and gkeepalived with the same arguments in
// one private network namespace that has a veth pair eth0/eth1 (no
// addresses, nothing leaves it), as testdata/record-keepalived.sh records
// the parser's references. "@BIN@" in args is replaced by each program.
func runBoth(t *testing.T, args ...string) (ka, gk refResult) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root (unshare --net): run as root (CI does)")
	}
	run := func(bin string) refResult {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		script := `ip link add eth0 type veth peer name eth1 && ip link set lo up && ip link set eth0 up && ip link set eth1 up && exec "$@"`
		argv := append([]string{"--net", "sh", "-c", script, "sh", bin}, args...)
		out, err := exec.CommandContext(ctx, "unshare", argv...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		return refResult{out: string(out), code: code}
	}
	return run("/usr/sbin/keepalived"), run(gkBin)
}

// logLines keeps the messages of a daemon's console log: the timestamp and
// the start-up and shut-down lines that differ between the programs are
// left out.
func logLines(out string, keep *regexp.Regexp) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, " 2026: "); i >= 0 && i < 30 {
			l = l[i+len(" 2026: "):]
		}
		if keep.MatchString(l) {
			lines = append(lines, l)
		}
	}
	return lines
}

const missingIfConf = `global_defs {
  router_id lb1
}
vrrp_instance VI_1 {
  state MASTER
  interface eth9
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.168.1.84/24 dev eth7
  }
  track_interface {
    eth8
  }
}
`

// TestIntegrationConfigTestMissingInterface: `-t` reports interfaces that
// do not exist exactly as keepalived 2.2.7 (same lines, exit 5), and the
// daemon refuses to start with keepalived's exit status (2); before,
// gkeepalived's -t said nothing and exited 0.
func TestIntegrationConfigTestMissingInterface(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(conf, []byte(missingIfConf), 0o644); err != nil {
		t.Fatal(err)
	}
	ka, gk := runBoth(t, "-t", "-f", conf)
	if ka.code != 5 || gk.code != ka.code {
		t.Errorf("-t exit: keepalived %d, gkeepalived %d (want both 5)", ka.code, gk.code)
	}
	if strings.TrimSpace(gk.out) != strings.TrimSpace(ka.out) {
		t.Errorf("-t output differs\nkeepalived:\n%s\ngkeepalived:\n%s", ka.out, gk.out)
	}
	for _, want := range []string{"Line 6) WARNING - interface eth9 for vrrp_instance VI_1 doesn't exist", "Non-existent interface specified in configuration"} {
		if !strings.Contains(gk.out, want) {
			t.Errorf("gkeepalived -t lacks %q", want)
		}
	}

	dir := t.TempDir()
	ka, gk = runBoth(t, "-n", "-l", "-G", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	if ka.code != 2 || gk.code != ka.code {
		t.Errorf("start exit: keepalived %d, gkeepalived %d (want both 2)\nkeepalived:\n%s\ngkeepalived:\n%s", ka.code, gk.code, ka.out, gk.out)
	}
	keep := regexp.MustCompile(`^(\(.*doesn't exist|Non-existent)`)
	if k, g := strings.Join(logLines(ka.out, keep), "\n"), strings.Join(logLines(gk.out, keep), "\n"); k != g || k == "" {
		t.Errorf("start log differs\nkeepalived:\n%s\ngkeepalived:\n%s", k, g)
	}
}
