package resolver

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// fixture builds the servers of a template on web.test (no address at
// start) and a resolution over them driven by hand: no socket, no query,
// a fake clock.
func fixture(t *testing.T, extra string) (*resolution, *[]string, *time.Time) {
	t.Helper()
	text := `resolvers dns
  nameserver ns1 127.0.0.53:53
  hold nx 1s
  hold obsolete 1s
defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
backend b
  server-template web 3 web.test:80 resolvers dns init-addr none resolve-prefer ipv4` + extra + "\n"
	cfg, _, err := haproxycfg.Parse("t.cfg", []byte(text), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Proxies[0].Servers {
		s.Host = "" // as init-addr none leaves it
	}
	eng, err := proxy.New(cfg, proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	now := time.Unix(1000, 0)
	r := &Resolver{opts: Options{Now: func() time.Time { return now },
		Log: func(_ *haproxycfg.Proxy, _ haproxycfg.Level, msg string) { logs = append(logs, msg) }}}
	sec := &section{cfg: cfg.Resolvers[0], nameservers: cfg.Resolvers[0].Nameservers}
	res := &resolution{r: r, sec: sec, name: "web.test.", prefer: dns.TypeA}
	for _, s := range eng.Backends()[0].Servers() {
		res.reqs = append(res.reqs, &requester{srv: s, dns: s.Config().DNS, maint: s.Unresolved()})
	}
	return res, &logs, &now
}

func answerOf(ips ...string) *answer {
	m := new(dns.Msg)
	for _, ip := range ips {
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "web.test.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.ParseIP(ip)})
	}
	return &answer{ns: "ns1", msg: m, st: statusValid}
}

func addrs(res *resolution) string {
	var out []string
	for _, q := range res.reqs {
		h := q.srv.Host()
		if h == "" {
			h = "-"
		}
		out = append(out, q.srv.Name()+"="+h)
	}
	return strings.Join(out, " ")
}

// The same steps as TestIntegrationDNSFollowsChanges, whose outcome
// haproxy 2.6 gave.
func TestApplyLikeHAProxy(t *testing.T) {
	res, logs, now := fixture(t, "")
	step := func(a *answer, want string) {
		t.Helper()
		*now = now.Add(300 * time.Millisecond)
		res.valid(a)
		if got := addrs(res); got != want {
			t.Errorf("addresses %s, want %s", got, want)
		}
	}
	step(answerOf("127.0.1.1", "127.0.1.2"), "web1=127.0.1.2 web2=127.0.1.1 web3=-")
	// Within hold obsolete the servers keep their records.
	step(answerOf("127.0.1.3"), "web1=127.0.1.2 web2=127.0.1.1 web3=127.0.1.3")
	*now = now.Add(time.Second)
	step(answerOf("127.0.1.3"), "web1=- web2=- web3=127.0.1.3")
	step(answerOf("127.0.1.3", "127.0.1.4"), "web1=127.0.1.4 web2=- web3=127.0.1.3")
	got := strings.Join(*logs, "\n")
	for _, want := range []string{
		"b/web1 changed its IP from (none) to 127.0.1.2 by dns/ns1.\nServer b/web1 ('web.test') is UP/READY (resolves again).\nServer b/web1 administratively READY thanks to valid DNS answer.",
		"b/web2 changed its IP from (none) to 127.0.1.1 by DNS cache.",
		"Server b/web1 is going DOWN for maintenance (No IP for server ). 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// NX: nothing until hold nx has passed since the last valid answer.
	n := len(*logs)
	*now = now.Add(500 * time.Millisecond)
	res.failed(statusNX)
	if addrs(res) != "web1=127.0.1.4 web2=- web3=127.0.1.3" || len(*logs) != n {
		t.Errorf("within hold nx: %s, logs %q", addrs(res), (*logs)[n:])
	}
	*now = now.Add(time.Second)
	res.failed(statusNX)
	if addrs(res) != "web1=- web2=- web3=-" {
		t.Errorf("after hold nx: %s", addrs(res))
	}
	if got := strings.Join((*logs)[n:], "\n"); !strings.Contains(got, "Server b/web3 is going DOWN for maintenance (DNS NX status). 0 active and 0 backup servers left.") ||
		!strings.Contains(got, "backend b has no server available!") {
		t.Errorf("NX logs:\n%s", got)
	}
}

// resolve-opts allow-dup-ip lets every server take the same address.
func TestAllowDupIP(t *testing.T) {
	res, _, now := fixture(t, " resolve-opts allow-dup-ip")
	*now = now.Add(time.Second)
	res.valid(answerOf("127.0.1.1"))
	if got := addrs(res); got != "web1=127.0.1.1 web2=127.0.1.1 web3=127.0.1.1" {
		t.Errorf("addresses %s", got)
	}
}
