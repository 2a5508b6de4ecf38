package keepalived_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// groupEdit sets vrrp_mcast_group4 in the seed's global_defs.
var groupEdit = [2]string{"    smtp_connect_timeout 30\n", "    smtp_connect_timeout 30\n    vrrp_mcast_group4 224.0.0.99\n"}

// TestIntegrationInteropMcastGroup: vrrp_mcast_group4 against keepalived
// 2.2.7. On the same group the pair elects lb1 and the adverts on the wire
// go to 224.0.0.99 from both programs; with gkeepalived alone on that
// group it hears nothing from keepalived on 224.0.0.18 (nor keepalived from
// it), so both are MASTER, as two keepalived are (the reference row).
func TestIntegrationInteropMcastGroup(t *testing.T) {
	for _, c := range []struct {
		name         string
		lb1, lb2     impl
		edit1, edit2 [][2]string
		split        bool
	}{
		{"same-group", kd, gk, [][2]string{authNone, groupEdit}, [][2]string{authNone, groupEdit}, false},
		{"same-group", gk, kd, [][2]string{authNone, groupEdit}, [][2]string{authNone, groupEdit}, false},
		{"other-group", kd, gk, [][2]string{authNone}, [][2]string{authNone, groupEdit}, true},
		{"other-group", kd, kd, [][2]string{authNone}, [][2]string{authNone, groupEdit}, true},
	} {
		t.Run(fmt.Sprintf("%s-%s-%s", c.name, c.lb1, c.lb2), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, c.lb1, c.lb2, false)
			p.failLogs()
			td, err := p.lb2.h.Start("tcpdump", "tcpdump", "-p", "-l", "-n", "-i", "eth0", "ip proto 112")
			if err != nil {
				t.Fatal(err)
			}
			t0 := p.start(seedConf(t, false, c.edit1...), seedConf(t, true, c.edit2...), time.Second)
			if !c.split {
				p.waitHolder("election", p.lb1, t0, 15*time.Second)
				if got := count(p.lb2.log(), masterLine); got != 0 {
					t.Fatalf("%s entered MASTER %d times, want 0", p.lb2, got)
				}
				// lb2 (BACKUP) sends nothing; lb1's adverts go to the group.
				poll(t, 5*time.Second, "lb1's adverts to 224.0.0.99 on the wire", func() bool {
					return strings.Contains(td.Log(), lb1Addr.Addr().String()+" > 224.0.0.99: VRRP")
				})
				if strings.Contains(td.Log(), "> 224.0.0.18") {
					t.Errorf("adverts to 224.0.0.18 seen:\n%s", td.Log())
				}
				return
			}
			for _, n := range []*lb{p.lb1, p.lb2} {
				poll(t, 15*time.Second, n.String()+" is MASTER with the VIP", func() bool {
					return strings.Contains(n.log(), masterLine) && n.hasVIP()
				})
			}
			time.Sleep(2500 * time.Millisecond)
			for _, n := range []*lb{p.lb1, p.lb2} {
				if !n.hasVIP() || count(n.log(), masterLine) != 1 {
					t.Errorf("%s: VIP %v, entered MASTER %d times; want held, once", n, n.hasVIP(), count(n.log(), masterLine))
				}
			}
			out := td.Log()
			for _, want := range []string{lb1Addr.Addr().String() + " > 224.0.0.18: VRRP", lb2Addr.Addr().String() + " > 224.0.0.99: VRRP"} {
				if !strings.Contains(out, want) {
					t.Errorf("tcpdump on lb2 lacks %q:\n%s", want, lastLines(out, 20))
				}
			}
		})
	}
}
