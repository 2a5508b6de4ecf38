package modelcheck

import (
	"strings"
	"testing"
)

// TestEveryModelFieldIsRead: no setting is parsed and then dropped. Each
// field of haproxycfg's and keepalivedcfg's models and of both daemons'
// parsed command lines is read somewhere in the runtime (the packages
// under pkg/ and cmd/ other than the parser's own files). A field nobody
// reads means a keyword or flag that -c/-t accepts and the daemon then
// ignores: implement it, or make the parser refuse it (fail closed).
func TestEveryModelFieldIsRead(t *testing.T) {
	models := []Model{
		{Pkg: "hapair/pkg/haproxycfg", Files: []string{"model.go", "model_logs.go", "model_compression.go", "model_rules.go", "model_check.go", "model_stick.go", "model_resolvers.go", "model_http.go", "model_peers.go", "model_tls.go", "errorfile.go", "kw_useserver.go", "sockaddr.go", "kw_env.go"},
			OwnReader: func(f string) bool {
				return f == "model.go" || f == "model_rules.go" || f == "model_check.go" || f == "model_resolvers.go"
			}},
		{Pkg: "hapair/pkg/keepalivedcfg", Files: []string{"model.go", "routes.go", "vmac.go", "bgp.go"},
			OwnReader: func(f string) bool { return f == "model.go" }},
		{Pkg: "hapair/pkg/gproxyd", Files: []string{"args.go"}, Types: []string{"Args"},
			OwnReader: func(f string) bool { return f != "args.go" }},
		{Pkg: "hapair/pkg/keepalived", Files: []string{"args.go"}, Types: []string{"Args"},
			OwnReader: func(f string) bool { return f != "args.go" }},
	}
	unread, err := Unread("../..", models, []string{"hapair/pkg/...", "hapair/cmd/..."})
	if err != nil {
		t.Fatal(err)
	}
	// Fields that exist for diagnostics or identity only, with the reason.
	allowed := map[string]string{
		"haproxycfg.Config.Files":           "the files read, for -c's summary and diagnostics",
		"keepalivedcfg.Config.Files":        "the files read, for -t's summary and diagnostics",
		"haproxycfg.Options.HTTPLog":        "compiled into Logging.Access, the format the runtime prints",
		"haproxycfg.Options.TCPLog":         "compiled into Logging.Access, the format the runtime prints",
		"haproxycfg.BalanceArgs.ExprText":   "compiled into BalanceArgs.Expr, which the runtime hashes",
		"haproxycfg.Cookie.Dynamic":         "applied while parsing: the servers' Cookie values are computed",
		"haproxycfg.Proxy.DynamicCookieKey": "applied while parsing: the servers' Cookie values are computed",
		"haproxycfg.ErrorMessage.Truncated": "for -c's warning; the runtime serves the cut content",
		"haproxycfg.Peers.Disabled":         "applied while parsing: a disabled section is not in Config.Peers",
		"haproxycfg.Peers.Local":            "the same name as Config.LocalPeer, which the runtime reads",
		"haproxycfg.Server.CheckProto":      "read through Server.CheckH2Clear, which pkg/health calls for each checked server",
	}
	var bad []string
	for _, f := range unread {
		if _, ok := allowed[f.String()]; ok || f.Name == "Pos" {
			continue // Pos: where a directive was read, for diagnostics only
		}
		bad = append(bad, f.String())
	}
	if len(bad) > 0 {
		t.Errorf("%d settings are parsed and never read by the runtime (implement or refuse them):\n\t%s",
			len(bad), strings.Join(bad, "\n\t"))
	}
}

// TestUnreadFinds: the checker is not blind: a field the runtime does not
// read is reported, and one it reads is not.
func TestUnreadFinds(t *testing.T) {
	unread, err := Unread("../..", []Model{{Pkg: "hapair/integration/modelcheck/testdata/model",
		Files: []string{"model.go"}, OwnReader: func(f string) bool { return f == "model.go" }}},
		[]string{"hapair/integration/modelcheck/testdata/model", "hapair/integration/modelcheck/testdata/runtime"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range unread {
		got = append(got, f.String())
	}
	want := "model.Cfg.Dropped model.Cfg.OnlyParsed"
	if strings.Join(got, " ") != want {
		t.Errorf("unread = %v, want %s", got, want)
	}
}
