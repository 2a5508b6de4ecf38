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

// Args is keepalived 2.2.7's command line. Every option keepalived 2.2.7
// (Debian's build) takes is either carried out or refused (ErrRefused): none
// is read and then ignored.
type Args struct {
	ConfigFile   string // -f, --use-file (default /etc/keepalived/keepalived.conf)
	VRRPOnly     bool   // -P, --vrrp: only the VRRP pidfile is checked besides the main one
	NoBFD        bool   // -B, --no_bfd: the BFD pidfile is not checked
	LogConsole   bool   // -l, --log-console
	LogDetail    bool   // -D, --log-detail
	LogFacility  int    // -S, --log-facility 0..7 = local0..local7; -1 = daemon; -2 = user
	LogFile      string // -g, --log-file
	NoSyslog     bool   // -G, --no-syslog
	DontFork     bool   // -n, --dont-fork
	DumpConf     bool   // -d, --dump-conf: log the configuration at start
	PIDFile      string // -p, --pid
	VRRPPIDFile  string // -r, --vrrp_pid
	CheckPIDFile string // -c, --checkers_pid: checked for a running daemon unless -P
	BFDPIDFile   string // -b, --bfd_pid: checked for a running daemon unless -P or -B
	Umask        int    // -u, --umask; -1 = unset
	CoreDump     bool   // -m, --core-dump
	DontRespawn  bool   // -R, --dont-respawn: the parent exits when the VRRP process dies
	ConfigTest   bool   // -t, --config-test[=FILE]
	TestLogFile  string
	Namespace    string // -s, --namespace
	ConfigID     string // -i, --config-id; "" = the host name
	Signum       string // --signum=SIGFUNC: print the signal number and exit
	Version      bool   // -v
	Help         bool   // -h
}

// ErrUsage is returned for a command line gkeepalived cannot understand.
var ErrUsage = errors.New("see 'keepalived --help'")

// ErrRefused is returned for an option keepalived 2.2.7 takes that
// gkeepalived does not implement: it stops rather than run differently.
var ErrRefused = errors.New("not supported by gkeepalived")

type optSpec struct {
	long  string
	short byte
	arg   int // 0 none, 1 required, 2 optional (only attached: -tFILE, --config-test=FILE)
	set   func(a *Args, v string) error
	// refused, when set, says why gkeepalived refuses the option.
	refused string
	// same, when set, says why the option needs no action: gkeepalived
	// already behaves as the option asks (shown by -h).
	same string
}

func refuse(long string, short byte, arg int, why string) optSpec {
	return optSpec{long: long, short: short, arg: arg, refused: why}
}

func same(long string, short byte, why string) optSpec {
	return optSpec{long: long, short: short, same: why}
}

func setBool(f func(a *Args)) func(a *Args, v string) error {
	return func(a *Args, _ string) error { f(a); return nil }
}

var opts = []optSpec{
	{long: "use-file", short: 'f', arg: 1, set: func(a *Args, v string) error { a.ConfigFile = v; return nil }},
	{long: "vrrp", short: 'P', set: setBool(func(a *Args) { a.VRRPOnly = true })},
	refuse("check", 'C', 0, "gkeepalived has no health-checker (LVS) process; run Debian's keepalived for LVS"),
	{long: "no_bfd", short: 'B', set: setBool(func(a *Args) { a.NoBFD = true })},
	refuse("all", 0, 0, "gkeepalived has no checker or BFD process to force"),
	{long: "log-console", short: 'l', set: setBool(func(a *Args) { a.LogConsole = true })},
	{long: "log-detail", short: 'D', set: setBool(func(a *Args) { a.LogDetail = true })},
	{long: "log-facility", short: 'S', arg: 1, set: setFacility},
	{long: "log-file", short: 'g', arg: 2, set: func(a *Args, v string) error {
		if v == "" {
			v = "/tmp/keepalived.log"
		}
		a.LogFile = v
		return nil
	}},
	{long: "no-syslog", short: 'G', set: setBool(func(a *Args) { a.NoSyslog = true })},
	{long: "umask", short: 'u', arg: 1, set: func(a *Args, v string) error {
		n, err := strconv.ParseUint(v, 0, 32)
		if err != nil || n > 0o777 {
			return fmt.Errorf("invalid umask %q", v)
		}
		a.Umask = int(n)
		return nil
	}},
	same("release-vips", 'X', "gkeepalived always removes the VIPs when leaving MASTER"),
	refuse("dont-release-vrrp", 'V', 0, "gkeepalived always resigns (priority 0) and removes its VIPs on stop"),
	same("dont-release-ipvs", 'I', "gkeepalived has no IPVS configuration to release"),
	{long: "dont-respawn", short: 'R', set: setBool(func(a *Args) { a.DontRespawn = true })},
	{long: "dont-fork", short: 'n', set: setBool(func(a *Args) { a.DontFork = true })},
	{long: "dump-conf", short: 'd', set: setBool(func(a *Args) { a.DumpConf = true })},
	{long: "pid", short: 'p', arg: 1, set: func(a *Args, v string) error { a.PIDFile = v; return nil }},
	{long: "vrrp_pid", short: 'r', arg: 1, set: func(a *Args, v string) error { a.VRRPPIDFile = v; return nil }},
	refuse("genhash", 'T', 0, "genhash is a checker (LVS) tool"),
	{long: "checkers_pid", short: 'c', arg: 1, set: func(a *Args, v string) error { a.CheckPIDFile = v; return nil }},
	refuse("address-monitoring", 'a', 0, "address monitoring is not implemented"),
	{long: "bfd_pid", short: 'b', arg: 1, set: func(a *Args, v string) error { a.BFDPIDFile = v; return nil }},
	refuse("snmp", 'x', 0, "SNMP is not implemented"),
	refuse("snmp-agent-socket", 'A', 1, "SNMP is not implemented"),
	{long: "namespace", short: 's', arg: 1, set: func(a *Args, v string) error { a.Namespace = v; return nil }},
	{long: "core-dump", short: 'm', set: setBool(func(a *Args) { a.CoreDump = true })},
	refuse("core-dump-pattern", 'M', 2, "setting kernel.core_pattern is not implemented; set it with sysctl"),
	refuse("all-config", 'e', 0, "include checking is not implemented"),
	{long: "config-id", short: 'i', arg: 1, set: func(a *Args, v string) error { a.ConfigID = v; return nil }},
	{long: "signum", arg: 1, set: func(a *Args, v string) error { a.Signum = v; return nil }},
	{long: "config-test", short: 't', arg: 2, set: func(a *Args, v string) error { a.ConfigTest = true; a.TestLogFile = v; return nil }},
	{long: "version", short: 'v', set: setBool(func(a *Args) { a.Version = true })},
	{long: "help", short: 'h', set: setBool(func(a *Args) { a.Help = true })},
}

// setFacility reads -S as keepalived: 0..7 or local0..local7, user, daemon.
func setFacility(a *Args, v string) error {
	switch {
	case v == "daemon":
		a.LogFacility = -1
		return nil
	case v == "user":
		a.LogFacility = -2
		return nil
	case strings.HasPrefix(v, "local"):
		v = v[len("local"):]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 7 || len(v) != 1 {
		return fmt.Errorf("invalid log facility '%s'", v)
	}
	a.LogFacility = n
	return nil
}

// Signals are keepalived 2.2.7's answers to --signum for the signals
// gkeepalived handles (STATS_CLEAR and JSON are keepalived signals that
// gkeepalived does not handle: refused rather than named).
var signums = map[string]int{"STOP": 15, "RELOAD": 1, "DATA": 10, "STATS": 12}

// SignalNumber is --signum: the signal that asks for sigfunc.
func SignalNumber(sigfunc string) (int, error) {
	if n, ok := signums[sigfunc]; ok {
		return n, nil
	}
	if sigfunc == "STATS_CLEAR" || sigfunc == "JSON" {
		return 0, fmt.Errorf("signal function %s: %w", sigfunc, ErrRefused)
	}
	return 0, fmt.Errorf("Unknown sigfunc %s", sigfunc)
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
		BFDPIDFile:   "/run/bfd.pid",
		Umask:        -1,
	}
	apply := func(o optSpec, v string) error {
		if o.refused != "" {
			name := "--" + o.long
			if o.short != 0 {
				name = "-" + string(o.short) + ", " + name
			}
			return fmt.Errorf("option %s: %s: %w", name, o.refused, ErrRefused)
		}
		if o.set == nil {
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
		switch {
		case o.refused != "":
			note = " (refused: " + o.refused + ")"
		case o.same != "":
			note = " (" + o.same + ")"
		}
		fmt.Fprintf(&b, "  %s--%s%s\n", short, o.long, note)
	}
	return b.String()
}
