package keepalivedcfg

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
)

func TestRoutesRulesVMACModel(t *testing.T) {
	src := `global_defs {
  vmac_prefix vm
}
static_ipaddress {
  10.9.9.1/32 dev eth0
}
static_routes {
  10.50.0.0/16 via 192.168.1.1 dev eth0 table 100 metric 5
}
static_rules {
  from 10.60.0.0/16 table 100 priority 200
  to 10.61.0.0/16 lookup main
}
vrrp_instance A {
  interface eth0
  virtual_router_id 51
  use_vmac
  virtual_ipaddress {
    192.168.1.84/24
  }
  virtual_routes {
    blackhole 10.71.0.0/16
    10.72.0.0/16 dev eth0 scope link table 101 src 192.168.1.80 protocol static no_track
    to 10.74.0.0/16 via 192.168.1.1 or 192.168.1.2
  }
  virtual_rules {
    not from 10.82.0.0/16 fwmark 0x10/0xff iif eth0 table 103 priority 302
    from 10.83.0.0/16 unreachable
  }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 52
  use_vmac named52
  unicast_peer {
    192.168.1.81
  }
  virtual_ipaddress {
    192.168.1.85
  }
}
`
	cfg, diags, err := parseString(t, src)
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	if len(cfg.StaticAddresses) != 1 || cfg.StaticAddresses[0].Dev != "eth0" {
		t.Errorf("static addresses %+v", cfg.StaticAddresses)
	}
	r := cfg.StaticRoutes[0]
	if r.Dst != netip.MustParsePrefix("10.50.0.0/16") || r.Via != netip.MustParseAddr("192.168.1.1") || r.Table != 100 ||
		!r.HasMetric || r.Metric != 5 || r.Protocol != 18 || r.NoTrack {
		t.Errorf("static route %+v", r)
	}
	if rl := cfg.StaticRules; len(rl) != 2 || rl[0].Priority != 200 || rl[0].Table != 100 || rl[1].Priority != 16384 || rl[1].Table != 254 {
		t.Errorf("static rules %+v", rl)
	}
	a := cfg.Instance("A")
	if a.VMAC == nil || a.VMAC.Name != "vm.51" || a.VMAC.XmitBase {
		t.Errorf("A VMAC %+v", a.VMAC)
	}
	vr := a.VirtualRoutes
	if len(vr) != 3 || vr[0].Type != "blackhole" || !vr[0].NoTrack || vr[1].Scope != 253 || vr[1].Protocol != 4 || vr[1].Table != 101 ||
		len(vr[2].Or) != 2 || vr[2].Via.IsValid() || vr[2].Dst != netip.MustParsePrefix("10.74.0.0/16") {
		t.Errorf("A routes %+v", vr)
	}
	ru := a.VirtualRules
	if len(ru) != 2 || !ru[0].Not || ru[0].FwMark != 0x10 || ru[0].FwMask != 0xff || ru[0].IIf != "eth0" ||
		ru[1].Action != RuleUnreachable || ru[1].Priority != 16383 {
		t.Errorf("A rules %+v", ru)
	}
	b := cfg.Instance("B")
	if b.VMAC == nil || b.VMAC.Name != "named52" || !b.VMAC.XmitBase {
		t.Errorf("B VMAC %+v (unicast forces vmac_xmit_base)", b.VMAC)
	}
	out := FormatDiagnostics(diags)
	for _, want := range []string{"Rule has no preference specified - setting to 16384", "unicast with use_vmac requires vmac_xmit_base - setting",
		"\"or\" for routes is deprecated"} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, out)
		}
	}
}

// Options keepalived knows and gkeepalived cannot apply are refused (the
// configuration does not run), and a bad line is dropped as keepalived
// drops it.
func TestRoutesRefusedAndBad(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"10.1.0.0/16 via 192.168.1.1 mtu 1400", "route option 'mtu' is not implemented"},
		{"10.1.0.0/16 nexthop via 192.168.1.1", "route option 'nexthop' is not implemented"},
		{"local 10.1.0.0/16", "route type 'local' is not implemented"},
	} {
		_, diags, err := parseString(t, "static_routes {\n"+c.line+"\n}\n")
		if !errors.Is(err, ErrInvalid) || !strings.Contains(FormatDiagnostics(diags), c.want) {
			t.Errorf("%s: err %v, diags %s; want refusal %q", c.line, err, FormatDiagnostics(diags), c.want)
		}
	}
	cfg, diags, err := parseString(t, "static_rules {\nfrom 10.1.0.0/16 table 5 pref 3\nfrom 10.2.0.0/16 uidrange 1-2 table 5 priority 4\n}\n")
	out := FormatDiagnostics(diags)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(out, "Unknown rule option pref") || !strings.Contains(out, "rule option 'uidrange' is not implemented") {
		t.Errorf("err %v, diags %s", err, out)
	}
	if cfg != nil && len(cfg.StaticRules) != 1 {
		t.Errorf("rules %+v: the 'pref' line is dropped", cfg.StaticRules)
	}
}

// Table and protocol names come from /etc/iproute2 as keepalived reads
// them.
func TestRouteTableNamesFromIproute2(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/iproute2/rt_tables": {Data: []byte("255 local\n# comment\n100\tvips\n200 two words here\n")},
		"etc/iproute2/rt_protos": {Data: []byte("99 mine\n")},
	}
	src := "static_routes {\n10.1.0.0/16 dev eth0 table vips protocol mine no_track\n10.2.0.0/16 dev eth0 table two\n}\n"
	cfg, diags, _ := Parse("k.conf", []byte(src), Options{ConfigTest: true, FS: FromFS(fsys)})
	if len(cfg.StaticRoutes) != 1 || cfg.StaticRoutes[0].Table != 100 || cfg.StaticRoutes[0].Protocol != 99 {
		t.Errorf("routes %+v", cfg.StaticRoutes)
	}
	if out := FormatDiagnostics(diags); !strings.Contains(out, "Routing table two not found for route") {
		t.Errorf("diagnostics:\n%s", out)
	}
}

// Issue 16's fail-closed item: track_bfd is refused with a message naming
// it, never run differently. (use_vmac on an IPv6 instance, refused
// before, now works: TestIntegrationVMACIPv6LikeKeepalived.)
func TestTrackBFDRefused(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"vrrp_instance V4 {\n interface eth0\n virtual_router_id 51\n priority 100\n track_bfd {\n b1\n }\n virtual_ipaddress {\n 192.168.1.84/24\n }\n}\n",
			"track_bfd"},
	} {
		_, diags, err := parseString(t, c.body)
		out := FormatDiagnostics(diags)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("err %v, diagnostics:\n%s\nwant a refusal naming %q", err, out, c.want)
		}
		t.Logf("%s", out)
	}
}
