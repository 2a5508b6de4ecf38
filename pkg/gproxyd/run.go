package gproxyd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
	"hapair/pkg/reexec"
)

// Environment markers between the processes of one gproxy.
const (
	envRole     = "GPROXY_ROLE" // "daemon-child" or "worker"
	envReadyFD  = "GPROXY_READY_FD"
	roleChild   = "daemon-child"
	roleWorker  = "worker"
	readyPrefix = "READY"
)

// Main runs gproxy with haproxy's command line and returns the exit status.
func Main(argv []string, stdout, stderr io.Writer) int {
	args, err := ParseArgs(argv[1:])
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (%d) : %v\n", os.Getpid(), err)
		if errors.Is(err, ErrUsage) {
			fmt.Fprint(stderr, Usage)
		}
		return 1
	}
	if args.Version {
		fmt.Fprintf(stdout, "gproxy version %s - a drop-in replacement for HAProxy 2.6\n", Version)
		if args.BuildInfo {
			fmt.Fprintf(stdout, "Running on: %s\nSupported modes: tcp, http (stats)\nBalancing: roundrobin static-rr leastconn source first\n", runtimeInfo())
			printBuildInfo(stdout)
		}
		return 0
	}
	if args.HasCheckCondition {
		return checkCondition(args.CheckCondition, stderr)
	}
	p := &process{args: args, argv: argv, stdout: stdout, stderr: stderr, pid: os.Getpid()}
	p.log, p.sink = newDaemonLogger(stderr, p.pid, args.Quiet && !args.Verbose)
	if !p.applyStartFlags() {
		return 1
	}
	return p.main()
}

type process struct {
	args   Args
	argv   []string
	stdout io.Writer
	stderr io.Writer
	pid    int
	log    zerolog.Logger
	sink   *logSink
	// noticed: the version and path notices were printed.
	noticed bool
	cfg     *haproxycfg.Config
	// resolver replaces libcLookup in tests.
	resolver lookupFunc
	// warnings counts the configuration's warnings (-c reports them).
	warnings int
	procs    *procTable // the master's workers, for its CLI
}

func (p *process) alert(format string, a ...any) {
	p.startupNotices()
	fmt.Fprintf(p.stderr, "[ALERT]    (%d) : %s\n", p.pid, fmt.Sprintf(format, a...))
}

// applyStartFlags does what -C and -L ask before any file is read: change
// directory (every process started again later gets the absolute path, so
// it lands in the same place), and set HAPROXY_LOCALPEER, which a
// configuration may use as "${HAPROXY_LOCALPEER}", to the -L name or the
// host name, as haproxy does.
func (p *process) applyStartFlags() bool {
	if dir := p.args.ChDir; dir != "" {
		abs, err := filepath.Abs(dir)
		if err == nil {
			err = os.Chdir(abs)
		}
		if err != nil {
			p.alert("Could not change to directory %s : %s", dir, errText(err))
			return false
		}
		p.argv = append([]string{}, p.argv...)
		for i := 1; i+1 < len(p.argv); i++ {
			if p.argv[i] == "--" {
				break
			}
			if p.argv[i] == "-C" {
				p.argv[i+1] = abs
				i++
			}
		}
	}
	peer := p.args.LocalPeer
	if peer == "" {
		peer, _ = os.Hostname()
	}
	os.Setenv("HAPROXY_LOCALPEER", peer)
	return true
}

// quiet is haproxy's quiet mode: -q or `quiet` in global, unless -V
// (verbose wins over both).
func (p *process) quiet(cfg *haproxycfg.Config) bool {
	if p.args.Verbose || p.args.Debug {
		return false
	}
	return p.args.Quiet || cfg != nil && cfg.Global.Quiet
}

// applyEnv makes the global section's setenv, presetenv and unsetenv
// lines the process's environment, as haproxy changes its own while
// reading them: env() and child processes (external checks) see them,
// and a re-executed process inherits them (presetenv then keeps the
// value, setenv sets it again, as with haproxy's re-exec).
func applyEnv(ops []haproxycfg.EnvOp) {
	for _, op := range ops {
		switch op.Op {
		case "setenv":
			os.Setenv(op.Name, op.Value)
		case "presetenv":
			if _, ok := os.LookupEnv(op.Name); !ok {
				os.Setenv(op.Name, op.Value)
			}
		case "unsetenv":
			os.Unsetenv(op.Name)
		case "resetenv":
			resetEnv(op.Keep)
		}
	}
}

// resetEnv unsets every variable but those named, and gproxy's own
// GPROXY_* plumbing between its processes (a re-executed child reads
// its role there after applying the configuration again).
func resetEnv(keep []string) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GPROXY_") || slices.Contains(keep, name) {
			continue
		}
		os.Unsetenv(name)
	}
}

// loadConfig parses the files and prints every diagnostic haproxy-style.
func (p *process) loadConfig() (*haproxycfg.Config, bool) {
	cfg, diags, err := haproxycfg.ParseFiles(p.args.Files, haproxycfg.ParseOptions{LocalPeer: p.args.LocalPeer})
	// A re-executed process (the -D child, a -W worker) parses the files
	// again but its parent already printed the warnings: haproxy prints
	// each once.
	reexecuted := os.Getenv(envRole) != ""
	for _, d := range diags {
		if d.Severity == haproxycfg.Warning {
			p.warnings++
		}
		if d.Severity != haproxycfg.Alert && (p.quiet(cfg) || reexecuted) {
			continue
		}
		p.startupNotices()
		fmt.Fprintln(p.stderr, d.FormatWithPID(p.pid))
	}
	if err != nil {
		if !hasAlerts(diags) {
			p.alert("%v", err)
		}
		p.alert("config : Fatal errors found in configuration.")
		return nil, false
	}
	applyEnv(cfg.Global.Env)
	// Names are resolved now, before any chroot, in -c too (haproxy's -c
	// fails on a server name that does not resolve).
	res := resolveConfig(context.Background(), cfg, p.lookup(), p.args.DontFailResolve)
	for _, d := range res.diags {
		if d.Severity == haproxycfg.Warning {
			p.warnings++
		}
		if d.Severity != haproxycfg.Alert && (p.quiet(cfg) || reexecuted) {
			continue
		}
		p.startupNotices()
		fmt.Fprintln(p.stderr, d.FormatWithPID(p.pid))
	}
	if res.parseErrors || res.fatal {
		p.alert("config : Fatal errors found in configuration.")
	}
	if !res.ok() {
		return nil, false
	}
	if p.warnings > 0 && (p.args.ZeroWarning || cfg.Global.ZeroWarning) {
		// As haproxy 2.6: `zero-warning` or -dW make any warning fatal,
		// for -c and for a start alike.
		p.alert("config : Some warnings were found and 'zero-warning' is set. Aborting.")
		return nil, false
	}
	return cfg, true
}

// lookup is the resolver: libc's order, or a test's.
func (p *process) lookup() lookupFunc {
	if p.resolver != nil {
		return p.resolver
	}
	return libcLookup
}

// startupNotices prints, once and before the first warning or alert, the
// two lines haproxy 2.6 starts its diagnostics with.
func (p *process) startupNotices() {
	if p.noticed {
		return
	}
	p.noticed = true
	path, err := reexec.Path(p.argv[0])
	if err != nil {
		path = p.argv[0]
	}
	fmt.Fprintf(p.stderr, "[NOTICE]   (%d) : haproxy version is gproxy-%s (haproxy 2.6 compatible)\n", p.pid, Version)
	fmt.Fprintf(p.stderr, "[NOTICE]   (%d) : path to executable is %s\n", p.pid, path)
}

// hasListener reports whether cfg listens anywhere: a bind of an enabled
// frontend or a stats socket.
func hasListener(cfg *haproxycfg.Config) bool {
	if len(cfg.Global.StatsSockets) > 0 {
		return true
	}
	for _, px := range cfg.Proxies {
		if px.Kind.HasFrontend() && !px.Disabled && len(px.Binds) > 0 {
			return true
		}
	}
	return false
}

func hasAlerts(diags []haproxycfg.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == haproxycfg.Alert {
			return true
		}
	}
	return false
}

func (p *process) main() int {
	cfg, ok := p.loadConfig()
	if !ok {
		return 1
	}
	p.cfg = cfg
	// The global section's `pidfile` is -p unless the command line gave one.
	if p.args.PIDFile == "" {
		p.args.PIDFile = cfg.Global.PIDFile
	}
	if p.quiet(cfg) {
		p.log = p.log.Level(zerolog.ErrorLevel)
	}
	noListener := !hasListener(cfg)
	if p.args.Check {
		if p.warnings > 0 && !p.quiet(cfg) {
			fmt.Fprintln(p.stdout, "Warnings were found.")
		}
		if noListener {
			// haproxy's -c distinguishes a file that would not start.
			if !p.quiet(cfg) {
				fmt.Fprintln(p.stdout, "Configuration file has no error but will not start (no listener) => exit(2).")
			}
			return 2
		}
		if !p.quiet(cfg) {
			fmt.Fprintln(p.stdout, "Configuration file is valid")
		}
		return 0
	}
	if noListener {
		p.alert("[%s.main()] No enabled listener found (check for 'bind' directives) ! Exiting.", p.argv[0])
		return 1
	}
	if p.args.MaxConn > 0 {
		p.cfg.Global.MaxConn = p.args.MaxConn
	}
	if p.args.ProxyMaxConn > 0 {
		// -N is haproxy's initial value of every proxy's maxconn: a
		// `maxconn` in the section or its defaults overrides it.
		for _, px := range p.cfg.Proxies {
			if px.Kind.HasFrontend() && px.MaxConn == 0 {
				px.MaxConn = p.args.ProxyMaxConn
			}
		}
	}
	daemon := (p.args.Daemon || cfg.Global.Daemon) && !p.args.Foreground
	masterWorker := p.args.MasterWorker || cfg.Global.MasterWorker
	if p.args.MasterSocket != "" && !masterWorker && os.Getenv(envRole) == "" {
		p.startupNotices()
		p.log.Warn().Msg("config : a master CLI socket was defined, but master-worker mode (-W) is not enabled.")
	}
	switch os.Getenv(envRole) {
	case roleWorker:
		return p.serve(modeWorker)
	case roleChild:
		if masterWorker {
			return p.master()
		}
		return p.serve(modeDaemonChild)
	}
	if daemon && !p.args.SystemdReady {
		return p.daemonize()
	}
	if masterWorker {
		return p.master()
	}
	return p.serve(modeStandalone)
}

// daemonize starts this program again in a new session, detached from the
// terminal, and returns 0 only once that process reports it is serving.
func (p *process) daemonize() int {
	rd, wr, err := os.Pipe()
	if err != nil {
		p.alert("daemonizing: %v", err)
		return 1
	}
	exe, err := reexec.Path(p.argv[0])
	if err != nil {
		p.alert("daemonizing: %v", err)
		return 1
	}
	cmd := exec.Command(exe, p.argv[1:]...)
	cmd.Args[0] = p.argv[0]
	cmd.Env = append(os.Environ(), envRole+"="+roleChild, envReadyFD+"=3")
	cmd.ExtraFiles = []*os.File{wr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Until it is ready the child reports errors on our stderr.
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		p.alert("daemonizing: %v", err)
		return 1
	}
	wr.Close()
	status := waitReady(rd, 30*time.Second)
	rd.Close()
	if status != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		// The child printed its own alerts on our stderr; only a silent
		// death needs saying.
		if errors.Is(status, errSilentExit) {
			p.alert("%v", status)
		}
		return 1
	}
	if err := writePIDFile(p.args.PIDFile, cmd.Process.Pid); err != nil {
		p.alert("%v", err)
	}
	_ = cmd.Process.Release()
	return 0
}

// errSilentExit: the child ended without saying why.
var errSilentExit = errors.New("the new process exited before it was ready")

// waitReady reads a child's ready pipe: "READY" or an error text.
func waitReady(r *os.File, timeout time.Duration) error {
	_ = r.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	var got []byte
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if strings.HasPrefix(string(got), readyPrefix) {
			return nil
		}
		if err != nil {
			msg := strings.TrimSpace(string(got))
			if msg == "" {
				return errSilentExit
			}
			return errors.New(msg)
		}
	}
}

// readyPipe is the pipe on which a child says it is serving (or why not).
func readyPipe() *os.File {
	fd, err := strconv.Atoi(os.Getenv(envReadyFD))
	if err != nil {
		return nil
	}
	os.Unsetenv(envReadyFD)
	return os.NewFile(uintptr(fd), "ready")
}

func writePIDFile(path string, pids ...int) error {
	if path == "" {
		return nil
	}
	var b strings.Builder
	for _, pid := range pids {
		fmt.Fprintf(&b, "%d\n", pid)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("cannot create pidfile %s: %w", path, err)
	}
	return nil
}

// openListeners returns a listener for every bind of every enabled
// frontend: taken over from old processes (-sf/-st), inherited from the
// master, or bound here. A socket taken over is reused only if it has the
// address, family, IPv6-only and transparent settings the bind line asks
// for now; otherwise it is bound anew, as haproxy does. Every bind that
// fails is reported with haproxy's alert, IPv6 ones first as haproxy
// binds them, then the start fails.
func (p *process) openListeners(cfg *haproxycfg.Config, have map[string]*net.TCPListener) (map[string]*net.TCPListener, error) {
	out := map[string]*net.TCPListener{}
	var failed4, failed6 []string
	for _, px := range cfg.Proxies {
		if !px.Kind.HasFrontend() || px.Disabled {
			continue
		}
		for _, b := range px.Binds {
			if b.Sock.IsSet() {
				// UNIX sockets and inherited descriptors: opened by the
				// engine, not handed over on reload.
				continue
			}
			addr := b.Address()
			if _, ok := out[addr]; ok {
				continue
			}
			if ln, ok := have[addr]; ok && proxy.Compatible(ln, b) {
				out[addr] = ln
				continue
			}
			ln, err := proxy.ListenBind(b)
			if err != nil {
				msg := fmt.Sprintf("Binding [%s:%d] for %s %s: cannot bind socket (%s) for [%s]",
					b.Pos.File, b.Pos.Line, proxyKind(px), px.Name, errText(err), proxy.BindString(b))
				if ap, ok := proxy.BindSockAddr(b); ok && ap.Addr().Is6() {
					failed6 = append(failed6, msg)
				} else {
					failed4 = append(failed4, msg)
				}
				continue
			}
			out[addr] = ln
		}
	}
	if len(failed4)+len(failed6) > 0 {
		for _, msg := range append(failed6, failed4...) {
			p.alert("%s", msg)
		}
		for _, l := range out {
			l.Close()
		}
		return nil, fmt.Errorf("[%s.main()] Some protocols failed to start their listeners! Exiting.", p.argv[0])
	}
	// Sockets of the old process that the new config no longer binds (or
	// binds differently) are closed here; the old process closes its own
	// copies when it stops.
	for addr, ln := range have {
		if out[addr] != ln {
			ln.Close()
		}
	}
	return out, nil
}

// proxyKind is the section name haproxy's bind errors use.
func proxyKind(px *haproxycfg.Proxy) string {
	if px.Kind == haproxycfg.KindListen {
		return "proxy"
	}
	return "frontend"
}

// errText is an error as strerror(3) words it ("Address already in use"):
// Go's errno texts are libc's, lower-cased.
func errText(err error) string {
	var en syscall.Errno
	s := err.Error()
	if errors.As(err, &en) {
		s = en.Error()
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

func runtimeInfo() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "linux"
	}
	s := func(b [65]int8) string {
		var out []byte
		for _, c := range b {
			if c == 0 {
				break
			}
			out = append(out, byte(c))
		}
		return string(out)
	}
	return fmt.Sprintf("%s %s %s", s(u.Sysname), s(u.Release), s(u.Machine))
}

// signals turns the process signals into a channel.
func signals() (chan os.Signal, func()) {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGTTOU, syscall.SIGTTIN)
	return ch, func() { signal.Stop(ch) }
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// backgroundCtx exists so that tests can see where contexts start.
func backgroundCtx() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
