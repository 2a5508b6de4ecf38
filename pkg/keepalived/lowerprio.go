package keepalived

import (
	"context"
	"net/netip"

	"hapair/pkg/garp"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
)

// peerTTL is the instance's unicast_peer min_ttl/max_ttl for vrrp.Check.
func peerTTL(cfg *keepalivedcfg.Instance) map[netip.Addr][2]int {
	if len(cfg.PeerTTL) == 0 {
		return nil
	}
	m := make(map[netip.Addr][2]int, len(cfg.PeerTTL))
	for a, r := range cfg.PeerTTL {
		m[a] = [2]int{r.Min, r.Max}
	}
	return m
}

// LowerPrioAdvert implements vrrpfsm.LowerPrioAnnouncer: as master, on a
// lower priority advert keepalived sends garp_lower_prio_repeat GARPs at
// once and again garp_lower_prio_delay later (vrrp.c vrrp_state_master_rx),
// so that hosts that followed the other router come back.
func (n *node) LowerPrioAdvert() {
	// notify_master_rx_lower_pri, then its FIFO line (vrrp_notify.c
	// send_event_notify).
	if nf := n.env.Notifier; nf != nil {
		n.notifyMu.Lock()
		cmd := n.scripts.MasterRxLowerPri
		n.notifyMu.Unlock()
		if cmd != nil {
			nf.Run(*cmd)
		}
		nf.NotifyFIFOs(notify.Event{Name: n.cfg.Name, State: notify.MasterRxLowerPri, Priority: n.fsm.EffectivePriority()})
	}
	n.lowerPrioGARPs()
	// keepalived also announces the other members of the sync group that
	// set garp_lower_prio_repeat, when their VIPs are set.
	for _, m := range n.syncPeers {
		m.garpMu.Lock()
		master := m.garpStop != nil
		m.garpMu.Unlock()
		if master {
			m.lowerPrioGARPs()
		}
	}
}

// lowerPrioGARPs sends this instance's lower priority GARPs.
func (n *node) lowerPrioGARPs() {
	g := n.cfg.GARP
	if g.LowerPrioRepeat <= 0 || n.env.GARP == nil {
		return
	}
	var v4 []netip.Addr
	for _, v := range n.vips {
		if v.Prefix.Addr().Is4() {
			v4 = append(v4, v.Prefix.Addr())
		}
	}
	if len(v4) == 0 {
		return
	}
	// keepalived starts a burst and a delayed burst per lower priority
	// advert; all end when the instance leaves MASTER.
	n.garpMu.Lock()
	if n.lowerPrio == nil {
		n.lowerPrioCtx, n.lowerPrio = context.WithCancel(context.Background())
	}
	ctx := n.lowerPrioCtx
	n.garpMu.Unlock()
	delay := g.LowerPrioDelay
	if delay < 0 {
		delay = 0
	}
	cfg := garp.Config{Delay: delay, Repeat: g.LowerPrioRepeat}
	ifi := n.ifi
	var clk garp.Clock = garp.RealClock{}
	if n.env.GARPClock != nil {
		clk = n.env.GARPClock
	}
	// vrrp_garp_interval spaces these too, shared with every instance.
	an := &garp.Announcer{Spacing: &n.env.garpSpacing, Clock: clk, Send: func(a garp.Announcement) {
		if err := n.env.GARP.Send(a.Ifi, a.IP); err != nil {
			n.log.Warn().Msgf("(%s) gratuitous ARP on %s for %v: %v", n.cfg.Name, a.Ifi.Name, a.IP, err)
			return
		}
		n.log.Debug().Msgf("Sending gratuitous ARP on %s for %v", a.Ifi.Name, a.IP)
	}}
	go an.Run(ctx.Done())
	round := 0
	go garp.Schedule(ctx, clk, cfg, func() {
		// keepalived's detail lines (-D): one per burst, one per ARP.
		first := round%cfg.Repeat == 0
		round++
		for _, ip := range v4 {
			if first {
				n.log.Debug().Msgf("(%s) Sending/queueing gratuitous ARPs on %s for %v", n.cfg.Name, ifi.Name, ip)
			}
			an.Announce(garp.Announcement{Ifi: ifi, IP: ip})
		}
	})
}

// stopLowerPrioGARPs ends pending lower priority GARPs; garpMu held.
func (n *node) stopLowerPrioGARPs() {
	if n.lowerPrio != nil {
		n.lowerPrio()
		n.lowerPrio = nil
	}
}
