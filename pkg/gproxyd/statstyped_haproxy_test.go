package gproxyd_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// typedMasks are the fields whose values differ between two processes
// run side by side for reasons unrelated to the typed format compared
// here: the clock (ages, averages and maxima of durations, rates over the
// last second, uptime and start time), the process (pid, threads, run
// queue, memory pools, tasks, jobs, file descriptor limits, host name),
// haproxy's own stats socket, which it counts as a listener, whose
// sessions it counts as connections and requests and whose output it
// counts as bytes out, and need_conn_est, haproxy's estimate of the idle
// server connections to keep, which gproxy does not make (it prints 0).
// Their position, name, tags and type are still compared; only the value
// is masked. The text `show info` and the CSV differ in the same values.
var typedMasks = regexp.MustCompile(`^(.*\.(lastchg|downtime|lastsess|check_duration|qtime|ctime|rtime|ttime|qtime_max|ctime_max|rtime_max|ttime_max|need_conn_est|rate|rate_max|req_rate|req_rate_max|conn_rate|conn_rate_max|` +
	`Nbthread|Pid|Uptime|Uptime_sec|Ulimit-n|Maxsock|CumConns|CumReq|Tasks|Jobs|Listeners|PoolAlloc_bytes|PoolUsed_bytes|Start_time_sec|MaxConnRate|MaxSessRate|ConnRate|SessRate|Idle_pct|Run_queue|node|TotalBytesOut|BytesOutRate)\.1:[^:]*:[^:]*:).*$`)

// jsonMasks masks the same fields in the JSON exports, once split into
// one field per line.
var jsonMasks = regexp.MustCompile(`^(.*"name":"(` + strings.Split(strings.Split(typedMasks.String(), `\.(`)[1], `)\.1`)[0] + `)"\},.*,"value":)([^}]*)(\}\}.*)$`)

func maskTyped(s string) string {
	if strings.HasPrefix(s, "[") {
		if !json.Valid([]byte(s)) {
			return "invalid JSON: " + s
		}
		for _, sep := range []string{`},{"objType"`, `},{"field"`, `],[`} {
			s = strings.ReplaceAll(s, sep, sep[:2]+"\n"+sep[2:])
		}
	}
	// A check in progress ("* L4OK") is a matter of timing too.
	s = strings.ReplaceAll(s, ".check_status.1:MOP:str:* ", ".check_status.1:MOP:str:")
	s = strings.ReplaceAll(s, `"name":"check_status"},"processNum":1,"tags":{"origin":"Metric","nature":"Output","scope":"Process"},"value":{"type":"str","value":"* `,
		`"name":"check_status"},"processNum":1,"tags":{"origin":"Metric","nature":"Output","scope":"Process"},"value":{"type":"str","value":"`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = typedMasks.ReplaceAllString(l, "${1}MASKED")
		lines[i] = jsonMasks.ReplaceAllString(l, "${1}MASKED${4}")
	}
	return strings.Join(lines, "\n")
}

// TestIntegrationShowTypedHaproxy: `show stat typed|json` (all rows, and
// with <iid> <type> <sid> filters) and `show info typed|json` on haproxy 2.6's
// stats socket and gproxy's print the same lines, byte for byte, for
// frontends, backends and servers in modes http and tcp, with and without
// a health check, maxconn, backup and weight;
// values that depend on time or on the process are masked (typedMasks
// says which and why); and the stats page's ;typed and ;json exports.
func TestIntegrationShowTypedHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	srv := haproxytest.Serve(t, 10*time.Second, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return // a health check's connection
		}
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	})
	dir := t.TempDir()
	socks := map[string]string{}
	ports, statsPorts := map[string]int{}, map[string]int{}
	for n, bin := range map[string]string{"hp": haproxytest.Bin, "gp": gproxyBin} {
		socks[n] = filepath.Join(dir, n+".sock")
		ports[n] = porttest.Free(t)
		tcpPort := porttest.Free(t)
		statsPorts[n] = porttest.Free(t)
		startDB(t, bin, fmt.Sprintf(`global
    maxconn 1000
    stats socket %[1]s level admin
defaults
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fh
    mode http
    bind 127.0.0.1:%[2]d
    default_backend bh
frontend ft
    mode tcp
    bind 127.0.0.1:%[3]d
    default_backend bt
backend bh
    mode http
    balance roundrobin
    server s1 %[4]s
    server s2 %[4]s check inter 2s
    server s3 %[4]s disabled
    server s4 127.0.0.1:1 check inter 2s fall 1
backend bt
    mode tcp
    server t1 %[4]s maxconn 10
    server t2 %[4]s backup weight 5
listen stats
    mode http
    bind 127.0.0.1:%[5]d
    stats enable
    stats uri /st
    stats refresh 5s
`, socks[n], ports[n], tcpPort, srv.Addr(), statsPorts[n]), ports[n], tcpPort, statsPorts[n])
	}
	// No request goes through: this test is about the formats; the
	// counters' values after traffic are TestIntegrationHTTPCountersHaproxy's
	// (statshttp_haproxy_test.go). Wait for s2's first check result on
	// both.
	ready := regexp.MustCompile(`(?m)^S\.4\.2\.36\.check_status\.1:MOP:str:L4OK$`)
	down := regexp.MustCompile(`(?m)^S\.4\.4\.17\.status\.1:SGP:str:DOWN$`)
	for _, n := range []string{"hp", "gp"} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			out := askAll(t, socks[n], "show stat typed")
			if ready.MatchString(out) && down.MatchString(out) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no check result after 20 s:\n%s", n, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, cmd := range []string{"show stat typed", "show stat 4 -1 -1 typed", "show stat bt 4 -1 typed",
		"show stat -1 2 -1 typed", "show info typed", "show stat json", "show stat 4 -1 -1 json", "show stat bt 2 -1 typed json",
		"show stat json typed", "show info json", "show info typed json",
		// servers in maintenance (s3) and down (s4) hidden, backend
		// statuses with their "(up/all)" count
		"show stat typed up", "show stat no-maint json", "show stat bh 4 -1 typed no-maint up"} {
		want := maskTyped(askAll(t, socks["hp"], cmd))
		got := maskTyped(askAll(t, socks["gp"], cmd))
		if !strings.Contains(want, ".pxname.1:KNS:str:") && !strings.Contains(want, `"name":"pxname"}`) && !strings.Contains(want, "Name") ||
			!strings.Contains(want, "MASKED") {
			t.Errorf("%s: haproxy's answer is not the export, or nothing was masked:\n%.300s", cmd, want)
		}
		if want != got {
			t.Errorf("%s: haproxy and gproxy differ:\n%s", cmd, typedDiff(want, got))
		} else {
			t.Logf("%s: %d lines identical", cmd, strings.Count(want, "\n"))
		}
	}
	// The stats page's exports: ";typed" wins over ";csv", ";json" over
	// both, as haproxy searches them. Scoped to one backend (haproxy
	// ignores a scope shorter than two characters): the stats proxy's own
	// counters count the page's requests, whose bytes differ (the page's
	// HTML is not haproxy's byte for byte).
	for _, u := range []string{"/st;typed?scope=bh", "/st;json?scope=bt", "/st;csv;typed?scope=bt", "/st;typed;json;norefresh?scope=bh",
		"/st;typed;no-maint?scope=bh", "/st;json;up?scope=bh"} {
		get := func(n string) string {
			c := &http.Client{Timeout: 10 * time.Second}
			res, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", statsPorts[n], u))
			if err != nil {
				t.Fatalf("%s %s: %v", n, u, err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatalf("%s %s: %v", n, u, err)
			}
			return fmt.Sprintf("%d Cache-Control=%q Content-Type=%q Refresh=%q\n%s", res.StatusCode,
				res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"), res.Header.Get("Refresh"), maskTyped(string(body)))
		}
		want, got := get("hp"), get("gp")
		if !strings.HasPrefix(want, "200 ") || !strings.Contains(want, "MASKED") {
			t.Errorf("%s: haproxy's answer is not the export:\n%.300s", u, want)
		}
		if want != got {
			t.Errorf("%s: haproxy and gproxy differ:\n%s", u, typedDiff(want, got))
		} else {
			t.Logf("%s: %d lines identical", u, strings.Count(want, "\n"))
		}
	}
}

// typedDiff lists the lines only haproxy printed and those only gproxy
// printed (a missing field shifts every line after it, which a line by
// line comparison would report as a cascade).
func typedDiff(want, got string) string {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		count[l]--
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if count[l] > 0 {
			b.WriteString("haproxy only: " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if count[l] < 0 {
			b.WriteString("gproxy only:  " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "same lines in another order"
	}
	return b.String()
}

// askAll sends one command to a stats socket and returns the whole answer
// (a JSON export is one line longer than a bufio.Scanner takes).
func askAll(t *testing.T, sock, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(c, cmd)
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(b)
}
