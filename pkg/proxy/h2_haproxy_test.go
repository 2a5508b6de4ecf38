package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/syslog/syslogtest"
	"hapair/pkg/tlsconf/tlstest"
)

// The same HTTP/2 configuration (ALPN h2 on a TLS bind, `proto h2` on a
// clear one) run by haproxy 2.6 and by gproxy, driven by the same HTTP/2
// clients (Go's x/net/http2 and curl): statuses, the headers a user
// checks, bodies, what the server received and the httplog lines must
// be the same.

const h2Config = `
defaults
    mode http
    option httplog
    log 127.0.0.1:{SYSLOG} local0
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend tls
    bind 127.0.0.1:{tls} ssl crt {DIR}/site.pem alpn h2,http/1.1
    http-request set-header x-rule %[path]
    http-request deny if { path /denied }
    use_backend none if { path_beg /none }
    default_backend app

frontend clear
    bind 127.0.0.1:{h2c} proto h2
    http-request set-var(sess.first) path if !{ var(sess.first) -m found }
    http-request set-header x-first %[var(sess.first)]
    use_backend none if { path_beg /none }
    default_backend app

frontend h1
    bind 127.0.0.1:{h1}
    default_backend app

frontend noupg
    bind 127.0.0.1:{noupg}
    option disable-h2-upgrade
    default_backend app

backend app
    cookie SRV insert indirect nocache
    server s1 {BACK1} cookie a
    server s2 {BACK2} cookie b

backend none
`

// h2Backend answers every request with what it received: the request
// head as the server saw it (in the x-head header, quoted), and a body of
// the size asked by ?size=N, or the request body echoed.
func h2Backend(t *testing.T, name string) string {
	ln := haproxytest.Serve(t, time.Minute, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			var keys []string
			for k := range req.Header {
				keys = append(keys, strings.ToLower(k)+"="+strings.Join(req.Header[k], ","))
			}
			sort.Strings(keys)
			out := body
			if n := req.URL.Query().Get("size"); n != "" {
				var size int
				fmt.Sscan(n, &size)
				out = bytes.Repeat([]byte("x"), size)
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nx-server: %s\r\nx-target: %s\r\nx-host: %s\r\nx-body: %d\r\nx-fields: %s\r\ncontent-length: %d\r\n\r\n",
				name, req.RequestURI, req.Host, len(body), strings.Join(keys, ";"), len(out))
			c.Write(out)
		}
	})
	return ln.Addr().String()
}

// h2Result is what a client saw for one request.
type h2Result struct {
	status int
	proto  string
	header map[string]string // the fields a user checks
	body   string            // its size and first bytes
}

func (r h2Result) String() string {
	var keys []string
	for k, v := range r.header {
		keys = append(keys, k+": "+v)
	}
	sort.Strings(keys)
	return fmt.Sprintf("%d %s [%s] %s", r.status, r.proto, strings.Join(keys, " | "), r.body)
}

var h2Checked = []string{"x-server", "x-target", "x-host", "x-body", "x-fields", "set-cookie", "content-length", "cache-control", "content-type"}

func h2Do(t *testing.T, c *http.Client, method, url string, body []byte, cookie string) h2Result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("user-agent", "h2test")
	if cookie != "" {
		req.Header.Set("cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return h2Result{status: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	r := h2Result{status: resp.StatusCode, proto: resp.Proto, header: map[string]string{}}
	for _, k := range h2Checked {
		if v := resp.Header.Values(k); len(v) > 0 {
			r.header[k] = strings.Join(v, ",")
		}
	}
	head := b
	if len(head) > 40 {
		head = head[:40]
	}
	r.body = fmt.Sprintf("%d:%q", len(b), head)
	return r
}

// h2Observation is what the clients saw from one proxy.
type h2Observation struct {
	results    map[string]string
	concurrent []string // statuses of the concurrent streams, sorted
	goaway     string   // the answer to a bad frame
	afterReset string   // a request on a connection whose other stream was reset
}

func h2Clients(ca *x509.CertPool) (tlsClient, clearClient *http.Client) {
	tlsClient = &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: ca, ServerName: "site.test"}}, Timeout: deadline}
	clearClient = &http.Client{Transport: &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}, Timeout: deadline}
	return
}

func observeH2(t *testing.T, ca *x509.CertPool, tlsAddr, clearAddr, h1Addr, noUpgAddr string) h2Observation {
	o := h2Observation{results: map[string]string{}}
	tc, cc := h2Clients(ca)
	defer tc.CloseIdleConnections()
	defer cc.CloseIdleConnections()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for _, s := range []struct {
		name, method, path string
		body               []byte
		cookie             string
	}{
		{"get", "GET", "/a?q=1", nil, ""},
		{"post", "POST", "/post", []byte("hello h2"), ""},
		{"large upload", "PUT", "/up", big, ""},
		{"large download", "GET", "/down?size=1048576", nil, ""},
		{"persistence cookie b", "GET", "/p", nil, "SRV=b"},
		{"persistence cookie a", "GET", "/p", nil, "SRV=a; other=1"},
		{"head", "HEAD", "/h", nil, ""},
		{"no server", "GET", "/none", nil, ""},
		{"denied", "GET", "/denied", nil, ""},
	} {
		o.results["tls "+s.name] = h2Do(t, tc, s.method, "https://"+tlsAddr+s.path, s.body, s.cookie).String()
		if s.name != "denied" {
			o.results["h2c "+s.name] = h2Do(t, cc, s.method, "http://"+clearAddr+s.path, s.body, s.cookie).String()
		}
	}
	// Many concurrent streams on one connection.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := h2Do(t, cc, "GET", fmt.Sprintf("http://%s/c%d?size=%d", clearAddr, i, 1000*i), nil, "SRV=a")
			mu.Lock()
			o.concurrent = append(o.concurrent, fmt.Sprintf("%d %s %s", r.status, r.header["x-server"], r.body[:strings.IndexByte(r.body, ':')]))
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	sort.Strings(o.concurrent)
	if _, err := exec.LookPath("curl"); err == nil {
		for _, args := range [][]string{
			{"--http2-prior-knowledge", "http://" + clearAddr + "/curl"},
			// The HTTP/2 preface on an HTTP/1 bind: served as HTTP/2
			// (haproxy's implicit upgrade), or not with
			// disable-h2-upgrade.
			{"--http2-prior-knowledge", "http://" + h1Addr + "/upgrade"},
			{"--http2-prior-knowledge", "http://" + noUpgAddr + "/noupgrade"},
			{"--http2", "--cacert", curlCA, "--resolve", "site.test:" + portOf(tlsAddr) + ":127.0.0.1", "https://site.test:" + portOf(tlsAddr) + "/curl"},
		} {
			o.results["curl "+args[0]+" "+portMask.ReplaceAllString(args[len(args)-1], "")] = curlH2(t, ca, args)
		}
	}
	// A stream reset by the client mid-response: the connection serves
	// the next stream.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+clearAddr+"/reset?size=8388608", nil)
	if resp, err := cc.Do(req); err == nil {
		io.ReadFull(resp.Body, make([]byte, 1000))
		cancel()
		resp.Body.Close()
	}
	cancel()
	o.afterReset = h2Do(t, cc, "GET", "http://"+clearAddr+"/after", nil, "SRV=b").String()
	o.goaway = badFrame(t, clearAddr)
	return o
}

func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

var curlCA string // the CA's PEM file, for curl --cacert

// curlH2 runs curl and keeps the protocol, status and the checked fields.
func curlH2(t *testing.T, _ *x509.CertPool, args []string) string {
	cmd := exec.Command("curl", append([]string{"-s", "-D", "-", "-o", "/dev/null", "-H", "user-agent: curl", "--max-time", "10"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		// The exit status (send or receive failure) depends on when the
		// proxy's close arrives.
		return "curl failed"
	}
	var keep []string
	for _, l := range strings.Split(strings.ReplaceAll(string(out), "\r", ""), "\n") {
		name, _, _ := strings.Cut(l, ":")
		if strings.HasPrefix(l, "HTTP/") || name == "x-server" || name == "x-target" || name == "x-host" || name == "x-fields" || name == "set-cookie" {
			keep = append(keep, l)
		}
	}
	sort.Strings(keep)
	return strings.Join(keep, " | ")
}

// badFrame speaks HTTP/2 with a DATA frame on stream 0 (a connection
// error, RFC 9113 section 6.1) and returns the GOAWAY's error code.
func badFrame(t *testing.T, addr string) string {
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(deadline))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.AllowIllegalWrites = true
	fr.WriteSettings()
	fr.WriteData(0, false, []byte("bad"))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return "no GOAWAY: " + err.Error()
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g.ErrCode.String()
		}
	}
}

// logMask removes what differs from run to run: the client port, the
// date, the timers.
var logMask = regexp.MustCompile(`^(\S+):\d+ \[[^]]+\] (\S+ \S+) [-\d]+/[-\d]+/[-\d]+/[-\d]+/\+?\d+ `)

// portMask hides the proxies' ports, which differ.
var portMask = regexp.MustCompile(`127\.0\.0\.1:\d+|site\.test:\d+`)

var concurrentURI = regexp.MustCompile(`/c\d+\?`)

func maskLog(l string) string {
	return portMask.ReplaceAllString(logMask.ReplaceAllString(l, "$1 $2 T "), "ADDR")
}

func TestIntegrationH2Haproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	tlstest.Write(t, filepath.Join(dir, "site.pem"), ca.Issue(t, tlstest.ECDSA, "site.test", "site.test").Bundle())
	curlCA = filepath.Join(dir, "ca.pem")
	tlstest.Write(t, curlCA, ca.PEM)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	sink := syslogtest.NewSink(t)
	vars := map[string]string{"DIR": dir, "BACK1": h2Backend(t, "s1"), "BACK2": h2Backend(t, "s2"), "SYSLOG": fmt.Sprint(sink.Port())}
	fill := func(ports map[string]string) string {
		s := h2Config
		for k, v := range vars {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		for k, v := range ports {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	names := []string{"tls", "h2c", "h1", "noupg"}
	hp := map[string]string{}
	for _, n := range names {
		hp[n] = fmt.Sprint(deadPort(t))
	}
	haproxytest.Start(t, fill(hp))
	for _, p := range hp {
		haproxytest.WaitBound(t, "127.0.0.1:"+p)
	}
	gp := map[string]string{}
	lns := map[string]net.Listener{}
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[ln.Addr().String()] = ln
		gp[n] = portOf(ln.Addr().String())
	}
	cfgPath := filepath.Join(dir, "gproxy.cfg")
	tlstest.Write(t, cfgPath, []byte(fill(gp)))
	cfg, diags, err := haproxycfg.ParseFiles([]string{cfgPath}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	logs := serveHTTPLogged(t, cfg, lns, nil, nil)

	want := observeH2(t, pool, "127.0.0.1:"+hp["tls"], "127.0.0.1:"+hp["h2c"], "127.0.0.1:"+hp["h1"], "127.0.0.1:"+hp["noupg"])
	nWant := 17 + 50 + 2 + 4 + 1 // the requests, the concurrent ones, reset + after, curl, the bad frame
	var wantLogs []string
	for _, raw := range sink.Wait(nWant, deadline) {
		d, err := syslogtest.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		wantLogs = append(wantLogs, d.Msg)
	}
	errs0 := H2ProtocolErrors()
	got := observeH2(t, pool, "127.0.0.1:"+gp["tls"], "127.0.0.1:"+gp["h2c"], "127.0.0.1:"+gp["h1"], "127.0.0.1:"+gp["noupg"])
	for end := time.Now().Add(deadline); len(logs()) < nWant && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(logs()); n != nWant {
		t.Errorf("gproxy logged %d lines, haproxy %d", n, nWant)
	}

	// The reference itself, so that a broken setup cannot pass.
	if !strings.HasPrefix(want.results["tls get"], "200 HTTP/2.0") || !strings.HasPrefix(want.results["h2c post"], "200 HTTP/2.0") ||
		want.goaway != "PROTOCOL_ERROR" || !strings.Contains(want.results["tls no server"], "503") {
		t.Fatalf("haproxy did not behave as expected: %+v", want)
	}
	var keys []string
	for k := range want.results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if w, g := portMask.ReplaceAllString(want.results[k], "ADDR"), portMask.ReplaceAllString(got.results[k], "ADDR"); w != g {
			t.Errorf("%s:\nhaproxy %s\ngproxy  %s", k, w, g)
		}
	}
	if w, g := strings.Join(want.concurrent, "\n"), strings.Join(got.concurrent, "\n"); w != g {
		t.Errorf("concurrent streams: haproxy\n%s\ngproxy\n%s", w, g)
	}
	if portMask.ReplaceAllString(want.afterReset, "") != portMask.ReplaceAllString(got.afterReset, "") {
		t.Errorf("after a reset stream: haproxy %s, gproxy %s", want.afterReset, got.afterReset)
	}
	if H2ProtocolErrors() == errs0 {
		t.Errorf("the bad frame was not counted in H2ProtocolErrors")
	}
	if want.goaway != got.goaway {
		t.Errorf("bad frame: haproxy %s, gproxy %s", want.goaway, got.goaway)
	}
	// The log lines, but the reset stream's (its termination state
	// depends on timing) and the concurrent ones' counters.
	norm := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.Contains(l, "/reset?") || strings.Contains(l, "/after ") || concurrentURI.MatchString(l) {
				continue
			}
			out = append(out, maskLog(l))
		}
		sort.Strings(out)
		return out
	}
	w, g := norm(wantLogs), norm(logs())
	if strings.Join(w, "\n") != strings.Join(g, "\n") {
		t.Errorf("log lines differ:\nhaproxy:\n%s\ngproxy:\n%s", strings.Join(w, "\n"), strings.Join(g, "\n"))
	}
}

// serverSettings reads the SETTINGS an HTTP/2 frontend sends first.
func serverSettings(t *testing.T, addr string) map[http2.SettingID]uint32 {
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(deadline))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no SETTINGS from %s: %v", addr, err)
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			// A setting not sent has the protocol's initial value
			// (RFC 9113 section 6.5.2).
			out := map[http2.SettingID]uint32{http2.SettingHeaderTableSize: 4096, http2.SettingInitialWindowSize: 65535, http2.SettingMaxFrameSize: 16384}
			s.ForeachSetting(func(st http2.Setting) error { out[st.ID] = st.Val; return nil })
			return out
		}
	}
}

// TestIntegrationH2TuneHaproxy: the tune.h2.* settings are advertised as
// haproxy 2.6 advertises them.
func TestIntegrationH2TuneHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	const tmpl = `global
    tune.h2.max-concurrent-streams 7
    tune.h2.initial-window-size 32768
    tune.h2.header-table-size 8192
    tune.h2.max-frame-size 32768
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%s proto h2
`
	hport := deadPort(t)
	haproxytest.Start(t, fmt.Sprintf(tmpl, fmt.Sprint(hport)))
	haddr := fmt.Sprintf("127.0.0.1:%d", hport)
	haproxytest.WaitBound(t, haddr)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := haproxycfg.Parse("t.cfg", []byte(fmt.Sprintf(tmpl, portOf(ln.Addr().String()))), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	serveHTTPLogged(t, cfg, map[string]net.Listener{ln.Addr().String(): ln}, nil, nil)
	want, got := serverSettings(t, haddr), serverSettings(t, ln.Addr().String())
	for _, id := range []http2.SettingID{http2.SettingMaxConcurrentStreams, http2.SettingInitialWindowSize, http2.SettingHeaderTableSize, http2.SettingMaxFrameSize} {
		if want[id] != got[id] {
			t.Errorf("%v: haproxy %d, gproxy %d", id, want[id], got[id])
		}
	}
	if want[http2.SettingMaxConcurrentStreams] != 7 {
		t.Errorf("haproxy's SETTINGS are not the expected ones: %v", want)
	}
}

// TestIntegrationH2StalledUploadHaproxy: a stream whose body stops coming
// is ended by `timeout client` as haproxy ends it: the same status to the
// client and the same log line.
func TestIntegrationH2StalledUploadHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	sink := syslogtest.NewSink(t)
	back := h2Backend(t, "s1")
	const tmpl = `defaults
    mode http
    option httplog
    log 127.0.0.1:%d local0
    timeout connect 1s
    timeout client 500ms
    timeout server 1500ms
frontend f
    bind 127.0.0.1:%s proto h2
    default_backend b
backend b
    server s1 %s
`
	hport := deadPort(t)
	haproxytest.Start(t, fmt.Sprintf(tmpl, sink.Port(), fmt.Sprint(hport), back))
	haddr := fmt.Sprintf("127.0.0.1:%d", hport)
	haproxytest.WaitBound(t, haddr)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := haproxycfg.Parse("t.cfg", []byte(fmt.Sprintf(tmpl, sink.Port(), portOf(ln.Addr().String()), back)), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	logs := serveHTTPLogged(t, cfg, map[string]net.Listener{ln.Addr().String(): ln}, nil, nil)
	// HEADERS announcing 10 bytes, 3 sent, then nothing: what comes back.
	stall := func(addr string) string {
		c, err := net.DialTimeout("tcp", addr, deadline)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(deadline))
		io.WriteString(c, http2.ClientPreface)
		fr := http2.NewFramer(c, c)
		fr.WriteSettings()
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "x.test"}, {":path", "/up"}, {"content-length", "10"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
		fr.WriteData(1, false, []byte("abc"))
		dec := hpack.NewDecoder(4096, nil)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return "closed: " + err.Error()
			}
			switch f := f.(type) {
			case *http2.HeadersFrame:
				fields, _ := dec.DecodeFull(f.HeaderBlockFragment())
				for _, hf := range fields {
					if hf.Name == ":status" {
						return "status " + hf.Value
					}
				}
			case *http2.RSTStreamFrame:
				return "RST_STREAM " + f.ErrCode.String()
			case *http2.GoAwayFrame:
				return "GOAWAY " + f.ErrCode.String()
			}
		}
	}
	want := stall(haddr)
	raw := sink.Wait(1, deadline)
	d, err := syslogtest.Parse(raw[0])
	if err != nil {
		t.Fatal(err)
	}
	got := stall(ln.Addr().String())
	eventually(t, "the stalled stream logged", func() bool { return len(logs()) == 1 })
	if want != got {
		t.Errorf("client saw: haproxy %q, gproxy %q", want, got)
	}
	if w, g := maskLog(d.Msg), maskLog(logs()[0]); w != g {
		t.Errorf("log line:\nhaproxy %s\ngproxy  %s", w, g)
	}
}

// TestIntegrationH2StalledClientHaproxy: a client that never opens its
// flow-control window for a large response. Both proxies end the stream
// at `timeout client` and log it "cD" (haproxy with a GOAWAY a timeout
// later, gproxy with RST_STREAM INTERNAL_ERROR at once, then GOAWAY when
// the connection idled out): the client is not left waiting. The bytes
// logged (%B) are what each had taken when the client stopped, and
// differ (buffers).
func TestIntegrationH2StalledClientHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	sink := syslogtest.NewSink(t)
	back := h2Backend(t, "s1")
	const tmpl = `defaults
    mode http
    option httplog
    log 127.0.0.1:%d local0
    timeout connect 1s
    timeout client 500ms
    timeout server 5s
frontend f
    bind 127.0.0.1:%d proto h2
    default_backend b
backend b
    server s1 %s
`
	hport, gport := deadPort(t), deadPort(t)
	haproxytest.Start(t, fmt.Sprintf(tmpl, sink.Port(), hport, back))
	haddr := fmt.Sprintf("127.0.0.1:%d", hport)
	haproxytest.WaitBound(t, haddr)
	gaddr := fmt.Sprintf("127.0.0.1:%d", gport)
	ln, err := net.Listen("tcp", gaddr)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := haproxycfg.Parse("t.cfg", []byte(fmt.Sprintf(tmpl, sink.Port(), gport, back)), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	logs := serveHTTPLogged(t, cfg, map[string]net.Listener{gaddr: ln}, nil, nil)
	// GET of 1 MB, the client's window left at 65535 bytes: what ends it.
	// The connection stays open until the caller closes it (once the
	// line was logged: the log's connection counts then include it).
	stall := func(addr string) (string, net.Conn) {
		c, err := net.DialTimeout("tcp", addr, deadline)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(deadline))
		io.WriteString(c, http2.ClientPreface)
		fr := http2.NewFramer(c, c)
		fr.WriteSettings()
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x.test"}, {":path", "/big?size=1000000"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return "closed: " + err.Error(), c
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.RSTStreamFrame:
				return "RST_STREAM " + f.ErrCode.String(), c
			case *http2.GoAwayFrame:
				return "GOAWAY " + f.ErrCode.String(), c
			}
		}
	}
	want, hc := stall(haddr)
	raw := sink.Wait(1, deadline)
	hc.Close()
	d, err := syslogtest.Parse(raw[0])
	if err != nil {
		t.Fatal(err)
	}
	got, gc := stall(gaddr)
	eventually(t, "the stalled stream logged", func() bool { return len(logs()) == 1 })
	gc.Close()
	if want != "GOAWAY NO_ERROR" {
		t.Errorf("haproxy: the client saw %q", want)
	}
	if got != "RST_STREAM INTERNAL_ERROR" {
		t.Errorf("gproxy: the client saw %q", got)
	}
	bytesMask := regexp.MustCompile(`^(\S+ \S+ \S+ T \d+ )\d+ `)
	mask := func(l string) string { return bytesMask.ReplaceAllString(maskLog(l), "${1}B ") }
	if w, g := mask(d.Msg), mask(logs()[0]); w != g || !strings.Contains(w, " cD-- ") {
		t.Errorf("log line:\nhaproxy %s\ngproxy  %s", w, g)
	}
}
