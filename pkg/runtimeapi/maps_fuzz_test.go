package runtimeapi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/sample"
	"hapair/pkg/stats"
)

// FuzzMapCommands feeds arbitrary map and ACL commands (with and without
// a payload) to references of every kind of match: no input may panic,
// every answer ends a line, and the map converters keep answering.
func FuzzMapCommands(f *testing.F) {
	for _, s := range []string{
		"add map #0 /k v", "add acl #1 10.0.0.0/8", "add acl #2 ^a(b", "add map @1 #0 /k v",
		"set map #0 /foo x", "set map #0 #0x55d0c0de0090 y", "del map #0 #0x1", "del acl #3 5:",
		"prepare map #0", "commit map @1 #0", "commit map @4294967295 #0", "clear map @2 #0",
		"show map @1 #0", "get map #0 /foo", "get acl #1 ::1", "get acl #4 1.2", "show acl", "show map",
		"add map #0 <<\n/a 1\n/b\n", "add acl #2 <<\nx y\n\n", "add map #5 k 1.2.3.4", "add map #6 3 4",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "a.map"), []byte("/foo bar\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ip.map"), []byte("10.0.0.0/8 1.2.3.4\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "i.map"), []byte("3 4\n"), 0o644)
	cfg, _, err := haproxycfg.Parse("fuzz.cfg", []byte(`
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend web
    bind 127.0.0.1:1
    http-request set-var(txn.a) path,map(`+dir+`/a.map)
    acl ip src 10.0.0.0/8
    acl re path_reg ^/x
    acl v req.ver -m int 1:2
    acl d hdr(host) -i -m dom example.com
    http-request set-var(txn.b) src,map_ip_ip(`+dir+`/ip.map)
    http-request set-var(txn.c) req.hdr_cnt(x),map_int_int(`+dir+`/i.map)
    http-request deny if ip re v d
`), haproxycfg.ParseOptions{ReadFile: os.ReadFile})
	if err != nil {
		f.Fatal(err)
	}
	eng, err := proxy.New(cfg, proxy.Options{Logger: zerolog.Nop()})
	if err != nil {
		f.Fatal(err)
	}
	cmds := &runtimeapi.Commands{Source: &stats.Source{Config: cfg, Engine: eng}}
	conv, err := sample.ParseExpr("str(/foo),map("+dir+"/a.map,none)", &sample.ParseOptions{ReadFile: os.ReadFile, Refs: cfg.PatRefs})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		line, payload, hasPayload := strings.Cut(in, "<<\n")
		words, err := runtimeapi.SplitLine(line)
		if err != nil {
			return
		}
		for _, w := range words {
			var out string
			if hasPayload {
				p := payload
				out = cmds.ExecPayload(w, &p, runtimeapi.LevelAdmin)
			} else {
				out = cmds.Exec(w, runtimeapi.LevelAdmin)
			}
			if out != "" && !strings.HasSuffix(out, "\n") && !strings.HasPrefix(out, "Empty weight") {
				t.Fatalf("%q: answer %q does not end a line", w, out)
			}
		}
		if _, ok := conv.Eval(&sample.Txn{}); !ok {
			t.Fatalf("the map converter gives nothing, not even its default")
		}
	})
}
