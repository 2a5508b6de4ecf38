package haproxycfg

import (
	"testing"
	"time"
)

// TestTCPKeepAliveModel: option tcpka sets both sides where the section
// has the capability, the no- forms and the clitcpka-*/srvtcpka-*
// settings are inherited from defaults and override them, times are
// seconds unless a unit says otherwise (rounded up), counts are C's
// strtol.
func TestTCPKeepAliveModel(t *testing.T) {
	cfg, diags, err := Parse("t.cfg", []byte(`
defaults
    mode tcp
    timeout client 10s
    timeout server 10s
    timeout connect 1s
    option tcpka
    clitcpka-idle 30
    srvtcpka-intvl 500ms
listen l
    bind 127.0.0.1:1
    server s 127.0.0.1:2
frontend f
    bind 127.0.0.1:3
    no option clitcpka
    clitcpka-cnt 0x10
    default_backend b
backend b
    srvtcpka-idle 2m
    srvtcpka-cnt 4
    server s 127.0.0.1:2
`), ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	want := map[string][2]TCPKeepAlive{
		"l": {{On: true, Idle: 30 * time.Second}, {On: true, Interval: time.Second}},
		"f": {{Idle: 30 * time.Second, Count: 16}, {On: true, Interval: time.Second}},
		"b": {{On: true, Idle: 30 * time.Second}, {On: true, Idle: 2 * time.Minute, Interval: time.Second, Count: 4}},
	}
	for _, px := range cfg.Proxies {
		w, ok := want[px.Name]
		if !ok {
			continue
		}
		if px.ClientKeepAlive != w[0] || px.ServerKeepAlive != w[1] {
			t.Errorf("%s: client %+v server %+v, want %+v %+v", px.Name, px.ClientKeepAlive, px.ServerKeepAlive, w[0], w[1])
		}
	}
}
