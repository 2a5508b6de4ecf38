package keepalived

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/user"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track"
)

// This file carries out the command-line options that are not about
// logging or pidfiles (see args.go for the list).

// configOptions are the parser's options for this command line: -i's config
// id, and the interfaces of this host so that a missing one is reported as
// keepalived reports it, in -t and at start.
func configOptions(args Args, test bool) keepalivedcfg.Options {
	opts := keepalivedcfg.DefaultOptions()
	opts.ConfigTest = test
	if args.ConfigID != "" {
		opts.ConfigID = args.ConfigID
	}
	opts.Interfaces = keepalivedcfg.SystemInterfaces
	opts.CheckScript = scriptChecker()
	opts.ScriptUser = lookupScriptUser
	return opts
}

// lookupScriptUser is keepalived's set_uid_gid check: the user, and the
// group if given, exist.
func lookupScriptUser(name, group string) (bool, string) {
	if _, err := user.Lookup(name); err != nil {
		return false, fmt.Sprintf("Script user '%s' does not exist", name)
	}
	if group != "" {
		if _, err := user.LookupGroup(group); err != nil {
			return false, fmt.Sprintf("Script group '%s' does not exist", group)
		}
	}
	return true, ""
}

// scriptChecker checks scripts for the parser as keepalived does when it
// loads its configuration (track.PrepareArgs: path search, executable,
// enable_script_security), with keepalived's log lines.
func scriptChecker() keepalivedcfg.ScriptCheck {
	def := &track.DefaultUser{}
	return func(args []string, user, group string, security bool) (keepalivedcfg.ScriptVerdict, []string) {
		var buf bytes.Buffer
		log := zerolog.New(zerolog.ConsoleWriter{Out: &buf, NoColor: true, PartsOrder: []string{zerolog.MessageFieldName}})
		cmd, err := track.PrepareArgs(args, track.Options{User: user, Group: group, ScriptSecurity: security, Default: def}, log)
		var lines []string
		for _, l := range strings.Split(buf.String(), "\n") {
			// The parser reports the script users (Options.ScriptUser).
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Script user '") && !strings.HasPrefix(l, "Script group '") {
				lines = append(lines, l)
			}
		}
		switch {
		case errors.Is(err, track.ErrInsecure):
			return keepalivedcfg.ScriptInhibited, lines
		case errors.Is(err, track.ErrNotExecutable):
			return keepalivedcfg.ScriptNotExecutable, lines
		case errors.Is(err, track.ErrNotFound):
			return keepalivedcfg.ScriptNotFound, lines
		case err == nil && cmd.Insecure:
			return keepalivedcfg.ScriptInsecure, lines
		}
		// Other errors (a missing script user) are left to the daemon,
		// which reports them when it prepares the script.
		return keepalivedcfg.ScriptRuns, lines
	}
}

// printSignum is --signum: the number on stdout, as keepalived prints it.
func printSignum(sigfunc string, stdout, stderr io.Writer) int {
	n, err := SignalNumber(sigfunc)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			fmt.Fprintf(stderr, "keepalived: %v\n", err)
		} else {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	fmt.Fprintln(stdout, n)
	return 0
}

// applyUmask is -u: the file creation mask of everything the daemon writes.
func applyUmask(args Args) {
	if args.Umask >= 0 {
		syscall.Umask(args.Umask)
	}
}

// enableCoreDump is -m: no limit on core files, and a Go crash dumps core
// (keepalived sets RLIMIT_CORE to infinity).
func enableCoreDump(args Args, log zerolog.Logger) {
	if !args.CoreDump {
		return
	}
	lim := syscall.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &lim); err != nil {
		log.Error().Msgf("Failed to set core file size: %v", err)
	}
	debug.SetTraceback("crash")
}

// dumpConf is -d: the configuration as keepalived logs it at start
// (dump_data_vrrp, the same data SIGUSR1 writes to /tmp/keepalived.data).
func dumpConf(d *Daemon, log zerolog.Logger) {
	for _, l := range strings.Split(strings.TrimRight(d.DataDump(), "\n"), "\n") {
		log.Info().Msg(l)
	}
}

// configExitCode is keepalived's exit status when the configuration stops
// the start (lib/scheduler.h): KEEPALIVED_EXIT_NO_CONFIG (6) without a
// file, KEEPALIVED_EXIT_CONFIG (2) for a configuration that cannot run (a
// missing interface, a refused keyword, ...).
func configExitCode(err error) int {
	switch {
	case errors.Is(err, keepalivedcfg.ErrNoConfig):
		return 6
	case errors.Is(err, keepalivedcfg.ErrInvalid), errors.Is(err, keepalivedcfg.ErrMissingParameter):
		return 2
	}
	return 1
}

// pidFiles are the pidfiles keepalived checks for a running daemon
// (keepalived_running): the main one, and those of the processes the
// options select.
func (a Args) pidFiles() []string {
	files := []string{a.PIDFile, a.VRRPPIDFile}
	if !a.VRRPOnly {
		files = append(files, a.CheckPIDFile)
		if !a.NoBFD {
			files = append(files, a.BFDPIDFile)
		}
	}
	return files
}
