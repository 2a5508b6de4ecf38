package accesslog

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

var accept = time.Date(2026, time.November, 4, 3, 5, 7, 9e6+999, time.UTC)

func tcpSession() Session {
	return Session{
		Client:        netip.MustParseAddrPort("192.168.1.10:40000"),
		Accept:        accept,
		FrontendName:  "http",
		BackendName:   "http",
		ServerName:    "web01",
		Tw:            0, // printed as 1, as haproxy does in TCP mode
		Tc:            0,
		Tt:            5*time.Millisecond + 999*time.Microsecond, // printed as 5: truncated
		BytesToClient: 123,
		TermCause:     '-',
		TermState:     '-',
		ActConn:       1, FeConn: 1,
	}
}

func TestTCPLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Session)
		want string
	}{
		{"normal", func(*Session) {},
			"192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/web01 1/0/5 123 -- 1/1/0/0/0 0/0"},
		{"redispatched after retries", func(s *Session) { s.Retries, s.Redisp = 1, true },
			"192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/web01 1/0/5 123 -- 1/1/0/0/+1 0/0"},
		{"no server, timers unreached", func(s *Session) {
			s.ServerName, s.Tw, s.Tc, s.Tt, s.BytesToClient = "", -1, -1, 0, 0
			s.TermCause, s.TermState = 'S', 'C'
		}, "192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/<NOSRV> -1/-1/0 0 SC 1/1/0/0/0 0/0"},
		{"queued, counters", func(s *Session) {
			s.ActConn, s.FeConn, s.BeConn, s.SrvConn, s.Retries = 20001, 10000, 9999, 5000, 3
			s.SrvQueue, s.BeQueue, s.Tw = 12, 34, 2500*time.Millisecond
			s.TermCause, s.TermState = 's', 'Q'
		}, "192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/web01 2501/0/5 123 sQ 20001/10000/9999/5000/3 12/34"},
		{"timers truncate from the accept, then subtract", func(s *Session) {
			s.Tw, s.Tc = 600*time.Microsecond, 600*time.Microsecond // at 0.6 ms and 1.2 ms
		}, "192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/web01 1/1/5 123 -- 1/1/0/0/0 0/0"},
		{"connect never finished", func(s *Session) { s.Tc, s.TermCause, s.TermState = -1, 'S', 'C' },
			"192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/web01 1/-1/5 123 SC 1/1/0/0/0 0/0"},
		{"IPv6 client", func(s *Session) { s.Client = netip.MustParseAddrPort("[2001:db8::1]:443") },
			"2001:db8::1:443 [04/Nov/2026:03:05:07.009] http http/web01 1/0/5 123 -- 1/1/0/0/0 0/0"},
		{"IPv4 client on a v6 socket", func(s *Session) { s.Client = netip.MustParseAddrPort("[::ffff:127.0.0.1]:80") },
			"::ffff:127.0.0.1:80 [04/Nov/2026:03:05:07.009] http http/web01 1/0/5 123 -- 1/1/0/0/0 0/0"},
		{"zero termination bytes print '-'", func(s *Session) { s.TermCause, s.TermState = 0, 0 },
			"192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/web01 1/0/5 123 -- 1/1/0/0/0 0/0"},
		{"no client address", func(s *Session) { s.Client = netip.AddrPort{} },
			"-:- [04/Nov/2026:03:05:07.009] http http/web01 1/0/5 123 -- 1/1/0/0/0 0/0"},
		{"two-digit day, ms .999", func(s *Session) {
			s.Accept = time.Date(2026, time.December, 31, 23, 59, 59, 999999999, time.UTC)
		}, "192.168.1.10:40000 [31/Dec/2026:23:59:59.999] http http/web01 1/0/5 123 -- 1/1/0/0/0 0/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tcpSession()
			tc.edit(&s)
			if got := TCPLog(s); got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func httpSession() Session {
	s := tcpSession()
	s.Tw, s.Tc, s.Tt = 0, 0, 4*time.Millisecond
	s.TR, s.Tr, s.Ta = 0, 3*time.Millisecond, 4*time.Millisecond
	s.Status, s.BytesToClient = 200, 487
	s.Method, s.URI, s.Version = "GET", "/", "HTTP/1.1"
	return s
}

func TestHTTPLog(t *testing.T) {
	pre := "192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/web01 "
	for _, tc := range []struct {
		name string
		edit func(*Session)
		want string
	}{
		{"normal", func(*Session) {},
			pre + `0/0/0/3/4 200 487 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`},
		{"escapes", func(s *Session) { s.URI = "/a\"b#c\x7f\xc3\xa9{|}\\ %22" },
			pre + `0/0/0/3/4 200 487 - - ---- 1/1/0/0/0 0/0 "GET /a#22b#23c#7F#C3#A9{|}\ %22 HTTP/1.1"`},
		{"bad request", func(s *Session) {
			s.ServerName, s.Method, s.URI, s.Version = "", "", "", ""
			s.TR, s.Tw, s.Tc, s.Tr, s.Ta, s.Status, s.BytesToClient = -1, -1, -1, -1, 0, 400, 0
			s.TermCause, s.TermState = 'P', 'R'
		}, `192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"`},
		{"503 no server", func(s *Session) {
			s.ServerName, s.Tw, s.Tc, s.Tr, s.Ta, s.Status, s.BytesToClient = "", -1, -1, -1, 0, 503, 217
			s.TermCause, s.TermState = 'S', 'C'
		}, `192.168.1.10:40000 [04/Nov/2026:03:05:07.009] http http/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`},
		{"request date is accept + idle + handshake", func(s *Session) {
			s.Ti, s.Th = 1995*time.Millisecond+900*time.Microsecond, 3*time.Millisecond+900*time.Microsecond
		}, strings.Replace(pre, "07.009", "09.007", 1) + `0/0/0/3/4 200 487 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`},
		{"no request: accept date", func(s *Session) { s.Ti, s.Th = -1, 5*time.Millisecond },
			pre + `0/0/0/3/4 200 487 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := httpSession()
			tc.edit(&s)
			if got := HTTPLog(s); got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestHTTPLogLongRequestLine(t *testing.T) {
	s := httpSession()
	s.URI = "/" + strings.Repeat("a", 2000)
	got := HTTPLog(s)
	req := got[strings.IndexByte(got, '"')+1 : len(got)-1]
	if len(req) != 1023 || !strings.HasPrefix(req, "GET /aaa") {
		t.Errorf("request line of %d bytes, want the first 1023", len(req))
	}
	// The cut happens before escaping, as in haproxy.
	s.URI = "/" + strings.Repeat("\"", 2000)
	got = HTTPLog(s)
	req = got[strings.IndexByte(got, '"')+1 : len(got)-1]
	if len(req) != 5+3*1018 {
		t.Errorf("escaped request line of %d bytes, want %d", len(req), 5+3*1018)
	}
}

func TestLogged(t *testing.T) {
	for _, tc := range []struct {
		from        int64
		dontLogNull bool
		want        bool
	}{
		{0, false, true},
		{0, true, false}, // captured: an empty connection is not logged
		{1, true, true},
	} {
		if got := Logged(Session{BytesFromClient: tc.from}, tc.dontLogNull); got != tc.want {
			t.Errorf("bytes %d dontlognull %v: got %v", tc.from, tc.dontLogNull, got)
		}
	}
}

// TestFailed: the streams `option dontlog-normal` still logs and `option
// log-separate-errors` raises to err, as haproxy 2.6's strm_log decides.
func TestFailed(t *testing.T) {
	for _, c := range []struct {
		name string
		s    Session
		http bool
		want bool
	}{
		{"normal", Session{TermCause: '-', Status: 200}, true, false},
		{"404", Session{TermCause: '-', Status: 404}, true, false},
		{"500", Session{TermCause: '-', Status: 500}, true, true},
		{"503 in tcp is no status", Session{TermCause: '-', Status: 503}, false, false},
		{"local answer", Session{TermCause: 'L', TermState: 'R', Status: 200}, true, false},
		{"local 503", Session{TermCause: 'L', Status: 503}, true, true},
		{"retried", Session{TermCause: '-', Retries: 1}, false, true},
		{"retried then local", Session{TermCause: 'L', Retries: 1}, false, false},
		{"redispatched", Session{TermCause: '-', Redisp: true}, false, true},
		{"client abort", Session{TermCause: 'C', TermState: 'D'}, false, true},
		{"server refused", Session{TermCause: 'S', TermState: 'C'}, false, true},
		{"never ended", Session{}, false, false},
	} {
		if got := Failed(&c.s, c.http); got != c.want {
			t.Errorf("%s: Failed = %v, want %v", c.name, got, c.want)
		}
	}
}
