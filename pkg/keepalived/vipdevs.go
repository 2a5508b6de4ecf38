package keepalived

import (
	"context"

	"hapair/pkg/keepalivedcfg"
)

// vipDevices are the interfaces other than the instance's own that its
// VIPs (and excluded VIPs) are on, without no_track: keepalived tracks each
// with weight 0, so the instance goes to FAULT while one is down
// (vrrp.c vrrp_complete_instance, TRACK_ADDR). An interface already in
// track_interface is tracked there.
func vipDevices(cfg *keepalivedcfg.Instance) []string {
	seen := map[string]bool{cfg.Interface: true, "": true}
	for _, t := range cfg.TrackInterfaces {
		seen[t.Name] = true
	}
	var devs []string
	for _, v := range append(append([]keepalivedcfg.VIP(nil), cfg.VIPs...), cfg.ExcludedVIPs...) {
		if v.NoTrack || seen[v.Dev] {
			continue
		}
		seen[v.Dev] = true
		devs = append(devs, v.Dev)
	}
	return devs
}

func vipDevTrack(dev string) string { return "vip-interface:" + dev }

// watchVIPDevices feeds the VIP interfaces' link state to the instance
// until ctx ends.
func (n *node) watchVIPDevices(ctx context.Context) {
	if n.env.Links == nil {
		return
	}
	for _, dev := range n.vipDevs {
		ch, err := n.env.Links.WatchLink(ctx, dev)
		if err != nil {
			n.log.Warn().Msgf("(%s) cannot watch interface %s of its VIPs: %v", n.cfg.Name, dev, err)
			continue
		}
		go func(dev string) {
			for up := range ch {
				n.fsm.SetTrack(vipDevTrack(dev), up)
			}
		}(dev)
	}
}
