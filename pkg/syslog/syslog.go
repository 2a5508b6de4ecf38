// Package syslog sends log lines the way haproxy 2.6 does: one datagram
// per message, over UDP or a unix datagram socket such as /dev/log, never
// waiting for a slow receiver.
//
// The default datagram is haproxy's "local" header format (RFC 3164
// without a hostname, as with `log-send-hostname` off), then the message
// and a line feed:
//
//	<PRI>Mmm dd hh:mm:ss tag[pid]: message\n
//
// PRI is facility*8 + severity (RFC 3164, Section 4.1.1); the day of month
// is padded with a space ("Nov  4"); the time is the local time of the
// injected clock. Header and message together are cut at the target's
// `len` (1024 by default) before the line feed is added. The other
// `format` values of a `log` line (rfc3164, rfc5424, priority, short,
// timed, iso, raw) are supported too; see AppendFormatted.
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
	"hapair/pkg/syslogmsg"
)

// MaxLen is haproxy's default maximum length of one syslog message, header
// included, trailing line feed excluded (`log ... len 1024`).
const MaxLen = 1024

// DefaultPort is the syslog UDP port used when a target has none.
const DefaultPort = 514

// Header formats of a `log ... format F` line (haproxy configuration
// manual, section 3.1, "log"). An empty format is haproxy's default, which
// is FormatLocal since we never send a hostname.
const (
	FormatLocal    = "local"
	FormatRFC3164  = "rfc3164"
	FormatRFC5424  = "rfc5424"
	FormatPriority = "priority"
	FormatShort    = "short"
	FormatTimed    = "timed"
	FormatISO      = "iso"
	FormatRaw      = "raw"
)

var formats = map[string]bool{"": true, FormatLocal: true, FormatRFC3164: true, FormatRFC5424: true,
	FormatPriority: true, FormatShort: true, FormatTimed: true, FormatISO: true, FormatRaw: true}

// AppendISOTime appends haproxy's ISO 8601 time with microseconds and the
// UTC offset, "2026-11-24T23:40:01.123456+00:00" (RFC 5424, Section 6.2.3).
func AppendISOTime(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, "2006-01-02T15:04:05.000000-07:00")
}

// AppendFormatted appends one complete datagram in the given header format,
// as haproxy 2.6's build_log_header lays it out (no hostname is known, so
// rfc3164 says "localhost" and rfc5424 "-"):
//
//	local     <PRI>Mmm dd hh:mm:ss tag[pid]: msg
//	rfc3164   <PRI>Mmm dd hh:mm:ss localhost tag[pid]: msg
//	rfc5424   <PRI>1 ISO-TIME - tag pid - - msg
//	priority  <PRI>msg
//	short     <SEVERITY>msg
//	timed     <SEVERITY>ISO-TIME msg
//	iso       ISO-TIME msg
//	raw       msg
//
// The message loses its trailing line feeds and NULs, the whole is cut at
// maxLen bytes (0: no limit), and a line feed ends the datagram.
func AppendFormatted(b []byte, format string, facility haproxycfg.Facility, level haproxycfg.Level, t time.Time, tag string, pid int, msg string, maxLen int) []byte {
	return AppendFormattedSD(b, format, facility, level, t, tag, pid, msg, "", maxLen)
}

// AppendFormattedSD is AppendFormatted with the STRUCTURED-DATA of an
// rfc5424 header (a frontend's `log-format-sd`): its trailing spaces are
// removed and an empty one prints "-", as haproxy does. Other formats
// ignore it.
func AppendFormattedSD(b []byte, format string, facility haproxycfg.Facility, level haproxycfg.Level, t time.Time, tag string, pid int, msg, sd string, maxLen int) []byte {
	return AppendFormattedHost(b, format, facility, level, t, "", tag, pid, msg, sd, maxLen)
}

// AppendFormattedHost is AppendFormattedSD with the host name of
// `log-send-hostname`: rfc3164 and rfc5424 headers carry it instead of
// "localhost" and "-", and the default format becomes rfc3164 (haproxy's
// build_log_header picks rfc3164 when a host name is known, the local
// format otherwise). "" is no host name.
func AppendFormattedHost(b []byte, format string, facility haproxycfg.Facility, level haproxycfg.Level, t time.Time, host, tag string, pid int, msg, sd string, maxLen int) []byte {
	start := len(b)
	if format == "" && host != "" {
		format = FormatRFC3164
	}
	pri := func(b []byte, v int64) []byte {
		b = append(b, '<')
		b = strconv.AppendInt(b, v, 10)
		return append(b, '>')
	}
	switch format {
	case "", FormatLocal:
		b = AppendHeader(b, facility, level, t, tag, pid)
	case FormatRFC3164:
		b = pri(b, int64(facility)*8+int64(level))
		b = AppendTimestamp(b, t)
		if host == "" {
			host = "localhost"
		}
		b = append(b, ' ')
		b = append(b, host...)
		b = append(b, ' ')
		if tag != "" {
			b = append(b, tag...)
			if pid > 0 {
				b = append(b, '[')
				b = strconv.AppendInt(b, int64(pid), 10)
				b = append(b, ']')
			}
			b = append(b, ':', ' ')
		}
	case FormatRFC5424:
		b = pri(b, int64(facility)*8+int64(level))
		b = append(b, '1', ' ')
		b = AppendISOTime(b, t)
		b = append(b, ' ')
		b = appendOrNil(b, host)
		b = appendOrNil(b, tag)
		if pid > 0 {
			b = strconv.AppendInt(b, int64(pid), 10)
			b = append(b, ' ')
		} else {
			b = append(b, '-', ' ')
		}
		b = append(b, "- "...) // MSGID
		for len(sd) > 0 && sd[len(sd)-1] == ' ' {
			sd = sd[:len(sd)-1]
		}
		b = appendOrNil(b, sd)
	case FormatPriority:
		b = pri(b, int64(facility)*8+int64(level))
	case FormatShort:
		b = pri(b, int64(level))
	case FormatTimed:
		b = pri(b, int64(level))
		b = AppendISOTime(b, t)
		b = append(b, ' ')
	case FormatISO:
		b = AppendISOTime(b, t)
		b = append(b, ' ')
	case FormatRaw:
	}
	return syslogmsg.AppendBody(b, start, msg, maxLen)
}

func appendOrNil(b []byte, v string) []byte {
	if v == "" {
		return append(b, '-', ' ')
	}
	b = append(b, v...)
	return append(b, ' ')
}

// AppendMessage appends one complete datagram: header, message without its
// trailing line feeds or NULs, cut so header and message fit in maxLen
// bytes, then a line feed, as haproxy's __do_send_log builds it.
func AppendMessage(b []byte, facility haproxycfg.Facility, level haproxycfg.Level, t time.Time, tag string, pid int, msg string, maxLen int) []byte {
	return AppendFormatted(b, FormatLocal, facility, level, t, tag, pid, msg, maxLen)
}

// Logger sends messages to a fixed set of targets (the `log` lines of one
// proxy or of the global section). It is safe for concurrent use.
type Logger struct {
	targets []target
	host    string // log-send-hostname; "" none
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
	cfg    haproxycfg.LogTarget
	maxLen int
	sa     syscall.Sockaddr // a template: see sockaddr
	raw    rawAddr          // sa encoded once for sendto (send)
	af     int
	fd     int // `log stdout` / `log stderr`: the descriptor written to; -1 for sockets
	smp    *sampler
}

// sampler is a target's `sample RANGES:SIZE` state, as haproxy keeps it:
// the position in the period and, for the current range, how much of it
// was used.
type sampler struct {
	mu     sync.Mutex
	cfg    *haproxycfg.LogSample
	idx    int   // position in the period, from 0
	rg     int   // current range
	rgUsed []int // per range, positions already sent in this period
}

// take reports whether the next message is sent, and advances.
func (s *sampler) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.cfg.Ranges[s.rg]
	in := s.idx+1 >= r[0] && s.idx+1 <= r[1]
	if in {
		size := r[1] - r[0] + 1
		s.rgUsed[s.rg] = (s.rgUsed[s.rg] + 1) % size
		if s.rgUsed[s.rg] == 0 {
			s.rg = (s.rg + 1) % len(s.cfg.Ranges)
		}
	}
	s.idx = (s.idx + 1) % s.cfg.Size
	return in
}

// sockaddr returns a fresh copy of the target address: syscall.Sendto
// writes into the Sockaddr it is given, so one value cannot be shared by
// concurrent senders.
func (t *target) sockaddr() syscall.Sockaddr {
	switch sa := t.sa.(type) {
	case *syscall.SockaddrInet4:
		c := *sa
		return &c
	case *syscall.SockaddrInet6:
		c := *sa
		return &c
	case *syscall.SockaddrUnix:
		c := *sa
		return &c
	}
	return t.sa
}

// New returns a Logger for targets, tagging messages "tag[pid]: " and
// stamping them with now(). It resolves every address once, as haproxy does
// at startup, and opens one unconnected datagram socket per address family:
// with no connect(), a UDP receiver that is down gives no error back.
func New(targets []haproxycfg.LogTarget, tag string, pid int, now func() time.Time) (*Logger, error) {
	l := &Logger{tag: tag, pid: pid, now: now, fds: map[int]int{}}
	l.bufs.New = func() any { b := make([]byte, 0, 2*MaxLen); return &b }
	for _, tc := range targets {
		t, err := resolve(tc)
		if err != nil {
			l.Close()
			return nil, err
		}
		if t.fd >= 0 {
			l.targets = append(l.targets, t)
			continue
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

// SetHostname sets the host name headers carry (`log-send-hostname`);
// call it before the first message.
func (l *Logger) SetHostname(host string) {
	if l != nil {
		l.host = host
	}
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
	if !formats[tc.Format] {
		return target{}, fmt.Errorf("%w: %s: unknown log format %q", ErrBadTarget, where, tc.Format)
	}
	t := target{cfg: tc, maxLen: tc.MaxLen, fd: -1}
	if tc.Sample != nil {
		if len(tc.Sample.Ranges) == 0 || tc.Sample.Size <= 0 {
			return target{}, fmt.Errorf("%w: %s: empty sample", ErrBadTarget, where)
		}
		t.smp = &sampler{cfg: tc.Sample, rgUsed: make([]int, len(tc.Sample.Ranges))}
	}
	if t.maxLen == 0 {
		t.maxLen = MaxLen
	} else if t.maxLen < 80 || t.maxLen > 65535 {
		// The same bounds as haproxy's parser.
		return target{}, fmt.Errorf("%w: %s: len %d out of range 80..65535", ErrBadTarget, where, tc.MaxLen)
	}
	switch tc.Network {
	case "fd":
		// stdout and stderr, as haproxy's `log stdout|stderr`: one
		// write per line, never waiting (a full pipe drops the line).
		switch tc.Address {
		case "1", "2":
			t.fd = int(tc.Address[0] - '0')
			return t, nil
		}
		return target{}, fmt.Errorf("%w: %s: file descriptor %q (want 1 or 2)", ErrBadTarget, where, tc.Address)
	case "unixgram", "unix":
		if tc.Address == "" {
			return target{}, fmt.Errorf("%w: %s: empty socket path", ErrBadTarget, where)
		}
		t.sa, t.af = &syscall.SockaddrUnix{Name: tc.Address}, syscall.AF_UNIX
		return t, nil
	case "udp", "udp4", "udp6", "":
		ap, err := resolveUDP(tc.Address)
		if err != nil {
			return target{}, fmt.Errorf("%w: %s: %v", ErrBadTarget, where, err)
		}
		if ap.Addr().Is4() {
			t.sa, t.af = &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, syscall.AF_INET
		} else {
			t.sa, t.af = &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}, syscall.AF_INET6
		}
		t.raw = encodeAddr(t.sa)
		return t, nil
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
// to the target's min level, with the target's facility, format and
// length limit; as haproxy's process_send_log. It never waits: a datagram
// that does not fit in the socket buffer is dropped and counted (see
// Dropped).
func (l *Logger) Log(level haproxycfg.Level, msg string) { l.LogSD(level, msg, "") }

// LogSD is Log with the structured data rfc5424 targets print (see
// AppendFormattedSD).
func (l *Logger) LogSD(level haproxycfg.Level, msg, sd string) {
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
	for i := range l.targets {
		t := &l.targets[i]
		if level > t.cfg.MaxLevel {
			continue
		}
		if t.smp != nil && !t.smp.take() {
			continue
		}
		lv := max(level, t.cfg.MinLevel)
		*bp = AppendFormattedHost((*bp)[:0], t.cfg.Format, t.cfg.Facility, lv, now, l.host, l.tag, l.pid, msg, sd, t.maxLen)
		if t.fd >= 0 {
			l.count(writeFD(t.fd, *bp))
			continue
		}
		fd, ok := l.fds[t.af]
		if !ok {
			l.failed.Add(1)
			continue
		}
		l.count(t.send(fd, *bp))
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

// writeFD writes one line in one call, without waiting: on a blocking
// descriptor the write is still a single call, and EAGAIN on a full
// non-blocking pipe drops the line as haproxy does.
func writeFD(fd int, b []byte) error {
	for {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && n < len(b) {
			return syscall.EAGAIN
		}
		return err
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
