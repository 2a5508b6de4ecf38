package syslog

import (
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/syslogmsg"
)

// What package syslogmsg holds (facilities, severities, the local header
// and the local socket's writer), under the names this package always
// gave it.

// Severities (RFC 3164, Section 4.1.1), as haproxy names them in `log`
// lines.
const (
	Emerg   = syslogmsg.Emerg
	Alert   = syslogmsg.Alert
	Crit    = syslogmsg.Crit
	Err     = syslogmsg.Err
	Warning = syslogmsg.Warning
	Notice  = syslogmsg.Notice
	Info    = syslogmsg.Info
	Debug   = syslogmsg.Debug
)

// ErrBadTarget is returned by New for a target it cannot send to: an
// unknown network, an unparsable address, or a facility or level out of
// range.
var ErrBadTarget = syslogmsg.ErrBadTarget

// DevLog is the local syslog socket.
const DevLog = syslogmsg.DevLog

// LocalWriter writes daemon log lines to the local syslog socket
// (syslogmsg.LocalWriter).
type LocalWriter = syslogmsg.LocalWriter

// NewLocalWriter is syslogmsg.NewLocalWriter.
func NewLocalWriter(path, tag string, facility haproxycfg.Facility, pid int, now func() time.Time) (*LocalWriter, error) {
	return syslogmsg.NewLocalWriter(path, tag, facility, pid, now)
}

// Level is syslogmsg.LevelOf: a zerolog level's syslog severity.
func Level(l zerolog.Level) haproxycfg.Level { return syslogmsg.LevelOf(l) }

// EventMessage is syslogmsg.EventMessage: the text of a zerolog event.
func EventMessage(p []byte) string { return syslogmsg.EventMessage(p) }

// Messages is syslogmsg.Messages.
func Messages(w zerolog.LevelWriter) zerolog.LevelWriter { return syslogmsg.Messages(w) }

// AppendHeader is syslogmsg.AppendHeader: haproxy's local header,
// "<PRI>Mmm dd hh:mm:ss tag[pid]: ".
func AppendHeader(b []byte, facility haproxycfg.Facility, level haproxycfg.Level, t time.Time, tag string, pid int) []byte {
	return syslogmsg.AppendHeader(b, facility, level, t, tag, pid)
}

// AppendTimestamp is syslogmsg.AppendTimestamp: RFC 3164's TIMESTAMP.
func AppendTimestamp(b []byte, t time.Time) []byte { return syslogmsg.AppendTimestamp(b, t) }
