package keepalived

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/garp"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
	"hapair/pkg/reexec"
	"hapair/pkg/sdnotify"
	"hapair/pkg/syslog"
	"hapair/pkg/track"
	"hapair/pkg/vip"
	"hapair/pkg/vrrp"
	"hapair/pkg/vrrpfsm"
)

// Files keepalived writes on SIGUSR1 and SIGUSR2.
const (
	DataFile  = "/tmp/keepalived.data"
	StatsFile = "/tmp/keepalived.stats"
)

// The daemonised child finds its ready pipe here.
const (
	envChild   = "GKEEPALIVED_CHILD"
	envReadyFD = "GKEEPALIVED_READY_FD"
)

// Main runs gkeepalived with keepalived's command line and returns the exit
// status.
func Main(argv []string, stdout, stderr io.Writer) int {
	args, err := ParseArgs(argv[1:])
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", progName(argv), err)
		return 1
	}
	if args.Help {
		fmt.Fprint(stdout, Usage(progName(argv)))
		return 0
	}
	if args.Version {
		fmt.Fprintf(stdout, "gkeepalived v%s (a drop-in replacement for Keepalived v2.2.7)\n", Version)
		return 0
	}
	if args.Signum != "" {
		return printSignum(args.Signum, stdout, stderr)
	}
	applyUmask(args)
	if args.ConfigTest {
		return configTest(args, stderr)
	}
	if !args.DontFork && os.Getenv(envChild) == "" {
		return daemonize(argv, stderr)
	}
	return run(argv, args, stderr)
}

func progName(argv []string) string {
	if len(argv) == 0 {
		return "keepalived"
	}
	s := argv[0]
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// loadConfig reads and checks the configuration file (a glob, as
// keepalived's -f).
func loadConfig(args Args, test bool) (*keepalivedcfg.Config, []keepalivedcfg.Diagnostic, error) {
	return keepalivedcfg.ParseFileOptions(args.ConfigFile, configOptions(args, test))
}

// configTest is `keepalived -t`: print every diagnostic, exit with
// keepalived's code.
func configTest(args Args, stderr io.Writer) int {
	_, diags, err := loadConfig(args, true)
	out := stderr
	if args.TestLogFile != "" {
		f, ferr := os.Create(args.TestLogFile)
		if ferr == nil {
			defer f.Close()
			out = f
		}
	}
	fmt.Fprint(out, keepalivedcfg.FormatDiagnostics(diags))
	if errors.Is(err, keepalivedcfg.ErrNoConfig) {
		// keepalived 2.2.7 says so (a diagnostic above) and exits 0.
		return keepalivedcfg.ExitOK
	}
	return keepalivedcfg.ConfigTestExitCode(diags)
}

// daemonize starts this program again detached from the terminal, as
// keepalived forks without -n, and returns once it runs (or failed).
func daemonize(argv []string, stderr io.Writer) int {
	exe, err := reexec.Path(argv[0])
	if err != nil {
		fmt.Fprintf(stderr, "keepalived: %v\n", err)
		return 1
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "keepalived: %v\n", err)
		return 1
	}
	cmd := exec.Command(exe, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = append(os.Environ(), envChild+"=1", envReadyFD+"=3")
	cmd.ExtraFiles = []*os.File{wr}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "keepalived: starting the daemon: %v\n", err)
		return 1
	}
	wr.Close()
	_ = rd.SetReadDeadline(time.Now().Add(30 * time.Second))
	msg, _ := io.ReadAll(rd)
	rd.Close()
	if strings.HasPrefix(string(msg), "READY") {
		_ = cmd.Process.Release()
		return 0
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	if len(msg) == 0 {
		msg = []byte("the daemon exited during start-up")
	}
	fmt.Fprintf(stderr, "keepalived: %s\n", strings.TrimSpace(string(msg)))
	return 1
}

func readyPipe() *os.File {
	fd, err := strconv.Atoi(os.Getenv(envReadyFD))
	if err != nil {
		return nil
	}
	os.Unsetenv(envReadyFD)
	os.Unsetenv(envChild)
	return os.NewFile(uintptr(fd), "ready")
}

// newLogger builds the daemon's logger: syslog (daemon facility, or
// local0..7 with -S) unless -G, the console with -l, a file with -g.
func newLogger(args Args, stderr io.Writer, pid int) (zerolog.Logger, func()) {
	w := &lineWriter{now: time.Now}
	var closers []func()
	if args.LogConsole {
		w.console = stderr
	}
	if args.LogFile != "" {
		if f, err := os.OpenFile(args.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640); err == nil {
			w.file = f
			closers = append(closers, func() { f.Close() })
		} else {
			fmt.Fprintf(stderr, "keepalived: log file %s: %v\n", args.LogFile, err)
		}
	}
	if !args.NoSyslog {
		fac := haproxycfg.Facility(3) // daemon
		if args.LogFacility >= 0 {
			fac = haproxycfg.Facility(16 + args.LogFacility)
		} else if args.LogFacility == -2 {
			fac = haproxycfg.Facility(1) // user
		}
		if lw, err := syslog.NewLocalWriter(syslog.DevLog, "Keepalived_vrrp", fac, pid, time.Now); err == nil {
			w.sys = lw
			closers = append(closers, func() { lw.Close() })
		}
	}
	level := zerolog.InfoLevel
	if args.LogDetail {
		level = zerolog.DebugLevel
	}
	return zerolog.New(w).Level(level), func() {
		for _, c := range closers {
			c()
		}
	}
}

// run is the daemon itself.
func run(argv []string, args Args, stderr io.Writer) int {
	pid := os.Getpid()
	ready := readyPipe()
	fail := func(msg string) int {
		if ready != nil {
			fmt.Fprint(ready, msg)
			ready.Close()
		}
		return 1
	}
	log, closeLog := newLogger(args, stderr, pid)
	defer closeLog()
	log.Info().Msgf("Starting gkeepalived v%s (keepalived 2.2.7 compatible)", Version)
	log.Info().Msgf("Command line: %s", quoteCommandLine(argv))
	enableCoreDump(args, log)
	if args.Namespace != "" {
		log.Error().Msgf("--namespace %s is not supported by gkeepalived: run it under `ip netns exec %s`", args.Namespace, args.Namespace)
		return fail("--namespace is not supported")
	}
	for _, f := range args.pidFiles() {
		if err := checkPIDFile(f); err != nil {
			log.Error().Msg(err.Error())
			return fail(err.Error())
		}
	}
	log.Info().Msgf("Opening file '%s'.", args.ConfigFile)
	cfg, diags, err := loadConfig(args, false)
	for _, d := range diags {
		log.Warn().Msg(d.String())
	}
	if err != nil {
		log.Error().Msgf("%v", err)
		fail(err.Error())
		return configExitCode(err)
	}
	for _, f := range []string{args.PIDFile, args.VRRPPIDFile} {
		if err := writePID(f, pid); err != nil {
			log.Warn().Msgf("%v", err)
		}
	}
	defer func() {
		os.Remove(args.PIDFile)
		os.Remove(args.VRRPPIDFile)
	}()

	env, closeEnv, err := systemEnv(log, args.LogDetail)
	if err != nil {
		log.Error().Msgf("%v", err)
		return fail(err.Error())
	}
	defer closeEnv()
	d := NewDaemon(env)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	if err := d.Start(ctx, cfg); err != nil {
		log.Error().Msgf("%v", err)
		d.Stop(context.Background())
		return fail(err.Error())
	}
	if args.DumpConf {
		dumpConf(d, log)
	}
	log.Info().Msg("Startup complete")
	if ready != nil {
		fmt.Fprint(ready, "READY")
		ready.Close()
		devNullStdio()
	}
	sdnotify.Notify(sdnotify.Ready)

	for s := range sigs {
		switch s {
		case syscall.SIGHUP:
			sdnotify.Notify(sdnotify.Reloading)
			log.Info().Msg("Reloading")
			log.Info().Msgf("Opening file '%s'.", args.ConfigFile)
			ncfg, diags, err := loadConfig(args, false)
			for _, d := range diags {
				log.Warn().Msg(d.String())
			}
			if err != nil {
				log.Error().Msgf("Reload failed, keeping the running configuration: %v", err)
			} else {
				d.Reload(ncfg)
				log.Info().Msg("Reload finished")
			}
			sdnotify.Notify(sdnotify.Ready)
		case syscall.SIGUSR1:
			log.Info().Msgf("Printing VRRP data for process(%d) on signal", pid)
			if err := os.WriteFile(DataFile, []byte(d.DataDump()), 0o600); err != nil {
				log.Error().Msgf("writing %s: %v", DataFile, err)
			}
		case syscall.SIGUSR2:
			log.Info().Msgf("Printing VRRP stats for process(%d) on signal", pid)
			if err := os.WriteFile(StatsFile, []byte(d.StatsDump()), 0o600); err != nil {
				log.Error().Msgf("writing %s: %v", StatsFile, err)
			}
		case syscall.SIGTERM, syscall.SIGINT:
			sdnotify.Notify(sdnotify.Stopping)
			log.Info().Msg("Stopping")
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			d.Stop(sctx)
			scancel()
			log.Info().Msgf("Stopped gkeepalived v%s", Version)
			return 0
		}
	}
	return 0
}

// systemEnv is the daemon's Env on this machine.
func systemEnv(log zerolog.Logger, detail bool) (*Env, func(), error) {
	nl, err := vip.NewNetlink()
	if err != nil {
		return nil, nil, fmt.Errorf("netlink: %w", err)
	}
	hostname, _ := os.Hostname()
	env := &Env{
		Log:          log,
		LogDetail:    detail,
		Listen:       func(c vrrp.Config) (vrrp.Conn, error) { return vrrp.Listen(c) },
		Interfaces:   SystemInterfaces,
		VIPs:         nl,
		Links:        nl,
		GARP:         garp.RawSender{},
		GARPClock:    garp.RealClock{},
		Clock:        vrrpfsm.SystemClock(),
		TrackRunner:  &track.Runner{Log: log},
		Notifier:     &notify.Notifier{Log: log},
		GARPInterval: 0,
	}
	env.Mailer = func(g keepalivedcfg.Global) *notify.Mailer {
		server := g.SMTPServer
		if g.SMTPPort != 0 && g.SMTPPort != 25 {
			server = joinHostPort(server, g.SMTPPort)
		}
		helo := g.SMTPHeloName
		if helo == "" {
			helo = hostname
		}
		return &notify.Mailer{
			Server: server, ConnectTimeout: g.SMTPConnectTimeout, From: g.NotificationEmailFrom,
			To: g.NotificationEmail, RouterID: g.RouterID, Hostname: helo, Log: log,
		}
	}
	return env, func() { nl.Close() }, nil
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

func quoteCommandLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + a + "'"
	}
	return strings.Join(q, " ")
}

// checkPIDFile refuses to start a second daemon, as keepalived does.
func checkPIDFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return nil
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return nil // stale
	}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	name := strings.TrimSpace(string(comm))
	if name != "keepalived" && name != "gkeepalived" {
		return nil
	}
	return fmt.Errorf("daemon is already running (pid %d in %s)", pid, path)
}

func writePID(path string, pid int) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot write pidfile %s: %w", path, err)
	}
	return nil
}

func devNullStdio() {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	for _, fd := range []int{0, 1, 2} {
		_ = syscall.Dup2(int(f.Fd()), fd)
	}
	f.Close()
}
