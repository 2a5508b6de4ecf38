package resolver

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// srvFixture builds a template of three servers on _http._tcp.web.test
// and its SRV resolution driven by hand (no socket, a fake clock).
func srvFixture(t *testing.T, extra string) (*resolution, *[]string, *time.Time) {
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
  server-template web 3 _http._tcp.web.test resolvers dns init-addr none resolve-prefer ipv4` + extra + "\n"
	cfg, diags, err := haproxycfg.Parse("t.cfg", []byte(text), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err, diags)
	}
	for _, s := range cfg.Proxies[0].Servers {
		s.Host = ""
	}
	eng, err := proxy.New(cfg, proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	now := time.Unix(1000, 0)
	r := &Resolver{opts: Options{Now: func() time.Time { return now },
		Log: func(_ *haproxycfg.Proxy, _ haproxycfg.Level, msg string) { logs = append(logs, msg) }},
		byKey: map[resKey]*resolution{}}
	sec := &section{cfg: cfg.Resolvers[0], nameservers: cfg.Resolvers[0].Nameservers}
	res := &resolution{r: r, sec: sec, name: "_http._tcp.web.test.", prefer: dns.TypeSRV, srv: &srvState{}}
	for _, s := range eng.Backends()[0].Servers() {
		res.srv.free = append(res.srv.free, &requester{srv: s, dns: s.Config().DNS, maint: s.Unresolved()})
	}
	return res, &logs, &now
}

type srvRec struct {
	target string
	port   uint16
	weight uint16
	addr   string // additional record; "" = none
}

func srvAnswer(recs ...srvRec) *answer {
	m := new(dns.Msg)
	for _, r := range recs {
		m.Answer = append(m.Answer, &dns.SRV{Hdr: dns.RR_Header{Name: "_http._tcp.web.test.", Rrtype: dns.TypeSRV, Class: dns.ClassINET},
			Target: r.target, Port: r.port, Weight: r.weight})
		if r.addr != "" {
			m.Extra = append(m.Extra, &dns.A{Hdr: dns.RR_Header{Name: r.target, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.ParseIP(r.addr)})
		}
	}
	return &answer{ns: "ns1", msg: m, st: statusValid}
}

// srvServers lists the template's servers by name: address:port/weight/fqdn.
func srvServers(res *resolution) string {
	var all []*requester
	for _, it := range res.srv.items {
		all = append(all, it.servers...)
	}
	all = append(all, res.srv.free...)
	sort.Slice(all, func(i, j int) bool { return all[i].srv.Name() < all[j].srv.Name() })
	var out []string
	for _, q := range all {
		h := q.srv.Host()
		if h == "" {
			h = "-"
		}
		name, _ := q.srv.FQDN()
		out = append(out, q.srv.Name()+"="+h+":"+strconv.Itoa(q.srv.Port())+"/"+strconv.Itoa(q.srv.UserWeight())+"/"+name)
	}
	return strings.Join(out, " ")
}

// Records with additional records fill the servers in the order of
// haproxy's tree; a record gone for longer than hold obsolete frees its
// server (maintenance) for the next new record.
func TestSRVLikeHAProxy(t *testing.T) {
	res, logs, now := srvFixture(t, "")
	step := func(a *answer, want string) {
		t.Helper()
		*now = now.Add(300 * time.Millisecond)
		res.validSRV(a)
		if got := srvServers(res); got != want {
			t.Errorf("servers %s, want %s", got, want)
		}
	}
	a := srvRec{"a.test.", 8001, 10, "127.0.1.1"}
	b := srvRec{"b.test.", 8002, 512, "127.0.1.2"}
	c := srvRec{"c.test.", 8003, 1000, "127.0.1.3"}
	// The first record in haproxy's tree (by key) takes web1.
	sa, sb := "web1", "web2"
	if dnLabelKey("b.test.") < dnLabelKey("a.test.") {
		sa, sb = sb, sa
	}
	fill := func(m map[string]string) string {
		var out []string
		for _, n := range []string{"web1", "web2", "web3"} {
			v, ok := m[n]
			if !ok {
				v = "-:0/1/"
			}
			out = append(out, n+"="+v)
		}
		return strings.Join(out, " ")
	}
	step(srvAnswer(a, b), fill(map[string]string{sa: "127.0.1.1:8001/1/a.test", sb: "127.0.1.2:8002/2/b.test"}))
	got := strings.Join(*logs, "\n")
	for _, want := range []string{
		"changed its IP from (none) to 127.0.1.1 by DNS additional record.",
		"changed its FQDN from (null) to a.test by 'SRV record'",
		"('a.test') is UP/READY (resolves again).",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// Within hold obsolete b keeps its server; c takes web3.
	step(srvAnswer(a, c), fill(map[string]string{sa: "127.0.1.1:8001/1/a.test", sb: "127.0.1.2:8002/2/b.test", "web3": "127.0.1.3:8003/4/c.test"}))
	*now = now.Add(time.Second)
	res.validSRV(srvAnswer(a, c))
	if got := srvServers(res); !strings.Contains(got, sb+"=-:0/2/ ") {
		t.Errorf("b's server not freed: %s", got)
	}
	if got := strings.Join(*logs, "\n"); !strings.Contains(got, "is going DOWN for maintenance (entry removed from SRV record).") {
		t.Errorf("no maintenance line:\n%s", got)
	}
}

// A record without an additional record gets its address from an A
// resolution of its target, as haproxy links one.
func TestSRVFollowUp(t *testing.T) {
	res, logs, now := srvFixture(t, "")
	*now = now.Add(time.Second)
	res.validSRV(srvAnswer(srvRec{"a.test.", 8001, 256, ""}))
	q := res.srv.items[0].servers[0]
	if q.follow == nil || q.follow.name != "a.test." || q.follow.prefer != dns.TypeA || q.srv.Host() != "" {
		t.Fatalf("no A resolution of a.test: %+v", q.follow)
	}
	f := q.follow
	m := new(dns.Msg)
	m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "a.test.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.ParseIP("127.0.1.9")})
	f.valid(&answer{ns: "ns1", msg: m, st: statusValid})
	if got := srvServers(res); got != "web1=127.0.1.9:8001/1/a.test web2=-:0/1/ web3=-:0/1/" {
		t.Errorf("servers %s", got)
	}
	got := strings.Join(*logs, "\n")
	for _, want := range []string{
		"b/web1 changed its IP from (none) to 127.0.1.9 by dns/ns1.",
		"Server b/web1 ('a.test') is UP/READY (resolves again).",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// An additional record later takes over; the A resolution stops.
	*now = now.Add(300 * time.Millisecond)
	res.validSRV(srvAnswer(srvRec{"a.test.", 8001, 256, "127.0.1.9"}))
	if q.follow != nil || !f.stopped {
		t.Errorf("A resolution still linked")
	}
}

// NXDOMAIN empties the template once hold nx has passed.
func TestSRVNX(t *testing.T) {
	res, _, now := srvFixture(t, "")
	*now = now.Add(time.Second)
	res.validSRV(srvAnswer(srvRec{"a.test.", 8001, 256, "127.0.1.1"}))
	*now = now.Add(500 * time.Millisecond)
	res.failedSRV(statusNX)
	if got := srvServers(res); got != "web1=127.0.1.1:8001/1/a.test web2=-:0/1/ web3=-:0/1/" {
		t.Errorf("within hold nx: %s", got)
	}
	*now = now.Add(time.Second)
	res.failedSRV(statusNX)
	if got := srvServers(res); got != "web1=-:0/1/ web2=-:0/1/ web3=-:0/1/" {
		t.Errorf("after hold nx: %s", got)
	}
}
