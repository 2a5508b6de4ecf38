package keepalived

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/vrrp"
	"hapair/pkg/vrrp/vrrptest"
	"hapair/pkg/vrrpfsm"
)

// TestSkipCheckAdvAddr: a backup follows a master (adverts every 300 ms
// with our VIP); the master then advertises another VIP list. With
// vrrp_skip_check_adv_addr the backup still accepts its adverts and stays
// BACKUP (keepalived's vrrp_backup skips the address check for the
// master it follows); without it the adverts are dropped and the backup
// takes over after its master-down timer.
func TestSkipCheckAdvAddr(t *testing.T) {
	for _, skip := range []bool{true, false} {
		t.Run(map[bool]string{true: "skip", false: "check"}[skip], func(t *testing.T) {
			t.Parallel()
			global := ""
			if skip {
				global = "global_defs {\n  vrrp_skip_check_adv_addr\n}\n"
			}
			src := global + "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n" +
				"  virtual_ipaddress {\n    192.168.1.84\n  }\n}\n"
			opts := keepalivedcfg.DefaultOptions()
			opts.FS = nil
			cfg, _, err := keepalivedcfg.Parse("keepalived.conf", []byte(src), opts)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Instances[0].SkipCheckAdvAddr != skip {
				t.Fatalf("SkipCheckAdvAddr = %v", cfg.Instances[0].SkipCheckAdvAddr)
			}
			link := vrrptest.NewLink()
			n := startTestNode(t, link, "lb2", 3, "192.168.1.81/24", cfg)
			master := netip.MustParseAddr("192.168.1.90")
			enc := &vrrp.Encoder{Src: master}
			vip := netip.MustParseAddr("192.168.1.84")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				tick := time.NewTicker(300 * time.Millisecond)
				defer tick.Stop()
				for i := 0; ; i++ {
					if i == 4 {
						vip = netip.MustParseAddr("192.168.1.99") // the master's VIPs change
					}
					b, err := enc.Encode(&vrrp.Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 200, AdvertInt: time.Second, Addresses: []netip.Addr{vip}}, vrrp.GroupIPv4)
					if err == nil {
						link.Inject(b[0], master, vrrp.GroupIPv4)
					}
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
				}
			}()
			waitFor(t, 5*time.Second, "lb2 follows the master", func() bool {
				st, ok := n.d.Status("VI_1")
				return ok && st.State == vrrpfsm.Backup && st.MasterAddr == master
			})
			// Past the VIP change and a master-down interval (3.6 s).
			deadline := time.Now().Add(7 * time.Second)
			for time.Now().Before(deadline) {
				if st, _ := n.d.Status("VI_1"); st.State == vrrpfsm.Master {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			st, _ := n.d.Status("VI_1")
			if skip && st.State != vrrpfsm.Backup {
				t.Errorf("with skip_check_adv_addr: %v, want BACKUP\n%s", st.State, n.log.String())
			}
			if !skip && (st.State != vrrpfsm.Master || !strings.Contains(n.log.String(), "not present in MASTER advert")) {
				t.Errorf("without it: %v, want MASTER after dropping the adverts\n%s", st.State, n.log.String())
			}
		})
	}
}
