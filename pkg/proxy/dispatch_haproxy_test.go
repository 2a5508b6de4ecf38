package proxy

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
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

// dispatchProxies are listen sections using `dispatch`: the request a
// client sends, and what it must get back.
var dispatchProxies = []struct{ name, lines, mode, want string }{
	{"dtcp", "mode tcp\n    option tcplog\n    dispatch {TCP}", "tcp", "one:hello\n"},
	{"dhttp", "mode http\n    option httplog\n    dispatch {HTTP}", "http", "HTTP/1.1 200 OK"},
	// srv_name finds no server behind a dispatch address.
	{"dsrvname", "mode http\n    option httplog\n    http-response set-status 201 if { srv_name -m found }\n    dispatch {HTTP}", "http", "HTTP/1.1 200 OK"},
	// Refused connections: retried, then a 503 (an SC close in mode tcp).
	{"dhdown", "mode http\n    option httplog\n    retries 1\n    dispatch {DEAD}", "http", "HTTP/1.1 503 Service Unavailable"},
	// option redispatch: the last retry goes back to the (same) address.
	{"dredisp", "mode http\n    option httplog\n    retries 2\n    option redispatch\n    dispatch {DEAD}", "http", "HTTP/1.1 503 Service Unavailable"},
	{"dtredisp", "mode tcp\n    option tcplog\n    retries 1\n    option redispatch\n    dispatch {DEAD}", "tcp", ""},
	{"dtdown", "mode tcp\n    option tcplog\n    retries 0\n    dispatch {DEAD}", "tcp", ""},
	// A balance algorithm makes haproxy ignore the address (a warning).
	{"dbal", "mode tcp\n    option tcplog\n    balance roundrobin\n    dispatch {DEAD}\n    server s {TCP}", "tcp", "one:hello\n"},
}

func dispatchConfig(port func(string) int, vars map[string]string, logPort int, sock string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n    log 127.0.0.1:%d local0\n", logPort)
	if sock != "" {
		fmt.Fprintf(&b, "    stats socket %s level admin\n", sock)
	}
	b.WriteString("defaults\n    log global\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n")
	for _, px := range dispatchProxies {
		lines := px.lines
		for k, v := range vars {
			lines = strings.ReplaceAll(lines, "{"+k+"}", v)
		}
		fmt.Fprintf(&b, "listen %s\n    bind 127.0.0.1:%d\n    %s\n", px.name, port(px.name), lines)
	}
	return b.String()
}

// dispatchExchange sends a line (mode tcp) or a request (mode http) and
// returns what came back: the whole answer in mode tcp, the status line
// in mode http.
func dispatchExchange(t *testing.T, addr, mode string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	if mode == "tcp" {
		_, _ = io.WriteString(c, "hello\n")
		_ = c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		return string(b)
	}
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(c)
	return statusLine(string(b))
}

// dispatchStatKeys are the `show stat` columns compared for each proxy's
// rows: which rows exist (no server row for a dispatch address), the
// sessions, connection errors, retries and load-balanced connections.
var dispatchStatKeys = []string{"status", "stot", "econ", "wretr", "wredis", "lbtot"}

// haproxyStatRows reads `show stat` on haproxy's stats socket: "px/sv"
// to the compared columns.
func haproxyStatRows(t *testing.T, sock string) map[string]string {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	_, _ = io.WriteString(c, "show stat\n")
	br := bufio.NewReader(c)
	head, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	cols := strings.Split(strings.TrimPrefix(strings.TrimSpace(head), "# "), ",")
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	out := map[string]string{}
	for {
		rec, err := r.Read()
		if err != nil || len(rec) < len(cols)-1 {
			break
		}
		m := map[string]string{}
		for i, c := range cols {
			if i < len(rec) {
				m[c] = rec[i]
			}
		}
		if m["svname"] == "FRONTEND" {
			continue
		}
		var vals []string
		for _, k := range dispatchStatKeys {
			vals = append(vals, k+"="+m[k])
		}
		out[m["pxname"]+"/"+m["svname"]] = strings.Join(vals, " ")
	}
	return out
}

// gproxyStatRows gives the same columns from the engine's counters (the
// stats package writes its rows from them; it reports a backend without
// servers UP, as haproxy).
func gproxyStatRows(e *Engine) map[string]string {
	out := map[string]string{}
	row := func(name string, st Stats, status string) {
		out[name] = fmt.Sprintf("status=%s stot=%d econ=%d wretr=%d wredis=%d lbtot=%d", status, st.TotalSessions, st.ConnErrors, st.Retries, st.Redispatches, st.LBConns)
	}
	for _, px := range dispatchProxies {
		b := e.Backend(px.name)
		status := "UP"
		if len(b.Servers()) > 0 && b.Status() == StatusDown {
			status = "DOWN"
		}
		row(px.name+"/BACKEND", b.Stats(), status)
		for _, s := range b.Servers() {
			st := s.Stats()
			st.LBConns = st.TotalSessions // haproxy's lbtot of a server: its load-balanced connections
			row(px.name+"/"+s.Name(), st, "no check")
		}
	}
	return out
}

// TestIntegrationDispatchHaproxy runs `dispatch` through haproxy 2.6.12 and
// gproxy: the client's answer, the log line (backend/server field
// included) and the `show stat` rows must match.
func TestIntegrationDispatchHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	vars := map[string]string{"TCP": startTCPEcho(t, "one"), "HTTP": startEchoServer(t, "one"), "DEAD": fmt.Sprintf("127.0.0.1:%d", deadPort(t))}
	run := func(addr func(string) string, logs func() []string) map[string][2]string {
		out := map[string][2]string{}
		for _, px := range dispatchProxies {
			n := len(logs())
			got := dispatchExchange(t, addr(px.name), px.mode)
			for end := time.Now().Add(deadline); len(logs()) < n+1 && time.Now().Before(end); {
				time.Sleep(5 * time.Millisecond)
			}
			var lines []string
			for _, l := range logs()[n:] {
				lines = append(lines, tcpLogFields(l))
			}
			out[px.name] = [2]string{got, strings.Join(lines, "\n")}
		}
		return out
	}

	sink := syslogtest.NewSink(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	hports := map[string]int{}
	for _, px := range dispatchProxies {
		hports[px.name] = uniquePort(t, hports)
	}
	haproxytest.Start(t, dispatchConfig(func(n string) int { return hports[n] }, vars, sink.Port(), sock))
	for _, p := range hports {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", p))
	}
	hap := run(func(n string) string { return fmt.Sprintf("127.0.0.1:%d", hports[n]) }, func() []string {
		var msgs []string
		for _, raw := range sink.Datagrams() {
			d, err := syslogtest.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(d.Msg, "Proxy ") {
				msgs = append(msgs, d.Msg)
			}
		}
		return msgs
	})
	hapStats := haproxyStatRows(t, sock)

	lns := map[string]net.Listener{}
	gports := map[string]int{}
	for _, px := range dispatchProxies {
		ln, bind := listen(t)
		lns[bind.Address()] = ln
		gports[px.name] = bind.Port
	}
	cfg, diags, err := haproxycfg.Parse("dispatch.cfg", []byte(dispatchConfig(func(n string) int { return gports[n] }, vars, 9, "")), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "dispatch address of proxy 'dbal' will be ignored in balance mode.") {
		t.Errorf("diagnostics: %v, want haproxy's warning for dbal", diags)
	}
	var mu sync.Mutex
	var msgs []string
	e, err := New(cfg, Options{
		Logger:    zerolog.Nop(),
		Listeners: lns,
		SessionLog: func(px *haproxycfg.Proxy, s accesslog.Session) {
			line := accesslog.TCPLog(s)
			if px.Options.HTTPLog {
				line = accesslog.HTTPLog(s)
			}
			mu.Lock()
			msgs = append(msgs, line)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	got := run(func(n string) string { return fmt.Sprintf("127.0.0.1:%d", gports[n]) }, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	})
	gotStats := gproxyStatRows(e)

	for _, px := range dispatchProxies {
		h, g := hap[px.name], got[px.name]
		if h[0] != px.want {
			t.Errorf("%s: haproxy answered %q, want %q", px.name, h[0], px.want)
		}
		if g[0] != h[0] {
			t.Errorf("%s: the client received %q through haproxy, %q through gproxy", px.name, h[0], g[0])
		}
		if h[1] == "" || !sameTCPLogs(h[1], g[1]) {
			t.Errorf("%s: log differs\nhaproxy: %q\ngproxy:  %q", px.name, h[1], g[1])
		}
	}
	for _, want := range []string{"dtcp/<NOSRV>", "dhttp/<NOSRV>", "dhdown/<NOSRV>", "dbal/s"} {
		if !strings.Contains(hap[strings.Split(want, "/")[0]][1], " "+want+" ") {
			t.Errorf("haproxy's log for %s: %q", want, hap[strings.Split(want, "/")[0]][1])
		}
	}
	if len(gotStats) != len(hapStats) {
		t.Errorf("show stat rows: haproxy %v, gproxy %v", hapStats, gotStats)
	}
	// Anchors: no server row for a dispatch address; lbtot stays 0.
	haproxytest.CompareObservations(t, "show stat", hapStats, gotStats, haproxytest.Equal, map[string]string{
		"dtcp/BACKEND":   "status=UP stot=1 econ=0 wretr=0 wredis=0 lbtot=0",
		"dhdown/BACKEND": "status=UP stot=1 econ=1 wretr=1 wredis=0 lbtot=0",
	})
}
