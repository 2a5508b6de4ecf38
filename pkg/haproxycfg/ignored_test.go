package haproxycfg

import (
	"sort"
	"strings"
	"testing"
)

// TestUnimplementedKeywordsWarn: every keyword haproxy 2.6 accepts that
// gproxy does not implement parses with a warning naming it, never an
// alert and never silently.
func TestUnimplementedKeywordsWarn(t *testing.T) {
	var cases []string
	implementedGlobal := map[string]bool{
		"daemon": true, "quiet": true, "maxconn": true, "user": true, "group": true, "uid": true,
		"gid": true, "chroot": true, "pidfile": true, "nbthread": true, "nbproc": true, "log": true, "stats": true,
	}
	for kw := range knownGlobal {
		if !implementedGlobal[kw] {
			cases = append(cases, "global\n "+kw+" x\n|"+kw)
		}
	}
	for kw := range proxyIgnored {
		cases = append(cases, "listen p\n "+kw+" x\n|"+kw)
	}
	for opt := range proxyOptionsIgnored {
		cases = append(cases, "listen p\n option "+opt+"\n|"+opt)
	}
	for opt, n := range serverIgnored {
		line := opt + strings.Repeat(" 1", n)
		cases = append(cases, "backend b\n server s 10.0.0.1:80 "+line+"\n|"+opt)
	}
	for opt, n := range bindOptions {
		if opt == "v4v6" || opt == "v6only" || opt == "transparent" {
			continue // read into the model (Bind)
		}
		line := opt + strings.Repeat(" 1", n)
		cases = append(cases, "frontend f\n bind :80 "+line+"\n|"+opt)
	}
	sort.Strings(cases)
	if len(cases) < 300 {
		t.Fatalf("only %d cases: keyword tables lost?", len(cases))
	}
	for _, c := range cases {
		src, kw, _ := strings.Cut(c, "|")
		_, diags, err := Parse("k.cfg", []byte(src), ParseOptions{})
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		warned := false
		for _, d := range diags {
			if d.Severity == Warning && d.Pos.Line == 2 && strings.Contains(d.Msg, kw) &&
				strings.Contains(d.Msg, "not implemented by gproxy") {
				warned = true
			}
		}
		if !warned {
			t.Errorf("%q: no warning naming %q: %v", src, kw, diags)
		}
	}
}
