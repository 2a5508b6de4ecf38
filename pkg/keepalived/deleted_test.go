package keepalived

import (
	"slices"
	"strings"
	"testing"
	"time"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/vrrp/vrrptest"
)

// TestReloadRemovedInstanceNotifies: an instance a reload removes is
// announced as keepalived 2.2.7's clear_diff_vrrp does: FAULT to its
// generic notify script by default (not STOP), DELETED with
// notify_deleted, whose own script then runs.
func TestReloadRemovedInstanceNotifies(t *testing.T) {
	for _, c := range []struct {
		name, extra string
		want        []string
	}{
		{"default", "", []string{"gen INSTANCE VI_2 FAULT 100"}},
		{"notify_deleted", "  notify_deleted \"/usr/bin/true deleted\"\n", []string{"deleted", "gen INSTANCE VI_2 DELETED 100"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			inst := func(name, vrid, extra string) string {
				return "vrrp_instance " + name + " {\n  state BACKUP\n  interface eth0\n  virtual_router_id " + vrid + "\n  priority 100\n" +
					"  virtual_ipaddress {\n    192.168.1." + vrid + "/24\n  }\n  notify \"/usr/bin/true gen\"\n" + extra + "}\n"
			}
			parse := func(src string) *keepalivedcfg.Config {
				opts := keepalivedcfg.DefaultOptions()
				opts.FS = nil
				cfg, diags, err := keepalivedcfg.Parse("keepalived.conf", []byte(src), opts)
				if err != nil {
					t.Fatalf("%v %v", err, diags)
				}
				return cfg
			}
			n := startSyncNodeWith(t, vrrptest.NewLink(), "lb1", 2, "192.168.1.80/24", parse(inst("VI_1", "51", "")+inst("VI_2", "52", c.extra)), "")
			waitFor(t, 5*time.Second, "both BACKUP notified", func() bool {
				return slices.Contains(n.notified(), "gen INSTANCE VI_2 BACKUP 100") && slices.Contains(n.notified(), "gen INSTANCE VI_1 BACKUP 100")
			})
			before := len(n.notified())
			n.d.Reload(parse(inst("VI_1", "51", "")))
			waitFor(t, 5*time.Second, "VI_2's removal notified", func() bool { return len(n.notified()) >= before+len(c.want) })
			time.Sleep(100 * time.Millisecond) // let a wrong extra notification show
			got := n.notified()[before:]
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("notifications on removal %q, want %q", got, c.want)
			}
			if strings.Contains(strings.Join(got, "|"), "STOP") {
				t.Errorf("removal announced as STOP: %q", got)
			}
		})
	}
}
