package keepalived_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// prioLine is a VRRP advert's time, sender and priority as
// `tcpdump -tt -n -v` prints them (the time heads the IP line before).
var prioLine = regexp.MustCompile(`(?m)^(\d+\.\d+) IP .*\n\s+(\S+) > \S+: VRRPv\d, Advertisement, vrid \d+, prio (\d+)`)

// advert is one captured VRRP advert.
type advert struct {
	at   float64 // seconds
	from string
	prio string
}

func captured(log string) []advert {
	var out []advert
	for _, m := range prioLine.FindAllStringSubmatch(log, -1) {
		at, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, advert{at, m[2], m[3]})
	}
	return out
}

// answersAfter lists what lb1 sent after lb2's first advert at priority
// 200. When there are two, one of them on lb1's own 1 s period crossed
// lb2's advert (it was sent before lb1 could have received it, with or
// without the option): that one is left out.
func answersAfter(ads []advert, lb1, lb2 string) (after []string, took bool) {
	var lastOwn float64
	var sent []advert
	for _, a := range ads {
		switch {
		case !took && a.from == lb2 && a.prio == "200":
			took = true
		case !took && a.from == lb1:
			lastOwn = a.at
		case took && a.from == lb1:
			sent = append(sent, a)
		}
	}
	if len(sent) == 2 && lastOwn > 0 {
		for i, a := range sent {
			if d := a.at - lastOwn; d > 0.95 && d < 1.05 {
				sent = append(sent[:i], sent[i+1:]...)
				break
			}
		}
	}
	for _, a := range sent {
		after = append(after, "prio "+a.prio)
	}
	return after, took
}

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
			td, err := p.lb2.h.Start("tcpdump", "tcpdump", "-p", "-l", "-tt", "-n", "-v", "-i", "eth0", "ip proto 112")
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
			after, took := answersAfter(captured(td.Log()), "192.168.1.80", "192.168.1.81")
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
