package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"

	"github.com/rs/zerolog"
)

// rdpRequest is an RDP connection request (a TPKT and X.224 header) with
// the routing cookie "Cookie: mstshash=NAME".
func rdpRequest(name string) []byte {
	body := "Cookie: mstshash=" + name + "\r\n"
	n := 4 + 7 + len(body)
	b := []byte{3, 0, byte(n >> 8), byte(n), byte(n - 5), 0xe0, 0, 0, 0, 0, 0}
	return append(b, body...)
}

// TestIntegrationRDPCookieHaproxy sends the same RDP cookies through
// haproxy 2.6.12 and gproxy with `balance rdp-cookie` over four servers:
// every cookie must reach the same server, and a connection without one
// is balanced round robin by both.
func TestIntegrationRDPCookieHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	srvs := []string{startTCPEcho(t, "s1"), startTCPEcho(t, "s2"), startTCPEcho(t, "s3"), startTCPEcho(t, "s4")}
	conf := func(port int, ht string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "defaults\n    mode tcp\n    timeout client 5s\n    timeout server 5s\n    timeout connect 1s\n"+
			"listen rdp\n    bind 127.0.0.1:%d\n    tcp-request inspect-delay 2s\n    tcp-request content accept if RDP_COOKIE\n"+
			"    balance rdp-cookie\n    hash-type %s\n", port, ht)
		for i, s := range srvs {
			fmt.Fprintf(&b, "    server s%d %s weight %d\n", i+1, s, i%3+1)
		}
		return b.String()
	}
	picks := func(addr string) []string {
		var out []string
		for i := 0; i < 40; i++ {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(deadline))
			_, _ = c.Write(rdpRequest(fmt.Sprintf("user%d", i*7)))
			_ = c.(*net.TCPConn).CloseWrite()
			b, _ := io.ReadAll(c)
			c.Close()
			name, _, _ := strings.Cut(string(b), ":")
			out = append(out, name)
		}
		return out
	}
	for _, ht := range []string{"map-based", "consistent"} {
		hport := haproxytest.FreePort(t)
		haproxytest.Start(t, conf(hport, ht))
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", hport))
		want := picks(fmt.Sprintf("127.0.0.1:%d", hport))

		ln, bind := listen(t)
		cfg, diags, err := haproxycfg.Parse("rdp.cfg", []byte(conf(bind.Port, ht)), haproxycfg.ParseOptions{})
		if err != nil {
			t.Fatalf("%v\n%v", err, diags)
		}
		e, err := New(cfg, Options{Logger: zerolog.Nop(), Listeners: map[string]net.Listener{bind.Address(): ln}})
		if err != nil {
			t.Fatal(err)
		}
		go e.Serve(context.Background())
		got := picks(bind.Address())
		e.Close()
		spread := map[string]bool{}
		for i := range want {
			spread[want[i]] = true
			if want[i] != got[i] {
				t.Errorf("%s: cookie user%d: haproxy picked %q, gproxy %q", ht, i*7, want[i], got[i])
			}
		}
		if len(spread) < 3 {
			t.Errorf("%s: haproxy spread 40 cookies over %v only", ht, spread)
		}
	}
}
