// Package syslogmsg is the part of package syslog that knows nothing of
// haproxy's configuration: syslog's facility and severity numbers, the
// local header "<PRI>Mmm dd hh:mm:ss tag[pid]: " (RFC 3164 without a host
// name, as glibc's syslog(3) and haproxy's "local" format write it) and
// the writer of a daemon's lines to the local socket. keepalived's daemon
// logs through it without linking haproxy's configuration parser, whose
// package initialisation alone left ~0.35 MiB of heap in each of its two
// processes.
package syslogmsg

import (
	"errors"
	"strconv"
	"time"
)

// Facility is a syslog facility number (kern=0 ... local7=23).
type Facility int

// Level is a syslog severity (emerg=0 ... debug=7).
type Level int

// Severities (RFC 3164, Section 4.1.1), as haproxy names them in `log`
// lines.
const (
	Emerg   Level = 0
	Alert   Level = 1
	Crit    Level = 2
	Err     Level = 3
	Warning Level = 4
	Notice  Level = 5
	Info    Level = 6
	Debug   Level = 7
)

// ErrBadTarget is returned for a target that cannot be sent to: an
// unknown network, an unparsable address, or a facility or level out of
// range.
var ErrBadTarget = errors.New("syslog: bad log target")

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// AppendHeader appends haproxy's header for one message,
// "<PRI>Mmm dd hh:mm:ss tag[pid]: ", to b. The time is printed in t's
// location, as haproxy prints local time. A pid <= 0 leaves out "[pid]".
func AppendHeader(b []byte, facility Facility, level Level, t time.Time, tag string, pid int) []byte {
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

// AppendBody ends a datagram begun at b[start:]: msg without its trailing
// line feeds or NULs, the whole cut at maxLen bytes (0: no limit), then a
// line feed, as haproxy's __do_send_log builds it.
func AppendBody(b []byte, start int, msg string, maxLen int) []byte {
	for len(msg) > 0 && (msg[len(msg)-1] == '\n' || msg[len(msg)-1] == 0) {
		msg = msg[:len(msg)-1]
	}
	b = append(b, msg...)
	if maxLen > 0 && len(b)-start > maxLen {
		b = b[:start+maxLen]
	}
	return append(b, '\n')
}

// AppendMessage appends one complete datagram in the local format: the
// header, then AppendBody.
func AppendMessage(b []byte, facility Facility, level Level, t time.Time, tag string, pid int, msg string, maxLen int) []byte {
	start := len(b)
	b = AppendHeader(b, facility, level, t, tag, pid)
	return AppendBody(b, start, msg, maxLen)
}
