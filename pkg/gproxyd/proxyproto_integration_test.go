package gproxyd_test

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
	"hapair/pkg/proxyproto"
	"hapair/pkg/tlsconf/tlstest"
)

// The PROXY protocol, both ways, through haproxy 2.6 and gproxy with one
// configuration: the same clients (v1 and v2 headers, LOCAL, UNKNOWN,
// garbage, a truncated header, a stall, a header before TLS), then
// compare the log lines each printed, the header bytes and the request
// heads the servers received, and what the health checks sent.

// ppRecorder is a server taking a PROXY header, then a request head up to
// an empty line; it records both and answers 200.
type ppRecorder struct {
	addr string
	mu   sync.Mutex
	got  []string
}

func startPPRecorder(t *testing.T) *ppRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &ppRecorder{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r.serve(c)
			}()
		}
	}()
	return r
}

func (r *ppRecorder) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var buf []byte
	tmp := make([]byte, 4096)
	var h *proxyproto.Header
	n, herr := 0, io.ErrUnexpectedEOF
	for errors.Is(herr, io.ErrUnexpectedEOF) {
		k, err := c.Read(tmp)
		buf = append(buf, tmp[:k]...)
		h, n, herr = proxyproto.Parse(buf)
		if err != nil {
			break
		}
	}
	desc := "no header"
	if herr == nil {
		desc = describeHeader(h, buf[:n])
	} else {
		desc += fmt.Sprintf(" (%v)", herr)
		n = 0
	}
	rest := buf[n:]
	for !bytes.Contains(rest, []byte("\r\n\r\n")) && len(rest) < 8192 && len(rest) > 0 || (len(rest) == 0 && herr == nil) {
		k, err := c.Read(tmp)
		rest = append(rest, tmp[:k]...)
		if err != nil {
			break
		}
	}
	r.mu.Lock()
	r.got = append(r.got, desc+" | "+string(rest))
	r.mu.Unlock()
	_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
}

// describeHeader is the header's bytes in hex, or, when it carries a
// loopback address (a LOCAL connection's own, a health check's), its
// fields with the ports masked.
func describeHeader(h *proxyproto.Header, raw []byte) string {
	if h.Command == proxyproto.CmdLocal || !h.Source.Addr().IsLoopback() {
		return hex.EncodeToString(raw)
	}
	return fmt.Sprintf("v%d %s fam %d %s:P %s:P tlvs %d", h.Version, h.Command, h.Family, h.Source.Addr(), h.Destination.Addr(), len(h.TLVs))
}

func (r *ppRecorder) records() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// ppCase is one client: the frontend it talks to and what it sends.
type ppCase struct {
	name, fe string
	send     []byte
	tls      bool // after send, a TLS handshake (SNI a.test) then the request
	stall    bool // send nothing and wait for the proxy to close
	curl     bool // curl --haproxy-protocol (v1 with its own addresses) sends the request
	served   bool // the server gets a connection
}

func v2hdr(t *testing.T, h proxyproto.Header) []byte {
	t.Helper()
	h.Version = 2
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var ppRequest = "GET /pp HTTP/1.1\r\nHost: example.com\r\n\r\n"

func TestIntegrationProxyProtocolLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	v4 := proxyproto.Header{Command: proxyproto.CmdProxy, Family: proxyproto.FamilyInet, Transport: proxyproto.TransportStream,
		Source: mustAP("192.0.2.1:56324"), Destination: mustAP("198.51.100.2:443")}
	v6auth := proxyproto.Header{Command: proxyproto.CmdProxy, Family: proxyproto.FamilyInet6, Transport: proxyproto.TransportStream,
		Source: mustAP("[2001:db8::1]:4000"), Destination: mustAP("[2001:db8::2]:8443"),
		TLVs: []proxyproto.TLV{{Type: proxyproto.TypeAuthority, Value: []byte("auth.example")}, {Type: proxyproto.TypeCRC32C, Value: make([]byte, 4)}}}
	local := proxyproto.Header{Command: proxyproto.CmdLocal}
	badCRC := v2hdr(t, v4)
	badCRC = append(badCRC[:len(badCRC):len(badCRC)], proxyproto.TypeCRC32C, 0, 4, 1, 2, 3, 4)
	badCRC[15] += 7
	tcpPayload := "hello\r\n\r\n"
	cases := []ppCase{
		{name: "v1 TCP4", fe: "tcpfe", send: []byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + tcpPayload), served: true},
		{name: "v1 TCP6", fe: "tcpfe", send: []byte("PROXY TCP6 2001:db8::1 2001:db8::2 4000 8443\r\n" + tcpPayload), served: true},
		{name: "v2 TCP4", fe: "tcpfe", send: append(v2hdr(t, v4), tcpPayload...), served: true},
		{name: "v2 TCP6 authority crc32c", fe: "tcpfe", send: append(v2hdr(t, v6auth), tcpPayload...), served: true},
		{name: "v2 LOCAL", fe: "tcpfe", send: append(v2hdr(t, local), tcpPayload...), served: true},
		{name: "v1 UNKNOWN", fe: "tcpfe", send: []byte("PROXY UNKNOWN\r\n" + tcpPayload), served: true},
		{name: "no header", fe: "tcpfe", send: []byte("GET / HTTP/1.0\r\n\r\n")},
		{name: "CR without LF", fe: "tcpfe", send: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\r\n\r\n")},
		{name: "unknown protocol", fe: "tcpfe", send: []byte("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n\r\n")},
		{name: "truncated v1", fe: "tcpfe", send: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2")},
		{name: "bad CRC32C", fe: "tcpfe", send: badCRC},
		{name: "two bytes", fe: "tcpfe", send: []byte("hi")},
		{name: "closed at once", fe: "tcpfe"},
		{name: "stalled", fe: "tcpfe", stall: true},
		{name: "http v1", fe: "httpfe", send: []byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + ppRequest), served: true},
		{name: "http v2 authority", fe: "httpfe", send: append(v2hdr(t, v6auth), ppRequest...), served: true},
		{name: "http LOCAL", fe: "httpfe", send: append(v2hdr(t, local), ppRequest...), served: true},
		{name: "http no header", fe: "httpfe", send: []byte(ppRequest)},
		{name: "curl --haproxy-protocol", fe: "httpfe", curl: true, served: true},
		{name: "fetches and stick counters 1", fe: "fetchfe", send: []byte("PROXY TCP4 192.0.2.7 198.51.100.9 1111 8080\r\n" + ppRequest), served: true},
		{name: "fetches and stick counters 2", fe: "fetchfe", send: []byte("PROXY TCP4 192.0.2.7 198.51.100.9 2222 8080\r\n" + ppRequest), served: true},
		{name: "fetches of a LOCAL connection", fe: "fetchfe", send: append(v2hdr(t, local), ppRequest...), served: true},
		{name: "expect-proxy", fe: "expfe", send: append(v2hdr(t, v4), tcpPayload...), served: true},
		{name: "unique-id tcp", fe: "uidtcp", send: []byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + tcpPayload), served: true},
		{name: "unique-id http", fe: "uidhttp", send: []byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + ppRequest), served: true},
		{name: "unique-id without a format", fe: "uidnone", send: []byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + tcpPayload), served: true},
		{name: "mode tcp ssl after v2", fe: "ssltcp", send: v2hdr(t, v4), tls: true, served: true},
		{name: "ssl after v1", fe: "sslfe", send: []byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"), tls: true, served: true},
		{name: "ssl after v2 authority", fe: "sslfe", send: v2hdr(t, v6auth), tls: true, served: true},
	}
	ca := tlstest.NewCA(t, "Test CA")
	certDir := t.TempDir()
	tlstest.Write(t, filepath.Join(certDir, "a.pem"), ca.Issue(t, tlstest.RSA, "a.test", "a.test").Bundle())

	type result struct {
		logs, servers, checks []string
	}
	run := func(bin string) result {
		v1srv, v2srv := startPPRecorder(t), startPPRecorder(t)
		var chk [5]*ppRecorder
		for i := range chk {
			chk[i] = startPPRecorder(t)
		}
		ports := map[string]int{}
		for _, fe := range []string{"tcpfe", "httpfe", "expfe", "sslfe", "fetchfe", "ssltcp", "uidtcp", "uidhttp", "uidnone"} {
			ports[fe] = porttest.Free(t)
		}
		cfg := fmt.Sprintf(`global
    tune.ssl.default-dh-param 2048
defaults
    timeout client 500ms
    timeout server 5s
    timeout connect 1s
    log stdout format raw local0
frontend tcpfe
    mode tcp
    option tcplog
    bind 127.0.0.1:%d accept-proxy
    default_backend v1
frontend httpfe
    mode http
    option httplog
    option forwardfor
    bind 127.0.0.1:%d accept-proxy
    default_backend v2http
frontend expfe
    mode tcp
    option tcplog
    bind 127.0.0.1:%d
    tcp-request connection expect-proxy layer4 if { src 127.0.0.1 }
    default_backend v2
frontend sslfe
    mode http
    option httplog
    option forwardfor
    bind 127.0.0.1:%d accept-proxy ssl crt %s/a.pem alpn http/1.1
    default_backend v2http
frontend ssltcp
    mode tcp
    option tcplog
    bind 127.0.0.1:%d accept-proxy ssl crt %s/a.pem
    default_backend v2
frontend uidtcp
    mode tcp
    bind 127.0.0.1:%d accept-proxy
    unique-id-format %%ci:%%cp_%%f_%%[dst_port]
    log-format "%%ci:%%cp %%ID %%b/%%s %%ts"
    default_backend v2uid
frontend uidhttp
    mode http
    bind 127.0.0.1:%d accept-proxy
    unique-id-format %%ci_%%[req.hdr(host)]
    log-format "%%ci:%%cp %%ID %%b/%%s %%ST"
    default_backend v2uidhttp
frontend uidnone
    mode tcp
    bind 127.0.0.1:%d accept-proxy
    log-format "%%ci:%%cp %%b/%%s %%ts"
    default_backend v2uid
backend v2uid
    mode tcp
    server s1 %s send-proxy-v2 proxy-v2-options unique-id
backend v2uidhttp
    mode http
    server s1 %s send-proxy-v2 proxy-v2-options unique-id,crc32c
frontend fetchfe
    mode http
    bind 127.0.0.1:%d accept-proxy
    stick-table type ip size 1k expire 1m store http_req_cnt
    http-request track-sc0 src
    http-request set-header X-Fetches "%%[src] %%[src_port] %%[dst] %%[dst_port] %%[sc0_http_req_cnt]"
    log-format "%%ci:%%cp %%fi:%%fp %%[src] %%[src_port] %%[dst] %%[dst_port] %%b %%ST"
    default_backend v1http
backend v1http
    mode http
    server s1 %s send-proxy
backend v1
    mode tcp
    server s1 %s send-proxy
backend v2
    mode tcp
    server s1 %s send-proxy-v2
backend v2http
    mode http
    server s1 %s send-proxy-v2 proxy-v2-options crc32c,authority,ssl
backend checks
    mode tcp
    server c1 %s check inter 200ms send-proxy
    server c2 %s check inter 200ms send-proxy-v2 proxy-v2-options crc32c
    server c3 %s check inter 200ms check-send-proxy
backend tcpchecks
    mode tcp
    option tcp-check
    tcp-check connect send-proxy
    server c4 %s check inter 200ms
    server c5 %s check inter 200ms send-proxy-v2
`, ports["tcpfe"], ports["httpfe"], ports["expfe"], ports["sslfe"], certDir, ports["ssltcp"], certDir, ports["uidtcp"], ports["uidhttp"], ports["uidnone"], v2srv.addr, v2srv.addr, ports["fetchfe"], v1srv.addr, v1srv.addr, v2srv.addr, v2srv.addr,
			chk[0].addr, chk[1].addr, chk[2].addr, chk[3].addr, chk[4].addr)
		var bound []int
		for _, p := range ports {
			bound = append(bound, p)
		}
		out, _, stop := startDB(t, bin, cfg, bound...)
		defer stop()
		var res result
		for _, tc := range cases {
			before := out.count()
			nsrv := len(v1srv.records()) + len(v2srv.records())
			ppTalk(t, fmt.Sprintf("127.0.0.1:%d", ports[tc.fe]), tc)
			out.waitFor(t, before+1)
			if tc.served {
				waitUntil(t, tc.name+": the server's record", func() bool { return len(v1srv.records())+len(v2srv.records()) > nsrv })
			}
		}
		for i, c := range chk {
			waitUntil(t, fmt.Sprintf("health check %d", i+1), func() bool { return len(c.records()) > 0 })
			res.checks = append(res.checks, c.records()[0])
		}
		for _, l := range out.lines() {
			if !strings.HasPrefix(l, "[") {
				res.logs = append(res.logs, maskLoopback(normalizeLog(l)))
			}
		}
		for _, r := range append(v1srv.records(), v2srv.records()...) {
			res.servers = append(res.servers, maskLoopback(normalizeLog(r)))
		}
		return res
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	compare := func(what string, ref, got []string) {
		t.Helper()
		for i := 0; i < max(len(ref), len(got)); i++ {
			var r, g string
			if i < len(ref) {
				r = ref[i]
			}
			if i < len(got) {
				g = got[i]
			}
			if r != g {
				t.Errorf("%s %d differs\nhaproxy: %q\n gproxy: %q", what, i+1, r, g)
			}
		}
	}
	compare("log line", ref.logs, got.logs)
	compare("server record", ref.servers, got.servers)
	compare("health check", ref.checks, got.checks)
	if t.Failed() || testing.Verbose() {
		t.Logf("haproxy:\n%s\n%s\n%s", strings.Join(ref.logs, "\n"), strings.Join(ref.servers, "\n"), strings.Join(ref.checks, "\n"))
	}
}

// maskLoopback hides the ports of loopback addresses written apart
// ("%[src] %[src_port]").
func maskLoopback(s string) string { return loopbackPortRe.ReplaceAllString(s, "127.0.0.1 PORT") }

var loopbackPortRe = regexp.MustCompile(`127\.0\.0\.1 \d+`)

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// ppTalk runs one client of the case table, bounded by 5 s.
func ppTalk(t *testing.T, addr string, tc ppCase) {
	t.Helper()
	if tc.curl {
		out, err := exec.Command("curl", "-sS", "--max-time", "5", "--haproxy-protocol", "http://"+addr+"/pp").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		return
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if len(tc.send) > 0 {
		if _, err := c.Write(tc.send); err != nil {
			t.Fatal(err)
		}
	}
	switch {
	case tc.tls:
		tc := tls.Client(c, &tls.Config{ServerName: "a.test", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS after the PROXY header: %v", err)
		}
		if _, err := io.WriteString(tc, ppRequest); err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, tc)
	case tc.stall:
		_, _ = io.Copy(io.Discard, c) // until the proxy gives up
	case !tc.served:
		// Bad headers: the bytes are in before the close, which the
		// proxy judges by one peek.
		if len(tc.send) > 0 {
			_, _ = io.Copy(io.Discard, c)
		}
	default:
		_, _ = io.Copy(io.Discard, c)
	}
}

// waitUntil polls cond, at most 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, still waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
