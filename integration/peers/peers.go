// Package peers runs real programs as services on lab hosts: nginx as a web
// backend, rsyslog as the syslog server, aiosmtpd as the SMTP server, and
// daemons such as haproxy and keepalived (or our drop-in replacements) from
// a binary, arguments and config file. Each service keeps its files under
// the lab's directory (<lab dir>/<host>/<service>/) and its pidfile under
// the host's own /run, and returns what a test asserts on: received syslog
// lines, received mails, pids.
package peers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"hapair/integration/lab"
)

// Service is a program running on a lab host.
type Service struct {
	Host    *lab.Host
	Name    string    // service name, as in logs and scenario files
	Process string    // the name `killall` and /proc/PID/comm see
	Pidfile string    // inside the host (under its own /run)
	Dir     string    // the service's files, outside: <lab dir>/<host>/<name>
	Proc    *lab.Proc // the process as started (a daemon may have forked away)
}

// serviceDir makes <lab dir>/<host>/<name>.
func serviceDir(l *lab.Lab, h *lab.Host, name string) (string, error) {
	dir := filepath.Join(l.Dir(), h.Name(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%s on %s: %w", name, h.Name(), err)
	}
	return dir, nil
}

// Pid reads the service's pid (inside its host) from its pidfile.
func (s *Service) Pid() (int, error) {
	b, err := s.Host.ReadFile(s.Pidfile)
	if err != nil {
		return 0, fmt.Errorf("%s on %s: %w", s.Name, s.Host.Name(), err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("%s on %s: empty pidfile %s", s.Name, s.Host.Name(), s.Pidfile)
	}
	return strconv.Atoi(f[0])
}

// Running reports whether a process called s.Process runs on the host
// (`killall -0 <process>`, as keepalived's track script checks).
func (s *Service) Running(ctx context.Context) bool { return s.Host.Running(ctx, s.Process) }

// Signal sends sig to every process of the host called s.Process.
func (s *Service) Signal(ctx context.Context, sig syscall.Signal) error {
	return s.Host.Signal(ctx, s.Process, sig)
}

// Stop kills the service's processes with SIGKILL and waits, up to 5 s,
// until none is left.
func (s *Service) Stop(ctx context.Context) error {
	if s.Proc != nil {
		s.Proc.Kill()
	}
	s.Signal(ctx, syscall.SIGKILL)
	return poll(ctx, 5*time.Second, func() error {
		if s.Running(ctx) {
			return fmt.Errorf("%s on %s: still running", s.Name, s.Host.Name())
		}
		return nil
	})
}

// Log is what the started process wrote to stdout and stderr.
func (s *Service) Log() string {
	if s.Proc == nil {
		return ""
	}
	return s.Proc.Log()
}

// poll calls f every 50 ms until it returns nil, ctx ends or d passes, and
// then returns f's last error.
func poll(ctx context.Context, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("after %s: %w", d, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitListening waits until something on h listens on proto/port, or the
// started process exits (then its log explains why).
func waitListening(ctx context.Context, s *Service, proto string, port int, d time.Duration) error {
	return poll(ctx, d, func() error {
		ok, err := s.Host.Listening(proto, port)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if s.Proc != nil && s.Proc.Exited() && !s.Running(ctx) {
			return fmt.Errorf("%s on %s exited: %s", s.Name, s.Host.Name(), strings.TrimSpace(s.Log()))
		}
		return fmt.Errorf("%s on %s: nothing listens on %s/%d", s.Name, s.Host.Name(), proto, port)
	})
}
