package runtimeapi_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/stats"
)

// TestShowStatFormatsRefused: the field descriptions, float values and
// resolvers domain of `show stat` and `show info`, which gproxy does not write, get
// an explicit refusal instead of the CSV or text form; typed and json, up
// and no-maint are answered (compared with haproxy's in pkg/gproxyd's
// TestIntegrationShowTypedHaproxy).
func TestShowStatFormatsRefused(t *testing.T) {
	cfg, _, err := haproxycfg.Parse("t.cfg", []byte(`
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen web
    bind 127.0.0.1:1
    server s1 127.0.0.1:2
`), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	cmds := &runtimeapi.Commands{Source: &stats.Source{Config: cfg, Engine: eng, PID: os.Getpid(), Start: time.Now()}}
	for _, c := range []string{"show stat web 1 -1 typed desc", "show stat desc",
		"show stat domain resolvers", "show stat typed desc", "show stat json desc", "show info float", "show info typed desc"} {
		out := cmds.Exec(strings.Fields(c), runtimeapi.LevelAdmin)
		if !strings.HasPrefix(out, "gproxy does not implement '") {
			t.Errorf("%s: %.60q", c, out)
		}
	}
	if out := cmds.Exec([]string{"show", "stat"}, runtimeapi.LevelAdmin); !strings.HasPrefix(out, "# pxname,") {
		t.Errorf("show stat: %.60q", out)
	}
	if out := cmds.Exec([]string{"show", "info"}, runtimeapi.LevelAdmin); !strings.HasPrefix(out, "Name: HAProxy") {
		t.Errorf("show info: %.60q", out)
	}
	for c, prefix := range map[string]string{
		"show stat typed":         "F.",
		"show stat json":          `[[{"objType":"Frontend",`,
		"show stat web 2 -1 json": `[[{"objType":"Backend",`,
		"show stat web 2 -1 up":   "# pxname,",
		"show stat no-maint":      "# pxname,",
		"show info typed":         "0.Name.1:POS:str:HAProxy\n",
		"show info json":          `[{"field":{"pos":0,"name":"Name"},"processNum":1,`,
	} {
		if out := cmds.Exec(strings.Fields(c), runtimeapi.LevelAdmin); !strings.HasPrefix(out, prefix) {
			t.Errorf("%s: %.60q", c, out)
		}
	}
}
