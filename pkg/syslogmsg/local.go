package syslogmsg

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// DevLog is the local syslog socket.
const DevLog = "/dev/log"

// localMaxLen bounds one local message; rsyslog's default maxMessageSize
// is 8k, and longer daemon lines are a bug worth truncating, not dropping.
const localMaxLen = 8192

// LocalWriter writes daemon log lines (zerolog output) to the local syslog
// socket, one datagram per line, in the format glibc's syslog(3) uses:
// "<PRI>Mmm dd hh:mm:ss tag[pid]: line".
//
// It never fails its caller: when the socket is missing (syslog daemon not
// running, or restarting) or full, the line is dropped and counted. Each
// write addresses the socket by path, so a syslog daemon that comes back
// and recreates the socket is reached again without any reconnect step.
type LocalWriter struct {
	path     string
	tag      string
	facility Facility
	pid      int
	now      func() time.Time

	mu     sync.Mutex
	fd     int // -1 until a socket could be made
	closed bool
	buf    []byte

	dropped atomic.Uint64
}

// NewLocalWriter returns a writer to the unix datagram socket at path
// (normally DevLog), tagging lines "tag[pid]: " with the given facility.
func NewLocalWriter(path, tag string, facility Facility, pid int, now func() time.Time) (*LocalWriter, error) {
	if facility < 0 || facility > 23 {
		return nil, fmt.Errorf("%w: facility %d out of range 0..23", ErrBadTarget, facility)
	}
	if path == "" {
		return nil, fmt.Errorf("%w: empty socket path", ErrBadTarget)
	}
	w := &LocalWriter{path: path, tag: tag, facility: facility, pid: pid, now: now, fd: -1}
	w.open()
	return w, nil
}

func (w *LocalWriter) open() {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err == nil {
		w.fd = fd
	}
}

// LevelOf maps a zerolog level to a syslog severity. Fatal and panic map to
// crit and alert rather than emerg (zerolog's own syslog adapter uses
// emerg), because common syslog configurations broadcast emerg to every
// terminal.
func LevelOf(l zerolog.Level) Level {
	switch l {
	case zerolog.TraceLevel, zerolog.DebugLevel:
		return Debug
	case zerolog.InfoLevel, zerolog.NoLevel:
		return Info
	case zerolog.WarnLevel:
		return Warning
	case zerolog.ErrorLevel:
		return Err
	case zerolog.FatalLevel:
		return Crit
	case zerolog.PanicLevel:
		return Alert
	}
	return Info
}

// Write sends p at severity info. It always reports success.
func (w *LocalWriter) Write(p []byte) (int, error) {
	return w.WriteLevel(zerolog.NoLevel, p)
}

// WriteLevel implements zerolog.LevelWriter. It always reports success: a
// daemon must not stop, nor spill errors to a closed stderr, because syslog
// is away.
func (w *LocalWriter) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	if level == zerolog.Disabled {
		return len(p), nil
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.dropped.Add(1)
		return len(p), nil
	}
	if w.fd < 0 {
		w.open()
		if w.fd < 0 {
			w.dropped.Add(1)
			return len(p), nil
		}
	}
	w.buf = AppendMessage(w.buf[:0], w.facility, LevelOf(level), now, w.tag, w.pid, string(p), localMaxLen)
	// The line feed AppendMessage adds is haproxy's habit on the wire;
	// local syslog daemons strip it, but glibc does not send one.
	w.buf = w.buf[:len(w.buf)-1]
	if err := sendto(w.fd, w.buf, &syscall.SockaddrUnix{Name: w.path}); err != nil {
		w.dropped.Add(1)
	}
	return len(p), nil
}

// Dropped is the number of lines that could not be delivered.
func (w *LocalWriter) Dropped() uint64 { return w.dropped.Load() }

// Close releases the socket.
func (w *LocalWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.fd < 0 {
		return nil
	}
	err := syscall.Close(w.fd)
	w.fd = -1
	if err != nil {
		return fmt.Errorf("syslog: close: %w", err)
	}
	return nil
}

var _ zerolog.LevelWriter = (*LocalWriter)(nil)

// sendto sends without blocking (MSG_DONTWAIT), whatever the socket's mode,
// retrying only when a signal interrupted the call.
func sendto(fd int, b []byte, sa syscall.Sockaddr) error {
	for {
		err := syscall.Sendto(fd, b, syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, sa)
		if err != syscall.EINTR {
			return err
		}
	}
}
