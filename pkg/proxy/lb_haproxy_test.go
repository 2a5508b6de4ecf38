package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
)

// lbCase is one hash-based backend of the differential test: its
// balance and hash-type lines and the request a key becomes.
type lbCase struct {
	name, balance, hashType string
	req                     func(i int) (target string, hdr http.Header)
	source                  bool               // the key is the client address
	body                    func(i int) string // a POST with this body; "" for a GET
}

var lbCases = []lbCase{
	{name: "uri_map", balance: "uri", hashType: "map-based", req: uriKey},
	{name: "uri_cons", balance: "uri", hashType: "consistent", req: uriKey},
	{name: "uri_opts", balance: "uri whole len 14 depth 3", hashType: "consistent djb2", req: func(i int) (string, http.Header) {
		return fmt.Sprintf("/%d/%d?%d/x/y", i, i*3, i), nil
	}},
	{name: "uri_path", balance: "uri path-only", hashType: "map-based wt6 avalanche", req: func(i int) (string, http.Header) {
		return fmt.Sprintf("http://h%d.example/d%d/f%d?q=%d", i%7, i%13, i, i), http.Header{"Host": {fmt.Sprintf("h%d.example", i%7)}}
	}},
	{name: "param_cons", balance: "url_param user", hashType: "consistent crc32", req: paramKey},
	{name: "param_map", balance: "url_param user", hashType: "map-based sdbm avalanche", req: paramKey},
	{name: "param_post", balance: "url_param user check_post", hashType: "map-based", req: func(i int) (string, http.Header) {
		if i%5 == 0 {
			return fmt.Sprintf("/p?user=q%d", i), nil
		}
		return "/p", nil
	}, body: func(i int) string {
		switch i % 7 {
		case 1:
			return fmt.Sprintf("user= x%d", i) // a blank first: an empty value
		case 2:
			return fmt.Sprintf("user=\"x%d\"", i) // not a token: no value (round robin)
		}
		return fmt.Sprintf("a=%d&user=u%d&b=2", i, i*13)
	}},
	{name: "hdr_map", balance: "hdr(X-User)", hashType: "map-based djb2", req: hdrKey},
	{name: "hdr_cons", balance: "hdr(X-User)", hashType: "consistent", req: hdrKey},
	{name: "host_domain", balance: "hdr(host) use_domain_only", hashType: "consistent wt6", req: func(i int) (string, http.Header) {
		return "/", http.Header{"Host": {fmt.Sprintf("www.site%d.example", i)}}
	}},
	{name: "expr_map", balance: "hash req.hdr(X-User)", hashType: "map-based djb2", req: hdrKey},
	{name: "expr_cons", balance: "hash req.hdr(X-User),lower", hashType: "consistent", req: hdrKey},
	{name: "expr_path", balance: "hash path", hashType: "consistent crc32 avalanche", req: uriKey},
	{name: "src_cons", balance: "source", hashType: "consistent", source: true},
	{name: "src_map", balance: "source", hashType: "map-based crc32 avalanche", source: true},
}

func uriKey(i int) (string, http.Header) {
	return fmt.Sprintf("/a%d/b%d/c%d?x=%d", i%5, i, i*7, i), nil
}

func paramKey(i int) (string, http.Header) {
	// Every 9th request has no user: haproxy then balances round robin.
	if i%9 == 0 {
		return fmt.Sprintf("/p?other=%d", i), nil
	}
	return fmt.Sprintf("/p?a=1&user=u%d&b=2", i*31), nil
}

func hdrKey(i int) (string, http.Header) {
	if i%9 == 0 {
		return "/", nil
	}
	return "/", http.Header{"X-User": {fmt.Sprintf("user-%d, extra", i)}}
}

// lbConfig is the configuration both proxies run: one listen section per
// case, each over the same four servers of weights 1, 2, 3 and 1, one of
// them with an explicit id (consistent hashing places servers by id).
func lbConfig(ports map[string]int, servers []string, sock string) string {
	var b strings.Builder
	b.WriteString("global\n    maxconn 1000\n")
	if sock != "" {
		fmt.Fprintf(&b, "    stats socket %s level admin\n", sock)
	}
	b.WriteString("defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n")
	for _, c := range lbCases {
		fmt.Fprintf(&b, "listen %s\n    bind 127.0.0.1:%d\n    balance %s\n    hash-type %s\n", c.name, ports[c.name], c.balance, c.hashType)
		for i, s := range servers {
			id := ""
			if i == 2 {
				id = " id 9"
			}
			fmt.Fprintf(&b, "    server s%d %s weight %d%s\n", i+1, s, []int{1, 2, 3, 1}[i], id)
		}
	}
	return b.String()
}

// TestIntegrationHashMatchesHaproxy runs the same hash-balanced backends
// through haproxy 2.6 and gproxy and checks that every key (URIs, query
// parameters, headers, Host domains, client addresses; map-based and
// consistent; sdbm, djb2, wt6, crc32, with and without avalanche) lands on
// the same server, then again with one server disabled on both (stats
// socket `disable server`, gproxy's maintenance state), and again once it
// is back. Keys whose server stayed up must not move under consistent
// hashing. Requests without the key (round robin fallback) must follow
// the same order.
func TestIntegrationHashMatchesHaproxy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	if !inOwnNet(t) {
		return
	}
	var servers []string
	for i := 1; i <= 4; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("s%d", i)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Server", name)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		servers = append(servers, ln.Addr().String())
	}
	hPorts, gPorts := map[string]int{}, map[string]int{}
	for _, c := range lbCases {
		hPorts[c.name] = haproxytest.FreePort(t)
		gPorts[c.name] = haproxytest.FreePort(t)
	}
	sock := filepath.Join(t.TempDir(), "admin.sock")
	haproxytest.Start(t, lbConfig(hPorts, servers, sock))
	cfg, diags, err := haproxycfg.Parse("lb.cfg", []byte(lbConfig(gPorts, servers, "")), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("gproxy refuses the configuration: %v %v", err, diags)
	}
	e, err := New(cfg, Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bind(); err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	for _, c := range lbCases {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", hPorts[c.name]))
	}

	const keys = 150
	picks := func(ports map[string]int, c lbCase) []string {
		out := make([]string, keys)
		for i := range out {
			out[i] = lbRequest(t, ports[c.name], c, i)
		}
		return out
	}
	compare := func(phase string, c lbCase) []string {
		h, g := picks(hPorts, c), picks(gPorts, c)
		diff := 0
		for i := range h {
			if h[i] != g[i] {
				if diff < 5 {
					target, hdr := "", http.Header(nil)
					if c.req != nil {
						target, hdr = c.req(i)
					}
					t.Errorf("%s %s: key %d (%s %v): haproxy picks %s, gproxy %s", c.name, phase, i, target, hdr, h[i], g[i])
				}
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("%s %s: %d of %d keys differ", c.name, phase, diff, keys)
		}
		return h
	}
	for _, c := range lbCases {
		before := compare("all up", c)
		spread := map[string]int{}
		for _, s := range before {
			spread[s]++
		}
		if len(spread) < 4 {
			t.Errorf("%s: %d keys reached only %v", c.name, keys, spread)
		}
		haproxyCLI(t, sock, fmt.Sprintf("disable server %s/s3", c.name))
		e.Backend(c.name).Server("s3").SetAdminState(AdminMaint)
		down := compare("s3 down", c)
		if strings.HasSuffix(c.name, "_cons") {
			for i := range before {
				if before[i] != "s3" && down[i] != before[i] && !lbFallback(c, i) {
					t.Errorf("%s: key %d moved from %s to %s though its server stayed up", c.name, i, before[i], down[i])
				}
			}
		}
		haproxyCLI(t, sock, fmt.Sprintf("enable server %s/s3", c.name))
		e.Backend(c.name).Server("s3").SetAdminState(AdminReady)
		compare("s3 back", c)
	}
}

// inOwnNet runs the calling test again in a private network and PID
// namespace (its own loopback: no port shared through SO_REUSEPORT with
// another test's proxy, every process gone with it) and reports false to
// the outer run, which then only passes on the inner run's verdict; the
// inner run gets true.
func inOwnNet(t *testing.T) bool {
	t.Helper()
	if os.Getenv("GPROXY_TEST_NETNS") == t.Name() {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
		"sh", "-c", `ip link set lo up && exec "$0" "$@"`, os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.count", "1", "-test.v")
	cmd.Env = append(os.Environ(), "GPROXY_TEST_NETNS="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("in its own network namespace: %v\n%s", err, out)
	}
	return false
}

// lbFallback reports whether request i carries no key.
func lbFallback(c lbCase, i int) bool {
	return i%9 == 0 && (strings.HasPrefix(c.name, "param_") || strings.HasPrefix(c.name, "hdr_") || c.name == "expr_cons" || c.name == "expr_map")
}

// lbRequest sends request i of case c to port and returns the server that
// answered (its X-Server header).
func lbRequest(t *testing.T, port int, c lbCase, i int) string {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	target, hdr := "/", http.Header(nil)
	if c.source {
		src := netip.AddrFrom4([4]byte{127, byte(1 + i/200), byte(i % 200), byte(1 + i*7%250)})
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	} else {
		target, hdr = c.req(i)
	}
	conn, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", target)
	if hdr.Get("Host") == "" {
		b.WriteString("Host: test\r\n")
	}
	for k, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if c.body != nil {
		body := c.body(i)
		fmt.Fprintf(&b, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	} else {
		b.WriteString("Connection: close\r\n\r\n")
	}
	method := "GET"
	if c.body != nil {
		method = "POST"
	}
	if _, err := io.WriteString(conn, strings.Replace(b.String(), "GET ", method+" ", 1)); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: request %d: %v", c.name, i, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.Status
	}
	return resp.Header.Get("X-Server")
}

// haproxyCLI sends one command to haproxy's stats socket.
func haproxyCLI(t *testing.T, sock, cmd string) {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		t.Fatalf("stats socket: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Fatalf("%s: haproxy says %q", cmd, s)
	}
}
