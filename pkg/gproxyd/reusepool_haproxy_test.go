package gproxyd_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// Idle server connections under each `http-reuse` mode, as haproxy 2.6
// keeps and lends them (pkg/proxy/idlepool.go): the same sequence of
// client sessions through haproxy 2.6 and gproxy must go over the same
// server connections (numbered by first use), leave the same server
// connections open, and show the same connect/reuse and idle columns in
// `show stat`. One thread (the first idle connection is per thread) and
// a long pool-purge-delay (no purge during the test).

// poolServer is an HTTP/1.1 server numbering its connections: each
// response says which one carried it (x-conn); open counts those still
// open.
type poolServer struct {
	n, open atomic.Int64
}

func (ps *poolServer) start(t *testing.T) string {
	ln := haproxytest.Serve(t, time.Minute, func(c net.Conn) {
		id := ps.n.Add(1)
		ps.open.Add(1)
		defer ps.open.Add(-1)
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nx-conn: %d\r\ncontent-length: 2\r\n\r\nok", id)
		}
	})
	return ln.Addr().String()
}

// settled is the count once it stayed the same for 300 ms (a proxy's
// close reaches the server after its response reached the client).
func settled(n *atomic.Int64) int64 {
	last, since := n.Load(), time.Now()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if v := n.Load(); v != last {
			last, since = v, time.Now()
		} else if time.Since(since) > 300*time.Millisecond {
			break
		}
	}
	return last
}

// reuseBackends are the backends of the test: a name, its http-reuse
// and its server's pool options.
var reuseBackends = []struct{ name, reuse, opts string }{
	{"safe", "safe", ""},
	{"aggressive", "aggressive", ""},
	{"always", "always", ""},
	{"never", "never", ""},
	{"lowconn", "safe", "pool-low-conn 2"},
	{"maxconn0", "always", "pool-max-conn 0"},
	{"maxconn2", "safe", "pool-max-conn 2 pool-low-conn 5"},
	{"purge0", "safe", "pool-purge-delay 0"},
}

func TestIntegrationHTTPReusePoolHaproxy(t *testing.T) {
	for _, g := range []string{"", "tune.pool-low-fd-ratio 0", "tune.pool-high-fd-ratio 0"} {
		name := g
		if name == "" {
			name = "defaults"
		}
		t.Run(name, func(t *testing.T) { testReusePool(t, g) })
	}
}

func testReusePool(t *testing.T, global string) {
	var modes []string
	for _, b := range reuseBackends {
		modes = append(modes, b.name)
	}
	servers := map[string]map[string]*poolServer{"hp": {}, "gp": {}}
	addrs := map[string]map[string]string{"hp": {}, "gp": {}}
	for _, p := range []string{"hp", "gp"} {
		for _, m := range modes {
			ps := &poolServer{}
			servers[p][m] = ps
			addrs[p][m] = ps.start(t)
		}
	}
	which := map[int]string{} // ports of the frontends to their proxy
	ports, _, socks := startPair(t, []string{"fe"}, func(sock string, ports map[string]int) string {
		p := "hp"
		if len(which) > 0 {
			p = "gp"
		}
		which[ports["fe"]] = p
		var b strings.Builder
		fmt.Fprintf(&b, `global
    nbthread 1
    %s
    stats socket %s level admin
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 2s
frontend fe
    bind 127.0.0.1:%d
`, global, sock, ports["fe"])
		for _, m := range modes {
			fmt.Fprintf(&b, "    use_backend %s if { path_beg /%s/ }\n", m, m)
		}
		for _, be := range reuseBackends {
			opts := be.opts
			if !strings.Contains(opts, "pool-purge-delay") {
				opts += " pool-purge-delay 1m"
			}
			fmt.Fprintf(&b, "backend %s\n    http-reuse %s\n    server s1 %s %s\n", be.name, be.reuse, addrs[p][be.name], opts)
		}
		return b.String()
	})
	// Sessions A, B, C send one request each and stay; A and B send
	// another; D comes with one; C sends another.
	steps := []string{"A", "B", "C", "A", "B", "D", "C"}
	got := map[string]map[string]string{"hp": {}, "gp": {}}
	for _, p := range []string{"hp", "gp"} {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[p]["fe"])
		for _, m := range modes {
			ps := servers[p][m]
			clients := map[string]net.Conn{}
			readers := map[string]*bufio.Reader{}
			var ids []string
			for i, s := range steps {
				c := clients[s]
				if c == nil {
					var err error
					if c, err = net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
						t.Fatal(err)
					}
					_ = c.SetDeadline(time.Now().Add(20 * time.Second))
					clients[s], readers[s] = c, bufio.NewReader(c)
				}
				fmt.Fprintf(c, "GET /%s/%d HTTP/1.1\r\nhost: t\r\n\r\n", m, i)
				resp, err := http.ReadResponse(readers[s], nil)
				if err != nil {
					t.Fatalf("%s %s step %d: %v", p, m, i, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ids = append(ids, resp.Header.Get("x-conn"))
				// The stream is over (its server connection back in
				// the pool or closed) before the next request comes.
				for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
					st, _ := parseStat(t, askAll(t, socks[p], "show stat"))
					if st[m+"/s1.scur"] == "0" {
						break
					}
				}
			}
			got[p][m+" connections"] = strings.Join(ids, " ")
			got[p][m+" open with the clients"] = fmt.Sprint(settled(&ps.open))
			st, _ := parseStat(t, askAll(t, socks[p], "show stat"))
			for _, col := range []string{"connect", "reuse", "srv_icur", "idle_conn_cur", "safe_conn_cur", "src_ilim", "used_conn_cur", "need_conn_est"} {
				got[p][m+" "+col] = st[m+"/s1."+col]
			}
			for _, c := range clients {
				c.Close()
			}
			got[p][m+" open after them"] = fmt.Sprint(settled(&ps.open))
		}
	}
	if (global == "" && got["hp"]["safe connections"] != "1 2 3 1 1 4 1") || got["hp"]["never open after them"] != "0" {
		t.Fatalf("haproxy did not behave as expected: %v", got["hp"])
	}
	n := 0
	for k, w := range got["hp"] {
		n++
		if g := got["gp"][k]; g != w {
			t.Errorf("%s: haproxy %q, gproxy %q", k, w, g)
		}
	}
	t.Logf("%d values compared; haproxy: %v", n, got["hp"])
}
