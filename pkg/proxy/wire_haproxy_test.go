package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/syslog/syslogtest"
)

// This file compares what a server and a client see through gproxy with
// what they see through haproxy 2.6.12 for the same configuration and the
// same bytes: the request head the server receives, the response the
// client receives and the httplog line. The TestIntegration* tests run
// haproxy; the others check gproxy against what haproxy was seen doing,
// kept in the case tables.

// captureBackend is a server that records each request head it receives,
// byte for byte, and answers "ok" closing the connection.
type captureBackend struct {
	addr  string
	mu    sync.Mutex
	heads []string
}

func startCaptureBackend(t *testing.T) *captureBackend {
	t.Helper()
	b := &captureBackend{}
	ln := haproxytest.Serve(t, deadline, func(c net.Conn) {
		br := bufio.NewReader(c)
		var head bytes.Buffer
		cl := 0
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				return
			}
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "content-length") {
				cl, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if line == "\r\n" || line == "\n" {
				break
			}
		}
		_, _ = io.CopyN(io.Discard, br, int64(cl))
		b.mu.Lock()
		b.heads = append(b.heads, head.String())
		b.mu.Unlock()
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
	})
	b.addr = ln.Addr().String()
	return b
}

func (b *captureBackend) received() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.heads...)
}

// wireProxy is a running proxy: its frontend address and its log lines.
type wireProxy struct {
	addr string
	logs func() []string
}

// wireConfig fills a configuration template: FRONT is the frontend's
// address, BACKEND the capture server's, LOGPORT the syslog port.
func wireConfig(tmpl, front, backend string, logPort int) string {
	return strings.NewReplacer("FRONT", front, "BACKEND", backend, "LOGPORT", strconv.Itoa(logPort)).Replace(tmpl)
}

// startWireGproxy runs the engine on the template; local answers the
// stats and Prometheus requests.
func startWireGproxy(t *testing.T, tmpl, backend string, local http.Handler) wireProxy {
	t.Helper()
	ln, bind := listen(t)
	src := wireConfig(tmpl, bind.Address(), backend, 9)
	cfg, _, err := haproxycfg.Parse("wire.cfg", []byte(src), haproxycfg.ParseOptions{ReadFile: os.ReadFile})
	if err != nil {
		t.Fatal(err)
	}
	logs := serveHTTPLogged(t, cfg, map[string]net.Listener{bind.Address(): ln}, local, nil)
	return wireProxy{addr: bind.Address(), logs: logs}
}

// startWireHaproxy runs the reference haproxy on the template.
func startWireHaproxy(t *testing.T, tmpl, backend string) wireProxy {
	t.Helper()
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	sink := syslogtest.NewSink(t)
	front := fmt.Sprintf("127.0.0.1:%d", deadPort(t))
	haproxytest.Start(t, wireConfig(tmpl, front, backend, sink.Port()))
	haproxytest.WaitBound(t, front)
	return wireProxy{addr: front, logs: func() []string {
		var msgs []string
		for _, raw := range sink.Datagrams() {
			d, err := syslogtest.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(d.Msg, "Proxy ") {
				continue
			}
			msgs = append(msgs, d.Msg)
		}
		return msgs
	}}
}

// wireResult is what one exchange showed: the head the server received
// ("" if none), the client's response, and the log line's fields from
// backend/server, timers (-1 or n), status and termination state, and the
// bytes field apart.
type wireResult struct {
	head, response, log, bytes string
}

// exchange sends raw on a new connection, reads the response to the
// close, and waits for the log line.
func exchange(t *testing.T, p wireProxy, b *captureBackend, raw string) wireResult {
	t.Helper()
	nlogs, nheads := len(p.logs()), len(b.received())
	c, err := net.DialTimeout("tcp", p.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	// Read one response, then what follows up to the close unless the
	// response keeps the connection open.
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	if resp, err := http.ReadResponse(br, nil); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			_, _ = io.Copy(io.Discard, br)
		}
	}
	eventually(t, "the log line", func() bool { return len(p.logs()) > nlogs })
	var r wireResult
	r.response = got.String()
	if heads := b.received(); len(heads) > nheads {
		r.head = heads[nheads]
	}
	f, err := httpLogFields(p.logs()[nlogs])
	if err != nil {
		t.Fatal(err)
	}
	r.log = strings.Join([]string{f[2], f[3], f[4], f[8]}, " ")
	r.bytes = f[5]
	return r
}

// statusLine is the first line of a response.
func statusLine(resp string) string {
	l, _, _ := strings.Cut(resp, "\r\n")
	return l
}

// exchangeAll sends raw on a new connection, reads everything up to the
// close and waits for n log lines; it returns the client's bytes and the
// heads the server received meanwhile.
func exchangeAll(t *testing.T, p wireProxy, b *captureBackend, raw string, n int) (string, []string) {
	t.Helper()
	nlogs, nheads := len(p.logs()), len(b.received())
	c, err := net.DialTimeout("tcp", p.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, _ := io.ReadAll(c)
	eventually(t, "the log lines", func() bool { return len(p.logs()) >= nlogs+n })
	return string(resp), b.received()[nheads:]
}
