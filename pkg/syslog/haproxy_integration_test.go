package syslog_test

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/syslog"
	"hapair/pkg/syslog/syslogtest"
)

var update = flag.Bool("update", false, "rewrite testdata golden files from a real haproxy run")

const (
	levelsFile = "testdata/haproxy-2.6.12-levels.golden"
	local0     = haproxycfg.Facility(16)
	local1     = haproxycfg.Facility(17)
	local2     = haproxycfg.Facility(18)
)

// levelTargets are the three `log` lines of the capture, pointing at addr:
// everything on local0, up to notice on local1, and crit..emerg lowered to
// err on local2.
func levelTargets(addr string) []haproxycfg.LogTarget {
	return []haproxycfg.LogTarget{
		{Network: "udp", Address: addr, Facility: local0, MaxLevel: syslog.Debug},
		{Network: "udp", Address: addr, Facility: local1, MaxLevel: syslog.Notice},
		{Network: "udp", Address: addr, Facility: local2, MaxLevel: syslog.Debug, MinLevel: syslog.Err},
	}
}

// TestIntegrationHaproxyLevels runs the real haproxy 2.6 with three log
// targets (all levels; `notice` max; `debug err` min), makes it log a
// tcplog line (info), a health check failure (alert "Server ... is DOWN",
// emerg "... has no server available!"), its recovery (notice "Server ...
// is UP") and a soft stop (warning "Proxy
// ... stopped"), then replays each message through our Logger with the same
// targets, time and pid, and compares the datagrams byte for byte.
func TestIntegrationHaproxyLevels(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	sink := syslogtest.NewSink(t)
	backend := serveEcho(t)
	dead, front := haproxytest.FreePort(t), haproxytest.FreePort(t)
	cfg := fmt.Sprintf(`global
    log %[1]s local0
    log %[1]s local1 notice
    log %[1]s local2 debug err
defaults
    log global
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen tcp
    bind 127.0.0.1:%[2]d
    mode tcp
    option tcplog
    server web01 %[3]s
backend deadbe
    server s1 127.0.0.1:%[4]d check inter 100ms fall 1 rise 1
`, sink.Addr(), front, backend, dead)
	hap := haproxytest.Start(t, cfg)
	if sink.WaitFor(func(d string) bool { return strings.Contains(d, "has no server available!") }, 10*time.Second) == "" {
		t.Fatalf("haproxy never reported the dead backend; got %q", sink.Datagrams())
	}
	// Bring the server up: "Server deadbe/s1 is UP" at notice.
	up, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", dead))
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if sink.WaitFor(func(d string) bool { return strings.Contains(d, " is UP") }, 10*time.Second) == "" {
		t.Fatalf("haproxy never reported the server up; got %q", sink.Datagrams())
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", front), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "hi\n")
	_, _ = io.Copy(io.Discard, c)
	c.Close()
	_ = hap.Process.Signal(syscall.SIGUSR1)
	haproxytest.WaitExit(t, hap)
	// 1 tcplog (local0, local2); DOWN, no-server, UP, and 3 stopped: 3 each
	got := sink.Wait(2+9+9, 5*time.Second)

	checkReplay(t, got)
	if *update && !t.Failed() {
		sorted := append([]string(nil), got...)
		sort.Strings(sorted)
		if err := os.WriteFile(levelsFile, []byte(strings.Join(sorted, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoldenHaproxyLevels replays the stored capture of
// TestIntegrationHaproxyLevels through our Logger.
func TestGoldenHaproxyLevels(t *testing.T) {
	data, err := os.ReadFile(levelsFile)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		got = append(got, sc.Text()+"\n")
	}
	checkReplay(t, got)
}

// checkReplay takes the unfiltered local0 copies of haproxy's messages,
// sends each through our Logger (same three targets, time and pid) and
// expects exactly haproxy's datagrams on all three facilities.
func checkReplay(t *testing.T, haproxy []string) {
	t.Helper()
	var want []string
	var originals []syslogtest.Datagram
	levels := map[haproxycfg.Level]bool{}
	for _, raw := range haproxy {
		d, err := syslogtest.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, raw)
		if d.Facility == local0 {
			originals = append(originals, d)
			levels[d.Level] = true
		}
	}
	for _, l := range []haproxycfg.Level{syslog.Emerg, syslog.Alert, syslog.Warning, syslog.Notice, syslog.Info} {
		if !levels[l] {
			t.Errorf("capture lacks a level %d message; has %v", l, levels)
		}
	}
	ours := syslogtest.NewSink(t)
	for _, d := range originals {
		l, err := syslog.New(levelTargets(ours.Addr()), d.Tag, d.PID, func() time.Time { return d.Stamp })
		if err != nil {
			t.Fatal(err)
		}
		l.Log(d.Level, d.Msg)
		l.Close()
	}
	got := ours.Wait(len(want), 5*time.Second)
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Errorf("our datagrams differ from haproxy's\n got:\n%s\nwant:\n%s", strings.Join(got, ""), strings.Join(want, ""))
	}
}

func serveEcho(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, "hello\n")
			}()
		}
	}()
	return l.Addr().String()
}

// TestIntegrationHaproxyFormats runs haproxy with one target per `format`
// value (and one with a short `len`), and checks that every datagram it
// sent is what AppendFormatted builds from the same level, message, time
// and pid.
func TestIntegrationHaproxyFormats(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	type fmtTarget struct {
		format string
		maxLen int
		sink   *syslogtest.Sink
	}
	targets := []*fmtTarget{
		{format: syslog.FormatLocal}, {format: ""}, {format: syslog.FormatRFC3164}, {format: syslog.FormatRFC5424},
		{format: syslog.FormatPriority}, {format: syslog.FormatShort}, {format: syslog.FormatTimed},
		{format: syslog.FormatISO}, {format: syslog.FormatRaw}, {format: "", maxLen: 80},
	}
	var logLines strings.Builder
	for _, ft := range targets {
		ft.sink = syslogtest.NewSink(t)
		fmt.Fprintf(&logLines, "    log %s", ft.sink.Addr())
		if ft.maxLen > 0 {
			fmt.Fprintf(&logLines, " len %d", ft.maxLen)
		}
		if ft.format != "" {
			fmt.Fprintf(&logLines, " format %s", ft.format)
		}
		logLines.WriteString(" local3\n")
	}
	backend := serveEcho(t)
	front := haproxytest.FreePort(t)
	hap := haproxytest.Start(t, fmt.Sprintf(`global
%s
defaults
    log global
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen tcp
    bind 127.0.0.1:%d
    mode tcp
    option tcplog
    server web01 %s
`, logLines.String(), front, backend))
	haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", front))
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", front), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "hi\n")
	_, _ = io.Copy(io.Discard, c)
	c.Close()
	_ = hap.Process.Signal(syscall.SIGUSR1)
	haproxytest.WaitExit(t, hap)

	// The messages, their levels, time and pid, from the local target.
	const n = 3 // tcplog, "Proxy tcp stopped", "Proxy <HTTPCLIENT> stopped"
	var originals []syslogtest.Datagram
	for _, raw := range targets[0].sink.Wait(n, 5*time.Second) {
		d, err := syslogtest.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		originals = append(originals, d)
	}
	if len(originals) != n {
		t.Fatalf("local target got %d datagrams, want %d", len(originals), n)
	}
	isoRE := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d`)
	legacyRE := regexp.MustCompile(`[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d`)
	for _, ft := range targets {
		got := ft.sink.Wait(n, 5*time.Second)
		if len(got) != n {
			t.Errorf("format %q: %d datagrams, want %d", ft.format, len(got), n)
		}
		for _, raw := range got {
			// The time as the datagram shows it, if it shows one.
			stamp := originals[0].Stamp
			if m := isoRE.FindString(raw); m != "" {
				if stamp, err = time.Parse("2006-01-02T15:04:05.000000-07:00", m); err != nil {
					t.Fatal(err)
				}
			} else if m := legacyRE.FindString(raw); m != "" {
				stamp, _ = time.ParseInLocation("Jan _2 15:04:05", m, time.UTC)
			}
			var match bool
			for _, o := range originals {
				ours := string(syslog.AppendFormatted(nil, ft.format, 19, o.Level, stamp, "haproxy", o.PID, o.Msg, cmp.Or(ft.maxLen, syslog.MaxLen)))
				match = match || ours == raw
			}
			if !match {
				t.Errorf("format %q len %d: no message of ours gives haproxy's %q", ft.format, ft.maxLen, raw)
			}
			formatGolden = append(formatGolden, fmt.Sprintf("%s %d\t%s", cmp.Or(ft.format, "-"), ft.maxLen, raw))
		}
	}
	if *update && !t.Failed() {
		sort.Strings(formatGolden)
		formatGolden = slices.Compact(formatGolden)
		if err := os.WriteFile(formatsFile, []byte(strings.Join(formatGolden, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// formatsFile holds TestIntegrationHaproxyFormats' capture, one datagram
// per line as "FORMAT LEN<TAB>datagram" (FORMAT "-" when not given, LEN 0
// when not given).
const formatsFile = "testdata/haproxy-2.6.12-formats.golden"

var formatGolden []string

// TestGoldenHaproxyFormats checks the stored capture of every format.
func TestGoldenHaproxyFormats(t *testing.T) {
	data, err := os.ReadFile(formatsFile)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		format string
		maxLen int
		raw    string
	}
	var lines []line
	var originals []syslogtest.Datagram
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		head, raw, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("bad golden line %q", l)
		}
		var f line
		if _, err := fmt.Sscanf(head, "%s %d", &f.format, &f.maxLen); err != nil {
			t.Fatalf("bad golden line %q: %v", l, err)
		}
		if f.format == "-" {
			f.format = ""
		}
		f.raw = raw
		lines = append(lines, f)
		if f.format == syslog.FormatLocal {
			d, err := syslogtest.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			originals = append(originals, d)
		}
	}
	formats := map[string]bool{}
	isoRE := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d`)
	legacyRE := regexp.MustCompile(`[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d`)
	for _, f := range lines {
		formats[f.format] = true
		stamp := originals[0].Stamp
		if m := isoRE.FindString(f.raw); m != "" {
			if stamp, err = time.Parse("2006-01-02T15:04:05.000000-07:00", m); err != nil {
				t.Fatal(err)
			}
		} else if m := legacyRE.FindString(f.raw); m != "" {
			stamp, _ = time.ParseInLocation("Jan _2 15:04:05", m, time.UTC)
		}
		var match bool
		for _, o := range originals {
			ours := string(syslog.AppendFormatted(nil, f.format, 19, o.Level, stamp, "haproxy", o.PID, o.Msg, cmp.Or(f.maxLen, syslog.MaxLen)))
			match = match || ours == f.raw
		}
		if !match {
			t.Errorf("format %q len %d: no message of ours gives haproxy's %q", f.format, f.maxLen, f.raw)
		}
	}
	if len(formats) != 9 || len(originals) != 3 {
		t.Errorf("golden file covers %d formats and %d messages, want 9 and 3", len(formats), len(originals))
	}
}
