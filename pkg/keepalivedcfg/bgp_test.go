package keepalivedcfg

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const bgpConf = `vrrp_script chk_haproxy {
  script "killall -0 haproxy"
  interval 1
}
vrrp_track_process haproxy {
  process haproxy
}
bgp {
  router_id 10.0.1.11
  local_as 65001
  neighbor 10.0.1.1 {
    remote_as 65000
    hold_time 3
    keepalive 1
  }
  neighbor 10.0.1.2 {
    remote_as 65000
  }
  announce {
    10.0.0.100/32
    10.0.0.101
  }
  track_script {
    chk_haproxy
  }
  track_process {
    haproxy
  }
}
`

func TestBGPBlock(t *testing.T) {
	cfg, diags, err := Parse("k.conf", []byte(bgpConf), Options{ConfigTest: true})
	if err != nil || len(diags) != 0 {
		t.Fatalf("Parse: %v %v", err, diags)
	}
	b := cfg.BGP
	if b == nil {
		t.Fatal("no BGP in the model")
	}
	want := BGP{
		RouterID: netip.MustParseAddr("10.0.1.11"), LocalAS: 65001,
		Neighbors: []BGPNeighbor{
			{Address: netip.MustParseAddr("10.0.1.1"), RemoteAS: 65000, HoldTime: 3 * time.Second, Keepalive: time.Second,
				ConnectRetry: DefaultBGPConnectRetry, Pos: Pos{"k.conf", 11}},
			{Address: netip.MustParseAddr("10.0.1.2"), RemoteAS: 65000, HoldTime: 90 * time.Second, Keepalive: 30 * time.Second,
				ConnectRetry: DefaultBGPConnectRetry, Pos: Pos{"k.conf", 16}},
		},
		Announce:       []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32"), netip.MustParsePrefix("10.0.0.101/32")},
		TrackScripts:   []string{"chk_haproxy"},
		TrackProcesses: []string{"haproxy"},
		Pos:            Pos{"k.conf", 8},
	}
	if got, w := dump(b), dump(&want); got != w {
		t.Errorf("model\n got %s\nwant %s", got, w)
	}
}

func dump(b *BGP) string {
	var s strings.Builder
	s.WriteString(b.RouterID.String())
	for _, n := range b.Neighbors {
		s.WriteString(" " + n.Address.String() + "/" + n.HoldTime.String() + "/" + n.Keepalive.String() + "/" + n.ConnectRetry.String() + "/" + n.Pos.String())
		if n.RemoteAS != 65000 {
			s.WriteString("/bad-as")
		}
	}
	for _, p := range b.Announce {
		s.WriteString(" " + p.String())
	}
	s.WriteString(" " + strings.Join(b.TrackScripts, ",") + " " + strings.Join(b.TrackProcesses, ",") + " " + b.Pos.String())
	if b.LocalAS != 65001 || b.NextHop.IsValid() {
		s.WriteString(" bad-as-or-nexthop")
	}
	return s.String()
}

// TestBGPErrors: every mistake in the bgp block stops the configuration
// with its file:line (fail closed: a node must not announce what the
// operator did not mean).
func TestBGPErrors(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"no router id", "  router_id 10.0.1.11\n", "", "k.conf: Line 8) bgp: router_id missing"},
		{"v6 router id", "router_id 10.0.1.11", "router_id ::1", "Line 9) bgp: router_id ::1: want an IPv4 address"},
		{"bad as", "local_as 65001", "local_as 0", "Line 10) bgp: local_as \"0\": want an integer"},
		{"no remote as", "    remote_as 65000\n    hold_time 3", "    hold_time 3", "Line 11) bgp: neighbor 10.0.1.1: remote_as missing"},
		{"hold 2", "hold_time 3", "hold_time 2", "Line 13) bgp: hold_time 2: must be 0 or at least 3"},
		{"keepalive above hold", "keepalive 1", "keepalive 3", "Line 11) bgp: neighbor 10.0.1.1: keepalive 3s must be below hold_time 3s"},
		{"bad prefix", "10.0.0.101\n", "10.0.0.101/24\n", "Line 21) bgp: announce 10.0.0.101/24: host bits set"},
		{"unknown script", "    chk_haproxy\n  }\n  track_process", "    chk_nginx\n  }\n  track_process", "Line 24) bgp: track_script chk_nginx: no vrrp_script chk_nginx above"},
		{"unknown process", "    haproxy\n  }\n}", "    nginx\n  }\n}", "Line 27) bgp: track_process nginx: no vrrp_track_process nginx above"},
		{"bad neighbor", "neighbor 10.0.1.2 {", "neighbor router {", "Line 16) bgp: neighbor \"router\": not an IP address"},
		{"bfd refused", "    keepalive 1\n", "    keepalive 1\n    bfd\n", "Line 15) 'bfd' is not implemented by gkeepalived (BFD in the bgp block"},
		{"v6 prefix", "    10.0.0.101\n", "    2001:db8::1\n", "Line 8) bgp: announce 2001:db8::1/128: IPv6 prefixes are not implemented yet"},
		{"v6 neighbor", "neighbor 10.0.1.2 {", "neighbor 2001:db8::2 {", "Line 16) bgp: neighbor 2001:db8::2: IPv6 neighbors are not implemented yet"},
		{"unknown keyword", "local_as 65001", "local_as 65001\n  med 10", "Line 11) Unknown keyword 'med'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(bgpConf, tc.from, tc.to, 1)
			if src == bgpConf {
				t.Fatal("case does not change the config")
			}
			_, diags, err := Parse("k.conf", []byte(src), Options{ConfigTest: true})
			out := FormatDiagnostics(diags)
			if !strings.Contains(out, tc.want) {
				t.Errorf("diagnostics lack %q:\n%s", tc.want, out)
			}
			if tc.name != "unknown keyword" && (!errors.Is(err, ErrInvalid) || ConfigTestExitCode(diags) == ExitOK) {
				t.Errorf("Parse error %v, exit %d: want the configuration refused", err, ConfigTestExitCode(diags))
			}
		})
	}
}
