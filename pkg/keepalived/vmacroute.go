package keepalived

import (
	"context"
	"fmt"
	"net"
	"reflect"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/vip"
	"hapair/pkg/vmac"
	"hapair/pkg/vroute"
)

// VMACManager creates and removes use_vmac interfaces (pkg/vmac in
// production).
type VMACManager interface {
	Create(vmac.Spec) (*net.Interface, error)
	Remove(name string) error
}

// RouteManager adds and removes routes and rules (pkg/vroute in
// production).
type RouteManager interface {
	AddRoute(vroute.Route) error
	DelRoute(vroute.Route) error
	AddRule(vroute.Rule) error
	DelRule(vroute.Rule) error
	HasRoute(vroute.Route) (bool, error)
	HasRule(vroute.Rule) (bool, error)
	// WatchDeleted signals each deletion of a route or rule (any).
	WatchDeleted(ctx context.Context) (<-chan struct{}, error)
}

// setupVMAC creates the instance's VMAC (use_vmac) and returns the
// interface adverts are sent and received on: the VMAC, so they leave with
// the VRRP MAC as their source, or the base interface with vmac_xmit_base.
// VIPs are added to the VMAC (vipDev). An IPv6 instance's VMAC has the
// MAC 00:00:5e:00:02:VRID and, unless vmac_xmit_base, the instance's
// source address (mcast_src_ip, else the base interface's link-local
// address), which keepalived's set_link_local_address puts on it.
func (n *node) setupVMAC(ifi *net.Interface) (*net.Interface, error) {
	vc := n.cfg.VMAC
	if vc == nil {
		return ifi, nil
	}
	if n.env.VMACs == nil {
		return nil, fmt.Errorf("(%s) use_vmac: no VMAC support in this environment", n.cfg.Name)
	}
	spec := vmac.Spec{Base: ifi.Name, Name: vc.Name, VRID: uint8(n.cfg.VRID), IPv6: n.cfg.Family == 6}
	if spec.IPv6 && !vc.XmitBase {
		spec.LinkLocal = n.src
	}
	vifi, err := n.env.VMACs.Create(spec)
	if err != nil {
		n.log.Info().Msgf("(%s): Unable to create VMAC interface %s", n.cfg.Name, vc.Name)
		return nil, fmt.Errorf("(%s) %w", n.cfg.Name, err)
	}
	n.vmac = vc.Name
	n.detailf("(%s): Success creating VMAC interface %s", n.cfg.Name, vc.Name)
	if vc.XmitBase {
		return ifi, nil
	}
	return vifi, nil
}

// vipDev puts a VIP without a dev, or on the instance's own interface, on
// the VMAC, as keepalived does.
func (n *node) vipDev(v keepalivedcfg.VIP) keepalivedcfg.VIP {
	if n.vmac == "" {
		return v
	}
	return vmacVIP(n.cfg, v)
}

// vmacVIP is where an instance with use_vmac puts a VIP (also used to
// clear the VIPs of a crashed VRRP process).
func vmacVIP(in *keepalivedcfg.Instance, v keepalivedcfg.VIP) keepalivedcfg.VIP {
	if in.VMAC != nil && (v.Dev == "" || v.Dev == in.Interface) {
		v.Dev = in.VMAC.Name
	}
	return v
}

// removeVMAC deletes the instance's VMAC when it stops.
func (n *node) removeVMAC() {
	if n.vmac == "" {
		return
	}
	if err := n.env.VMACs.Remove(n.vmac); err != nil {
		n.log.Info().Msgf("(%s) Error removing VMAC interface %s: %v", n.cfg.Name, n.vmac, err)
	} else {
		n.detailf("(%s) Success removing VMAC interface %s", n.cfg.Name, n.vmac)
	}
	n.vmac = ""
}

// removeStaleOnVMAC removes VIPs a crashed VRRP process left on a VMAC
// it takes over (removeStaleVIPs looks only at the base interface).
func (n *node) removeStaleOnVMAC(ctx context.Context) {
	if n.vmac == "" {
		return
	}
	for _, v := range n.vips {
		if v.Dev != n.vmac {
			continue
		}
		if has, err := n.env.VIPs.Has(v); err == nil && has {
			_ = n.env.VIPs.Remove(ctx, v)
		}
	}
}

// routeDevs are the interfaces of the virtual routes and rules that are
// tracked (not no_track), as VIP-like entries for trackVIPInterfaces:
// keepalived tracks them unweighted too (vrrp.c vrrp_complete_instance,
// TRACK_ROUTE, TRACK_RULE), so one going down puts the instance in FAULT.
func (n *node) routeDevs() []keepalivedcfg.VIP {
	var out []keepalivedcfg.VIP
	for _, r := range n.cfg.VirtualRoutes {
		if !r.NoTrack && r.Dev != "" {
			out = append(out, keepalivedcfg.VIP{Dev: r.Dev})
		}
	}
	for _, r := range n.cfg.VirtualRules {
		for _, d := range []string{r.IIf, r.OIf} {
			if !r.NoTrack && d != "" {
				out = append(out, keepalivedcfg.VIP{Dev: d})
			}
		}
	}
	return out
}

// watchVRoutes: a tracked virtual route or rule (not no_track) deleted by
// someone else while MASTER sends the instance to BACKUP, as keepalived's
// netlink_route_filter / netlink_rule_filter do (set_vrrp_backup).
func (n *node) watchVRoutes(ctx context.Context) {
	rm := n.env.Routes
	var routes []vroute.Route
	var rules []vroute.Rule
	for _, r := range n.cfg.VirtualRoutes {
		if !r.NoTrack {
			routes = append(routes, toVRoute(r))
		}
	}
	for _, r := range n.cfg.VirtualRules {
		if !r.NoTrack {
			rules = append(rules, toVRule(r))
		}
	}
	if rm == nil || len(routes)+len(rules) == 0 {
		return
	}
	ch, err := rm.WatchDeleted(ctx)
	if err != nil {
		n.log.Warn().Msgf("(%s) cannot watch its virtual routes and rules: %v", n.cfg.Name, err)
		return
	}
	n.helpers.Add(1)
	go func() {
		defer n.helpers.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-ch:
				if !ok {
					return
				}
			}
			if !n.holding.Load() {
				continue
			}
			gone := ""
			for _, r := range routes {
				if has, err := rm.HasRoute(r); err == nil && !has {
					gone = "route " + r.String()
					break
				}
			}
			for _, r := range rules {
				if gone != "" {
					break
				}
				if has, err := rm.HasRule(r); err == nil && !has {
					gone = "rule " + r.String()
				}
			}
			if gone != "" && n.holding.Load() {
				n.log.Info().Msgf("(%s) virtual %s deleted", n.cfg.Name, gone)
				n.fsm.VIPRemoved()
			}
		}
	}()
}

// watchStatic puts back, as keepalived does (reinstate_static_address,
// reinstate_static_route, reinstate_static_rule), a static address, route
// or rule someone deleted while the daemon runs; no_track ones stay gone.
func (d *Daemon) watchStatic(ctx context.Context, tracked func() staticState) {
	var routeCh <-chan struct{}
	if d.env.Routes != nil {
		if ch, err := d.env.Routes.WatchDeleted(ctx); err == nil {
			routeCh = ch
		} else {
			d.env.Log.Warn().Msgf("cannot watch static routes and rules: %v", err)
		}
	}
	var addrCh <-chan vip.Removed
	if aw, ok := d.env.Links.(vip.AddrWatcher); ok {
		if ch, err := aw.WatchRemoved(ctx); err == nil {
			addrCh = ch
		}
	}
	if routeCh == nil && addrCh == nil {
		return
	}
	go func() {
		for routeCh != nil || addrCh != nil {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-routeCh:
				if !ok {
					routeCh = nil
					continue
				}
				st := tracked()
				for _, r := range st.routes {
					if has, err := d.env.Routes.HasRoute(r); err == nil && !has {
						d.env.Log.Info().Msgf("Restoring deleted static route %v", r)
						_ = d.env.Routes.AddRoute(r)
					}
				}
				for _, r := range st.rules {
					if has, err := d.env.Routes.HasRule(r); err == nil && !has {
						d.env.Log.Info().Msgf("Restoring deleted static rule %v", r)
						_ = d.env.Routes.AddRule(r)
					}
				}
			case rm, ok := <-addrCh:
				if !ok {
					addrCh = nil
					continue
				}
				for _, a := range tracked().addrs {
					if a.Dev == rm.Dev && a.Prefix.Addr() == rm.Addr {
						if has, err := d.env.VIPs.Has(a); err == nil && !has {
							d.env.Log.Info().Msgf("Restoring deleted static address %v", a.Prefix)
							_ = d.env.VIPs.Add(context.Background(), a)
						}
					}
				}
			}
		}
	}()
}

// setVRoutes adds (on MASTER) or removes the instance's virtual_routes and
// virtual_rules: rules after routes when adding, rules first when removing
// (vrrp.c vrrp_state_become_master / vrrp_restore_interface).
func (n *node) setVRoutes(add bool) {
	in := n.cfg
	if len(in.VirtualRoutes) == 0 && len(in.VirtualRules) == 0 {
		return
	}
	rm := n.env.Routes
	if rm == nil {
		n.log.Error().Msgf("(%s) virtual routes and rules: no route support in this environment", in.Name)
		return
	}
	if add {
		if len(in.VirtualRoutes) > 0 {
			n.log.Info().Msgf("(%s) setting Virtual Routes", in.Name)
			for _, r := range in.VirtualRoutes {
				if err := rm.AddRoute(toVRoute(r)); err != nil {
					n.log.Error().Msgf("(%s) %v", in.Name, err)
				}
			}
		}
		if len(in.VirtualRules) > 0 {
			n.log.Info().Msgf("(%s) setting Virtual Rules", in.Name)
			for _, r := range in.VirtualRules {
				if err := rm.AddRule(toVRule(r)); err != nil {
					n.log.Error().Msgf("(%s) %v", in.Name, err)
				}
			}
		}
		return
	}
	if len(in.VirtualRules) > 0 {
		n.log.Info().Msgf("(%s) removing Virtual Rules", in.Name)
		for _, r := range in.VirtualRules {
			if err := rm.DelRule(toVRule(r)); err != nil {
				n.log.Error().Msgf("(%s) %v", in.Name, err)
			}
		}
	}
	if len(in.VirtualRoutes) > 0 {
		n.log.Info().Msgf("(%s) removing Virtual Routes", in.Name)
		for _, r := range in.VirtualRoutes {
			if err := rm.DelRoute(toVRoute(r)); err != nil {
				n.log.Error().Msgf("(%s) %v", in.Name, err)
			}
		}
	}
}

var routeTypes = map[string]int{"unicast": vroute.TypeUnicast, "blackhole": vroute.TypeBlackhole,
	"unreachable": vroute.TypeUnreachable, "prohibit": vroute.TypeProhibit, "throw": vroute.TypeThrow}

func toVRoute(r keepalivedcfg.Route) vroute.Route {
	return vroute.Route{
		Type: routeTypes[r.Type], Dst: r.Dst, Src: r.Src, Via: r.Via, Dev: r.Dev, Table: r.Table,
		Metric: r.Metric, HasMetric: r.HasMetric, Scope: r.Scope, Protocol: r.Protocol, OnLink: r.OnLink,
		Gateways: r.Or,
	}
}

var ruleActions = map[string]int{keepalivedcfg.RuleToTable: vroute.ActionToTable, keepalivedcfg.RuleGoto: vroute.ActionGoto,
	keepalivedcfg.RuleNop: vroute.ActionNop, keepalivedcfg.RuleBlackhole: vroute.ActionBlackhole,
	keepalivedcfg.RuleUnreachable: vroute.ActionUnreachable, keepalivedcfg.RuleProhibit: vroute.ActionProhibit}

func toVRule(r keepalivedcfg.Rule) vroute.Rule {
	return vroute.Rule{
		Family: r.Family, From: r.From, To: r.To, Not: r.Not, Action: ruleActions[r.Action], Table: r.Table,
		Goto: r.Goto, Priority: r.Priority, FwMark: r.FwMark, FwMask: r.FwMask, HasFwMark: r.HasFwMark,
		HasFwMask: r.HasFwMask, TOS: r.TOS, IIf: r.IIf, OIf: r.OIf, Protocol: r.Protocol,
	}
}

// staticState is what applyStatic installed: static_ipaddress,
// static_routes and static_rules, present while the daemon runs.
type staticState struct {
	addrs  []vip.VIP
	routes []vroute.Route
	rules  []vroute.Rule
	// tracked: the subset put back when deleted (not no_track).
	tracked *staticState
}

// applyStatic installs the configuration's static addresses, routes and
// rules, and removes those a reload dropped.
func (d *Daemon) applyStatic(cfg *keepalivedcfg.Config) {
	var want staticState
	tr := &staticState{}
	for _, a := range cfg.StaticAddresses {
		v, err := toVIP(a, a.Dev)
		if err != nil {
			d.env.Log.Error().Msgf("static address %v: %v", a, err)
			continue
		}
		want.addrs = append(want.addrs, v)
		if !a.NoTrack {
			tr.addrs = append(tr.addrs, v)
		}
	}
	for _, r := range cfg.StaticRoutes {
		want.routes = append(want.routes, toVRoute(r))
		if !r.NoTrack {
			tr.routes = append(tr.routes, toVRoute(r))
		}
	}
	for _, r := range cfg.StaticRules {
		want.rules = append(want.rules, toVRule(r))
		if !r.NoTrack {
			tr.rules = append(tr.rules, toVRule(r))
		}
	}
	want.tracked = tr
	d.setStatic(want)
	if len(tr.addrs)+len(tr.routes)+len(tr.rules) > 0 && d.ctx != nil {
		d.staticWatch.Do(func() {
			d.watchStatic(d.ctx, func() staticState {
				d.mu.Lock()
				defer d.mu.Unlock()
				if d.static.tracked == nil {
					return staticState{}
				}
				return *d.static.tracked
			})
		})
	}
}

// setStatic moves from the installed static state to want.
func (d *Daemon) setStatic(want staticState) {
	ctx := context.Background()
	log := d.env.Log
	old := d.static
	rm := d.env.Routes
	if rm == nil && (len(want.routes) > 0 || len(want.rules) > 0) {
		log.Error().Msg("static routes and rules: no route support in this environment")
	}
	for _, r := range old.rules {
		if rm != nil && !containsRule(want.rules, r) {
			if err := rm.DelRule(r); err != nil {
				log.Error().Msgf("%v", err)
			}
		}
	}
	for _, r := range old.routes {
		if rm != nil && !containsRoute(want.routes, r) {
			if err := rm.DelRoute(r); err != nil {
				log.Error().Msgf("%v", err)
			}
		}
	}
	for _, a := range old.addrs {
		if !containsVIP(want.addrs, a) {
			if err := d.env.VIPs.Remove(ctx, a); err != nil {
				log.Error().Msgf("removing static address %v: %v", a, err)
			}
		}
	}
	for _, a := range want.addrs {
		if has, err := d.env.VIPs.Has(a); err == nil && has {
			continue
		}
		if err := d.env.VIPs.Add(ctx, a); err != nil {
			log.Error().Msgf("adding static address %v: %v", a, err)
		}
	}
	if rm != nil {
		for _, r := range want.routes {
			if err := rm.AddRoute(r); err != nil {
				log.Error().Msgf("%v", err)
			}
		}
		for _, r := range want.rules {
			if err := rm.AddRule(r); err != nil {
				log.Error().Msgf("%v", err)
			}
		}
	}
	d.static = want
}

func containsRoute(list []vroute.Route, r vroute.Route) bool {
	for _, x := range list {
		if reflect.DeepEqual(x, r) {
			return true
		}
	}
	return false
}

func containsRule(list []vroute.Rule, r vroute.Rule) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

func containsVIP(list []vip.VIP, v vip.VIP) bool {
	for _, x := range list {
		if x.String() == v.String() {
			return true
		}
	}
	return false
}
