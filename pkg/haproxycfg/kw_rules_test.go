package haproxycfg

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ruleErrorLines are rule lines haproxy 2.6 refuses, each alone in a
// frontend; TestRuleMessagesMatchHaproxy runs them through haproxy -c
// and the parser and wants the same alerts.
var ruleErrorLines = []string{
	"http-request set-timeout server 5s",
	"http-request set-timeout server",
	"http-request set-src-port",
	"http-request set-dst",
	"http-request silent-drop foo",
	"http-request set-dst-port foo(",
	"http-request set-src-port foo(",
	"http-request set-src-port int(1) bar",
	"http-request deny deny_status 999",
	"http-request deny deny_status",
	"http-request deny foo",
	"http-request set-header X",
	"http-request add-header X a b",
	"http-request del-header",
	"http-request replace-header X",
	"http-request redirect",
	"http-request redirect foo /x",
	"http-request redirect location",
	"http-request redirect location /x code 300",
	"http-request return status 999",
	"http-request return string hello",
	"http-request return status 204 content-type text/plain string hello",
	"http-request return status 100",
	"http-request return foo",
	"http-request return file /nonexistent/file",
	"http-request auth realm",
	"http-request set-path",
	"http-request set-var(txn.x)",
	"http-request set-var(foo) str(a)",
	"http-request unset-var(txn.x) foo",
	"http-request set-method",
	"http-response set-header X %[path]",
	"http-response set-var(txn.x) path",
	`http-response set-var-fmt(txn.y) "%[url_param(x)]"`,
	"http-after-response set-header X %[req.hdr(host)]",
	"http-request set-header X %[res.hdr(x)]",
	"http-request redirect location %[res.hdr(x)]",
	"http-request set-var-fmt(txn.x) a b",
	"http-request set-src",
	"http-request del-header X -m foo",
	"http-request deny deny_status 301",
	"http-response set-status",
	"http-response set-status 99",
	"http-response set-status 200 reason OK extra",
	"http-after-response deny",
	"http-response redirect prefix /x",
	"http-response redirect scheme https",
	"http-response redirect location %[path]",
	"redirect",
	"redirect location",
	"redirect location /x code 999",
	"monitor-uri",
	"monitor fail",
	"tcp-request connection",
	"tcp-request connection foo",
	"tcp-request content accept foo",
	"tcp-request inspect-delay",
	"tcp-request content set-var(txn.x)",
	"tcp-request connection set-var(txn.x) req.hdr(host)",
	"tcp-request content set-var(foo) str(a)",
	"tcp-request session set-var-fmt(sess.x) %[req.hdr(host)]",
	"tcp-request content unset-var(txn.x) foo",
	"tcp-request content set-var(txn.x) str(a) foo",
	"errorloc",
	"errorloc303 999 /x",
	"errorloc302 503",
	"use_backend",
	"use_backend be foo",
	"tcp-response content accept",
	"tcp-response inspect-delay 1s",
	"http-request normalize-uri path-merge-slashes", // no expose-experimental-directives
	"EXP http-request normalize-uri bogus",
	"EXP http-request normalize-uri",
	"EXP http-request normalize-uri path-strip-dotdot bad",
	"EXP http-request normalize-uri percent-to-uppercase loose",
	"EXP http-request normalize-uri percent-decode-unreserved strict extra",
	"EXP http-request normalize-uri path-strip-dot extra",
	"option http-restrict-req-hdr-names",
	"option http-restrict-req-hdr-names bogus",
	"option http-restrict-req-hdr-names delete extra",
	"no option http-restrict-req-hdr-names",
	"bind 127.0.0.1:3 name",
	"http-request set-mark",
	"http-request set-mark 0xzz",
	"http-request set-tos 12a",
	"http-response set-mark 1x",
}

// backendRuleErrorLines are the same, each alone in a mode tcp backend.
var backendRuleErrorLines = []string{
	"http-request set-timeout client 3s",
	"http-request set-timeout server 0",
	"http-request set-timeout server 5x",
	"http-request set-timeout tunnel abc",
	"http-request set-timeout server 99999999999",
	"http-request set-timeout server 1.5s",
	"http-request set-timeout server 5s extra",
	"http-request set-timeout server 1m30s if { always_false } foo",
	"tcp-response",
	"tcp-response foo",
	"tcp-response content foo",
	"tcp-response content accept foo",
	"tcp-response content close if { res.nope }",
	"tcp-response inspect-delay",
	"tcp-response inspect-delay 1x",
	"tcp-response inspect-delay 99999999999",
	"tcp-response content track-sc0 src",
	"tcp-response content sc-inc-gpc0(5)",
	"tcp-response content set-var(txn.x) req.hdr(host)",
	"tcp-response content unset-var(txn.x) foo",
}

func TestRuleMessagesMatchHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	dir := t.TempDir()
	pid := regexp.MustCompile(`\(\d+\) :`)
	lines := append(append([]string(nil), ruleErrorLines...), backendRuleErrorLines...)
	for i, line := range lines {
		src := "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n" +
			"frontend fe\n    bind 127.0.0.1:1\n    " + line + "\n    default_backend be\nbackend be\n    server s 127.0.0.1:2\n"
		if l, ok := strings.CutPrefix(line, "EXP "); ok {
			// normalize-uri is experimental: allowed by the global section.
			src = "global\n    expose-experimental-directives\n" + strings.Replace(src, line, l, 1)
		}
		if i >= len(ruleErrorLines) {
			src = "defaults\n    mode tcp\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n" +
				"frontend fe\n    bind 127.0.0.1:1\n    default_backend be\nbackend be\n    " + line + "\n    server s 127.0.0.1:2\n"
		}
		name := filepath.Join(dir, "r.cfg")
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(haproxyBin, "-c", "-f", name).CombinedOutput()
		var want []string
		for _, l := range strings.Split(pid.ReplaceAllString(string(out), "(1) :"), "\n") {
			// "Fatal errors found" is the daemon's summary, not the parser's.
			if (strings.HasPrefix(l, "[ALERT]") || strings.HasPrefix(l, "[WARNING]")) && !strings.Contains(l, "Fatal errors found") {
				want = append(want, l)
			}
		}
		_, diags, err := ParseFiles([]string{name}, ParseOptions{})
		var got []string
		for _, d := range diags {
			for _, l := range strings.Split(d.FormatWithPID(1), "\n") {
				if strings.HasPrefix(l, "[") {
					got = append(got, l)
				}
			}
		}
		if err == nil {
			t.Errorf("%d %q: the parse succeeds", i, line)
		}
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("%q:\nhaproxy:\n%s\ngproxy:\n%s", line, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
}

// TestResponseReturnHdrReadingResponse: an http-response return or deny
// whose hdr value reads the response is refused (haproxy 2.6.12 accepts
// it but drops the reply: the client gets a bare close, measured with
// status, res.hdr, res.hdr_cnt and res.ver); other values are served.
func TestResponseReturnHdrReadingResponse(t *testing.T) {
	for _, tc := range []struct {
		line    string
		refused bool
	}{
		{`http-response return status 201 hdr X-R "%[status]"`, true},
		{`http-response return status 201 hdr X-R "x%[res.hdr(x-a)]"`, true},
		{`http-response deny deny_status 502 hdr X-R "%[res.ver]"`, true},
		{`http-response return status 201 hdr X-R "%[var(txn.p)]" hdr X-S "%ST"`, false},
		{`http-response return status 201 lf-string "%[status]"`, false},
		{`http-request return status 201 hdr X-R "%[req.hdr(x-a)]"`, false},
	} {
		src := "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n" +
			"frontend fe\n    bind 127.0.0.1:1\n    " + tc.line + "\n    default_backend be\nbackend be\n    server s 127.0.0.1:2\n"
		_, diags, err := Parse("r.cfg", []byte(src), ParseOptions{})
		msg := fmt.Sprint(err, diags)
		if refused := strings.Contains(msg, "reading the response on 'http-response' is not implemented by gproxy"); refused != tc.refused {
			t.Errorf("%s: refused %v, want %v: %s", tc.line, refused, tc.refused, msg)
		}
		if tc.refused && !strings.Contains(msg, "r.cfg:8") {
			t.Errorf("%s: the alert names no file:line: %s", tc.line, msg)
		}
	}
}
