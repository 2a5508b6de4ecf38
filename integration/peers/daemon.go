package peers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hapair/integration/lab"
)

// Daemon describes how to run a daemon program on a lab host: haproxy or
// keepalived from Debian, or our drop-in replacements, which take the same
// flags and config files.
type Daemon struct {
	Name string // service name, e.g. "haproxy"
	Path string // the binary, e.g. /usr/sbin/haproxy or bin/gproxy
	// Args are the command-line arguments; "{config}" is replaced by the
	// config file's path and "{dir}" by the service's directory.
	Args []string
	// Process is the name the process runs under: what `killall -0` and
	// /proc/PID/comm see. When it differs from Path's base name the binary
	// is started through a symlink of that name (so a track script's
	// `killall -0 haproxy` finds gproxy). Empty means Path's base name.
	Process string
	Pidfile string // inside the host, e.g. /run/haproxy.pid
	// ListenTCP are ports that must listen before the daemon counts as
	// started; with none, the pidfile must appear instead.
	ListenTCP []int
}

// Haproxy runs haproxy (or a drop-in) as Debian's init script does: daemon
// mode from the config's `daemon`, with a pidfile in the host's /run.
func Haproxy(path string) Daemon {
	return Daemon{
		Name: "haproxy", Path: path, Process: "haproxy", Pidfile: "/run/haproxy.pid",
		Args: []string{"-f", "{config}", "-p", "/run/haproxy.pid"},
	}
}

// Keepalived runs keepalived (or a drop-in) in the foreground as Debian's
// systemd unit does (--dont-fork), logging to the console (so to the
// service's log file), with its pidfiles in the host's /run.
func Keepalived(path string) Daemon {
	return Daemon{
		Name: "keepalived", Path: path, Process: "keepalived", Pidfile: "/run/keepalived.pid",
		Args: []string{"--dont-fork", "--log-console", "--log-detail", "-f", "{config}",
			"-p", "/run/keepalived.pid", "-r", "/run/keepalived_vrrp.pid", "-c", "/run/keepalived_checkers.pid"},
	}
}

// StartDaemon writes config to the service's directory as configName and
// starts d on h. It returns once d's TCP ports listen (or its pidfile
// exists), within 15 s.
func StartDaemon(ctx context.Context, l *lab.Lab, h *lab.Host, d Daemon, configName string, config []byte) (*Service, error) {
	dir, err := serviceDir(l, h, d.Name)
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, configName)
	if err := os.WriteFile(cfg, config, 0o644); err != nil {
		return nil, err
	}
	path, err := filepath.Abs(d.Path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s on %s: %w", d.Name, h.Name(), err)
	}
	if d.Process == "" {
		d.Process = filepath.Base(path)
	}
	if d.Process != filepath.Base(path) {
		link := filepath.Join(dir, "bin", d.Process)
		os.MkdirAll(filepath.Dir(link), 0o755)
		os.Remove(link)
		if err := os.Symlink(path, link); err != nil {
			return nil, fmt.Errorf("%s on %s: %w", d.Name, h.Name(), err)
		}
		path = link
	}
	args := make([]string, len(d.Args))
	for i, a := range d.Args {
		args[i] = strings.NewReplacer("{config}", cfg, "{dir}", dir).Replace(a)
	}
	s := &Service{Host: h, Name: d.Name, Process: d.Process, Pidfile: d.Pidfile, Dir: dir}
	if d.Pidfile != "" {
		h.Run(ctx, "rm", "-f", d.Pidfile) // a stale pidfile from an earlier run is no sign of life
	}
	if s.Proc, err = h.Start(d.Name, path, args...); err != nil {
		return nil, err
	}
	for _, port := range d.ListenTCP {
		if err := waitListening(ctx, s, "tcp", port, 15*time.Second); err != nil {
			return s, err
		}
	}
	if len(d.ListenTCP) == 0 && d.Pidfile != "" {
		err := poll(ctx, 15*time.Second, func() error {
			if _, err := s.Pid(); err == nil {
				return nil
			}
			if s.Proc.Exited() && !s.Running(ctx) {
				return fmt.Errorf("%s on %s exited: %s", d.Name, h.Name(), strings.TrimSpace(s.Log()))
			}
			return fmt.Errorf("%s on %s: no pidfile %s", d.Name, h.Name(), d.Pidfile)
		})
		if err != nil {
			return s, err
		}
	}
	return s, nil
}
