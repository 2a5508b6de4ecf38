package accesslog_test

import (
	"bufio"
	"bytes"
	"fmt"
	"hapair/pkg/accesslog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hapair/pkg/syslog"
	"hapair/pkg/syslog/syslogtest"
)

// goldenFile holds datagrams captured from the real haproxy 2.6.12 (see
// TestIntegrationHaproxyLogLines, which rewrites it with -update), one per
// line: each datagram ends with haproxy's own line feed.
const goldenFile = "testdata/haproxy-2.6.12.golden"

// goldenLongFile holds the web proxy's lines sent to a `len 4096` target.
const goldenLongFile = "testdata/haproxy-2.6.12-len4096.golden"

// rebuild formats msg back into a complete datagram with the captured
// header values, going through the same syslog code the proxy uses.
func rebuild(d syslogtest.Datagram, msg string, maxLen int) string {
	return string(syslog.AppendMessage(nil, d.Facility, d.Level, d.Stamp, d.Tag, d.PID, msg, maxLen))
}

func splitPair(s, sep string) (string, string, error) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", "", fmt.Errorf("no %q in %q", sep, s)
	}
	return s[:i], s[i+1:], nil
}

func parseInts(s string, n int) ([]int, error) {
	parts := strings.Split(s, "/")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d values in %q", n, s)
	}
	out := make([]int, n)
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out[i] = v
	}
	return out, nil
}

func ms(v int) time.Duration {
	if v < 0 {
		return -1
	}
	return time.Duration(v) * time.Millisecond
}

// parseCommon reads the fields tcplog and httplog share at the start.
func parseCommon(f []string, s *accesslog.Session) error {
	ci, cp, err := splitPair(f[0], ":")
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(ci)
	if err != nil {
		return err
	}
	port, err := strconv.ParseUint(cp, 10, 16)
	if err != nil {
		return err
	}
	s.Client = netip.AddrPortFrom(ip, uint16(port))
	date := strings.TrimSuffix(strings.TrimPrefix(f[1], "["), "]")
	if s.Accept, err = time.ParseInLocation("02/Jan/2006:15:04:05.000", date, time.UTC); err != nil {
		return err
	}
	s.FrontendName = f[2]
	if s.BackendName, s.ServerName, err = splitPair(f[3], "/"); err != nil {
		return err
	}
	if s.ServerName == "<NOSRV>" {
		s.ServerName = ""
	}
	return nil
}

func parseCounters(counters, queues string, s *accesslog.Session) error {
	c := strings.Split(counters, "/")
	if len(c) != 5 {
		return fmt.Errorf("counters %q", counters)
	}
	if strings.HasPrefix(c[4], "+") {
		s.Redisp = true
		c[4] = c[4][1:]
	}
	v, err := parseInts(strings.Join(c, "/"), 5)
	if err != nil {
		return err
	}
	s.ActConn, s.FeConn, s.BeConn, s.SrvConn, s.Retries = v[0], v[1], v[2], v[3], v[4]
	q, err := parseInts(queues, 2)
	if err != nil {
		return err
	}
	s.SrvQueue, s.BeQueue = q[0], q[1]
	return nil
}

// parseTCPLog reads a tcplog message into the accesslog.Session that produced it.
func parseTCPLog(msg string) (accesslog.Session, error) {
	var s accesslog.Session
	f := strings.Split(msg, " ")
	if len(f) != 9 {
		return s, fmt.Errorf("tcplog: %d fields in %q", len(f), msg)
	}
	if err := parseCommon(f, &s); err != nil {
		return s, err
	}
	t, err := parseInts(f[4], 3)
	if err != nil {
		return s, err
	}
	// %Tw is printed one higher than the queue time (see TCPLog).
	s.Tw, s.Tc, s.Tt = ms(t[0]-1), ms(t[1]), ms(t[2])
	if t[0] < 0 {
		s.Tw = -1
	}
	if s.BytesToClient, err = strconv.ParseInt(f[5], 10, 64); err != nil {
		return s, err
	}
	if len(f[6]) != 2 {
		return s, fmt.Errorf("tcplog: termination state %q", f[6])
	}
	s.TermCause, s.TermState = f[6][0], f[6][1]
	return s, parseCounters(f[7], f[8], &s)
}

// parseHTTPLog reads an httplog message, possibly cut by the syslog length
// limit inside the request line.
func parseHTTPLog(msg string) (accesslog.Session, error) {
	var s accesslog.Session
	f := strings.SplitN(msg, " ", 13)
	if len(f) != 13 {
		return s, fmt.Errorf("httplog: %d fields in %q", len(f), msg)
	}
	if err := parseCommon(f, &s); err != nil {
		return s, err
	}
	t, err := parseInts(f[4], 5)
	if err != nil {
		return s, err
	}
	s.TR, s.Tw, s.Tc, s.Tr, s.Ta = ms(t[0]), ms(t[1]), ms(t[2]), ms(t[3]), ms(t[4])
	if s.Status, err = strconv.Atoi(f[5]); err != nil {
		return s, err
	}
	if s.BytesToClient, err = strconv.ParseInt(f[6], 10, 64); err != nil {
		return s, err
	}
	if f[7] != "-" || f[8] != "-" || len(f[9]) != 4 || f[9][2:] != "--" {
		return s, fmt.Errorf("httplog: unexpected cookie fields in %q", msg)
	}
	s.TermCause, s.TermState = f[9][0], f[9][1]
	if err := parseCounters(f[10], f[11], &s); err != nil {
		return s, err
	}
	req := strings.TrimPrefix(f[12], `"`)
	req = strings.TrimSuffix(req, `"`)
	if req == "<BADREQ>" {
		return s, nil
	}
	req = unescapeHash(req)
	i := strings.IndexByte(req, ' ')
	if i < 0 {
		return s, fmt.Errorf("httplog: request line %q", req)
	}
	s.Method, req = req[:i], req[i+1:]
	if j := strings.LastIndexByte(req, ' '); j >= 0 && strings.HasPrefix(req[j+1:], "HTTP/") {
		s.URI, s.Version = req[:j], req[j+1:]
	} else {
		// Cut before the version: the rebuilt line is cut at the same place.
		s.URI = req
	}
	return s, nil
}

func unescapeHash(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isHTTPLog tells an httplog message from a tcplog one by its timer field.
func isHTTPLog(msg string) bool {
	f := strings.SplitN(msg, " ", 6)
	return len(f) > 4 && strings.Count(f[4], "/") == 4
}

// checkAccessLine parses an access-log datagram, formats the accesslog.Session again
// and compares the whole datagram byte for byte.
func checkAccessLine(t *testing.T, raw string) {
	t.Helper()
	checkAccessLineLen(t, raw, syslog.MaxLen)
}

// checkAccessLineLen is checkAccessLine for a target with `len maxLen`.
func checkAccessLineLen(t *testing.T, raw string, maxLen int) {
	t.Helper()
	d, err := syslogtest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var s accesslog.Session
	var got string
	if isHTTPLog(d.Msg) {
		s, err = parseHTTPLog(d.Msg)
		got = rebuild(d, accesslog.HTTPLog(s), maxLen)
	} else {
		s, err = parseTCPLog(d.Msg)
		got = rebuild(d, accesslog.TCPLog(s), maxLen)
	}
	if err != nil {
		t.Fatalf("parsing %q: %v", raw, err)
	}
	if got != raw {
		t.Errorf("rebuilt datagram differs\n got: %q\nwant: %q", got, raw)
	}
}

func readGolden(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text()+"\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestGoldenHaproxyLines rebuilds every access line haproxy 2.6.12 sent in
// the captured run from the values it printed.
func TestGoldenHaproxyLines(t *testing.T) {
	lines := readGolden(t, goldenFile)
	var n int
	for _, raw := range lines {
		d, err := syslogtest.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(d.Msg, "Proxy ") {
			continue
		}
		n++
		t.Run(fmt.Sprintf("%d", n), func(t *testing.T) { checkAccessLine(t, raw) })
	}
	if n < 10 {
		t.Fatalf("golden file has %d access lines; want the full capture", n)
	}
}

// TestGoldenHaproxyLongLines: the same with a `len 4096` target, where
// the request line is cut at 1023 bytes rather than by the syslog length.
func TestGoldenHaproxyLongLines(t *testing.T) {
	lines := readGolden(t, goldenLongFile)
	var long bool
	for i, raw := range lines {
		long = long || strings.Contains(raw, "aaaa")
		if strings.Contains(raw, "]: Proxy ") {
			continue
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkAccessLineLen(t, raw, 4096) })
	}
	if !long {
		t.Fatal("golden file lacks the long-URI line")
	}
}
