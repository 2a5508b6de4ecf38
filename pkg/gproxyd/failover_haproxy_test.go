package gproxyd_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// A client stuck to server s1 (by a persistence cookie or a stick-table
// entry) while s1 fails, then comes back: haproxy 2.6.12 and gproxy run
// the same configuration in front of the same servers, and every step's
// answer (status, chosen server, Set-Cookie), log line (backend, server,
// status, %tsc, retries) and stick-table entries are compared.

// failoverSections are the listens of the test: with health checks
// (s1 is seen DOWN before the client comes back) and without (the
// connection to s1 is refused), with and without option redispatch.
var failoverSections = []struct{ name, lines string }{
	{"ck", "cookie SRV insert indirect nocache"},
	{"ckr", "cookie SRV insert indirect nocache\n    option redispatch"},
	{"ckp", "cookie SRV insert indirect nocache\n    option persist\n    option redispatch"},
	{"ckn", "cookie SRV insert indirect nocache\n    #nocheck"},
	{"cknr", "cookie SRV insert indirect nocache\n    option redispatch\n    #nocheck"},
	{"cpn", "cookie SRV prefix\n    option redispatch\n    #nocheck"},
	{"st", "stick-table type ip size 1k\n    stick on src"},
	{"str", "stick-table type ip size 1k\n    stick on src\n    option redispatch"},
	{"stn", "stick-table type ip size 1k\n    stick on src\n    #nocheck"},
	{"strn", "stick-table type ip size 1k\n    stick on src\n    option redispatch\n    #nocheck"},
}

// switchable is an HTTP server on a fixed port that can be stopped and
// started again; it names itself in X-Server.
type switchable struct {
	name string
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func (s *switchable) start(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ln net.Listener
	var err error
	// The port may still be held a moment by the closed listener.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ln, err = net.Listen("tcp", s.addr); err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Server", s.name)
		w.Header().Set("X-Cookie", strings.Join(r.Header["Cookie"], " | "))
		w.Header().Set("Content-Length", "0")
	})}
	go s.srv.Serve(ln)
}

func (s *switchable) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

func failoverConfig(sock string, ports map[string]int, servers []*switchable) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    maxconn 1000
    stats socket %s level admin
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%%b %%s %%ST %%tsc %%rc %%{+Q}r"
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 2
    balance first
`, sock)
	for _, sec := range failoverSections {
		fmt.Fprintf(&b, "listen %s\n    bind 127.0.0.1:%d\n    %s\n", sec.name, ports[sec.name], sec.lines)
		// `inter` is also the whole check's timeout (haproxy's and
		// ours, without `timeout check`): at 100 ms a loaded machine
		// timed out checks of healthy servers, so one proxy saw s2 (or
		// the restarted s1) DOWN while the other did not, and they
		// answered differently. A 2 s inter keeps healthy servers UP;
		// downinter still brings a restarted s1 back within 100 ms, and
		// waitStatus polls for every change the test makes.
		check := " check inter 2s downinter 100ms fall 1 rise 1"
		if strings.Contains(sec.lines, "#nocheck") {
			check = ""
		}
		for _, s := range servers {
			fmt.Fprintf(&b, "    server %s %s cookie %s%s\n", s.name, s.addr, s.name, check)
		}
	}
	return b.String()
}

// serverStatus is the status column of a server's `show stat` row.
func serverStatus(t *testing.T, sock, px, srv string) string {
	t.Helper()
	out := askAll(t, sock, "show stat")
	lines := strings.Split(out, "\n")
	if len(lines) == 0 {
		return ""
	}
	col := -1
	for i, h := range strings.Split(strings.TrimPrefix(lines[0], "# "), ",") {
		if h == "status" {
			col = i
		}
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) > col && col >= 0 && f[0] == px && f[1] == srv {
			return f[col]
		}
	}
	return ""
}

// waitStatus waits at most 10 s until s1 of every checked section has
// the status want (UP, DOWN) in the process behind sock.
func waitStatus(t *testing.T, sock, srv, want string) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for _, sec := range failoverSections {
		if strings.Contains(sec.lines, "#nocheck") {
			continue
		}
		for {
			got := serverStatus(t, sock, sec.name, srv)
			if strings.HasPrefix(got, want) {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("%s/%s is %q after 10 s, want %s", sec.name, srv, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// stickyExchange sends one request and returns what a user checks: the
// status line, the server that answered and any Set-Cookie; empty
// when the proxy closed without an answer.
func stickyExchange(t *testing.T, port int, target, cookie string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nHost: t\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	fmt.Fprintf(c, "%sConnection: close\r\n\r\n", req)
	br := bufio.NewReader(c)
	var keep []string
	for first := true; ; first = false {
		l, err := br.ReadString('\n')
		if err != nil {
			return strings.Join(append(keep, "(closed)"), " | ")
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		lower := strings.ToLower(l)
		if first || strings.HasPrefix(lower, "x-server:") || strings.HasPrefix(lower, "set-cookie:") ||
			strings.HasPrefix(lower, "x-cookie:") || strings.HasPrefix(lower, "cache-control:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, " | ")
}

var setCookieValue = regexp.MustCompile(`(?i)set-cookie: (SRV=[^;| ]*)`)

// TestIntegrationStickyFailoverHaproxy: see failoverSections.
func TestIntegrationStickyFailoverHaproxy(t *testing.T) {
	var servers []*switchable
	for _, n := range []string{"s1", "s2", "s3"} {
		s := &switchable{name: n, addr: porttest.FreeAddr(t)}
		s.start(t)
		t.Cleanup(s.stop)
		servers = append(servers, s)
	}
	dir := t.TempDir()
	type proc struct {
		sock  string
		ports map[string]int
		out   *lineBuf
	}
	procs := map[string]*proc{}
	for _, n := range []string{"hp", "gp"} {
		p := &proc{sock: filepath.Join(dir, n+".sock"), ports: map[string]int{}}
		var ports []int
		for _, sec := range failoverSections {
			p.ports[sec.name] = porttest.Free(t)
			ports = append(ports, p.ports[sec.name])
		}
		bin := haproxytest.Bin
		if n == "gp" {
			bin = gproxyBin
		}
		p.out, _, _ = startDB(t, bin, failoverConfig(p.sock, p.ports, servers), ports...)
		procs[n] = p
	}
	for _, n := range []string{"hp", "gp"} {
		waitStatus(t, procs[n].sock, "s1", "UP")
	}
	// cookies are what each proxy's client holds, per section.
	cookies := map[string]map[string]string{"hp": {}, "gp": {}}
	rq := 0
	answers := map[string][]string{}
	step := func(what string) {
		for _, sec := range failoverSections {
			for _, n := range []string{"hp", "gp"} {
				target := fmt.Sprintf("/%s?rq=%d", sec.name, rq)
				got := stickyExchange(t, procs[n].ports[sec.name], target, cookies[n][sec.name])
				if m := setCookieValue.FindStringSubmatch(got); m != nil {
					cookies[n][sec.name] = m[1]
				}
				answers[n] = append(answers[n], fmt.Sprintf("%s %s rq=%d: %s", what, sec.name, rq, got))
			}
			rq++
		}
	}
	// The client first lands on s1 (balance first) and gets its cookie
	// or its table entry.
	step("s1 up")
	step("s1 up again")
	servers[0].stop()
	for _, n := range []string{"hp", "gp"} {
		waitStatus(t, procs[n].sock, "s1", "DOWN")
	}
	step("s1 down")
	step("s1 down again")
	// The client that kept its first cookie.
	for _, n := range []string{"hp", "gp"} {
		for _, sec := range failoverSections {
			if strings.HasPrefix(sec.name, "c") {
				cookies[n][sec.name] = "SRV=s1"
			}
		}
	}
	step("s1 down, old cookie")
	servers[0].start(t)
	for _, n := range []string{"hp", "gp"} {
		waitStatus(t, procs[n].sock, "s1", "UP")
	}
	step("s1 back")
	for _, n := range []string{"hp", "gp"} {
		for _, sec := range failoverSections {
			if strings.HasPrefix(sec.name, "c") {
				cookies[n][sec.name] = "SRV=s1"
			}
		}
	}
	step("s1 back, old cookie")

	for i := range answers["hp"] {
		if answers["hp"][i] != answers["gp"][i] {
			t.Errorf("the clients saw different answers:\nhaproxy: %s\ngproxy:  %s", answers["hp"][i], answers["gp"][i])
		}
	}
	// The story haproxy tells, so that both failing alike fails.
	for _, want := range []string{
		"s1 up ck rq=0: HTTP/1.1 200 OK | x-cookie:  | x-server: s1 | set-cookie: SRV=s1",
		"s1 down ck rq=20: HTTP/1.1 200 OK | x-cookie:  | x-server: s2 | set-cookie: SRV=s2",
		"s1 down, old cookie ckn rq=43: HTTP/1.1 503 Service Unavailable",
		"s1 back, old cookie ck rq=60: HTTP/1.1 200 OK | x-cookie:  | x-server: s1",
		"s1 back st rq=56: HTTP/1.1 200 OK | x-cookie:  | x-server: s2",
	} {
		found := false
		for _, a := range answers["hp"] {
			found = found || strings.HasPrefix(strings.ToLower(a), strings.ToLower(want))
		}
		if !found {
			t.Errorf("haproxy's answers lack %q:\n%s", want, strings.Join(answers["hp"], "\n"))
		}
	}
	logs := map[string][]string{}
	for _, n := range []string{"hp", "gp"} {
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			logs[n] = logs[n][:0]
			for _, l := range procs[n].out.lines() {
				if strings.Contains(l, "rq=") {
					logs[n] = append(logs[n], l)
				}
			}
			if len(logs[n]) >= rq || time.Now().After(end) {
				break
			}
		}
		// Log lines may come out of order: by request number.
		sort.Slice(logs[n], func(i, j int) bool { return rqOf(logs[n][i]) < rqOf(logs[n][j]) })
	}
	if strings.Join(logs["hp"], "\n") != strings.Join(logs["gp"], "\n") {
		t.Errorf("logs differ\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(logs["hp"], "\n"), strings.Join(logs["gp"], "\n"))
	}
	for _, sec := range failoverSections {
		if !strings.HasPrefix(sec.name, "s") {
			continue
		}
		h := tableEntries(askAll(t, procs["hp"].sock, "show table "+sec.name))
		g := tableEntries(askAll(t, procs["gp"].sock, "show table "+sec.name))
		if !strings.Contains(h, "server_id=") {
			t.Errorf("table %s: haproxy shows no stored server: %q", sec.name, h)
		}
		if h != g {
			t.Errorf("table %s:\nhaproxy: %s\ngproxy:  %s", sec.name, h, g)
		}
	}
	t.Logf("%d exchanges compared", len(answers["hp"]))
}

var rqNum = regexp.MustCompile(`rq=(\d+)`)

func rqOf(l string) int {
	n := 0
	if m := rqNum.FindStringSubmatch(l); m != nil {
		fmt.Sscan(m[1], &n)
	}
	return n
}

var entryID = regexp.MustCompile(` key=(\S+) use=\d+ exp=\d+ (server_id=\d+)?`)

// tableEntries are a `show table` answer's keys and server ids.
func tableEntries(out string) string {
	var e []string
	for _, m := range entryID.FindAllStringSubmatch(out, -1) {
		e = append(e, m[1]+" "+m[2])
	}
	return strings.Join(e, ", ")
}
