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
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
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
		return 1
	}
	if args.Version {
		fmt.Fprintf(stdout, "gproxy version %s - a drop-in replacement for HAProxy 2.6\n", Version)
		if args.BuildInfo {
			fmt.Fprintf(stdout, "Running on: %s\nSupported modes: tcp, http (stats)\nBalancing: roundrobin static-rr leastconn source first\n", runtimeInfo())
		}
		return 0
	}
	p := &process{args: args, argv: argv, stdout: stdout, stderr: stderr, pid: os.Getpid()}
	p.log, p.sink = newDaemonLogger(stderr, p.pid, args.Quiet)
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
	procs   *procTable // the master's workers, for its CLI
}

func (p *process) alert(format string, a ...any) {
	p.startupNotices()
	fmt.Fprintf(p.stderr, "[ALERT]    (%d) : %s\n", p.pid, fmt.Sprintf(format, a...))
}

// loadConfig parses the files and prints every diagnostic haproxy-style.
func (p *process) loadConfig() (*haproxycfg.Config, bool) {
	cfg, diags, err := haproxycfg.ParseFiles(p.args.Files, haproxycfg.ParseOptions{})
	// A re-executed process (the -D child, a -W worker) parses the files
	// again but its parent already printed the warnings: haproxy prints
	// each once.
	reexecuted := os.Getenv(envRole) != ""
	for _, d := range diags {
		if d.Severity != haproxycfg.Alert && (p.args.Quiet || reexecuted) {
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
	return cfg, true
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
	if p.args.Check {
		if !p.args.Quiet {
			fmt.Fprintln(p.stdout, "Configuration file is valid")
		}
		return 0
	}
	if p.args.MaxConn > 0 {
		p.cfg.Global.MaxConn = p.args.MaxConn
	}
	daemon := (p.args.Daemon || cfg.Global.Daemon) && !p.args.Foreground
	masterWorker := p.args.MasterWorker
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
		p.alert("%v", status)
		return 1
	}
	if err := writePIDFile(p.args.PIDFile, cmd.Process.Pid); err != nil {
		p.alert("%v", err)
	}
	_ = cmd.Process.Release()
	return 0
}

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
				msg = "the new process exited before it was ready"
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
// master, or bound here.
func (p *process) openListeners(cfg *haproxycfg.Config, have map[string]*net.TCPListener) (map[string]*net.TCPListener, error) {
	out := map[string]*net.TCPListener{}
	for _, px := range cfg.Proxies {
		if !px.Kind.HasFrontend() || px.Disabled {
			continue
		}
		for _, b := range px.Binds {
			addr := b.Address()
			if _, ok := out[addr]; ok {
				continue
			}
			if ln, ok := have[addr]; ok {
				out[addr] = ln
				continue
			}
			ln, err := Listen(addr)
			if err != nil {
				for _, l := range out {
					l.Close()
				}
				return nil, fmt.Errorf("Starting proxy %s: cannot bind socket (%v) [%s]", px.Name, errText(err), addr)
			}
			out[addr] = ln
		}
	}
	// Sockets of the old process that the new config no longer binds are
	// closed here; the old process closes its own copies when it stops.
	for addr, ln := range have {
		if _, ok := out[addr]; !ok {
			ln.Close()
		}
	}
	return out, nil
}

func errText(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
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
