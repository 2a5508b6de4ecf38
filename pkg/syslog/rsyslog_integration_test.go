package syslog_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/syslog"
)

const rsyslogBin = "/usr/sbin/rsyslogd"

// rsyslog runs a private rsyslogd receiving UDP on a free loopback port and
// writing, for every message, one line of parsed fields
// "facility|severity|programname|procid|msg" to fields.log and the raw
// datagram to raw.log.
type rsyslog struct {
	port   int
	fields string
	raw    string
}

func startRsyslog(t *testing.T) *rsyslog {
	t.Helper()
	if _, err := os.Stat(rsyslogBin); err != nil {
		t.Fatalf("needs rsyslog (apt-get install rsyslog): %v", err)
	}
	dir := t.TempDir()
	// A free UDP port: bind, note, release.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	r := &rsyslog{port: port, fields: filepath.Join(dir, "fields.log"), raw: filepath.Join(dir, "raw.log")}
	// No imuxsock: this rsyslogd must not take /dev/log.
	conf := fmt.Sprintf(`global(workDirectory="%[1]s")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%[2]d")
template(name="fields" type="string" string="%%syslogfacility-text%%|%%syslogseverity-text%%|%%programname%%|%%procid%%|%%msg%%\n")
template(name="raw" type="string" string="%%rawmsg%%\n")
*.* action(type="omfile" file="%[3]s" template="fields")
*.* action(type="omfile" file="%[4]s" template="raw")
`, dir, port, r.fields, r.raw)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rsyslogBin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	out, err := os.Create(filepath.Join(dir, "rsyslogd.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("rsyslogd output:\n%s", b)
		}
	})
	// Ready when a probe sent through our Logger shows up.
	l, err := syslog.New([]haproxycfg.LogTarget{{Network: "udp", Address: fmt.Sprintf("127.0.0.1:%d", port),
		Facility: 16, MaxLevel: syslog.Debug}}, "probe", 1, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(r.read(t, r.fields), "|probe|") {
		if time.Now().After(deadline) {
			t.Fatal("rsyslogd did not write a probe message within 15s")
		}
		l.Log(syslog.Info, "probe")
		time.Sleep(100 * time.Millisecond)
	}
	return r
}

func (r *rsyslog) read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// waitLines returns the fields lines of program prog once n of them arrived.
func (r *rsyslog) waitLines(t *testing.T, prog string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []string
		for _, line := range strings.Split(r.read(t, r.fields), "\n") {
			if strings.Contains(line, "|"+prog+"|") {
				got = append(got, line)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestIntegrationRsyslog sends tcplog lines and notices through our Logger
// to a real rsyslogd and checks what it understood: facility, severity,
// program, pid and text; then sends the same traffic through the real
// haproxy to the same rsyslogd and compares the two lines field by field.
func TestIntegrationRsyslog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	rs := startRsyslog(t)
	addr := fmt.Sprintf("127.0.0.1:%d", rs.port)

	sess := accesslog.Session{
		Client:       netip.MustParseAddrPort("192.168.1.10:40000"),
		Accept:       time.Date(2026, time.November, 4, 23, 40, 1, 123e6, time.Local),
		FrontendName: "http", BackendName: "http", ServerName: "web01",
		Tw: time.Millisecond, Tc: 0, Tt: 5 * time.Millisecond, BytesToClient: 123,
		TermCause: '-', TermState: '-', ActConn: 1, FeConn: 1, Retries: 1, Redisp: true,
	}
	line := accesslog.TCPLog(sess)
	l, err := syslog.New([]haproxycfg.LogTarget{
		{Network: "udp", Address: addr, Facility: 16, MaxLevel: syslog.Debug},  // local0
		{Network: "udp", Address: addr, Facility: 17, MaxLevel: syslog.Notice}, // local1 notice
	}, "gproxy", 4242, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(syslog.Info, line)
	l.Log(syslog.Warning, "Proxy http stopped (cumulated conns: FE: 3, BE: 3).")
	l.Log(syslog.Alert, `Server http/web01 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`)

	want := []string{
		"local0|info|gproxy|4242| " + line,
		"local0|warning|gproxy|4242| Proxy http stopped (cumulated conns: FE: 3, BE: 3).",
		"local1|warning|gproxy|4242| Proxy http stopped (cumulated conns: FE: 3, BE: 3).",
		`local0|alert|gproxy|4242| Server http/web01 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
		`local1|alert|gproxy|4242| Server http/web01 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
	}
	got := rs.waitLines(t, "gproxy", len(want))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rsyslog wrote\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// rsyslog's raw copy is our datagram.
	rawRE := regexp.MustCompile(`(?m)^<134>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d gproxy\[4242\]: ` + regexp.QuoteMeta(line) + "$")
	if raw := rs.read(t, rs.raw); !rawRE.MatchString(raw) {
		t.Errorf("raw.log lacks our tcplog datagram:\n%q", raw)
	}

	// The real haproxy's line for one session, through the same rsyslogd.
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy: %v", err)
	}
	backend := serveEcho(t)
	front := haproxytest.FreePort(t)
	hap := haproxytest.Start(t, fmt.Sprintf(`global
    log %s local0
defaults
    log global
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen http
    bind 127.0.0.1:%d
    mode tcp
    option tcplog
    server web01 %s
`, addr, front, backend))
	haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", front))
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", front), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "hi\n")
	_, _ = io.Copy(io.Discard, c)
	c.Close()
	hl := rs.waitLines(t, "haproxy", 1)
	_ = hap.Process.Signal(syscall.SIGUSR1)
	if len(hl) != 1 {
		t.Fatalf("haproxy lines at rsyslog: %q", hl)
	}
	// Our line for the same session: same names, bytes, state and counters.
	mine := accesslog.TCPLog(accesslog.Session{
		Client: netip.MustParseAddrPort("127.0.0.1:1"), Accept: time.Now(),
		FrontendName: "http", BackendName: "http", ServerName: "web01",
		BytesToClient: 6, TermCause: '-', TermState: '-', ActConn: 1, FeConn: 1,
	})
	ours := "local0|info|haproxy|PID| " + mine
	if mask(hl[0]) != mask(ours) {
		t.Errorf("haproxy's line and ours differ beyond ports, times and pids:\nhaproxy: %s\n   ours: %s", hl[0], ours)
	}
}

// mask blanks what differs between two runs of the same traffic: pid,
// client port, accept date and timers.
func mask(fields string) string {
	f := strings.SplitN(fields, "|", 5)
	if len(f) != 5 {
		return fields
	}
	f[3] = "PID"
	m := strings.Fields(f[4])
	if len(m) == 9 {
		if i := strings.LastIndexByte(m[0], ':'); i >= 0 {
			m[0] = m[0][:i] + ":PORT"
		}
		m[1] = "[DATE]"
		m[4] = "TIMERS"
	}
	return strings.Join(f[:4], "|") + "| " + strings.Join(m, " ")
}
