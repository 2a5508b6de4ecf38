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
// the parser's references. args are the program's; or, starting with
// "timeout", a timeout command line where "@BIN@" stands for the program.
func runBoth(t *testing.T, args ...string) (ka, gk refResult) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root (unshare --net): run as root (CI does)")
	}
	run := func(bin string) refResult {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		script := `ip link add eth0 type veth peer name eth1 && ip link set lo up && ip link set eth0 up && ip link set eth1 up && ip addr add 192.168.1.80/24 dev eth0 && exec "$@"`
		argv := []string{"--net", "sh", "-c", script, "sh"}
		if len(args) > 0 && args[0] == "timeout" {
			// timeout ... @BIN@ ...: the program goes in place of @BIN@.
			for _, a := range args {
				if a == "@BIN@" {
					a = bin
				}
				argv = append(argv, a)
			}
		} else {
			argv = append(append(argv, bin), args...)
		}
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

// TestIntegrationScriptSecurityAgainstKeepalived runs keepalived 2.2.7 and
// gkeepalived on the same configuration whose scripts (run as root) sit
// in a world-writable directory: -t prints the same lines with the same
// exit code, and the daemons log the same "Unsafe permissions ..." lines
// (keepalived then runs the instance without the track script and the
// notify script, and so does gkeepalived). Before, gkeepalived ran both.
func TestIntegrationScriptSecurityAgainstKeepalived(t *testing.T) {
	for _, tc := range []struct {
		name     string
		security bool
		dirMode  os.FileMode
		testCode int
	}{
		{"security world-writable dir", true, 0o777, 5},
		{"no security world-writable dir", false, 0o777, 6},
		{"security safe dir", true, 0o755, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"chk.sh", "notify.sh"} {
				if err := os.WriteFile(filepath.Join(bin, s), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(bin, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			sec := ""
			if tc.security {
				sec = "enable_script_security"
			}
			conf := filepath.Join(dir, "keepalived.conf")
			src := strings.NewReplacer("@SEC@", sec, "@BIN@", bin).Replace(`global_defs {
  router_id lb1
  @SEC@
  script_user root
}
vrrp_script chk {
  script "@BIN@/chk.sh"
  interval 1
  weight 2
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.168.1.84/24
  }
  track_script {
    chk
  }
  notify_master "@BIN@/notify.sh master"
}
`)
			if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			ka, gk := runBoth(t, "-t", "-f", conf)
			if ka.code != tc.testCode || gk.code != ka.code {
				t.Errorf("-t exit: keepalived %d, gkeepalived %d (want both %d)", ka.code, gk.code, tc.testCode)
			}
			if strings.TrimSpace(gk.out) != strings.TrimSpace(ka.out) {
				t.Errorf("-t output differs\nkeepalived:\n%s\ngkeepalived:\n%s", ka.out, gk.out)
			}
			// The daemons: the start-up lines about the scripts. timeout
			// only ends the run; the lines are logged while loading.
			pids := t.TempDir()
			ka, gk = runBoth(t, "timeout", "-s", "TERM", "3", "@BIN@", "-n", "-l", "-D", "-G", "-P", "-f", conf,
				"-p", filepath.Join(pids, "k.pid"), "-r", filepath.Join(pids, "v.pid"))
			keep := regexp.MustCompile(`^(Unsafe permissions|Disabling track script|SECURITY VIOLATION)`)
			k, g := logLines(ka.out, keep), logLines(gk.out, keep)
			if strings.Join(k, "\n") != strings.Join(g, "\n") {
				t.Errorf("script lines differ\nkeepalived:\n%s\ngkeepalived:\n%s", strings.Join(k, "\n"), strings.Join(g, "\n"))
			}
			unsafe := "Unsafe permissions found for script '" + bin + "/chk.sh'"
			if found := strings.Contains(strings.Join(g, "\n"), unsafe); found != (tc.dirMode == 0o777) {
				t.Errorf("gkeepalived's log has %q: %v\n%s", unsafe, found, gk.out)
			}
		})
	}
}

// TestIntegrationScriptUserAgainstKeepalived: the seed's keepalived.conf
// with enable_script_security (the default user keepalived_script is
// looked up) or with a script_user that does not exist: `-t` prints what
// keepalived 2.2.7 prints (the script removed, its tracking ignored) with
// the same exit code. Before, gkeepalived kept the script.
func TestIntegrationScriptUserAgainstKeepalived(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join(root, "conf", "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for name, global := range map[string]string{
		"enable_script_security": "enable_script_security",
		"missing script_user":    "script_user gk_no_such_user",
	} {
		t.Run(name, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "keepalived.conf")
			src := strings.Replace(string(seed), "global_defs {", "global_defs {\n    "+global, 1)
			if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			ka, gk := runBoth(t, "-t", "-f", conf)
			if gk.code != ka.code || strings.TrimSpace(gk.out) != strings.TrimSpace(ka.out) {
				t.Errorf("-t differs: keepalived exit %d, gkeepalived exit %d\nkeepalived:\n%s\ngkeepalived:\n%s", ka.code, gk.code, ka.out, gk.out)
			}
		})
	}
}
