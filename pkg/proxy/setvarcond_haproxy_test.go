package proxy

import (
	"strings"
	"testing"
)

// set-var conditions (ifexists ... iflt) and the set-var and unset-var
// converters (reg-test sample_fetches/cond_set_var) through haproxy
// 2.6.12 and gproxy: global, tcp-request content, http-request and
// http-response rules; a session variable seen by the connection's
// second request; req.len on an HTTP request. Each response's x-var
// fields must be the same.
const setVarCondConfig = `global
    log 127.0.0.1:LOGPORT local0
    set-var proc.a int(5)
    set-var proc.a,ifgt int(7)
    set-var proc.b,ifgt int(7)
    set-var proc.c,ifnotexists str(x)
    set-var proc.d,ifset str(x)
    set-var proc.e,ifnotset str(y)
    set-var proc.a,iflt int(9)
    set-var proc.f,ifempty str()
defaults
    log global
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen web
    bind FRONT
    tcp-request inspect-delay 1s
    tcp-request content set-var(txn.t,ifnotempty) req.hdr(x-t)
    tcp-request content set-var(sess.s,ifnotset) req.hdr(x-s)
    http-request set-var(txn.x,ifnotempty) str()
    http-request set-var(txn.x,ifnotexists) str(new)
    http-request set-var(txn.y,ifnotempty) str()
    http-request set-var(txn.y,ifexists) str(ex)
    http-request set-var(txn.z,ifset) str(s)
    http-request set-var-fmt(txn.w,ifnotempty) "%[req.hdr(nope)]"
    http-request set-var(txn.v) str(k)
    http-request set-var(txn.v,ifnotempty,ifset) str(q)
    http-request set-var(txn.u) bool(1)
    http-request set-var(txn.u,ifempty) str()
    http-request set-var(txn.n) int(10)
    http-request set-var(txn.n,ifgt) int(20)
    http-request set-var(txn.n,iflt) int(30)
    http-request set-var(txn.m) str(abc)
    http-request set-var(txn.m,ifgt) int(1)
    http-request set-var(txn.l,ifnotset,ifnotempty) req.hdr(x-l)
    http-request set-var(sess.cnt,ifnotexists) int(1)
    http-request set-header x-conv "%[req.hdr(x-c),set-var(txn.c,ifnotempty),length]"
    http-request set-header x-conv2 "%[str(zz),set-var(txn.c,ifnotset)]"
    http-request set-header x-unset "%[str(q),unset-var(txn.v)]"
    http-request set-header x-len "%[req.len]"
    http-request set-var(proc.p,ifexists) req.len
    http-request return status 200 hdr x-var "a=%[var(proc.a)] b=%[var(proc.b)] c=%[var(proc.c)] d=%[var(proc.d)] e=%[var(proc.e)] f=%[var(proc.f)] x=%[var(txn.x)] y=%[var(txn.y)] z=%[var(txn.z)] w=%[var(txn.w)] v=%[var(txn.v)] u=%[var(txn.u)] n=%[var(txn.n)] m=%[var(txn.m)] l=%[var(txn.l)] t=%[var(txn.t)] s=%[var(sess.s)] cnt=%[var(sess.cnt)] conv=%[req.hdr(x-conv)]/%[req.hdr(x-conv2)]/%[var(txn.c)] unset=%[req.hdr(x-unset)] len=%[req.hdr(x-len)] p=%[var(proc.p)]"
    server s1 BACKEND
`

func TestIntegrationSetVarConditionsHaproxy(t *testing.T) {
	reqs := []string{
		"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: t\r\nX-T: tv\r\nX-L: lv\r\nX-C: hello\r\nConnection: close\r\n\r\n",
		"GET /b HTTP/1.1\r\nHost: t\r\nX-T:\r\nX-L:\r\nX-C:\r\nConnection: close\r\n\r\n",
		// Two requests on one connection: sess.s and sess.cnt stay.
		"GET /c HTTP/1.1\r\nHost: t\r\nX-S: first\r\n\r\nGET /d HTTP/1.1\r\nHost: t\r\nX-S: second\r\nConnection: close\r\n\r\n",
	}
	var got [2][]string
	for i, start := range []func(t *testing.T, cfg, backend string) wireProxy{
		startWireHaproxy,
		func(t *testing.T, cfg, backend string) wireProxy { return startWireGproxy(t, cfg, backend, nil) },
	} {
		b := startCaptureBackend(t)
		p := start(t, setVarCondConfig, b.addr)
		for _, r := range reqs {
			out, _ := exchangeAll(t, p, b, r, 0)
			got[i] = append(got[i], xVarLines(out))
		}
	}
	for j := range reqs {
		if got[0][j] != got[1][j] {
			t.Errorf("request %d:\ngproxy:  %s\nhaproxy: %s", j, got[1][j], got[0][j])
		}
	}
	t.Logf("haproxy:\n%s", got[0])
}

// xVarLines are the x-var fields of the responses in out, one a line.
func xVarLines(out string) string {
	var l []string
	for _, line := range strings.Split(out, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "x-var") {
			l = append(l, strings.TrimSpace(v))
		}
	}
	return strings.Join(l, "\n")
}
