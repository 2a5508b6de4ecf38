package keepalived

import (
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want func(Args) bool
	}{
		{"debian unit", []string{"--dont-fork"}, func(a Args) bool {
			return a.DontFork && a.ConfigFile == "/etc/keepalived/keepalived.conf" && a.PIDFile == "/run/keepalived.pid" && a.VRRPPIDFile == "/run/vrrp.pid"
		}},
		{"grouped short", []string{"-nlD", "-f", "/tmp/k.conf"}, func(a Args) bool {
			return a.DontFork && a.LogConsole && a.LogDetail && a.ConfigFile == "/tmp/k.conf"
		}},
		{"attached value", []string{"-S0", "-p/run/x.pid"}, func(a Args) bool { return a.LogFacility == 0 && a.PIDFile == "/run/x.pid" }},
		{"separate value", []string{"-S", "7", "--vrrp_pid", "/run/v.pid"}, func(a Args) bool { return a.LogFacility == 7 && a.VRRPPIDFile == "/run/v.pid" }},
		{"long with =", []string{"--use-file=/a.conf", "--pid=/b.pid"}, func(a Args) bool { return a.ConfigFile == "/a.conf" && a.PIDFile == "/b.pid" }},
		{"config test", []string{"-t", "-f", "x"}, func(a Args) bool { return a.ConfigTest && a.TestLogFile == "" }},
		{"config test file", []string{"--config-test=/tmp/t.log"}, func(a Args) bool { return a.ConfigTest && a.TestLogFile == "/tmp/t.log" }},
		{"vrrp only", []string{"-P", "-D"}, func(a Args) bool { return a.VRRPOnly && a.LogDetail }},
		{"already gkeepalived's behaviour", []string{"-X", "-I"}, func(a Args) bool { return !a.DontRespawn }},
		{"dont respawn", []string{"-R"}, func(a Args) bool { return a.DontRespawn }},
		{"facility names", []string{"-S", "local3"}, func(a Args) bool { return a.LogFacility == 3 }},
		{"facility user", []string{"--log-facility=user"}, func(a Args) bool { return a.LogFacility == -2 }},
		{"facility daemon", []string{"-Sdaemon"}, func(a Args) bool { return a.LogFacility == -1 }},
		{"umask", []string{"-u", "027"}, func(a Args) bool { return a.Umask == 0o27 }},
		{"umask hex", []string{"--umask=0x12"}, func(a Args) bool { return a.Umask == 0x12 }},
		{"no umask", nil, func(a Args) bool { return a.Umask == -1 }},
		{"core dump", []string{"-m"}, func(a Args) bool { return a.CoreDump }},
		{"dump conf", []string{"-d"}, func(a Args) bool { return a.DumpConf }},
		{"config id", []string{"-i", "lb2"}, func(a Args) bool { return a.ConfigID == "lb2" }},
		{"signum", []string{"--signum=RELOAD"}, func(a Args) bool { return a.Signum == "RELOAD" }},
		{"pidfiles", []string{"-c", "/run/c.pid", "-b", "/run/b.pid"}, func(a Args) bool {
			return strings.Join(a.pidFiles(), " ") == "/run/keepalived.pid /run/vrrp.pid /run/c.pid /run/b.pid"
		}},
		{"pidfiles -P", []string{"-P", "-c", "/run/c.pid"}, func(a Args) bool {
			return strings.Join(a.pidFiles(), " ") == "/run/keepalived.pid /run/vrrp.pid"
		}},
		{"pidfiles -B", []string{"-B"}, func(a Args) bool {
			return strings.Join(a.pidFiles(), " ") == "/run/keepalived.pid /run/vrrp.pid /run/checkers.pid"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseArgs(tt.argv)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", tt.argv, err)
			}
			if !tt.want(a) {
				t.Fatalf("ParseArgs(%q) = %+v", tt.argv, a)
			}
		})
	}
}

// TestParseArgsRefused: options keepalived 2.2.7 takes that gkeepalived
// does not implement stop with ErrRefused naming the option, rather than
// being read and ignored.
func TestParseArgsRefused(t *testing.T) {
	for _, argv := range [][]string{{"-C"}, {"--check"}, {"-V"}, {"--dont-release-vrrp"}, {"--all"}, {"-T"},
		{"-a"}, {"-x"}, {"-A", "/s"}, {"-M"}, {"--core-dump-pattern=core"}, {"-e"}, {"-nC"}} {
		_, err := ParseArgs(argv)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("ParseArgs(%q) error = %v, want ErrRefused", argv, err)
			continue
		}
		flag := strings.TrimLeft(argv[0], "-n")
		if !strings.Contains(err.Error(), strings.SplitN(flag, "=", 2)[0]) {
			t.Errorf("ParseArgs(%q) error %q does not name the option", argv, err)
		}
	}
}

func TestSignalNumber(t *testing.T) {
	for name, want := range map[string]int{"STOP": 15, "RELOAD": 1, "DATA": 10, "STATS": 12} {
		if n, err := SignalNumber(name); err != nil || n != want {
			t.Errorf("SignalNumber(%s) = %d, %v; want %d (keepalived 2.2.7 --signum)", name, n, err, want)
		}
	}
	for _, name := range []string{"STATS_CLEAR", "JSON"} {
		if _, err := SignalNumber(name); !errors.Is(err, ErrRefused) {
			t.Errorf("SignalNumber(%s) error %v, want ErrRefused", name, err)
		}
	}
	if _, err := SignalNumber("FOO"); err == nil || err.Error() != "Unknown sigfunc FOO" {
		t.Errorf("SignalNumber(FOO) error %v, want keepalived's", err)
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, argv := range [][]string{{"-q"}, {"--bogus"}, {"-f"}, {"-S", "9"}, {"-S", "local8"}, {"-u", "x"}, {"--dont-fork=1"}, {"stray"}, {"--no-mem-check"}, {"--flush-log-file"}} {
		if _, err := ParseArgs(argv); !errors.Is(err, ErrUsage) {
			t.Errorf("ParseArgs(%q) error = %v, want ErrUsage", argv, err)
		}
	}
}

// TestOptionsCoverKeepalived: every option of `keepalived --help` (Debian's
// keepalived 2.2.7, installed with the test dependencies) is in the option
// table, and each entry is carried out (set), refused, or documented as
// gkeepalived's behaviour already: nothing is read and then ignored.
func TestOptionsCoverKeepalived(t *testing.T) {
	out, err := exec.Command("/usr/sbin/keepalived", "--help").CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("keepalived --help: %v (install keepalived: integration/install-deps.sh)", err)
	}
	theirs := map[string]bool{}
	for _, m := range regexp.MustCompile(`--([a-z_-]+)`).FindAllStringSubmatch(string(out), -1) {
		theirs[m[1]] = true
	}
	if len(theirs) < 30 {
		t.Fatalf("only %d options in keepalived --help:\n%s", len(theirs), out)
	}
	ours := map[string]bool{}
	for _, o := range opts {
		ours[o.long] = true
		n := 0
		if o.set != nil {
			n++
		}
		if o.refused != "" {
			n++
		}
		if o.same != "" {
			n++
		}
		if n != 1 {
			t.Errorf("--%s: %d of set/refused/same, want exactly one", o.long, n)
		}
	}
	for name := range theirs {
		if !ours[name] {
			t.Errorf("keepalived option --%s is not in gkeepalived's table", name)
		}
	}
	// gkeepalived's own: --log-file (keepalived built with log files has it).
	for name := range ours {
		if !theirs[name] && name != "log-file" {
			t.Errorf("--%s is not a keepalived 2.2.7 option", name)
		}
	}
}
