package keepalivedcfg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzParse feeds arbitrary text to the parser: it must never panic, every
// diagnostic must point into a file it read, and a configuration accepted
// without a fatal diagnostic must satisfy the model's invariants.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("include /inc/*.conf\nvrrp_instance X { interface eth0 virtual_router_id 3 virtual_ipaddress { 10.0.0.3 } }"))
	f.Add([]byte("vrrp_script s { script \"a\\x\" }\n@h x {\n}}}{{{\"\n"))
	f.Add([]byte(bgpConf)) // gkeepalived's bgp block (bgp_test.go)
	f.Add([]byte("static_routes {\n10.1.0.0/16 via 10.0.0.1 or 10.0.0.2 table 7 metric 3\nblackhole default\n}\nstatic_rules {\nnot from 1.2.3.0/24 fwmark 0x1/0xf goto 9 priority 3\n}\nvrrp_instance X {\ninterface eth0\nvirtual_router_id 3\nuse_vmac v3 00:11\nvmac_xmit_base\nvirtual_routes {\nto unreachable 10.0.0.0/8 dev eth0 scope link\n}\nvirtual_rules {\nto ::/0 lookup 5\n}\n}\n"))
	fsys := fstest.MapFS{
		"inc/a.conf": {Data: []byte("vrrp_script chk {\n script \"/bin/true\"\n}\n")},
		"inc/b.conf": {Data: []byte("include /inc/b.conf\n")},
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := Options{FS: FromFS(fsys), ConfigID: "h", Hostname: "h", UserName: "root", ConfigTest: len(src)%2 == 0}
		cfg, diags, err := Parse("/etc/keepalived/keepalived.conf", src, opts)
		if cfg == nil {
			t.Fatal("nil config")
		}
		lines := strings.Count(string(src), "\n") + 1
		for _, d := range diags {
			if d.Pos.File == "/etc/keepalived/keepalived.conf" && (d.Pos.Line < 1 || d.Pos.Line > lines) {
				t.Fatalf("diagnostic outside the file (%d lines): %v", lines, d)
			}
			if d.Msg == "" {
				t.Fatal("empty diagnostic")
			}
		}
		switch code := ConfigTestExitCode(diags); code {
		case ExitOK, ExitMissingParameter, ExitFatal, ExitConfigErrors, ExitSecurity:
		default:
			t.Fatalf("exit code %d", code)
		}
		if err != nil {
			return
		}
		for _, in := range cfg.Instances {
			switch {
			case in.VRID < 1 || in.VRID > 255:
				t.Fatalf("%s: VRID %d", in.Name, in.VRID)
			case in.Priority < 1 || in.Priority > 255:
				t.Fatalf("%s: priority %d", in.Name, in.Priority)
			case in.Version != 2 && in.Version != 3:
				t.Fatalf("%s: version %d", in.Name, in.Version)
			case in.Version == 2 && (in.AdvertInt < time.Second || in.AdvertInt > 255*time.Second || in.AdvertInt%time.Second != 0):
				t.Fatalf("%s: v2 advert %v", in.Name, in.AdvertInt)
			case in.Version == 3 && (in.AdvertInt < 10*time.Millisecond || in.AdvertInt > 40950*time.Millisecond || in.AdvertInt%(10*time.Millisecond) != 0):
				t.Fatalf("%s: v3 advert %v", in.Name, in.AdvertInt)
			case in.Auth != nil && (in.Version != 2 || len(in.Auth.Pass) == 0 || len(in.Auth.Pass) > 8):
				t.Fatalf("%s: auth %+v with version %d", in.Name, in.Auth, in.Version)
			case in.Auth != nil && in.Auth.Type == AuthAH && in.State == StateMaster && in.Priority != 255:
				t.Fatalf("%s: AH master below 255", in.Name)
			case in.Interface == "" && !in.SrcIP.IsValid():
				t.Fatalf("%s: no interface and no source address", in.Name)
			case len(in.VIPs) > 255:
				t.Fatalf("%s: %d VIPs", in.Name, len(in.VIPs))
			}
			for _, v := range in.VIPs {
				if (v.Addr().Is4() && in.Family != 4) || (v.Addr().Is6() && in.Family != 6) {
					t.Fatalf("%s: VIP %v in an IPv%d instance", in.Name, v, in.Family)
				}
			}
			for _, ts := range in.TrackScripts {
				if cfg.Script(ts.Name) == nil || ts.Weight < -253 || ts.Weight > 253 {
					t.Fatalf("%s: track script %+v", in.Name, ts)
				}
			}
		}
		for _, s := range cfg.Scripts {
			if len(s.Args) == 0 || s.Interval <= 0 || s.Timeout <= 0 || s.Rise < 1 || s.Fall < 1 {
				t.Fatalf("script %+v", s)
			}
		}
	})
}
