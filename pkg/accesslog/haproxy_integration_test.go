package accesslog_test

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/syslog/syslogtest"
)

var update = flag.Bool("update", false, "rewrite testdata golden files from a real haproxy run")

// TestIntegrationHaproxyLogLines runs the real haproxy 2.6 on loopback with
// tcplog and httplog proxies, drives sessions that end in the common ways
// (normal, dontlognull, redispatch, no server, timeouts, bad and cut
// requests, 503, escapes, an over-long URI, IPv6), captures the syslog
// datagrams it sends, and checks that each access line is rebuilt byte for
// byte from the values it shows. With -update it rewrites the golden file
// the unit tests use.
func TestIntegrationHaproxyLogLines(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	logs := syslogtest.NewSink(t)
	longLogs := syslogtest.NewSink(t) // the web proxy's second target, with len 4096
	echo := serveTCP(t, func(c net.Conn) {
		_, _ = bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, "hello\n")
	})
	silent := serveTCP(t, func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = io.Copy(io.Discard, c)
	})
	web := serveHTTP(t)
	dead := haproxytest.FreePort(t)

	ports := map[string]int{}
	for _, n := range []string{"tcp", "nul", "redisp", "nosrv", "sto", "cto", "web", "webinv", "webnosrv"} {
		ports[n] = haproxytest.FreePort(t)
	}
	vars := []string{"LOGPORT", fmt.Sprint(logs.Port()), "LONGPORT", fmt.Sprint(longLogs.Port()), "ECHO", echo, "SILENT", silent, "WEB", web,
		"DEAD", fmt.Sprintf("127.0.0.1:%d", dead)}
	for n, p := range ports {
		vars = append(vars, "P_"+n+"\n", fmt.Sprintf("%d\n", p))
	}
	cfg := strings.NewReplacer(vars...).Replace(`global
    log 127.0.0.1:LOGPORT local0
defaults
    log global
    timeout client 5s
    timeout server 5s
    timeout connect 1s
    retries 2
    option redispatch
listen tcp
    bind 127.0.0.1:P_tcp
    bind [::1]:P_tcp
    mode tcp
    option tcplog
    server web01 ECHO
listen nul
    bind 127.0.0.1:P_nul
    mode tcp
    option tcplog
    option dontlognull
    server web01 ECHO
listen redisp
    bind 127.0.0.1:P_redisp
    mode tcp
    option tcplog
    balance roundrobin
    server dead DEAD
    server web01 ECHO
listen nosrv
    bind 127.0.0.1:P_nosrv
    mode tcp
    option tcplog
    server web01 ECHO disabled
listen sto
    bind 127.0.0.1:P_sto
    mode tcp
    option tcplog
    timeout server 300ms
    server web01 SILENT
listen cto
    bind 127.0.0.1:P_cto
    mode tcp
    option tcplog
    timeout client 200ms
    server web01 SILENT
listen web
    bind 127.0.0.1:P_web
    log global
    log 127.0.0.1:LONGPORT len 4096 local2
    mode http
    option httplog
    server web01 WEB
listen webinv
    bind 127.0.0.1:P_webinv
    mode http
    option httplog
    option accept-invalid-http-request
    server web01 WEB
listen webnosrv
    bind 127.0.0.1:P_webnosrv
    mode http
    option httplog
    server web01 WEB disabled
`)
	hap := haproxytest.Start(t, cfg)
	for _, p := range ports {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", p))
	}

	addr := func(n string) string { return fmt.Sprintf("127.0.0.1:%d", ports[n]) }
	exchange(t, addr("tcp"), "hi\n", false)
	exchange(t, fmt.Sprintf("[::1]:%d", ports["tcp"]), "hi\n", false)
	exchange(t, addr("nul"), "", true)     // no data: not logged (dontlognull)
	exchange(t, addr("nul"), "x\n", false) // logged
	exchange(t, addr("redisp"), "hi\n", false)
	exchange(t, addr("nosrv"), "hi\n", false)
	exchange(t, addr("sto"), "hi\n", false) // server silent: server timeout
	exchange(t, addr("cto"), "", false)     // client silent: client timeout
	get := func(target string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	}
	exchange(t, addr("web"), get("/"), false)
	exchange(t, addr("web"), get("/nope?q=\"x\""), false) // '"' is logged as #22
	exchange(t, addr("web"), get("/u=\x7f"), false)       // DEL is accepted, logged as #7F
	exchange(t, addr("web"), get("/h=#frag"), false)      // refused: 400 CR <BADREQ>
	exchange(t, addr("web"), "get /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false)
	exchange(t, addr("webinv"), get("/h=#frag&u=\xc3\xa9{|}\\"), false)
	exchange(t, addr("web"), "POST /post HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", false)
	exchange(t, addr("web"), get("/"+strings.Repeat("a", 1100)), false)
	exchange(t, addr("web"), "GARBAGE\r\n\r\n", false)
	exchange(t, addr("web"), "GET / HTTP/1.1\r\nHost: t\r\n", true) // cut request, client gives up
	exchange(t, addr("web"), "HEAD / HTTP/1.0\r\n\r\n", false)
	exchange(t, addr("webnosrv"), get("/"), false)
	const wantAccess = 19

	// Soft stop: each proxy logs "Proxy X stopped (...)." at warning.
	_ = hap.Process.Signal(syscall.SIGUSR1)
	haproxytest.WaitExit(t, hap)
	lines := logs.Wait(wantAccess+10, 5*time.Second)

	var access, notices []string
	for _, raw := range lines {
		d, err := syslogtest.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if d.Tag != "haproxy" || d.PID != hap.Process.Pid {
			t.Errorf("header tag/pid %s[%d], want haproxy[%d]", d.Tag, d.PID, hap.Process.Pid)
		}
		if strings.HasPrefix(d.Msg, "Proxy ") {
			notices = append(notices, raw)
			continue
		}
		if d.Facility != 16 || d.Level != 6 {
			t.Errorf("access line at facility %d level %d, want local0 (16) info (6): %q", d.Facility, d.Level, raw)
		}
		access = append(access, raw)
		checkAccessLine(t, raw)
	}
	if len(access) != wantAccess {
		t.Errorf("haproxy logged %d access lines, want %d:\n%s", len(access), wantAccess, strings.Join(access, ""))
	}
	var nul int
	for _, raw := range access {
		if strings.Contains(raw, "] nul nul/") {
			nul++
		}
	}
	if nul != 1 {
		t.Errorf("dontlognull proxy logged %d lines, want 1 (the empty connection is not logged)", nul)
	}
	if len(notices) != 10 { // 9 proxies and haproxy's internal <HTTPCLIENT>
		t.Errorf("got %d stop notices, want 10:\n%s", len(notices), strings.Join(notices, ""))
	}
	// With a longer `len`, the request line is cut at 1023 bytes instead.
	long := longLogs.Wait(11, 2*time.Second)
	var sawLong bool
	for _, raw := range long {
		if strings.Contains(raw, "]: Proxy ") {
			continue
		}
		checkAccessLineLen(t, raw, 4096)
		if strings.Contains(raw, "aaaa") {
			sawLong = true
			req := raw[strings.IndexByte(raw, '"')+1 : len(raw)-2]
			if len(req) != 1023 {
				t.Errorf("request line of %d bytes, want it cut at 1023: %q", len(req), raw)
			}
		}
	}
	if !sawLong {
		t.Errorf("no long-URI line among %d lines on the len 4096 target", len(long))
	}
	if *update && !t.Failed() {
		// Sorted by content so reruns give small diffs.
		sort.Strings(access)
		sort.Strings(notices)
		out := strings.Join(access, "") + strings.Join(notices, "")
		if err := os.WriteFile(goldenFile, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		sort.Strings(long)
		if err := os.WriteFile(goldenLongFile, []byte(strings.Join(long, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func serveTCP(t *testing.T, handle func(net.Conn)) string {
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
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

func serveHTTP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "hello from the backend\n")
	})}
	t.Cleanup(func() { srv.Close() })
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String()
}

// exchange connects, sends req (if any), half-closes when asked, and
// reads until the proxy closes, bounded to 5 s.
func exchange(t *testing.T, addr, req string, halfClose bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if req != "" {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	if halfClose {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	_, _ = io.Copy(io.Discard, c)
}
