package keepalived_test

import (
	"context"
	"testing"
	"time"
)

func TestZZNft(t *testing.T) {
	for _, c := range []struct {
		name string
		v6   bool
	}{{"v4", false}, {"v6", true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, kd, kd, false)
			if c.v6 {
				p.lb1.vip, p.lb2.vip = vip6, vip6
				p.start(vmac6Conf("MASTER", 150, ""), vmac6Conf("BACKUP", 100, ""), time.Second)
			} else {
				p.start(vmacConf("MASTER", 150, ""), vmacConf("BACKUP", 100, ""), time.Second)
			}
			time.Sleep(6 * time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := p.lb2.h.Run(ctx, "nft", "list", "ruleset")
			t.Logf("%s backup nft: %v\n%s", c.name, err, out)
			out, _ = p.lb2.h.Run(ctx, "ip", "-o", "link")
			t.Logf("%s", out)
			p.stop(p.lb2)
			p.waitExited(p.lb2)
			out, err = p.lb2.h.Run(ctx, "nft", "list", "ruleset")
			t.Logf("%s after stop nft: %v\n%s", c.name, err, out)
		})
	}
}
