package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"hapair/pkg/haproxytest"
)

// WebSocket over HTTP/2 (RFC 8441) to an HTTP/1.1 server, as haproxy 2.6
// does it (reg-test http-messaging/websocket): the client's extended
// CONNECT with ":protocol websocket" reaches the server as a GET with
// "upgrade: websocket", "connection: upgrade" and a Sec-WebSocket-Key the
// proxy made; the server's 101 must answer that key (else 502) and
// becomes the client's 200, then the stream carries the tunnel.

const h2wsConfig = `
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen ws
    bind FRONT proto h2
    server s1 BACKEND
`

// wsServer answers one upgrade as mode says and records the head it
// received, the key's value replaced by KEY when it is 16 bytes in
// base64, BADKEY otherwise. After a 101 it echoes the tunnel's bytes in
// upper case.
func wsServer(t *testing.T, mode string) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var heads []string
	ln := haproxytest.Serve(t, deadline, func(c net.Conn) {
		br := bufio.NewReader(c)
		var head strings.Builder
		key := ""
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "sec-websocket-key") {
				key = strings.TrimSpace(v)
				mask := "BADKEY"
				if b, err := base64.StdEncoding.DecodeString(key); err == nil && len(b) == 16 {
					mask = "KEY"
				}
				line = k + ": " + mask + "\r\n"
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		mu.Lock()
		heads = append(heads, head.String())
		mu.Unlock()
		upgrade := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
		switch mode {
		case "good":
			io.WriteString(c, upgrade+"Sec-WebSocket-Accept: "+webSocketAccept(key)+"\r\n\r\n")
		case "bad-accept":
			io.WriteString(c, upgrade+"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		case "no-accept":
			io.WriteString(c, upgrade+"\r\n")
		case "200-upgrade":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nok\n")
			return
		case "200-upgrade-accept":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\nContent-Length: 3\r\n\r\nok\n")
			return
		case "101-no-connection":
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
		case "refused":
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno\n")
			return
		}
		buf := make([]byte, 512)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				if _, err := c.Write([]byte(strings.ToUpper(string(buf[:n])))); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	return ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), heads...)
	}
}

// h2wsExchange sends an extended CONNECT through the proxy at addr, then,
// on a 200, "hello" in the tunnel, and describes what the client saw.
func h2wsExchange(t *testing.T, addr string) string {
	t.Helper()
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}}
	defer tr.CloseIdleConnections()
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodConnect, "http://"+addr+"/chat?room=1", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("X-Client", "one")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", resp.StatusCode)
	var keys []string
	for k := range resp.Header {
		if k != "Date" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(resp.Header[k], ", ")
		if k == "Sec-Websocket-Accept" {
			v = "ACCEPT" // answers the proxy's random key
		}
		fmt.Fprintf(&b, "%s: %s\n", k, v)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(&b, "body %q\n", body)
		return b.String()
	}
	if _, err := io.WriteString(pw, "hello"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		fmt.Fprintf(&b, "tunnel: %v\n", err)
	} else {
		fmt.Fprintf(&b, "tunnel: %q\n", got)
	}
	return b.String()
}

// h2wsHead masks the port in the Host field (each proxy listens on its
// own) and sorts the fields of the client's: an HTTP/2 request's fields
// reach gproxy's HTTP/1 path from Go's server as a map, so their order is
// not the client's (a known difference, not one of this test).
func h2wsHead(h string) string {
	h = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`).ReplaceAllString(h, "127.0.0.1:PORT")
	lines := strings.Split(h, "\r\n")
	if len(lines) > 4 {
		// request line, host, the client's fields, then the proxy's
		// upgrade, connection and key.
		n := len(lines)
		sort.Strings(lines[2 : n-5])
	}
	return strings.Join(lines, "\r\n")
}

var h2wsModes = []string{"good", "bad-accept", "no-accept", "refused"}

// TestIntegrationH2WebSocketHaproxy runs the same extended CONNECTs
// through haproxy 2.6.12 and gproxy: the client's status, headers and
// tunnel, and the head the server received, must be the same.
func TestIntegrationH2WebSocketHaproxy(t *testing.T) {
	for _, mode := range h2wsModes {
		t.Run(mode, func(t *testing.T) {
			var want, got [2]string
			for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
				startWireHaproxy,
				func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
			} {
				srv, heads := wsServer(t, mode)
				p := start(t, h2wsConfig, srv)
				client := h2wsExchange(t, p.addr)
				seen := h2wsHead(strings.Join(heads(), ""))
				if i == 0 {
					want = [2]string{client, seen}
				} else {
					got = [2]string{client, seen}
				}
			}
			if got != want {
				t.Errorf("gproxy:\n%s\nserver got:\n%q\nhaproxy:\n%s\nserver got:\n%q", got[0], got[1], want[0], want[1])
			}
			if mode == "good" && !strings.Contains(want[0], `tunnel: "HELLO"`) {
				t.Errorf("no tunnel through haproxy:\n%s", want[0])
			}
		})
	}
}

// TestWebSocketAccept checks the key answer against RFC 6455's example.
func TestWebSocketAccept(t *testing.T) {
	if got := webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("webSocketAccept = %q", got)
	}
}

// TestIntegrationH2ExtConnectSettingHaproxy: SETTINGS_ENABLE_CONNECT_PROTOCOL
// is announced as haproxy 2.6 announces it, and left out under
// `h2-workaround-bogus-websocket-clients`.
func TestIntegrationH2ExtConnectSettingHaproxy(t *testing.T) {
	for _, global := range []string{"", "global\n    h2-workaround-bogus-websocket-clients\n"} {
		var seen [2]string
		for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
			startWireHaproxy,
			func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
		} {
			p := start(t, global+h2wsConfig, "127.0.0.1:9")
			s := serverSettings(t, p.addr)
			seen[i] = fmt.Sprintf("ENABLE_CONNECT_PROTOCOL=%d", s[http2.SettingEnableConnectProtocol])
		}
		if seen[0] != seen[1] {
			t.Errorf("%q: haproxy %s, gproxy %s", global, seen[0], seen[1])
		}
		if want := global == ""; want != strings.HasPrefix(seen[0], "ENABLE_CONNECT_PROTOCOL=1") {
			t.Errorf("%q: haproxy announced %s", global, seen[0])
		}
	}
}

// h1wsExchange sends wsRequest through the proxy at addr and reads the
// response head, then after a 101 says "hello" in the tunnel, else reads
// the rest up to the close.
func h1wsExchange(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	io.WriteString(c, wsRequest)
	br := bufio.NewReader(c)
	var out strings.Builder
	for {
		l, err := br.ReadString('\n')
		out.WriteString(l)
		if err != nil || l == "\r\n" {
			break
		}
	}
	if strings.HasPrefix(out.String(), "HTTP/1.1 101 ") {
		io.WriteString(c, "hello")
		got := make([]byte, 5)
		_, err := io.ReadFull(br, got)
		fmt.Fprintf(&out, "tunnel: %q %v", got, err)
		return out.String()
	}
	rest, _ := io.ReadAll(br)
	out.Write(rest)
	return out.String()
}

// TestIntegrationWebSocketAnswerHaproxy: an HTTP/1.1 client's WebSocket
// handshake, answered in ways that do and do not pass haproxy 2.6's check
// (a 101 needs a Sec-WebSocket-Accept, its value is not checked), or not
// upgraded (a 200 naming the upgrade keeps its Connection and Upgrade
// fields and gets the accept answering the client's key; the client's
// connection goes on): the client sees the same through haproxy and
// gproxy, the 502 included.
func TestIntegrationWebSocketAnswerHaproxy(t *testing.T) {
	const cfg = `
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout http-keep-alive 100ms
listen ws
    bind FRONT
    server s1 BACKEND
`
	for _, mode := range []string{"good", "bad-accept", "101-no-connection", "200-upgrade", "200-upgrade-accept", "refused"} {
		t.Run(mode, func(t *testing.T) {
			var seen [2]string
			for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
				startWireHaproxy,
				func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
			} {
				srv, _ := wsServer(t, mode)
				seen[i] = h1wsExchange(t, start(t, cfg, srv).addr)
			}
			if seen[0] != seen[1] {
				t.Errorf("gproxy:\n%q\nhaproxy:\n%q", seen[1], seen[0])
			}
		})
	}
}

// TestIntegrationH2HTTP10ServerHaproxy: an HTTP/2 client's request
// answered by HTTP/1.0 servers (chunked, close-delimited, with a length):
// the client gets the same status, fields and body through haproxy 2.6
// and gproxy (the chunks decoded).
func TestIntegrationH2HTTP10ServerHaproxy(t *testing.T) {
	for _, server := range []string{
		"HTTP/1.0 200 Ok\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3\r\nok\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nclose-delimited\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n",
	} {
		var seen [2]string
		for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
			startWireHaproxy,
			func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
		} {
			p := start(t, h2wsConfig, rawServer(t, server))
			tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, a)
			}}
			resp, err := (&http.Client{Transport: tr, Timeout: deadline}).Get("http://" + p.addr + "/")
			if err != nil {
				seen[i] = "error: " + err.Error()
				continue
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			seen[i] = fmt.Sprintf("%d x-a=%q cl=%d %q %v", resp.StatusCode, resp.Header.Get("X-A"), resp.ContentLength, body, err)
		}
		if seen[0] != seen[1] {
			t.Errorf("%q: gproxy %s, haproxy %s", server, seen[1], seen[0])
		}
	}
}
