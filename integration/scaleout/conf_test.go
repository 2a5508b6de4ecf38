package scaleout

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/keepalivedcfg"
)

var update = flag.Bool("update", false, "rewrite conf/ecmp from the lab's generators")

// TestConfExamples keeps conf/ecmp the configuration the ECMP lab runs
// (lb1's; lb2 and lb3 differ in router_id and address) and checks that our
// parsers take every file of conf/ecmp and conf/active-active without a
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
	cfgs, _ := filepath.Glob("../../conf/*/haproxy.cfg")
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
