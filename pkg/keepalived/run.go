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
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/garp"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
	"hapair/pkg/reexec"
	"hapair/pkg/syslogmsg"
	"hapair/pkg/track"
	"hapair/pkg/vip"
	"hapair/pkg/vmac"
	"hapair/pkg/vroute"
	"hapair/pkg/vrrp"
	"hapair/pkg/vrrpfsm"
)

// Files keepalived writes on SIGUSR1 and SIGUSR2.
const (
	DataFile  = "/tmp/keepalived.data"
	StatsFile = "/tmp/keepalived.stats"
)

// The daemonised parent and the VRRP process find their ready pipe here
// (envReadyFD); envChild marks the daemonised parent, envVRRP the VRRP
// process the parent supervises, envDetached a VRRP process whose parent
// left the terminal.
const (
	envChild    = "GKEEPALIVED_CHILD"
	envReadyFD  = "GKEEPALIVED_READY_FD"
	envVRRP     = "GKEEPALIVED_VRRP"
	envDetached = "GKEEPALIVED_DETACHED"
)

// Main runs gkeepalived with keepalived's command line and returns the exit
// status.
func Main(argv []string, stdout, stderr io.Writer) int {
	lowerGC() // until the start-up garbage is returned (memtrim.go)
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
	if os.Getenv(envVRRP) != "" {
		return runVRRP(argv, args, stderr)
	}
	if !args.DontFork && os.Getenv(envChild) == "" {
		return daemonize(argv, stderr)
	}
	return supervise(argv, args, stderr)
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
	cfg, diags, err := loadConfig(args, true)
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
	code := keepalivedcfg.ConfigTestExitCode(diags)
	if msg, bcode := bgpConfigTest(cfg); msg != "" {
		fmt.Fprint(out, msg)
		code = max(code, bcode)
	}
	return code
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
	// It is exiting (and removing its pidfile): give it the time to.
	exited := make(chan struct{})
	go func() { _, _ = cmd.Process.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
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
	// Not inherited by the VRRP process or the scripts: the reader waits
	// for the writers to close it.
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "ready")
}

// newLogger builds the daemon's logger: syslog (daemon facility, or
// local0..7 with -S) unless -G, the console with -l, a file with -g.
func newLogger(args Args, stderr io.Writer, ident string, pid int) (zerolog.Logger, func()) {
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
		fac := syslogmsg.Facility(3) // daemon
		if args.LogFacility >= 0 {
			fac = syslogmsg.Facility(16 + args.LogFacility)
		} else if args.LogFacility == -2 {
			fac = syslogmsg.Facility(1) // user
		}
		if lw, err := syslogmsg.NewLocalWriter(syslogmsg.DevLog, ident, fac, pid, time.Now); err == nil {
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

// runVRRP is the VRRP process: it runs the instances and serves the
// signals its parent forwards. It tells its parent on the ready pipe
// "READY\n" once started and after each reload, or why it could not start.
func runVRRP(argv []string, args Args, stderr io.Writer) int {
	pid := os.Getpid()
	ready := readyPipe()
	detached := os.Getenv(envDetached) != ""
	os.Unsetenv(envVRRP)
	os.Unsetenv(envDetached)
	fail := func(msg string) int {
		if ready != nil {
			fmt.Fprint(ready, msg)
			ready.Close()
		}
		return 1
	}
	log, closeLog := newLogger(args, stderr, "Keepalived_vrrp", pid)
	defer closeLog()
	log.Info().Msgf("Starting gkeepalived v%s (keepalived 2.2.7 compatible)", Version)
	log.Info().Msgf("Command line: %s", quoteCommandLine(argv))
	enableCoreDump(args, log)
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
	if err := writePID(log, args.VRRPPIDFile, pid); err != nil {
		log.Warn().Msgf("%v", err)
	}
	defer removeOwnPID(args.VRRPPIDFile, pid)

	env, closeEnv, err := systemEnv(log, args.LogDetail)
	if err != nil {
		log.Error().Msgf("%v", err)
		return fail(err.Error())
	}
	defer closeEnv()
	// vrrp_no_swap, max_auto_priority (keepalived sets them once the
	// configuration is read, and again after a reload).
	tn := &tuning{log: log}
	tn.apply(cfg.Global)
	defer tn.reset()
	env.Late = tn.late
	d := NewDaemon(env)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	if err := d.Start(context.Background(), cfg); err != nil {
		log.Error().Msgf("%v", err)
		d.Stop(context.Background())
		return fail(err.Error())
	}
	if args.DumpConf {
		dumpConf(d, log)
	}
	log.Info().Msg("Startup complete")
	var readyMu sync.Mutex
	tell := func() {
		readyMu.Lock()
		defer readyMu.Unlock()
		if ready != nil {
			fmt.Fprint(ready, "READY\n")
		}
	}
	tell()
	if detached {
		devNullStdio()
	}
	p := &vrrpProc{
		log: log, dataFile: DataFile, statsFile: StatsFile, stopWait: 10 * time.Second,
		data: d.DataDump, stats: d.StatsDump, stop: d.Stop,
		reload: func() {
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
				tn.apply(ncfg.Global)
				log.Info().Msg("Reload finished")
			}
			tell()
		},
	}
	p.serve(sigs)
	log.Info().Msgf("Stopped gkeepalived v%s", Version)
	return 0
}

// vrrpProc is the VRRP process's signal loop and what its signals do.
type vrrpProc struct {
	log                 zerolog.Logger
	dataFile, statsFile string
	// stopWait bounds the stop: a process whose instances cannot all stop
	// in time exits anyway (its parent then removes the VIPs).
	stopWait    time.Duration
	reload      func()
	data, stats func() string
	stop        func(ctx context.Context)
}

// serve handles signals until SIGTERM or SIGINT and the stop that follows.
// Nothing runs on the loop itself: a reload or a dump that waits behind a
// stuck instance keeps neither later signals nor the stop from being
// served. Reloads run one at a time; HUPs that arrive meanwhile make one
// more.
func (p *vrrpProc) serve(sigs <-chan os.Signal) {
	reloads := make(chan struct{}, 1)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			select {
			case <-reloads:
				p.reload()
			case <-quit:
				return
			}
		}
	}()
	var dumpMu sync.Mutex
	dump := func(what, path string, f func() string) {
		go func() {
			dumpMu.Lock()
			defer dumpMu.Unlock()
			p.log.Info().Msgf("Printing VRRP %s for process(%d) on signal", what, os.Getpid())
			writeDump(p.log, path, f())
		}()
	}
	for s := range sigs {
		switch s {
		case syscall.SIGHUP:
			select {
			case reloads <- struct{}{}:
			default: // one is already queued: it reads the newest file
			}
		case syscall.SIGUSR1:
			dump("data", p.dataFile, p.data)
		case syscall.SIGUSR2:
			dump("stats", p.statsFile, p.stats)
		case syscall.SIGTERM, syscall.SIGINT:
			p.log.Info().Msg("Stopping")
			ctx, cancel := context.WithTimeout(context.Background(), p.stopWait)
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				p.stop(ctx)
			}()
			select {
			case <-stopped:
			case <-time.After(p.stopWait + time.Second):
				p.log.Error().Msgf("Stop did not finish within %v: exiting anyway", p.stopWait)
			}
			cancel()
			return
		}
	}
}

// systemEnv is the daemon's Env on this machine.
func systemEnv(log zerolog.Logger, detail bool) (*Env, func(), error) {
	nl, err := vip.NewNetlink()
	if err != nil {
		return nil, nil, fmt.Errorf("netlink: %w", err)
	}
	vm, err := vmac.New()
	if err != nil {
		nl.Close()
		return nil, nil, err
	}
	vm.Logf = func(format string, args ...any) { log.Info().Msgf(format, args...) }
	vr, err := vroute.NewNetlink()
	if err != nil {
		nl.Close()
		vm.Close()
		return nil, nil, err
	}
	hostname, _ := os.Hostname()
	// One socket per interface, family and protocol for every instance.
	mux := vrrp.NewMux()
	env := &Env{
		VMACs:     vm,
		Routes:    vr,
		Log:       log,
		LogDetail: detail,
		Listen: func(c vrrp.Config) (vrrp.Conn, error) {
			mc, err := mux.Listen(c)
			if err != nil {
				return nil, err
			}
			return mc, nil
		},
		Interfaces:  SystemInterfaces,
		VIPs:        nl,
		Links:       nl,
		GARP:        garp.RawSender{},
		GARPClock:   &garp.Timers{},
		Clock:       vrrpfsm.SystemClock(),
		TrackRunner: &track.Runner{Log: log},
		Notifier:    &notify.Notifier{Log: log},
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
	return env, func() { nl.Close(); vm.Close(); vr.Close() }, nil
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

// writePID writes a pidfile; what was in the way is logged (see
// writeFileNoFollow).
func writePID(log zerolog.Logger, path string, pid int) error {
	if path == "" {
		return nil
	}
	replaced, err := writeFileNoFollow(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
	if replaced != "" {
		log.Error().Msgf("%s was %s: removed it rather than write through it", path, replaced)
	}
	if err != nil {
		return fmt.Errorf("cannot write pidfile %s: %w", path, err)
	}
	return nil
}

// writeDump writes a SIGUSR1/SIGUSR2 dump; what was in the way, and a
// failure, are logged.
func writeDump(log zerolog.Logger, path, data string) {
	replaced, err := writeFileNoFollow(path, []byte(data), 0o600)
	if replaced != "" {
		log.Error().Msgf("%s was %s: removed it rather than write through it", path, replaced)
	}
	if err != nil {
		log.Error().Msgf("Unable to open %s: %v", path, err)
	}
}

// writeFileNoFollow writes data to path, a file of ours, never through what
// someone else may have put there: the dumps live in /tmp, where anyone may
// plant /tmp/keepalived.data -> /etc/shadow for root to overwrite. A
// symbolic link, a hard link, a FIFO or device, or another user's file at
// path is removed and a new file created in its place (keepalived 2.2.7
// too replaces a link planted there, leaving its target alone); replaced
// says what it was.
func writeFileNoFollow(path string, data []byte, perm os.FileMode) (replaced string, err error) {
	var st syscall.Stat_t
	switch err := syscall.Lstat(path, &st); {
	case errors.Is(err, syscall.ENOENT):
		return "", createExcl(path, data, perm)
	case err != nil:
		return "", err
	}
	if replaced = unsafeKind(path, &st); replaced == "" {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
		if err != nil {
			return "", err
		}
		defer f.Close()
		var now syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &now); err != nil {
			return "", err
		}
		if now.Dev == st.Dev && now.Ino == st.Ino && unsafeKind(path, &now) == "" {
			if err := f.Truncate(0); err != nil {
				return "", err
			}
			if _, err := f.Write(data); err != nil {
				return "", err
			}
			return "", f.Close()
		}
		replaced = "swapped while being opened"
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return replaced, err
	}
	return replaced, createExcl(path, data, perm)
}

// unsafeKind says why the file st describes must not be written through,
// or "".
func unsafeKind(path string, st *syscall.Stat_t) string {
	switch {
	case st.Mode&syscall.S_IFMT == syscall.S_IFLNK:
		to, _ := os.Readlink(path)
		return "a symbolic link to " + to
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return "not a regular file"
	case st.Nlink > 1:
		return fmt.Sprintf("a file with %d hard links", st.Nlink)
	case int(st.Uid) != os.Geteuid():
		// Planted by another user, who would then read what we write.
		return fmt.Sprintf("a file of uid %d", st.Uid)
	}
	return ""
}

// createExcl creates path, which must not exist (O_EXCL: a link planted
// in between makes it fail rather than be followed).
func createExcl(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// removeOwnPID removes a pidfile that still names this process.
func removeOwnPID(path string, pid int) {
	if path == "" {
		return
	}
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
		os.Remove(path)
	}
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
