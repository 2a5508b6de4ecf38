package keepalived_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationConfigTestRoutes: `keepalived -t` and `gkeepalived -t` on
// route, rule, static address and use_vmac lines, good and bad
// (testdata/routes-edge.conf): the same lines and the same exit code.
func TestIntegrationConfigTestRoutes(t *testing.T) {
	conf, err := filepath.Abs("testdata/routes-edge.conf")
	if err != nil {
		t.Fatal(err)
	}
	ka, gk := runBoth(t, "-t", "-f", conf)
	if ka.code != gk.code || strings.TrimSpace(ka.out) != strings.TrimSpace(gk.out) {
		t.Errorf("-t differs: keepalived exit %d, gkeepalived exit %d\nkeepalived:\n%s\ngkeepalived:\n%s", ka.code, gk.code, ka.out, gk.out)
	}
	if n := strings.Count(ka.out, "\n"); n < 30 {
		t.Errorf("keepalived printed %d lines, expected one per bad line:\n%s", n, ka.out)
	}
}
