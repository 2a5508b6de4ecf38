package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"hapair/integration/lab"
	"hapair/integration/scenario"
)

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// The seed's network with Debian's haproxy 2.6 and keepalived 2.2.7: the
// VIP starts on lb1, moves to lb2 when haproxy dies on lb1, and comes back
// when it is restarted; haproxy logs to the syslog host, keepalived mails
// the SMTP host.
func TestIntegrationReferenceFailover(t *testing.T) {
	testFailover(t, "haproxy", "keepalived")
}

// testFailover runs scenario/reference.toml with proxy and vrrp (names of
// its [programs]: haproxy or gproxy, keepalived or gkeepalived) on both load
// balancers, and asserts what a user of the seed's setup would check.
func testFailover(t *testing.T, proxy, vrrp string) {
	sc, err := scenario.Load("scenario/reference.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Use(scenario.RoleProxy, proxy); err != nil {
		t.Fatal(err)
	}
	if err := sc.Use(scenario.RoleVRRP, vrrp); err != nil {
		t.Fatal(err)
	}
	before, err := lab.MachineSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	l := lab.NewT(t)
	defer func() {
		l.Close()
		after, err := lab.MachineSnapshot()
		if err != nil || after != before {
			t.Errorf("the machine's network configuration changed (%v):\nbefore:\n%s\nafter:\n%s", err, before, after)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := sc.Run(ctx, l, logWriter{t})
	if err != nil {
		t.Fatalf("run: %v", err)
	}

	fo := res.Outage("failover")
	if fo == nil || fo.VIPHost != "lb2" || fo.Duration <= 0 {
		t.Fatalf("failover = %+v; want served via lb2", fo)
	}
	if fo.Failed == 0 {
		t.Errorf("failover: no request failed after haproxy was killed on the master: was it killed?")
	}
	tb := res.Outage("takeback")
	if tb == nil || tb.VIPHost != "lb1" {
		t.Errorf("takeback = %+v; want served via lb1", tb)
	}
	for _, name := range []string{"before", "on lb2", "after"} {
		tr := res.TrafficNamed(name)
		if tr == nil || tr.OK != 5 || tr.Failed != 0 {
			t.Errorf("traffic %q = %+v; want 5 ok", name, tr)
			continue
		}
		for body := range tr.Bodies {
			if body != "web01" && body != "web02" {
				t.Errorf("traffic %q: body %q; want web01 or web02", name, body)
			}
		}
	}
	if tr := res.TrafficNamed("https before"); tr == nil || tr.OK != 4 || tr.Bodies["web01"] != 2 || tr.Bodies["web02"] != 2 {
		t.Errorf("https through the VIP (roundrobin) = %+v; want 2 from web01 and 2 from web02", tr)
	}
	if len(res.VIPHosts) != 1 || res.VIPHosts[0] != "lb1" {
		t.Errorf("VIP at the end on %v; want lb1 only", res.VIPHosts)
	}
	tcplog := 0
	for _, m := range res.Syslog {
		if m.From.String() == "192.168.1.80" && strings.Contains(m.Raw, " http http/web0") {
			tcplog++
		}
	}
	if tcplog == 0 {
		t.Errorf("no tcplog line from 192.168.1.80 at the syslog host; got %d messages: %q", len(res.Syslog), res.Syslog)
	}
	if len(res.Mails) == 0 {
		t.Error("no alert mail at the SMTP host")
	}
	for _, err := range sc.Check(res) {
		t.Error(err)
	}

	t.Logf("%s + %s", proxy, vrrp)
	t.Logf("failover (kill haproxy on lb1 -> served via lb2): outage %d ms, %d of %d requests failed",
		fo.Duration.Milliseconds(), fo.Failed, fo.Requests)
	if tb != nil {
		t.Logf("takeback (haproxy restarted on lb1 -> served via lb1): %d ms, %d of %d requests failed",
			tb.Duration.Milliseconds(), tb.Failed, tb.Requests)
	}
	t.Logf("syslog: %d messages, %d tcplog lines from 192.168.1.80; mails: %d; run %s",
		len(res.Syslog), tcplog, len(res.Mails), res.Elapsed.Round(time.Millisecond))
	for _, m := range res.Mails {
		t.Logf("mail: %s", m.Subject)
	}
}
