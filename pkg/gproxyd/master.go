package gproxyd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"hapair/pkg/reexec"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/sdnotify"
)

// master runs the master-worker model (-W, -Ws), which Debian's systemd
// unit uses: the master binds every listening socket once, runs one worker
// that serves them, and on reload (SIGUSR2, or SIGHUP) checks the new
// configuration, starts a new worker on the same sockets and only then asks
// the old worker to finish its sessions and exit. A broken configuration
// keeps the running worker.
func (p *process) master() int {
	// Signals wait in the channel from the start: a reload asked for as
	// soon as systemd hears READY=1 must not find the default action
	// (which ends the process) still in place.
	sigs, stop := signals()
	defer stop()
	hard, err := HardFDLimit()
	if err != nil {
		p.alert("%v", err)
		return 1
	}
	plan := PlanFDs(globalMaxConn(p.cfg), hard)
	if plan.Clamped {
		p.log.Warn().Msg(plan.Message())
	}
	if _, err := RaiseFDLimit(plan.Need); err != nil {
		p.log.Warn().Err(err).Msg("open-file limit")
	}
	have, err := p.takeOverListeners(true)
	if err != nil {
		p.alert("%v", err)
		return 1
	}
	lns, err := p.openListeners(p.cfg, have)
	if err != nil {
		p.alert("%v", err)
		return 1
	}
	ready := readyPipe() // set when -D started us
	ctx, cancel := backgroundCtx()
	defer cancel()
	p.procs = newProcTable(p.pid)
	if err := ServeHandoff(ctx, HandoffPath(p.pid), func() (map[string]*os.File, error) { return listenerFiles(lns) }); err != nil {
		p.log.Warn().Err(err).Msg("handoff socket")
	}
	if err := writePIDFile(p.args.PIDFile, p.pid); err != nil {
		p.log.Warn().Err(err).Msg("")
	}
	w, err := p.startWorker(lns)
	if err != nil {
		p.alert("%v", err)
		if ready != nil {
			fmt.Fprint(ready, err.Error())
			ready.Close()
		}
		return 1
	}
	// The master CLI serves once the first worker is known, so that a
	// client connecting at once (VTest's -mcli) finds "@1", as haproxy's
	// master, which polls its CLI only after forking.
	if p.args.MasterSocket != "" {
		sock, err := runtimeapi.ParseMasterSocket(p.args.MasterSocket)
		if err == nil {
			var mcli *runtimeapi.MasterServer
			if mcli, err = runtimeapi.ListenMaster(sock, p.procs, p.log); err == nil {
				defer mcli.Close()
			}
		}
		if err != nil {
			p.alert("config : %v", err)
			p.alert("config : Can't create the master's CLI.")
			if ready != nil {
				fmt.Fprint(ready, err.Error())
				ready.Close()
			}
			_ = w.Process.Kill()
			_ = w.Wait()
			return 1
		}
	}
	for _, pid := range p.args.SoftStopPIDs {
		_ = syscall.Kill(pid, syscall.SIGUSR1)
	}
	for _, pid := range p.args.HardStopPIDs {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	p.log.Info().Msgf("New worker (%d) forked", w.Process.Pid)
	p.log.Info().Msg("Loading success.")
	if ready != nil {
		fmt.Fprint(ready, readyPrefix)
		ready.Close()
		devnullStdio()
		p.sink.toSyslog()
	}
	sdnotify.Notify(sdnotify.Ready)

	go func() {
		// `reload` on the master CLI is SIGUSR2.
		for {
			select {
			case <-p.procs.reload:
				sigs <- syscall.SIGUSR2
			case <-ctx.Done():
				return
			}
		}
	}()
	exited := make(chan *exec.Cmd, 16)
	watch := func(c *exec.Cmd) {
		go func() { _ = c.Wait(); exited <- c }()
	}
	watch(w)
	current := w
	old := map[*exec.Cmd]bool{}
	stopping := false
	// exitedLog logs a worker's end as haproxy 2.6's master does and
	// returns its status.
	exitedLog := func(c *exec.Cmd) int {
		code, how := exitStatus(c.ProcessState)
		switch {
		case c != current:
			p.log.Warn().Msgf("Former worker (%d) exited with code %d (%s)", c.Process.Pid, code, how)
		case code == 0:
			p.log.Warn().Msgf("Current worker (%d) exited with code %d (%s)", c.Process.Pid, code, how)
		default:
			p.log.Error().Msgf("Current worker (%d) exited with code %d (%s)", c.Process.Pid, code, how)
		}
		return code
	}
	allExited := func(code int) int {
		p.log.Warn().Msgf("All workers exited. Exiting... (%d)", code)
		return code
	}
	for {
		select {
		case c := <-exited:
			p.procs.gone(c)
			code := exitedLog(c)
			if old[c] {
				delete(old, c)
				if stopping && len(old) == 0 && current == nil {
					return allExited(0)
				}
				continue
			}
			if c == current {
				if stopping {
					current = nil
					if len(old) == 0 {
						return allExited(code)
					}
					continue
				}
				// The worker ended on its own: stop everything, as
				// haproxy's exit-on-failure does (which it names only
				// for a failure, not an exit or SIGINT/SIGTERM).
				if code != 0 && code != 130 && code != 143 {
					p.log.Error().Msg("exit-on-failure: killing every processes with SIGTERM")
				}
				sdnotify.Notify(sdnotify.Stopping)
				for o := range old {
					_ = o.Process.Signal(syscall.SIGTERM)
				}
				if code == 0 {
					code = 1
				}
				return allExited(code)
			}
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR2, syscall.SIGHUP:
				if stopping {
					// The sockets are closed and the workers finishing: a
					// stopping master starts nothing new.
					p.log.Warn().Msgf("%v ignored: the master is stopping", s)
					continue
				}
				sdnotify.Notify(sdnotify.Reloading)
				p.log.Info().Msg("Reloading HAProxy")
				p.procs.reloading()
				nw, nlns, err := p.reload(lns)
				p.procs.reloaded(current, err == nil)
				if err != nil {
					if !errors.Is(err, errConfig) {
						p.log.Error().Msgf("%v", err)
					}
					p.log.Warn().Msg("Loading failure!")
					sdnotify.Notify(sdnotify.Ready)
					continue
				}
				lns = nlns
				old[current] = true
				_ = current.Process.Signal(syscall.SIGUSR1)
				current = nw
				watch(nw)
				p.log.Info().Msgf("New worker (%d) forked", nw.Process.Pid)
				p.log.Info().Msg("Loading success.")
				sdnotify.Notify(sdnotify.Ready)
			case syscall.SIGUSR1:
				p.log.Warn().Msg("Exiting Master process...")
				stopping = true
				sdnotify.Notify(sdnotify.Stopping)
				for l := range lns {
					lns[l].Close()
				}
				signalWorkers(current, old, syscall.SIGUSR1)
			case syscall.SIGTERM, syscall.SIGINT:
				p.log.Warn().Msg("Exiting Master process...")
				stopping = true
				sdnotify.Notify(sdnotify.Stopping)
				n := signalWorkers(current, old, syscall.SIGTERM)
				deadline := time.After(10 * time.Second)
				for ; n > 0; n-- {
					select {
					case c := <-exited:
						p.procs.gone(c)
						exitedLog(c)
						if c == current {
							current = nil
						}
						delete(old, c)
					case <-deadline:
						return 0
					}
				}
				if s == syscall.SIGINT {
					// haproxy's master ends with its worker's status, 130
					// after SIGINT (VTest checks it); 0 after SIGTERM.
					return allExited(130)
				}
				return allExited(0)
			}
		}
	}
}

// exitStatus is a worker's exit code as a shell reports it (128 + the
// signal) and haproxy's word for how it ended ("Exit", "Terminated").
func exitStatus(st *os.ProcessState) (int, string) {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name := ws.Signal().String()
		if name != "" {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		return 128 + int(ws.Signal()), name
	}
	return st.ExitCode(), "Exit"
}

// errConfig: a reload's configuration has errors, already printed.
var errConfig = errors.New("configuration errors (see above)")

// signalWorkers sends sig to the current worker, if one still runs (during
// a soft stop it may have exited before the old ones), and to every old
// worker; it returns how many it signalled.
func signalWorkers(current *exec.Cmd, old map[*exec.Cmd]bool, sig syscall.Signal) int {
	n := 0
	if current != nil {
		_ = current.Process.Signal(sig)
		n++
	}
	for o := range old {
		_ = o.Process.Signal(sig)
		n++
	}
	return n
}

// reload re-reads the configuration and starts a worker for it on the
// current sockets (plus any new address).
func (p *process) reload(lns map[string]*net.TCPListener) (*exec.Cmd, map[string]*net.TCPListener, error) {
	cfg, ok := p.loadConfig()
	if !ok {
		return nil, nil, errConfig
	}
	keep := map[string]*net.TCPListener{}
	for a, l := range lns {
		keep[a] = l
	}
	nlns, err := p.openListeners(cfg, keep)
	if err != nil {
		return nil, nil, err
	}
	p.cfg = cfg
	w, err := p.startWorker(nlns)
	if err != nil {
		return nil, nil, err
	}
	return w, nlns, nil
}

// startWorker runs this program as a worker on lns and waits until it serves.
func (p *process) startWorker(lns map[string]*net.TCPListener) (*exec.Cmd, error) {
	exe, err := reexec.Path(p.argv[0])
	if err != nil {
		return nil, err
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	addrs := sortedKeys(lns)
	var files []*os.File
	for _, a := range addrs {
		f, err := listenerFile(lns[a])
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", a, err)
		}
		files = append(files, f)
	}
	ctl, theirs, err := workerCLIPair()
	if err != nil {
		wr.Close()
		for _, f := range files {
			f.Close()
		}
		return nil, fmt.Errorf("starting a worker: %w", err)
	}
	files = append(files, wr, theirs)
	cmd := exec.Command(exe, p.args.Reexec(p.argv[1:])...)
	cmd.Args[0] = p.argv[0]
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = files
	env := os.Environ()
	if p.procs != nil && p.procs.hasWorker() {
		env = append(env, envOldWorker+"=1")
	}
	cmd.Env = append(env, envRole+"="+roleWorker,
		envListenFDs+"="+strings.Join(addrs, ","),
		fmt.Sprintf("%s=%d", envReadyFD, 3+len(addrs)),
		fmt.Sprintf("%s=%d", envMasterCLIFD, 4+len(addrs)))
	// The worker dies with the master.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	err = cmd.Start()
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("starting a worker: %w", err)
	}
	if err := waitReady(rd, 30*time.Second); err != nil {
		ctl.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("worker failed to start: %w", err)
	}
	p.procs.add(cmd, ctl)
	return cmd, nil
}
