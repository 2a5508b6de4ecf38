package haproxycfg

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parseTestFile(t *testing.T, path string) (*Config, []Diagnostic) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := Parse(filepath.Base(path), src, ParseOptions{LookupEnv: testEnv})
	for _, d := range diags {
		if d.Severity == Alert {
			t.Errorf("alert: %s", d.FormatWithPID(1))
		}
	}
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return cfg, diags
}

// TestSeedModel checks the seed configuration (conf/haproxy.cfg, copied
// verbatim as testdata/seed.cfg) field by field against what the guide it
// comes from means.
func TestSeedModel(t *testing.T) {
	cfg, _ := parseTestFile(t, "testdata/seed.cfg")
	g := cfg.Global
	if !g.Daemon || g.MaxConn != 20000 || g.User != "haproxy" || g.Group != "haproxy" {
		t.Errorf("global = %+v", g)
	}
	wantLog := LogTarget{Network: "udp", Address: "192.168.1.34:514", Facility: 16, MaxLevel: 7}
	if len(g.Logs) != 1 || !sameLog(g.Logs[0], wantLog) {
		t.Errorf("global logs = %+v, want %+v", g.Logs, wantLog)
	}
	if len(cfg.Proxies) != 3 {
		t.Fatalf("%d proxies, want 3", len(cfg.Proxies))
	}
	for i, name := range []string{"stats", "http", "https"} {
		px := cfg.Proxies[i]
		if px.Name != name || px.Kind != KindListen || px.ID != i+1 {
			t.Errorf("proxy %d = %s %s id %d, want listen %s id %d", i, px.Kind, px.Name, px.ID, name, i+1)
		}
		tm := px.Timeouts
		if tm.Client != 60*time.Second || tm.Server != 60*time.Second || tm.Connect != 5*time.Second {
			t.Errorf("%s timeouts = %+v", name, tm)
		}
		if px.Retries != 3 || !px.Options.Redispatch || !px.Options.DontLogNull {
			t.Errorf("%s: retries %d options %+v", name, px.Retries, px.Options)
		}
		if len(px.Logs) != 1 || !sameLog(px.Logs[0], wantLog) {
			t.Errorf("%s logs = %+v (log global)", name, px.Logs)
		}
	}
	st := cfg.Proxy("stats")
	if len(st.Binds) != 1 || st.Binds[0].Address() != "192.168.1.80:80" || st.Mode != ModeHTTP {
		t.Errorf("stats binds %+v mode %s", st.Binds, st.Mode)
	}
	if !st.Stats.Enabled || st.Stats.URI != "/stats" || st.Stats.Realm != "HAProxy Statistics" ||
		!reflect.DeepEqual(st.Stats.Auth, []UserPass{{"admin", "supersecret"}}) {
		t.Errorf("stats = %+v", st.Stats)
	}
	if len(st.Servers) != 0 || st.Balance != LeastConn {
		t.Errorf("stats servers %v balance %s (from defaults)", st.Servers, st.Balance)
	}
	for _, c := range []struct {
		name, bind string
		algo       Algorithm
		port       int
	}{{"http", "192.168.1.84:80", Source, 80}, {"https", "192.168.1.84:443", RoundRobin, 443}} {
		px := cfg.Proxy(c.name)
		if len(px.Binds) != 1 || px.Binds[0].Address() != c.bind {
			t.Errorf("%s binds %+v, want %s", c.name, px.Binds, c.bind)
		}
		if px.Mode != ModeTCP || px.Balance != c.algo || px.MaxConn != 10000 || !px.Options.TCPLog {
			t.Errorf("%s: mode %s balance %s maxconn %d options %+v", c.name, px.Mode, px.Balance, px.MaxConn, px.Options)
		}
		if len(px.Servers) != 2 {
			t.Fatalf("%s: %d servers", c.name, len(px.Servers))
		}
		for i, s := range px.Servers {
			want := Server{Name: []string{"web01", "web02"}[i], Host: []string{"192.168.1.68", "192.168.1.69"}[i],
				Port: c.port, Weight: 1, MaxConn: 5000, Inter: 2 * time.Second, Rise: 2, Fall: 3, ID: i + 1, Pos: s.Pos}
			if !reflect.DeepEqual(*s, want) {
				t.Errorf("%s server %d = %+v, want %+v", c.name, i, *s, want)
			}
		}
	}
}

func sameLog(a, b LogTarget) bool {
	a.Pos, b.Pos = Pos{}, Pos{}
	return a == b
}

// stripPos clears every position so two spellings of one configuration
// compare equal.
func stripPos(cfg *Config) {
	cfg.Files = nil
	for i := range cfg.Global.Logs {
		cfg.Global.Logs[i].Pos = Pos{}
	}
	for _, px := range cfg.Proxies {
		px.Pos = Pos{}
		for i := range px.Binds {
			px.Binds[i].Pos = Pos{}
		}
		for i := range px.Logs {
			px.Logs[i].Pos = Pos{}
		}
		for i := range px.UseBackends {
			px.UseBackends[i].Pos = Pos{}
		}
		for _, s := range px.Servers {
			s.Pos = Pos{}
		}
	}
}

// TestSeedModernSpelling: the seed rewritten with `bind` and `timeout`
// gives the same model, without the deprecation warnings.
func TestSeedModernSpelling(t *testing.T) {
	old, oldDiags := parseTestFile(t, "testdata/seed.cfg")
	modern, modernDiags := parseTestFile(t, "testdata/seed-modern.cfg")
	stripPos(old)
	stripPos(modern)
	if !reflect.DeepEqual(old, modern) {
		t.Errorf("models differ:\nseed:   %+v\nmodern: %+v", old.Proxies, modern.Proxies)
	}
	if len(modernDiags) != 0 {
		t.Errorf("modern spelling diagnostics: %v", modernDiags)
	}
	deprecated := 0
	for _, d := range oldDiags {
		if strings.Contains(d.Msg, "is now deprecated in favor of 'timeout") {
			deprecated++
		}
	}
	if deprecated != 3 {
		t.Errorf("seed: %d deprecation warnings, want 3 (clitimeout, srvtimeout, contimeout): %v", deprecated, oldDiags)
	}
}

// TestConfExamples parses every example shipped in conf/ without alerts.
func TestConfExamples(t *testing.T) {
	files, err := filepath.Glob("../../conf/*.cfg")
	if err != nil || len(files) < 2 {
		t.Fatalf("conf examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, _, err := ParseFiles([]string{f}, ParseOptions{LookupEnv: testEnv})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Files) != 1 || cfg.Files[0] != f {
				t.Errorf("Files = %v", cfg.Files)
			}
		})
	}
}
