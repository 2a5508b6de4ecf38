package gproxyd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
	"hapair/pkg/reexec"
	"hapair/pkg/sample"
	"hapair/pkg/syslog"
)

type mode int

const (
	modeStandalone  mode = iota // foreground, single process
	modeDaemonChild             // the detached process of -D
	modeWorker                  // a worker of -W/-Ws
)

// logSink is where gproxy's own messages go: stderr, as haproxy prints
// "[NOTICE]   (PID) : message", until the process detaches; then the local
// syslog (daemon facility, tag haproxy), since a daemon has no terminal.
type logSink struct {
	mu  sync.Mutex
	w   zerolog.LevelWriter
	pid int
}

func (s *logSink) Write(p []byte) (int, error) { return s.WriteLevel(zerolog.InfoLevel, p) }

func (s *logSink) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.WriteLevel(l, p)
}

// toSyslog sends further messages to /dev/log; without a syslog socket
// they are dropped, as they would be on a closed terminal.
func (s *logSink) toSyslog() {
	lw, err := syslog.NewLocalWriter(syslog.DevLog, "haproxy", 3 /* daemon */, s.pid, time.Now)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.w = syslog.Messages(lw)
	s.mu.Unlock()
}

func newDaemonLogger(w io.Writer, pid int, quiet bool) (zerolog.Logger, *logSink) {
	cw := zerolog.ConsoleWriter{Out: w, NoColor: true, PartsOrder: []string{zerolog.LevelFieldName, zerolog.MessageFieldName}}
	cw.FormatLevel = func(i any) string {
		lv, _ := i.(string)
		tag := map[string]string{"debug": "[DEBUG]", "info": "[NOTICE]", "warn": "[WARNING]", "error": "[ALERT]", "fatal": "[ALERT]"}[lv]
		if tag == "" {
			tag = "[NOTICE]"
		}
		return fmt.Sprintf("%-10s (%d) :", tag, pid)
	}
	sink := &logSink{w: zerolog.LevelWriterAdapter{Writer: cw}, pid: pid}
	l := zerolog.New(sink)
	if quiet {
		l = l.Level(zerolog.ErrorLevel)
	}
	return l, sink
}

// globalMaxConn is the process-wide limit haproxy applies when global
// maxconn is not set (it derives it from the file limit; 4096 is a sane
// floor that fits every limit we meet).
func globalMaxConn(cfg *haproxycfg.Config) int {
	if cfg.Global.MaxConn > 0 {
		return cfg.Global.MaxConn
	}
	return 4096
}

// serve runs the proxy in this process until it is stopped.
func (p *process) serve(m mode) int {
	ready := readyPipe()
	fail := func(format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		p.alert("%s", msg)
		if ready != nil {
			fmt.Fprint(ready, msg)
			ready.Close()
		}
		return 1
	}
	cfg := p.cfg

	hard, err := HardFDLimit()
	if err != nil {
		return fail("%v", err)
	}
	plan := PlanFDs(globalMaxConn(cfg), hard)
	if plan.Clamped {
		p.log.Warn().Msg(plan.Message())
	}
	cfg.Global.MaxConn = plan.MaxConn
	if _, err := RaiseFDLimit(plan.Need); err != nil {
		p.log.Warn().Err(err).Msg("open-file limit")
	}

	have := map[string]*net.TCPListener{}
	if m == modeWorker {
		if have, err = InheritedListeners(); err != nil {
			return fail("%v", err)
		}
	} else if have, err = p.takeOverListeners(false); err != nil {
		return fail("%v", err)
	}
	lns, err := p.openListeners(cfg, have)
	if err != nil {
		return fail("%v", err)
	}
	uid, gid, err := credentials(cfg.Global)
	if err != nil {
		return fail("%v", err)
	}

	logs, err := newSessionLogs(cfg, p.pid)
	if err != nil {
		return fail("%v", err)
	}
	defer logs.Close()

	netLns := make(map[string]net.Listener, len(lns))
	for a, ln := range lns {
		netLns[a] = ln
	}
	// The stats page needs the engine, which needs the page's handler: the
	// handler is looked up when the first listener starts serving.
	var ops *operatorServices
	eng, err := proxy.New(cfg, proxy.Options{
		Logger:     p.log,
		SessionLog: logs.session,
		ConnectLog: logs.connect,
		ConnError:  logs.connError,
		Listeners:  netLns,
		HTTPHandler: func(px *haproxycfg.Proxy) http.Handler {
			if ops == nil {
				return nil
			}
			return ops.handler(px)
		},
	})
	if err != nil {
		return fail("%v", err)
	}
	ops, err = startOperatorServices(p.log, cfg, eng, logs, p.pid)
	if err != nil {
		eng.Close()
		return fail("%v", err)
	}
	defer ops.Close()
	// The peers sections replicate the stick tables (pkg/peers).
	syncs, err := startPeers(cfg, eng.StickTables(), p.pid, replacesOldProcess(p.args), p.log.Level(zerolog.InfoLevel))
	if err != nil {
		eng.Close()
		return fail("%v", err)
	}
	defer syncs.Close()
	if m == modeWorker {
		if ctl := inheritedMasterCLI(); ctl != nil {
			go serveMasterCLI(ctl, ops.cmds, cfg.Global.StatsTimeout, p.log)
		}
	}
	if err := eng.Bind(); err != nil {
		return fail("%v", err)
	}
	ctx, cancel := backgroundCtx()
	defer cancel()
	if m != modeWorker {
		// The master keeps the sockets of its workers; others hand over their own.
		files := func() (map[string]*os.File, error) { return listenerFiles(lns) }
		if err := ServeHandoff(ctx, HandoffPath(p.pid), files); err != nil {
			p.log.Warn().Err(err).Msg("reloads will bind anew")
		}
	}
	if m == modeStandalone {
		if err := writePIDFile(p.args.PIDFile, p.pid); err != nil {
			p.log.Warn().Err(err).Msg("")
		}
	}
	if err := dropPrivileges(cfg.Global, uid, gid); err != nil {
		eng.Close()
		return fail("[%s.main()] %v", p.argv[0], err)
	}
	for _, pid := range p.args.SoftStopPIDs {
		_ = syscall.Kill(pid, syscall.SIGUSR1)
	}
	for _, pid := range p.args.HardStopPIDs {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	sigs, stop := signals()
	defer stop()
	served := make(chan error, 1)
	go func() { served <- eng.Serve(ctx) }()

	if ready != nil {
		fmt.Fprint(ready, readyPrefix)
		ready.Close()
		ready = nil
	}
	if m == modeDaemonChild {
		devnullStdio()
		p.sink.toSyslog()
	}
	for {
		select {
		case err := <-served:
			if err != nil {
				p.log.Error().Err(err).Msg("proxy stopped")
				eng.Close()
				return 1
			}
			eng.Wait(context.Background())
			return 0
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR1:
				// Soft stop: stop listening, let every session finish.
				p.log.Info().Msg("soft stop: no longer accepting, finishing sessions")
				cancel()
				eng.SoftStop()
				// Push the tables to the new process before leaving, as
				// haproxy's old process does (bounded: 5 s).
				syncs.softStop(5 * time.Second)
				// SIGTERM still ends the sessions at once, as in haproxy.
				finished := make(chan struct{})
				go func() { eng.Wait(context.Background()); close(finished) }()
				// `hard-stop-after` bounds the soft stop, as in haproxy.
				var hardStop <-chan time.Time
				if d := p.cfg.Global.HardStopAfter; d > 0 {
					t := time.NewTimer(d)
					defer t.Stop()
					hardStop = t.C
				}
				for {
					select {
					case <-finished:
						logs.stopped(eng)
						return 0
					case <-hardStop:
						logs.stopped(eng)
						p.log.Warn().Msg("soft-stop running for too long, performing a hard-stop.")
						logs.hardStopped(eng, func(m string) { p.log.Warn().Msg(m) })
						eng.Close()
						return 0
					case s := <-sigs:
						if s == syscall.SIGTERM || s == syscall.SIGINT {
							p.log.Info().Msgf("%v: stopping now", s)
							eng.Close()
							return 0
						}
					}
				}
			case syscall.SIGTERM, syscall.SIGINT:
				p.log.Info().Msgf("%v: stopping now", s)
				cancel()
				eng.Close()
				return 0
			case syscall.SIGHUP, syscall.SIGUSR2:
				if m == modeWorker {
					continue // the master reloads
				}
				p.reloadStandalone()
			}
		}
	}
}

// reloadStandalone starts a replacement process with `-sf <our pid>`: it
// takes our sockets, then asks us to stop softly.
func (p *process) reloadStandalone() {
	exe, err := reexec.Path(p.argv[0])
	if err != nil {
		p.log.Error().Err(err).Msg("reload")
		return
	}
	args := p.args.Reexec(p.argv[1:], p.pid)
	cmd := exec.Command(exe, args...)
	cmd.Args[0] = p.argv[0]
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	env := []string{}
	for _, e := range os.Environ() {
		if len(e) > len(envRole) && e[:len(envRole)+1] == envRole+"=" {
			continue
		}
		env = append(env, e)
	}
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		p.log.Error().Err(err).Msg("reload")
		return
	}
	p.log.Info().Msgf("reload: started pid %d to replace this process", cmd.Process.Pid)
	go func() { _ = cmd.Wait() }()
}

func listenerFiles(lns map[string]*net.TCPListener) (map[string]*os.File, error) {
	out := make(map[string]*os.File, len(lns))
	for a, ln := range lns {
		f, err := listenerFile(ln)
		if err != nil {
			for _, f := range out {
				f.Close()
			}
			return nil, fmt.Errorf("listener %s: %w", a, err)
		}
		out[a] = f
	}
	return out, nil
}

func devnullStdio() {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	for _, fd := range []int{0, 1, 2} {
		_ = syscall.Dup2(int(f.Fd()), fd)
	}
	f.Close()
}

// sessionLogs sends each proxy's session lines to its own log targets.
type sessionLogs struct {
	global  *syslog.Logger
	proxies map[*haproxycfg.Proxy]*syslog.Logger
	all     []*syslog.Logger
	access  *accessLogs // access_log.go
}

func newSessionLogs(cfg *haproxycfg.Config, pid int) (*sessionLogs, error) {
	s := &sessionLogs{proxies: map[*haproxycfg.Proxy]*syslog.Logger{}, access: newAccessLogs(cfg, pid)}
	// log-tag: the program name unless set globally, or per proxy for
	// that proxy's messages; log-send-hostname: the host in headers.
	tag := cfg.Global.LogTag
	if tag == "" {
		tag = "haproxy"
	}
	host := ""
	if cfg.Global.LogSendHostname {
		if host = cfg.Global.LogHostname; host == "" {
			host, _ = os.Hostname()
		}
	}
	if len(cfg.Global.Logs) > 0 {
		l, err := syslog.New(cfg.Global.Logs, tag, pid, time.Now)
		if err != nil {
			return nil, fmt.Errorf("global log: %w", err)
		}
		l.SetHostname(host)
		s.global = l
		s.all = append(s.all, l)
	}
	for _, px := range cfg.Proxies {
		if len(px.Logs) == 0 {
			continue
		}
		ptag := tag
		if px.Logging.Tag != "" {
			ptag = px.Logging.Tag
		}
		l, err := syslog.New(px.Logs, ptag, pid, time.Now)
		if err != nil {
			return nil, fmt.Errorf("proxy %s: log: %w", px.Name, err)
		}
		l.SetHostname(host)
		s.proxies[px] = l
		s.all = append(s.all, l)
	}
	return s, nil
}

const (
	levelErr     haproxycfg.Level = 3
	levelWarning haproxycfg.Level = 4
	levelInfo    haproxycfg.Level = 6
)

func (s *sessionLogs) session(px *haproxycfg.Proxy, sess accesslog.Session) {
	s.accessLine(px, &sess)
}

// connError logs a connection that failed before becoming a session
// (a TLS handshake failure), at info (err with `option
// log-separate-errors`), as haproxy's embryonic sessions.
func (s *sessionLogs) connError(px *haproxycfg.Proxy, ce proxy.ConnError) {
	l := s.proxies[px]
	if l == nil {
		return
	}
	var client netip.AddrPort
	if t, ok := ce.Client.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		client = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	level := levelInfo
	if px.Options.LogSeparateErrors {
		level = levelErr
	}
	if f := px.Logging.Error; f != nil {
		// error-log-format: the line is built as haproxy's sess_log
		// builds one without a stream (frontend as backend, no server,
		// timers not reached but the total).
		sess := accesslog.Session{
			Client: client, Accept: ce.Accept, FrontendName: px.Name, SSL: true,
			BackendName: px.Name, ServerName: "<NOSRV>",
			Tw: -1, Tc: -1, Tt: ce.Now.Sub(ce.Accept), TR: -1, Tr: -1, Ta: ce.Now.Sub(ce.Accept),
			TermCause: 'P', TermState: 'R', ActConn: ce.ActConn, FeConn: ce.FeConn,
		}
		if ce.Conn != nil {
			if t, ok := ce.Conn.LocalAddr().(*net.TCPAddr); ok {
				ap := t.AddrPort()
				sess.Frontend = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			}
			sess.SSLCipher, sess.SSLVersion = proxy.TLSLogFields(ce.Conn)
		}
		sess.Txn = &sample.Txn{Src: sess.Client, Dst: sess.Frontend, Frontend: px.Name, Backend: px.Name, Env: ce.Env}
		s.errorLine(px, l, level, f, &sess)
		return
	}
	l.Log(level, accesslog.ConnError(client, ce.Accept, px.Name, ce.Listener, ce.Msg))
}

// connect logs haproxy's "Connect from 192.168.1.10:40000 to
// 192.168.1.80:80 (stats/HTTP)" at info for each connection a logging proxy
// without tcplog or httplog accepts (dontlognull does not apply to it).
func (s *sessionLogs) connect(px *haproxycfg.Proxy, client, local net.Addr) {
	l := s.proxies[px]
	if l == nil || px.Logging.Access != nil {
		return
	}
	mode := "TCP"
	if px.Mode == haproxycfg.ModeHTTP {
		mode = "HTTP"
	}
	l.Log(levelInfo, fmt.Sprintf("Connect from %s to %s (%s/%s)", hostPort(client), hostPort(local), px.Name, mode))
}

// hostPort prints an address as haproxy does: IPv6 without brackets.
func hostPort(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		ip := t.IP
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		return fmt.Sprintf("%s:%d", ip, t.Port)
	}
	return a.String()
}

// stopped logs, once every session of a soft stop has ended, the warning
// haproxy 2.6 logs per proxy: "Proxy http stopped (cumulated conns: FE: 12,
// BE: 12)." (it logs nothing when it starts).
func (s *sessionLogs) stopped(eng *proxy.Engine) {
	for _, f := range eng.Frontends() {
		px := f.Proxy()
		l := s.proxies[px]
		if l == nil {
			continue
		}
		var be int64
		if b := eng.Backend(px.Name); b != nil && px.Kind.HasBackend() {
			be = b.Stats().TotalSessions
		}
		l.Log(levelWarning, fmt.Sprintf("Proxy %s stopped (cumulated conns: FE: %d, BE: %d).", px.Name, f.Stats().TotalSessions, be))
	}
	for _, b := range eng.Backends() {
		px := b.Proxy()
		l := s.proxies[px]
		if l == nil || px.Kind != haproxycfg.KindBackend {
			continue
		}
		l.Log(levelWarning, fmt.Sprintf("Proxy %s stopped (cumulated conns: FE: 0, BE: %d).", px.Name, b.Stats().TotalSessions))
	}
}

// hardStopped logs, for each proxy still holding sessions when
// `hard-stop-after` expires, haproxy 2.6's "Proxy l hard-stopped (1
// remaining conns will be closed).", to the proxy's log targets and, as
// haproxy's warnings, through warn.
func (s *sessionLogs) hardStopped(eng *proxy.Engine, warn func(string)) {
	for _, f := range eng.Frontends() {
		px := f.Proxy()
		n := f.Stats().CurSessions
		if n == 0 {
			continue
		}
		msg := fmt.Sprintf("Proxy %s hard-stopped (%d remaining conns will be closed).", px.Name, n)
		warn(msg)
		if l := s.proxies[px]; l != nil {
			l.Log(levelWarning, msg)
		}
	}
}

func (s *sessionLogs) Close() {
	for _, l := range s.all {
		l.Close()
	}
}
