// Package gproxyd is gproxy's process layer: haproxy's command line, the
// configuration check, daemonising, the master-worker model, listening
// sockets handed from one process to the next on reload, signals, pidfiles,
// privileges and the open-file limit. The proxy itself is package proxy.
package gproxyd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is what `gproxy -v` prints.
const Version = "0.1.0"

// Args is haproxy's command line, as init scripts and systemd units pass it.
type Args struct {
	Files      []string // -f, repeatable; a directory means its *.cfg files
	Check      bool     // -c: check the configuration and exit
	Daemon     bool     // -D
	Foreground bool     // -db: disable background mode
	// Debug is -d: haproxy's debug mode, foreground and never quiet
	// (what haproxy 2.6 prints in it beyond that is not reproduced).
	Debug bool
	// CheckCondition is -cc EXPR: evaluate a `.if` condition and exit 0
	// (true), 1 (false) or 2 (error), as haproxy 2.6.
	CheckCondition    string
	HasCheckCondition bool
	MasterWorker      bool   // -W or -Ws
	SystemdReady      bool   // -Ws: tell systemd READY=1 once serving
	MasterSocket      string // -S path[,opts]: the master CLI (-W), runtimeapi.ParseMasterSocket
	PIDFile           string // -p
	SoftStopPIDs      []int  // -sf PID...
	HardStopPIDs      []int  // -st PID...
	Quiet             bool   // -q
	Verbose           bool   // -V
	Version           bool   // -v
	BuildInfo         bool   // -vv
	SocketFrom        string // -x: the old process's stats socket; its listeners are taken (SocketsFrom)
	MaxConn           int    // -n
	// ProxyMaxConn is -N: the maxconn of frontends that set none (neither
	// in the section nor in its defaults).
	ProxyMaxConn int
	ChDir        string // -C: directory to change to before loading files
	LocalPeer    string // -L: HAPROXY_LOCALPEER, the hostname by default
	// DontFailResolve is -dr: a server name that does not resolve puts
	// the server in maintenance instead of refusing the configuration.
	DontFailResolve bool
	ZeroWarning     bool // -dW: any configuration warning is fatal, as `zero-warning`
}

// ErrUsage is returned for a command line gproxy cannot understand.
var ErrUsage = errors.New("see the usage below")

// Usage is what gproxy prints after a usage error, in haproxy's layout,
// naming only the options gproxy honours.
const Usage = `Usage : haproxy [-f <cfgfile|cfgdir>]* [ -vVD ] [ -n <maxconn> ] [ -N <maxpconn> ]
        [ -p <pidfile> ] [ -C <dir> ] [-- <cfgfile>*]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -db only disables background mode.
        -V enters verbose mode (disables quiet mode)
        -D goes daemon ; -C changes to <dir> before loading files.
        -W master-worker mode.
        -Ws master-worker mode with systemd notify support.
        -q quiet mode : don't display messages
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit
        -n sets the maximum total # of connections
        -N sets the default, per-proxy maximum # of connections
        -L set local peer name (default to hostname)
        -p writes pids of all children to this file
        -de, -dp, -dS, -dV, -dM are accepted and change nothing in gproxy
        -dr ignores server address resolution failures
        -sf/-st [pid ]* finishes/terminates old pids.
        -x <unix_socket> get listening sockets from a unix socket
        -S <bind>[,<bind options>...] new master CLI
`

// ParseArgs reads haproxy's flags. `-sf` and `-st` take every following
// argument that is a number, as haproxy does; anything after `--` is a
// configuration file.
func ParseArgs(argv []string) (Args, error) {
	var a Args
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		next := func() (string, error) {
			if i+1 >= len(argv) {
				return "", fmt.Errorf("option %s needs an argument: %w", arg, ErrUsage)
			}
			i++
			return argv[i], nil
		}
		pids := func() ([]int, error) {
			var out []int
			for i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
				n, err := strconv.Atoi(argv[i+1])
				if err != nil || n <= 0 {
					return nil, fmt.Errorf("option %s: %q is not a process id: %w", arg, argv[i+1], ErrUsage)
				}
				out = append(out, n)
				i++
			}
			return out, nil
		}
		var err error
		switch arg {
		case "--":
			a.Files = append(a.Files, argv[i+1:]...)
			i = len(argv)
		case "-f":
			var f string
			if f, err = next(); err == nil {
				a.Files = append(a.Files, f)
			}
		case "-c":
			a.Check = true
		case "-cc":
			a.CheckCondition, err = next()
			a.HasCheckCondition = true
		case "-d":
			a.Debug, a.Foreground = true, true
		case "-D":
			a.Daemon = true
		case "-db":
			a.Foreground = true
		case "-W":
			a.MasterWorker = true
		case "-Ws":
			a.MasterWorker, a.SystemdReady = true, true
		case "-q":
			a.Quiet = true
		case "-V":
			a.Verbose = true
		case "-v":
			a.Version = true
		case "-vv":
			a.Version, a.BuildInfo = true, true
		case "-p":
			a.PIDFile, err = next()
		case "-S":
			a.MasterSocket, err = next()
		case "-x":
			a.SocketFrom, err = next()
		case "-n":
			var s string
			if s, err = next(); err == nil {
				if a.MaxConn, err = strconv.Atoi(s); err != nil || a.MaxConn <= 0 {
					err = fmt.Errorf("option -n: %q is not a positive number: %w", s, ErrUsage)
				}
			}
		case "-sf":
			var p []int
			if p, err = pids(); err == nil {
				a.SoftStopPIDs = append(a.SoftStopPIDs, p...)
			}
		case "-st":
			var p []int
			if p, err = pids(); err == nil {
				a.HardStopPIDs = append(a.HardStopPIDs, p...)
			}
		case "-dr":
			a.DontFailResolve = true
		case "-N":
			var v string
			if v, err = next(); err == nil {
				if a.ProxyMaxConn, err = strconv.Atoi(v); err != nil || a.ProxyMaxConn <= 0 {
					err = fmt.Errorf("option -N: %q is not a positive number: %w", v, ErrUsage)
				}
			}
		case "-C":
			a.ChDir, err = next()
		case "-L":
			a.LocalPeer, err = next()
		case "-de", "-dp", "-dS", "-dV":
			// -de/-dp disable haproxy's epoll/poll pollers and -dS its use
			// of splice: Go's runtime polls and copies its own way, and the
			// bytes and timings a user sees are the same. -dV disables TLS
			// verification towards servers: gproxy has no server-side TLS
			// (the configuration check refuses `ssl` on servers), so there
			// is nothing to verify. Accepted, nothing to record.
		case "-dW":
			a.ZeroWarning = true
		case "-m":
			// haproxy caps its address space (RLIMIT_AS); Go's runtime
			// reserves more address space than any sensible cap at start
			// and dies on a failed allocation where haproxy fails one
			// request: refused rather than run differently.
			if _, err = next(); err == nil {
				err = fmt.Errorf("option -m (memory limit) is not supported by gproxy: %w", ErrUsage)
			}
		default:
			if strings.HasPrefix(arg, "-dM") {
				// Memory poisoning and pool debugging of haproxy's
				// allocator (-dM[<byte>][,<opt>...]): Go has no such pools.
				break
			}
			if strings.HasPrefix(arg, "-") {
				return a, fmt.Errorf("unknown option %q: %w", arg, ErrUsage)
			}
			// haproxy treats a bare argument as a configuration file too.
			a.Files = append(a.Files, arg)
		}
		if err != nil {
			return a, err
		}
	}
	if len(a.Files) == 0 && !a.Version && !a.HasCheckCondition {
		return a, fmt.Errorf("no configuration file given (-f): %w", ErrUsage)
	}
	return a, nil
}

// Reexec returns the arguments for a process that replaces this one: the
// same flags without -sf/-st, then `-sf` with the given pids.
func (a Args) Reexec(argv []string, replace ...int) []string {
	var out []string
	for i := 0; i < len(argv); i++ {
		if argv[i] == "-sf" || argv[i] == "-st" {
			for i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
				if _, err := strconv.Atoi(argv[i+1]); err != nil {
					break
				}
				i++
			}
			continue
		}
		out = append(out, argv[i])
	}
	if len(replace) == 0 {
		return out
	}
	sf := []string{"-sf"}
	for _, p := range replace {
		sf = append(sf, strconv.Itoa(p))
	}
	// Files after "--" must stay last.
	for i, s := range out {
		if s == "--" {
			return append(append(append([]string{}, out[:i]...), sf...), out[i:]...)
		}
	}
	return append(out, sf...)
}
