package gproxyd_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// accessLogRequests go to every http frontend of the access-log test, one
// connection each.
var accessLogRequests = []string{
	"GET /a/b?x=1&y=\"2\" HTTP/1.1\r\nHost: example.com\r\nX-Long: 1234567890\r\nX-Long: abcdefgh\r\nCookie: a=b; SRVID=abc123456789xyz; other=1\r\nConnection: close\r\n\r\n",
	"GET /empty HTTP/1.1\r\nHost: e{|}\r\nX-Long:\r\nConnection: close\r\n\r\n",
	"POST /post HTTP/1.0\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
	"GARBAGE\r\n\r\n",
}

// accessLogNormalizers hide what differs between two runs: dates, pids,
// ports, timers and the connection counters (which depend on when each
// proxy released the previous connection).
// normalizer masks what differs between two runs of a log test.
type normalizer struct {
	re   *regexp.Regexp
	repl string
}

var accessLogNormalizers = []normalizer{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d`), "ISO"},
	{regexp.MustCompile(`[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d`), "DATE"},
	{regexp.MustCompile(`\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d(\.\d{3}| [+-]\d{4})`), "LOGDATE"},
	{regexp.MustCompile(`haproxy\[\d+\]`), "haproxy[PID]"},
	{regexp.MustCompile(`haproxy \d+ - `), "haproxy PID - "},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(` -?\d+/-?\d+/-?\d+/-?\d+/-?\d+ `), " TIMERS "},
	{regexp.MustCompile(` -?\d+/-?\d+/-?\d+ `), " TIMERS "},
	{regexp.MustCompile(`\d+/\d+/\d+/\d+/\+?\d+ \d+/\d+`), "COUNTERS"},
	{regexp.MustCompile(`([-A-Za-z]{4}) \d+ \d+ \d+ \d+ \+?\d+ \d+ \d+ `), "$1 COUNTERS "},
	// %rt: haproxy sometimes starts a stream it never logs on a closing
	// HTTP/1 connection, so the counts drift by run.
	{regexp.MustCompile(`rt=?[0-9A-F]+`), "rt#"},
	// option httplog clf: the client port, the accept milliseconds, the
	// timers.
	{regexp.MustCompile(`\d+ \d{3} "clf" "(clf|web)" "(s1|<NOSRV>)" -?\d+ -?\d+ -?\d+ -?\d+ -?\d+ `), `PORT MS "clf" "$1" "$2" TIMERS `},
}

// TestIntegrationAccessLogsLikeHaproxy runs haproxy 2.6 and gproxy on one
// configuration with custom log formats, captures, a unique id sent to
// the server, structured data and every `log stdout|stderr format`, sends
// the same requests to both, and compares the lines each printed on its
// stdout and stderr once dates, pids, ports and timers are masked.
func TestIntegrationAccessLogsLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	web := uidEchoBackend(t)
	echo := echoBackend(t, "tcp01")
	type fe struct {
		name, mode, lines string
		stderrOnly        bool // logs to stderr only, where set-log-level shows in <PRI>
	}
	fes := []fe{
		{"hlog", "http", `    option httplog
    log stdout format raw local0
    capture request header Host len 20
    capture request header X-Long len 5
    capture request header X-None len 10
    capture response header Content-Type len 30
    capture response header X-Uid len 40
    capture cookie SRV len 12
`, false},
		{"clf", "http", `    option httplog clf
    log stdout format raw local0
    capture request header Host len 20
    capture response header Content-Type len 30
`, false},
		{"lf", "http", `    log stdout format raw local0
    log-format "%ci %{+Q}r %ST %B %hr %hs %ID %{+Q}HU %HM %HP %HQ %HV %b/%s %ts %tsc %{+Q}f %lc rt=%rt [%{+E}HU] %Th %[src] %[method] %[be_name] %{+Q}[status]"
    capture request header Host len 20
    capture response header X-Uid len 40
    unique-id-format %{+X}o\ %ci_rt%rt_%[req.hdr(host),lower]
    unique-id-header X-Unique-ID
`, false},
		{"sd", "http", `    log stdout format rfc5424 local0
    log-format-sd "[exampleSDID@32473 fe=\"%f\" st=\"%ST\"]  "
    log-format "%f %ST %{+Q}r"
`, false},
		{"formats", "http", `    log stderr format short local1 info
    log stderr format timed local2
    log stderr format iso local3
    log stderr format priority local4
    log stderr format rfc3164 local5
    log stderr local6
    log stdout format raw local7 debug info
    log stderr format raw sample 1,3:4 local0
    log-format "%f %ST %HU %%%%"
`, false},
		{"tlog", "tcp", `    option tcplog
    log stdout format raw local0
`, false},
		{"tlf", "tcp", `    log stdout format raw local0
    log-format "%ci %f %b/%s %ts %B %U %{+Q}ft %ID rt=%rt"
    unique-id-format rt%rt-%f
`, false},
		// last_rule_file/line: the rule that ended a rule set (file masked
		// to whether it is set: the two runs' paths differ).
		{"lr", "http", `    log stdout format raw local0
    log-format "%f %ST %HU lr=%[last_rule_line] f=%[last_rule_file,length,bool]"
    tcp-request inspect-delay 1s
    tcp-request content accept if { path_beg /a }
    http-request deny if { path /empty }
    http-response allow if { capture.req.uri -m beg /post }
`, false},
		{"lvl", "http", `    log stderr format priority local4
    log-format "%f %ST %HU"
    http-request set-log-level err if { path /empty }
    http-request set-log-level silent if METH_POST
    http-response set-log-level notice if { status 200 } { capture.req.uri -m beg /a }
`, true},
	}
	run := func(bin string) (stdout, stderr []string) {
		ports := map[string]int{}
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 1s\n"+
			"backend web\n    mode http\n    server s1 %s\nbackend tcp\n    mode tcp\n    server s1 %s\n", web, echo)
		for _, f := range fes {
			ports[f.name] = porttest.Free(t)
			be := "web"
			if f.mode == "tcp" {
				be = "tcp"
			}
			fmt.Fprintf(&cfg, "frontend %s\n    bind 127.0.0.1:%d\n    mode %s\n%s    default_backend %s\n", f.name, ports[f.name], f.mode, f.lines, be)
		}
		var bound []int
		for _, f := range fes {
			bound = append(bound, ports[f.name])
		}
		out, errOut, stop := startDB(t, bin, cfg.String(), bound...)
		defer stop()
		for _, f := range fes {
			addr := fmt.Sprintf("127.0.0.1:%d", ports[f.name])
			reqs := accessLogRequests
			if f.mode == "tcp" {
				reqs = []string{"hello\n"}
			}
			for _, r := range reqs {
				before := out.count()
				talk(t, addr, r)
				if f.stderrOnly {
					continue
				}
				// One line on stdout per request: wait for it so that the
				// lines come in request order.
				out.waitFor(t, before+1)
			}
		}
		// The sampled target sends 2 of 4; lvl silences its POST.
		errOut.waitFor(t, 6*len(accessLogRequests)+2+len(accessLogRequests)-1)
		return out.lines(), errOut.lines()
	}
	refOut, refErr := run(haproxytest.Bin)
	gotOut, gotErr := run(gproxyBin)
	compare := func(what string, ref, got []string) {
		t.Helper()
		n := max(len(ref), len(got))
		for i := 0; i < n; i++ {
			var r, g string
			if i < len(ref) {
				r = normalizeLog(ref[i])
			}
			if i < len(got) {
				g = normalizeLog(got[i])
			}
			if r != g {
				t.Errorf("%s line %d differs\nhaproxy: %q\n gproxy: %q", what, i+1, r, g)
			}
		}
	}
	compare("stdout", refOut, gotOut)
	compare("stderr", filterWarnings(refErr), filterWarnings(gotErr))
}

// filterWarnings keeps the log lines of stderr.
func filterWarnings(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "[") {
			continue // [NOTICE], [WARNING]: startup messages
		}
		out = append(out, l)
	}
	return out
}

// startDB writes cfg to a file and runs bin -db on it as the test's own
// process (haproxytest.StartProc: killed with its group at cleanup or by
// stop, and by the kernel if the test binary dies), waits until each port
// is bound (without connecting: a probe would be logged) and returns its
// stdout and stderr line by line.
func startDB(t *testing.T, bin, cfg string, ports ...int) (out, errOut *lineBuf, stop func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "h.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	out, errOut = &lineBuf{}, &lineBuf{}
	cmd.Stdout, cmd.Stderr = out, errOut
	stop = haproxytest.StartProc(t, cmd)
	for _, p := range ports {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", p))
	}
	// The frontends can be bound before the stats socket listens: a
	// command sent then got no answer. A connection without a command is
	// not logged.
	for _, l := range strings.Split(cfg, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "stats" && f[1] == "socket" && strings.HasPrefix(f[2], "/") {
			waitUnixListening(t, f[2])
		}
	}
	return out, errOut, stop
}

// waitUnixListening waits at most 10 s until a unix socket accepts.
func waitUnixListening(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats socket %s not listening after 10 s: %v", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// normalizedLines returns lines through normalizeLog, then through each of
// extra (the masks of one test).
func normalizedLines(lines []string, extra ...[]normalizer) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		l = normalizeLog(l)
		for _, ns := range extra {
			for _, n := range ns {
				l = n.re.ReplaceAllString(l, n.repl)
			}
		}
		out[i] = l
	}
	return out
}

func normalizeLog(s string) string {
	for _, n := range accessLogNormalizers {
		s = n.re.ReplaceAllString(s, n.repl)
	}
	return s
}

// uidEchoBackend answers with the unique id it received, a cookie and a
// content type, for the captures.
func uidEchoBackend(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Uid", r.Header.Get("X-Unique-ID"))
		w.Header().Add("X-Uid", "last") // a capture takes the last one
		w.Header().Add("Set-Cookie", "SRV=s1; path=/")
		_, _ = io.WriteString(w, "uid="+r.Header.Get("X-Unique-ID")+"\n")
	})}
	t.Cleanup(func() { srv.Close() })
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String()
}

// talk sends req, half-closes for a tcp line, and reads until the proxy
// closes, at most 5 s.
func talk(t *testing.T, addr, req string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if req == "hello\n" {
		br := bufio.NewReader(c)
		_, _ = br.ReadString('\n') // the echo backend's greeting
		_ = c.(*net.TCPConn).CloseWrite()
	}
	_, _ = io.Copy(io.Discard, c)
}

// lineBuf collects a process's output lines.
type lineBuf struct {
	mu   sync.Mutex
	part []byte
	done []string
}

func (l *lineBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := strings.IndexByte(string(l.part), '\n')
		if i < 0 {
			return len(p), nil
		}
		l.done = append(l.done, string(l.part[:i]))
		l.part = l.part[i+1:]
	}
}

func (l *lineBuf) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.done {
		if !strings.HasPrefix(s, "[") {
			n++
		}
	}
	return n
}

func (l *lineBuf) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.done...)
}

// waitFor polls until n log lines arrived, at most 10 s.
func (l *lineBuf) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines after 10 s, want %d:\n%s", l.count(), n, strings.Join(l.lines(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
