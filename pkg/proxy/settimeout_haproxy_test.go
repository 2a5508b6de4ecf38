package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
)

// `http-request set-timeout server|tunnel` and the timeout fetches
// (be_server_timeout, be_tunnel_timeout, cur_server_timeout,
// cur_tunnel_timeout), run by haproxy 2.6.12 and by gproxy in front of
// the same server: the client's bytes must be the same (the values the
// fetches put in headers, a 504 where the shortened server timeout
// expires, a 200 where a longer one does not), and a WebSocket tunnel
// must close after a shortened tunnel timeout and stay open otherwise.
// (The http-response rules skip the 101: gproxy does not run them on an
// upgrade's response yet.)

// setTimeoutConfig is the configuration, with the listen and frontend
// ports and the server's address.
func setTimeoutConfig(stPort, fePort int, srv string) string {
	fetches := "%[cur_server_timeout]/%[cur_tunnel_timeout]/%[be_server_timeout]/%[be_tunnel_timeout]"
	return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout tunnel 10s

listen st
    bind 127.0.0.1:%d
    http-request set-header X-Before %[2]s
    http-request set-timeout server 300ms if { path_beg /short }
    http-request set-timeout tunnel 300ms if { path_beg /ws-short }
    http-request set-timeout server req.hdr(x-to) if { req.hdr(x-to) -m found }
    http-request set-header X-After %[2]s
    http-response set-header X-Res %[2]s unless { status 101 }
    server s %[3]s

frontend fe
    bind 127.0.0.1:%[4]d
    default_backend be

backend be
    timeout server 7s
    timeout tunnel 8s
    http-request set-timeout server 3s if { path_beg /short }
    http-request set-header X-After %[2]s
    http-response set-header X-Res %[2]s unless { status 101 }
    server s %[3]s
`, stPort, fetches, srv, fePort)
}

// setTimeoutServer answers each request with the x- fields it received
// as its body, after a second when the path holds "slow"; a WebSocket
// upgrade gets a 101 and the connection then stays open, silent, until
// the other side closes it.
func setTimeoutServer(t *testing.T) string {
	ln := haproxytest.Serve(t, 20*time.Second, func(c net.Conn) {
		br := bufio.NewReader(c)
		var path string
		var xs []string
		upgrade := false
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			if path == "" {
				if f := strings.Fields(line); len(f) > 1 {
					path = f[1]
				}
				continue
			}
			l := strings.ToLower(line)
			if strings.HasPrefix(l, "x-") {
				xs = append(xs, l)
			}
			if strings.HasPrefix(l, "upgrade:") {
				upgrade = true
			}
		}
		if upgrade {
			fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
			_, _ = io.Copy(io.Discard, br)
			return
		}
		if strings.Contains(path, "slow") {
			time.Sleep(time.Second)
		}
		body := strings.Join(xs, "\n") + "\n"
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
	return ln.Addr().String()
}

// setTimeoutCase is one exchange: a request to a proxy, on a connection
// of its own.
type setTimeoutCase struct {
	name, proxy, req string
	ws               bool // a WebSocket upgrade: report whether the tunnel closed
}

var setTimeoutCases = []setTimeoutCase{
	{"st/fast", "st", "GET /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false},
	{"st/short-fast", "st", "GET /short/fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false},
	{"st/short-slow", "st", "GET /short/slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false},
	{"st/slow", "st", "GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false},
	{"st/expr-slow", "st", "GET /slow HTTP/1.1\r\nHost: t\r\nX-To: 200\r\nConnection: close\r\n\r\n", false},
	{"st/expr-fast", "st", "GET /fast HTTP/1.1\r\nHost: t\r\nX-To: 4000\r\nConnection: close\r\n\r\n", false},
	{"st/expr-notint", "st", "GET /fast HTTP/1.1\r\nHost: t\r\nX-To: abc\r\nConnection: close\r\n\r\n", false},
	{"st/post-short", "st", "POST /short/fast HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", false},
	{"fe/fast", "fe", "GET /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false},
	{"fe/short-slow", "fe", "GET /short/slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false},
	{"st/ws-short", "st", wsTimeoutRequest("/ws-short"), true},
	{"st/ws", "st", wsTimeoutRequest("/ws"), true},
	{"fe/ws", "fe", wsTimeoutRequest("/ws"), true},
}

func wsTimeoutRequest(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// exchangeTimeout sends c.req to addr and returns what came back; for
// an upgrade, the response head then "tunnel closed" when the proxy
// closed the idle tunnel within 4 s, "tunnel open" when it did not
// (timeouts of 300 ms and 8-10 s: far from that bound both ways).
func exchangeTimeout(t *testing.T, addr string, c setTimeoutCase) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, c.req); err != nil {
		t.Fatal(err)
	}
	if !c.ws {
		b, _ := io.ReadAll(conn)
		return string(b)
	}
	br := bufio.NewReader(conn)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return head.String() + fmt.Sprintf("\n(read error %v)", err)
		}
		if line == "\r\n" {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(4 * time.Second))
	_, err = br.ReadByte()
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return head.String() + "tunnel open"
	case err != nil:
		return head.String() + "tunnel closed"
	}
	return head.String() + "tunnel got data"
}

func TestIntegrationSetTimeoutHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	srv := setTimeoutServer(t)

	hst, hfe := haproxytest.FreePort(t), haproxytest.FreePort(t)
	for hfe == hst {
		hfe = haproxytest.FreePort(t)
	}
	haproxytest.Start(t, setTimeoutConfig(hst, hfe, srv))
	haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", hst))
	haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", hfe))

	lst, bst := listen(t)
	lfe, bfe := listen(t)
	cfg, diags, err := haproxycfg.Parse("settimeout.cfg", []byte(setTimeoutConfig(bst.Port, bfe.Port, srv)), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	serveHTTPLogged(t, cfg, map[string]net.Listener{bst.Address(): lst, bfe.Address(): lfe}, nil, nil)

	hapAddr := map[string]string{"st": fmt.Sprintf("127.0.0.1:%d", hst), "fe": fmt.Sprintf("127.0.0.1:%d", hfe)}
	gotAddr := map[string]string{"st": bst.Address(), "fe": bfe.Address()}
	hap := map[string]string{}
	got := map[string]string{}
	done := make(chan struct{})
	// The two proxies run side by side: the waits (1 s servers, 4 s
	// tunnels) overlap.
	go func() {
		defer close(done)
		for _, c := range setTimeoutCases {
			hap[c.name] = exchangeTimeout(t, hapAddr[c.proxy], c)
		}
	}()
	for _, c := range setTimeoutCases {
		got[c.name] = exchangeTimeout(t, gotAddr[c.proxy], c)
	}
	<-done

	// The verdicts, so that both proxies failing alike fails.
	for name, want := range map[string]string{
		"st/fast":        "x-before: 0/0/10000/10000\nx-after: 0/0/10000/10000\n",
		"st/short-fast":  "x-res: 300/10000/10000/10000",
		"st/short-slow":  "HTTP/1.1 504",
		"st/slow":        "HTTP/1.1 200",
		"st/expr-slow":   "HTTP/1.1 504",
		"st/expr-fast":   "x-after: 4000/0/10000/10000",
		"st/expr-notint": "x-after: 0/0/10000/10000",
		"fe/fast":        "x-after: 0/0/7000/8000",
		"fe/short-slow":  "HTTP/1.1 200",
		"st/ws-short":    "tunnel closed",
		"st/ws":          "tunnel open",
		"fe/ws":          "tunnel open",
	} {
		if !strings.Contains(hap[name], want) {
			t.Errorf("%s: haproxy's exchange lacks %q:\n%s", name, want, hap[name])
		}
	}
	for _, c := range setTimeoutCases {
		if hap[c.name] != got[c.name] {
			t.Errorf("%s differs\nhaproxy:\n%s\ngproxy:\n%s", c.name, hap[c.name], got[c.name])
		}
	}
}
