package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// http-reuse as a server sees it: the same sequences of requests, from
// one and from several clients, through haproxy 2.6 and gproxy, must
// open as many server connections; with `never` and `always` each
// request must go over the same connection (numbered by first use). With
// `safe`, haproxy may give a later request an older idle connection of
// another, ended, session where gproxy uses the session's own
// (srvreuse.go): the mapping is not compared, the count is. With
// `always`, haproxy sometimes opens a second connection when a request
// arrives before the previous one's connection is back in its idle pool
// (one run in two here): gproxy must open no more than haproxy.

const reuseConfig = `
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:{fe}
    use_backend never if { path_beg /never }
    use_backend always if { path_beg /always }
    default_backend safe

backend safe
    server s1 {SAFE}

backend never
    http-reuse never
    server s1 {NEVER}

backend always
    http-reuse always
    server s1 {ALWAYS}
`

// connCounter is an HTTP/1.1 server numbering its connections: each
// response says which connection carried it (x-conn).
type connCounter struct {
	n atomic.Int64
}

func (cc *connCounter) start(t *testing.T) string {
	// Connections may idle in a proxy's pool for the whole test: a
	// minute, not the exchange's deadline.
	ln := haproxytest.Serve(t, time.Minute, func(c net.Conn) {
		id := cc.n.Add(1)
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nx-conn: %d\r\ncontent-length: 2\r\n\r\nok", id)
		}
	})
	return ln.Addr().String()
}

// reuseClient is one client connection sending requests one at a time.
type reuseClient struct {
	c  net.Conn
	br *bufio.Reader
}

func (rc *reuseClient) get(t *testing.T, addr, path string, closing bool) string {
	if rc.c == nil {
		c, err := net.DialTimeout("tcp", addr, deadline)
		if err != nil {
			t.Fatal(err)
		}
		rc.c, rc.br = c, bufio.NewReader(c)
	}
	conn := ""
	if closing {
		conn = "connection: close\r\n"
	}
	fmt.Fprintf(rc.c, "GET %s HTTP/1.1\r\nhost: test\r\n%s\r\n", path, conn)
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		return "error"
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if closing {
		rc.close()
	}
	return resp.Header.Get("x-conn")
}

func (rc *reuseClient) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

// reuseSequences runs the sequences on one backend (path prefix p) and
// returns, per sequence, the server connection of each request,
// renumbered by first use (the servers count from the start of the run).
func reuseSequences(t *testing.T, addr, p string, opened *atomic.Int64) map[string]string {
	out := map[string]string{}
	seq := func(name string, f func(get func(client int, closing bool))) {
		before := opened.Load()
		clients := map[int]*reuseClient{}
		var ids []string
		f(func(client int, closing bool) {
			rc := clients[client]
			if rc == nil {
				rc = &reuseClient{}
				clients[client] = rc
			}
			ids = append(ids, rc.get(t, addr, p+"/"+name, closing))
		})
		for _, rc := range clients {
			rc.close()
		}
		seen := map[string]int{}
		var norm []string
		for _, id := range ids {
			if _, ok := seen[id]; !ok && id != "error" {
				seen[id] = len(seen) + 1
			}
			norm = append(norm, fmt.Sprint(seen[id]))
		}
		if p == "/never" {
			out[name] = strings.Join(norm, " ")
		}
		out[name+" opened"] = fmt.Sprint(opened.Load() - before)
	}
	seq("one-client", func(get func(int, bool)) {
		for i := 0; i < 5; i++ {
			get(0, false)
		}
	})
	seq("clients-in-turn", func(get func(int, bool)) {
		for c := 0; c < 3; c++ {
			for i := 0; i < 3; i++ {
				get(c, false)
			}
		}
	})
	seq("interleaved", func(get func(int, bool)) {
		for i := 0; i < 3; i++ {
			for c := 0; c < 3; c++ {
				get(c, false)
			}
		}
	})
	seq("one-request-each", func(get func(int, bool)) {
		for c := 0; c < 4; c++ {
			get(c, true)
		}
	})
	return out
}

func TestIntegrationHTTPReuseHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	run := func(start func(cfg string) string) map[string]string {
		var safe, never, always connCounter
		cfg := reuseConfig
		for k, v := range map[string]string{"SAFE": safe.start(t), "NEVER": never.start(t), "ALWAYS": always.start(t)} {
			cfg = strings.ReplaceAll(cfg, "{"+k+"}", v)
		}
		addr := start(cfg)
		out := map[string]string{}
		for p, cc := range map[string]*connCounter{"/safe": &safe, "/never": &never, "/always": &always} {
			for k, v := range reuseSequences(t, addr, p, &cc.n) {
				out[p+" "+k] = v
			}
		}
		out["connections opened safe/never"] = fmt.Sprint(safe.n.Load(), never.n.Load())
		out["always: connections opened"] = fmt.Sprint(always.n.Load())
		return out
	}
	var mu sync.Mutex
	want := run(func(cfg string) string {
		port := fmt.Sprint(deadPort(t))
		haproxytest.Start(t, strings.ReplaceAll(cfg, "{fe}", port))
		haproxytest.WaitBound(t, "127.0.0.1:"+port)
		return "127.0.0.1:" + port
	})
	got := run(func(cfg string) string {
		mu.Lock()
		defer mu.Unlock()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		p := filepath.Join(dir, "gproxy.cfg")
		tlstest.Write(t, p, []byte(strings.ReplaceAll(cfg, "{fe}", portOf(ln.Addr().String()))))
		c, diags, err := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
		if err != nil {
			t.Fatalf("%v %v", err, diags)
		}
		serveHTTPLogged(t, c, map[string]net.Listener{ln.Addr().String(): ln}, nil, nil)
		return ln.Addr().String()
	})
	t.Logf("haproxy: %v", want)
	if want["/safe one-client opened"] != "1" || want["/never clients-in-turn"] != "1 1 1 2 2 2 3 3 3" {
		t.Fatalf("haproxy did not behave as expected: %v", want)
	}
	for k, w := range want {
		if strings.HasPrefix(k, "/always") {
			continue
		}
		if k == "always: connections opened" {
			gn, gerr := strconv.Atoi(got[k])
			wn, _ := strconv.Atoi(w)
			if gerr != nil || gn > wn {
				t.Errorf("%s: haproxy %s, gproxy %s", k, w, got[k])
			}
			continue
		}
		if g := got[k]; g != w {
			t.Errorf("%s: haproxy %q, gproxy %q", k, w, g)
		}
	}
}

const sendNameConfig = `
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    http-send-name-header X-Srv

frontend fe
    bind 127.0.0.1:{fe}
    use_backend close if { path_beg /close }
    use_backend h2 if { path_beg /h2 }
    default_backend ka

backend ka
    option forwardfor
    server alpha {RAW}

backend close
    option http-server-close
    http-send-name-header x-forwarded-for
    option forwardfor
    server beta {RAW}

backend h2
    server gamma {H2C} proto h2
`

// rawHeadServer answers each request with the head it received, byte for
// byte, as the body.
func rawHeadServer(t *testing.T) string {
	ln := haproxytest.Serve(t, time.Minute, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var head []byte
			for {
				l, err := br.ReadBytes('\n')
				if err != nil {
					return
				}
				head = append(head, l...)
				if string(l) == "\r\n" {
					break
				}
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s", len(head), head)
		}
	})
	return ln.Addr().String()
}

func TestIntegrationSendNameHeaderHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	var h2cConns atomic.Int64
	cfg := strings.NewReplacer("{RAW}", rawHeadServer(t), "{H2C}", h2cServer(t, "h2c", &h2cConns)).Replace(sendNameConfig)
	observe := func(addr string) []string {
		var out []string
		for _, req := range []string{
			"GET /a HTTP/1.1\r\nhost: x\r\nx-srv: fake\r\nX-SRV: fake2\r\nuser-agent: t\r\n\r\n",
			"GET /b HTTP/1.0\r\nhost: x\r\n\r\n",
			"GET /close HTTP/1.1\r\nhost: x\r\nx-forwarded-for: 1.2.3.4\r\nx-srv: keep\r\n\r\n",
			"GET /h2 HTTP/1.1\r\nhost: x\r\nx-srv: fake\r\n\r\n",
		} {
			c, err := net.DialTimeout("tcp", addr, deadline)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(deadline))
			io.WriteString(c, req)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				out = append(out, err.Error())
			} else {
				b, _ := io.ReadAll(resp.Body)
				out = append(out, fmt.Sprintf("%d %q x-seen=%q", resp.StatusCode, b, resp.Header.Get("x-seen")))
				resp.Body.Close()
			}
			c.Close()
		}
		return out
	}
	port := fmt.Sprint(deadPort(t))
	haproxytest.Start(t, strings.ReplaceAll(cfg, "{fe}", port))
	haproxytest.WaitBound(t, "127.0.0.1:"+port)
	want := observe("127.0.0.1:" + port)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "gproxy.cfg")
	tlstest.Write(t, p, []byte(strings.ReplaceAll(cfg, "{fe}", portOf(ln.Addr().String()))))
	c, diags, err := haproxycfg.ParseFiles([]string{p}, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	serveHTTPLogged(t, c, map[string]net.Listener{ln.Addr().String(): ln}, nil, nil)
	got := observe(ln.Addr().String())
	if !strings.Contains(want[0], `x-srv: alpha\r\n\r\n`) {
		t.Fatalf("haproxy did not behave as expected: %q", want)
	}
	for i := range want {
		if w, g := portMask.ReplaceAllString(want[i], "ADDR"), portMask.ReplaceAllString(got[i], "ADDR"); w != g {
			t.Errorf("request %d:\nhaproxy %s\ngproxy  %s", i, w, g)
		}
	}
}
