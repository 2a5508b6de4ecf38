package gproxyd_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// logOptionNormalizers mask what differs between two runs on top of
// accessLogNormalizers: the pid after any tag, in both header formats.
var logOptionNormalizers = []normalizer{
	{regexp.MustCompile(`([a-z]+)\[\d+\]: `), "$1[PID]: "},
	{regexp.MustCompile(`(ISO [a-z]+ [a-z]+) \d+ - - `), "$1 PID - - "},
	// logasap: a failed connect's total time (three 1 s turn-arounds;
	// +3103 seen at load 15).
	{regexp.MustCompile(`\+3\d\d\d\b`), "+30xx"},
	// logasap: a successful connect's time and the total so far (%Tc,
	// +%Tt, and +%Tu in the log-format line), a few ms on a loaded
	// machine.
	{regexp.MustCompile(`( \d+)/\d+/\+\d+ (\+\d+ )\+\d+ `), "$1/N/+N $2+N "},
	{regexp.MustCompile(`( \d+)/\d+/\+\d+ `), "$1/N/+N "},
	// mode http logasap: %TR/%Tw/%Tc/%Tr/+%Ta, and the custom format's
	// times.
	{regexp.MustCompile(` \d+/\d+/\d+/\d+/\+\d+ `), " N/N/N/N/+N "},
	{regexp.MustCompile(` \+\d+ \+\d+ \+\d+( |$)`), " +Ta +Tt +Tu$1"},
	// tcp logasap's %fc: the frontend's previous connection may still
	// be closing when the next one connects (2 on a loaded machine).
	{regexp.MustCompile(` -- \d+/(\d+/\d+)$`), " -- N/$1"},
	// The same in mode http's custom line (%ac/%fc/%bc/%sc): haproxy
	// printed 2/2/1/1 once at load 13 and N/N/2/2 at load 15, the
	// previous request's connections not yet released.
	{regexp.MustCompile(` (\d+ [-A-Za-z]{4}) \d+/\d+/\d+/\d+$`), " $1 N/N/N/N"},
}

// TestIntegrationLogOptionsLikeHaproxy runs haproxy 2.6 and gproxy on one
// configuration using `log-send-hostname`, global and proxy `log-tag`,
// `option dontlog-normal`, `option log-separate-errors`, `option
// http-ignore-probes` and `option logasap` (mode tcp), sends both the same requests (normal ones, 404,
// 500, no server, redispatched retries, bad requests, empty connections
// closed or timed out), and compares the syslog datagrams each sent, once
// dates, pids, ports and timers are masked.
func TestIntegrationLogOptionsLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	web := statusBackend(t)
	echo := echoBackend(t, "tcp01")
	dead := porttest.Free(t)
	type fe struct {
		name, mode, lines string
		reqs              []string
	}
	garbage, empty, partial := "GARBAGE\r\n\r\n", "", "PARTIAL"
	get := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	}
	httpReqs := []string{get("/"), get("/404"), get("/500"), get("/nosrv"), get("/redisp"), garbage, empty, partial}
	fes := []fe{
		// The default format becomes rfc3164 with the host name.
		{"sep", "http", `    option httplog
    log-tag ftag
    option log-separate-errors
    log UDP local0
    log UDP format rfc5424 local1
    log UDP format rfc3164 local2
    log UDP format local local3
`, httpReqs},
		{"dln", "http", `    option httplog
    option dontlog-normal
    log UDP local4
`, httpReqs},
		{"both", "http", `    option httplog
    option dontlog-normal
    option log-separate-errors
    log-tag both
    log UDP local5
`, httpReqs},
		{"probe", "http", `    option httplog
    option http-ignore-probes
    timeout http-request 300ms
    log UDP local6
`, []string{empty, "TIMEOUT", partial, get("/"), garbage}},
		{"tdln", "tcp", `    option tcplog
    option dontlog-normal
    option log-separate-errors
    log UDP local7
`, []string{"hello\n", "DEAD"}},
		{"tsep", "tcp", `    option tcplog
    option log-separate-errors
    log UDP local7
`, []string{"hello\n", "DEAD"}},
		// Logged once connected: '+' before the times and bytes, counters
		// still counting the session; a failed connect at the end.
		// mode http: logged when the response head is ready, %B what
		// the response held then (head after the cookie insertion and
		// the body that came with it).
		{"hasap", "http", `    option httplog
    option logasap
    log UDP local6
`, []string{get("/ck"), get("/ck"), get("/"), get("/404"), get("/500"), get("/nosrv"), garbage}},
		{"hasaplf", "http", `    log-format "%b/%s %B %U %Ta %Tt %Tu %ST %tsc %ac/%fc/%bc/%sc"
    option logasap
    log UDP local6
`, []string{get("/"), get("/ck"), get("/404")}},
		// Logged at the end (no response from a server); %U is the
		// request's HTX size, as haproxy counts it.
		{"hasaperr", "http", `    log-format "%b/%s %B %U %ST %tsc %fc/%bc/%sc %Ta %Tt %Tu"
    option logasap
    log UDP local6
`, []string{garbage, get("/nosrv"), get("/redisp")}},
		// %B of a response with an inserted cookie, at the end.
		{"ckb", "http", `    log-format "%b/%s %B %ST %tsc"
    log UDP local6
`, []string{get("/ck"), get("/"), get("/nosrv"), garbage}},
		// Stick counter fetches in a log-format: the stream's tracked
		// counters as they are when the request is logged.
		{"sclog", "http", `    log-format "sc0=%[sc0_http_req_cnt] err=%[sc0_http_err_cnt] g=%[sc0_get_gpc0] h=%[sc_http_req_cnt(0)] %ST"
    http-request track-sc0 src table st
    log UDP local6
`, []string{get("/"), get("/404"), get("/")}},
		{"tasap", "tcp", `    option tcplog
    option logasap
    log UDP local7
`, []string{"hello\n", "DEAD"}},
		{"tasaplf", "tcp", `    log-format "%ft %b/%s %Tw/%Tc/%Tt %B %Tu %ts %fc/%bc/%sc"
    option logasap
    log UDP local7
`, []string{"hello\n", "DEAD"}},
	}
	run := func(bin string) []string {
		udp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer udp.Close()
		got := &lineBuf{}
		go func() {
			b := make([]byte, 65536)
			for {
				n, _, err := udp.ReadFrom(b)
				if err != nil {
					return
				}
				_, _ = got.Write(b[:n])
			}
		}()
		ports := map[string]int{}
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "global\n    log-send-hostname myhost\n    log-tag gtag\n"+
			"defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 1s\n"+
			"backend web\n    mode http\n    server s1 %s\n"+
			"backend none\n    mode http\n"+
			"backend st\n    stick-table type ip size 10 store http_req_cnt,http_err_cnt,gpc0\n"+
			"backend ck\n    mode http\n    cookie SRV insert indirect nocache\n    server s1 %[1]s cookie a\n"+
			"backend redisp\n    mode http\n    retries 1\n    option redispatch\n    server d1 127.0.0.1:%d\n"+
			"backend tcp\n    mode tcp\n    server s1 %s\n"+
			"backend tdead\n    mode tcp\n    server d1 127.0.0.1:%d\n", web, dead, echo, dead)
		for _, f := range fes {
			ports[f.name] = porttest.Free(t)
			route := "    use_backend ck if { path /ck }\n    use_backend none if { path /nosrv }\n    use_backend redisp if { path /redisp }\n    default_backend web\n"
			if f.mode == "tcp" {
				ports[f.name+"-dead"] = porttest.Free(t)
				route = fmt.Sprintf("    bind 127.0.0.1:%d\n    use_backend tdead if { dst_port %d }\n    default_backend tcp\n", ports[f.name+"-dead"], ports[f.name+"-dead"])
			}
			lines := strings.ReplaceAll(f.lines, "UDP", udp.LocalAddr().String())
			fmt.Fprintf(&cfg, "frontend %s\n    bind 127.0.0.1:%d\n    mode %s\n%s%s", f.name, ports[f.name], f.mode, lines, route)
		}
		// The end marker: a frontend logging everything.
		ports["end"] = porttest.Free(t)
		fmt.Fprintf(&cfg, "frontend end\n    bind 127.0.0.1:%d\n    mode http\n    option httplog\n    log %s local0\n    default_backend web\n", ports["end"], udp.LocalAddr())
		var bound []int
		for name, port := range ports {
			if !strings.HasSuffix(name, "-dead") {
				bound = append(bound, port)
			}
		}
		stdout, stderr, stop := startDB(t, bin, cfg.String(), bound...)
		defer stop()
		for _, f := range fes {
			for _, r := range f.reqs {
				addr := fmt.Sprintf("127.0.0.1:%d", ports[f.name])
				switch r {
				case "TIMEOUT":
					// Connected, silent until the proxy closes.
					probe(t, addr, "", 0)
				case "DEAD":
					talk(t, fmt.Sprintf("127.0.0.1:%d", ports[f.name+"-dead"]), "x")
				case "":
					probe(t, addr, "", 50*time.Millisecond)
				case partial:
					probe(t, addr, "GET / HT", 50*time.Millisecond)
				default:
					talk(t, addr, r)
				}
			}
		}
		talk(t, fmt.Sprintf("127.0.0.1:%d", ports["end"]), get("/end"))
		deadline := time.Now().Add(10 * time.Second)
		for !slices.ContainsFunc(got.lines(), func(l string) bool { return strings.Contains(l, "/end ") }) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no end marker after 10 s:\n%s\nstdout:\n%s\nstderr:\n%s", bin, strings.Join(got.lines(), "\n"), strings.Join(stdout.lines(), "\n"), strings.Join(stderr.lines(), "\n"))
			}
			time.Sleep(10 * time.Millisecond)
		}
		out := normalizedLines(got.lines(), logOptionNormalizers)
		// Datagrams of one frontend come in order; across frontends and
		// targets the order is the sender's: compare sorted.
		slices.Sort(out)
		return out
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("syslog datagrams differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	// What the comparison stands on.
	for _, want := range []string{"myhost ftag[PID]: ", "myhost gtag[PID]: ", "myhost both[PID]: ", "<139>", "<139>1 ISO myhost ftag PID - - ", "<155>DATE ftag[PID]: "} {
		if !slices.ContainsFunc(ref, func(l string) bool { return strings.Contains(l, want) }) {
			t.Errorf("haproxy sent no line with %q:\n%s", want, strings.Join(ref, "\n"))
		}
	}
}

// statusBackend answers 500 on /500, 404 on /404 and 200 otherwise.
func statusBackend(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		case "/404":
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = w.Write([]byte("ok\n"))
	})}
	t.Cleanup(func() { srv.Close() })
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String()
}

// probe connects and sends data (maybe nothing): it closes after wait,
// or, with wait 0, waits (at most 5 s) for the proxy to close.
func probe(t *testing.T, addr, data string, wait time.Duration) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if data != "" {
		if _, err := c.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if wait > 0 {
		time.Sleep(wait) // the client's own idle time before it leaves
		return
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 512)
	for {
		if _, err := c.Read(b); err != nil {
			return
		}
	}
}

// TestIntegrationCaptureRulesLikeHaproxy runs haproxy 2.6 and gproxy on
// `http-request capture SAMPLE len N|id N` and `http-response capture
// SAMPLE id N` mixed with `capture request|response header` and `declare
// capture` slots, in the frontend and in its backend, and compares the
// httplog and %hrl/%hsl lines: slot order, truncation to the length, the
// '|' separators and the escaping of '{', '|', '}', '"', '#' and control
// characters.
func TestIntegrationCaptureRulesLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	web := uidEchoBackend(t)
	reqs := []string{
		"GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1234567890\r\nX-B: b|{c}\"#d\tz\r\nConnection: close\r\n\r\n",
		"GET /bbbbbbbbbbbbbbbbbbbbbbbb HTTP/1.1\r\nHost: h\r\nX-B: caf\xc3\xa9 %41\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GARBAGE\r\n\r\n",
	}
	run := func(bin string) []string {
		port := porttest.Free(t)
		port2 := porttest.Free(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend cap
    bind 127.0.0.1:%d
    option httplog
    log stdout format raw local0
    capture request header Host len 6
    declare capture request len 8
    declare capture response len 6
    http-request capture req.hdr(x-a) len 5
    http-request capture path id 1
    http-request capture req.hdr(x-none) len 4
    http-request capture req.hdr(x-b) len 30 if { path_beg /a }
    http-request capture req.hdr(x-b) id 2 if { path_beg /b }
    http-response capture res.hdr(content-type) id 0
    capture response header X-Uid len 3
    http-response capture status id 1
    default_backend web
frontend lf
    bind 127.0.0.1:%d
    log stdout format raw local0
    log-format "%%hrl %%hsl %%{+Q}hr %%hs"
    declare capture request len 10
    declare capture response len 10
    declare capture response len 2
    http-after-response capture status id 1
    default_backend web2
backend web
    http-request capture method id 5
    server s1 %s
backend web2
    http-request capture req.hdr(x-b) id 0
    http-response capture res.hdr(set-cookie) id 0
    server s1 %s
`, port, port2, web, web)
		out, _, stop := startDB(t, bin, cfg, port, port2)
		defer stop()
		for i, p := range []int{port, port2} {
			for _, r := range reqs {
				if i == 1 && r == reqs[3] {
					// haproxy 2.6 logs no line for a bad request with
					// this log-format.
					continue
				}
				before := out.count()
				talk(t, fmt.Sprintf("127.0.0.1:%d", p), r)
				out.waitFor(t, before+1)
			}
		}
		return normalizedLines(out.lines())
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("log lines differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	if !slices.ContainsFunc(ref, func(l string) bool {
		return strings.Contains(l, "{exampl|/a/b|12345||b#7C#7Bc#7D#22#23d#09z} {text/p|200}")
	}) {
		t.Errorf("haproxy's lines do not show the rule captures:\n%s", strings.Join(ref, "\n"))
	}
}

// TestIntegrationTCPCaptureLikeHaproxy runs haproxy 2.6 and gproxy on
// `tcp-request content capture SAMPLE len N` in mode tcp (the TLS SNI
// of a ClientHello, a payload slice, data arriving late under
// inspect-delay) and in mode http, and compares the log lines.
func TestIntegrationTCPCaptureLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	echo := echoBackend(t, "tcp01")
	web := uidEchoBackend(t)
	run := func(bin string) []string {
		pt, ph := porttest.Free(t), porttest.Free(t)
		cfg := fmt.Sprintf(`defaults
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend t
    bind 127.0.0.1:%d
    mode tcp
    log stdout format raw local0
    log-format "%%ci %%ft %%b/%%s %%ts %%hrl {%%hr}"
    tcp-request inspect-delay 300ms
    tcp-request content capture req.ssl_sni len 8
    tcp-request content capture req.payload(0,6) len 4
    tcp-request content capture req.len len 3 if { req.len gt 3 }
    tcp-request content accept if { req.len gt 0 }
    default_backend tcp
frontend h
    bind 127.0.0.1:%d
    mode http
    option httplog
    log stdout format raw local0
    capture request header X-A len 4
    tcp-request content capture req.hdr(host) len 7
    tcp-request content capture src len 20
    default_backend web
backend tcp
    mode tcp
    server s1 %s
backend web
    mode http
    server s1 %s
`, pt, ph, echo, web)
		out, _, stop := startDB(t, bin, cfg, pt, ph)
		defer stop()
		ta, ha := fmt.Sprintf("127.0.0.1:%d", pt), fmt.Sprintf("127.0.0.1:%d", ph)
		step := func(f func()) {
			before := out.count()
			f()
			out.waitFor(t, before+1)
		}
		// A TLS ClientHello naming a long server name: the backend is no
		// TLS server, the handshake fails once the hello went through.
		step(func() {
			c, err := net.DialTimeout("tcp", ta, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			tc := tls.Client(c, &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true})
			_ = tc.Handshake()
			// Then end as the echo server does: half-close and read until
			// it closes, so that no reset of unread echoed bytes races the
			// end of the session (it made either proxy log CD).
			if tcp, ok := c.(*net.TCPConn); ok {
				_ = tcp.CloseWrite()
			}
			_, _ = io.Copy(io.Discard, c)
		})
		step(func() { talk(t, ta, "hello\n") })
		step(func() { talk(t, ta, "hi\n") })
		// Nothing until after the first look at the empty buffer.
		step(func() {
			c, err := net.DialTimeout("tcp", ta, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			time.Sleep(100 * time.Millisecond) // the client's own pause
			_, _ = c.Write([]byte("late data\n"))
			_ = c.(*net.TCPConn).CloseWrite()
			_, _ = io.Copy(io.Discard, c)
		})
		step(func() { probe(t, ta, "", 0) }) // silent: the delay expires
		step(func() {
			talk(t, ha, "GET / HTTP/1.1\r\nHost: example.com|{x}\r\nX-A: 123456\r\nConnection: close\r\n\r\n")
		})
		step(func() { talk(t, ha, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n") })
		return normalizedLines(out.lines())
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("log lines differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	if !slices.ContainsFunc(ref, func(l string) bool { return strings.Contains(l, "www.exam") }) {
		t.Errorf("haproxy's lines do not show the captured SNI:\n%s", strings.Join(ref, "\n"))
	}
}
