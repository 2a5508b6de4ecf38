package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/syslog/syslogtest"
)

// cookieCases are backends with a `cookie` line each, over three servers
// with cookies c1, c2, c3 (balance uri, so that both proxies balance the
// same way when no cookie decides).
var cookieCases = []struct{ name, line string }{
	{"ins", "cookie SRV insert indirect nocache httponly secure domain .example.com attr SameSite=Lax"},
	{"insplain", "cookie SRV insert"},
	{"inspost", "cookie SRV insert postonly preserve"},
	{"pfx", "cookie SRV prefix"},
	{"rw", "cookie SRV rewrite"},
	{"passive", "cookie SRV"},
	// s4 refuses connections: its cookie goes there, and a redispatch
	// on the last retry moves the request on; option persist keeps a
	// cookie on s2 while it is in maintenance.
	{"persist", "cookie SRV insert indirect\n    option persist\n    option redispatch\n    retries 2\n    timeout connect 20ms\n    server s4 {dead} cookie c4"},
	{"redisp", "cookie SRV insert indirect\n    option redispatch\n    retries 2\n    timeout connect 20ms\n    server s4 {dead} cookie c4"},
	{"dated", "cookie SRV insert indirect maxidle 30m maxlife 2h"},
	{"idle", "cookie SRV insert maxidle 600"},
}

// cookieRequests are sent in order to every case: the method, target and
// Cookie header ("" for none).
var cookieRequests = []struct{ method, target, cookie string }{
	{"GET", "/a", ""},
	{"GET", "/a", "SRV=c2"},
	{"GET", "/a", "a=1; SRV=c2; b=2"},
	{"GET", "/a", "SRV=c3;b=2"},
	{"GET", "/a", "a=1;  SRV=c1"},
	{"GET", "/a", "SRV=zz"},
	{"GET", "/a", "SRV="},
	{"GET", "/a", "SRV = c2 ; x"},
	{"GET", "/a", "SRV=c1; SRV=c3"},
	{"GET", "/a?set=v1", ""},
	{"GET", "/a?set=v1", "SRV=c3"},
	{"GET", "/a?cc=public", ""},
	{"GET", "/a?cc=max-age=60", ""},
	{"GET", "/a?cc=public,max-age=0", ""},
	{"GET", "/a?cc=private,max-age=60", ""},
	{"GET", "/a?cc=no-cache=%22set-cookie%22,s-maxage=5", ""},
	{"GET", "/a?etag=1", ""},
	{"POST", "/a?cc=public,max-age=9", ""},
	{"GET", "/b?status=500&cc=max-age=9", ""},
	{"HEAD", "/a", ""},
	{"POST", "/a", ""},
	{"POST", "/a", "SRV=c2"},
	{"GET", "/b", "SRV=c2~app7; z=9"},
	{"GET", "/b?set=app8", "SRV=c1~app7"},
	{"GET", "/b?status=302", ""},
	{"GET", "/b?status=500", ""},
	{"GET", "/a", "SRV=c4"},
	{"GET", "/c", "x=1; SRV=c4"},
	// Dated cookies: {T-N} is the date N seconds ago in haproxy's format.
	{"GET", "/a", "SRV=c2|{T-0}|{T-60}"},
	{"GET", "/a", "SRV=c2|{T-3600}|{T-60}"},
	{"GET", "/a", "SRV=c2|{T-0}|{T-10000}"},
	{"GET", "/a", "SRV=c2|{T--200000}|{T-60}"},
	{"GET", "/a", "SRV=c2|{T-0}"},
	{"GET", "/a", "SRV=c3|{T-700}"},
	{"GET", "/a", "SRV=c3|zz"},
}

func cookieConfig(ports map[string]int, servers []string, dead string, sock string, logPort int) string {
	var b strings.Builder
	b.WriteString("global\n    maxconn 1000\n")
	if sock != "" {
		fmt.Fprintf(&b, "    stats socket %s level admin\n", sock)
	}
	if logPort != 0 {
		fmt.Fprintf(&b, "    log 127.0.0.1:%d local0\n", logPort)
	}
	b.WriteString("defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n")
	for _, c := range cookieCases {
		fmt.Fprintf(&b, "listen %s\n    bind 127.0.0.1:%d\n    balance uri\n    %s\n", c.name, ports[c.name], strings.ReplaceAll(c.line, "{dead}", dead))
		for i, s := range servers {
			fmt.Fprintf(&b, "    server s%d %s cookie c%d\n", i+1, s, i+1)
		}
	}
	return b.String()
}

// TestIntegrationCookieMatchesHaproxy sends the same requests, with and
// without persistence cookies, through haproxy 2.6 and gproxy for each
// cookie mode, and compares what the client gets (status, every response
// header but Date, in order: Set-Cookie and Cache-control included), what
// the server got (its Cookie header, which server) and the log's %tsc;
// then again with server s2 in maintenance (its cookie then picks another
// server and the log says 'D').
func TestIntegrationCookieMatchesHaproxy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if !inOwnNet(t) {
		return
	}
	var servers []string
	for i := 1; i <= 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("s%d", i)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Server", name)
			w.Header().Set("X-Cookie", strings.Join(r.Header["Cookie"], " | "))
			q := r.URL.Query()
			if v := q.Get("set"); v != "" {
				w.Header().Add("Set-Cookie", "SRV="+v+"; path=/app")
				w.Header().Add("Set-Cookie", "other=1")
			}
			if v := q.Get("cc"); v != "" {
				w.Header().Set("Cache-Control", v)
			}
			if q.Get("etag") != "" {
				w.Header().Set("ETag", `"x"`)
			}
			code := 200
			if q.Get("status") == "302" {
				code = 302
			} else if q.Get("status") == "500" {
				code = 500
			}
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(code)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		servers = append(servers, ln.Addr().String())
	}
	hPorts, gPorts := map[string]int{}, map[string]int{}
	for _, c := range cookieCases {
		hPorts[c.name] = haproxytest.FreePort(t)
		gPorts[c.name] = haproxytest.FreePort(t)
	}
	sink := syslogtest.NewSink(t)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	dead := fmt.Sprintf("127.0.0.1:%d", deadPort(t))
	haproxytest.Start(t, cookieConfig(hPorts, servers, dead, sock, sink.Port()))
	cfg, diags, err := haproxycfg.Parse("ck.cfg", []byte(cookieConfig(gPorts, servers, dead, "", sink.Port())), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("gproxy refuses the configuration: %v %v", err, diags)
	}
	var mu sync.Mutex
	var glog []string
	e, err := New(cfg, Options{Logger: zerolog.Nop(), SessionLog: func(_ *haproxycfg.Proxy, s accesslog.Session) {
		mu.Lock()
		glog = append(glog, accesslog.HTTPLog(s))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bind(); err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	for _, c := range cookieCases {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", hPorts[c.name]))
	}
	tsc := regexp.MustCompile(` ([-A-Za-z]{4}) \d+/\d+/\d+/\d+/\+?\d+ .*[?&]rq=(\d+) `)
	// flags are the %tsc of each numbered request, and its log line.
	flags := func(lines []string) (map[string]string, map[string]string) {
		out, line := map[string]string{}, map[string]string{}
		for _, l := range lines {
			if m := tsc.FindStringSubmatch(l); m != nil {
				out[m[2]], line[m[2]] = m[1], l
			}
		}
		return out, line
	}
	sent := 0
	run := func(phase string) {
		for _, c := range cookieCases {
			for i, r := range cookieRequests {
				// rq= numbers the request for the logs (haproxy's may
				// arrive out of order); uri hashing stops at the '?'.
				sep := "?"
				if strings.Contains(r.target, "?") {
					sep = "&"
				}
				target := fmt.Sprintf("%s%srq=%d", r.target, sep, sent)
				cookie := datedCookie(r.cookie, time.Now())
				h := cookieExchange(t, hPorts[c.name], r.method, target, cookie)
				g := cookieExchange(t, gPorts[c.name], r.method, target, cookie)
				// The date a proxy writes is its own now: compared apart.
				h, g = undate(t, h), undate(t, g)
				sent++
				if h != g {
					t.Errorf("%s %s request %d (%s %s, Cookie %q):\nhaproxy:\n%s\ngproxy:\n%s", c.name, phase, i, r.method, r.target, r.cookie, h, g)
				}
			}
		}
	}
	run("all up")
	for _, c := range cookieCases {
		haproxyCLI(t, sock, fmt.Sprintf("disable server %s/s2", c.name))
		e.Backend(c.name).Server("s2").SetAdminState(AdminMaint)
	}
	run("s2 down")

	var hlog []string
	for _, raw := range sink.Wait(sent, 10*time.Second) {
		d, err := syslogtest.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(d.Msg, "Proxy ") && !strings.HasPrefix(d.Msg, "Server ") {
			hlog = append(hlog, d.Msg)
		}
	}
	mu.Lock()
	hf, hl := flags(hlog)
	gf, gl := flags(glog)
	mu.Unlock()
	if len(hf) != sent || len(gf) != sent {
		t.Fatalf("%d requests: haproxy logged %d, gproxy %d", sent, len(hf), len(gf))
	}
	for k, h := range hf {
		if gf[k] != h {
			t.Errorf("request rq=%s: haproxy %%tsc %s, gproxy %s\n  haproxy: %s\n  gproxy:  %s", k, h, gf[k], hl[k], gl[k])
		}
	}
}

// cookieExchange sends one request and returns the response head without
// its Date line.
func cookieExchange(t *testing.T, port int, method, target, cookie string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: test\r\n", method, target)
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	if method == "POST" {
		req += "Content-Length: 0\r\n"
	}
	req += "Connection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var lines []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%s %s: %v after %q", method, target, err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		if !strings.HasPrefix(strings.ToLower(l), "date:") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

var datePlaceholder = regexp.MustCompile(`\{T-(-?\d+)\}`)

// datedCookie replaces each {T-N} of v with the date N seconds before now
// in haproxy's cookie format (seconds/4 in 5 base64 digits).
func datedCookie(v string, now time.Time) string {
	return datePlaceholder.ReplaceAllStringFunc(v, func(m string) string {
		n, _ := strconv.Atoi(datePlaceholder.FindStringSubmatch(m)[1])
		return s30tob64((now.Unix() - int64(n)) >> 2)
	})
}

var setCookieDate = regexp.MustCompile(`(set-cookie: [^|;]*)((?:\|[A-Za-z0-9+/]{5})+)`)

// undate checks that the dates a Set-Cookie carries are now (within 8 s,
// in 4-second units) and replaces them with NOW; a date taken from the
// request stays as it is.
func undate(t *testing.T, head string) string {
	t.Helper()
	return setCookieDate.ReplaceAllStringFunc(head, func(m string) string {
		sub := setCookieDate.FindStringSubmatch(m)
		out := sub[1]
		for _, d := range strings.Split(sub[2], "|")[1:] {
			v := int64(b64tos30([]byte(d))) << 2
			if diff := v - time.Now().Unix(); diff >= -8 && diff <= 8 {
				out += "|NOW"
			} else {
				out += "|" + d
			}
		}
		return out
	})
}
