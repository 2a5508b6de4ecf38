package syslog

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// Facilities by their haproxy names, for readable tables.
const (
	kern   haproxycfg.Facility = 0
	user   haproxycfg.Facility = 1
	daemon haproxycfg.Facility = 3
	local0 haproxycfg.Facility = 16
	local1 haproxycfg.Facility = 17
	local2 haproxycfg.Facility = 18
	local7 haproxycfg.Facility = 23
)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestAppendHeaderPRI(t *testing.T) {
	at := time.Date(2026, time.November, 24, 23, 40, 1, 123e6, time.UTC)
	for _, tc := range []struct {
		fac  haproxycfg.Facility
		lvl  haproxycfg.Level
		want string // the PRI part, as haproxy sent it (captured) or RFC 3164 4.1.1
	}{
		{local0, Info, "<134>"},    // captured: tcplog line, `log ... local0`
		{local0, Warning, "<132>"}, // captured: "Proxy x stopped", local0
		{local1, Warning, "<140>"}, // captured: same on a local1 target
		{local2, Info, "<150>"},    // captured: httplog on local2
		{local2, Warning, "<148>"}, // captured: "Proxy web stopped" on local2
		{local0, Alert, "<129>"},   // "Server x/y is DOWN"
		{local0, Emerg, "<128>"},   // "backend x has no server available!"
		{local0, Notice, "<133>"},  // "Server x/y is UP"
		{kern, Emerg, "<0>"},       // smallest: one digit
		{user, Notice, "<13>"},
		{daemon, Info, "<30>"}, // daemon logs through LocalWriter
		{daemon, Err, "<27>"},
		{local7, Debug, "<191>"}, // largest
	} {
		got := string(AppendHeader(nil, tc.fac, tc.lvl, at, "haproxy", 1234))
		want := tc.want + "Nov 24 23:40:01 haproxy[1234]: "
		if got != want {
			t.Errorf("facility %d level %d: got %q, want %q", tc.fac, tc.lvl, got, want)
		}
	}
}

func TestAppendTimestamp(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, time.November, 4, 1, 2, 3, 0, time.UTC), "Nov  4 01:02:03"}, // space-padded day
		{time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC), "Jan  1 00:00:00"},
		{time.Date(2026, time.November, 24, 23, 59, 59, 999e6, time.UTC), "Nov 24 23:59:59"},
		{time.Date(2027, time.December, 31, 12, 30, 9, 0, time.UTC), "Dec 31 12:30:09"},
		{time.Date(2026, time.May, 10, 9, 5, 0, 0, time.UTC), "May 10 09:05:00"},
	} {
		if got := string(AppendTimestamp(nil, tc.at)); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.at, got, tc.want)
		}
	}
	// The location of the clock's time is used, as haproxy uses localtime().
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, time.November, 4, 23, 30, 0, 0, time.UTC).In(paris)
	if got := string(AppendTimestamp(nil, at)); got != "Nov  5 00:30:00" {
		t.Errorf("local time: got %q", got)
	}
}

func TestAppendMessage(t *testing.T) {
	at := time.Date(2026, time.November, 24, 23, 40, 1, 0, time.UTC)
	hdr := "<134>Nov 24 23:40:01 haproxy[7]: "
	for _, tc := range []struct {
		name, msg string
		maxLen    int
		want      string
	}{
		{"plain", "hello", MaxLen, hdr + "hello\n"},
		{"trailing LF and NUL stripped", "hello\n\x00\n", MaxLen, hdr + "hello\n"},
		{"cut at maxLen, then LF", strings.Repeat("a", 2000), MaxLen, hdr + strings.Repeat("a", MaxLen-len(hdr)) + "\n"},
		{"exactly maxLen", strings.Repeat("b", MaxLen-len(hdr)), MaxLen, hdr + strings.Repeat("b", MaxLen-len(hdr)) + "\n"},
		{"short limit cuts the header", "x", 10, hdr[:10] + "\n"},
	} {
		got := string(AppendMessage(nil, local0, Info, at, "haproxy", 7, tc.msg, tc.maxLen))
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := string(AppendHeader(nil, local0, Info, at, "haproxy", 0)); got != "<134>Nov 24 23:40:01 haproxy: " {
		t.Errorf("no pid: got %q", got)
	}
}

// udpSink is a loopback UDP receiver for unit tests.
func udpSink(t *testing.T) (*net.UDPConn, string) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().String()
}

// drain reads what has arrived; the sender is synchronous and on loopback,
// so everything sent is already queued when Log returns.
func drain(t *testing.T, c *net.UDPConn) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 65536)
	for {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}

func TestLoggerLevels(t *testing.T) {
	at := time.Date(2026, time.November, 4, 8, 0, 0, 0, time.UTC)
	all, allAddr := udpSink(t)
	notice, noticeAddr := udpSink(t)
	capped, cappedAddr := udpSink(t)
	l, err := New([]haproxycfg.LogTarget{
		{Network: "udp", Address: allAddr, Facility: local0, MaxLevel: Debug},
		// log ADDR local1 notice: nothing less severe than notice
		{Network: "udp", Address: noticeAddr, Facility: local1, MaxLevel: Notice},
		// log ADDR local2 debug err: emerg..crit are lowered to err
		{Network: "udp", Address: cappedAddr, Facility: local2, MaxLevel: Debug, MinLevel: Err},
	}, "haproxy", 42, fixedClock(at))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(Emerg, "e")
	l.Log(Alert, "a")
	l.Log(Warning, "w")
	l.Log(Notice, "n")
	l.Log(Info, "i")
	l.Log(Debug, "d")

	h := func(pri string) string { return "<" + pri + ">Nov  4 08:00:00 haproxy[42]: " }
	for _, tc := range []struct {
		name string
		c    *net.UDPConn
		want []string
	}{
		{"local0 all", all, []string{h("128") + "e\n", h("129") + "a\n", h("132") + "w\n", h("133") + "n\n", h("134") + "i\n", h("135") + "d\n"}},
		{"local1 max notice", notice, []string{h("136") + "e\n", h("137") + "a\n", h("140") + "w\n", h("141") + "n\n"}},
		{"local2 min err", capped, []string{h("147") + "e\n", h("147") + "a\n", h("148") + "w\n", h("149") + "n\n", h("150") + "i\n", h("151") + "d\n"}},
	} {
		got := drain(t, tc.c)
		if strings.Join(got, "") != strings.Join(tc.want, "") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if l.Dropped() != 0 || l.Failed() != 0 {
		t.Errorf("dropped %d failed %d, want 0", l.Dropped(), l.Failed())
	}
}

func TestNewBadTargets(t *testing.T) {
	for _, tc := range []haproxycfg.LogTarget{
		{Network: "tcp", Address: "127.0.0.1:514", Facility: local0, MaxLevel: Debug},
		{Network: "udp", Address: "127.0.0.1:514", Facility: 24, MaxLevel: Debug},
		{Network: "udp", Address: "127.0.0.1:514", Facility: local0, MaxLevel: 8},
		{Network: "udp", Address: "127.0.0.1:99999", Facility: local0, MaxLevel: Debug},
		{Network: "unixgram", Address: "", Facility: local0, MaxLevel: Debug},
		{Network: "udp", Address: "127.0.0.1:514", Facility: local0, MaxLevel: Debug, Format: "json"},
		{Network: "udp", Address: "127.0.0.1:514", Facility: local0, MaxLevel: Debug, MaxLen: 79},
	} {
		if _, err := New([]haproxycfg.LogTarget{tc}, "haproxy", 1, time.Now); !errors.Is(err, ErrBadTarget) {
			t.Errorf("%+v: got %v, want ErrBadTarget", tc, err)
		}
	}
	// A bare address gets port 514; the file:line is part of errors.
	l, err := New([]haproxycfg.LogTarget{{Network: "udp", Address: "127.0.0.1", Facility: local0, MaxLevel: Debug}}, "haproxy", 1, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if sa := l.targets[0].sa.(*syscall.SockaddrInet4); sa.Port != 514 {
		t.Errorf("default port %d, want 514", sa.Port)
	}
	l.Close()
	_, err = New([]haproxycfg.LogTarget{{Network: "udp", Address: "127.0.0.1", Facility: 99,
		Pos: haproxycfg.Pos{File: "haproxy.cfg", Line: 4}}}, "haproxy", 1, time.Now)
	if err == nil || !strings.Contains(err.Error(), "haproxy.cfg:4") {
		t.Errorf("error %v does not name haproxy.cfg:4", err)
	}
}

// TestLoggerNobodyListens: with no receiver, sends neither block nor fail
// (the socket is unconnected, so no ICMP error comes back).
func TestLoggerNobodyListens(t *testing.T) {
	c, addr := udpSink(t)
	c.Close() // the port is now closed
	l, err := New([]haproxycfg.LogTarget{{Network: "udp", Address: addr, Facility: local0, MaxLevel: Debug}}, "haproxy", 1, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 1000 {
		l.Log(Info, "nobody hears this")
	}
	if l.Failed() != 0 {
		t.Errorf("%d sends failed, want 0", l.Failed())
	}
}

// TestLoggerDropsWhenFull: a unix datagram receiver that never reads fills
// up; Log must then drop and count, not wait.
func TestLoggerDropsWhenFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	rc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	l, err := New([]haproxycfg.LogTarget{{Network: "unixgram", Address: path, Facility: local0, MaxLevel: Debug}}, "haproxy", 1, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const n = 5000 // far beyond the receive queue (net.unix.max_dgram_qlen, 512 by default)
	for range n {
		l.Log(Info, strings.Repeat("x", 200))
	}
	if l.Dropped() == 0 || l.Dropped() >= n {
		t.Errorf("dropped %d of %d, want some but not all", l.Dropped(), n)
	}
	if l.Failed() != 0 {
		t.Errorf("failed %d, want 0", l.Failed())
	}
	// What was queued is intact.
	buf := make([]byte, 4096)
	k, err := rc.Read(buf)
	if err != nil || !strings.HasSuffix(string(buf[:k]), ": "+strings.Repeat("x", 200)+"\n") {
		t.Errorf("first queued datagram %q, %v", buf[:k], err)
	}
}

func TestLoggerClosed(t *testing.T) {
	_, addr := udpSink(t)
	l, err := New([]haproxycfg.LogTarget{{Network: "udp", Address: addr, Facility: local0, MaxLevel: Debug}}, "haproxy", 1, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Log(Info, "after close")
	if l.Failed() != 1 {
		t.Errorf("failed %d after close, want 1", l.Failed())
	}
	var nilLogger *Logger
	nilLogger.Log(Info, "no targets") // must not panic
}

func TestLoggerIPv6(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := New([]haproxycfg.LogTarget{{Network: "udp", Address: c.LocalAddr().String(), Facility: local0, MaxLevel: Debug}},
		"haproxy", 3, fixedClock(time.Date(2026, time.March, 9, 1, 2, 3, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(Notice, "over v6")
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := c.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "<133>Mar  9 01:02:03 haproxy[3]: over v6\n" {
		t.Errorf("got %q, %v", buf[:n], err)
	}
}

// TestLoggerLenAndFormat: a target's `len` and `format` apply to it alone.
func TestLoggerLenAndFormat(t *testing.T) {
	short, shortAddr := udpSink(t)
	raw, rawAddr := udpSink(t)
	l, err := New([]haproxycfg.LogTarget{
		{Network: "udp", Address: shortAddr, Facility: local0, MaxLevel: Debug, MaxLen: 80},
		{Network: "udp", Address: rawAddr, Facility: local0, MaxLevel: Debug, Format: FormatRaw},
	}, "haproxy", 9, fixedClock(time.Date(2026, time.November, 24, 1, 2, 3, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	msg := strings.Repeat("0123456789", 10)
	l.Log(Info, msg)
	hdr := "<134>Nov 24 01:02:03 haproxy[9]: "
	if got := drain(t, short); len(got) != 1 || got[0] != (hdr + msg)[:80]+"\n" {
		t.Errorf("len 80 target got %q", got)
	}
	if got := drain(t, raw); len(got) != 1 || got[0] != msg+"\n" {
		t.Errorf("raw target got %q", got)
	}
}

// TestLoggerConcurrent: Log from many goroutines, with Close racing at the
// end (run with -race to check the locking).
func TestLoggerConcurrent(t *testing.T) {
	c, addr := udpSink(t)
	_ = c.SetReadBuffer(4 << 20)
	l, err := New([]haproxycfg.LogTarget{{Network: "udp", Address: addr, Facility: local0, MaxLevel: Debug}}, "haproxy", 1, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Log(Info, fmt.Sprintf("worker %d line %d", w, i))
			}
		}()
	}
	wg.Wait()
	got := drain(t, c)
	if len(got) != workers*each {
		t.Errorf("received %d datagrams, want %d (dropped %d, failed %d)", len(got), workers*each, l.Dropped(), l.Failed())
	}
	for _, d := range got {
		if !strings.HasPrefix(d, "<134>") || !strings.Contains(d, "haproxy[1]: worker ") || !strings.HasSuffix(d, "\n") {
			t.Fatalf("garbled datagram %q", d)
		}
	}
	done := make(chan struct{})
	go func() { l.Log(Info, "racing close"); close(done) }()
	l.Close()
	<-done
}

// TestAppendFormattedHost: with `log-send-hostname` the host name takes
// the place of "localhost" (rfc3164) and "-" (rfc5424), and the default
// format becomes rfc3164; local, short and raw carry no host, as haproxy
// 2.6 sends them (pkg/gproxyd's differential test).
func TestAppendFormattedHost(t *testing.T) {
	at := time.Date(2026, time.December, 4, 8, 58, 56, 363949000, time.UTC)
	for _, c := range []struct{ format, host, want string }{
		{"", "", "<134>Dec  4 08:58:56 ftag[7]: m\n"},
		{"", "myhost", "<134>Dec  4 08:58:56 myhost ftag[7]: m\n"},
		{FormatLocal, "myhost", "<134>Dec  4 08:58:56 ftag[7]: m\n"},
		{FormatRFC3164, "", "<134>Dec  4 08:58:56 localhost ftag[7]: m\n"},
		{FormatRFC3164, "myhost", "<134>Dec  4 08:58:56 myhost ftag[7]: m\n"},
		{FormatRFC5424, "", "<134>1 2026-12-04T08:58:56.363949+00:00 - ftag 7 - - m\n"},
		{FormatRFC5424, "myhost", "<134>1 2026-12-04T08:58:56.363949+00:00 myhost ftag 7 - - m\n"},
		{FormatShort, "myhost", "<6>m\n"},
		{FormatRaw, "myhost", "m\n"},
	} {
		got := string(AppendFormattedHost(nil, c.format, local0, Info, at, c.host, "ftag", 7, "m", "", MaxLen))
		if got != c.want {
			t.Errorf("format %q host %q: got %q, want %q", c.format, c.host, got, c.want)
		}
	}
	// The Logger sends what SetHostname set.
	sink, addr := udpSink(t)
	l, err := New([]haproxycfg.LogTarget{{Network: "udp", Address: addr, Facility: local0, MaxLevel: Debug}}, "gtag", 9, fixedClock(at))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetHostname("myhost")
	l.Log(Err, "x")
	if got := drain(t, sink); len(got) != 1 || got[0] != "<131>Dec  4 08:58:56 myhost gtag[9]: x\n" {
		t.Errorf("got %q", got)
	}
}

// TestLoggerSendAllocs: a line to a UDP target, IPv4 or IPv6, is sent
// without an allocation (the address is encoded once, not copied per
// line), and arrives.
func TestLoggerSendAllocs(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		ip := net.IPv4(127, 0, 0, 1)
		if network == "udp6" {
			ip = net.IPv6loopback
		}
		c, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		l, err := New([]haproxycfg.LogTarget{{Network: "udp", Address: c.LocalAddr().String(), Facility: local0, MaxLevel: Debug}},
			"haproxy", 3, fixedClock(time.Date(2026, time.March, 9, 1, 2, 3, 0, time.UTC)))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		l.Log(Info, "one line")
		buf := make([]byte, 2048)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := c.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "<134>Mar  9 01:02:03 haproxy[3]: one line\n" {
			t.Errorf("%s: got %q, %v", network, buf[:n], err)
		}
		if a := testing.AllocsPerRun(20, func() { l.Log(Info, "one line") }); a != 0 && runtime.GOOS == "linux" {
			t.Errorf("%s: %v allocations per line", network, a)
		}
		if l.Failed() != 0 {
			t.Errorf("%s: %d failed sends", network, l.Failed())
		}
	}
}
