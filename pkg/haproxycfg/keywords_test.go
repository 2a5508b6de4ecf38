package haproxycfg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// example is a minimal configuration using keyword k, and the line it is on.
func example(k Keyword) (string, int) {
	name := strings.ReplaceAll(k.Name, "(*)", "(txn.x)")
	vals := strings.Repeat(" 1", k.Args)
	switch k.Context {
	case CtxSection:
		return name + " x\n", 1
	case CtxGlobal:
		return "global\n " + name + " 1\n", 2
	case CtxGlobalStats:
		if name == "socket" {
			return "global\n stats socket /run/x.sock\n", 2
		}
		return "global\n stats " + name + " 1\n", 2
	case CtxProxy:
		sub := map[string]string{"http-response": " deny", "http-after-response": " set-status 200",
			"tcp-request": " content reject", "tcp-response": " content reject", "tcp-check": " connect"}[name]
		if sub == "" {
			sub = " 1"
		}
		return "listen p\n " + name + sub + "\n", 2
	case CtxOption:
		if name == "abortonclose" { // works in mode http only
			return "listen p\n mode http\n option " + name + "\n", 3
		}
		return "listen p\n option " + name + "\n", 2
	case CtxTimeout:
		return "listen p\n timeout " + name + " 1s\n", 2
	case CtxStats:
		return "listen p\n mode http\n stats " + name + " 1\n", 3
	case CtxBind:
		return "frontend f\n bind :80 " + name + vals + "\n", 2
	case CtxServer:
		return "backend b\n server s 10.0.0.1:80 " + name + vals + "\n", 2
	case CtxHTTPRequest:
		if name == "use-service" {
			name += " prometheus-exporter"
		}
		return "frontend f\n mode http\n http-request " + name + "\n", 3
	case CtxHTTPResponse:
		return "backend b\n mode http\n http-response " + name + "\n", 3
	case CtxHTTPAfterResponse:
		return "backend b\n mode http\n http-after-response " + name + "\n", 3
	case CtxTCPRequest:
		return "frontend f\n tcp-request " + name + "\n", 2
	case CtxTCPResponse:
		return "backend b\n tcp-response " + name + "\n", 2
	case CtxHTTPCheck:
		if name == "expect" {
			name += " status 200"
		}
		return "backend b\n http-check " + name + "\n", 2
	case CtxTCPCheck:
		return "backend b\n tcp-check " + name + "\n", 2
	case CtxLogTarget:
		target := map[string]string{"udp": "127.0.0.1:514", "unix": "/dev/log", "ring@": "ring@r",
			"fd@": "fd@1", "abns@": "abns@x"}[name]
		if target == "" {
			target = name
		}
		return "global\n log " + target + " local0\n", 2
	case CtxLogOption:
		val := map[string]string{"len": "100", "format": "rfc5424", "sample": "1:2"}[name]
		return "global\n log 127.0.0.1 " + name + " " + val + " local0\n", 2
	case CtxAddress:
		if name == "uxdg@" {
			return "global\n log uxdg@/dev/log local0\n", 2
		}
		if strings.HasPrefix(name, "udp") {
			return "global\n log " + name + "127.0.0.1:514 local0\n", 2
		}
		addr := name + "127.0.0.1:80"
		switch name {
		case "ipv6@", "tcp6@":
			addr = name + "[::1]:80"
		case "/", "unix@", "uxst@":
			addr = strings.TrimSuffix(name, "/") + "/run/x.sock"
		case "abns@":
			addr = name + "x"
		case "fd@", "sockpair@":
			addr = name + "3"
		}
		return "frontend f\n bind " + addr + "\n", 2
	}
	panic("no example for context " + k.Context.String())
}

// TestKeywordTable walks the table: every Refused keyword, used in a
// minimal configuration, is an alert at its line naming it and saying
// gproxy does not implement it (and Parse fails); every Cosmetic one a
// warning at its line and no alert; every Works one neither.
func TestKeywordTable(t *testing.T) {
	counts := map[Context]map[Class]int{}
	for _, k := range Keywords() {
		if counts[k.Context] == nil {
			counts[k.Context] = map[Class]int{}
		}
		counts[k.Context][k.Class]++
		src, line := example(k)
		base := strings.TrimSuffix(k.Name, "(*)")
		t.Run(k.Context.String()+"/"+k.Name, func(t *testing.T) {
			_, diags, err := Parse("k.cfg", []byte(src), ParseOptions{})
			var all []string
			var alertAt, warnAt, alerts, notImpl bool
			for _, d := range diags {
				all = append(all, d.FormatWithPID(1))
				named := strings.Contains(d.Msg, base)
				ni := strings.Contains(d.Msg, "not implemented by gproxy")
				notImpl = notImpl || ni
				if d.Severity == Alert {
					alerts = true
					if d.Pos.Line == line && (named && ni || k.Class == Removed) {
						alertAt = true
					}
				}
				if d.Severity == Warning && d.Pos.Line == line && named && strings.Contains(d.Msg, "not implemented by gproxy and is ignored") {
					warnAt = true
				}
			}
			switch k.Class {
			case Refused, Removed:
				if !alertAt || !errors.Is(err, ErrInvalid) {
					t.Errorf("%q: want an alert at line %d naming %q (err %v); got:\n%s", src, line, base, err, strings.Join(all, "\n"))
				}
			case Cosmetic:
				if !warnAt || alerts || err != nil {
					t.Errorf("%q: want a warning at line %d naming %q and no alert; got:\n%s", src, line, base, strings.Join(all, "\n"))
				}
			case Works:
				if notImpl {
					t.Errorf("%q: an implemented keyword is reported as not implemented:\n%s", src, strings.Join(all, "\n"))
				}
			default:
				t.Errorf("%s %s: no class", k.Context, k.Name)
			}
			if k.Class == Refused && k.Group == grpNone {
				t.Errorf("%s %s: refused without a feature group", k.Context, k.Name)
			}
		})
	}
	var lines []string
	for ctx := Context(0); ctx < numContexts; ctx++ {
		c := counts[ctx]
		lines = append(lines, fmt.Sprintf("%-20s works %3d  cosmetic %3d  refused %3d  removed %d", ctx, c[Works], c[Cosmetic], c[Refused], c[Removed]))
	}
	t.Logf("keyword classes:\n%s", strings.Join(lines, "\n"))
}

// sections26 are the section keywords haproxy 2.6.12 registers
// (REGISTER_CONFIG_SECTION; `haproxy -c` accepts each as a section).
var sections26 = []string{"global", "defaults", "listen", "frontend", "backend", "userlist", "peers",
	"mailers", "namespace_list", "resolvers", "program", "http-errors", "ring", "cache", "fcgi-app", "log-forward"}

// TestKeywordTableComplete: the table knows every keyword haproxy 2.6
// knows (its suggestion lists, its action lists, its sections), and no
// other, so a keyword cannot fall between the table and the parser.
func TestKeywordTableComplete(t *testing.T) {
	type check struct {
		ctx       Context
		haproxy   []string
		notKw     []string // words haproxy suggests that are not keywords here
		extraKw   []string // 2.6.12 keywords missing from haproxy's suggestion list
		exactBoth bool     // the table must hold nothing else
	}
	actions := func(list string) []string {
		var out []string
		for _, a := range strings.Split(list, ", ") {
			out = append(out, strings.Trim(a, "'"))
		}
		return out
	}
	sectionWords := map[string]bool{}
	for _, s := range sections26 {
		sectionWords[s] = true
	}
	checks := []check{
		{ctx: CtxSection, haproxy: sections26, exactBoth: true},
		// Checked with haproxy 2.6.12 -c: each is accepted in global.
		{ctx: CtxGlobal, haproxy: suggestGlobal, notKw: []string{"global", "defaults", "listen", "frontend", "backend", "peers", "resolvers"},
			extraKw: []string{"h2-workaround-bogus-websocket-clients", "expose-experimental-directives", "fd-hard-limit"}, exactBoth: true},
		// redisp and redispatch: haproxy 2.6.12 names them in its
		// "not supported anymore" alert.
		{ctx: CtxProxy, haproxy: suggestListen, notKw: []string{"listen", "frontend", "backend", "defaults"},
			extraKw: []string{"redisp", "redispatch"}, exactBoth: true},
		// "original-to" is a misspelling in haproxy's own list; haproxy
		// 2.6.12 refuses it ("unknown option").
		{ctx: CtxOption, haproxy: suggestOption, notKw: []string{"original-to"},
			extraKw: []string{"originalto", "http-restrict-req-hdr-names", "httpslog"}, exactBoth: true},
		// Values of server options that haproxy adds to its candidates.
		{ctx: CtxServer, haproxy: suggestServer, notKw: []string{"ipv4", "ipv6", "legacy", "octet-count", "fail-check", "sudden-death", "mark-down"}, exactBoth: true},
		{ctx: CtxBind, haproxy: suggestBind, exactBoth: true},
		{ctx: CtxHTTPRequest, haproxy: actions(httpRequestActionList), exactBoth: true},
		{ctx: CtxHTTPResponse, haproxy: actions(httpResponseActionList), exactBoth: true},
		{ctx: CtxHTTPAfterResponse, haproxy: actions(httpAfterResponseActionList), exactBoth: true},
	}
	for _, c := range checks {
		want := map[string]bool{}
		skip := map[string]bool{}
		for _, w := range c.notKw {
			skip[w] = true
		}
		for _, w := range append(append([]string{}, c.haproxy...), c.extraKw...) {
			if !skip[w] {
				want[w] = true
			}
		}
		for w := range want {
			if _, ok := lookup(c.ctx, w); !ok {
				t.Errorf("%s keyword %q (haproxy 2.6) is missing from the keyword table", c.ctx, w)
			}
		}
		if c.exactBoth {
			for _, n := range names(c.ctx) {
				if !want[n] {
					t.Errorf("%s keyword %q in the table is not a haproxy 2.6 keyword", c.ctx, n)
				}
			}
		}
	}
}

// TestKeywordTableConsistent: each Refused group has a name for the
// messages and the README, and arities are only where values follow.
func TestKeywordTableConsistent(t *testing.T) {
	for _, k := range Keywords() {
		if k.Args != 0 && k.Context != CtxBind && k.Context != CtxServer {
			t.Errorf("%s %s: an arity outside bind and server options", k.Context, k.Name)
		}
		if k.Class != Refused && k.Group != grpNone {
			t.Errorf("%s %s: a feature group on a %s keyword", k.Context, k.Name, k.Class)
		}
	}
	groups := RefusedGroups()
	if !sort.StringsAreSorted(groups) || len(groups) < 10 {
		t.Errorf("RefusedGroups() = %v", groups)
	}
}

// TestKeywordTableMatchesHaproxy: every configuration keyword the
// installed haproxy 2.6 registers (`haproxy -dKcfg`: global and proxy
// keywords, bind and server options, options, HTTP rule actions) is in
// the table.
func TestKeywordTableMatchesHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	// haproxy exits 2 after the dump.
	out, _ := exec.Command(haproxyBin, "-dKcfg", "-q", "-c", "-f", "/dev/null").CombinedOutput()
	section := ""
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			section = strings.TrimSpace(line)
			continue
		}
		f := strings.Fields(line)
		ctx, name := CtxProxy, f[0]
		switch {
		case section == "global":
			ctx = CtxGlobal
		case section != "listen":
			continue // crt-list options: TLS, refused with crt-list itself
		case len(f) == 1:
			// a proxy keyword
		case f[0] == "bind" && f[2] == "ssl":
			ctx, name = CtxBind, f[3]
		case f[0] == "bind":
			ctx, name = CtxBind, f[2]
		case f[0] == "server":
			ctx, name = CtxServer, f[3]
		case f[0] == "option":
			ctx, name = CtxOption, f[1]
		case f[0] == "http-request" || f[0] == "http-response" || f[0] == "http-after-response":
			ctx = map[string]Context{"http-request": CtxHTTPRequest, "http-response": CtxHTTPResponse,
				"http-after-response": CtxHTTPAfterResponse}[f[0]]
			name = f[1]
		case f[0] == "tcp-request" || f[0] == "tcp-response":
			ctx = map[string]Context{"tcp-request": CtxTCPRequest, "tcp-response": CtxTCPResponse}[f[0]]
			name = f[1] // the rule set; its actions are refused with it
		}
		name = strings.TrimSuffix(name, "*")
		if strings.HasSuffix(f[len(f)-1], "*") && (ctx == CtxHTTPRequest || ctx == CtxHTTPResponse || ctx == CtxHTTPAfterResponse) {
			name += "(*)"
		}
		n++
		if _, ok := lookup(ctx, name); !ok {
			t.Errorf("haproxy registers %s keyword %q (%q), missing from the table", ctx, name, strings.TrimSpace(line))
		}
	}
	if n < 300 {
		t.Fatalf("only %d keywords read from haproxy -dKcfg:\n%s", n, out)
	}
}

// TestAbortOnCloseModeTCP: `option abortonclose` works in mode http; a
// mode tcp backend that gets it (here from defaults) is refused at the
// option's line, an HTTP one is not.
func TestAbortOnCloseModeTCP(t *testing.T) {
	src := "defaults\n option abortonclose\nlisten t\n bind :8\nlisten h\n mode http\n bind :9\n"
	_, diags, err := Parse("a.cfg", []byte(src), ParseOptions{})
	var alerts []string
	for _, d := range diags {
		if d.Severity == Alert {
			alerts = append(alerts, d.FormatWithPID(1))
		}
	}
	want := "[ALERT]    (1) : config : parsing [a.cfg:2] : 'option abortonclose' in mode tcp (proxy 't') is not implemented by gproxy; it works in mode http."
	if !errors.Is(err, ErrInvalid) || len(alerts) != 1 || alerts[0] != want {
		t.Errorf("err %v, alerts:\n%s\nwant:\n%s", err, strings.Join(alerts, "\n"), want)
	}
}
