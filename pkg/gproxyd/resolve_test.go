package gproxyd

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"hapair/pkg/haproxycfg"
)

// fakeHosts is /etc/hosts for resolveConfig, in libc's order already.
func fakeHosts(m map[string][]string) lookupFunc {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range m[host] {
			out = append(out, netip.MustParseAddr(s))
		}
		if len(out) == 0 {
			return nil, errors.New("no such host")
		}
		return out, nil
	}
}

func parseCfg(t *testing.T, text string) *haproxycfg.Config {
	t.Helper()
	cfg, _, err := haproxycfg.Parse("t.cfg", []byte(text), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func diagText(ds []haproxycfg.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("[" + d.Severity.String() + "] " + d.String() + "\n")
	}
	return b.String()
}

// The messages are those haproxy 2.6.12 -c prints for the same lines
// (seen with a bind-mounted /etc/hosts; TestIntegrationServerNames
// compares the two programs).
func TestResolveConfigServers(t *testing.T) {
	const text = `defaults
  mode tcp
backend b
  server s1 both.test:80
  server s3 nosuch.test:80
  server s4 nosuch.test:80 init-addr none
  server s5 nosuch.test:80 init-addr last,libc,10.0.0.9
  server s7 nosuch.test:80 init-addr 10.1.1.1
  server s8 v4.test:80 init-addr none check
  server s9 nosuch.test:80 init-addr libc,none
  server s10 v4.test:80 init-addr last
  server s12 192.0.2.7:80 init-addr none
  server s13 nosuch.test:80 resolvers dns
  server s14 _http._tcp.web.test resolvers dns
resolvers dns
  nameserver ns1 127.0.0.53:53
`
	hosts := fakeHosts(map[string][]string{"both.test": {"::1", "127.0.0.3"}, "v4.test": {"127.0.0.2"}})
	cfg := parseCfg(t, text)
	r := resolveConfig(context.Background(), cfg, hosts, false)
	want := `[ALERT] config : [t.cfg:5] : 'server b/s3' : could not resolve address 'nosuch.test'.
[WARNING] config : [t.cfg:7] : 'server b/s5' : could not resolve address 'nosuch.test', falling back to configured address.
[WARNING] config : [t.cfg:10] : 'server b/s9' : could not resolve address 'nosuch.test', disabling server.
[ALERT] config : [t.cfg:11] : 'server b/s10' : no method found to resolve address 'v4.test'.
[WARNING] config : [t.cfg:13] : 'server b/s13' : could not resolve address 'nosuch.test', disabling server.
[ALERT] config : Failed to initialize server(s) addr.
`
	if got := diagText(r.diags); got != want || r.ok() {
		t.Errorf("diagnostics (ok=%v):\n%s\nwant:\n%s", r.ok(), got, want)
	}
	hostOf := map[string]string{}
	for _, s := range cfg.Proxies[0].Servers {
		hostOf[s.Name] = s.Host
		if s.Host == "" && s.Check {
			t.Errorf("server %s has no address but is still checked", s.Name)
		}
	}
	// s13: haproxy adds "none" to the default methods of a server with
	// resolvers; s14 (an SRV name) has no host name for libc.
	for name, h := range map[string]string{"s1": "::1", "s4": "", "s5": "10.0.0.9", "s7": "10.1.1.1", "s8": "", "s9": "", "s12": "192.0.2.7", "s13": "", "s14": ""} {
		if hostOf[name] != h {
			t.Errorf("server %s: address %q, want %q", name, hostOf[name], h)
		}
	}

	// -dr: failures disable the server instead.
	cfg = parseCfg(t, text)
	r = resolveConfig(context.Background(), cfg, hosts, true)
	want = `[WARNING] config : [t.cfg:5] : 'server b/s3' : could not resolve address 'nosuch.test', disabling server.
[WARNING] config : [t.cfg:7] : 'server b/s5' : could not resolve address 'nosuch.test', falling back to configured address.
[WARNING] config : [t.cfg:10] : 'server b/s9' : could not resolve address 'nosuch.test', disabling server.
[WARNING] config : [t.cfg:13] : 'server b/s13' : could not resolve address 'nosuch.test', disabling server.
`
	if got := diagText(r.diags); got != want || !r.ok() {
		t.Errorf("-dr diagnostics (ok=%v):\n%s\nwant:\n%s", r.ok(), got, want)
	}
	for _, s := range cfg.Proxies[0].Servers {
		if (s.Name == "s3" || s.Name == "s10") && s.Host != "" {
			t.Errorf("-dr: server %s kept address %q", s.Name, s.Host)
		}
	}
}

func TestResolveConfigBindAndCheckAddr(t *testing.T) {
	const text = `defaults
  mode tcp
frontend f
  bind v4.test:8081
  bind nosuch.test:8080
  bind ipv6@both.test:8082
  default_backend b
backend b
  server s1 127.0.0.1:9 check addr nosuch.test
  server s2 127.0.0.1:9 check addr v4.test
  server s3 nosuch.test:9
`
	hosts := fakeHosts(map[string][]string{"both.test": {"127.0.0.3", "::3"}, "v4.test": {"127.0.0.2"}})
	cfg := parseCfg(t, text)
	r := resolveConfig(context.Background(), cfg, hosts, false)
	// As haproxy: these are parse errors, and servers are not resolved.
	want := `[ALERT] config : parsing [t.cfg:5] : 'bind' : invalid address: 'nosuch.test' in 'nosuch.test:8080'
[ALERT] config : [t.cfg:9] : 'server b/s1' : 'addr' : invalid address: 'nosuch.test' in 'nosuch.test'.
[ALERT] config : Error(s) found in configuration file : t.cfg
`
	if got := diagText(r.diags); got != want || r.ok() {
		t.Errorf("diagnostics (ok=%v):\n%s\nwant:\n%s", r.ok(), got, want)
	}
	f := cfg.Proxies[0]
	if b := f.Binds[0]; b.Host != "127.0.0.2" || b.Family != haproxycfg.FamilyIPv4 {
		t.Errorf("bind v4.test: %+v", b)
	}
	if b := f.Binds[2]; b.Host != "::3" || b.Family != haproxycfg.FamilyIPv6 {
		t.Errorf("bind ipv6@both.test takes the IPv6 address: %+v", b)
	}
	if s := cfg.Proxies[1].Servers[1]; s.CheckAddr != "127.0.0.2" {
		t.Errorf("check addr v4.test: %q", s.CheckAddr)
	}
}

// TestResolveConfigAgentAddr: an agent-addr given as a name is resolved
// at start as haproxy's str2ip does while parsing (the first address), and
// one that does not resolve is haproxy 2.6.12's alert (its "..").
func TestResolveConfigAgentAddr(t *testing.T) {
	const text = `defaults
  mode tcp
backend b
  server s1 127.0.0.1:9 agent-check agent-port 9 agent-addr both.test
  server s2 127.0.0.1:9 agent-check agent-port 9 agent-addr nosuch.test
  server s3 127.0.0.1:9 agent-check agent-port 9 agent-addr [::1]
`
	hosts := fakeHosts(map[string][]string{"both.test": {"127.0.0.3", "::3"}})
	cfg := parseCfg(t, text)
	r := resolveConfig(context.Background(), cfg, hosts, false)
	want := `[ALERT] config : [t.cfg:5] : 'server b/s2' : parsing agent-addr failed. Check if 'nosuch.test' is correct address..
[ALERT] config : Error(s) found in configuration file : t.cfg
`
	if got := diagText(r.diags); got != want || r.ok() {
		t.Errorf("diagnostics (ok=%v):\n%s\nwant:\n%s", r.ok(), got, want)
	}
	b := cfg.Proxies[0]
	if a := b.Servers[0].Agent.Addr; a != "127.0.0.3" {
		t.Errorf("agent-addr both.test: %q, want the first address", a)
	}
	if a := b.Servers[2].Agent.Addr; a != "::1" {
		t.Errorf("agent-addr [::1]: %q", a)
	}
}

// glibc's order for a name with A and AAAA records, as haproxy takes the
// first (seen with haproxy 2.6 in a namespace): an unreachable IPv6 address
// goes last, a reachable one goes first.
func TestSortDestinations(t *testing.T) {
	reach := map[string]string{"127.0.0.3": "127.0.0.1", "127.0.0.4": "127.0.0.1", "::1": "::1", "2001:db8::9": "2001:db8::1", "127.0.0.5": "127.0.0.1"}
	source := func(a netip.Addr) (netip.Addr, bool) {
		s, ok := reach[a.String()]
		if !ok {
			return netip.Addr{}, false
		}
		return netip.MustParseAddr(s), true
	}
	for _, c := range []struct{ in, want string }{
		{"::3 127.0.0.3", "127.0.0.3 ::3"},
		{"127.0.0.4 ::1", "::1 127.0.0.4"},
		{"127.0.0.5 2001:db8::9", "2001:db8::9 127.0.0.5"},
		{"127.0.0.4 127.0.0.3", "127.0.0.4 127.0.0.3"},
	} {
		var addrs []netip.Addr
		for _, s := range strings.Fields(c.in) {
			addrs = append(addrs, netip.MustParseAddr(s))
		}
		sortDestinations(addrs, source)
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: got %v, want %s", c.in, got, c.want)
		}
	}
}
