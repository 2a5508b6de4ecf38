package proxy

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// tcpSessFrontends are TLS frontends whose tcp-request session rules
// look at the handshake: haproxy runs them after it, so they see the
// client's SNI; connection rules run before it and do not.
var tcpSessFrontends = []struct{ name, mode, lines string }{
	{"sessrej", "http", "tcp-request session reject if { ssl_fc_sni -m found }"},
	{"sessacc", "http", "tcp-request session accept if { ssl_fc_sni default.test }\n    tcp-request session reject"},
	{"connsni", "http", "tcp-request connection reject if { ssl_fc_sni -m found }"},
	{"tcpsessrej", "tcp", "tcp-request session reject if { ssl_fc_sni -m found }"},
	{"tcpsessacc", "tcp", "tcp-request session reject unless { ssl_fc_sni default.test }"},
}

func tcpSessConfig(port func(string) int, crt, httpSrv, tcpSrv string) string {
	var b strings.Builder
	b.WriteString("defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 1s\n")
	for _, fe := range tcpSessFrontends {
		srv := httpSrv
		if fe.mode == "tcp" {
			srv = tcpSrv
		}
		fmt.Fprintf(&b, "listen %s\n    mode %s\n    bind 127.0.0.1:%d ssl crt %s\n    %s\n    server s %s\n",
			fe.name, fe.mode, port(fe.name), crt, fe.lines, srv)
	}
	return b.String()
}

// tcpSessExchange makes a TLS connection naming default.test and sends
// an HTTP request (a line for mode tcp): what came back, or "closed".
func tcpSessExchange(t *testing.T, addr, mode string) string {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: "default.test", InsecureSkipVerify: true})
	if err != nil {
		return "handshake failed"
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	msg := "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	if mode == "tcp" {
		msg = "hello\n"
	}
	if _, err := io.WriteString(c, msg); err != nil {
		return "closed"
	}
	if mode == "tcp" {
		_ = c.CloseWrite()
	}
	b, _ := io.ReadAll(c)
	if len(b) == 0 {
		return "closed"
	}
	return statusLine(string(b))
}

// TestIntegrationTCPSessionTLSHaproxy runs the cases through haproxy
// 2.6.12 and gproxy: the client must see the same outcome.
func TestIntegrationTCPSessionTLSHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	crt := filepath.Join(dir, "default.pem")
	tlstest.Write(t, crt, ca.Issue(t, tlstest.RSA, "default.test", "default.test").Bundle())
	httpSrv, tcpSrv := startEchoServer(t, "one"), startTCPEcho(t, "one")

	hports := map[string]int{}
	for _, fe := range tcpSessFrontends {
		hports[fe.name] = uniquePort(t, hports)
	}
	haproxytest.Start(t, tcpSessConfig(func(n string) int { return hports[n] }, crt, httpSrv, tcpSrv))
	for _, p := range hports {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", p))
	}
	hap := map[string]string{}
	for _, fe := range tcpSessFrontends {
		hap[fe.name] = tcpSessExchange(t, fmt.Sprintf("127.0.0.1:%d", hports[fe.name]), fe.mode)
	}

	lns := map[string]net.Listener{}
	gports := map[string]int{}
	for _, fe := range tcpSessFrontends {
		ln, bind := listen(t)
		lns[bind.Address()] = ln
		gports[fe.name] = bind.Port
	}
	cfg, diags, err := haproxycfg.Parse("sess.cfg", []byte(tcpSessConfig(func(n string) int { return gports[n] }, crt, httpSrv, tcpSrv)),
		haproxycfg.ParseOptions{ReadFile: os.ReadFile})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	serveHTTPLogged(t, cfg, lns, nil, nil)
	for _, fe := range tcpSessFrontends {
		got := tcpSessExchange(t, fmt.Sprintf("127.0.0.1:%d", gports[fe.name]), fe.mode)
		if got != hap[fe.name] {
			t.Errorf("%s: haproxy: %q, gproxy: %q", fe.name, hap[fe.name], got)
		}
	}
	for name, want := range map[string]string{"sessrej": "closed", "sessacc": "HTTP/1.1 200 OK", "connsni": "HTTP/1.1 200 OK", "tcpsessrej": "closed"} {
		if hap[name] != want {
			t.Errorf("%s: haproxy gave %q, want %q", name, hap[name], want)
		}
	}
}
