package keepalivedcfg

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tableConfig is a minimal configuration with a place for a keyword in each
// block; keywordConfig fills one and returns the line the keyword is on.
const tableConfig = `global_defs {
  router_id lb1
  enable_script_security
  @GLOBAL@
}
vrrp_script chk {
  script "/bin/true"
  @SCRIPT@
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    192.0.2.1
  }
  authentication {
    @AUTH@
  }
  @INSTANCE@
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    192.0.2.2
  }
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  @SYNCGROUP@
}
vrrp_track_process chkp {
  process haproxy
  @PROCESS@
}
track_file tf {
  file /tmp/tf
  @TRACKFILE@
}
@ROOT@
`

var placeholder = map[string]string{
	BlockRoot: "@ROOT@", BlockGlobal: "@GLOBAL@", BlockScript: "@SCRIPT@", BlockInstance: "@INSTANCE@",
	BlockAuth: "@AUTH@", BlockSyncGroup: "@SYNCGROUP@", BlockProcess: "@PROCESS@", BlockTrackFile: "@TRACKFILE@",
}

func keywordConfig(k KeywordInfo) (string, int) {
	text := k.Name + " 1"
	if k.TakesBlock {
		text = k.Name + " x {\n  a b\n  c { d }\n}"
	}
	src := tableConfig
	line := strings.Count(src[:strings.Index(src, placeholder[k.Block])], "\n") + 1
	src = strings.Replace(src, placeholder[k.Block], text, 1)
	for _, ph := range placeholder {
		src = strings.Replace(src, ph, "", 1)
	}
	return src, line
}

// TestKeywordTable walks the keyword table: a refused keyword fails the
// configuration with an error at its file:line naming it (and -t's exit
// code is not 0); a cosmetic one gives a warning at its line and still runs;
// a working one gives no gkeepalived warning.
func TestKeywordTable(t *testing.T) {
	counts := map[Class]int{}
	for _, k := range Keywords {
		if k.Extension {
			continue // bgp_test.go
		}
		counts[k.Class]++
		name := k.Block + "/" + k.Name
		if k.Block == BlockRoot {
			name = "root/" + k.Name
		}
		t.Run(name, func(t *testing.T) {
			src, line := keywordConfig(k)
			_, diags, err := Parse("k.conf", []byte(src), Options{ConfigTest: true})
			var at []Diagnostic
			for _, d := range diags {
				if d.Pos.File == "k.conf" && d.Pos.Line == line {
					at = append(at, d)
				}
			}
			mentions := func(d Diagnostic) bool { return strings.Contains(d.Msg, "'"+k.Name+"'") }
			switch k.Class {
			case Refused:
				found := false
				for _, d := range at {
					found = found || (d.Severity == Fatal && mentions(d) && strings.Contains(d.Msg, k.Feature[:min(len(k.Feature), 3)]))
				}
				if !found {
					t.Errorf("no error at k.conf:%d naming %s: %v", line, k.Name, at)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("Parse error = %v, want ErrInvalid", err)
				}
				if code := ConfigTestExitCode(diags); code != ExitConfigErrors {
					t.Errorf("-t exit code %d, want %d", code, ExitConfigErrors)
				}
				out := FormatDiagnostics(diags)
				if !strings.Contains(out, fmt.Sprintf("(k.conf: Line %d) '%s'", line, k.Name)) && !strings.Contains(out, fmt.Sprintf("(Line %d) '%s'", line, k.Name)) {
					t.Errorf("-t output lacks the refusal:\n%s", out)
				}
			case Cosmetic:
				found := false
				for _, d := range at {
					found = found || (d.Severity == Warning && mentions(d))
				}
				if !found {
					t.Errorf("no warning at k.conf:%d naming %s: %v", line, k.Name, at)
				}
				if err != nil || HasFatal(diags) {
					t.Errorf("cosmetic keyword stops the configuration: %v", err)
				}
			case Works:
				for _, d := range at {
					if d.extra || d.class == classUnknownKeyword || d.Severity == Warning {
						t.Errorf("working keyword reported: %s", d)
					}
				}
			}
		})
	}
	if counts[Works] < 80 || counts[Refused] < 50 || counts[Cosmetic] < 40 {
		t.Errorf("table looks truncated: %v", counts)
	}
}

// TestKeywordTableIsComplete checks the table against the keywords
// keepalived 2.2.7's parsers install (testdata/keepalived-2.2.7-keywords.txt,
// "block keyword" per line, extracted from its sources): none is missing,
// none is invented.
func TestKeywordTableIsComplete(t *testing.T) {
	b, err := os.ReadFile("testdata/keepalived-2.2.7-keywords.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			want[l] = true
		}
	}
	have := map[string]bool{}
	for _, k := range Keywords {
		block := k.Block
		if block == BlockRoot {
			block = "root"
		}
		key := block + " " + k.Name
		if have[key] {
			t.Errorf("%s is twice in the table", key)
		}
		have[key] = true
		if k.Extension {
			continue
		}
		if !want[key] {
			t.Errorf("%s is not a keepalived 2.2.7 keyword", key)
		}
		if k.Class != Works && k.Feature == "" {
			t.Errorf("%s: %s without a feature", key, k.Class)
		}
	}
	for key := range want {
		if !have[key] {
			t.Errorf("keepalived 2.2.7 keyword %s is missing from the table", key)
		}
	}
}

// TestREADMENotImplemented checks that the keepalived line of the README's
// "Not implemented yet" list is the table's refused features.
func TestREADMENotImplemented(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "Not implemented yet")
	if i < 0 {
		t.Fatal(`README has no "Not implemented yet"`)
	}
	m := regexp.MustCompile(`(?m)^- keepalived: (.*(?:\n  .*)*)`).FindStringSubmatch(s[i:])
	if m == nil {
		t.Fatal(`README's "Not implemented yet" has no "- keepalived: " item`)
	}
	got := strings.Join(strings.Fields(m[1]), " ")
	want := strings.Join(NotImplemented(), "; ") + "."
	if got != want {
		t.Errorf("README's keepalived item is\n%s\nthe keyword table says\n- keepalived: %s", got, want)
	}
}

// TestLowerPrioGARPDefaults: as keepalived's vrrp_complete_init, the lower
// priority GARPs default to the master ones (vrrp_garp_master_repeat,
// vrrp_garp_master_delay), and to none in strict mode.
func TestLowerPrioGARPDefaults(t *testing.T) {
	const inst = "vrrp_instance I {\ninterface eth0\nvirtual_router_id 1\n%s\nvirtual_ipaddress {\n192.0.2.1\n}\n}\n"
	for _, tc := range []struct {
		src    string
		repeat int
		delay  int
	}{
		{fmt.Sprintf(inst, ""), 5, 5},
		{"global_defs {\nvrrp_garp_master_repeat 3\nvrrp_garp_master_delay 7\n}\n" + fmt.Sprintf(inst, ""), 3, 7},
		{"global_defs {\nvrrp_garp_lower_prio_repeat 2\nvrrp_garp_lower_prio_delay 4\n}\n" + fmt.Sprintf(inst, ""), 2, 4},
		{fmt.Sprintf(inst, "garp_lower_prio_repeat 1\ngarp_lower_prio_delay 0"), 1, 0},
		{"global_defs {\nvrrp_strict\n}\n" + fmt.Sprintf(inst, "priority 255"), 0, 0},
	} {
		cfg, _, err := parseString(t, tc.src)
		if err != nil {
			t.Fatal(err)
		}
		g := cfg.Instances[0].GARP
		if g.LowerPrioRepeat != tc.repeat || g.LowerPrioDelay != time.Duration(tc.delay)*time.Second {
			t.Errorf("%q: lower prio repeat %d delay %v, want %d, %ds", tc.src, g.LowerPrioRepeat, g.LowerPrioDelay, tc.repeat, tc.delay)
		}
	}
}

// TestCheckScript: with Options.CheckScript, a track script found unsafe
// under enable_script_security is removed from the instances with
// keepalived's message, a refused notify script is dropped, and the check's
// log lines are kept for the daemon's log only (not printed by -t).
func TestCheckScript(t *testing.T) {
	const src = `global_defs {
  @SEC@
}
vrrp_script bad {
  script "/w/bad.sh"
}
vrrp_script good {
  script "/s/good.sh"
}
vrrp_instance I {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    192.0.2.1
  }
  track_script {
    bad
    good
  }
  notify_master "/w/notify.sh"
  notify_backup "/s/notify.sh"
}
`
	check := func(args []string, user, group string, security bool) (ScriptVerdict, []string) {
		if !strings.HasPrefix(args[0], "/w/") {
			return ScriptRuns, nil
		}
		if security {
			return ScriptInhibited, []string{"Unsafe permissions found for script '" + args[0] + "' - disabling."}
		}
		return ScriptInsecure, []string{"Unsafe permissions found for script '" + args[0] + "'."}
	}
	for _, security := range []bool{true, false} {
		sec := ""
		if security {
			sec = "enable_script_security"
		}
		cfg, diags, err := Parse("k.conf", []byte(strings.Replace(src, "@SEC@", sec, 1)), Options{ConfigTest: true, CheckScript: check})
		if err != nil {
			t.Fatal(err)
		}
		in := cfg.Instances[0]
		out := FormatDiagnostics(diags)
		if security {
			if len(in.TrackScripts) != 1 || in.TrackScripts[0].Name != "good" || cfg.Script("bad") != nil {
				t.Errorf("tracked scripts %+v, want only good", in.TrackScripts)
			}
			if in.NotifyMaster != nil || in.NotifyBackup == nil {
				t.Errorf("notify master %v backup %v, want only backup", in.NotifyMaster, in.NotifyBackup)
			}
			if out != "Disabling track script bad due to insecure\n" || ConfigTestExitCode(diags) != ExitConfigErrors {
				t.Errorf("-t prints (exit %d):\n%s", ConfigTestExitCode(diags), out)
			}
		} else {
			if len(in.TrackScripts) != 2 || in.NotifyMaster == nil {
				t.Errorf("without script security the scripts must stay: %+v", in)
			}
			if out != "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts.\n" {
				t.Errorf("-t prints:\n%s", out)
			}
		}
		logged := 0
		for _, d := range diags {
			if d.LogOnly() && strings.HasPrefix(d.Msg, "Unsafe permissions found for script '/w/") {
				logged++
			}
		}
		if logged != 2 || !cfg.ScriptsChecked {
			t.Errorf("%d unsafe lines for the log, checked %v; want 2, true", logged, cfg.ScriptsChecked)
		}
	}
}

// TestRefusedOptions: options that are not keywords of their own are
// refused too: an address option gkeepalived cannot apply, and the include
// variants that check files.
func TestRefusedOptions(t *testing.T) {
	const inst = "vrrp_instance I {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n%s\n}\n}\n"
	for _, tc := range []struct{ src, want string }{
		{fmt.Sprintf(inst, "2001:db8::1/64 noprefixroute"), "(k.conf: Line 5) address flag 'noprefixroute' is not implemented"},
		{fmt.Sprintf(inst, "192.0.2.1 use_vmac"), "(k.conf: Line 5) use_vmac is not implemented"},
		{"includer /nonexistent.conf\n" + fmt.Sprintf(inst, "192.0.2.1"), "(Line 1) 'includer' is not implemented by gkeepalived (include checking"},
	} {
		_, diags, err := parseString(t, tc.src)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(FormatDiagnostics(diags), tc.want) || ConfigTestExitCode(diags) != ExitConfigErrors {
			t.Errorf("%q: err %v, exit %d, diagnostics:\n%s\nwant %q", tc.src, err, ConfigTestExitCode(diags), FormatDiagnostics(diags), tc.want)
		}
	}
	cfg, _, err := parseString(t, fmt.Sprintf(inst, "fe80::1/64\n2001:db8::1/64 preferred_lft 0\n2001:db8::2 preferred_lft forever"))
	if err != nil {
		t.Fatal(err)
	}
	v := cfg.Instances[0].VIPs
	if v[0].PreferredLft != nil || v[1].PreferredLft == nil || *v[1].PreferredLft != 0 || v[2].PreferredLft == nil || *v[2].PreferredLft != 1<<32-1 {
		t.Errorf("preferred_lft not in the model: %+v", v)
	}
}

// TestAcceptMode: keepalived (built with nftables, as Debian's) drops
// traffic to the VIPs of an instance whose accept mode is off; gkeepalived
// refuses such an instance with its file:line.
func TestAcceptMode(t *testing.T) {
	const inst = "%svrrp_instance I {\ninterface eth0\nvirtual_router_id 1\n%s\nvirtual_ipaddress {\n192.0.2.1\n}\n}\n"
	const strict = "global_defs {\nvrrp_strict\n}\n"
	for _, tc := range []struct {
		global, body string
		refused      bool
	}{
		{"", "", false},
		{"", "accept", false},
		{"", "no_accept", true},
		{strict, "", true},
		{strict, "priority 255", false},
		{strict, "accept", true}, // VRRPv2: keepalived resets accept
		{strict, "accept\nversion 3", false},
		{"", "strict_mode\nversion 3", true},
		{"", "strict_mode\nversion 3\naccept", false},
	} {
		src := fmt.Sprintf(inst, tc.global, tc.body)
		_, diags, err := parseString(t, src)
		out := FormatDiagnostics(diags)
		line := strings.Count(tc.global, "\n") + 1
		want := fmt.Sprintf("(k.conf: Line %d) (I) accept mode is off", line)
		if tc.refused != strings.Contains(out, want) || tc.refused != errors.Is(err, ErrInvalid) {
			t.Errorf("%q: refused %v, want %v (err %v):\n%s", src, !tc.refused, tc.refused, err, out)
		}
	}
}

// TestScriptUser: with Options.ScriptUser, a script without its own user
// is removed when there is no default user to run it as, as keepalived's
// get_default_script_user.
func TestScriptUser(t *testing.T) {
	const src = "global_defs {\n%s\n}\nvrrp_script s {\nscript /bin/true\n}\nvrrp_instance I {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n192.0.2.1\n}\ntrack_script {\ns\n}\nnotify_master /bin/true\n}\n"
	exists := func(user, group string) (bool, string) {
		if user == "root" {
			return true, ""
		}
		return false, "Script user '" + user + "' does not exist"
	}
	for _, tc := range []struct {
		global, want string
		kept         bool
	}{
		{"enable_script_security", "(k.conf: Line 6) Unable to set default user keepalived_script for script", false},
		{"script_user nobody_here", "(Line 2) Error setting global script uid/gid", false},
		{"enable_script_security\nscript_user root", "", true},
		{"", "SECURITY VIOLATION", true}, // no script security: keepalived runs them as root
	} {
		cfg, diags, err := Parse("k.conf", []byte(fmt.Sprintf(src, tc.global)), Options{ConfigTest: true, ScriptUser: exists})
		if err != nil {
			t.Fatal(err)
		}
		out := FormatDiagnostics(diags)
		if !strings.Contains(out, tc.want) {
			t.Errorf("%q: -t lacks %q:\n%s", tc.global, tc.want, out)
		}
		in := cfg.Instances[0]
		if kept := cfg.Script("s") != nil && len(in.TrackScripts) == 1 && in.NotifyMaster != nil; kept != tc.kept {
			t.Errorf("%q: scripts kept %v, want %v:\n%s", tc.global, kept, tc.kept, out)
		}
	}
}
