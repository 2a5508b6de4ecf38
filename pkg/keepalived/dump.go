package keepalived

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"hapair/pkg/vrrp"
)

// DataDump is what SIGUSR1 writes to /tmp/keepalived.data: the sections and
// lines of keepalived 2.2.7's dump that gkeepalived has a value for.
func (d *Daemon) DataDump() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	b.WriteString("------< Global definitions >------\n")
	if d.cfg != nil {
		g := d.cfg.Global
		fmt.Fprintf(&b, " Router ID = %s\n", g.RouterID)
		if g.SMTPServer != "" {
			fmt.Fprintf(&b, " Smtp server = %s\n", g.SMTPServer)
			fmt.Fprintf(&b, " Smtp server port = %d\n", g.SMTPPort)
			fmt.Fprintf(&b, " Email notification from = %s\n", g.NotificationEmailFrom)
			for _, e := range g.NotificationEmail {
				fmt.Fprintf(&b, " Email notification = %s\n", e)
			}
		}
		fmt.Fprintf(&b, " Gratuitous ARP delay = %d\n", int(g.GARP.MasterDelay/time.Second))
		fmt.Fprintf(&b, " Gratuitous ARP repeat = %d\n", g.GARP.MasterRepeat)
		fmt.Fprintf(&b, " Gratuitous ARP refresh timer = %d\n", int(g.GARP.MasterRefresh/time.Second))
		fmt.Fprintf(&b, " VRRP default protocol version = %d\n", g.VRRPVersion)
	}
	b.WriteString("------< VRRP Topology >------\n")
	for _, name := range sortedNodeNames(d.nodes) {
		n := d.nodes[name]
		st := n.fsm.Status()
		c := n.cfg
		fmt.Fprintf(&b, " VRRP Instance = %s\n", c.Name)
		fmt.Fprintf(&b, "   VRRP Version = %d\n", c.Version)
		if g := d.syncGroupOf(c.Name); g != "" {
			fmt.Fprintf(&b, "   Sync group = %s\n", g)
		}
		fmt.Fprintf(&b, "   State = %s\n", st.State)
		if !st.LastTransition.IsZero() {
			t := st.LastTransition
			fmt.Fprintf(&b, "   Last transition = %d.%06d (%s.%06d %s)\n", t.Unix(), t.Nanosecond()/1000, t.Format("Mon Jan _2 15:04:05"), t.Nanosecond()/1000, t.Format("2006"))
		}
		fmt.Fprintf(&b, "   Interface = %s\n", c.Interface)
		fmt.Fprintf(&b, "   Using src_ip = %s\n", n.src)
		if c.Unicast {
			b.WriteString("   Unicast Peer :\n")
			for _, p := range c.UnicastPeers {
				fmt.Fprintf(&b, "     %s\n", p)
			}
		} else {
			fmt.Fprintf(&b, "   Multicast address %s\n", n.dsts[0])
		}
		fmt.Fprintf(&b, "   Virtual Router ID = %d\n", c.VRID)
		fmt.Fprintf(&b, "   Priority = %d\n", st.BasePriority)
		fmt.Fprintf(&b, "   Effective priority = %d\n", st.EffectivePriority)
		fmt.Fprintf(&b, "   Advert interval = %s\n", advertText(c.AdvertInt))
		if c.NoPreempt {
			b.WriteString("   Preempt = disabled\n")
		} else {
			b.WriteString("   Preempt = enabled\n")
		}
		auth := "none"
		if c.Auth != nil {
			auth = map[vrrp.AuthType]string{vrrp.AuthPass: "SIMPLE_PASSWORD", vrrp.AuthAH: "IPSEC_AH"}[n.expect.AuthType]
		}
		fmt.Fprintf(&b, "   Authentication type = %s\n", auth)
		fmt.Fprintf(&b, "   Virtual IP (%d):\n", len(n.vips))
		for _, v := range n.vips {
			set := "unset"
			if ok, _ := d.env.VIPs.Has(v); ok {
				set = "set"
			}
			fmt.Fprintf(&b, "     %s dev %s scope global %s\n", v.Prefix.Addr(), v.Dev, set)
		}
		if len(c.TrackScripts) > 0 {
			b.WriteString("   Tracked scripts :\n")
			for _, ts := range c.TrackScripts {
				fmt.Fprintf(&b, "     %s weight %d%s\n", ts.Name, ts.Weight, map[bool]string{true: " reverse"}[ts.Reverse])
			}
		}
		n.notifyMu.Lock()
		smtp := n.smtpAlert
		n.notifyMu.Unlock()
		fmt.Fprintf(&b, "   Using smtp notification = %s\n", map[bool]string{true: "yes", false: "no"}[smtp])
	}
	d.dumpSyncGroups(&b)
	if d.cfg != nil && len(d.cfg.Scripts) > 0 {
		b.WriteString("------< VRRP Scripts >------\n")
		for _, sc := range d.cfg.Scripts {
			fmt.Fprintf(&b, " VRRP Script = %s\n", sc.Name)
			fmt.Fprintf(&b, "   Command = %s\n", sc.Command)
			fmt.Fprintf(&b, "   Interval = %d sec\n", int(sc.Interval/time.Second))
			fmt.Fprintf(&b, "   Timeout = %d sec\n", int(sc.Timeout/time.Second))
			fmt.Fprintf(&b, "   Weight = %d\n", sc.Weight)
			fmt.Fprintf(&b, "   Rise = %d\n", sc.Rise)
			fmt.Fprintf(&b, "   Fall = %d\n", sc.Fall)
			status := "INIT"
			if s := d.scripts[sc.Name]; s != nil {
				s.mu.Lock()
				if s.last != nil {
					status = map[bool]string{true: "GOOD", false: "BAD"}[s.last.OK]
				}
				s.mu.Unlock()
			}
			fmt.Fprintf(&b, "   Status = %s\n", status)
		}
	}
	d.dumpFiles(&b)
	d.dumpProcesses(&b)
	d.dumpBGP(&b)
	return b.String()
}

func advertText(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d sec", int(d/time.Second))
	}
	return fmt.Sprintf("%d milli-sec", int(d/time.Millisecond))
}

// StatsDump is what SIGUSR2 writes to /tmp/keepalived.stats, in keepalived
// 2.2.7's layout.
func (d *Daemon) StatsDump() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for _, name := range sortedNodeNames(d.nodes) {
		n := d.nodes[name]
		s := n.fsm.Stats()
		dr := n.Drops()
		sum := func(rs ...vrrp.DropReason) uint64 {
			var t uint64
			for _, r := range rs {
				t += dr[r]
			}
			return t
		}
		fmt.Fprintf(&b, "VRRP Instance: %s\n", name)
		fmt.Fprintf(&b, "  Advertisements:\n    Received: %d\n    Sent: %d\n", s.AdvertRcvd, s.AdvertSent)
		fmt.Fprintf(&b, "  Became master: %d\n  Released master: %d\n", s.BecomeMaster, s.ReleaseMaster)
		fmt.Fprintf(&b, "  Packet Errors:\n    Length: %d\n    TTL: %d\n    Invalid Type: %d\n    Advertisement Interval: %d\n    Address List: %d\n",
			sum(vrrp.DropShort, vrrp.DropLength), sum(vrrp.DropTTL), sum(vrrp.DropType), sum(vrrp.DropInterval), sum(vrrp.DropAddrCount, vrrp.DropVIPs))
		fmt.Fprintf(&b, "  Authentication Errors:\n    Invalid Type: %d\n    Type Mismatch: %d\n    Failure: %d\n",
			sum(vrrp.DropAuthType), sum(vrrp.DropAuthMismatch), sum(vrrp.DropPassword, vrrp.DropICV, vrrp.DropSPI, vrrp.DropSeq, vrrp.DropNextHeader))
		fmt.Fprintf(&b, "  Priority Zero:\n    Received: %d\n    Sent: %d\n", s.PriZeroRcvd, s.PriZeroSent)
	}
	return b.String()
}

func sortedNodeNames(m map[string]*runningNode) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
