package proxy

import (
	"strings"
	"testing"
)

// The client's addresses at haproxy 2.6's three levels, through haproxy
// 2.6.12 and gproxy (reg-test connection/cli_src_dst): the connection's
// (fc_src, fc_dst: the socket's, or as `tcp-request connection set-src`
// set them), the session's (a PROXY header's, `tcp-request session
// set-src`) and the stream's (`tcp-request content` and `http-request`
// set-src, per request). Each response's x-a field, the head the server
// received (its PROXY line and X-Forwarded-For) and the log line's client
// address must be the same.
var addrLevelsConfigs = map[string]string{
	// A PROXY header hides the connection's addresses from src/dst, not
	// from fc_src/fc_dst; connection rules change the latter.
	"proxy": `defaults
    mode http
    log 127.0.0.1:LOGPORT local0
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen web
    bind FRONT accept-proxy
    log global
    option forwardfor
    tcp-request connection set-dst ipv4(10.0.0.2) if { src 127.0.0.1 }
    http-request set-src hdr(x-src) if { req.hdr(x-src) -m found }
    http-request set-dst-port int(8443) if { path_beg /port }
    http-after-response set-header x-a "fc=%[fc_src]/%[fc_dst] src=%[src] dst=%[dst]:%[dst_port]"
    server s1 BACKEND send-proxy
`,
	// Every level of set-src without a PROXY header.
	"levels": `defaults
    mode http
    log 127.0.0.1:LOGPORT local0
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen web
    bind FRONT
    log global
    option forwardfor
    tcp-request connection set-src ipv4(10.0.0.1)
    tcp-request connection set-var(sess.c) src
    tcp-request session set-src ipv4(10.1.0.1)
    tcp-request session set-src-port int(4242)
    tcp-request session set-var(sess.s) src
    tcp-request inspect-delay 1s
    tcp-request content set-src ipv4(10.2.0.1) if { req.hdr(x-content) -m found }
    tcp-request content set-var(txn.t) src
    http-request set-src str(192.168.7.7) if { path_beg /http }
    http-after-response set-header x-a "fc=%[fc_src] c=%[var(sess.c)] s=%[var(sess.s)] t=%[var(txn.t)] src=%[src]:%[src_port]"
    server s1 BACKEND send-proxy
`,
	// mode tcp: the stream's address goes to the log and the PROXY line.
	"tcp": `defaults
    mode tcp
    log 127.0.0.1:LOGPORT local0
    option tcplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen web
    bind FRONT
    log global
    tcp-request connection set-src ipv4(10.0.0.1)
    tcp-request inspect-delay 1s
    tcp-request content set-src ipv4(10.2.0.1) if { req.payload(0,4) -m str "GET " }
    server s1 BACKEND send-proxy
`,
}

func TestIntegrationAddrLevelsHaproxy(t *testing.T) {
	pp := "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n"
	get := func(path, hdr string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + hdr + "\r\n"
	}
	cases := []struct{ cfg, raw string }{
		{"proxy", pp + get("/", "")},
		{"proxy", pp + get("/port", "X-Src: 172.16.0.9\r\n")},
		{"levels", get("/", "")},
		{"levels", get("/", "X-Content: 1\r\n")},
		{"levels", get("/http", "X-Content: 1\r\n")},
		{"tcp", get("/", "")},
		{"tcp", "POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"},
	}
	type seen struct{ resp, head, client string }
	var got [2][]seen
	for i, name := range []string{"haproxy", "gproxy"} {
		for _, c := range cases {
			b := startCaptureBackend(t)
			var p wireProxy
			if i == 0 {
				p = startWireHaproxy(t, addrLevelsConfigs[c.cfg], b.addr)
			} else {
				p = startWireGproxy(t, addrLevelsConfigs[c.cfg], b.addr, nil)
			}
			out, heads := exchangeAll(t, p, b, c.raw+"", 1)
			var s seen
			for _, line := range strings.Split(out, "\r\n") {
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "x-a") {
					s.resp = strings.TrimSpace(v)
				}
			}
			if len(heads) > 0 {
				s.head = addrLines(heads[0])
			}
			logs := p.logs()
			if len(logs) > 0 {
				s.client = logClient(logs[len(logs)-1])
			}
			got[i] = append(got[i], s)
			t.Logf("%s %s %q: %+v", name, c.cfg, c.raw, s)
		}
	}
	for j, c := range cases {
		if got[0][j] != got[1][j] {
			t.Errorf("%s %q:\ngproxy:  %+v\nhaproxy: %+v", c.cfg, c.raw, got[1][j], got[0][j])
		}
	}
}

// addrLines are the lines of a head the server received that carry the
// client's address: the PROXY line (its source port masked unless a rule
// set it, and the destination port: the frontend's) and X-Forwarded-For.
func addrLines(head string) string {
	var l []string
	for _, line := range strings.Split(head, "\r\n") {
		switch {
		case strings.HasPrefix(line, "PROXY "):
			f := strings.Fields(line)
			if len(f) == 6 && f[4] != "4242" && f[4] != "1111" {
				f[4] = "PORT"
			}
			if len(f) == 6 && f[5] != "2222" && f[5] != "8443" {
				f[5] = "PORT"
			}
			l = append(l, strings.Join(f, " "))
		case strings.HasPrefix(strings.ToLower(line), "x-forwarded-for:"):
			l = append(l, line)
		}
	}
	return strings.Join(l, " | ")
}

// logClient is an httplog line's client address, its port masked unless
// a rule or the PROXY header set it.
func logClient(line string) string {
	for _, f := range strings.Fields(line) {
		if i := strings.LastIndexByte(f, ':'); i > 0 && strings.Count(f, ".") == 3 {
			if port := f[i+1:]; port != "4242" && port != "1111" {
				return f[:i] + ":PORT"
			}
			return f
		}
	}
	return ""
}
