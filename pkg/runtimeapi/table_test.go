package runtimeapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"hapair/pkg/health/healthtest"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/stats"
)

// The table commands reach the engine's tables; below level operator the
// contents are neither shown nor changed, as haproxy does.
func TestTableCommands(t *testing.T) {
	cfgText := fmt.Sprintf(`
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    stick-table type ip size 10 store gpc0,http_req_cnt
    server s1 127.0.0.1:9
`, healthtest.FreePort(t))
	cfg, eng := healthtest.Engine(t, cfgText, zerolog.Nop(), nil)
	c := &runtimeapi.Commands{Source: &stats.Source{Config: cfg, Engine: eng}}
	exec := func(level runtimeapi.Level, line string) string { return c.Exec(strings.Fields(line), level) }

	if got := exec(runtimeapi.LevelUser, "set table web key 10.0.0.1 data.gpc0 3"); got != "" {
		t.Errorf("set at level user: %q", got)
	}
	if got := exec(runtimeapi.LevelUser, "show table web"); got != "# table: web, type: ip, size:10, used:0\n# contents not dumped due to insufficient privileges\n" {
		t.Errorf("show at level user: %q", got)
	}
	if got := exec(runtimeapi.LevelOperator, "set table web key 10.0.0.1 data.gpc0 3"); got != "" {
		t.Errorf("set: %q", got)
	}
	got := exec(runtimeapi.LevelAdmin, "show table web")
	if !strings.HasPrefix(got, "# table: web, type: ip, size:10, used:1\n0x") || !strings.HasSuffix(got, ": key=10.0.0.1 use=0 exp=0 gpc0=3 http_req_cnt=0\n") {
		t.Errorf("show: %q", got)
	}
	if got := exec(runtimeapi.LevelAdmin, "show table"); got != "# table: web, type: ip, size:10, used:1\n" {
		t.Errorf("show table: %q", got)
	}
	if got := exec(runtimeapi.LevelAdmin, "show table nope"); got != "No such table\n" {
		t.Errorf("unknown table: %q", got)
	}
	if got := exec(runtimeapi.LevelAdmin, "clear table web key 10.0.0.1"); got != "" {
		t.Errorf("clear: %q", got)
	}
	if got := exec(runtimeapi.LevelAdmin, "show table web"); got != "# table: web, type: ip, size:10, used:0\n" {
		t.Errorf("after clear: %q", got)
	}
	if h := runtimeapi.Help(runtimeapi.LevelUser); !strings.Contains(h, "  show table <table> [<filter>]*          : report table usage stats or dump this table's contents (filter: data/key)\n") {
		t.Errorf("help lacks show table:\n%s", h)
	}
}
