// Package keepalived is gkeepalived's process layer: keepalived's command
// line, pidfiles, logging, signals, and the wiring of the configuration to
// the VRRP instances and their effects (VIPs, ARP, scripts, mail).
package keepalived

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is what `gkeepalived -v` prints.
const Version = "0.1.0"

// Args is keepalived 2.2.7's command line.
type Args struct {
	ConfigFile   string // -f, --use-file (default /etc/keepalived/keepalived.conf)
	VRRPOnly     bool   // -P, --vrrp
	CheckOnly    bool   // -C, --check: not supported (LVS)
	LogConsole   bool   // -l, --log-console
	LogDetail    bool   // -D, --log-detail
	LogFacility  int    // -S, --log-facility 0..7 = local0..local7; -1 = daemon
	LogFile      string // -g, --log-file
	NoSyslog     bool   // -G, --no-syslog
	DontFork     bool   // -n, --dont-fork
	DumpConf     bool   // -d, --dump-conf
	PIDFile      string // -p, --pid
	VRRPPIDFile  string // -r, --vrrp_pid
	CheckPIDFile string // -c, --checkers_pid
	ReleaseVIPs  bool   // -X, --release-vips
	DontRelease  bool   // -V, --dont-release-vrrp
	DontRespawn  bool   // -R, --dont-respawn: the parent exits when the VRRP process dies
	ConfigTest   bool   // -t, --config-test[=FILE]
	TestLogFile  string
	Namespace    string // -s, --namespace
	ConfigID     string // -i, --config-id
	Version      bool   // -v
	Help         bool   // -h
	Warnings     []string
}

// ErrUsage is returned for a command line gkeepalived cannot understand.
var ErrUsage = errors.New("see 'keepalived --help'")

type optSpec struct {
	long    string
	short   byte
	arg     int // 0 none, 1 required, 2 optional (only attached: -tFILE, --config-test=FILE)
	set     func(a *Args, v string) error
	ignored bool
}

var opts = []optSpec{
	{"use-file", 'f', 1, func(a *Args, v string) error { a.ConfigFile = v; return nil }, false},
	{"vrrp", 'P', 0, func(a *Args, _ string) error { a.VRRPOnly = true; return nil }, false},
	{"check", 'C', 0, func(a *Args, _ string) error { a.CheckOnly = true; return nil }, false},
	{"no_bfd", 'B', 0, nil, true},
	{"all", 0, 0, nil, true},
	{"log-console", 'l', 0, func(a *Args, _ string) error { a.LogConsole = true; return nil }, false},
	{"log-detail", 'D', 0, func(a *Args, _ string) error { a.LogDetail = true; return nil }, false},
	{"log-facility", 'S', 1, func(a *Args, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 7 {
			return fmt.Errorf("invalid log facility %q (0..7 for local0..local7)", v)
		}
		a.LogFacility = n
		return nil
	}, false},
	{"log-file", 'g', 2, func(a *Args, v string) error {
		if v == "" {
			v = "/tmp/keepalived.log"
		}
		a.LogFile = v
		return nil
	}, false},
	{"flush-log-file", 0, 0, nil, true},
	{"no-syslog", 'G', 0, func(a *Args, _ string) error { a.NoSyslog = true; return nil }, false},
	{"release-vips", 'X', 0, func(a *Args, _ string) error { a.ReleaseVIPs = true; return nil }, false},
	{"dont-release-vrrp", 'V', 0, func(a *Args, _ string) error { a.DontRelease = true; return nil }, false},
	{"dont-release-ipvs", 'I', 0, nil, true},
	{"dont-respawn", 'R', 0, func(a *Args, _ string) error { a.DontRespawn = true; return nil }, false},
	{"dont-fork", 'n', 0, func(a *Args, _ string) error { a.DontFork = true; return nil }, false},
	{"dump-conf", 'd', 0, func(a *Args, _ string) error { a.DumpConf = true; return nil }, false},
	{"pid", 'p', 1, func(a *Args, v string) error { a.PIDFile = v; return nil }, false},
	{"vrrp_pid", 'r', 1, func(a *Args, v string) error { a.VRRPPIDFile = v; return nil }, false},
	{"checkers_pid", 'c', 1, func(a *Args, v string) error { a.CheckPIDFile = v; return nil }, false},
	{"address-monitoring", 'a', 0, nil, true},
	{"namespace", 's', 1, func(a *Args, v string) error { a.Namespace = v; return nil }, false},
	{"config-id", 'i', 1, func(a *Args, v string) error { a.ConfigID = v; return nil }, false},
	{"snmp", 'x', 0, nil, true},
	{"snmp-agent-socket", 'A', 1, nil, true},
	{"umask", 'u', 1, nil, true},
	{"core-dump", 'm', 0, nil, true},
	{"core-dump-pattern", 'M', 2, nil, true},
	{"no-mem-check", 0, 0, nil, true},
	{"all-config", 'e', 0, nil, true},
	{"config-test", 't', 2, func(a *Args, v string) error { a.ConfigTest = true; a.TestLogFile = v; return nil }, false},
	{"version", 'v', 0, func(a *Args, _ string) error { a.Version = true; return nil }, false},
	{"help", 'h', 0, func(a *Args, _ string) error { a.Help = true; return nil }, false},
}

// ParseArgs reads keepalived's options the way getopt_long does: grouped
// short options (-nlD), attached or separate values (-S0, -S 0), long
// options with = or a separate value.
func ParseArgs(argv []string) (Args, error) {
	a := Args{
		ConfigFile:   "/etc/keepalived/keepalived.conf",
		LogFacility:  -1,
		PIDFile:      "/run/keepalived.pid",
		VRRPPIDFile:  "/run/vrrp.pid",
		CheckPIDFile: "/run/checkers.pid",
	}
	apply := func(o optSpec, v string) error {
		if o.ignored {
			name := "--" + o.long
			a.Warnings = append(a.Warnings, fmt.Sprintf("option %s has no effect in gkeepalived", name))
			return nil
		}
		if err := o.set(&a, v); err != nil {
			return fmt.Errorf("%v: %w", err, ErrUsage)
		}
		return nil
	}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		switch {
		case arg == "--":
			if i+1 < len(argv) {
				return a, fmt.Errorf("unexpected argument %q: %w", argv[i+1], ErrUsage)
			}
			return a, nil
		case strings.HasPrefix(arg, "--"):
			name, val, hasVal := strings.Cut(arg[2:], "=")
			o, ok := findLong(name)
			if !ok {
				return a, fmt.Errorf("unrecognized option '%s': %w", arg, ErrUsage)
			}
			switch o.arg {
			case 0:
				if hasVal {
					return a, fmt.Errorf("option '--%s' doesn't allow an argument: %w", name, ErrUsage)
				}
			case 1:
				if !hasVal {
					if i+1 >= len(argv) {
						return a, fmt.Errorf("option '--%s' requires an argument: %w", name, ErrUsage)
					}
					i++
					val = argv[i]
				}
			}
			if err := apply(o, val); err != nil {
				return a, err
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			for j := 1; j < len(arg); j++ {
				o, ok := findShort(arg[j])
				if !ok {
					return a, fmt.Errorf("invalid option -- '%c': %w", arg[j], ErrUsage)
				}
				val := ""
				rest := arg[j+1:]
				switch o.arg {
				case 1:
					if rest != "" {
						val = rest
					} else {
						if i+1 >= len(argv) {
							return a, fmt.Errorf("option requires an argument -- '%c': %w", arg[j], ErrUsage)
						}
						i++
						val = argv[i]
					}
					j = len(arg)
				case 2:
					val = rest
					j = len(arg)
				}
				if err := apply(o, val); err != nil {
					return a, err
				}
			}
		default:
			return a, fmt.Errorf("unexpected argument %q: %w", arg, ErrUsage)
		}
	}
	return a, nil
}

func findLong(name string) (optSpec, bool) {
	for _, o := range opts {
		if o.long == name {
			return o, true
		}
	}
	return optSpec{}, false
}

func findShort(c byte) (optSpec, bool) {
	for _, o := range opts {
		if o.short == c && c != 0 {
			return o, true
		}
	}
	return optSpec{}, false
}

// Usage is printed for -h.
func Usage(prog string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [OPTION...]\n", prog)
	for _, o := range opts {
		short := "    "
		if o.short != 0 {
			short = "-" + string(o.short) + ", "
		}
		note := ""
		if o.ignored {
			note = " (accepted, no effect)"
		}
		fmt.Fprintf(&b, "  %s--%s%s\n", short, o.long, note)
	}
	return b.String()
}
