package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoBGPLinked: gkeepalived does not link GoBGP (nor pkg/bgp): the bgp
// block's speaker is the gkeepalived-bgp executable, so that every user
// does not pay GoBGP's ~20 MB of binary and ~9 MiB of RSS.
func TestNoBGPLinked(t *testing.T) {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), out)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/osrg/gobgp") || p == "hapair/pkg/bgp" {
			t.Errorf("gkeepalived links %s", p)
		}
	}
}
