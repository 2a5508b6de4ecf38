package keepalived

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track/tracktest"
	"hapair/pkg/vip/viptest"
	"hapair/pkg/vrrp/vrrptest"
	"hapair/pkg/vrrpfsm"
)

// parseConf parses a keepalived.conf for a daemon test.
func parseConf(t *testing.T, src string) *keepalivedcfg.Config {
	t.Helper()
	cfg, diags, err := keepalivedcfg.Parse("k.conf", []byte(src), keepalivedcfg.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, keepalivedcfg.FormatDiagnostics(diags))
	}
	return cfg
}

// startOwner runs cfg alone on an in-memory LAN, with fake interfaces
// links, and waits until instance name is MASTER.
func startOwner(t *testing.T, cfg *keepalivedcfg.Config, vips *viptest.Manager, name string, tune func(*Env)) *Daemon {
	t.Helper()
	log := zerolog.New(zerolog.SyncWriter(&lockedBuilder{b: &strings.Builder{}}))
	env := testEnv(vrrptest.NewLink(), 2, "10.0.0.1/24", vips, log, tracktest.NewStarter(), tracktest.NewStarter())
	if tune != nil {
		tune(env)
	}
	d := NewDaemon(env)
	if err := d.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	waitFor(t, 5*time.Second, name+" MASTER", func() bool {
		st, _ := d.Status(name)
		return st.State == vrrpfsm.Master
	})
	return d
}

// TestVIPPeer: `virtual_ipaddress { A peer P }` is added as a
// point-to-point address (as keepalived 2.2.7 shows it in a lab run:
// "inet 10.0.0.100 peer 10.0.0.200/32"); a prefix given with a peer is
// ignored, as keepalived ignores it.
func TestVIPPeer(t *testing.T) {
	cfg := parseConf(t, `vrrp_instance P {
    interface eth0
    virtual_router_id 5
    priority 255
    virtual_ipaddress {
        10.0.0.100 peer 10.0.0.200
        10.0.0.101/24 peer 10.0.0.201
        10.0.0.102/24
    }
}
`)
	vips := viptest.New("eth0")
	startOwner(t, cfg, vips, "P", nil)
	var got []string
	for _, op := range vips.Ops() {
		if op.Kind == "add" {
			got = append(got, op.VIP.String())
		}
	}
	want := []string{
		"10.0.0.100 peer 10.0.0.200/32 dev eth0",
		"10.0.0.101 peer 10.0.0.201/32 dev eth0",
		"10.0.0.102/24 dev eth0",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("VIPs added:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
