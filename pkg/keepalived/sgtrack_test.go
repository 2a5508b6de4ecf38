package keepalived

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/vrrp/vrrptest"
)

// TestSyncGroupOwnTrackScript: the track script is on the sync group, not
// on an instance: every member tracks it (keepalived's
// sync_group_tracking_init), so when it fails on lb1 both of lb1's
// instances go to FAULT and lb2 takes both VIPs; before, gkeepalived
// refused the configuration.
func TestSyncGroupOwnTrackScript(t *testing.T) {
	conf := func(name string, prio int) *keepalivedcfg.Config {
		src := fmt.Sprintf(syncConf, name, prio, prio)
		src = strings.Replace(src, "  track_script {\n    chk\n  }\n", "", 1)
		src = strings.Replace(src, "  notify_fault \"/usr/bin/true group_fault\"\n", "  notify_fault \"/usr/bin/true group_fault\"\n  track_script {\n    chk\n  }\n", 1)
		opts := keepalivedcfg.DefaultOptions()
		opts.FS = nil
		cfg, diags, err := keepalivedcfg.Parse("keepalived.conf", []byte(src), opts)
		if err != nil {
			t.Fatalf("%v %v", err, diags)
		}
		for _, in := range cfg.Instances {
			if len(in.TrackScripts) != 1 || in.TrackScripts[0].Name != "chk" {
				t.Fatalf("%s tracks %v, want the group's chk", in.Name, in.TrackScripts)
			}
		}
		return cfg
	}
	link := vrrptest.NewLink()
	lb1 := startSyncNodeWith(t, link, "lb1", 2, "192.168.1.80/24", conf("lb1", 150), "")
	lb2 := startSyncNodeWith(t, link, "lb2", 3, "192.168.1.81/24", conf("lb2", 100), "")
	waitFor(t, 8*time.Second, "lb1 holds both VIPs", func() bool { return lb1.holds() == "51+52" && lb1.states() == "MASTER/MASTER" })
	lb1.healthy.Store(false)
	waitFor(t, 10*time.Second, "lb2 takes both VIPs", func() bool { return lb2.holds() == "51+52" && lb1.holds() == "" })
	if s := lb1.states(); s != "FAULT/FAULT" {
		t.Fatalf("lb1 is %s, want FAULT/FAULT", s)
	}
}
