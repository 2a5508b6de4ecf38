package keepalived

import (
	"errors"
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
		{"ignored", []string{"-I", "--no-mem-check"}, func(a Args) bool { return len(a.Warnings) == 2 }},
		{"dont respawn", []string{"-R"}, func(a Args) bool { return a.DontRespawn && len(a.Warnings) == 0 }},
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

func TestParseArgsErrors(t *testing.T) {
	for _, argv := range [][]string{{"-q"}, {"--bogus"}, {"-f"}, {"-S", "9"}, {"--dont-fork=1"}, {"stray"}} {
		if _, err := ParseArgs(argv); !errors.Is(err, ErrUsage) {
			t.Errorf("ParseArgs(%q) error = %v, want ErrUsage", argv, err)
		}
	}
}
