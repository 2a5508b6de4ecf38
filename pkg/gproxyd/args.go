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
	Files        []string // -f, repeatable; a directory means its *.cfg files
	Check        bool     // -c: check the configuration and exit
	Daemon       bool     // -D
	Foreground   bool     // -db: disable background mode
	MasterWorker bool     // -W or -Ws
	SystemdReady bool     // -Ws: tell systemd READY=1 once serving
	MasterSocket string   // -S path[,opts]: the master CLI (-W), runtimeapi.ParseMasterSocket
	PIDFile      string   // -p
	SoftStopPIDs []int    // -sf PID...
	HardStopPIDs []int    // -st PID...
	Quiet        bool     // -q
	Verbose      bool     // -V
	Version      bool     // -v
	BuildInfo    bool     // -vv
	SocketFrom   string   // -x: the old process's stats socket; its listeners are taken (SocketsFrom)
	MaxConn      int      // -n
	Warnings     []string // flags accepted but not acted upon
}

// ErrUsage is returned for a command line gproxy cannot understand.
var ErrUsage = errors.New("usage: gproxy [-f cfgfile[.cfg]]* [-c] [-D] [-W|-Ws] [-db] [-q] [-V] [-v|-vv] [-p pidfile] [-n maxconn] [-S socket] [-x socket] [-sf|-st pid]*")

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
		case "-de", "-dp", "-dS", "-dr", "-dV", "-dW", "-dM", "-m", "-N", "-L", "-C":
			// Tuning and debugging switches of haproxy with no effect here;
			// some take a value.
			if arg == "-m" || arg == "-N" || arg == "-L" || arg == "-C" {
				if _, err = next(); err != nil {
					break
				}
			}
			a.Warnings = append(a.Warnings, fmt.Sprintf("option %s is accepted and ignored", arg))
		default:
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
	if len(a.Files) == 0 && !a.Version {
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
