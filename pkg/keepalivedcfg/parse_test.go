package keepalivedcfg

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestDecomment(t *testing.T) {
	tests := []struct {
		in, want string
		open     bool
	}{
		{"  state MASTER # or BACKUP", "state MASTER", false},
		{"state MASTER! bang", "state MASTER", false},
		{"#whole line", "", false},
		{"! whole line", "", false},
		{`script "a # b" # c`, `script "a # b"`, false},
		{`x \# y \! z`, "x # y ! z", false},
		{`script "a \# b"`, `script "a \# b"`, false},
		{"value\t \t", "value", false},
		{`script "open # x`, `script "open # x`, true},
		{`a b \`, `a b\`, false},
		{"abc#def", "abc", false},
	}
	for _, tt := range tests {
		got, open := decomment(tt.in)
		if got != tt.want || open != tt.open {
			t.Errorf("decomment(%q) = %q, %v; want %q, %v", tt.in, got, open, tt.want, tt.open)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"interface eth0", []string{"interface", "eth0"}, true},
		{"  a\tb\fc  ", []string{"a", "b", "c"}, true},
		{`script "killall -0 haproxy"`, []string{"script", "killall -0 haproxy"}, true},
		{`a"b c"d`, []string{"a", "b c", "d"}, true},
		{`router_id ""`, []string{"router_id", ""}, true},
		{`a "b`, []string{"a"}, false},
		{`'single quotes' stay`, []string{"'single", "quotes'", "stay"}, true},
	}
	for _, tt := range tests {
		got, ok := splitWords(tt.in)
		if !reflect.DeepEqual(got, tt.want) || ok != tt.ok {
			t.Errorf("splitWords(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSplitQuotedEscaped(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{`killall -0 haproxy`, []string{"killall", "-0", "haproxy"}, ""},
		{`/bin/sh -c 'exit 1'`, []string{"/bin/sh", "-c", "exit 1"}, ""},
		{`a"b c"'d e'`, []string{"ab cd e"}, ""},
		{`tab\there new\nline`, []string{"tab\there", "new\nline"}, ""},
		{`hex\x41 oct\101 ctl\cA`, []string{"hexA", "octA", "ctl\x01"}, ""},
		{`esc\ aped`, []string{"esc aped"}, ""},
		{`"a \" b"`, []string{`a " b`}, ""},
		{`"open`, nil, `String '"open': missing terminating "`},
		{`end\`, nil, `Missing escape char at end: 'end\'`},
		{"", nil, ""},
	}
	for _, tt := range tests {
		got, err, _ := splitQuotedEscaped(tt.in)
		if !reflect.DeepEqual(got, tt.want) || err != tt.err {
			t.Errorf("splitQuotedEscaped(%q) = %q, %q; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// logicalLines runs the reader alone over src.
func logicalLines(t *testing.T, src string, opts Options) ([]string, []Diagnostic) {
	t.Helper()
	if opts.FS == nil {
		opts.FS = noFS{}
	}
	p := &parser{opts: opts, cfg: &Config{}}
	p.r = &reader{p: p, stack: []*frame{{display: "k.conf", dir: "/etc/keepalived", lines: splitLines([]byte(src))}}}
	var out []string
	for {
		l, ok := p.r.next()
		if !ok {
			return out, p.diags
		}
		out = append(out, strings.Join(l.words, "|"))
	}
}

func TestReaderBracesAndPrefixes(t *testing.T) {
	src := `vrrp_instance VI_1 {   # comment
  state MASTER }
{ a b } c
virtual_ipaddress { 10.0.0.1 10.0.0.2 }
script "x { y }" {
@lb1 mine
@lb2 other
@^lb2 not_other
@^lb1 not_mine
@lb1
}
}`
	got, diags := logicalLines(t, src, Options{ConfigID: "lb1"})
	want := []string{"vrrp_instance|VI_1", "{", "state|MASTER", "}", "{", "a|b", "}", "c",
		"virtual_ipaddress", "{", "10.0.0.1|10.0.0.2", "}", "script|x { y }", "{", "mine", "not_other", "}", "}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines:\n got %q\nwant %q", got, want)
	}
	if len(diags) != 1 || diags[0].String() != "(Line 12) Extra '}' found" {
		t.Errorf("diagnostics: %v", diags)
	}
}

func TestIncludeFromFS(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/keepalived/keepalived.conf": {Data: []byte(`include conf.d/*.conf
include /etc/keepalived/extra/{b,a}.conf
include conf.d/missing.conf
vrrp_instance MAIN {
    interface eth0
    virtual_router_id 1
    track_script {
        chk
    }
    virtual_ipaddress {
        10.0.0.1
    }
}
`)},
		"etc/keepalived/conf.d/10-script.conf": {Data: []byte("vrrp_script chk {\n  script /bin/true\n}\n")},
		"etc/keepalived/conf.d/20-global.conf": {Data: []byte("global_defs {\n  router_id from_include\n  bogus\n}\n")},
		"etc/keepalived/conf.d/ignored.txt":    {Data: []byte("garbage\n")},
		"etc/keepalived/extra/a.conf":          {Data: []byte("vrrp_instance A {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n")},
		"etc/keepalived/extra/b.conf":          {Data: []byte("include ../conf.d/10-script.conf\n")},
		"etc/keepalived/loop.conf":             {Data: []byte("include loop.conf\n")},
	}
	opts := Options{FS: FromFS(fsys), Hostname: "h"}
	path := "/etc/keepalived/keepalived.conf"
	cfg, diags, err := Parse(path, fsys[strings.TrimPrefix(path, "/")].Data, opts)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, FormatDiagnostics(diags))
	}
	wantFiles := []string{path, "/etc/keepalived/conf.d/10-script.conf", "/etc/keepalived/conf.d/20-global.conf",
		"/etc/keepalived/extra/b.conf", "/etc/keepalived/conf.d/10-script.conf", "/etc/keepalived/extra/a.conf"}
	if !reflect.DeepEqual(cfg.Files, wantFiles) {
		t.Errorf("files read:\n got %q\nwant %q", cfg.Files, wantFiles)
	}
	if cfg.Global.RouterID != "from_include" || cfg.Instance("A") == nil || cfg.Instance("MAIN") == nil {
		t.Errorf("included content missing: router_id %q, instances %v", cfg.Global.RouterID, len(cfg.Instances))
	}
	if ts := cfg.Instance("MAIN").TrackScripts; len(ts) != 1 || ts[0].Name != "chk" {
		t.Errorf("track script from included vrrp_script: %+v", ts)
	}
	wantDiags := []string{
		"(conf.d/20-global.conf: Line 3) Unknown keyword 'bogus'",
		"(Line 3) Config files missing 'conf.d/missing.conf'.",
		"SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if !reflect.DeepEqual(got, wantDiags) {
		t.Errorf("diagnostics:\n got %q\nwant %q", got, wantDiags)
	}

	// A file that includes itself stops at the nesting limit.
	_, diags, _ = Parse("/etc/keepalived/loop.conf", fsys["etc/keepalived/loop.conf"].Data, opts)
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "include nesting deeper than 32") {
		t.Errorf("include loop: %v", diags)
	}
}

// TestConfExample parses the seed's conf/keepalived.conf verbatim: it must
// give exactly keepalived 2.2.7's messages and the model the runtime needs.
func TestConfExample(t *testing.T) {
	path := filepath.Join("..", "..", "conf", "keepalived.conf")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := Parse(path, src, testOptions())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []string{
		"(" + path + ": Line 26) Truncating auth_pass to 8 characters",
		"SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
		"(VI_1) Initial state master is incompatible with AH authentication - clearing",
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n got %q\nwant %q", got, want)
	}
	if ConfigTestExitCode(diags) != ExitSecurity {
		t.Errorf("exit code %d, want %d", ConfigTestExitCode(diags), ExitSecurity)
	}
	in := cfg.Instance("VI_1")
	if in == nil || in.State != StateBackup || in.Priority != 101 || in.VRID != 51 || in.Interface != "eth0" ||
		in.Version != 2 || in.AdvertInt != time.Second || !in.SMTPAlert {
		t.Fatalf("VI_1: %+v", in)
	}
	if in.Auth == nil || in.Auth.Type != AuthAH || in.Auth.Pass != "supersec" || in.Auth.Key() != [8]byte{'s', 'u', 'p', 'e', 'r', 's', 'e', 'c'} {
		t.Errorf("auth: %+v", in.Auth)
	}
	if len(in.VIPs) != 1 || in.VIPs[0].Prefix.String() != "192.168.1.84/32" {
		t.Errorf("VIPs: %+v", in.VIPs)
	}
	s := cfg.Script("chk_haproxy")
	if s == nil || !reflect.DeepEqual(s.Args, []string{"killall", "-0", "haproxy"}) || s.Interval != 2*time.Second || s.Weight != 2 || s.Rise != 1 || s.Fall != 1 {
		t.Errorf("script: %+v", s)
	}
	if len(in.TrackScripts) != 1 || in.TrackScripts[0] != (TrackScript{Name: "chk_haproxy", Weight: 2}) {
		t.Errorf("track scripts: %+v", in.TrackScripts)
	}
	g := cfg.Global
	if g.SMTPServer != "192.168.1.119" || g.SMTPPort != 25 || g.SMTPConnectTimeout != 30*time.Second ||
		g.NotificationEmailFrom != "keepalived@haproxy01.example.com" || !reflect.DeepEqual(g.NotificationEmail, []string{"sysadmin@example.com"}) || g.RouterID != "lb1" {
		t.Errorf("global: %+v", g)
	}
	if in.McastDstIP.String() != "224.0.0.18" || in.GARP.MasterDelay != 5*time.Second || in.GARP.MasterRepeat != 5 {
		t.Errorf("multicast/garp defaults: %v %+v", in.McastDstIP, in.GARP)
	}
}

func parseString(t *testing.T, src string) (*Config, []Diagnostic, error) {
	t.Helper()
	return Parse("k.conf", []byte(src), Options{ConfigTest: true})
}

func TestPriorityAndState(t *testing.T) {
	tests := []struct {
		body      string
		wantPrio  int
		wantState State
	}{
		{"state MASTER", 255, StateMaster},
		{"state BACKUP", 100, StateBackup},
		{"", 100, StateBackup},
		{"priority 255", 255, StateMaster},
		{"priority 254", 254, StateBackup},
		{"state MASTER\npriority 101", 101, StateMaster},
		{"state BACKUP\npriority 255", 255, StateBackup},
		{"state MASTER\npriority 150\nauthentication {\nauth_type AH\nauth_pass x\n}", 150, StateBackup},
		{"state MASTER\npriority 255\nauthentication {\nauth_type AH\nauth_pass x\n}", 255, StateMaster},
		{"state MASTER\npriority 150\nauthentication {\nauth_type PASS\nauth_pass x\n}", 150, StateMaster},
	}
	for _, tt := range tests {
		cfg, diags, err := parseString(t, "vrrp_instance I {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n10.0.0.1\n}\n"+tt.body+"\n}\n")
		if err != nil {
			t.Errorf("%q: %v %v", tt.body, err, diags)
			continue
		}
		in := cfg.Instances[0]
		if in.Priority != tt.wantPrio || in.State != tt.wantState {
			t.Errorf("%q: priority %d state %v, want %d %v", tt.body, in.Priority, in.State, tt.wantPrio, tt.wantState)
		}
	}
}

func TestAdvertInt(t *testing.T) {
	tests := []struct {
		version, advert string
		want            time.Duration
		msg             string
	}{
		{"2", "", time.Second, ""},
		{"2", "3", 3 * time.Second, ""},
		{"2", "1.5", 2 * time.Second, "(I) VRRPv2 advertisement interval 1.500000s must be an integer. rounding"},
		{"2", "0.4", time.Second, "(I) VRRPv2 advertisement interval 0.400000s must be an integer. rounding"},
		{"2", "255", 255 * time.Second, ""},
		{"3", "0.015", 20 * time.Millisecond, "(I) VRRPv3 advertisement interval 0.015000s must be in units of 10ms - rounding"},
		{"3", "0.25", 250 * time.Millisecond, ""},
		{"3", "41", 40950 * time.Millisecond, "(I) VRRPv3 advertisement interval 41.00s is out of range. Must be less than 40.96s. Setting to 40.95s"},
		{"3", "0.001", time.Second, "Line 5) number '0.001' outside range [0.010000, 255.000000]"},
		{"2", "1.0000005", time.Second, "Line 5) number '1.0000005' has too many decimal places"},
	}
	for _, tt := range tests {
		adv := ""
		if tt.advert != "" {
			adv = "advert_int " + tt.advert
		}
		cfg, diags, _ := parseString(t, "vrrp_instance I {\ninterface eth0\nvirtual_router_id 1\nversion "+tt.version+"\n"+adv+"\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n")
		in := cfg.Instances[0]
		if in.AdvertInt != tt.want {
			t.Errorf("v%s advert_int %q = %v, want %v", tt.version, tt.advert, in.AdvertInt, tt.want)
		}
		found := tt.msg == ""
		for _, d := range diags {
			if strings.Contains(d.String(), tt.msg) {
				found = true
			}
		}
		if !found || (tt.msg == "" && len(diags) != 0) {
			t.Errorf("v%s advert_int %q: diagnostics %v, want %q", tt.version, tt.advert, diags, tt.msg)
		}
	}
}

func TestConfigTestExitCode(t *testing.T) {
	d := func(c class) Diagnostic { return Diagnostic{class: c, Severity: c.severity()} }
	tests := []struct {
		diags []Diagnostic
		want  int
	}{
		{nil, ExitOK},
		{[]Diagnostic{d(classOK)}, ExitOK},
		{[]Diagnostic{d(classFileNotFound)}, ExitFatal},
		{[]Diagnostic{d(classBadIf), d(classFatal)}, ExitFatal},
		{[]Diagnostic{d(classBadIf), d(classGeneral)}, ExitConfigErrors},
		{[]Diagnostic{d(classDeprecated)}, ExitConfigErrors},
		{[]Diagnostic{d(classSecurity), d(classGeneral)}, ExitSecurity},
		{[]Diagnostic{d(classGeneral), {class: classMissingParameter, abort: true}}, ExitMissingParameter},
	}
	for i, tt := range tests {
		if got := ConfigTestExitCode(tt.diags); got != tt.want {
			t.Errorf("%d: exit %d, want %d", i, got, tt.want)
		}
	}
}

func TestDiagnosticFormats(t *testing.T) {
	d := Diagnostic{Severity: Error, Pos: Pos{File: "/etc/keepalived/keepalived.conf", Line: 26}, Msg: "Truncating auth_pass to 8 characters"}
	if got, want := d.String(), "(/etc/keepalived/keepalived.conf: Line 26) Truncating auth_pass to 8 characters"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := d.LogString(), "error: /etc/keepalived/keepalived.conf:26: Truncating auth_pass to 8 characters"; got != want {
		t.Errorf("LogString() = %q, want %q", got, want)
	}
	g := Diagnostic{Severity: Security, Msg: "SECURITY VIOLATION"}
	if g.String() != "SECURITY VIOLATION" || g.LogString() != "security: SECURITY VIOLATION" {
		t.Errorf("global diagnostic: %q / %q", g.String(), g.LogString())
	}
}

func TestMissingParameterStops(t *testing.T) {
	cfg, diags, err := parseString(t, "vrrp_instance I {\ninterface\nvirtual_router_id 1\n}\nglobal_defs {\nbogus\n}\n")
	if err == nil || !strings.Contains(err.Error(), "missing parameter") {
		t.Fatalf("err = %v", err)
	}
	if len(diags) != 1 || diags[0].String() != "(k.conf: Line 2) *** Configuration line starting `interface` is missing a parameter after keyword `interface` at word position 2" {
		t.Errorf("diagnostics: %v", diags)
	}
	if ConfigTestExitCode(diags) != ExitMissingParameter || cfg == nil {
		t.Errorf("exit %d", ConfigTestExitCode(diags))
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "keepalived.conf")
	os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "conf.d", "vi.conf"), []byte("vrrp_instance VI {\ninterface eth0\nvirtual_router_id 9\nvirtual_ipaddress {\n10.9.9.9/24\n}\n}\n"), 0o644)
	os.WriteFile(main, []byte("include conf.d/*.conf\n"), 0o644)
	cfg, diags, err := ParseFile(main)
	if err != nil || len(diags) != 0 {
		t.Fatalf("ParseFile: %v %v", err, diags)
	}
	if len(cfg.Instances) != 1 || cfg.Instances[0].VIPs[0].Prefix.String() != "10.9.9.9/24" || cfg.Global.RouterID == "" {
		t.Errorf("config: %+v", cfg)
	}
	if _, _, err := ParseFile(filepath.Join(dir, "absent.conf")); err == nil {
		t.Error("ParseFile of a missing file: no error")
	}
}

func TestInterfaceChecks(t *testing.T) {
	ifs := map[string]InterfaceInfo{"lo": {Loopback: true}, "eth0": {Multicast: true}}
	opts := Options{ConfigTest: true, Interfaces: func(n string) (InterfaceInfo, bool) { i, ok := ifs[n]; return i, ok }}
	src := "vrrp_instance I {\ninterface %s\nvirtual_router_id 1\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n"
	for _, tt := range []struct{ ifname, want string }{
		{"eth9", "WARNING - interface eth9 for vrrp_instance I doesn't exist|Non-existent interface specified in configuration"},
		{"lo", "(I) cannot use a loopback interface (lo) for vrrp - ignoring|(I) Unknown interface!"},
		{"eth0", ""},
		// A missing tracked interface or address dev stops keepalived's
		// VRRP checks too (the script check is not made: no SECURITY
		// VIOLATION for the notify script).
		{"eth0\ntrack_interface {\neth9\n}\nnotify_master /bin/true", "(I) tracked interface eth9 doesn't exist|Non-existent interface specified in configuration"},
		{"eth0\nvirtual_ipaddress {\n10.0.0.2 dev eth9\n}", "WARNING - interface eth9 for ip address 10.0.0.2 doesn't exist|Non-existent interface specified in configuration"},
	} {
		_, diags, _ := Parse("k.conf", []byte(strings.Replace(src, "%s", tt.ifname, 1)), opts)
		var msgs []string
		for _, d := range diags {
			msgs = append(msgs, d.Msg)
		}
		if got := strings.Join(msgs, "|"); got != tt.want {
			t.Errorf("interface %s: %q, want %q", tt.ifname, got, tt.want)
		}
	}
}

// TestDaemonModeNumbers: outside -t, keepalived accepts an in-range number
// with trailing junk where the keyword tolerates errors, with a warning.
func TestDaemonModeNumbers(t *testing.T) {
	src := "vrrp_instance I {\ninterface eth0\nvirtual_router_id 1\ngarp_master_repeat 3x\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n"
	for _, tt := range []struct {
		test   bool
		repeat int
		msg    string
	}{
		{true, 5, "invalid number '3x'"},
		{false, 3, "WARNING - invalid number '3x'"},
	} {
		cfg, diags, _ := Parse("k.conf", []byte(src), Options{ConfigTest: tt.test})
		if got := cfg.Instances[0].GARP.MasterRepeat; got != tt.repeat {
			t.Errorf("ConfigTest=%v: garp_master_repeat %d, want %d", tt.test, got, tt.repeat)
		}
		if len(diags) == 0 || diags[0].Msg != tt.msg {
			t.Errorf("ConfigTest=%v: diagnostics %v, want %q first", tt.test, diags, tt.msg)
		}
	}
}

// TestGlobalGARPOrder: an instance copies the global GARP settings read
// before it, as keepalived's alloc_vrrp does.
func TestGlobalGARPOrder(t *testing.T) {
	src := `global_defs {
  vrrp_garp_master_delay 2
}
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    10.0.0.1
  }
}
global_defs {
  vrrp_garp_master_delay 9
  vrrp_garp_master_repeat 7
}
vrrp_instance B {
  interface eth0
  virtual_router_id 2
  garp_master_repeat 1
  virtual_ipaddress {
    10.0.0.2
  }
}
`
	cfg, diags, err := parseString(t, src)
	if err != nil || len(diags) != 0 {
		t.Fatalf("%v %v", err, diags)
	}
	a, b := cfg.Instance("A").GARP, cfg.Instance("B").GARP
	if a.MasterDelay != 2*time.Second || a.MasterRepeat != 5 || b.MasterDelay != 9*time.Second || b.MasterRepeat != 1 {
		t.Errorf("A %+v, B %+v", a, b)
	}
}

func TestSystemInterfaces(t *testing.T) {
	info, ok := SystemInterfaces("lo")
	if !ok || !info.Loopback {
		t.Errorf("lo: %+v %v", info, ok)
	}
	if _, ok := SystemInterfaces("no-such-if0"); ok {
		t.Error("no-such-if0 found")
	}
}

func TestFormatDiagnosticsLeavesOutLogOnly(t *testing.T) {
	_, diags, _ := parseString(t, "vrrp_instance I {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n2001:db8::1\n}\nuse_ipvlan\n}\n")
	out := FormatDiagnostics(diags)
	if strings.Contains(out, "should be link local") {
		t.Errorf("log-only message printed:\n%s", out)
	}
	if !strings.Contains(out, "(k.conf: Line 7) 'use_ipvlan' is not implemented by gkeepalived (ipvlan, use_vmac_addr and VMAC GARP intervals)") {
		t.Errorf("gkeepalived's own warning missing:\n%s", out)
	}
	found := false
	for _, d := range diags {
		found = found || (d.LogOnly() && d.Msg == "(I) the first IPv6 VIP address should be link local")
	}
	if !found {
		t.Errorf("log-only diagnostic missing: %v", diags)
	}
}

// TestGlobalInstanceDefaults: vrrp_mcast_group4/6,
// vrrp_lower_prio_no_advert and vrrp_higher_prio_send_advert reach every
// instance that does not set its own value (keepalived vrrp.c
// vrrp_complete_instance), which is what the runtime reads.
func TestGlobalInstanceDefaults(t *testing.T) {
	src := `global_defs {
    vrrp_mcast_group4 224.0.0.99
    vrrp_mcast_group6 ff02::99
    vrrp_lower_prio_no_advert
    vrrp_higher_prio_send_advert true
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        10.0.0.1
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    mcast_dst_ip 224.0.0.77
    lower_prio_no_advert false
    higher_prio_send_advert off
    virtual_ipaddress {
        10.0.0.2
    }
}
vrrp_instance C {
    interface eth0
    virtual_router_id 3
    virtual_ipaddress {
        fe80::3
    }
}
`
	cfg, diags, err := parseString(t, src)
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	for _, tt := range []struct {
		name          string
		group         string
		noAdv, sendHi bool
	}{
		{"A", "224.0.0.99", true, true},
		{"B", "224.0.0.77", false, false},
		{"C", "ff02::99", true, true},
	} {
		in := cfg.Instance(tt.name)
		if in.McastDstIP.String() != tt.group || in.LowerPrioNoAdvert != tt.noAdv || in.HigherPrioSendAdvert != tt.sendHi {
			t.Errorf("%s: group %v lower_prio_no_advert %v higher_prio_send_advert %v, want %s %v %v",
				tt.name, in.McastDstIP, in.LowerPrioNoAdvert, in.HigherPrioSendAdvert, tt.group, tt.noAdv, tt.sendHi)
		}
	}
	// Without global_defs: keepalived's groups and both flags off.
	cfg, _, err = parseString(t, "vrrp_instance A {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if in := cfg.Instances[0]; in.McastDstIP.String() != "224.0.0.18" || in.LowerPrioNoAdvert || in.HigherPrioSendAdvert {
		t.Errorf("defaults: group %v %v %v, want 224.0.0.18 false false", in.McastDstIP, in.LowerPrioNoAdvert, in.HigherPrioSendAdvert)
	}
}

// TestStrictMode: strict mode's corrections are applied to the instance;
// an instance that keepalived would run without accept mode (it then
// installs nftables rules dropping traffic to the VIPs, measured with
// keepalived 2.2.7: a TCP connect to the VIP of a strict priority-100
// master times out, of a priority-255 one is refused) is refused at the
// strict keyword's line, since gkeepalived has no such firewall.
func TestStrictMode(t *testing.T) {
	inst := "vrrp_instance I {\ninterface eth0\nvirtual_router_id 1\n%s\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n"
	for _, tt := range []struct {
		name, global, body string
		refusedAt          int // non-zero: refused (accept mode off), 0 = runs
	}{
		{"global strict, owner", "global_defs {\nvrrp_strict\n}\n", "priority 255\nlower_prio_no_advert off\nhigher_prio_send_advert", 0},
		{"global strict, backup", "global_defs {\nvrrp_strict\n}\n", "priority 100", 2},
		{"instance strict, backup", "", "state BACKUP\nstrict_mode", 5},
		{"instance strict on", "", "strict_mode on", 4},
		{"instance opts out", "global_defs {\nvrrp_strict\n}\n", "strict_mode off", 0},
		{"no strict", "", "priority 100", 0},
	} {
		src := tt.global + strings.Replace(inst, "%s", tt.body, 1)
		_, diags, err := parseString(t, src)
		var refused []Diagnostic
		for _, d := range diags {
			if strings.Contains(d.Msg, "accept mode is off") {
				refused = append(refused, d)
			}
		}
		if tt.refusedAt == 0 {
			if err != nil || len(refused) > 0 {
				t.Errorf("%s: refused: %v %v", tt.name, err, refused)
			}
			continue
		}
		if err == nil || len(refused) != 1 || refused[0].Pos.Line == 0 {
			t.Errorf("%s: err %v, refusal %v; want one refusal naming its line", tt.name, err, refused)
			continue
		}
		if code := ConfigTestExitCode(diags); code == ExitOK {
			t.Errorf("%s: -t exit code %d, want non-zero", tt.name, code)
		}
		if !strings.Contains(refused[0].String(), "k.conf: Line") {
			t.Errorf("%s: %q does not name file and line", tt.name, refused[0].String())
		}
	}
	// The owner in strict mode gets strict's corrections.
	cfg, _, err := parseString(t, "global_defs {\nvrrp_strict\n}\n"+strings.Replace(inst, "%s", "priority 255\nlower_prio_no_advert off\nhigher_prio_send_advert", 1))
	if err != nil {
		t.Fatal(err)
	}
	if in := cfg.Instances[0]; !in.LowerPrioNoAdvert || in.HigherPrioSendAdvert {
		t.Errorf("strict owner: lower_prio_no_advert %v higher_prio_send_advert %v, want true false", in.LowerPrioNoAdvert, in.HigherPrioSendAdvert)
	}
}

// TestSyncGroupMembership: membership lives in SyncGroup.Instances (what
// the runtime groups by), and a member's weighted tracking is dropped as
// keepalived drops it ("ignoring tracked script ... due to SYNC group"),
// while a non-member keeps its weights.
func TestSyncGroupMembership(t *testing.T) {
	inst := "vrrp_instance %s {\ninterface eth0\nvirtual_router_id %d\ntrack_script {\nchk weight 10\n}\nvirtual_ipaddress {\n10.0.0.%d\n}\n}\n"
	src := "vrrp_script chk {\nscript /bin/true\n}\n" +
		fmt.Sprintf(inst, "A", 1, 1) + fmt.Sprintf(inst, "B", 2, 2) + fmt.Sprintf(inst, "C", 3, 3) +
		"vrrp_sync_group G {\ngroup {\nA\nB\n}\n}\n"
	cfg, diags, err := parseString(t, src)
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	if len(cfg.SyncGroups) != 1 || strings.Join(cfg.SyncGroups[0].Instances, ",") != "A,B" {
		t.Fatalf("sync groups %+v, want G with A,B", cfg.SyncGroups)
	}
	for name, want := range map[string]int{"A": 0, "B": 0, "C": 1} {
		if got := len(cfg.Instance(name).TrackScripts); got != want {
			t.Errorf("%s: %d weighted track scripts, want %d", name, got, want)
		}
	}
}

// TestMinGARP: vrrp_min_garp gives one gratuitous ARP without repeat or
// refresh, as keepalived 2.2.7 dumps it (-d: delay 0, repeat 1, refresh
// repeat 0, lower priority delay 0 and repeat 1), leaving a setting made
// before it to another value alone.
func TestMinGARP(t *testing.T) {
	inst := "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n"
	cfg, diags, err := parseString(t, "global_defs {\nvrrp_min_garp\n}\n"+inst)
	if err != nil || len(diags) != 0 {
		t.Fatalf("%v %v", err, diags)
	}
	want := GARP{MasterDelay: 0, MasterRepeat: 1, MasterRefresh: 0, MasterRefreshRepeat: 0, LowerPrioDelay: 0, LowerPrioRepeat: 1}
	if got := cfg.Instances[0].GARP; got != want {
		t.Errorf("GARP %+v, want %+v", got, want)
	}
	cfg, _, _ = parseString(t, "global_defs {\nvrrp_garp_master_repeat 3\nvrrp_min_garp\n}\n"+inst)
	if got := cfg.Instances[0].GARP.MasterRepeat; got != 3 {
		t.Errorf("repeat set before vrrp_min_garp: %d, want 3", got)
	}
	cfg, _, _ = parseString(t, "global_defs {\nvrrp_min_garp false\n}\n"+inst)
	if got := cfg.Instances[0].GARP.MasterRepeat; got != 5 {
		t.Errorf("vrrp_min_garp false: repeat %d, want 5", got)
	}
}
