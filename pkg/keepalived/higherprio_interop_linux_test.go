package keepalived_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// prioLine is a VRRP advert's sender and priority as `tcpdump -n -v`
// prints them.
var prioLine = regexp.MustCompile(`(?m)(\S+) > \S+: VRRPv\d, Advertisement, vrid \d+, prio (\d+)`)

// TestIntegrationInteropHigherPrioSendAdvert: lb1 (gkeepalived, or
// keepalived as the reference row) is MASTER at priority 100 with
// higher_prio_send_advert; keepalived starts on lb2 at priority 200 and
// takes over. Seen on the wire, lb1 answers lb2's first advert with one
// advert of its own before it becomes BACKUP (without the option it would
// fall silent), and says so as keepalived does.
func TestIntegrationInteropHigherPrioSendAdvert(t *testing.T) {
	t.Parallel()
	conf := func(prio int, extra string) []byte {
		return []byte(fmt.Sprintf(`vrrp_instance VI_1 {
    interface eth0
    state MASTER
    priority %d
    virtual_router_id 51
    advert_int 1%s
    virtual_ipaddress {
        192.168.1.84
    }
}
`, prio, extra))
	}
	for _, lb1 := range []impl{gk, kd} {
		t.Run(string(lb1)+"-keepalived", func(t *testing.T) {
			t.Parallel()
			p := newPair(t, lb1, kd, false)
			p.failLogs()
			td, err := p.lb2.h.Start("tcpdump", "tcpdump", "-p", "-l", "-n", "-v", "-i", "eth0", "ip proto 112")
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // tcpdump has no ready signal
			p.lb1.startDaemon(conf(100, "\n    higher_prio_send_advert"))
			poll(t, 10*time.Second, p.lb1.String()+" MASTER", func() bool { return strings.Contains(p.lb1.log(), masterLine) })
			p.lb2.startDaemon(conf(200, ""))
			poll(t, 10*time.Second, "lb2 MASTER and lb1 BACKUP", func() bool {
				return strings.Contains(p.lb2.log(), masterLine) && strings.Contains(p.lb1.log(), backupLine)
			})
			time.Sleep(1500 * time.Millisecond) // lb1 would send again now, had it stayed MASTER
			var after []string
			took := false
			for _, m := range prioLine.FindAllStringSubmatch(td.Log(), -1) {
				if m[1] == "192.168.1.81" && m[2] == "200" {
					took = true
					continue
				}
				if took && m[1] == "192.168.1.80" {
					after = append(after, "prio "+m[2])
				}
			}
			if !took {
				t.Fatalf("no advert of lb2 at priority 200 captured:\n%s", lastLines(td.Log(), 20))
			}
			if strings.Join(after, ",") != "prio 100" {
				t.Errorf("after lb2's first advert %s sent %v, want one advert at priority 100", p.lb1, after)
			}
			const said = "(VI_1) Master received advert from 192.168.1.81 with higher priority 200, ours 100"
			if !strings.Contains(p.lb1.log(), said) {
				t.Errorf("%s did not log %q", p.lb1, said)
			}
		})
	}
}
