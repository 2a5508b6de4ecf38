package gproxyd

import (
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/logformat"
	"hapair/pkg/proxy"
	"hapair/pkg/syslog"
)

// accessLogs formats each frontend's access lines with its compiled
// log format (log-format, or option tcplog / httplog / httplog clf).
type accessLogs struct {
	pid      int
	hostname string
	counts   map[*haproxycfg.Proxy]*atomic.Uint64 // %lc, per frontend
	bufs     sync.Pool
}

func newAccessLogs(cfg *haproxycfg.Config, pid int) *accessLogs {
	host, _ := os.Hostname()
	a := &accessLogs{pid: pid, hostname: host, counts: map[*haproxycfg.Proxy]*atomic.Uint64{}}
	a.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	for _, px := range cfg.Proxies {
		a.counts[px] = new(atomic.Uint64)
	}
	return a
}

// accessLine logs one stream with the frontend's format, as haproxy's
// strm_log: the log count (%lc) is the number of lines logged before.
func (s *sessionLogs) accessLine(px *haproxycfg.Proxy, sess *accesslog.Session) {
	l := s.proxies[px]
	f := px.Logging.Access
	if px.Logging.Error != nil && px.Mode == haproxycfg.ModeHTTP && sess.Method == "" {
		// An HTTP connection that ended without a request is logged
		// without a stream (haproxy's sess_log): error-log-format.
		f = px.Logging.Error
	}
	if l == nil || f == nil {
		return
	}
	failed := accesslog.Failed(sess, px.Mode == haproxycfg.ModeHTTP)
	if !failed && px.Options.DontLogNormal || sess.Level < 0 {
		return
	}
	level := levelInfo
	switch {
	case sess.Level > 0:
		level = haproxycfg.Level(sess.Level - 1)
	case failed && px.Options.LogSeparateErrors:
		level = levelErr
	}
	a := s.access
	proxy.LogUniqueID(px, sess)
	sess.PID, sess.Hostname = a.pid, a.hostname
	if c := a.counts[px]; c != nil {
		sess.LogCount = c.Add(1) - 1
	}
	bp := a.bufs.Get().(*[]byte)
	*bp = f.Append((*bp)[:0], nil, sess)
	if sd := px.Logging.StructuredData; sd != nil {
		l.LogSD(level, string(*bp), string(sd.Append(nil, nil, sess)))
	} else {
		// The line is read, not kept, by Log (it formats it into its own
		// buffer and sends it before returning): a view of the pooled
		// buffer, not a copy per line.
		l.Log(level, unsafe.String(unsafe.SliceData(*bp), len(*bp)))
	}
	a.bufs.Put(bp)
}

// errorLine logs a connection error with the frontend's error-log-format,
// counted in %lc as haproxy's sess_log counts it.
func (s *sessionLogs) errorLine(px *haproxycfg.Proxy, l *syslog.Logger, level haproxycfg.Level, f *logformat.Format, sess *accesslog.Session) {
	a := s.access
	sess.PID, sess.Hostname = a.pid, a.hostname
	if c := a.counts[px]; c != nil {
		sess.LogCount = c.Add(1) - 1
	}
	line := string(f.Append(nil, nil, sess))
	if sd := px.Logging.StructuredData; sd != nil {
		l.LogSD(level, line, string(sd.Append(nil, nil, sess)))
	} else {
		l.Log(level, line)
	}
}

// SessionLogger is the access log gproxy sends for cfg (each proxy's log
// targets and format, as Run sets up), for an engine another program runs
// in its own process (the bench's in-process profile of the L7 case);
// stop closes its sockets.
func SessionLogger(cfg *haproxycfg.Config) (log func(*haproxycfg.Proxy, accesslog.Session), stop func(), err error) {
	s, err := newSessionLogs(cfg, os.Getpid())
	if err != nil {
		return nil, nil, err
	}
	return s.session, s.Close, nil
}
