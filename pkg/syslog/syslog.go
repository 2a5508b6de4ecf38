// Package syslog sends log lines the way haproxy 2.6 does: one RFC 3164
// style datagram per message, over UDP or a unix datagram socket such as
// /dev/log, never waiting for a slow receiver.
//
// The datagram is haproxy's default "local" header format (no hostname,
// `log-send-hostname` off), followed by the message and a line feed:
//
//	<PRI>Mmm dd hh:mm:ss tag[pid]: message\n
//
// PRI is facility*8 + severity (RFC 3164, Section 4.1.1); the day of month
// is padded with a space ("Nov  4"); the time is the local time of the
// injected clock. Header and message together are cut at 1024 bytes, the
// default `len` of a haproxy `log` line, before the line feed is added.
package syslog

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
)

// Severities (RFC 3164, Section 4.1.1), as haproxy names them in `log`
// lines.
const (
	Emerg   haproxycfg.Level = 0
	Alert   haproxycfg.Level = 1
	Crit    haproxycfg.Level = 2
	Err     haproxycfg.Level = 3
	Warning haproxycfg.Level = 4
	Notice  haproxycfg.Level = 5
	Info    haproxycfg.Level = 6
	Debug   haproxycfg.Level = 7
)

// MaxLen is haproxy's default maximum length of one syslog message, header
// included, trailing line feed excluded (`log ... len 1024`).
const MaxLen = 1024

// DefaultPort is the syslog UDP port used when a target has none.
const DefaultPort = 514

// ErrBadTarget is returned by New for a target it cannot send to: an
// unknown network, an unparsable address, or a facility or level out of
// range.
var ErrBadTarget = errors.New("syslog: bad log target")

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// AppendHeader appends haproxy's header for one message,
// "<PRI>Mmm dd hh:mm:ss tag[pid]: ", to b. The time is printed in t's
// location, as haproxy prints local time. A pid <= 0 leaves out "[pid]".
func AppendHeader(b []byte, facility haproxycfg.Facility, level haproxycfg.Level, t time.Time, tag string, pid int) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(facility)*8+int64(level), 10)
	b = append(b, '>')
	b = AppendTimestamp(b, t)
	b = append(b, ' ')
	if tag == "" {
		return b
	}
	b = append(b, tag...)
	if pid > 0 {
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(pid), 10)
		b = append(b, ']')
	}
	return append(b, ':', ' ')
}

// AppendTimestamp appends the RFC 3164 TIMESTAMP "Mmm dd hh:mm:ss" (RFC 3164,
// Section 4.1.2): a day of month below 10 is padded with a space, not a zero.
func AppendTimestamp(b []byte, t time.Time) []byte {
	b = append(b, monthNames[t.Month()-1]...)
	b = append(b, ' ')
	d := t.Day()
	if d < 10 {
		b = append(b, ' ', byte('0'+d))
	} else {
		b = append(b, byte('0'+d/10), byte('0'+d%10))
	}
	b = append(b, ' ')
	b = append2(b, t.Hour())
	b = append(b, ':')
	b = append2(b, t.Minute())
	b = append(b, ':')
	return append2(b, t.Second())
}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

// AppendMessage appends one complete datagram: header, message without its
// trailing line feeds or NULs, cut so header and message fit in maxLen
// bytes, then a line feed, as haproxy's __do_send_log builds it.
func AppendMessage(b []byte, facility haproxycfg.Facility, level haproxycfg.Level, t time.Time, tag string, pid int, msg string, maxLen int) []byte {
	start := len(b)
	b = AppendHeader(b, facility, level, t, tag, pid)
	for len(msg) > 0 && (msg[len(msg)-1] == '\n' || msg[len(msg)-1] == 0) {
		msg = msg[:len(msg)-1]
	}
	b = append(b, msg...)
	if maxLen > 0 && len(b)-start > maxLen {
		b = b[:start+maxLen]
	}
	return append(b, '\n')
}

// Logger sends messages to a fixed set of targets (the `log` lines of one
// proxy or of the global section). It is safe for concurrent use.
type Logger struct {
	targets []target
	tag     string
	pid     int
	now     func() time.Time

	dropped atomic.Uint64 // EAGAIN: the socket buffer was full
	failed  atomic.Uint64 // any other send error

	bufs sync.Pool
	mu   sync.RWMutex // guards the fds against Close
	fds  map[int]int  // address family -> socket, shared by the targets
}

type target struct {
	cfg haproxycfg.LogTarget
	sa  syscall.Sockaddr
	af  int
}

// New returns a Logger for targets, tagging messages "tag[pid]: " and
// stamping them with now(). It resolves every address once, as haproxy does
// at startup, and opens one unconnected datagram socket per address family:
// with no connect(), a UDP receiver that is down gives no error back.
func New(targets []haproxycfg.LogTarget, tag string, pid int, now func() time.Time) (*Logger, error) {
	l := &Logger{tag: tag, pid: pid, now: now, fds: map[int]int{}}
	l.bufs.New = func() any { b := make([]byte, 0, MaxLen+1); return &b }
	for _, tc := range targets {
		t, err := resolve(tc)
		if err != nil {
			l.Close()
			return nil, err
		}
		if _, ok := l.fds[t.af]; !ok {
			fd, err := syscall.Socket(t.af, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
			if err != nil {
				l.Close()
				return nil, fmt.Errorf("syslog: socket for %s %s: %w", tc.Network, tc.Address, err)
			}
			// We never read from these sockets: make that explicit, like
			// haproxy, so nothing queues up on them.
			_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 0)
			_ = syscall.Shutdown(fd, syscall.SHUT_RD)
			l.fds[t.af] = fd
		}
		l.targets = append(l.targets, t)
	}
	return l, nil
}

func resolve(tc haproxycfg.LogTarget) (target, error) {
	where := tc.Address
	if tc.Pos.File != "" {
		where = fmt.Sprintf("%s (%s)", tc.Address, tc.Pos)
	}
	if tc.Facility < 0 || tc.Facility > 23 {
		return target{}, fmt.Errorf("%w: %s: facility %d out of range 0..23", ErrBadTarget, where, tc.Facility)
	}
	if tc.MaxLevel < 0 || tc.MaxLevel > 7 || tc.MinLevel < 0 || tc.MinLevel > 7 {
		return target{}, fmt.Errorf("%w: %s: level out of range 0..7", ErrBadTarget, where)
	}
	switch tc.Network {
	case "unixgram", "unix":
		if tc.Address == "" {
			return target{}, fmt.Errorf("%w: %s: empty socket path", ErrBadTarget, where)
		}
		return target{cfg: tc, sa: &syscall.SockaddrUnix{Name: tc.Address}, af: syscall.AF_UNIX}, nil
	case "udp", "udp4", "udp6", "":
		ap, err := resolveUDP(tc.Address)
		if err != nil {
			return target{}, fmt.Errorf("%w: %s: %v", ErrBadTarget, where, err)
		}
		if ap.Addr().Is4() {
			return target{cfg: tc, sa: &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, af: syscall.AF_INET}, nil
		}
		return target{cfg: tc, sa: &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}, af: syscall.AF_INET6}, nil
	}
	return target{}, fmt.Errorf("%w: %s: network %q (want udp or unixgram)", ErrBadTarget, where, tc.Network)
}

// resolveUDP accepts "ip", "ip:port", "[v6]:port", "host:port"; the port
// defaults to 514.
func resolveUDP(addr string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(addr); err == nil {
		return netip.AddrPortFrom(a.Unmap(), DefaultPort), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// A bare host name.
		host, port = addr, strconv.Itoa(DefaultPort)
	}
	ua, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, port))
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// Log sends msg at level to every target whose max level admits it, raised
// to the target's min level, with the target's facility; as haproxy's
// process_send_log. It never waits: a datagram that does not fit in the
// socket buffer is dropped and counted (see Dropped).
func (l *Logger) Log(level haproxycfg.Level, msg string) {
	if l == nil || len(l.targets) == 0 {
		return
	}
	if level < Emerg {
		level = Emerg
	} else if level > Debug {
		level = Debug
	}
	now := l.now()
	bp := l.bufs.Get().(*[]byte)
	defer l.bufs.Put(bp)
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, t := range l.targets {
		if level > t.cfg.MaxLevel {
			continue
		}
		lv := max(level, t.cfg.MinLevel)
		*bp = AppendMessage((*bp)[:0], t.cfg.Facility, lv, now, l.tag, l.pid, msg, MaxLen)
		fd, ok := l.fds[t.af]
		if !ok {
			l.failed.Add(1)
			continue
		}
		l.count(sendto(fd, *bp, t.sa))
	}
}

func (l *Logger) count(err error) {
	switch {
	case err == nil:
	case errors.Is(err, syscall.EAGAIN):
		l.dropped.Add(1)
	default:
		l.failed.Add(1)
	}
}

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

// Dropped is the number of datagrams dropped because a socket buffer was
// full, haproxy's "dropped logs".
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Failed is the number of datagrams that could not be sent for any other
// reason (no route, no listener on a unix socket path, ...).
func (l *Logger) Failed() uint64 { return l.failed.Load() }

// Close releases the sockets. Later calls to Log count as failures.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for af, fd := range l.fds {
		if err := syscall.Close(fd); err != nil {
			errs = append(errs, fmt.Errorf("syslog: close: %w", err))
		}
		delete(l.fds, af)
	}
	return errors.Join(errs...)
}
