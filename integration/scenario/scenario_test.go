package scenario

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"hapair/integration/peers"
)

func TestLoadReference(t *testing.T) {
	s, err := Load("reference.toml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "seed" || s.URL != "http://192.168.1.84/" || s.Timeout.Duration != 85*time.Second {
		t.Errorf("scenario = %q %q %s", s.Name, s.URL, s.Timeout.Duration)
	}
	if h := s.Host("lb2"); h == nil || h.Proxy != "haproxy" || h.VRRP != "keepalived" || h.prefixes[0].String() != "192.168.1.81/24" {
		t.Errorf("lb2 = %+v", h)
	}
	if len(s.Steps) == 0 || s.Steps[0].Do != "start" {
		t.Errorf("steps = %v", s.Steps)
	}
}

// The per-host substitutions the seed's comments name, for Debian's daemons
// and, after Use, for ours (the seed's files verbatim).
func TestRenderPerHost(t *testing.T) {
	for _, c := range []struct {
		name, proxy, vrrp string
		proxyWant         map[string][]string // host → substrings
	}{
		{"reference", "haproxy", "keepalived", map[string][]string{
			"lb1": {"bind 192.168.1.80:80", "timeout client 60000"},
			"lb2": {"bind 192.168.1.81:80"},
		}},
		{"ours", "gproxy", "gkeepalived", map[string][]string{
			"lb1": {"listen stats 192.168.1.80:80", "clitimeout 60000"},
			"lb2": {"listen stats 192.168.1.81:80"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Load("reference.toml")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Use(RoleProxy, c.proxy); err != nil {
				t.Fatal(err)
			}
			if err := s.Use(RoleVRRP, c.vrrp); err != nil {
				t.Fatal(err)
			}
			got, err := s.render()
			if err != nil {
				t.Fatal(err)
			}
			for host, subs := range c.proxyWant {
				for _, sub := range subs {
					if !strings.Contains(string(got[host][c.proxy]), sub) {
						t.Errorf("%s's %s config lacks %q", host, c.proxy, sub)
					}
				}
			}
			ka1, ka2 := string(got["lb1"][c.vrrp]), string(got["lb2"][c.vrrp])
			for _, sub := range []string{"state MASTER", "priority 101", "interface eth0"} {
				if !strings.Contains(ka1, sub) {
					t.Errorf("lb1's keepalived.conf lacks %q", sub)
				}
			}
			for _, sub := range []string{"state BACKUP", "priority 100", "interface eth0"} {
				if !strings.Contains(ka2, sub) {
					t.Errorf("lb2's keepalived.conf lacks %q", sub)
				}
			}
			if strings.Contains(ka2, "priority 101") || strings.Contains(string(got["lb2"][c.proxy]), "192.168.1.80:80") {
				t.Error("lb2 keeps lb1's settings")
			}
			d := s.daemon(s.Programs[c.proxy])
			if d.Process != "haproxy" {
				t.Errorf("%s runs as %q; want haproxy (what the track script kills -0)", c.proxy, d.Process)
			}
		})
	}
}

const minimal = `
name = "t"
vip = "10.0.0.9"
client = "c"
[programs.p]
kind = "haproxy"
path = "/usr/sbin/haproxy"
config = "x.cfg"
[[hosts]]
name = "c"
addrs = ["10.0.0.1/24"]
`

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"ok", minimal, ""},
		{"syntax", "name = \n", "t.toml:1:"},
		{"unknown key", minimal + "colour = 1\n", "unknown keys hosts.colour"},
		{"no name", strings.Replace(minimal, `name = "t"`, "", 1), "name is empty"},
		{"bad kind", strings.Replace(minimal, `kind = "haproxy"`, `kind = "nginx"`, 1), `kind "nginx"`},
		{"bad addr", strings.Replace(minimal, "10.0.0.1/24", "10.0.0.1", 1), `address "10.0.0.1"`},
		{"bad vip", strings.Replace(minimal, `vip = "10.0.0.9"`, `vip = "x"`, 1), "vip:"},
		{"unknown program", minimal + "[[hosts]]\nname = \"lb\"\nproxy = \"nope\"\n", `no program "nope"`},
		{"repeated host", minimal + "[[hosts]]\nname = \"c\"\n", `"c" empty or repeated`},
		{"bad replace", minimal + "[[hosts]]\nname = \"lb\"\nproxy = \"p\"\nreplace = [[\"a\"]]\n", "replace[0]"},
		{"bad step", minimal + "[[steps]]\ndo = \"dance\"\n", `do "dance"`},
		{"kill needs host", minimal + "[[steps]]\ndo = \"kill\"\nservice = \"proxy\"\n", `no host ""`},
		{"bad signal", minimal + "[[steps]]\ndo = \"kill\"\nhost = \"c\"\nservice = \"proxy\"\nsignal = \"BOOM\"\n", `signal "BOOM"`},
		{"bad until", minimal + "[[steps]]\ndo = \"wait\"\nuntil = \"dawn\"\n", `until "dawn"`},
		{"vip needs host", minimal + "[[steps]]\ndo = \"wait\"\nuntil = \"vip\"\n", "needs a host"},
		{"bad duration", minimal + "[[steps]]\ndo = \"sleep\"\nfor = \"soon\"\n", "soon"},
		{"measure needs name", minimal + "[[steps]]\ndo = \"measure\"\n", "name is required"},
		{"bad service", minimal + "[[steps]]\ndo = \"start\"\nhost = \"c\"\nservice = \"ftp\"\n", `service "ftp"`},
		{"bad expect", minimal + "[[expect]]\nwhat = \"joy\"\n", `what "joy"`},
		{"expect vip host", minimal + "[[expect]]\nwhat = \"vip\"\nhost = \"zz\"\n", `no host "zz"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.text), "/x/t.toml")
			if c.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error = %v; want ErrInvalid containing %q", err, c.want)
			}
		})
	}
}

func TestRenderUnmatchedReplace(t *testing.T) {
	s, err := Load("reference.toml")
	if err != nil {
		t.Fatal(err)
	}
	s.Host("lb2").Replace = append(s.Host("lb2").Replace, []string{"priority 150", "priority 10"})
	if _, err := s.render(); err == nil || !strings.Contains(err.Error(), `"priority 150" matches none`) {
		t.Fatalf("render = %v; want an error naming the unmatched pair", err)
	}
}

// goodResult is what a run of reference.toml that meets every expectation
// returns.
func goodResult() *Result {
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	r := &Result{
		VIPHosts: []string{"lb1"},
		Outages: []Outage{
			{Name: "failover", Duration: sec(4), Failed: 30},
			{Name: "takeback", Duration: sec(3.6)},
			{Name: "lb1 vrrp stopped", Duration: sec(0.7), Failed: 1},
			{Name: "lb2 vrrp stopped", Duration: sec(0.7), Failed: 1},
		},
		Pages: []Page{
			{Name: "stats page", Status: 200, Body: "<td>web01</td>"},
			{Name: "stats csv", Status: 200, Body: "http,web01,0,0"},
			{Name: "stats without password", Status: 401},
		},
		Syslog: []peers.Message{{From: netip.MustParseAddr("192.168.1.80"), Raw: "<134>... http http/web01 1/0/2 148 --"}},
	}
	for _, n := range []string{"http before", "https before", "http on lb2", "http after", "http at the end"} {
		r.Traffic = append(r.Traffic, Traffic{Name: n, OK: 5})
	}
	for _, n := range []string{"lb1", "lb1", "lb1", "lb2", "lb2"} {
		r.Mails = append(r.Mails, peers.Mail{Subject: "[" + n + "] VRRP Instance VI_1 - Entering MASTER state"})
	}
	return r
}

func TestCheck(t *testing.T) {
	s, err := Load("reference.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		spoil func(r *Result)
		want  []string // substrings, one per error
	}{
		{"all met", func(*Result) {}, nil},
		{"split VIP", func(r *Result) { r.VIPHosts = []string{"lb1", "lb2"} }, []string{"VIP 192.168.1.84 on [lb1 lb2]"}},
		{"long failover", func(r *Result) { r.Outages[0].Duration = 11 * time.Second }, []string{`outage "failover" lasted 11s`}},
		{"slow handover", func(r *Result) { r.Outages[3].Duration = 1500 * time.Millisecond }, []string{`"lb2 vrrp stopped" lasted 1.5s, want at most 1s`}},
		{"no failover", func(r *Result) { r.Outages = r.Outages[1:] }, []string{`no outage "failover"`}},
		{"stats 503", func(r *Result) { r.Pages[0].Status = 503 }, []string{"status 503"}},
		{"open stats", func(r *Result) { r.Pages[2].Status = 200 }, []string{"status 200, want 401"}},
		{"no log", func(r *Result) { r.Syslog = nil }, []string{"0 syslog messages"}},
		{"no mail", func(r *Result) { r.Mails = nil }, []string{"0 mails with \"[lb1]", "0 mails with \"[lb2]"}},
		{"traffic lost", func(r *Result) { r.Traffic[2].OK = 4 }, []string{`traffic "http on lb2"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := goodResult()
			c.spoil(r)
			errs := s.Check(r)
			if len(errs) != len(c.want) {
				t.Fatalf("Check = %v; want %d errors", errs, len(c.want))
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), c.want[i]) {
					t.Errorf("error %d = %v; want it to contain %q", i, e, c.want[i])
				}
			}
		})
	}
}

func TestCompare(t *testing.T) {
	s, err := Load("reference.toml")
	if err != nil {
		t.Fatal(err)
	}
	ref := goodResult()
	for _, c := range []struct {
		name  string
		spoil func(r *Result)
		want  int
	}{
		{"same", func(*Result) {}, 0},
		{"failover: one advert and one script interval slower", func(r *Result) { r.Outages[0].Duration += 3 * time.Second }, 0},
		{"failover: more than that", func(r *Result) { r.Outages[0].Duration += 3001 * time.Millisecond }, 1},
		{"handover: one advert slower", func(r *Result) { r.Outages[2].Duration += time.Second }, 0},
		{"handover: more than one advert slower", func(r *Result) { r.Outages[2].Duration += 1001 * time.Millisecond }, 1},
		{"never served", func(r *Result) { r.Outages[1].Duration = 0 }, 1},
		{"not measured", func(r *Result) { r.Outages = nil }, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := goodResult()
			c.spoil(r)
			if errs := s.Compare(ref, r); len(errs) != c.want {
				t.Errorf("Compare = %v; want %d errors", errs, c.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "[[steps]]\ndo = \"measure\"\nname = \"m\"\nvip_on = \"c\"\n"))
	f.Add([]byte("[[hosts]]\nname = 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "/fuzz.toml")
		if err == nil && s.Name == "" {
			t.Fatal("accepted a scenario without a name")
		}
	})
}
