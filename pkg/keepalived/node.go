package keepalived

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/garp"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
	"hapair/pkg/track"
	"hapair/pkg/vip"
	"hapair/pkg/vrrp"
	"hapair/pkg/vrrpfsm"
)

// node runs one vrrp_instance: its VRRP sockets, its state machine and the
// effects of its transitions (VIPs, gratuitous ARPs, notify scripts, mail).
// It implements vrrpfsm.Effects; its vrrp.Sender is the machine's Sender.
type node struct {
	// deleted: a reload removed the instance; its stop is announced as
	// keepalived's clear_diff_vrrp does (FAULT, or DELETED with
	// notify_deleted), not as STOP.
	deleted atomic.Bool
	cfg     *keepalivedcfg.Instance
	env     *Env
	log     *zerolog.Logger // the daemon's (env.Log): a copy was 112 bytes per instance
	ifi     *net.Interface
	src     netip.Addr
	dsts    []netip.Addr
	vips    []vip.VIP
	// advertised are the addresses carried in adverts (the VIPs).
	advertised []netip.Addr

	notifyMu  sync.Mutex // a reload changes these while the instance runs
	scripts   notify.Scripts
	smtpAlert bool
	garp      keepalivedcfg.GARP

	conn   vrrp.Conn
	fsm    *vrrpfsm.Instance
	sender *vrrp.Sender
	// expect shares its AH sequence counter with the sender's encoder (the
	// counter is safe for concurrent use).
	expect vrrp.Expect

	// drops is made by the first refused advert: most instances never
	// refuse one, and its 512 bytes were a third of a node.
	drops atomic.Pointer[dropCounts]

	garpMu sync.Mutex
	// garpStop ends the MASTER tenure's gratuitous ARP schedule; non-nil
	// while MASTER (lowerprio.go).
	garpStop func()
	garpCur  *garpTenure // the schedule under way, nil once it ended
	// helpers are the goroutines the instance started besides its state
	// machine and receive loop: link watches, the GARP schedule.
	helpers sync.WaitGroup

	// vipLinks are the interfaces of VIPs outside the instance's own
	// interface that the instance tracks (VIPs without no_track).
	vipLinks []string
	// holding is true from the end of BecomeMaster to the start of
	// LeaveMaster: a VIP deleted then was deleted by someone else.
	holding atomic.Bool
	// lowerPrio ends the garp_lower_prio_* GARPs pending (garpMu).
	lowerPrio    context.CancelFunc
	lowerPrioCtx context.Context
	// syncPeers are the other members of the instance's sync group, set
	// before it starts.
	syncPeers []*node
	// vmac is the name of the instance's VMAC (use_vmac), "" for none.
	vmac string

	// unwatch end the instance's shared link and address watches
	// (watch.go), called once its state machine stopped.
	unwatch []func()

	cancel context.CancelFunc
	// stopFSM stops the state machine (Loop.Launch's stop), set by start.
	stopFSM func()
	done    chan struct{}
}

// newNode prepares an instance: it resolves its interface and addresses and
// opens its sockets, but starts nothing.
func newNode(env *Env, cfg *keepalivedcfg.Instance, tracks []vrrpfsm.Track, scripts notify.Scripts) (*node, error) {
	n := &node{cfg: cfg, env: env, scripts: scripts, smtpAlert: cfg.SMTPAlert, garp: cfg.GARP, done: make(chan struct{})}
	n.log = &env.Log
	ifi, addrs, err := env.Interfaces(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("(%s) interface %s: %w", cfg.Name, cfg.Interface, err)
	}
	n.ifi = ifi
	n.src = cfg.SrcIP
	if !n.src.IsValid() {
		n.src = primaryAddr(addrs, cfg.Family)
	}
	if !n.src.IsValid() {
		return nil, fmt.Errorf("(%s) interface %s has no IPv%d address to send adverts from", cfg.Name, cfg.Interface, cfg.Family)
	}
	sendIfi, err := n.setupVMAC(ifi)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			n.removeVMAC()
		}
	}()
	for _, v := range cfg.VIPs {
		vv, err := toVIP(n.vipDev(v), cfg.Interface)
		if err != nil {
			return nil, fmt.Errorf("(%s) %w", cfg.Name, err)
		}
		n.vips = append(n.vips, vv)
		n.advertised = append(n.advertised, v.Addr())
	}
	for _, v := range cfg.ExcludedVIPs {
		vv, err := toVIP(n.vipDev(v), cfg.Interface)
		if err != nil {
			return nil, fmt.Errorf("(%s) %w", cfg.Name, err)
		}
		n.vips = append(n.vips, vv)
	}
	if cfg.Unicast {
		n.dsts = append(n.dsts, cfg.UnicastPeers...)
	} else {
		g := cfg.McastDstIP
		if !g.IsValid() {
			g = vrrp.GroupIPv4
			if cfg.Family == 6 {
				g = vrrp.GroupIPv6
			}
		}
		n.dsts = []netip.Addr{g}
	}

	authType, key := vrrp.AuthNone, vrrp.Key{}
	if cfg.Auth != nil && cfg.Version == 2 && cfg.Family == 4 {
		switch cfg.Auth.Type {
		case keepalivedcfg.AuthPass:
			authType = vrrp.AuthPass
		case keepalivedcfg.AuthAH:
			authType = vrrp.AuthAH
		}
		key = vrrp.Key(cfg.Auth.Key())
	}
	seq := new(vrrp.SeqCounter)
	ttl := uint8(vrrp.TTL)
	if cfg.Unicast && cfg.UnicastTTL > 0 && cfg.UnicastTTL < 256 {
		ttl = uint8(cfg.UnicastTTL)
	}
	n.expect = vrrp.Expect{
		VRID: uint8(cfg.VRID), Version: cfg.Version, AuthType: authType, Key: key, Seq: seq,
		AdvertInt: cfg.AdvertInt, Unicast: cfg.Unicast, VIPs: n.advertised, Peers: cfg.UnicastPeers,
		CheckUnicastSrc: cfg.CheckUnicastSrc, PeerTTL: peerTTL(cfg),
	}
	var group netip.Addr
	if !cfg.Unicast {
		group = n.dsts[0]
	}
	hop := 0
	if cfg.Unicast {
		hop = cfg.UnicastTTL
	}
	conn, err := env.Listen(vrrp.Config{IfIndex: sendIfi.Index, Src: n.src, Unicast: cfg.Unicast, AH: authType == vrrp.AuthAH, Group: group, HopLimit: hop, VRID: uint8(cfg.VRID)})
	if err != nil {
		return nil, fmt.Errorf("(%s) opening VRRP sockets on %s: %w", cfg.Name, cfg.Interface, err)
	}
	n.conn = conn
	tmpl := vrrp.Advertisement{
		Version: cfg.Version, Type: 1, VRID: uint8(cfg.VRID), AuthType: authType,
		AdvertInt: cfg.AdvertInt, Addresses: n.advertised,
	}
	if authType == vrrp.AuthPass {
		tmpl.Password = key
	}
	n.sender = &vrrp.Sender{
		Conn:   conn,
		Enc:    &vrrp.Encoder{Src: n.src, TTL: ttl, Unicast: cfg.Unicast, Key: key, Seq: seq},
		Advert: tmpl,
		Dsts:   n.dsts,
	}

	tracks = n.trackVIPInterfaces(tracks)

	initial := vrrpfsm.Backup
	if cfg.State == keepalivedcfg.StateMaster {
		initial = vrrpfsm.Master
	}
	fcfg := vrrpfsm.Config{
		Name: cfg.Name, VRID: uint8(cfg.VRID), Version: cfg.Version, Priority: cfg.Priority,
		InitialState: initial, AdvertInt: cfg.AdvertInt, NoPreempt: cfg.NoPreempt, PreemptDelay: cfg.PreemptDelay,
		AuthAH: authType == vrrp.AuthAH, LowerPrioNoAdvert: cfg.LowerPrioNoAdvert,
		HigherPrioSendAdvert: cfg.HigherPrioSendAdvert, Address: n.src, Tracks: tracks, LogDetail: env.LogDetail,
		// dont_track_primary: the instance ignores its own interface's state.
		InterfaceDown: ifi.Flags&net.FlagUp == 0 && !cfg.DontTrackPrimary,
		OnLate:        env.Late,
	}
	if cfg.NotifyPriorityChanges && env.Notifier != nil {
		// notify_priority_changes: a FIFO line per change
		// (vrrp_notify.c send_instance_priority_notifies).
		fcfg.OnPriority = func(st vrrpfsm.State, prio int) {
			label := notify.BackupPriority
			if st == vrrpfsm.Master {
				label = notify.MasterPriority
			}
			env.Notifier.NotifyFIFOs(notify.Event{Name: cfg.Name, State: label, Priority: prio})
		}
	}
	n.fsm = vrrpfsm.NewShared(fcfg, env.Clock, n.sender, n, &env.Log)
	n.removeStaleOnVMAC(context.Background())
	n.setVRoutes(false)
	ok = true
	return n, nil
}

// trackVIPInterfaces adds, as keepalived 2.2.7 does (vrrp.c
// vrrp_complete_instance, TRACK_ADDR), an unweighted track of the
// interface of each VIP or excluded VIP that is not on the instance's own
// interface, unless the VIP says no_track: that interface going down puts
// the instance in FAULT. A track_interface entry for the same interface
// becomes unweighted, as keepalived's add_vrrp_to_interface makes it.
func (n *node) trackVIPInterfaces(tracks []vrrpfsm.Track) []vrrpfsm.Track {
	seen := map[string]bool{}
	for _, v := range append(append(append([]keepalivedcfg.VIP(nil), n.cfg.VIPs...), n.cfg.ExcludedVIPs...), n.routeDevs()...) {
		if v.NoTrack || v.Dev == "" || v.Dev == n.cfg.Interface || seen[v.Dev] {
			continue
		}
		seen[v.Dev] = true
		name := "interface:" + v.Dev
		found := false
		for i := range tracks {
			if tracks[i].Name == name {
				tracks[i].Weight, tracks[i].Reverse, found = 0, false, true
			}
		}
		if found {
			continue // the daemon already watches it for track_interface
		}
		initial := vrrpfsm.TrackDown
		if ifi, _, err := n.env.Interfaces(v.Dev); err == nil && ifi.Flags&net.FlagUp != 0 {
			initial = vrrpfsm.TrackUp
		}
		tracks = append(tracks, vrrpfsm.Track{Name: name, Initial: initial})
		n.vipLinks = append(n.vipLinks, v.Dev)
	}
	return tracks
}

// toVIP turns a virtual_ipaddress line into what package vip manages.
func toVIP(v keepalivedcfg.VIP, iface string) (vip.VIP, error) {
	dev := v.Dev
	if dev == "" {
		dev = iface
	}
	scope := vip.ScopeGlobal
	if v.Scope != "" {
		s, err := vip.ParseScope(v.Scope)
		if err != nil {
			return vip.VIP{}, fmt.Errorf("%s:%d: %w", v.Pos.File, v.Pos.Line, err)
		}
		scope = s
	}
	out := vip.VIP{Prefix: v.Prefix, Dev: dev, Label: v.Label, Broadcast: v.Broadcast, Scope: scope, PreferredLft: v.PreferredLft}
	if v.Peer.IsValid() {
		out.Peer = v.Peer.Addr()
	}
	return out, nil
}

// primaryAddr is the address keepalived sends from when no unicast_src_ip
// or mcast_src_ip is set: the interface's first IPv4 address, or its IPv6
// link-local address.
func primaryAddr(addrs []netip.Prefix, family int) netip.Addr {
	for _, p := range addrs {
		a := p.Addr()
		if family == 6 {
			if a.Is6() && a.IsLinkLocalUnicast() {
				return a
			}
			continue
		}
		if a.Is4() {
			return a
		}
	}
	return netip.Addr{}
}

// start runs the state machine and the receive loop until stop. Everything
// the instance starts (the watches of its interface and tracked interfaces,
// its gratuitous ARP schedule) runs under its context and ends with it:
// done is closed once they all returned.
func (n *node) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	n.cancel = cancel
	// The receive goroutine, when the Conn must be read.
	var wg sync.WaitGroup
	if d, ok := n.conn.(deliverer); ok {
		// A shared socket's reader hands the instance its datagrams: no
		// receive goroutine per instance.
		d.Deliver(n.handle)
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.receive(ctx)
		}()
	}
	if !n.cfg.DontTrackPrimary {
		n.watch(n.cfg.Interface, "", n.fsm.InterfaceUp)
	}
	for _, ti := range n.cfg.TrackInterfaces {
		track := "interface:" + ti.Name
		n.watch(ti.Name, "tracked ", func(up bool) { n.fsm.SetTrack(track, up) })
	}
	for _, dev := range n.vipLinks {
		track := "interface:" + dev
		n.watch(dev, "VIP ", func(up bool) { n.fsm.SetTrack(track, up) })
	}
	n.watchVIPRemoval()
	n.watchVRoutes(ctx)
	// The state machine runs on the daemon's loop, with every other
	// instance's; once it stopped, a goroutine closes the instance down.
	closeDown := func() {
		cancel() // the receive loop and the watches end with the machine
		for _, remove := range n.unwatch {
			remove()
		}
		n.unwatch = nil
		wg.Wait()
		n.conn.Close()
		n.stopGARP() // a schedule still running (no LeaveMaster) ends here
		n.helpers.Wait()
		n.removeVMAC()
		close(n.done)
	}
	// Stopped by n.cancel, or by the daemon at the end of parent
	// (stopFSMs), not by watching a context: a context.AfterFunc on the
	// instance's own context made it a children map and a Done channel,
	// ~0.4 KiB per instance, and one on parent 0.18 KiB.
	stopFSM, err := n.env.fsmLoop().Launch(ctx, n.fsm, closeDown)
	if err != nil {
		n.log.Error().Msgf("(%s) %v", n.cfg.Name, err)
		go closeDown()
		return
	}
	n.stopFSM = stopFSM
	n.cancel = func() {
		stopFSM()
		cancel()
	}
	if parent.Err() != nil {
		stopFSM() // started after the daemon's end
	}
}

// watch feeds an interface's link state to f until the instance stops, through the
// daemon's shared watch of that interface.
func (n *node) watch(ifname, what string, f func(up bool)) {
	if n.env.Links == nil {
		return
	}
	remove, err := n.env.watches.watchLink(n.env.Links, ifname, f)
	if err != nil {
		n.log.Warn().Msgf("(%s) cannot watch %sinterface %s: %v", n.cfg.Name, what, ifname, err)
		return
	}
	n.unwatch = append(n.unwatch, remove)
}

// watchVIPRemoval notices a VIP (not no_track) deleted by someone else
// while MASTER: the instance then goes to BACKUP and quickly back to
// MASTER, adding it again (keepalived 2.2.7 keepalived_netlink.c
// address_is_ours, set_vrrp_backup). Our own removals happen outside
// MASTER (holding is false), or are undone when the event arrives.
func (n *node) watchVIPRemoval() {
	aw, ok := n.env.Links.(vip.AddrWatcher)
	if !ok {
		return
	}
	// The indexes in n.vips of the tracked ones (n.vips does not change
	// once made): not a map (over a KiB per instance) nor copies of the
	// VIPs (~200 bytes each).
	var tracked []int
	all := append(append([]keepalivedcfg.VIP(nil), n.cfg.VIPs...), n.cfg.ExcludedVIPs...)
	for i, v := range all {
		if !v.NoTrack && i < len(n.vips) {
			tracked = append(tracked, i)
		}
	}
	if len(tracked) == 0 {
		return
	}
	remove, err := n.env.watches.watchRemoved(aw, func(r vip.Removed) {
		if !n.holding.Load() {
			return
		}
		var v vip.VIP
		found := false
		for _, i := range tracked {
			if t := n.vips[i]; t.Dev == r.Dev && t.Prefix.Addr() == r.Addr {
				v, found = t, true
				break
			}
		}
		if !found {
			return
		}
		if has, err := n.env.VIPs.Has(v); err != nil || has {
			return
		}
		n.detailf("Netlink reflector reports IP %s removed from %s", r.Addr, r.Dev)
		n.fsm.VIPRemoved()
	})
	if err != nil {
		n.log.Warn().Msgf("(%s) cannot watch its VIPs: %v", n.cfg.Name, err)
		return
	}
	n.unwatch = append(n.unwatch, remove)
}

// stop resigns (priority 0 when MASTER), removes the VIPs and waits until
// everything the instance started has ended, or ctx is done; it reports
// whether the instance ended.
func (n *node) stop(ctx context.Context) bool {
	if n.cancel == nil {
		n.conn.Close()
		n.removeVMAC()
		return true
	}
	n.cancel()
	select {
	case <-n.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// deliverer is a Conn that calls the instance with each datagram
// (vrrp.MuxConn) instead of being read.
type deliverer interface {
	Deliver(func(vrrp.Received))
}

func (n *node) receive(ctx context.Context) {
	for {
		r, err := n.conn.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			n.log.Warn().Msgf("(%s) receiving: %v", n.cfg.Name, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		n.handle(r)
	}
}

// handle checks one datagram and hands an advert to the state machine. It
// does not block: the state machine queues it.
func (n *node) handle(r vrrp.Received) {
	e := n.expect
	if n.cfg.SkipCheckAdvAddr {
		// skip_check_adv_addr: a backup does not check the VIPs of
		// adverts from the master it follows (vrrp.c vrrp_backup).
		src := r.Src
		if !src.IsValid() && len(r.Packet) >= 20 {
			src = netip.AddrFrom4([4]byte(r.Packet[12:16])) // the IPv4 header's source
		}
		if st := n.fsm.Status(); st.State == vrrpfsm.Backup && st.MasterAddr.IsValid() && st.MasterAddr == src {
			e.SkipVIPCheck = true
		}
	}
	msg, err := vrrp.Check(r, e)
	if err != nil {
		n.dropped(err, r.Src)
		return
	}
	n.fsm.Receive(vrrpfsm.Advert{Src: msg.Src, Priority: msg.Priority, AdvertInt: msg.AdvertInt, AHSeq: msg.Seq})
}

// dropCounts are an instance's refused adverts.
type dropCounts struct {
	n       [32]atomic.Uint64 // by vrrp.DropReason
	lastLog [32]atomic.Int64  // unix nanos of the last drop logged, per reason
}

// dropCounts returns the instance's counts, made on first use.
func (n *node) dropCounts() *dropCounts {
	if d := n.drops.Load(); d != nil {
		return d
	}
	n.drops.CompareAndSwap(nil, new(dropCounts))
	return n.drops.Load()
}

// dropped counts a refused advert by reason and logs it as keepalived
// does: every advert a peer sends at its interval (keepalived logs each),
// but at most ten a second per reason so a flood cannot fill the logs.
func (n *node) dropped(err error, src netip.Addr) {
	var de *vrrp.DropError
	if !errors.As(err, &de) {
		n.log.Warn().Msgf("(%s) dropped advert from %v: %v", n.cfg.Name, src, err)
		return
	}
	dc := n.dropCounts()
	r := int(de.Reason)
	if r < 0 || r >= len(dc.n) {
		r = 0
	}
	dc.n[r].Add(1)
	if de.Reason == vrrp.DropVRID {
		// Adverts of other virtual routers on the same link are normal.
		return
	}
	now := time.Now().UnixNano()
	last := dc.lastLog[r].Load()
	if now-last < int64(dropLogGap) || !dc.lastLog[r].CompareAndSwap(last, now) {
		return
	}
	detail := de.Detail
	if detail == "" {
		detail = de.Error()
	}
	n.log.Info().Msgf("(%s) %s", n.cfg.Name, detail)
}

// dropLogGap is the least time between two drop lines of one reason.
const dropLogGap = 100 * time.Millisecond

// Drops returns the dropped adverts by reason.
func (n *node) Drops() map[vrrp.DropReason]uint64 {
	out := map[vrrp.DropReason]uint64{}
	dc := n.drops.Load()
	if dc == nil {
		return out
	}
	for _, r := range vrrp.DropReasons() {
		if int(r) < len(dc.n) {
			if v := dc.n[r].Load(); v > 0 {
				out[r] = v
			}
		}
	}
	return out
}

// BecomeMaster implements vrrpfsm.Effects: add the VIPs, then announce them.
func (n *node) BecomeMaster(ctx context.Context) {
	n.log.Info().Msgf("(%s) setting VIPs.", n.cfg.Name)
	for _, v := range n.vips {
		if err := n.env.VIPs.Add(ctx, v); err != nil {
			n.log.Error().Msgf("(%s) cannot add %v: %v", n.cfg.Name, v, err)
		}
	}
	n.setVRoutes(true)
	n.holding.Store(true)
	if n.env.retrim != nil {
		// The transition's garbage is returned once over.
		n.env.retrim()
	}
	if len(n.vips) == 0 || n.env.GARP == nil {
		return
	}
	// Each VIP is announced on its own interface (keepalived: the VIP's
	// ifp), IPv4 by gratuitous ARP, IPv6 by unsolicited NA, VIPs then
	// excluded VIPs, in configuration order (vrrp_send_link_update).
	var anns []garp.Announcement
	for _, v := range n.vips {
		ifi := n.ifi
		if v.Dev != n.ifi.Name {
			var err error
			if ifi, _, err = n.env.Interfaces(v.Dev); err != nil {
				n.log.Warn().Msgf("(%s) no gratuitous ARP for %v: %v", n.cfg.Name, v.Prefix.Addr(), err)
				continue
			}
		}
		ip := v.Prefix.Addr()
		what := "gratuitous ARPs"
		if ip.Is6() {
			what = "Unsolicited Neighbour Adverts"
		}
		n.detailf("(%s) Sending/queueing %s on %s for %v", n.cfg.Name, what, ifi.Name, ip)
		anns = append(anns, garp.Announcement{Ifi: ifi, IP: ip})
	}
	if len(anns) == 0 {
		return
	}
	n.notifyMu.Lock()
	g := n.garp
	n.notifyMu.Unlock()
	gcfg := garp.Config{Delay: g.MasterDelay, Repeat: g.MasterRepeat, Refresh: g.MasterRefresh, RefreshRepeat: g.MasterRefreshRepeat}
	// vrrp_garp_interval / vrrp_gna_interval: announcements too close to
	// the previous one on their interface wait (shared by all instances).
	clk := n.env.GARPClock
	if clk == nil {
		clk = garp.RealClock{}
	}
	an := &garp.Announcer{Spacing: &n.env.garpSpacing, Clock: clk, Send: func(a garp.Announcement) {
		if err := n.env.GARP.Send(a.Ifi, a.IP); err != nil {
			n.log.Warn().Msgf("(%s) announcing %v on %s: %v", n.cfg.Name, a.IP, a.Ifi.Name, err)
			return
		}
		if a.IP.Is6() {
			n.detailf("Sending unsolicited Neighbour Advert on %s for %v", a.Ifi.Name, a.IP)
		} else {
			n.detailf("Sending gratuitous ARP on %s for %v", a.Ifi.Name, a.IP)
		}
	}}
	n.garpMu.Lock()
	if n.garpStop != nil {
		n.garpStop()
		n.garpCur, n.garpStop = nil, nil
	}
	n.garpMu.Unlock()
	// The first burst goes out now, from the instance's transition as
	// keepalived's vrrp_state_become_master sends it; the later ones from
	// timers: no goroutine waits for them (a parked goroutine per MASTER
	// left a descriptor the runtime never frees).
	t := &garpTenure{}
	ended := func() {
		// A schedule without refresh ends garp_master_delay after the
		// transition: the instance keeps nothing of it until LeaveMaster,
		// unless its announcer runs (still sending what it queued, until
		// LeaveMaster or the instance's end stops it).
		t.mu.Lock()
		announcing := t.done != nil
		t.mu.Unlock()
		if announcing {
			return
		}
		t.over.Store(true)
		n.garpMu.Lock()
		if n.garpCur == t {
			n.garpCur, n.garpStop = nil, garpOver // still MASTER for lowerprio.go
		}
		n.garpMu.Unlock()
	}
	t.stopSched = garp.Start(clk, gcfg, func() {
		// The announcer's goroutine only matters when announcements are
		// spaced (vrrp_garp_interval, vrrp_gna_interval): started on the
		// first round that needs it, not one parked goroutine per MASTER.
		if n.env.garpSpaced.Load() {
			t.startAnnouncer(n, an)
		}
		for _, a := range anns {
			an.Announce(a)
		}
	}, ended)
	n.garpMu.Lock()
	if t.over.Load() {
		n.garpStop = garpOver
	} else {
		n.garpCur, n.garpStop = t, t.stop
	}
	n.garpMu.Unlock()
}

// garpOver is garpStop once the transition's schedule ended by itself.
var garpOver = func() {}

// garpTenure is one MASTER tenure's gratuitous ARP schedule and, when
// announcements are spaced, its announcer's goroutine.
type garpTenure struct {
	stopSched func() // set once garp.Start returned
	over      atomic.Bool

	mu    sync.Mutex
	done  chan struct{} // ends the announcer; nil until it runs
	ended bool
}

// startAnnouncer starts the announcer's goroutine once, unless the tenure
// ended; n.helpers counts it.
func (t *garpTenure) startAnnouncer(n *node, an *garp.Announcer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done != nil || t.ended {
		return
	}
	t.done = make(chan struct{})
	// From a round of the schedule, which closeDown stops (waiting for
	// the round) before its Wait.
	n.helpers.Add(1)
	go func(done <-chan struct{}) {
		defer n.helpers.Done()
		an.Run(done)
	}(t.done)
}

// stop ends the schedule (waiting for a round under way) and the
// announcer; pending spaced announcements are dropped, as keepalived does
// when the instance leaves MASTER.
func (t *garpTenure) stop() {
	t.stopSched()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ended {
		t.ended = true
		if t.done != nil {
			close(t.done)
		}
	}
}

// stopGARP ends the MASTER tenure's gratuitous ARP schedule, if any.
func (n *node) stopGARP() {
	n.garpMu.Lock()
	defer n.garpMu.Unlock()
	if n.garpStop != nil {
		n.garpStop()
		n.garpCur, n.garpStop = nil, nil
	}
	n.stopLowerPrioGARPs()
}

// detailf logs a line keepalived writes only with -D (log_detail).
func (n *node) detailf(format string, args ...any) {
	if n.env.LogDetail {
		n.log.Info().Msgf(format, args...)
		return
	}
	n.log.Debug().Msgf(format, args...)
}

// LeaveMaster implements vrrpfsm.Effects.
func (n *node) LeaveMaster(ctx context.Context) {
	n.holding.Store(false)
	n.stopGARP()
	n.setVRoutes(false)
	n.log.Info().Msgf("(%s) removing VIPs.", n.cfg.Name)
	for _, v := range n.vips {
		if err := n.env.VIPs.Remove(ctx, v); err != nil {
			n.log.Error().Msgf("(%s) cannot remove %v: %v", n.cfg.Name, v, err)
		}
	}
}

// Notify implements vrrpfsm.Effects: notify scripts and smtp_alert, both
// asynchronous.
func (n *node) Notify(from, to vrrpfsm.State, prio int) {
	st, ok := notifyState(to)
	if !ok {
		return
	}
	if to == vrrpfsm.Stop && n.deleted.Load() {
		switch {
		case n.cfg.NotifyDeleted:
			st = notify.Deleted
		case from == vrrpfsm.Fault:
			return // already announced as FAULT
		default:
			st = notify.Fault
		}
	}
	n.notifyMu.Lock()
	scripts, smtpAlert := n.scripts, n.smtpAlert
	n.notifyMu.Unlock()
	if n.env.Notifier != nil {
		n.env.Notifier.Notify(scripts, notify.Event{Name: n.cfg.Name, State: st, Priority: prio})
	}
	if smtpAlert && st != notify.Stop && st != notify.Deleted {
		if m := n.env.mailer(); m != nil {
			m.Alert(context.Background(), n.cfg.Name, st)
		}
	}
}

// setLive replaces the notify scripts, smtp_alert and gratuitous ARP
// schedule of a running instance (a reload); a schedule under way keeps
// its settings, the next transition to MASTER uses the new ones.
func (n *node) setLive(s notify.Scripts, smtpAlert bool, g keepalivedcfg.GARP) {
	n.notifyMu.Lock()
	n.scripts, n.smtpAlert, n.garp = s, smtpAlert, g
	n.notifyMu.Unlock()
}

func notifyState(s vrrpfsm.State) (notify.State, bool) {
	switch s {
	case vrrpfsm.Master:
		return notify.Master, true
	case vrrpfsm.Backup:
		return notify.Backup, true
	case vrrpfsm.Fault:
		return notify.Fault, true
	case vrrpfsm.Stop:
		return notify.Stop, true
	}
	return 0, false
}

// notifyScripts prepares an instance's notify_* commands.
func notifyScripts(cfg *keepalivedcfg.Instance, opts track.Options, log zerolog.Logger) notify.Scripts {
	var s notify.Scripts
	prep := func(nf *keepalivedcfg.Notify) *track.Command { return prepareNotify("("+cfg.Name+")", nf, opts, log) }
	s.Master = prep(cfg.NotifyMaster)
	s.Backup = prep(cfg.NotifyBackup)
	s.Fault = prep(cfg.NotifyFault)
	s.Stop = prep(cfg.NotifyStop)
	s.Deleted = prep(cfg.NotifyDeletedScript)
	s.MasterRxLowerPri = prep(cfg.NotifyMasterRxLowerPri)
	s.Notify = prep(cfg.Notify)
	return s
}

// prepareNotify prepares one notify command of an instance or a sync group
// (who names it in the error line); nil when unset or unusable.
func prepareNotify(who string, nf *keepalivedcfg.Notify, opts track.Options, log zerolog.Logger) *track.Command {
	if nf == nil || len(nf.Args) == 0 {
		return nil
	}
	o := opts
	if nf.User != "" {
		o.User, o.Group = nf.User, nf.Group
	}
	c, err := track.PrepareArgs(nf.Args, o, log)
	if err != nil {
		log.Error().Msgf("%s notify script %s: %v", who, nf, err)
		return nil
	}
	return &c
}
