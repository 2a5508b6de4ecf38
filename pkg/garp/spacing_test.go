package garp

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/garp/garptest"
)

// spaced drives announcers on a fake clock: rounds are the bursts each
// announcer is asked for at time 0 (like garp_master_repeat); it returns
// "ADDR@offset" for each send, in order.
func spaced(t *testing.T, sp *Spacing, rounds [][]Announcement) string {
	t.Helper()
	start := time.Unix(1700000000, 0)
	clk := garptest.NewClock(start)
	var mu sync.Mutex
	var sent []string
	send := func(a Announcement) {
		mu.Lock()
		sent = append(sent, fmt.Sprintf("%s/%s@%v", a.IP, a.Ifi.Name, clk.Now().Sub(start)))
		mu.Unlock()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var ans []*Announcer
	for range rounds {
		an := &Announcer{Spacing: sp, Clock: clk, Send: send}
		ans = append(ans, an)
		wg.Add(1)
		go func() { defer wg.Done(); an.Run(done) }()
	}
	for i, round := range rounds {
		for _, a := range round {
			ans[i].Announce(a)
		}
	}
	// Step the clock while something sleeps on it (bounded).
	for i := 0; i < 100 && clk.BlockUntil(1, 200*time.Millisecond); i++ {
		clk.Step()
	}
	close(done)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return strings.Join(sent, " ")
}

func rounds(ifi *net.Interface, repeat int, ips ...string) []Announcement {
	var out []Announcement
	for r := 0; r < repeat; r++ {
		for _, ip := range ips {
			out = append(out, Announcement{Ifi: ifi, IP: netip.MustParseAddr(ip)})
		}
	}
	return out
}

// TestSpacing: vrrp_garp_interval / vrrp_gna_interval as keepalived 2.2.7
// applies them, checked against a lab capture of keepalived
// (vrrp_garp_interval 0.3, garp_master_repeat 5, VIPs 10.0.0.100 and
// 10.0.0.101 sent: .100 at 0, .100 at 0.3 s, .101 at 0.6 s, nothing more).
func TestSpacing(t *testing.T) {
	eth0 := &net.Interface{Index: 2, Name: "eth0"}
	eth1 := &net.Interface{Index: 3, Name: "eth1"}
	ms := time.Millisecond
	for _, tt := range []struct {
		name    string
		arp, na time.Duration
		rounds  [][]Announcement
		want    string
	}{
		{"keepalived capture", 300 * ms, 0, [][]Announcement{rounds(eth0, 5, "10.0.0.100", "10.0.0.101")},
			"10.0.0.100/eth0@0s 10.0.0.100/eth0@300ms 10.0.0.101/eth0@600ms"},
		{"no interval: every repeat at once", 0, 0, [][]Announcement{rounds(eth0, 2, "10.0.0.100", "10.0.0.101")},
			"10.0.0.100/eth0@0s 10.0.0.101/eth0@0s 10.0.0.100/eth0@0s 10.0.0.101/eth0@0s"},
		{"interfaces spaced apart", 300 * ms, 0, [][]Announcement{rounds(eth0, 1, "10.0.0.100"), rounds(eth1, 1, "10.1.0.100")},
			"10.0.0.100/eth0@0s 10.1.0.100/eth1@0s"},
		{"instances share an interface", 300 * ms, 0, [][]Announcement{rounds(eth0, 1, "10.0.0.100"), rounds(eth0, 1, "10.0.0.200")},
			"10.0.0.100/eth0@0s 10.0.0.200/eth0@300ms"},
		{"NAs by gna_interval, ARPs apart", 300 * ms, 100 * ms, [][]Announcement{rounds(eth0, 2, "10.0.0.100", "fd00::1", "fd00::2")},
			"10.0.0.100/eth0@0s fd00::1/eth0@0s fd00::1/eth0@100ms fd00::2/eth0@200ms 10.0.0.100/eth0@300ms"},
		{"NAs unspaced without gna_interval", 300 * ms, 0, [][]Announcement{rounds(eth0, 2, "fd00::1")},
			"fd00::1/eth0@0s fd00::1/eth0@0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp := &Spacing{}
			sp.SetIntervals(tt.arp, tt.na)
			if got := spaced(t, sp, tt.rounds); got != tt.want {
				t.Errorf("sent:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestAnnouncerNoSpacing: without a Spacing every call sends at once.
func TestAnnouncerNoSpacing(t *testing.T) {
	n := 0
	an := &Announcer{Send: func(Announcement) { n++ }}
	for i := 0; i < 3; i++ {
		an.Announce(Announcement{Ifi: &net.Interface{Index: 1}, IP: netip.MustParseAddr("10.0.0.1")})
	}
	if n != 3 {
		t.Fatalf("%d sent, want 3", n)
	}
}
