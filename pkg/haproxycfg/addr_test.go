package haproxycfg

import (
	"fmt"
	"strings"
	"testing"
)

// TestBindForms: each accepted `bind` spelling gives the addresses a
// listener must open.
func TestBindForms(t *testing.T) {
	tests := []struct {
		arg  string
		want string // "host port" pairs, Bind.Address() each
	}{
		{":80", ":80"},
		{"*:80", ":80"},
		{"0.0.0.0:80", "0.0.0.0:80"},
		{"192.168.1.84:443", "192.168.1.84:443"},
		{"[::]:80", "[::]:80"},
		{":::80", "[::]:80"},
		{"[::1]:80", "[::1]:80"},
		{"::1:80", "[::1]:80"},
		{"ipv4@:80", ":80"},
		{"ipv6@:80", "[::]:80"},
		{"ipv4@127.0.0.1:80", "127.0.0.1:80"},
		{"tcp6@[::1]:80", "[::1]:80"},
		{"127.0.0.1:8080-8082", "127.0.0.1:8080 127.0.0.1:8081 127.0.0.1:8082"},
		{"1.2.3.4:80,:81,[::1]:82", "1.2.3.4:80 :81 [::1]:82"},
		{":80,", ":80"},
		{"::ffff:1.2.3.4:80", "[::ffff:1.2.3.4]:80"},
		{"lb.example.net:80", "lb.example.net:80"},
	}
	for _, tc := range tests {
		cfg, diags, err := Parse("b.cfg", []byte("frontend f\n bind "+tc.arg+"\n"), ParseOptions{})
		if err != nil {
			t.Errorf("bind %s: %v %v", tc.arg, err, diags)
			continue
		}
		var got []string
		for _, b := range cfg.Proxies[0].Binds {
			got = append(got, b.Address())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("bind %s = %v, want %s", tc.arg, got, tc.want)
		}
	}
}

// TestServerAndLogAddresses: server ports are optional (0 = the client's
// port); log targets default to UDP port 514; a path is a unix datagram
// socket.
func TestServerAndLogAddresses(t *testing.T) {
	servers := []struct {
		arg, host string
		port      int
	}{
		{"192.168.1.68:80", "192.168.1.68", 80},
		{"192.168.1.68", "192.168.1.68", 0},
		{"[fd00::1]:8080", "fd00::1", 8080},
		{"fd00::1:8080", "fd00::1", 8080},
		{"ipv6@[fd00::1]", "fd00::1", 0},
		{"web01.example.net:80", "web01.example.net", 80},
		{"10.0.0.1:0", "10.0.0.1", 0},
	}
	for _, tc := range servers {
		cfg, diags, err := Parse("s.cfg", []byte("backend b\n server s "+tc.arg+"\n"), ParseOptions{})
		if err != nil {
			t.Errorf("server %s: %v %v", tc.arg, err, diags)
			continue
		}
		s := cfg.Proxies[0].Servers[0]
		if s.Host != tc.host || s.Port != tc.port {
			t.Errorf("server %s = %q %d, want %q %d", tc.arg, s.Host, s.Port, tc.host, tc.port)
		}
	}
	logs := []struct{ arg, network, addr string }{
		{"192.168.1.34", "udp", "192.168.1.34:514"},
		{"192.168.1.34:5140", "udp", "192.168.1.34:5140"},
		{"udp@192.168.1.34", "udp", "192.168.1.34:514"},
		{"[::1]:515", "udp", "[::1]:515"},
		{"/dev/log", "unixgram", "/dev/log"},
		{"unix@/run/log.sock", "unixgram", "/run/log.sock"},
		{"loghost", "udp", "loghost:514"},
	}
	for _, tc := range logs {
		cfg, diags, err := Parse("l.cfg", []byte(fmt.Sprintf("global\n log %s local0\n", tc.arg)), ParseOptions{})
		if err != nil || len(cfg.Global.Logs) != 1 {
			t.Errorf("log %s: %v %v", tc.arg, err, diags)
			continue
		}
		l := cfg.Global.Logs[0]
		if l.Network != tc.network || l.Address != tc.addr {
			t.Errorf("log %s = %s %s, want %s %s", tc.arg, l.Network, l.Address, tc.network, tc.addr)
		}
	}
}
