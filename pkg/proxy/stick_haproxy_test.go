package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
)

// stickConfig is the rate-limit configuration of the stick table suite:
// the pattern the README documents (deny with 429 past 100 requests per
// 10 s), with counters shown by an lf-string return.
func stickConfig(port int, backend, extraGlobal string) string {
	return fmt.Sprintf(`global
    maxconn 100
%s
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 30s store conn_cnt,conn_cur,gpc0,gpc0_rate(10s),http_req_cnt,http_req_rate(10s),http_err_cnt,http_err_rate(10s),bytes_out_cnt
    tcp-request connection track-sc1 src table be
    http-request track-sc0 src
    http-request sc-inc-gpc0(0) if { path_beg /inc }
    http-request sc-set-gpt0(1) 7 if { path /gpt }
    http-request set-var(txn.inc) str(1) if { path /incres }
    http-response sc-inc-gpc0(0) if { var(txn.inc) -m found }
    http-request return status 200 content-type text/plain lf-string "cnt=%%[sc_http_req_cnt(0)] rate=%%[sc_http_req_rate(0)] gpc0=%%[sc_get_gpc0(0)] gpc0r=%%[sc0_gpc0_rate] err=%%[sc_http_err_cnt(0)] src=%%[src_http_req_cnt] conn=%%[sc0_conn_cnt]/%%[sc0_conn_cur] sc1=%%[sc1_conn_cnt]/%%[sc1_conn_cur]/%%[sc1_http_req_cnt]/%%[sc1_get_gpt0] tracked=%%[sc_tracked(0)],%%[sc2_tracked] tab=%%[src,table_http_req_cnt(fe)]/%%[src,in_table(be)]/%%[str(10.9.9.9),table_http_req_cnt(fe)]/%%[table_cnt]/%%[table_avl(be)]\n" if { path /info }
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }
    default_backend be
backend be
    stick-table type ip size 10 store conn_cnt,conn_cur,http_req_cnt,gpt0
    server s1 %s
`, extraGlobal, port, backend)
}

// stickSuite runs the same requests against a proxy: it returns what a
// user sees (every status in order, the counter pages).
func stickSuite(t *testing.T, addr string, settle func()) []string {
	t.Helper()
	var out []string
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	get := func(path string) (int, string) {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.Close {
			// A denied request may close: the next goes on a new connection.
			c.Close()
			c, err = net.DialTimeout("tcp", addr, deadline)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			br = bufio.NewReader(c)
		}
		return res.StatusCode, string(b)
	}
	_, info := get("/info")
	out = append(out, "info1 "+info)
	for i := 0; i < 3; i++ {
		get("/inc")
	}
	get("/gpt")
	get("/incres") // to the server: the response rule counts it
	_, info = get("/info")
	out = append(out, "info2 "+info)
	var codes []string
	for i := 0; i < 125; i++ {
		code, _ := get("/")
		codes = append(codes, fmt.Sprint(code))
	}
	out = append(out, "codes "+strings.Join(codes, ","))
	_, info = get("/info")
	out = append(out, "info3 "+info)
	// A second connection, once the proxy saw the first one end: the
	// session counter is tracked anew.
	c.Close()
	settle()
	c2, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = c2.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c2, "GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	out = append(out, fmt.Sprintf("info4 %d %s", res.StatusCode, b))
	c2.Close()
	settle()
	return out
}

// maskTable hides what differs between two runs of `show table`: entry
// addresses and the milliseconds left before expiry.
var maskTable = regexp.MustCompile(`0x[0-9a-f]+:|exp=[0-9]+`)

func TestIntegrationStickTableHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	backend := startEchoServer(t, "one")

	sock := filepath.Join(t.TempDir(), "stats.sock")
	hport := haproxytest.FreePort(t)
	haproxytest.Start(t, stickConfig(hport, backend, "    stats socket "+sock+" level admin"))
	haddr := fmt.Sprintf("127.0.0.1:%d", hport)
	haproxytest.WaitBound(t, haddr)
	// Idle: no entry is tracked any more (haproxy releases a stream's
	// counters shortly after its response).
	idle := func(show func(string) string) func() {
		return func() {
			eventually(t, "the connections' counters released", func() bool {
				return !strings.Contains(show("show table fe")+show("show table be"), "use=1")
			})
		}
	}
	hap := stickSuite(t, haddr, idle(func(cmd string) string { return stickCLI(t, sock, cmd) }))
	var hapTables []string
	cmds := []string{"show table", "show table fe", "show table be", "show table fe data.http_req_cnt gt 5",
		"show table fe data.gpc0 eq 1", "show table fe key 127.0.0.1", "show table fe key 10.0.0.1", "show table nope",
		"show table fe data.foo gt 1", "show table fe data.gpt0 gt 1", "set table be key 10.1.2.3 data.gpt0 42 data.http_req_cnt 5",
		"show table be", "clear table be key 10.1.2.3", "show table be", "clear table fe key 127.0.0.1", "set table fe key 10.0.0.9 data.nope 1",
		"set table be key 10.0.0.8 data.conn_cur x", "clear table fe"}
	for _, cmd := range cmds {
		hapTables = append(hapTables, stickCLI(t, sock, cmd))
	}

	ln, bind := listen(t)
	cfg, diags, err := haproxycfg.Parse("stick.cfg", []byte(stickConfig(bind.Port, backend, "")), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	e, _ := run(t, cfg, ln)
	set := e.StickTables()
	got := stickSuite(t, bind.Address(), idle(func(cmd string) string { return set.Show(strings.Fields(cmd)[2:], true) }))
	for i := range hap {
		if hap[i] != got[i] {
			t.Errorf("differs from haproxy:\nhaproxy: %s\ngproxy:  %s", hap[i], got[i])
		}
	}
	if !strings.Contains(hap[2], strings.Repeat("200,", 90)+"429") {
		t.Errorf("haproxy did not rate-limit as expected: %s", hap[2])
	}

	for i, cmd := range cmds {
		w := strings.Fields(cmd)
		var out string
		switch w[0] {
		case "show":
			out = set.Show(w[2:], true)
		case "clear":
			out = set.Clear(w[2:], true)
		default:
			out = set.SetEntry(w[2:], true)
		}
		want := hapTables[i]
		if maskTable.ReplaceAllString(out, "X") != maskTable.ReplaceAllString(want, "X") {
			t.Errorf("%s:\nhaproxy:\n%s\ngproxy:\n%s", cmd, want, out)
		}
	}
}

// stickCLI runs one command on haproxy's stats socket and returns its
// answer without the empty line that ends it.
func stickCLI(t *testing.T, sock, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	fmt.Fprintf(c, "%s\n", cmd)
	b, _ := io.ReadAll(c)
	return strings.TrimSuffix(string(b), "\n")
}

// stickPersistConfig is stick persistence: `stick on` a URL parameter in
// mode http, `stick match` + `stick store-request` on the client address
// in mode tcp, with a non-stick server.
func stickPersistConfig(hport, tport int, b1, b2, b3, extraGlobal string) string {
	return fmt.Sprintf(`global
    maxconn 100
%s
defaults
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen web
    mode http
    bind 127.0.0.1:%d
    balance roundrobin
    stick-table type string len 8 size 1k expire 1m
    stick on urlp(client) if { urlp(client) -m found }
    server s1 %s
    server s2 %s
    server s3 %s non-stick
listen tcp
    mode tcp
    bind 127.0.0.1:%d
    balance roundrobin
    stick-table type ip size 10
    stick match src
    stick store-request src if { always_true }
    server t1 %s
    server t2 %s
`, extraGlobal, hport, b1, b2, b3, tport, b1, b2)
}

// persistSuite sends the same requests through a proxy and returns the
// server that answered each.
func persistSuite(t *testing.T, haddr, taddr string) []string {
	t.Helper()
	var out []string
	for _, client := range []string{"a", "b", "c", "a", "b", "c", "toolongvalue", "d", "a", "", "c"} {
		target := "/"
		if client != "" {
			target += "?client=" + client
		}
		c, err := net.DialTimeout("tcp", haddr, deadline)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(deadline))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
		b, _ := io.ReadAll(c)
		c.Close()
		_, body, _ := strings.Cut(string(b), "\r\n\r\n")
		first, _, _ := strings.Cut(body, "\n")
		out = append(out, target+" -> "+first)
	}
	for i := 0; i < 3; i++ {
		c, err := net.DialTimeout("tcp", taddr, deadline)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(deadline))
		// The echo server keeps the connection: read one response.
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		c.Close()
		first, _, _ := strings.Cut(string(b), "\n")
		out = append(out, fmt.Sprintf("tcp %d -> %s", i, first))
	}
	return out
}

func TestIntegrationStickPersistHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	b1, b2, b3 := startEchoServer(t, "one"), startEchoServer(t, "two"), startEchoServer(t, "three")
	sock := filepath.Join(t.TempDir(), "stats.sock")
	hport, tport := haproxytest.FreePort(t), haproxytest.FreePort(t)
	haproxytest.Start(t, stickPersistConfig(hport, tport, b1, b2, b3, "    stats socket "+sock+" level admin"))
	haddr, htaddr := fmt.Sprintf("127.0.0.1:%d", hport), fmt.Sprintf("127.0.0.1:%d", tport)
	haproxytest.WaitBound(t, haddr)
	haproxytest.WaitBound(t, htaddr)
	hap := persistSuite(t, haddr, htaddr)
	hapWeb, hapTCP := stickCLI(t, sock, "show table web"), stickCLI(t, sock, "show table tcp")

	ln1, bind1 := listen(t)
	ln2, bind2 := listen(t)
	cfg, diags, err := haproxycfg.Parse("persist.cfg", []byte(stickPersistConfig(bind1.Port, bind2.Port, b1, b2, b3, "")), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	e, _ := run(t, cfg, ln1, ln2)
	got := persistSuite(t, bind1.Address(), bind2.Address())
	for i := range hap {
		if hap[i] != got[i] {
			t.Errorf("differs from haproxy:\nhaproxy: %s\ngproxy:  %s", hap[i], got[i])
		}
	}
	if hap[3] != "/?client=a -> backend one" || hap[12] != "tcp 1 -> backend one" {
		t.Errorf("haproxy did not stick as expected: %q", hap)
	}
	t.Logf("haproxy: %q\n%s\n%s", hap, hapWeb, hapTCP)
	set := e.StickTables()
	for _, c := range []struct{ name, want string }{{"web", hapWeb}, {"tcp", hapTCP}} {
		got := set.Show([]string{c.name}, true)
		if maskTable.ReplaceAllString(got, "X") != maskTable.ReplaceAllString(c.want, "X") {
			t.Errorf("show table %s:\nhaproxy:\n%s\ngproxy:\n%s", c.name, c.want, got)
		}
	}
}

// stickTCPConfig is connection rate limiting in mode tcp: tracked at the
// connection level, rejected past 3 connections per 10 s.
func stickTCPConfig(port int, backend, extraGlobal string) string {
	return fmt.Sprintf(`global
    maxconn 100
%s
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen tcp
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 1m store conn_cnt,conn_cur,conn_rate(10s),sess_cnt,sess_rate(10s),bytes_in_cnt,bytes_out_cnt,gpc0
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc0_conn_rate gt 3 }
    tcp-request session sc-inc-gpc0(0)
    tcp-request inspect-delay 2s
    tcp-request content sc-inc-gpc0(0) if { req.len gt 0 }
    tcp-request content accept if { req.len gt 0 }
    server s1 %s
`, extraGlobal, port, backend)
}

// tcpLimitSuite opens connections one after the other: each sends a
// request and reads the answer, or sees the connection rejected.
func tcpLimitSuite(t *testing.T, addr string, settle func()) []string {
	t.Helper()
	var out []string
	for i := 0; i < 5; i++ {
		c, err := net.DialTimeout("tcp", addr, deadline)
		if err != nil {
			// A reset may come before connect() returns.
			out = append(out, fmt.Sprintf("conn %d rejected", i))
			settle()
			continue
		}
		_ = c.SetDeadline(time.Now().Add(deadline))
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			out = append(out, fmt.Sprintf("conn %d rejected", i))
		} else {
			b, _ := io.ReadAll(res.Body)
			first, _, _ := strings.Cut(string(b), "\n")
			out = append(out, fmt.Sprintf("conn %d -> %s", i, first))
		}
		c.Close()
		settle()
	}
	return out
}

func TestIntegrationStickTCPHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	backend := startEchoServer(t, "one")
	sock := filepath.Join(t.TempDir(), "stats.sock")
	hport := haproxytest.FreePort(t)
	haproxytest.Start(t, stickTCPConfig(hport, backend, "    stats socket "+sock+" level admin"))
	haddr := fmt.Sprintf("127.0.0.1:%d", hport)
	haproxytest.WaitBound(t, haddr)
	idle := func(show func() string) func() {
		return func() {
			eventually(t, "the connection's counters released", func() bool { return !strings.Contains(show(), "use=1") })
		}
	}
	hap := tcpLimitSuite(t, haddr, idle(func() string { return stickCLI(t, sock, "show table tcp") }))
	hapTable := stickCLI(t, sock, "show table tcp")

	ln, bind := listen(t)
	cfg, diags, err := haproxycfg.Parse("tcp.cfg", []byte(stickTCPConfig(bind.Port, backend, "")), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	e, _ := run(t, cfg, ln)
	set := e.StickTables()
	got := tcpLimitSuite(t, bind.Address(), idle(func() string { return set.Show([]string{"tcp"}, true) }))
	for i := range hap {
		if hap[i] != got[i] {
			t.Errorf("differs from haproxy:\nhaproxy: %s\ngproxy:  %s", hap[i], got[i])
		}
	}
	if hap[3] != "conn 3 rejected" {
		t.Errorf("haproxy did not limit as expected: %q", hap)
	}
	t.Logf("haproxy: %q\n%s", hap, hapTable)
	if gt := set.Show([]string{"tcp"}, true); maskTable.ReplaceAllString(gt, "X") != maskTable.ReplaceAllString(hapTable, "X") {
		t.Errorf("show table tcp:\nhaproxy:\n%s\ngproxy:\n%s", hapTable, gt)
	}
}
