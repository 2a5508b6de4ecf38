package proxy

import (
	"net"
	"strconv"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// connects reports whether a client of address host gets into port.
func connects(host string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func hasIPv6Loopback() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// TestListenBindFamilies: `bind :PORT` is IPv4 only as in haproxy 2.6
// (before, the engine opened Go's dual-stack socket); ipv6@ with v6only
// refuses IPv4 clients, with v4v6 takes both. Loopback clients only.
func TestListenBindFamilies(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Fatal("this test needs ::1 on lo")
	}
	cases := []struct {
		bind       haproxycfg.Bind
		want4      bool
		want6      bool
		wantString string
	}{
		{haproxycfg.Bind{}, true, false, "0.0.0.0:"},
		{haproxycfg.Bind{Family: haproxycfg.FamilyIPv6, Host: "::", V6Only: true}, false, true, ":::"},
		{haproxycfg.Bind{Family: haproxycfg.FamilyIPv6, Host: "::", V4V6: true}, true, true, ":::"},
		{haproxycfg.Bind{Family: haproxycfg.FamilyIPv6}, true, true, ":::"}, // V4V6 set below unless the system says v6only
	}
	for i, c := range cases {
		b := c.bind
		b.Port = deadPort(t)
		if i == 3 {
			if v6only, err := systemV6Only(); err != nil || v6only {
				continue // the system default decides; TestIntegrationBindFamilies covers it
			}
		}
		ln, err := ListenBind(b)
		if err != nil {
			t.Fatalf("%+v: %v", b, err)
		}
		got4, got6 := connects("127.0.0.1", b.Port), connects("::1", b.Port)
		if got4 != c.want4 || got6 != c.want6 {
			t.Errorf("%+v: IPv4 client gets in %v, IPv6 %v; want %v, %v", b, got4, got6, c.want4, c.want6)
		}
		if s := BindString(b); s != c.wantString+strconv.Itoa(b.Port) {
			t.Errorf("%+v: BindString %q", b, s)
		}
		if !Compatible(ln, b) {
			t.Errorf("%+v: a socket is not compatible with its own bind line", b)
		}
		other := b
		other.V6Only, other.V4V6 = !b.V6Only, b.V6Only
		if b.Family == haproxycfg.FamilyIPv6 && Compatible(ln, other) {
			t.Errorf("%+v: compatible with %+v", b, other)
		}
		v6 := haproxycfg.Bind{Family: haproxycfg.FamilyIPv6, Host: "::", Port: b.Port}
		if b.Family != haproxycfg.FamilyIPv6 && Compatible(ln, v6) {
			t.Errorf("an IPv4 socket is compatible with %+v", v6)
		}
		if Compatible(ln, haproxycfg.Bind{Port: b.Port, Family: b.Family, Host: b.Host, V6Only: b.V6Only, V4V6: b.V4V6, Transparent: true}) {
			t.Errorf("%+v: a socket without IP_TRANSPARENT/IP_FREEBIND is compatible with a transparent bind", b)
		}
		ln.Close()
	}
}

// TestEngineBindIPv4Only: the engine's own listeners (when none are
// handed to it) follow the same rule.
func TestEngineBindIPv4Only(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Fatal("this test needs ::1 on lo")
	}
	be := startBackend(t, hello("web01"))
	bind := haproxycfg.Bind{Port: deadPort(t)}
	px := listenProxy("l", bind, server("web01", be.port))
	run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}})
	eventually(t, "the listener", func() bool { return connects("127.0.0.1", bind.Port) })
	if connects("::1", bind.Port) {
		t.Errorf("`bind :%d` accepts IPv6 clients; haproxy 2.6 listens on 0.0.0.0 only", bind.Port)
	}
}
