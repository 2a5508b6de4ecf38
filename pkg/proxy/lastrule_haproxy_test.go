package proxy

import (
	"strings"
	"testing"
)

// last_rule_file and last_rule_line (reg-test log/last_rule, less its
// tcp-response rules, refused in mode http) through haproxy 2.6.12 and
// gproxy: the rule that ended the tcp-request content, http-request or
// http-response rules, as http-after-response sees it; "-" when none
// did. (The log-format path: pkg/gproxyd's access-log tests.)
const lastRuleConfig = `global
    log 127.0.0.1:LOGPORT local0
defaults
    log global
    mode http
    option http-server-close
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout tarpit 100ms
frontend fe
    bind FRONT
    http-after-response set-header x-lr "lr=%[last_rule_line] file=%[last_rule_file,length,bool]"
    default_backend be
backend be
    tcp-request content set-var(txn.path) path
    tcp-request content accept if { var(txn.path) -m beg /trqacc1 /hrqrej1 }
    tcp-request content reject if { var(txn.path) -m beg /trqrej1 }
    http-request set-var(txn.bar) var(txn.path) if { path_beg /hrqvar }
    http-request allow if { var(txn.path) -m beg /hrqacc1 /hrsrej2 }
    http-request redirect location / if { var(txn.path) -m beg /hrqred1 }
    http-request deny if { var(txn.path) -m beg /hrqrej1 }
    http-request deny if { var(txn.path) -m beg /hrqrej2 }
    http-request return status 202 if { var(txn.path) -m beg /hrqret }
    http-request auth if { var(txn.path) -m beg /hrqauth }
    http-request tarpit deny_status 429 if { var(txn.path) -m beg /hrqtarpit }
    http-response return status 203 if { var(txn.path) -m beg /hrsret }
    http-response allow if { var(txn.path) -m beg /hrsacc1 }
    http-response redirect location / if { var(txn.path) -m beg /hrsred1 }
    http-response deny if { var(txn.path) -m beg /hrsrej2 }
    http-response deny if { var(txn.path) -m beg /hrsrej3 }
    server s1 BACKEND
`

func TestIntegrationLastRuleHaproxy(t *testing.T) {
	paths := []string{"/trqacc1", "/trqrej1", "/hrqvar", "/hrqacc1", "/hrqred1", "/hrqrej1", "/hrqrej2", "/hrqret", "/hrqauth", "/hrqtarpit", "/hrsret",
		"/hrsacc1", "/hrsred1", "/hrsrej2", "/hrsrej3", "/other"}
	var got [2][]string
	for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
		startWireHaproxy,
		func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
	} {
		b := startCaptureBackend(t)
		p := start(t, lastRuleConfig, b.addr)
		for _, path := range paths {
			out, _ := exchangeAll(t, p, b, "GET "+path+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1)
			got[i] = append(got[i], statusLine(out)+" | "+headerValue(out, "x-lr"))
		}
	}
	for j := range paths {
		if got[0][j] != got[1][j] {
			t.Errorf("%s:\ngproxy:  %s\nhaproxy: %s", paths[j], got[1][j], got[0][j])
		}
	}
	t.Logf("haproxy: %q", got[0])
}

// headerValue is the value of the first field name of the response in
// out ("" if none).
func headerValue(out, name string) string {
	for _, line := range strings.Split(out, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
