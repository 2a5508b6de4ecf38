package gproxyd_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
)

// The peers protocol against Debian's haproxy 2.6: a mixed pair (one
// haproxy, one gproxy) replicates a stick table both ways, and a
// restarted node gets the table back from the other; then the same with
// two gproxy, and a gproxy reload that keeps its table.

// peerNode is one proxy of a pair: its names, ports and stats socket.
type peerNode struct {
	name string
	http string // where it serves HTTP
	sock string // its stats socket
	cfg  string // its configuration file
}

// peersConfig is the configuration of node me in a pair whose peers
// listen on addrs; every request is tracked in table be.
func peersConfig(t *testing.T, dir, me string, addrs map[string]string, httpAddr string) peerNode {
	names := make([]string, 0, len(addrs))
	for n := range addrs {
		names = append(names, n)
	}
	sort.Strings(names)
	var peers strings.Builder
	for _, n := range names {
		fmt.Fprintf(&peers, "    peer %s %s\n", n, addrs[n])
	}
	sock := filepath.Join(dir, me+".sock")
	text := fmt.Sprintf(`global
    localpeer %s
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
peers mypeers
%sbackend be
    stick-table type ip size 1m expire 10m peers mypeers store conn_cnt,http_req_rate(10s)
frontend fe
    bind %s
    http-request track-sc0 src table be
    http-request return status 200
`, me, sock, peers.String(), httpAddr)
	path := filepath.Join(dir, me+".cfg")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return peerNode{name: me, http: httpAddr, sock: sock, cfg: path}
}

// get sends n requests from source address src.
func (n peerNode) get(t *testing.T, src string, count int) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	cl := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	for i := 0; i < count; i++ {
		resp, err := cl.Get("http://" + n.http + "/")
		if err != nil {
			t.Fatalf("%s: %v", n.name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", n.name, resp.StatusCode)
		}
	}
}

// entryRe is a `show table` entry, its address aside.
var entryRe = regexp.MustCompile(`^0x[0-9a-f]+: key=(\S+) use=(\d+) exp=(\d+) (.*)$`)

// table reads `show table be` as key -> "use=N DATA..." (the expiry
// apart, as it runs down).
func (n peerNode) table(t *testing.T) (map[string]string, map[string]int) {
	t.Helper()
	c, err := net.DialTimeout("unix", n.sock, time.Second)
	if err != nil {
		return nil, nil
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprint(c, "show table be\n")
	out, exp := map[string]string{}, map[string]int{}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if m := entryRe.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]] = "use=" + m[2] + " " + m[4]
			exp[m[1]], _ = strconv.Atoi(m[3])
		}
	}
	return out, exp
}

// waitEntries polls n's table until it holds want exactly (values
// included), for at most d; it returns how long it took.
func (n peerNode) waitEntries(t *testing.T, d time.Duration, want map[string]string) time.Duration {
	t.Helper()
	start := time.Now()
	var got map[string]string
	for time.Since(start) < d {
		got, _ = n.table(t)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: table %v, want %v", n.name, got, want)
	return 0
}

// startHaproxyPeer runs Debian's haproxy on a node's configuration.
func startHaproxyPeer(t *testing.T, n peerNode) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(haproxytest.Bin, "-db", "-f", n.cfg)
	out := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("haproxy %s:\n%s", n.name, out)
		}
	})
	haproxytest.StartProc(t, cmd)
	waitListening(t, n.http)
	return cmd
}

func startGproxyPeer(t *testing.T, n peerNode, args ...string) *exec.Cmd {
	t.Helper()
	cmd, out := startGproxy(t, append([]string{"-f", n.cfg}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gproxy %s:\n%s", n.name, out)
		}
	})
	waitListening(t, n.http)
	return cmd
}

func stopProc(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _, _ = cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("did not stop within 10 s")
	}
}

func peerPair(t *testing.T) (a, b peerNode) {
	dir := t.TempDir()
	addrs := map[string]string{
		"a": fmt.Sprintf("127.0.0.1:%d", porttest.Free(t)),
		"b": fmt.Sprintf("127.0.0.1:%d", porttest.Free(t)),
	}
	a = peersConfig(t, dir, "a", addrs, fmt.Sprintf("127.0.0.1:%d", porttest.Free(t)))
	b = peersConfig(t, dir, "b", addrs, fmt.Sprintf("127.0.0.1:%d", porttest.Free(t)))
	return a, b
}

// TestPeersWithHaproxy: haproxy 2.6 is peer a, gproxy peer b.
func TestPeersWithHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs Debian's haproxy 2.6 at %s (integration/install-deps.sh)", haproxytest.Bin)
	}
	a, b := peerPair(t)
	ha := startHaproxyPeer(t, a)
	gb := startGproxyPeer(t, b)

	// Requests through haproxy show up in gproxy's table, as haproxy
	// prints them in its own.
	a.get(t, "127.0.0.1", 2)
	want := map[string]string{"127.0.0.1": "use=0 conn_cnt=2 http_req_rate(10000)=2"}
	a.waitEntries(t, 2*time.Second, want)
	took := b.waitEntries(t, 5*time.Second, want)
	t.Logf("haproxy -> gproxy: visible after %v", took)

	// And the other way.
	b.get(t, "127.0.0.2", 3)
	want["127.0.0.2"] = "use=0 conn_cnt=3 http_req_rate(10000)=3"
	b.waitEntries(t, 2*time.Second, want)
	took = a.waitEntries(t, 5*time.Second, want)
	t.Logf("gproxy -> haproxy: visible after %v", took)
	_, expA := a.table(t)
	_, expB := b.table(t)
	for k := range want {
		if d := expA[k] - expB[k]; d < -3000 || d > 3000 {
			t.Errorf("%s expires in %d ms on haproxy, %d ms on gproxy", k, expA[k], expB[k])
		}
	}

	// gproxy restarts empty and learns the table from haproxy.
	stopProc(t, gb)
	gb = startGproxyPeer(t, b)
	took = b.waitEntries(t, 10*time.Second, want)
	t.Logf("restarted gproxy: table back after %v", took)

	// haproxy restarts empty and learns it from gproxy.
	stopProc(t, ha)
	startHaproxyPeer(t, a)
	took = a.waitEntries(t, 10*time.Second, want)
	t.Logf("restarted haproxy: table back after %v", took)
	_ = gb
}

// TestPeersGproxyPair: two gproxy replicate, and a restarted one learns.
func TestPeersGproxyPair(t *testing.T) {
	a, b := peerPair(t)
	ga := startGproxyPeer(t, a)
	startGproxyPeer(t, b)
	a.get(t, "127.0.0.3", 1)
	b.get(t, "127.0.0.4", 2)
	want := map[string]string{"127.0.0.3": "use=0 conn_cnt=1 http_req_rate(10000)=1",
		"127.0.0.4": "use=0 conn_cnt=2 http_req_rate(10000)=2"}
	a.waitEntries(t, 5*time.Second, want)
	b.waitEntries(t, 5*time.Second, want)
	stopProc(t, ga)
	startGproxyPeer(t, a)
	took := a.waitEntries(t, 10*time.Second, want)
	t.Logf("restarted gproxy: table back after %v", took)
}

// TestPeersReload: on a reload (-sf) the old process pushes its table to
// the new one, its only remote peer being down.
func TestPeersReload(t *testing.T) {
	a, _ := peerPair(t)
	old := startGproxyPeer(t, a)
	a.get(t, "127.0.0.5", 4)
	want := map[string]string{"127.0.0.5": "use=0 conn_cnt=4 http_req_rate(10000)=4"}
	a.waitEntries(t, 2*time.Second, want)
	startGproxyPeer(t, a, "-sf", strconv.Itoa(old.Process.Pid))
	done := make(chan struct{})
	go func() { _, _ = old.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the old process did not exit")
	}
	took := a.waitEntries(t, 2*time.Second, want)
	t.Logf("after the reload: table there after %v", took)
}

// TestPeersWithHaproxyStickOn: `stick on src` persistence and a peers
// section's own table (`bind`/`server` lines, `table`, string keys) are
// shared between haproxy 2.6 and gproxy: a client pinned to s2 by haproxy
// lands on s2 through gproxy too.
func TestPeersWithHaproxyStickOn(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs Debian's haproxy 2.6 at %s (integration/install-deps.sh)", haproxytest.Bin)
	}
	var srv [2]string
	for i := range srv {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("s%d", i+1)
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, name) })}
		go func() { _ = hs.Serve(ln) }()
		t.Cleanup(func() { hs.Close() })
		srv[i] = ln.Addr().String()
	}
	dir := t.TempDir()
	peerAddr := map[string]string{"a": fmt.Sprintf("127.0.0.1:%d", porttest.Free(t)), "b": fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))}
	node := func(me, other string) peerNode {
		n := peerNode{name: me, http: fmt.Sprintf("127.0.0.1:%d", porttest.Free(t)), sock: filepath.Join(dir, me+".sock"), cfg: filepath.Join(dir, me+".cfg")}
		text := fmt.Sprintf(`global
    localpeer %s
    stats socket %s level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
peers mypeers
    bind %s
    server %s
    server %s %s
    table hosts type string len 20 size 1k expire 1m store gpc0,http_req_cnt
frontend fe
    bind %s
    http-request track-sc1 req.hdr(host) table mypeers/hosts
    http-request sc-inc-gpc0(1)
    default_backend be
backend be
    stick-table type ip size 1m expire 10m peers mypeers
    stick on src
    server s1 %s
    server s2 %s
`, me, n.sock, peerAddr[me], me, other, peerAddr[other], n.http, srv[0], srv[1])
		if err := os.WriteFile(n.cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a, b := node("a", "b"), node("b", "a")
	startHaproxyPeer(t, a)
	startGproxyPeer(t, b)
	body := func(n peerNode, src string) string {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		cl := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		req, _ := http.NewRequest("GET", "http://"+n.http+"/", nil)
		req.Host = "www.example"
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", n.name, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := body(a, "127.0.0.9"); got != "s1" {
		t.Fatalf("haproxy's first pick %q", got)
	}
	if got := body(a, "127.0.0.1"); got != "s2" {
		t.Fatalf("haproxy's second pick %q", got)
	}
	showBe := func(n peerNode) map[string]string {
		c, err := net.DialTimeout("unix", n.sock, time.Second)
		if err != nil {
			return nil
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprint(c, "show table be\n")
		out := map[string]string{}
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			if m := entryRe.FindStringSubmatch(sc.Text()); m != nil {
				out[m[1]] = m[4]
			}
		}
		return out
	}
	want := map[string]string{"127.0.0.1": "server_id=2 server_key=s2", "127.0.0.9": "server_id=1 server_key=s1"}
	deadline := time.Now().Add(10 * time.Second)
	for fmt.Sprint(showBe(b)) != fmt.Sprint(want) {
		if time.Now().After(deadline) {
			t.Fatalf("gproxy's table be: %v, haproxy's %v, want %v", showBe(b), showBe(a), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := body(b, "127.0.0.1"); got != "s2" {
		t.Errorf("gproxy sent the client haproxy pinned to s2 to %q", got)
	}
	// And back: a client gproxy pins shows on haproxy with its server.
	pinned := body(b, "127.0.0.7")
	want["127.0.0.7"] = fmt.Sprintf("server_id=%s server_key=%s", pinned[1:], pinned)
	deadline = time.Now().Add(5 * time.Second)
	for fmt.Sprint(showBe(a)) != fmt.Sprint(want) {
		if time.Now().After(deadline) {
			t.Fatalf("haproxy's table be: %v, want %v", showBe(a), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitHosts(t, a, "use=0 gpc0=4 http_req_cnt=4") // counters replicate as values: last writer wins
	if got := body(a, "127.0.0.7"); got != pinned {
		t.Errorf("haproxy sent the client gproxy pinned to %s to %q", pinned, got)
	}
	// The host counter table, in the peers section: 3 requests on a, 2 on b.
	for _, n := range []peerNode{b, a} {
		waitHosts(t, n, "use=0 gpc0=5 http_req_cnt=5")
	}
}

// TestPeersMasterWorkerReload: with -W, the master's new worker gets the
// table from the old one.
func TestPeersMasterWorkerReload(t *testing.T) {
	a, _ := peerPair(t)
	master, out := startGproxy(t, "-W", "-f", a.cfg)
	waitListening(t, a.http)
	a.get(t, "127.0.0.6", 2)
	want := map[string]string{"127.0.0.6": "use=0 conn_cnt=2 http_req_rate(10000)=2"}
	a.waitEntries(t, 2*time.Second, want)
	_ = master.Process.Signal(syscall.SIGUSR2)
	waitOutput(t, out, regexp.MustCompile(`Former worker \(\d+\) exited`))
	took := a.waitEntries(t, 2*time.Second, want)
	t.Logf("after the reload: table there after %v", took)
}

// waitHosts polls n's mypeers/hosts entry www.example until it is want.
func waitHosts(t *testing.T, n peerNode, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("unix", n.sock, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprint(c, "show table mypeers/hosts\n")
		raw, _ := io.ReadAll(c)
		c.Close()
		got := ""
		for _, line := range strings.Split(string(raw), "\n") {
			if m := entryRe.FindStringSubmatch(line); m != nil && m[1] == "www.example" {
				got = "use=" + m[2] + " " + m[4]
			}
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: mypeers/hosts www.example = %q, want %q", n.name, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
