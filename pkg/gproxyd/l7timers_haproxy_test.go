package gproxyd_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// namedServers starts HTTP servers that answer with their name in
// X-Server.
func namedServers(t *testing.T, names ...string) []string {
	t.Helper()
	var addrs []string
	for _, n := range names {
		ln, err := net.Listen("tcp", porttest.FreeAddr(t))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Server", n)
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "ok\n")
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// startPair runs cfg (a format with %[1]s for the stats socket and
// %[N]d for the ports of names, N = 2...) in haproxy and in gproxy and
// returns, for "hp" and "gp", the ports by name, the stdout lines and
// the stats socket.
func startPair(t *testing.T, names []string, cfg func(sock string, ports map[string]int) string) (map[string]map[string]int, map[string]*lineBuf, map[string]string) {
	t.Helper()
	ports := map[string]map[string]int{}
	outs := map[string]*lineBuf{}
	socks := map[string]string{}
	dir := t.TempDir()
	for _, n := range []string{"hp", "gp"} {
		ports[n] = map[string]int{}
		var list []int
		for _, name := range names {
			ports[n][name] = porttest.Free(t)
			list = append(list, ports[n][name])
		}
		bin := haproxytest.Bin
		if n == "gp" {
			bin = gproxyBin
		}
		socks[n] = filepath.Join(dir, n+".sock")
		outs[n], _, _ = startDB(t, bin, cfg(socks[n], ports[n]), list...)
	}
	return ports, outs, socks
}

// keepAliveFronts are the frontends of the idle keep-alive test: the
// idle time allowed between two requests is `timeout http-keep-alive`,
// else `timeout http-request`, else `timeout client`.
var keepAliveFronts = []struct{ name, lines string }{
	{"ka", "timeout http-keep-alive 300ms"},
	{"kahr", "timeout http-request 300ms"},
	{"kacli", "timeout client 300ms"},
	{"kalong", "timeout http-keep-alive 6s\n    timeout client 300ms"},
	{"kaboth", "timeout http-keep-alive 300ms\n    timeout http-request 6s"},
	{"kaclose", "timeout http-keep-alive 300ms\n    option http-server-close"},
	// "first" frontends: the client sends nothing at all.
	{"firstcli", "timeout http-request 6s\n    timeout client 300ms"},
	{"firsthr", "timeout http-request 300ms"},
}

// idleAfterResponse sends one keep-alive request, reads the response,
// then waits at most 4 s for the proxy to close the idle connection: it
// returns the status line and what the client saw then.
func idleAfterResponse(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /idle HTTP/1.1\r\nHost: t\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "no response: " + err.Error()
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetReadDeadline(time.Now().Add(4 * time.Second))
	rest, err := io.ReadAll(br)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("%s, still open after 4 s (%q)", resp.Status, rest)
	case err != nil:
		return fmt.Sprintf("%s, then %q and %v", resp.Status, rest, err)
	}
	return fmt.Sprintf("%s, then %q and a close", resp.Status, rest)
}

// idleFirst connects, sends nothing and returns what the proxy sent in at
// most 4 s, and whether it closed.
func idleFirst(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(4 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("%q, still open after 4 s", b)
	}
	return fmt.Sprintf("%q, then %v", b, err)
}

// TestIntegrationKeepAliveTimeoutHaproxy: an idle keep-alive client is
// closed by the timeout haproxy 2.6.12 applies, silently, and logged
// once; gproxy must do the same.
func TestIntegrationKeepAliveTimeoutHaproxy(t *testing.T) {
	srv := namedServers(t, "s1")[0]
	var names []string
	for _, f := range keepAliveFronts {
		names = append(names, f.name)
	}
	ports, outs, _ := startPair(t, names, func(sock string, ports map[string]int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `global
    stats socket %s level admin
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%%ft %%b/%%s %%ST %%B %%tsc %%{+Q}r"
    timeout client 6s
    timeout server 5s
    timeout connect 1s
`, sock)
		for _, f := range keepAliveFronts {
			fmt.Fprintf(&b, "frontend %s\n    bind 127.0.0.1:%d\n    %s\n    default_backend be\n", f.name, ports[f.name], f.lines)
		}
		fmt.Fprintf(&b, "backend be\n    server s1 %s\n", srv)
		return b.String()
	})
	got := map[string]map[string]string{"hp": {}, "gp": {}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, n := range []string{"hp", "gp"} {
		for _, f := range keepAliveFronts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r string
				if strings.HasPrefix(f.name, "first") {
					r = idleFirst(t, ports[n][f.name])
				} else {
					r = idleAfterResponse(t, ports[n][f.name])
				}
				mu.Lock()
				got[n][f.name] = r
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for _, f := range keepAliveFronts {
		if got["hp"][f.name] != got["gp"][f.name] {
			t.Errorf("%s (%s):\nhaproxy: %s\ngproxy:  %s", f.name, f.lines, got["hp"][f.name], got["gp"][f.name])
		}
	}
	for name, want := range map[string]string{"ka": "200 OK, then \"\" and a close", "kalong": "200 OK, then \"\" and a close",
		"kahr": "200 OK, then \"\" and a close", "firstcli": "HTTP/1.1 408", "firsthr": "HTTP/1.1 408"} {
		if !strings.Contains(got["hp"][name], want) {
			t.Errorf("%s: haproxy: %s, want %s", name, got["hp"][name], want)
		}
	}
	logs := map[string][]string{}
	for _, n := range []string{"hp", "gp"} {
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			logs[n] = logs[n][:0]
			for _, l := range outs[n].lines() {
				if strings.Contains(l, "/idle") || strings.Contains(l, "BADREQ") || strings.HasPrefix(l, "first") {
					logs[n] = append(logs[n], l)
				}
			}
			if len(logs[n]) >= len(keepAliveFronts) || time.Now().After(end) {
				break
			}
		}
		// Give a late line (a 408 logged at the close) its chance.
		time.Sleep(300 * time.Millisecond)
		logs[n] = logs[n][:0]
		for _, l := range outs[n].lines() {
			if strings.Contains(l, "/idle") || strings.Contains(l, "BADREQ") || strings.HasPrefix(l, "first") {
				logs[n] = append(logs[n], l)
			}
		}
		sort.Strings(logs[n])
	}
	if strings.Join(logs["hp"], "\n") != strings.Join(logs["gp"], "\n") {
		t.Errorf("logs differ\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(logs["hp"], "\n"), strings.Join(logs["gp"], "\n"))
	}
}

// TestIntegrationBalanceRandomHaproxy: `balance random` draws at random,
// so the draws are not compared; what is compared is the set of servers
// taken (weights respected, a disabled or weight 0 server never taken)
// over 200 requests through each proxy.
func TestIntegrationBalanceRandomHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy: %v", err)
	}
	srv := namedServers(t, "s1", "s2", "s3", "s4", "s5")
	backs := []string{"rnd", "rnd2", "rnd3"}
	ports, _, _ := startPair(t, backs, func(sock string, ports map[string]int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `global
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
`, sock)
		for _, name := range backs {
			algo := map[string]string{"rnd": "random", "rnd2": "random(2)", "rnd3": "random(3)"}[name]
			fmt.Fprintf(&b, "listen %s\n    bind 127.0.0.1:%d\n    balance %s\n", name, ports[name], algo)
			fmt.Fprintf(&b, "    server s1 %s weight 10\n    server s2 %s weight 10\n    server s3 %s weight 30\n", srv[0], srv[1], srv[2])
			fmt.Fprintf(&b, "    server s4 %s disabled\n    server s5 %s weight 0\n", srv[3], srv[4])
		}
		return b.String()
	})
	const n = 200
	for _, name := range backs {
		counts := map[string]map[string]int{}
		for _, p := range []string{"hp", "gp"} {
			counts[p] = map[string]int{}
			for i := 0; i < n; i++ {
				counts[p][serverOf(t, ports[p][name])]++
			}
		}
		for _, p := range []string{"hp", "gp"} {
			c := counts[p]
			var set []string
			for s := range c {
				set = append(set, s)
			}
			sort.Strings(set)
			if strings.Join(set, ",") != "s1,s2,s3" {
				t.Errorf("%s through %s: servers %v, want s1,s2,s3", name, p, c)
			}
			// Weights 1:1:3 (expected 40, 40, 120 of 200 for plain
			// random): each far from 0, s3 ahead (a 4-sigma margin).
			if name == "rnd" && (c["s1"] < 15 || c["s2"] < 15 || c["s3"] < c["s1"]+20 || c["s3"] < c["s2"]+20) {
				t.Errorf("%s through %s: %v does not follow the weights 1:1:3", name, p, c)
			}
		}
		t.Logf("%s: haproxy %v, gproxy %v", name, counts["hp"], counts["gp"])
	}
}

// serverOf sends one request and returns the X-Server of the answer.
func serverOf(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.Status
	}
	return resp.Header.Get("X-Server")
}

// replyRules are the frontends of the early reply test: rules that
// answer without the request's body.
var replyRules = []struct{ name, lines string }{
	{"ret", "http-request return status 200 content-type text/plain string hello"},
	{"deny", "http-request deny"},
	{"denyst", "http-request deny deny_status 429 content-type text/plain string slow"},
	{"auth", "http-request auth realm R"},
	{"redir", "http-request redirect location /x"},
}

// earlyExchange sends a POST head and part (or all) of its body, reads
// the reply, then sends the rest and a second request and returns what
// the client saw.
func earlyExchange(t *testing.T, port int, whole bool) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := "abc"
	if whole {
		body = "abcdefghij"
	}
	fmt.Fprintf(c, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n%s", body)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "no reply within 3 s: " + err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	var hdr []string
	for k, v := range resp.Header {
		hdr = append(hdr, k+": "+strings.Join(v, ","))
	}
	sort.Strings(hdr)
	if resp.Close {
		hdr = append(hdr, "(connection: close)")
	}
	out := fmt.Sprintf("%s %v %q", resp.Status, hdr, b)
	if !whole {
		_, _ = io.WriteString(c, "defghij")
	}
	_, _ = io.WriteString(c, "GET /second HTTP/1.1\r\nHost: t\r\n\r\n")
	if r2, err := http.ReadResponse(br, nil); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			out += ", then nothing in 3 s"
		} else {
			out += ", then no second reply"
		}
	} else {
		out += ", then " + r2.Status
		r2.Body.Close()
	}
	return out
}

// TestIntegrationReplyBeforeBodyHaproxy: haproxy answers a deny,
// return, auth or redirect at once, without waiting for the body; when
// the body had not all arrived it closes after the reply, else the
// connection goes on.
func TestIntegrationReplyBeforeBodyHaproxy(t *testing.T) {
	srv := namedServers(t, "s1")[0]
	var names []string
	for _, f := range replyRules {
		names = append(names, f.name)
	}
	ports, outs, _ := startPair(t, names, func(sock string, ports map[string]int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `global
    stats socket %s level admin
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%%ft %%b/%%s %%ST %%B %%tsc %%{+Q}r"
    timeout client 6s
    timeout server 5s
    timeout connect 1s
`, sock)
		for _, f := range replyRules {
			fmt.Fprintf(&b, "frontend %s\n    bind 127.0.0.1:%d\n    %s if { path /p }\n    default_backend be\n", f.name, ports[f.name], f.lines)
		}
		fmt.Fprintf(&b, "backend be\n    server s1 %s\n", srv)
		return b.String()
	})
	got := map[string][]string{}
	for _, n := range []string{"hp", "gp"} {
		for _, f := range replyRules {
			for _, whole := range []bool{false, true} {
				got[n] = append(got[n], fmt.Sprintf("%s whole=%v: %s", f.name, whole, earlyExchange(t, ports[n][f.name], whole)))
			}
		}
	}
	for i := range got["hp"] {
		if got["hp"][i] != got["gp"][i] {
			t.Errorf("haproxy: %s\ngproxy:  %s", got["hp"][i], got["gp"][i])
		}
	}
	for _, want := range []string{`ret whole=false: 200 OK [Content-Length: 5 Content-Type: text/plain (connection: close)] "hello", then no second reply`,
		`ret whole=true: 200 OK [Content-Length: 5 Content-Type: text/plain] "hello", then 200 OK`} {
		found := false
		for _, h := range got["hp"] {
			found = found || h == want
		}
		if !found {
			t.Errorf("haproxy's exchanges lack %q:\n%s", want, strings.Join(got["hp"], "\n"))
		}
	}
	logs := map[string][]string{}
	for _, n := range []string{"hp", "gp"} {
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			logs[n] = logs[n][:0]
			for _, l := range outs[n].lines() {
				if strings.Contains(l, "HTTP/1.1") {
					logs[n] = append(logs[n], l)
				}
			}
			if len(logs[n]) >= len(got[n])+strings.Count(strings.Join(got[n], "\n"), "then 200 OK") || time.Now().After(end) {
				break
			}
		}
		sort.Strings(logs[n])
	}
	if strings.Join(logs["hp"], "\n") != strings.Join(logs["gp"], "\n") {
		t.Errorf("logs differ\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(logs["hp"], "\n"), strings.Join(logs["gp"], "\n"))
	}
}

// closeDelimitedServer answers every request with a response whose body
// ends with the close (no Content-Length, no chunking).
func closeDelimitedServer(t *testing.T) string {
	t.Helper()
	ln := haproxytest.Serve(t, 10*time.Second, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if l == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world, close-delimited\n")
	})
	return ln.Addr().String()
}

// TestIntegrationCloseDelimitedHaproxy: a server response delimited by
// its close reaches an HTTP/1.1 client as it came, with "connection:
// close", the client's connection closing after it (haproxy 2.6.12);
// compressed, it is chunked.
func TestIntegrationCloseDelimitedHaproxy(t *testing.T) {
	srv := closeDelimitedServer(t)
	names := []string{"plain", "gzip"}
	ports, _, _ := startPair(t, names, func(sock string, ports map[string]int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend plain
    bind 127.0.0.1:%d
    default_backend be
frontend gzip
    bind 127.0.0.1:%d
    compression algo gzip
    compression type text/plain
    default_backend be
backend be
    server s1 %s
`, sock, ports["plain"], ports["gzip"], srv)
	})
	reqs := map[string]string{
		"keepalive": "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n",
		"http10":    "GET / HTTP/1.0\r\n\r\n",
		"head":      "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n",
		"gzip":      "GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
	}
	for _, name := range names {
		for rn, raw := range reqs {
			got := map[string]string{}
			for _, p := range []string{"hp", "gp"} {
				c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[p][name]), 2*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				io.WriteString(c, raw)
				b, err := io.ReadAll(c)
				c.Close()
				end := "closed"
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					end = "still open after 3 s"
				} else if err != nil {
					end = "error"
				}
				got[p] = fmt.Sprintf("%q (%s)", b, end)
			}
			if got["hp"] != got["gp"] {
				t.Errorf("%s/%s:\nhaproxy: %s\ngproxy:  %s", name, rn, got["hp"], got["gp"])
			}
			if name == "plain" && rn == "keepalive" && !strings.Contains(got["hp"], `connection: close\r\n\r\nhello world, close-delimited\n" (closed)`) {
				t.Errorf("haproxy: %s, want the body as it came, then a close", got["hp"])
			}
		}
	}
}

// TestIntegrationH2BytesInHaproxy: %U and the frontend's bin of HTTP/2
// requests (curl, prior knowledge) count what haproxy 2.6.12 counts: the
// request in HTX form (absolute URI, "HTTP/2.0", host from :authority,
// cookies joined, body data), not its HTTP/1 form.
func TestIntegrationH2BytesInHaproxy(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("needs curl: %v", err)
	}
	srv := namedServers(t, "s1")[0]
	ports, outs, socks := startPair(t, []string{"fe"}, func(sock string, ports map[string]int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%%ST %%B %%U %%{+Q}r"
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s
`, sock, ports["fe"], srv)
	})
	curls := [][]string{
		{"/abc"},
		{"-H", "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/abc?x=1"},
		{"-d", "hello=1", "/post"},
		{"-H", "Transfer-Encoding: chunked", "-d", "hello=1", "/chunked"},
		{"-b", "a=1", "-b", "b=2", "/cookies"},
	}
	logs := map[string][]string{}
	for _, p := range []string{"hp", "gp"} {
		for _, args := range curls {
			url := fmt.Sprintf("http://127.0.0.1:%d%s", ports[p]["fe"], args[len(args)-1])
			a := append([]string{"-s", "-o", "/dev/null", "--max-time", "5", "--http2-prior-knowledge"}, args[:len(args)-1]...)
			if out, err := exec.Command("curl", append(a, url)...).CombinedOutput(); err != nil {
				t.Fatalf("curl %v: %v %s", args, err, out)
			}
		}
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			logs[p] = logs[p][:0]
			for _, l := range outs[p].lines() {
				if strings.Contains(l, "HTTP/2.0") {
					logs[p] = append(logs[p], strings.ReplaceAll(l, fmt.Sprint(ports[p]["fe"]), "PORT"))
				}
			}
			if len(logs[p]) >= len(curls) || time.Now().After(end) {
				break
			}
		}
	}
	if strings.Join(logs["hp"], "\n") != strings.Join(logs["gp"], "\n") {
		t.Errorf("logs differ\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(logs["hp"], "\n"), strings.Join(logs["gp"], "\n"))
	}
	if len(logs["hp"]) == 0 || !strings.HasPrefix(logs["hp"][0], "200 132 107 ") {
		t.Errorf("haproxy logged %q, want curl's first GET as 107 bytes in", logs["hp"])
	}
	// Then an HTTP/1 request, and an HTTP/2 one whose content-length
	// lies (a stream protocol error: RST_STREAM).
	for _, p := range []string{"hp", "gp"} {
		url := fmt.Sprintf("http://127.0.0.1:%d", ports[p]["fe"])
		_ = exec.Command("curl", "-s", "-o", "/dev/null", "--max-time", "5", url+"/h1").Run()
		_ = exec.Command("curl", "-s", "-o", "/dev/null", "--max-time", "5", "--http2-prior-knowledge", "-d", "hello=1", "-H", "Content-Length: 3", url+"/bad").Run()
	}
	stats := map[string]map[string]string{}
	for _, p := range []string{"hp", "gp"} {
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			m, busy := parseStat(t, askAll(t, socks[p], "show stat"))
			stats[p] = m
			if !busy && m["fe/FRONTEND.h2_open_connections"] == "0" || time.Now().After(end) {
				break
			}
		}
	}
	var cols []string
	for k := range stats["hp"] {
		if strings.HasPrefix(k, "fe/FRONTEND.h2_") {
			cols = append(cols, k)
		}
	}
	sort.Strings(cols)
	// h1_bytes_in is left out: on a connection that turns out to be
	// HTTP/2, haproxy counts whatever its first read got.
	cols = append(cols, "fe/FRONTEND.bin", "be/BACKEND.bin", "fe/FRONTEND.h1_total_streams", "fe/FRONTEND.h1_total_connections")
	for _, k := range cols {
		if stats["hp"][k] != stats["gp"][k] {
			t.Errorf("%s: haproxy %s, gproxy %s", k, stats["hp"][k], stats["gp"][k])
		}
	}
	if stats["hp"]["fe/FRONTEND.h2_headers_rcvd"] != "6" || stats["hp"]["fe/FRONTEND.h2_detected_strm_protocol_errors"] != "1" {
		t.Errorf("haproxy counted h2_headers_rcvd %s, h2_detected_strm_protocol_errors %s; want 6 and 1",
			stats["hp"]["fe/FRONTEND.h2_headers_rcvd"], stats["hp"]["fe/FRONTEND.h2_detected_strm_protocol_errors"])
	}
	t.Logf("%d columns compared", len(cols))
}

// TestIntegrationH2ServerReuseHaproxy: requests sent as streams over an
// HTTP/2 server connection the session already had count as reuses in
// `show stat` (connect, reuse), as haproxy 2.6.12 counts them; the
// backend's h2_* columns count the server connections' frames.
func TestIntegrationH2ServerReuseHaproxy(t *testing.T) {
	ln, err := net.Listen("tcp", porttest.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	h2s := &http2.Server{}
	srv := &http.Server{Handler: h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		io.WriteString(w, "ok\n")
	}), h2s)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ports, _, socks := startPair(t, []string{"fe"}, func(sock string, ports map[string]int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s proto h2
`, sock, ports["fe"], ln.Addr())
	})
	for _, p := range []string{"hp", "gp"} {
		// Three requests on one client connection, then one alone.
		for _, raw := range []string{"GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\nGET /3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
			"GET /4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"} {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[p]["fe"]), 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, raw)
			b, _ := io.ReadAll(c)
			c.Close()
			if n := strings.Count(string(b), "HTTP/1.1 200"); n != strings.Count(raw, "GET") {
				t.Fatalf("%s: %d answers to %q:\n%s", p, n, raw, b)
			}
		}
	}
	stats := map[string]map[string]string{}
	for _, p := range []string{"hp", "gp"} {
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			m, busy := parseStat(t, askAll(t, socks[p], "show stat"))
			stats[p] = m
			if !busy || time.Now().After(end) {
				break
			}
		}
	}
	keys := []string{"be/s1.connect", "be/s1.reuse", "be/BACKEND.connect", "be/BACKEND.reuse", "be/s1.stot", "be/BACKEND.req_tot"}
	for k := range stats["hp"] {
		// Not h2_open_connections: haproxy keeps the sessions' server
		// connections idle for others (http-reuse safe), gproxy closes
		// them with their session (AUDIT-11, http-reuse).
		if strings.HasPrefix(k, "be/BACKEND.h2_") && k != "be/BACKEND.h2_open_connections" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if stats["hp"][k] != stats["gp"][k] {
			t.Errorf("%s: haproxy %s, gproxy %s", k, stats["hp"][k], stats["gp"][k])
		}
	}
	if stats["hp"]["be/s1.reuse"] == "0" || stats["hp"]["be/s1.reuse"] == "" || stats["hp"]["be/BACKEND.h2_headers_rcvd"] != "4" {
		t.Errorf("haproxy counted reuse %q, h2_headers_rcvd %q; want some and 4", stats["hp"]["be/s1.reuse"], stats["hp"]["be/BACKEND.h2_headers_rcvd"])
	}
	t.Logf("%d columns compared", len(keys))
}
