package scaleout

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/keepalivedcfg"
)

var update = flag.Bool("update", false, "rewrite conf/ecmp from the lab's generators")

// TestConfExamples keeps conf/ecmp the configuration the ECMP lab runs
// (lb1's; lb2 and lb3 differ in router_id and address) and checks that our
// parsers take every file of conf/ecmp, conf/active-active and conf/peers without a
// diagnostic. `go test -run TestConfExamples -update` rewrites conf/ecmp.
func TestConfExamples(t *testing.T) {
	files := map[string]string{
		"frr.conf":            "! The ECMP lab's router (FRR 8.4): eBGP with three balancers, ECMP over\n! up to 8 paths. Run with net.ipv4.fib_multipath_hash_policy=1 (per-flow\n! hashing on addresses and ports) and IP forwarding on.\n" + FRRConf(),
		"haproxy.cfg":         "# The ECMP balancers' haproxy.cfg (the same on each): the anycast address\n# is on lo; balance source over the same servers picks the same server for\n# a client whichever balancer the router sends it to.\n" + GproxyConf(),
		"keepalived-lb1.conf": "# gkeepalived on balancer lb1 of the ECMP shape: no VRRP, only the bgp block\n# (our extension, see README \"Scaling out\"). lb2 and lb3 change router_id\n# and the bgp router_id to their own.\n" + KeepalivedConf(0, true, false),
	}
	for name, want := range files {
		path := filepath.Join("../../conf/ecmp", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s differs from what the lab runs; run go test ./integration/scaleout -run TestConfExamples -update\n got:\n%s\nwant:\n%s", path, got, want)
		}
	}
	kas, _ := filepath.Glob("../../conf/*/keepalived*.conf")
	cfgs, _ := filepath.Glob("../../conf/*/haproxy*.cfg")
	if len(kas) < 3 || len(cfgs) < 2 {
		t.Fatalf("examples found: %v %v", kas, cfgs)
	}
	for _, path := range kas {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, diags, err := keepalivedcfg.Parse(path, src, keepalivedcfg.Options{ConfigTest: true})
		if err != nil || len(diags) > 0 {
			t.Errorf("%s: %v %v", path, err, diags)
		}
	}
	for _, path := range cfgs {
		if _, diags, err := haproxycfg.ParseFiles([]string{path}, haproxycfg.ParseOptions{}); err != nil || len(diags) > 0 {
			t.Errorf("%s: %v %v", path, err, diags)
		}
	}
}

// TestConfDaemons runs each daemon's own check on the shipped files of
// the shapes plain haproxy and keepalived run (conf/active-active and
// conf/peers; conf/ecmp's bgp block is our extension): `gproxy -c` and
// Debian's `haproxy -c` on every haproxy*.cfg, `gkeepalived -t` and
// keepalived 2.2.7's `keepalived -t` on every keepalived*.conf. Each must
// exit 0.
func TestConfDaemons(t *testing.T) {
	for _, bin := range []string{"/usr/sbin/haproxy", "/usr/sbin/keepalived"} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("needs Debian's %s (integration/install-deps.sh): %v", bin, err)
		}
	}
	bins := buildOurs(t)
	var n int
	for _, dir := range []string{"../../conf/active-active", "../../conf/peers"} {
		cfgs, _ := filepath.Glob(filepath.Join(dir, "haproxy*.cfg"))
		kas, _ := filepath.Glob(filepath.Join(dir, "keepalived*.conf"))
		if len(cfgs) == 0 || len(kas) == 0 {
			t.Fatalf("%s: no haproxy*.cfg or keepalived*.conf", dir)
		}
		for _, cfg := range cfgs {
			for _, bin := range []string{filepath.Join(bins, "gproxy"), "/usr/sbin/haproxy"} {
				exitsZero(t, exec.Command(bin, "-c", "-f", cfg))
				n++
			}
		}
		for _, ka := range kas {
			for _, bin := range []string{filepath.Join(bins, "gkeepalived"), "/usr/sbin/keepalived"} {
				exitsZero(t, exec.Command(bin, "-t", "-f", ka))
				n++
			}
		}
	}
	t.Logf("%d checks passed", n)
}

func exitsZero(t *testing.T, c *exec.Cmd) {
	t.Helper()
	out, err := c.CombinedOutput()
	if err != nil {
		t.Errorf("%s: %v\n%s", c, err, out)
	}
}
