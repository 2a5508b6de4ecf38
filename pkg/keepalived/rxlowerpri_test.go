package keepalived

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/vrrp"
	"hapair/pkg/vrrp/vrrptest"
	"hapair/pkg/vrrpfsm"
)

// TestNotifyMasterRxLowerPri: a MASTER that receives an advert of lower
// priority runs notify_master_rx_lower_pri (vrrp.c vrrp_state_master_rx).
func TestNotifyMasterRxLowerPri(t *testing.T) {
	src := "vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  priority 255\n" +
		"  virtual_ipaddress {\n    192.168.1.84/24\n  }\n  notify_master_rx_lower_pri \"/usr/bin/true rxlow\"\n}\n"
	opts := keepalivedcfg.DefaultOptions()
	opts.FS = nil
	cfg, diags, err := keepalivedcfg.Parse("keepalived.conf", []byte(src), opts)
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	link := vrrptest.NewLink()
	n := startSyncNodeWith(t, link, "lb1", 2, "192.168.1.80/24", cfg, "")
	waitFor(t, 5*time.Second, "MASTER", func() bool { st, ok := n.d.Status("VI_1"); return ok && st.State == vrrpfsm.Master })
	if slices.Contains(n.notified(), "rxlow") {
		t.Fatal("ran before any lower priority advert")
	}
	other := netip.MustParseAddr("192.168.1.81")
	b, err := (&vrrp.Encoder{Src: other}).Encode(&vrrp.Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 50, AdvertInt: time.Second,
		Addresses: []netip.Addr{netip.MustParseAddr("192.168.1.84")}}, vrrp.GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	link.Inject(b[0], other, vrrp.GroupIPv4)
	waitFor(t, 5*time.Second, "notify_master_rx_lower_pri ran", func() bool { return slices.Contains(n.notified(), "rxlow") })
}
