package keepalived

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/reexec"
	"hapair/pkg/sdnotify"
	"hapair/pkg/vip"
)

// supervise is keepalived's parent process. It writes the main pidfile
// (-p, /run/keepalived.pid), starts the VRRP process (this program again,
// which writes -r, /run/vrrp.pid), forwards HUP, USR1, USR2 and TERM to
// it, talks to systemd, and when the VRRP process dies of anything but a
// stop it removes the configuration's VIPs at once (so the crashed master
// does not keep them while its peer takes over) and starts a new one, as
// keepalived's parent respawns its VRRP child. --dont-respawn (-R) exits
// instead.
func supervise(argv []string, args Args, stderr io.Writer) int {
	pid := os.Getpid()
	ready := readyPipe()
	log, closeLog := newLogger(args, stderr, "Keepalived", pid)
	defer closeLog()
	fail := func(msg string) int {
		if ready != nil {
			fmt.Fprint(ready, msg)
			ready.Close()
		}
		return 1
	}
	if args.Namespace != "" {
		log.Error().Msgf("--namespace %s is not supported by gkeepalived: run it under `ip netns exec %s`", args.Namespace, args.Namespace)
		return fail("--namespace is not supported")
	}
	// As keepalived_running: the main pidfile and those of the processes
	// the options select (the parent checks; its VRRP child would find
	// the parent's own pidfile).
	for _, f := range args.pidFiles() {
		if err := checkPIDFile(f); err != nil {
			log.Error().Msg(err.Error())
			return fail(err.Error())
		}
	}
	exe, err := reexec.Path(argv[0])
	if err != nil {
		log.Error().Msgf("%v", err)
		return fail(err.Error())
	}
	if err := writePID(log, args.PIDFile, pid); err != nil {
		log.Warn().Msgf("%v", err)
	}
	defer removeOwnPID(args.PIDFile, pid)
	s := &supervisor{log: log, argv: argv, args: args, exe: exe, stderr: stderr, detached: ready != nil, stopWait: 15 * time.Second}
	if nl, err := vip.NewNetlink(); err == nil {
		defer nl.Close()
		s.vips = nl
	} else {
		log.Warn().Msgf("netlink: %v: the VIPs of a crashed VRRP process cannot be removed", err)
	}
	s.readConfig()
	return s.run(func(msg string) {
		if ready == nil {
			return
		}
		fmt.Fprint(ready, msg)
		ready.Close()
		ready = nil
		if msg == "READY" {
			devNullStdio()
		}
	})
}

// supervisor is the parent's state.
type supervisor struct {
	log      zerolog.Logger
	argv     []string
	args     Args
	exe      string
	stderr   io.Writer
	detached bool
	vips     vip.Manager // nil: no cleanup
	cfg      configVIPs  // nil until a configuration was read
	// stopWait bounds the VRRP process's stop; then it is killed.
	stopWait time.Duration
}

// readConfig reads the configuration for the VIPs to remove when the VRRP
// process dies; a bad file keeps the last good one (the VRRP process
// reports the errors).
func (s *supervisor) readConfig() {
	if cfg, _, err := loadConfig(s.args, false); err == nil {
		s.cfg = vipsOf(cfg)
	}
}

// configVIPs is what the parent keeps of a configuration: each instance's
// name and its addresses as they would be on the machine (removeStale).
// The whole parsed file of 1,000 instances held ~3 MiB of the parent's
// heap for the life of the process, the parsed instances cut to their VIPs
// still ~0.75 MiB (keepalivedcfg.Instance is 552 bytes, a VIP 176).
type configVIPs []instanceVIPs

type instanceVIPs struct {
	name string
	vips []vip.VIP // VIPs then excluded VIPs, on the VMAC if it has one
}

// vipsOf lists cfg's VIPs by instance, in order; an instance without any
// is left out, as is an address toVIP refuses.
func vipsOf(cfg *keepalivedcfg.Config) configVIPs {
	out := configVIPs{}
	for _, in := range cfg.Instances {
		var vs []vip.VIP
		for _, list := range [][]keepalivedcfg.VIP{in.VIPs, in.ExcludedVIPs} {
			for _, v := range list {
				vv, err := toVIP(vmacVIP(in, v), in.Interface)
				if err != nil {
					continue
				}
				vs = append(vs, vv)
			}
		}
		if len(vs) > 0 {
			out = append(out, instanceVIPs{name: in.Name, vips: slices.Clip(vs)})
		}
	}
	return slices.Clip(out)
}

// cleanup removes the VIPs a dead VRRP process may have left.
func (s *supervisor) cleanup() {
	if s.vips != nil && s.cfg != nil {
		removeStale(s.log, s.vips, s.cfg)
	}
}

// child is one VRRP process.
type child struct {
	cmd    *exec.Cmd
	ready  chan struct{} // one per "READY" line
	eof    chan struct{} // the ready pipe was closed
	exited chan struct{}
	err    error  // cmd.Wait's, once exited is closed
	msg    string // why it could not start, once eof is closed
}

func (s *supervisor) startChild(first bool) (*child, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.exe, s.argv[1:]...)
	cmd.Args[0] = s.argv[0]
	var env []string
	for _, e := range os.Environ() {
		// Only the parent talks to systemd (NotifyAccess=main).
		if strings.HasPrefix(e, "NOTIFY_SOCKET=") || strings.HasPrefix(e, envChild+"=") || strings.HasPrefix(e, envReadyFD+"=") {
			continue
		}
		env = append(env, e)
	}
	env = append(env, envVRRP+"=1", envReadyFD+"=3")
	if first && s.detached {
		env = append(env, envDetached+"=1")
	}
	cmd.Env = env
	cmd.ExtraFiles = []*os.File{wr}
	cmd.Stderr = s.stderr
	// Should the parent die, the VRRP process stops cleanly (priority 0,
	// VIPs removed) rather than run unsupervised.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		rd.Close()
		wr.Close()
		return nil, fmt.Errorf("starting the VRRP process: %w", err)
	}
	wr.Close()
	c := &child{cmd: cmd, ready: make(chan struct{}, 16), eof: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(c.eof)
		defer rd.Close()
		r := bufio.NewReader(rd)
		var other strings.Builder
		for {
			line, err := r.ReadString('\n')
			if strings.TrimSpace(line) == "READY" && strings.HasSuffix(line, "\n") {
				select {
				case c.ready <- struct{}{}:
				default:
				}
			} else {
				other.WriteString(line)
			}
			if err != nil {
				c.msg = strings.TrimSpace(other.String())
				return
			}
		}
	}()
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	s.log.Info().Msgf("Starting VRRP child process, pid=%d", cmd.Process.Pid)
	return c, nil
}

// exitText says how a process ended, in keepalived's words.
func exitText(pid int, err error) (string, bool) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if err == nil {
			return fmt.Sprintf("pid %d exited with status 0", pid), true
		}
		return fmt.Sprintf("pid %d: %v", pid, err), false
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("pid %d exited due to signal %d (%s)", pid, int(ws.Signal()), signalName(ws.Signal())), false
	}
	return fmt.Sprintf("pid %d exited with permanent error %d", pid, ee.ExitCode()), false
}

// permanentError names keepalived's exit codes as its parent logs them.
func permanentError(code int) string {
	switch code {
	case 2:
		return "CONFIG"
	case 6:
		return "MISSING_CONFIG"
	}
	return strconv.Itoa(code)
}

func signalName(sig syscall.Signal) string {
	s := sig.String()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// respawnDelay limits the respawn rate. quick counts the deaths in a row
// of VRRP processes that lived less than 30 s, this one included: the first
// is restarted at once (keepalived: "delayed 0 seconds"), the next ones
// after 1, 2, 4 ... up to 30 s, so a crash loop cannot spin.
func respawnDelay(quick int) time.Duration {
	if quick <= 1 {
		return 0
	}
	if quick > 6 {
		return 30 * time.Second
	}
	return min(time.Second<<(quick-2), 30*time.Second)
}

// run starts the VRRP process and supervises it until a stop; started is
// told "READY" (or why the first start failed) once.
func (s *supervisor) run(started func(msg string)) int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)

	c, err := s.startChild(true)
	if err != nil {
		s.log.Error().Msgf("%v", err)
		started(err.Error())
		return 1
	}
	lastStart := time.Now()
	quick := 0 // deaths in a row soon after a start
	up, stopping := false, false
	var killTimer, respawn <-chan time.Time
	for {
		var readyC, exitedC <-chan struct{}
		if c != nil {
			readyC, exitedC = c.ready, c.exited
		}
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				sdnotify.Notify(sdnotify.Reloading)
				lowerGC()
				s.readConfig()
				releaseMemory() // the parsed file's garbage
				if c != nil {
					_ = c.cmd.Process.Signal(sig)
				}
			case syscall.SIGUSR1, syscall.SIGUSR2:
				if c != nil {
					_ = c.cmd.Process.Signal(sig)
				}
			case syscall.SIGTERM, syscall.SIGINT:
				if stopping {
					continue
				}
				stopping = true
				sdnotify.Notify(sdnotify.Stopping)
				if c == nil {
					return 0 // cleaned up when it died
				}
				_ = c.cmd.Process.Signal(syscall.SIGTERM)
				killTimer = time.After(s.stopWait)
			}
		case <-readyC:
			if !up {
				up = true
				started("READY")
				// The parent only waits from now on: give back what
				// reading the configuration used.
				releaseMemory()
			}
			sdnotify.Notify(sdnotify.Ready)
		case <-exitedC:
			pid := c.cmd.Process.Pid
			select {
			case <-c.eof:
			case <-time.After(time.Second):
			}
			text, clean := exitText(pid, c.err)
			msg, waitErr := c.msg, c.err
			c = nil
			// A killed VRRP process leaves its pidfile naming a dead pid.
			removeOwnPID(s.args.VRRPPIDFile, pid)
			if stopping {
				// The VRRP process released its VIPs as it stopped; make
				// sure (-V, which would keep them, is refused).
				s.cleanup()
				return 0
			}
			if !up {
				if msg == "" {
					// Otherwise it said why itself.
					msg = "the VRRP process exited during start-up (" + text + ")"
					s.log.Error().Msg(msg)
				}
				s.cleanup()
				started(msg)
				// As keepalived's parent: a child that stopped on a
				// permanent error (config: 2, no config file: 6) gives
				// its code.
				var ee *exec.ExitError
				if errors.As(waitErr, &ee) && ee.ExitCode() > 1 {
					s.log.Info().Msgf("pid %d exited with permanent error %s. Terminating", pid, permanentError(ee.ExitCode()))
					return ee.ExitCode()
				}
				return 1
			}
			if clean {
				// It was stopped directly (killall keepalived): stop too.
				s.log.Info().Msgf("VRRP child process(%d) stopped: stopping", pid)
				s.cleanup()
				return 0
			}
			s.log.Error().Msg(text)
			s.cleanup()
			if s.args.DontRespawn {
				s.log.Error().Msgf("VRRP child process(%d) died: exiting (--dont-respawn)", pid)
				return 1
			}
			if time.Since(lastStart) >= 30*time.Second {
				quick = 0
			}
			quick++
			delay := respawnDelay(quick)
			s.log.Error().Msgf("VRRP child process(%d) died: Respawning", pid)
			s.log.Info().Msgf("Restart of VRRP process delayed %d seconds to limit respawn rate", int(delay/time.Second))
			respawn = time.After(delay)
		case <-respawn:
			respawn = nil
			nc, err := s.startChild(false)
			if err != nil {
				s.log.Error().Msgf("%v", err)
				quick++
				respawn = time.After(respawnDelay(quick))
				continue
			}
			c, lastStart = nc, time.Now()
		case <-killTimer:
			killTimer = nil
			if c != nil {
				s.log.Error().Msgf("VRRP child process(%d) did not stop within %v: killing it", c.cmd.Process.Pid, s.stopWait)
				_ = c.cmd.Process.Kill()
			}
		}
	}
}

// removeStale removes the listed VIPs found on the machine, saying so per
// instance with keepalived's line.
func removeStale(log zerolog.Logger, mgr vip.Manager, cfg configVIPs) {
	for _, in := range cfg {
		stale := false
		for _, vv := range in.vips {
			if ok, _ := mgr.Has(vv); !ok {
				continue
			}
			if !stale {
				log.Info().Msgf("(%s) removing VIPs.", in.name)
				stale = true
			}
			if err := mgr.Remove(context.Background(), vv); err != nil {
				log.Error().Msgf("(%s) cannot remove %v: %v", in.name, vv, err)
			}
		}
	}
}
