package accesslog

import (
	"strconv"
	"time"
)

// TCPLogFormat and HTTPLogFormat are haproxy 2.6's default log formats for
// `option tcplog` and `option httplog` (haproxy configuration manual,
// section 8.2.2 and 8.2.3). TCPLog and HTTPLog print exactly these.
const (
	TCPLogFormat  = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
	HTTPLogFormat = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
	// HTTPSLogFormat is `option httpslog` (section 8.2.4): httplog's
	// fields and the TLS facts of the client connection.
	HTTPSLogFormat = HTTPLogFormat + " %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc"
)

// maxRequestLine is haproxy's tune.http.logurilen default (1024) less the
// terminating NUL: longer request lines are cut before logging.
const maxRequestLine = 1023

// TCPLog returns the message part of the line haproxy 2.6 logs for a
// session with `option tcplog`, for example
//
//	127.0.0.1:40000 [24/Nov/2026:23:40:01.123] http http/web01 1/0/5 123 -- 1/1/0/0/0 0/0
//
// Timers are whole milliseconds counted from the accept, as haproxy keeps
// them, then subtracted: %Tc is ms(Tw+Tc) - ms(Tw). In TCP mode haproxy
// 2.6 never stamps a request time, counts it as -1 ms, and so prints %Tw
// as the queue time plus one: a session that never queued shows "1/...".
// TCPLog does the same.
func TCPLog(s Session) string {
	b := make([]byte, 0, 160)
	b = appendClient(b, s)
	b = append(b, " ["...)
	b = AppendDate(b, s.Accept)
	b = append(b, "] "...)
	b = appendNames(b, s)
	tq, tc := int64(-1), int64(-1)
	if s.Tw >= 0 {
		tq = s.Tw.Milliseconds()
		if s.Tc >= 0 {
			tc = (s.Tw + s.Tc).Milliseconds()
		}
	}
	if tq >= 0 {
		b = strconv.AppendInt(b, tq+1, 10)
	} else {
		b = append(b, '-', '1')
	}
	b = append(b, '/')
	if tc >= 0 {
		b = strconv.AppendInt(b, tc-tq, 10)
	} else {
		b = append(b, '-', '1')
	}
	b = append(b, '/')
	b = appendTimer(b, s.Tt)
	b = append(b, ' ')
	b = strconv.AppendInt(b, s.BytesToClient, 10)
	b = append(b, ' ', termChar(s.TermCause), termChar(s.TermState), ' ')
	b = appendCounters(b, s)
	return string(b)
}

// HTTPLog returns the message part of the line haproxy 2.6 logs for a
// request with `option httplog` and no header or cookie captures, e.g.
//
//	127.0.0.1:33328 [24/Nov/2026:23:30:29.753] web web/web01 0/0/0/1/1 200 487 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"
func HTTPLog(s Session) string {
	b := make([]byte, 0, 200+len(s.URI))
	b = appendClient(b, s)
	b = append(b, " ["...)
	b = AppendDate(b, RequestDate(s))
	b = append(b, "] "...)
	b = appendNames(b, s)
	for i, d := range [...]time.Duration{s.TR, s.Tw, s.Tc, s.Tr, s.Ta} {
		if i > 0 {
			b = append(b, '/')
		}
		b = appendTimer(b, d)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(s.Status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, s.BytesToClient, 10)
	// %CC %CS: no cookie capture; %tsc: the last two characters are the
	// persistence cookie states, '-' without a `cookie` mode.
	b = append(b, " - - "...)
	b = append(b, termChar(s.TermCause), termChar(s.TermState), termChar(s.CookieState), termChar(s.SetCookieState), ' ')
	b = appendCounters(b, s)
	// %hr and %hs print nothing without captures, and haproxy collapses
	// the spaces around them.
	b = append(b, ' ', '"')
	b = appendRequestLine(b, s)
	b = append(b, '"')
	return string(b)
}

// RequestDate is %tr: the accept date plus the handshake and idle times,
// each counted in whole milliseconds as haproxy keeps them.
func RequestDate(s Session) time.Time {
	if s.Ti < 0 {
		return s.Accept
	}
	return s.Accept.Add(s.Ti.Truncate(time.Millisecond) + max(s.Th, 0).Truncate(time.Millisecond))
}

// AppendDate appends haproxy's %t date, "24/Nov/2026:23:40:01.123", in
// t's location (haproxy prints local time).
func AppendDate(b []byte, t time.Time) []byte {
	b = append2(b, t.Day())
	b = append(b, '/')
	b = append(b, t.Month().String()[:3]...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(t.Year()), 10)
	b = append(b, ':')
	b = append2(b, t.Hour())
	b = append(b, ':')
	b = append2(b, t.Minute())
	b = append(b, ':')
	b = append2(b, t.Second())
	b = append(b, '.')
	ms := t.Nanosecond() / 1e6
	return append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10%10), byte('0'+v%10))
}

// appendClient is "%ci:%cp"; without a client address (not a TCP
// connection) haproxy prints '-' for each.
func appendClient(b []byte, s Session) []byte {
	if !s.Client.IsValid() {
		return append(b, "-:-"...)
	}
	b = s.Client.Addr().AppendTo(b)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(s.Client.Port()), 10)
}

// appendNames is "%ft %b/%s ".
func appendNames(b []byte, s Session) []byte {
	b = appendText(b, s.FrontendName)
	if s.SSL {
		b = append(b, '~')
	}
	b = append(b, ' ')
	b = appendText(b, s.BackendName)
	b = append(b, '/')
	if s.ServerName == "" {
		b = append(b, "<NOSRV>"...)
	} else {
		b = append(b, s.ServerName...)
	}
	return append(b, ' ')
}

// appendText prints a name, or '-' when there is none, as haproxy's
// lf_text does for a missing string.
func appendText(b []byte, v string) []byte {
	if v == "" {
		return append(b, '-')
	}
	return append(b, v...)
}

// appendCounters is "%ac/%fc/%bc/%sc/%rc %sq/%bq"; %rc carries a '+'
// when the session was redispatched to another server.
func appendCounters(b []byte, s Session) []byte {
	for _, v := range [...]int{s.ActConn, s.FeConn, s.BeConn, s.SrvConn} {
		b = strconv.AppendInt(b, int64(v), 10)
		b = append(b, '/')
	}
	if s.Redisp {
		b = append(b, '+')
	}
	b = strconv.AppendInt(b, int64(s.Retries), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(s.SrvQueue), 10)
	b = append(b, '/')
	return strconv.AppendInt(b, int64(s.BeQueue), 10)
}

// appendTimer prints a timer in whole milliseconds, -1 when never reached.
func appendTimer(b []byte, d time.Duration) []byte {
	if d < 0 {
		return append(b, '-', '1')
	}
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}

func termChar(c byte) byte {
	if c == 0 {
		return '-'
	}
	return c
}

const hexDigits = "0123456789ABCDEF"

// appendRequestLine is %r: "METHOD URI VERSION", cut at 1023 bytes, with
// '"', '#', control characters and bytes >= 127 written as "#XX", as
// haproxy's url_encode_map escapes them.
func appendRequestLine(b []byte, s Session) []byte {
	if s.Method == "" {
		return append(b, "<BADREQ>"...)
	}
	line := s.Method + " " + s.URI + " " + s.Version
	if len(line) > maxRequestLine {
		line = line[:maxRequestLine]
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c < 32 || c >= 127 || c == '"' || c == '#' {
			b = append(b, '#', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// Logged reports whether haproxy logs a finished session: with
// `option dontlognull`, a connection that never received a byte from the
// client is not logged.
func Logged(s Session, dontLogNull bool) bool {
	return !dontLogNull || s.BytesFromClient > 0
}

// Failed reports whether haproxy 2.6 counts a stream as an error for
// `option dontlog-normal` (which logs only those) and `option
// log-separate-errors` (which logs them at err): it was redispatched,
// it ended on an error other than a local answer ('L'), it ended
// normally but after connection retries, or, in mode http, its status is
// 5xx (strm_log).
func Failed(s *Session, http bool) bool {
	switch {
	case s.Redisp:
		return true
	case s.TermCause != 0 && s.TermCause != '-' && s.TermCause != 'L':
		return true
	case s.Retries > 0 && (s.TermCause == 0 || s.TermCause == '-'):
		return true
	}
	return http && s.Status >= 500
}
