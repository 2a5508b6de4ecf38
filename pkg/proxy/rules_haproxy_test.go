package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
	"hapair/pkg/syslog/syslogtest"

	"github.com/rs/zerolog"
)

// The differential suite of the rules: one configuration with a frontend
// per rule set, run by haproxy 2.6.12 and by gproxy in front of the same
// echo servers; every request of ruleCases goes through both, and the
// client's bytes (status line, every field, body: the echo servers put
// the request head they received and their name in the body) and the
// httplog line must be the same.

// ruleFrontends are the frontends of the suite, by name: each line is a
// proxy keyword. default_backend be1 unless one is given.
var ruleFrontends = []struct {
	name  string
	lines []string
}{
	{"deny", []string{"http-request deny"}},
	{"deny429", []string{"http-request deny deny_status 429"}},
	{"earlyhint", []string{`http-request early-hint Link "</style.css>; rel=preload; as=style"`,
		`http-request early-hint Link "</script.js>; rel=preload; as=script"`, "http-request set-header X-After-Hints 1",
		"http-request early-hint X-Late 1 if { path /one }"}},
	{"earlyret", []string{`http-request early-hint Link "</a.css>"`, "http-request return status 200 content-type text/plain string ok"}},
	{"denyreply", []string{"http-request deny deny_status 429 content-type text/plain string limited hdr X-A b if { path_beg /a }",
		"http-request deny status 404 hdr X-B c if METH_HEAD", "http-request deny content-type text/plain lf-string nope if METH_POST"}},
	{"respdenyreply", []string{"http-response deny deny_status 503 content-type text/plain string down if { res.hdr(content-length) 42 }"}},
	{"denyef", []string{"http-request deny deny_status 503", "errorfile 503 ERRFILE"}},
	{"tarpit", []string{"http-request tarpit"}},
	{"auth", []string{"http-request auth realm Private"}},
	{"authdef", []string{"http-request auth"}},
	{"redirloc", []string{"http-request redirect location /moved code 301"}},
	{"redirpfx", []string{"http-request redirect prefix /pfx"}},
	{"redirpfx2", []string{"http-request redirect prefix /pfx drop-query append-slash code 308"}},
	{"redirsch", []string{"http-request redirect scheme https set-cookie SEEN=1"}},
	{"redirclr", []string{"redirect location http://example.com/ code 303 clear-cookie SEEN="}},
	{"redirkw", []string{"redirect prefix / code 307"}},
	{"redirorder", []string{"redirect location /second", "http-request redirect location /first"}},
	{"ret", []string{"http-request return status 200 content-type text/plain string hello hdr X-A b hdr X-B c"}},
	{"retempty", []string{"http-request return status 404"}},
	// capture.req.hdr / capture.res.hdr read the capture slots (the
	// WebSocket accept key of reg-tests websocket and srv_ws).
	// (httplog without the captures, which the suite's log parser does not take)
	{"capfetch", []string{`log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r"`,
		"capture request header X-Rep len 3", "http-request capture req.hdr(x-val) len 4",
		"capture response header X-Resp len 4", "declare capture request len 8",
		`http-request set-header X-Cap "%[capture.req.hdr(0)]|%[capture.req.hdr(1)]|%[capture.req.hdr(2)]|%[capture.req.hdr(9)]"`,
		`http-request return status 200 hdr X-Accept "%[capture.req.hdr(0),concat(258EAFA5-E914-47DA-95CA-C5AB0DC85B11,,),sha1,base64]" if { path /one }`,
		`http-response set-header X-Cap-Res "%[capture.res.hdr(0)]|%[capture.req.hdr(1)]"`}},
	{"rethdrempty", []string{`http-request return status 200 hdr X-None "%[req.hdr(x-none)]" hdr X-Path "%[path]" hdr X-Var "%[var(txn.nope)]"`}},
	{"uidfetch", []string{"unique-id-format U-%[path]-%[var(txn.v)]", "http-request set-header X-Uid %[unique-id]", "http-request set-var(txn.v) str(late)",
		"http-response set-header X-Uid2 %[unique-id]"}},
	{"uidnone", []string{"http-request set-header X-Uid %[unique-id]"}},
	{"srvctr", []string{`http-request return status 200 content-type text/plain lf-string "c=%[srv_conn(be1/s1)] f=%[srv_conn_free(be1/s1)] q=%[srv_queue(be2/s2)] w=%[srv_weight(be1/s1)] iw=%[srv_iweight(be1/s1)] uw=%[srv_uweight(be1/s1)] w0=%[srv_weight(beus/s2)]"`}},
	{"retfile", []string{"http-request return status 503 content-type text/html file ERRFILE"}},
	{"ret302", []string{"http-request return status 302 hdr Location /there"}},
	{"hdrs", []string{"http-request set-header X-Set one", "http-request add-header X-Add two",
		"http-request add-header X-Add three", "http-request del-header X-Del", "http-request set-header X-Set again"}},
	{"hostrw", []string{"http-request set-header Host rewritten.example"}},
	{"delm", []string{"http-request del-header x-d -m beg", "http-request del-header -end -m end", "http-request del-header mid -m sub"}},
	{"replace", []string{`http-request replace-header X-Rep ^(a+)-(b+)$ \2-\1`, "http-request replace-value X-Val ^foo$ bar"}},
	{"path", []string{"http-request set-path /newpath"}},
	{"pathq", []string{"http-request set-pathq /np?k=v"}},
	{"query", []string{"http-request set-query a=1&b=2"}},
	{"uri", []string{"http-request set-uri /u?x=y"}},
	{"repluri", []string{`http-request replace-uri ^/([^/]*)/(.*)$ /\2/\1`}},
	{"replpath", []string{`http-request replace-path ^/(a|dir)(.*) /x\2`}},
	{"replpathq", []string{`http-request replace-pathq ^(.*)\?(.*)$ \1/q/\2`}},
	{"method", []string{"http-request set-method PUT"}},
	{"allow", []string{"http-request allow", "http-request deny"}},
	{"resp", []string{"http-response set-header X-Resp-Set v", "http-response add-header X-Added a",
		"http-response del-header Server", `http-response replace-header X-Resp (a+)-(b+) [\2]`,
		"http-response replace-value X-List ^two$ 2"}},
	{"respdeny", []string{"http-response deny"}},
	{"respstatus", []string{"http-response set-status 404"}},
	{"respreason", []string{"http-response set-status 299 reason Fine"}},
	{"respallow", []string{"http-response allow", "http-response deny"}},
	{"after", []string{"http-after-response set-header X-After 1", "http-after-response del-header content-type"}},
	{"afterdeny", []string{"http-request deny", "http-after-response set-header X-After 1", "http-after-response del-header cache-control",
		"http-after-response set-status 418"}},
	{"afterdead", []string{"use_backend bedead", "http-after-response set-header X-After dead", "http-after-response set-status 599 if { status 503 }"}},
	{"afterredir", []string{"http-request redirect location /x", "http-after-response add-header X-After r"}},
	{"usebe", []string{"http-request set-header X-Route be2", "use_backend be2"}},
	{"berules", []string{"use_backend berules"}},
	{"ffor", []string{"option forwardfor", "http-request set-header X-Forwarded-For spoofed"}},
	{"fforhdr", []string{"option forwardfor header X-Real-IP if-none"}},
	{"fforexc", []string{"option forwardfor except 127.0.0.0/8"}},
	{"monitor", []string{"monitor-uri /health"}},
	{"firstreq", []string{"http-request set-header X-First %[http_first_req]", "http-response set-header X-First-Res %[http_first_req]",
		"http-request return status 200 content-type text/plain lf-string \"again %[http_first_req]\" if !{ http_first_req } { path /two }"}},
	{"origto", []string{"option originalto", "option forwardfor"}},
	{"origtohdr", []string{"option originalto header X-Dst"}},
	{"origtoexc", []string{"option originalto except 127.0.0.0/8"}},
	// Conditions.
	{"condpath", []string{"acl is_a path_beg /a", "http-request deny if is_a"}},
	{"condmeth", []string{"http-request deny deny_status 405 if METH_POST",
		"http-request return status 200 content-type text/plain string head if METH_HEAD"}},
	{"condhdr", []string{"http-request set-header X-Has-Resp yes if { req.hdr(x-resp) -m found }",
		"http-request del-header x-dd unless { req.hdr(host) -i T }", "http-request add-header X-Host-t 1 if { hdr(host) t }"}},
	{"condver", []string{"http-request redirect location /ver10 if HTTP_1.0"}},
	{"condor", []string{"http-request deny unless { path /one } || { path /form }"}},
	{"condand", []string{"acl get method GET", "acl one path /one", "http-request deny deny_status 429 if get one",
		"http-request deny if get !one { path_end /b }"}},
	{"usebecond", []string{"use_backend be2 if { path_beg /dir }", "use_backend be2 if METH_POST", "use_backend berules if { path /two }"}},
	{"condresp", []string{"http-response set-header X-Status-Ok 1 if { status 200 }",
		"http-response del-header x-resp if { res.hdr(x-list) -m sub two }",
		"http-response deny if { res.hdr(content-length) 42 }"}},
	{"vars", []string{"http-request set-var(txn.p) path", "http-request deny deny_status 404 if { var(txn.p) -m beg /dir }",
		"http-request unset-var(txn.p) if { path /one }", "http-request deny deny_status 410 if { path /one } { var(txn.p) -m found }",
		"http-response set-header X-Var-Seen 1 if { var(txn.p) -m found }"}},
	{"sessvars", []string{"http-request set-header X-Sess-Seen 1 if { var(sess.first) -m found }",
		"http-request set-var(sess.first) path if !{ var(sess.first) -m found }",
		"http-request set-header X-Proc-Seen 1 if { var(proc.seen) -m found }", "http-request set-var(proc.seen) str(yes)",
		"http-request unset-var(sess.first) if { path /two }"}},
	{"setsrc", []string{"option forwardfor", "http-request set-src req.hdr(x-real-ip) if { req.hdr(x-real-ip) -m found }",
		"http-request set-header X-Seen-Src 10.2 if { src 10.2.2.2 }"}},
	{"setsrcport", []string{"option forwardfor", "http-request set-src-port int(4242)", "http-request set-header X-Src %[src]:%[src_port]"}},
	{"setsrcport6", []string{"http-request set-src ipv6(2001:db8::7)", "http-request set-src-port req.hdr(x-port) if { req.hdr(x-port) -m found }",
		"http-request set-src-port int(70000) if !{ req.hdr(x-port) -m found }", "http-request set-header X-Src %[src]:%[src_port]"}},
	{"setdst", []string{"option originalto", "http-request set-dst ipv4(10.9.8.7)", "http-request set-header X-Dst %[dst]"}},
	{"setdstport", []string{"option originalto except 10.0.0.0/8", "http-request set-dst-port int(B2PORT)", "http-request set-dst str(127.0.0.1)",
		"http-request set-header X-Dst %[dst]:%[dst_port]", "use_backend bemap"}},
	{"monfail", []string{"monitor-uri /health", "monitor fail if { nbsrv(be1) lt 5 }"}},
	{"afterstatus", []string{"http-request return status 404 if { path /two }",
		"http-after-response set-header X-Code 404 if { status 404 }"}},
	{"authlist", []string{"http-request auth realm Users unless { http_auth(users) }",
		"http-request deny deny_status 403 unless { http_auth_group(users) admins }",
		"http-request set-header X-User-Ok 1"}},
	{"redirif", []string{"redirect prefix /new code 301 if { path_beg /dir }", "http-request redirect scheme https if { path /one }"}},
	// Error replies: http-error, errorfiles, and the replies naming files.
	{"httperr", []string{`http-error status 403 content-type text/plain hdr X-P %[path] lf-string "denied %[path]"`,
		"http-request deny if { path_beg /a }", "http-error status 503 errorfiles errs", "http-request deny deny_status 503 if METH_POST",
		"http-error status 404", "http-request deny deny_status 404 if { path /one }"}},
	{"errfiles", []string{"errorfiles errs", "http-request deny deny_status 503"}},
	{"errfilesorder", []string{"errorfiles errs 503", "errorfile 503 ERRFILE2", "http-request deny deny_status 503"}},
	{"denyerrf", []string{"http-request deny deny_status 503 errorfile ERRFILE if { path_beg /a }",
		"http-request return status 503 default-errorfiles if METH_POST", "http-request return status 503 errorfiles errs"}},
	// Bodies waited for before the rules.
	{"bufreq", []string{"option http-buffer-request", "http-request set-header X-Body %[req.body] if METH_POST",
		"http-request set-header X-Body-Len %[req.body_len]"}},
	{"waitbody", []string{"http-request wait-for-body time 1s at-least 3 if METH_POST",
		`http-request return status 200 content-type text/plain lf-string "len=%[req.body_len] body=%[req.body]" if METH_POST`}},
	{"usesrv", []string{"use_backend beus"}},
	{"sclose", []string{"use_backend besc"}},
	{"pka", []string{"use_backend bepka"}},
	{"dyncookie", []string{"use_backend bedyn"}},
	{"srvfetch", []string{"http-response set-header X-Srv %[srv_name]-%[srv_id]", "use_backend bedyn"}},
	{"retct", []string{"http-request return content-type text/plain if { path /one }",
		"http-request return status 404 content-type text/plain file /dev/null if METH_POST"}},
	{"redirie", []string{"http-request redirect location /x%[req.hdr(x-dd)] code 301 if METH_POST",
		"http-request redirect location %[req.hdr(x-dd)] code 301 ignore-empty"}},
	// Response rules do not see the request's headers (sent and gone);
	// the after-response rules of a reply made before sending do.
	{"respreqgone", []string{"http-response set-header X-Path-Seen 1 if { path_beg /a }",
		"http-response set-header X-Host-Seen 1 if { req.hdr(host) -m found }", "http-response set-header X-Meth-Seen 1 if METH_GET",
		"http-response set-header X-Hdr-Seen 1 if { hdr(x-resp) -m found }", "http-after-response set-header X-After-Path 1 if { path_beg /a }",
		"http-response set-header X-Url-Seen 1 if { url_param(x) -m found }"}},
	{"afterlocal", []string{"http-request deny if { path_beg /a }", "http-after-response set-header X-After-Path 1 if { path_beg /a }",
		"http-after-response set-header X-After-Host 1 if { req.hdr(host) -m found }"}},
	{"varfmt", []string{`http-request set-var-fmt(txn.pm) "%[method] %[path]"`, "http-request set-var-fmt(sess.n) lit",
		`http-request set-var-fmt(txn.empty) "%[req.hdr(x-none)]"`, `http-request set-header X-Pm "%[var(txn.pm)]"`,
		"http-request set-header X-Empty-Found 1 if { var(txn.empty) -m found }", "http-request set-header X-Sess %[var(sess.n)]",
		`http-response set-var-fmt(txn.st) "s=%[status]"`, "http-response set-header X-St %[var(txn.st)]",
		"http-after-response set-var-fmt(txn.after) s%[status]", "http-after-response set-header X-After %[var(txn.after)]-%[var(txn.pm)]"}},
	{"errloc", []string{"errorloc 503 http://example.com/down?x=1", "http-request deny deny_status 503 if { path_beg /a }",
		"errorloc303 403 /forbidden", "http-request deny if METH_POST", "errorloc302 404 /nf", "http-request deny deny_status 404 if METH_HEAD"}},
	{"errlocover", []string{"errorfile 503 ERRFILE", "errorloc 503 /later-wins", "http-request deny deny_status 503"}},
	{"reqreject", []string{"http-request reject if { path_beg /a } || METH_POST", "http-request set-header X-Not-Rejected 1"}},
	{"respredir", []string{"http-response redirect location /moved-%[status] code 301 if { res.hdr(x-resp) -m found } METH_GET",
		"http-response redirect location /empty%[res.hdr(x-none)] ignore-empty if METH_POST",
		"http-response redirect location /set set-cookie S=1 if METH_POST", "http-after-response set-header X-After r"}},
	{"httperrdef", []string{"errorfile 503 ERRFILE", "http-error status 503 default-errorfiles", "http-request deny deny_status 503"}},
	// Dynamic backend names: a header, then a map of path prefixes; a
	// name that is no backend (or empty) falls to the next rule, then to
	// default_backend.
	{"usebedyn", []string{"use_backend %[req.hdr(x-be)] if { req.hdr(x-be) -m found }", "use_backend %[path,map_beg(MAPFILE)]"}},
	{"usebemap", []string{"use_backend %[path,map_beg(MAPFILE,be2)]"}},
	// http-response return: replaces the server's response, with the
	// after-response rules still applied.
	{"respret", []string{"http-request set-var(txn.p) path", "http-request set-var(txn.m) method",
		// (A response fetch in a hdr value makes haproxy 2.6.12 drop the
		// whole reply, the client getting a bare close: gproxy refuses it.)
		`http-response return status 201 content-type text/plain string made hdr X-R "%[var(txn.m)]" if { var(txn.p) -m beg /a }`,
		"http-response return status 503 content-type text/html file ERRFILE if { var(txn.m) -m str POST }",
		`http-response return content-type text/plain lf-string "st=%[status] p=%[var(txn.p)]" if { var(txn.p) -m str /one }`,
		"http-response return status 404 if { var(txn.m) -m str HEAD }", "http-after-response set-header X-After %[status]"}},
	{"respreterr", []string{"http-request set-var(txn.p) path", "http-request set-var(txn.m) method",
		"http-response return status 503 content-type text/plain string busy if { var(txn.p) -m str /one }",
		"http-response return status 302 hdr Location /gone if { var(txn.p) -m str /two }", "http-response return status 204 if { var(txn.m) -m str POST }"}},
	// http-after-response replace-header / replace-value on the server's
	// responses and on the proxy's own replies.
	{"afterrepl", []string{`http-after-response replace-header X-Resp (a+)-(b+) [\2]`, "http-after-response replace-value X-List ^two$ 2",
		`http-after-response replace-header Content-Type ^text/(.*)$ app/\1`, "http-request deny deny_status 503 if METH_POST",
		`http-request return status 200 content-type text/html string x if { path /two }`}},
	// Process state fetches: srv_is_up (a disabled server is down),
	// be_conn, fe_conn, in rules and in returned bodies.
	{"procstate", []string{`http-request return status 200 content-type text/plain lf-string "up=%[srv_is_up(be1/s1)] maint=%[srv_is_up(bemaint/s)] be=%[be_conn(be1)] fe=%[fe_conn] fe2=%[fe_conn(deny)] " if { path /one }`,
		"use_backend bemaint if !{ srv_is_up(be2/s2) }", "use_backend be2 if !{ srv_is_up(bemaint/s) } METH_POST",
		"http-request set-header X-Fe-Conn %[fe_conn]", "http-request deny deny_status 429 if { fe_conn gt 5 }",
		"http-response set-header X-Be-Conn %[be_conn(be1)]-%[be_conn(be2)]"}},
}

// ruleBackends are the other sections of the suite.
const ruleBackends = `backend bemap
    server s 127.0.0.1
http-errors errs
    errorfile 503 ERRFILE
userlist users
    group admins users sha256,bcrypt
    group others
    user sha512 password $6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG. groups admins
    user sha256 password $5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM.
    user md5 password $1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1 groups others
    user bcrypt password $2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a
    user clear insecure-password secret groups admins,others
backend bedead
    timeout connect 100ms
    retries 0
    server dead DEAD
backend be1
    server s1 B1
backend bemaint
    server s B1 disabled
backend be2
    server s2 B2
backend beus
    use-server s2 if { path_beg /dir }
    use-server s1 if METH_POST
    use-server %[req.hdr(x-srv)] if { req.hdr(x-srv) -m found }
    server s1 B1
    server s2 B2
backend besc
    option http-server-close
    server s1 B1
backend bepka
    option http-server-close
    option http-pretend-keepalive
    server s1 B1
backend bedyn
    cookie SRV insert dynamic
    dynamic-cookie-key s3cr3t
    server s1 B1
    server s2 B2 cookie fixed
backend berules
    http-request set-header X-Be yes
    http-request redirect location /be-redirect if { path /redirect-me }
    http-response set-header X-Be-Res yes
    server s3 B1
`

// ruleRequests are sent to every frontend of the suite; each is one
// connection, some with two requests (keep-alive).
var ruleRequests = []struct {
	name, raw string
	n         int // log lines: requests on the connection
}{
	{"get", "GET /a/b?x=1 HTTP/1.1\r\nHost: t\r\nX-Del: gone\r\nX-Rep: aa-bbb\r\nX-Val: foo, baz, foo\r\nX-Resp: z\r\nx-dd: 1\r\nthe-end: 2\r\nsomemiddle: 3\r\nConnection: close\r\n\r\n", 1},
	{"head10", "HEAD /dir/ HTTP/1.0\r\nHost: t\r\nX-Forwarded-For: 10.1.1.1\r\nX-Real-IP: 10.2.2.2\r\n\r\n", 1},
	{"keepalive", "GET /one HTTP/1.1\r\nHost: t\r\n\r\nGET /two?q HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 2},
	{"post", "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", 1},
}

// ruleExtraRequests go to one frontend only.
var ruleExtraRequests = []struct {
	front, name, raw string
	n                int
}{
	{"berules", "redirect-me", "GET /redirect-me HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1},
	{"monitor", "health", "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 0}, // not logged
	{"monitor", "health-absolute", "GET http://t/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 0},
	{"monitor", "health-case", "GET /HEALTH HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1},
	{"redirsch", "nohost", "GET /nohost HTTP/1.0\r\n\r\n", 1},
	{"redirpfx", "absolute", "GET http://t/abs/path?q=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1},
	{"path", "absolute", "GET http://t/abs/path?q=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1},
	{"query", "noquery", "GET /p HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1},
	{"monfail", "health", "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 0},
	{"usebecond", "redirect-me", "GET /redirect-me HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "sha512-secret", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic c2hhNTEyOnNlY3JldA==\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "sha256-secret", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic c2hhMjU2OnNlY3JldA==\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "md5-secret", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic bWQ1OnNlY3JldA==\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "bcrypt-secret", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YmNyeXB0OnNlY3JldA==\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "clear-secret", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic Y2xlYXI6c2VjcmV0\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "sha512-wrong", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic c2hhNTEyOndyb25n\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "bcrypt-Secret", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YmNyeXB0OlNlY3JldA==\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "nobody-secret", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic bm9ib2R5OnNlY3JldA==\r\nConnection: close\r\n\r\n", 1},
	{"authlist", "clear-empty", "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Basic Y2xlYXI6\r\nConnection: close\r\n\r\n", 1},
	{"usesrv", "dyn", "GET /dir/x HTTP/1.1\r\nHost: t\r\nX-Srv: s1\r\nConnection: close\r\n\r\n", 1},
	{"usesrv", "dynnone", "GET /x HTTP/1.1\r\nHost: t\r\nX-Srv: nope\r\nConnection: close\r\n\r\n", 1},
	{"setsrcport6", "xport", "GET /x HTTP/1.1\r\nHost: t\r\nX-Port: 8080\r\nConnection: close\r\n\r\n", 1},
	{"condhdr", "otherhost", "GET /x HTTP/1.1\r\nHost: other\r\nx-dd: 2\r\nConnection: close\r\n\r\n", 1},
	{"usebedyn", "be2", "GET /x HTTP/1.1\r\nHost: t\r\nX-Be: be2\r\nConnection: close\r\n\r\n", 1},
	{"usebedyn", "berules", "GET /redirect-me HTTP/1.1\r\nHost: t\r\nX-Be: berules\r\nConnection: close\r\n\r\n", 1},
	{"usebedyn", "nope", "GET /dir/x HTTP/1.1\r\nHost: t\r\nX-Be: nope\r\nConnection: close\r\n\r\n", 1},
	{"usebedyn", "empty", "GET /dir/x HTTP/1.1\r\nHost: t\r\nX-Be:\r\nConnection: close\r\n\r\n", 1},
	{"usebedyn", "case", "GET /x HTTP/1.1\r\nHost: t\r\nX-Be: BE2\r\nConnection: close\r\n\r\n", 1},
	{"usebedyn", "twice", "GET /x HTTP/1.1\r\nHost: t\r\nX-Be: be2\r\nX-Be: berules\r\nConnection: close\r\n\r\n", 1},
	{"usebemap", "nomatch", "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1},
	{"afterrepl", "twolocal", "GET /two HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1},
}

// startEchoServer answers every request with its name and the request
// head it received in the body, and a few fields for response rules.
func startEchoServer(t *testing.T, name string) string {
	t.Helper()
	ln := haproxytest.Serve(t, deadline, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var head bytes.Buffer
			cl := 0
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "content-length") {
					cl, _ = strconv.Atoi(strings.TrimSpace(v))
				}
				if line == "\r\n" || line == "\n" {
					break
				}
			}
			_, _ = io.CopyN(io.Discard, br, int64(cl))
			body := "backend " + name + "\n" + head.String()
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nServer: echo\r\nX-Resp: aa-bb\r\nX-List: one, two\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", len(body))
			if !strings.HasPrefix(head.String(), "HEAD ") {
				io.WriteString(c, body)
			}
		}
	})
	return ln.Addr().String()
}

// ruleConfig builds the suite's configuration; port gives each
// frontend's port.
func ruleConfig(port func(string) int, b1, b2, dead, errfile string, logPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    log 127.0.0.1:%d local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 1s
    timeout tarpit 50ms
`, logPort)
	_, b2port, _ := strings.Cut(b2, ":")
	files := strings.NewReplacer("ERRFILE2", errfile+".2", "ERRFILE", errfile, "B2PORT", b2port, "MAPFILE", errfile+".map")
	for _, fe := range ruleFrontends {
		fmt.Fprintf(&b, "frontend %s\n    bind 127.0.0.1:%d\n", fe.name, port(fe.name))
		for _, l := range fe.lines {
			b.WriteString("    " + files.Replace(l) + "\n")
		}
		b.WriteString("    default_backend be1\n")
	}
	b.WriteString(strings.NewReplacer("B1", b1, "B2", b2, "DEAD", dead, "ERRFILE", errfile).Replace(ruleBackends))
	return b.String()
}

// ruleResult is what one exchange showed a client and the log.
type ruleResult struct {
	response string
	logs     []string
}

// runRuleSuite sends every request of the suite to the proxy whose
// frontend addresses addr gives, and returns the results by case name.
func runRuleSuite(t *testing.T, addr func(string) string, logs func() []string, wantLogs func(string) int) (map[string]ruleResult, []string) {
	t.Helper()
	type job struct {
		key, front, raw string
		n               int
	}
	var jobs []job
	for _, fe := range ruleFrontends {
		for _, rq := range ruleRequests {
			jobs = append(jobs, job{fe.name + "/" + rq.name, fe.name, rq.raw, rq.n})
		}
	}
	for _, rq := range ruleExtraRequests {
		jobs = append(jobs, job{rq.front + "/" + rq.name, rq.front, rq.raw, rq.n})
	}
	out := map[string]ruleResult{}
	var order []string
	for _, j := range jobs {
		n := len(logs())
		want := j.n
		c, err := net.DialTimeout("tcp", addr(j.front), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(deadline))
		_, _ = io.WriteString(c, j.raw)
		resp, _ := io.ReadAll(c)
		c.Close()
		if wantLogs != nil {
			want = wantLogs(j.key)
		}
		// At most 2 s: a proxy logging fewer lines than the other shows
		// as a difference, not as a stop.
		for end := time.Now().Add(2 * time.Second); len(logs()) < n+want && time.Now().Before(end); {
			time.Sleep(2 * time.Millisecond)
		}
		var fields []string
		for _, l := range logs()[n:] {
			f, err := httpLogFields(l)
			if err != nil {
				t.Fatal(err)
			}
			fields = append(fields, strings.Join(f, "\t"))
		}
		out[j.key] = ruleResult{response: string(resp), logs: fields}
		order = append(order, j.key)
	}
	return out, order
}

// TestIntegrationRulesHaproxy runs the suite through haproxy 2.6.12 and
// gproxy and compares every exchange.
func TestIntegrationRulesHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	b1, b2 := startEchoServer(t, "one"), startEchoServer(t, "two")
	deadP := deadPort(t)
	dead := fmt.Sprintf("127.0.0.1:%d", deadP)
	errfile := filepath.Join(t.TempDir(), "503.http")
	if err := os.WriteFile(errfile, []byte("HTTP/1.1 503 Busy\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nbusy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// usebedyn's map: path prefixes to backend names, one not a backend.
	if err := os.WriteFile(errfile+".map", []byte("/dir be2\n/form berules\n/one nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(errfile+".2", []byte("HTTP/1.1 503 Other\r\nContent-Length: 6\r\n\r\nother\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// haproxy
	sink := syslogtest.NewSink(t)
	// The dead server's port is taken too: a frontend there would answer.
	hports := map[string]int{" dead": deadP}
	for _, fe := range ruleFrontends {
		hports[fe.name] = uniquePort(t, hports)
	}
	haproxytest.Start(t, ruleConfig(func(n string) int { return hports[n] }, b1, b2, dead, errfile, sink.Port()))
	delete(hports, " dead")
	for _, p := range hports {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", p))
	}
	hap, order := runRuleSuite(t, func(n string) string { return fmt.Sprintf("127.0.0.1:%d", hports[n]) }, func() []string {
		var msgs []string
		for _, raw := range sink.Datagrams() {
			d, err := syslogtest.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(d.Msg, "Proxy ") {
				continue
			}
			msgs = append(msgs, d.Msg)
		}
		return msgs
	}, nil)

	// gproxy
	lns := map[string]net.Listener{}
	gports := map[string]int{}
	for _, fe := range ruleFrontends {
		ln, bind := listen(t)
		for bind.Port == deadP {
			ln, bind = listen(t)
		}
		lns[bind.Address()] = ln
		gports[fe.name] = bind.Port
	}
	src := ruleConfig(func(n string) int { return gports[n] }, b1, b2, dead, errfile, 9)
	cfg, diags, err := haproxycfg.Parse("rules.cfg", []byte(src), haproxycfg.ParseOptions{ReadFile: os.ReadFile})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	logs := serveHTTPLogged(t, cfg, lns, nil, nil)
	got, _ := runRuleSuite(t, func(n string) string { return fmt.Sprintf("127.0.0.1:%d", gports[n]) }, logs,
		func(k string) int { return len(hap[k].logs) })

	// A few verdicts, so that a suite where both proxies fail alike fails.
	for k, want := range map[string]string{
		"authlist/sha512-secret": "200", "authlist/bcrypt-secret": "200", "authlist/sha256-secret": "200",
		"authlist/md5-secret": "403", "authlist/clear-secret": "200", "authlist/sha512-wrong": "401",
		"authlist/nobody-secret": "401", "condpath/get": "403", "condor/post": "200", "usebecond/post": "200",
		"redirloc/get": "301", "ret/get": "200", "deny/get": "403", "afterdead/get": "599", "denyreply/get": "429", "denyreply/head10": "404",
		"httperr/get": "403", "httperr/post": "503", "denyerrf/get": "503", "denyerrf/head10": "503", "errfiles/get": "503",
		"errloc/get": "302", "errloc/post": "303", "errloc/head10": "302", "errlocover/get": "302",
	} {
		if got := strings.Fields(statusLine(hap[k].response) + " x x")[1]; got != want {
			t.Errorf("%s: haproxy answered %q, want status %s", k, statusLine(hap[k].response), want)
		}
	}
	for k, field := range map[string]string{"origto/get": "x-original-to: 127.0.0.1", "origtohdr/get": "x-dst: 127.0.0.1",
		"ffor/get": "x-forwarded-for: 127.0.0.1", "hdrs/get": "x-set: again", "berules/get": "x-be-res: yes",
		"afterdead/get": "x-after: dead", "earlyhint/get": "HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\nlink: </script.js>; rel=preload; as=script\r\n\r\nHTTP/1.1 200", "sessvars/keepalive": "x-sess-seen: 1", "firstreq/keepalive": "again 0", "setsrcport/get": "x-src: 127.0.0.1:4242", "setsrcport6/get": "x-src: 2001:db8::7:4464", "setsrcport6/xport": "x-src: 2001:db8::7:8080", "setdst/get": "x-original-to: 10.9.8.7", "rethdrempty/get": "HTTP/1.1 200 OK\r\nx-path: /a/b\r\ncontent-length: 0\r\n", "setdstport/get": "backend two", "firstreq/post": "x-first: 1\r\n", "sessvars/post": "x-proc-seen: 1", "repluri/get": "GET /b?x=1/a HTTP/1.1", "replpath/get": "GET /x/b?x=1 HTTP/1.1", "replpathq/get": "GET /a/b/q/x=1 HTTP/1.1",
		"httperr/get": "x-p: /a/b\r\ncontent-length: 11\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\ndenied /a/b", "httperr/post": "503 Busy",
		"errfilesorder/get": "503 Other", "denyerrf/get": "503 Busy", "denyerrf/head10": "503 Busy", "httperrdef/get": "503 Service Unavailable",
		"sclose/get": "connection: close\r\n\r\n", "dyncookie/get": "set-cookie: SRV=", "srvfetch/get": "x-srv: s", "pka/get": "somemiddle: 3\r\n\r\n",
		"bufreq/post": "x-body: hello\r\nx-body-len: 5\r\n", "waitbody/post": "len=5 body=hello",
		"errloc/get": "location: http://example.com/down?x=1", "errloc/post": "location: /forbidden",
		"usebedyn/be2": "backend two", "usebedyn/berules": "location: /be-redirect", "usebemap/nomatch": "backend two",
		"usebemap/post": "x-be-res: yes", "respret/get": "HTTP/1.1 201 Created", "respret/keepalive": "st= p=/one",
		"respret/post": "503 Busy", "respreterr/post": "HTTP/1.1 204 No Content", "afterrepl/get": "x-resp: [bb]\r\n",
		"afterrepl/twolocal": "content-type: app/html", "procstate/keepalive": "up=1 maint=0 be=0 fe=1 fe2=0",
		"procstate/post": "backend two"} {
		if !strings.Contains(got[k].response, field) {
			t.Errorf("%s: gproxy's exchange lacks %q\n%s", k, field, got[k].response)
		}
	}
	for k, want := range map[string]string{"usesrv/head10": "", "usesrv/post": "backend one", "usesrv/dyn": "backend two"} {
		if want != "" && (!strings.Contains(hap[k].response, want) || !strings.Contains(got[k].response, want)) {
			t.Errorf("%s did not reach %s", k, want)
		}
	}
	if !strings.Contains(hap["usebecond/post"].response, "backend two") || !strings.Contains(got["usebecond/post"].response, "backend two") {
		t.Errorf("usebecond/post did not reach be2")
	}
	if len(order) < 150 {
		t.Errorf("the suite ran %d exchanges, want at least 150", len(order))
	}
	bad := 0
	for _, k := range order {
		h, g := hap[k], got[k]
		if h.response != g.response {
			bad++
			t.Errorf("%s: response differs\nhaproxy:\n%s\ngproxy:\n%s", k, h.response, g.response)
		}
		hl, gl := h.logs, g.logs
		if strings.HasPrefix(k, "dyncookie/") || strings.HasPrefix(k, "srvfetch/") {
			// %B differs with any inserted cookie (not only dynamic
			// ones): haproxy counts the response before the insertion.
			hl, gl = withoutField(hl, 5), withoutField(gl, 5)
		}
		if !sameLogs(hl, gl) {
			bad++
			t.Errorf("%s: log differs\nhaproxy: %q\ngproxy:  %q", k, h.logs, g.logs)
		}
	}
	t.Logf("%d exchanges compared, %d differences", len(order), bad)
}

// withoutField blanks field i of tab-separated log lines.
func withoutField(lines []string, i int) []string {
	out := make([]string, len(lines))
	for j, l := range lines {
		f := strings.Split(l, "\t")
		if i < len(f) {
			f[i] = ""
		}
		out[j] = strings.Join(f, "\t")
	}
	return out
}

// sameLogs compares the log lines of one exchange field by field; the
// connection counts of gproxy may be below haproxy's, which depend on
// when haproxy released the previous exchange's connection.
func sameLogs(hap, got []string) bool {
	if len(hap) != len(got) {
		return false
	}
	for i := range hap {
		h, g := strings.Split(hap[i], "\t"), strings.Split(got[i], "\t")
		if len(h) != len(g) {
			return false
		}
		for j := range h {
			// An http-response deny or redirect counts the server's body in
			// %B when it arrived with the head, which depends on timing in
			// haproxy.
			denied := j == 5 && (h[8] == "PH--" || h[8] == "LH--")
			if h[j] != g[j] && !(j == 9 && connsAtMost(g[j], h[j])) && !denied {
				return false
			}
		}
	}
	return true
}

// tcpRuleFrontends are the tcp-request cases: mode tcp frontends but the
// last two, in mode http.
var tcpRuleFrontends = []struct {
	name  string
	lines []string
	logs  int // log lines haproxy writes for one connection
}{
	{"tconnrej", []string{"tcp-request connection reject"}, 0},
	{"tsessrej", []string{"tcp-request session reject"}, 0},
	{"tconnacc", []string{"tcp-request connection accept", "tcp-request connection reject"}, 1},
	{"tcontrej", []string{"tcp-request inspect-delay 200ms", "tcp-request content reject"}, 1},
	{"tcontacc", []string{"tcp-request inspect-delay 200ms", "tcp-request content accept", "tcp-request content reject"}, 1},
	{"tcontnodelay", []string{"tcp-request content accept", "use_backend tbe2 if TRUE"}, 1},
	{"tpayload", []string{"tcp-request inspect-delay 2s", "tcp-request content accept if { req.payload(0,5) -m str hello }",
		"use_backend tbe2 if { req.payload(0,5) -m str hello }"}, 1},
	{"tpayrej", []string{"tcp-request inspect-delay 2s", "tcp-request content reject if { req.len gt 3 }"}, 1},
	{"tsrc", []string{"tcp-request connection reject if { src 127.0.0.2 }", "tcp-request content reject if { dst_port 1 }",
		"use_backend tbe2 if { src 127.0.0.1 }"}, 1},
	// Variables: a connection rule sets sess.* but no txn.* (no stream yet).
	{"tvarconn", []string{"tcp-request connection set-var(sess.c) src", "tcp-request connection set-var(txn.t) str(x)",
		"tcp-request session set-var-fmt(sess.f) \"s=%[var(sess.c)]\"", "tcp-request inspect-delay 200ms",
		"tcp-request content reject if { var(txn.t) -m found }", "use_backend tbe2 if { var(sess.f) -m str s=127.0.0.1 }"}, 1},
	{"tvarcont", []string{"tcp-request inspect-delay 2s", "tcp-request content accept if { req.len lt 5 } !{ req.len ge 0 }",
		"tcp-request content set-var(txn.p) req.payload(0,5) if { req.len ge 5 }", `tcp-request content set-var-fmt(txn.f) "%[var(txn.p)]!"`,
		"tcp-request content unset-var(txn.p)", "tcp-request content reject if { var(txn.p) -m found }",
		"use_backend tbe2 if { var(txn.f) -m str hello! }"}, 1},
	{"hvarcont", []string{"mode http", "option httplog", "tcp-request session set-var(sess.s) str(sv)",
		"tcp-request content set-var(txn.h) req.hdr(host)", "tcp-request content set-var(req.m) method",
		`http-request return status 200 content-type text/plain lf-string "h=%[var(txn.h)] s=%[var(sess.s)] m=%[var(req.m)]"`}, 1},
	{"hconnrej", []string{"mode http", "option httplog", "tcp-request connection reject"}, 0},
	{"hcontrej", []string{"mode http", "option httplog", "tcp-request content reject"}, 1},
	{"hconthdr", []string{"mode http", "option httplog", "tcp-request content reject if { req.hdr(host) -m str t } METH_GET"}, 1},
	{"hcontpass", []string{"mode http", "option httplog", "tcp-request content reject if { req.hdr(host) -m str nope }"}, 1},
	// A backend's own content rules, after the switch.
	{"tberej", []string{"use_backend tbecont"}, 1},
	{"tbepass", []string{"use_backend tbecont2"}, 1},
	// "w" frontends are mode tcp ones that receive an HTTP request, which
	// haproxy's HTTP fetches parse from the buffer.
	{"wpathrej", []string{"tcp-request inspect-delay 2s", "tcp-request content reject if { path_beg /admin }"}, 1},
	{"wpathpass", []string{"tcp-request inspect-delay 2s", "tcp-request content reject if { path_beg /other }"}, 1},
	{"whdr", []string{"tcp-request inspect-delay 2s", "tcp-request content accept if HTTP", "use_backend tbe2 if { req.hdr(host) -m str t } METH_GET"}, 1},
	// "wl" frontends get the request lines of webLines: haproxy's raw
	// parse takes runs of blanks between the parts, and refuses '#' and
	// bytes above 0x7f in the URI (its path fetch then has no sample).
	{"wlhash", []string{"tcp-request inspect-delay 2s", "tcp-request content reject if { path_beg /admin }"}, 1},
	{"wl8bit", []string{"tcp-request inspect-delay 2s", "tcp-request content reject if { path_beg /admin }"}, 1},
	{"wldel", []string{"tcp-request inspect-delay 2s", "tcp-request content reject if { path_beg /admin }"}, 1},
	{"wlblanks", []string{"tcp-request inspect-delay 2s", "tcp-request content reject if { path_beg /admin }"}, 1},
	{"wtrack", []string{"stick-table type string len 32 size 1k store gpc0", "tcp-request inspect-delay 2s",
		"tcp-request content track-sc0 path", "tcp-request content sc-inc-gpc0(0)", "use_backend tbe2 if { sc0_get_gpc0 gt 0 }"}, 1},
	// "r" sections are mode tcp listens whose server sends a banner first.
	{"racc", []string{"tcp-response inspect-delay 2s", "tcp-response content accept if { res.payload(0,6) -m str BANNER }",
		"tcp-response content reject"}, 1},
	{"rrej", []string{"tcp-response inspect-delay 2s", "tcp-response content reject if { res.payload(0,6) -m str BANNER }"}, 1},
	{"rclose", []string{"tcp-response inspect-delay 2s", "tcp-response content close if { res.len gt 0 }"}, 1},
	{"rwait", []string{"tcp-response inspect-delay 200ms", "tcp-response content reject if { res.len gt 100 }"}, 1},
	{"rvar", []string{"tcp-response inspect-delay 2s", "tcp-response content set-var(txn.b) res.payload(0,6) if { res.len ge 6 }",
		"tcp-response content reject if { var(txn.b) -m str BANNER }"}, 1},
	{"rnodelay", []string{"tcp-response content reject if { res.len gt 0 }"}, 1},
	{"rnocond", []string{"tcp-response inspect-delay 2s", "tcp-response content reject"}, 1},
	// rgpc's response rule counts in its table; rgpc2 then refuses the
	// same client by that count.
	{"rgpc", []string{"stick-table type ip size 1k store gpc0", "tcp-request connection track-sc0 src",
		"tcp-response inspect-delay 2s", "tcp-response content sc-inc-gpc0(0) if { res.len gt 0 }"}, 1},
	{"rgpc2", []string{"tcp-request connection reject if { src_get_gpc0(rgpc) gt 0 }"}, 0},
}

// webInTCP is what the "w" cases send: an HTTP request to a mode tcp
// frontend.
const webInTCP = "GET /admin/x HTTP/1.0\r\nHost: t\r\n\r\n"

// webLines are the requests the "wl" cases send.
var webLines = map[string]string{
	"wlhash":   "GET /admin#x HTTP/1.0\r\nHost: t\r\n\r\n",
	"wl8bit":   "GET /admin\xc3\xa9 HTTP/1.0\r\nHost: t\r\n\r\n",
	"wldel":    "GET /admin\x7f HTTP/1.0\r\nHost: t\r\n\r\n",
	"wlblanks": "GET  /admin \t HTTP/1.0\r\nHost: t\r\n\r\n",
}

// startBanner answers each connection with a banner at once, then, once
// the client's half-close arrived, with what it received.
func startBanner(t *testing.T) string {
	t.Helper()
	ln := haproxytest.Serve(t, deadline, func(c net.Conn) {
		_, _ = io.WriteString(c, "BANNER hi\n")
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "bye:%s", b)
	})
	return ln.Addr().String()
}

// startTCPEcho answers each connection, once the client's half-close
// arrived, with the server's name and what it received.
func startTCPEcho(t *testing.T, name string) string {
	t.Helper()
	ln := haproxytest.Serve(t, deadline, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "%s:%s", name, b)
	})
	return ln.Addr().String()
}

func tcpRuleConfig(port func(string) int, b1, b2, hb, banner string, logPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    log 127.0.0.1:%d local0
defaults
    mode tcp
    log global
    option tcplog
    timeout client 5s
    timeout server 5s
    timeout connect 1s
`, logPort)
	for _, fe := range tcpRuleFrontends {
		if strings.HasPrefix(fe.name, "r") {
			fmt.Fprintf(&b, "listen %s\n    bind 127.0.0.1:%d\n    server b %s\n", fe.name, port(fe.name), banner)
			for _, l := range fe.lines {
				b.WriteString("    " + l + "\n")
			}
			continue
		}
		fmt.Fprintf(&b, "frontend %s\n    bind 127.0.0.1:%d\n", fe.name, port(fe.name))
		for _, l := range fe.lines {
			b.WriteString("    " + l + "\n")
		}
		if strings.HasPrefix(fe.name, "h") {
			b.WriteString("    default_backend hbe\n")
		} else {
			b.WriteString("    default_backend tbe1\n")
		}
	}
	fmt.Fprintf(&b, "backend tbe1\n    server s1 %s\nbackend tbe2\n    server s2 %s\nbackend hbe\n    mode http\n    server s3 %s\n", b1, b2, hb)
	for _, be := range []struct{ name, word string }{{"tbecont", "hello"}, {"tbecont2", "nope"}} {
		fmt.Fprintf(&b, "backend %s\n    tcp-request inspect-delay 2s\n    tcp-request content reject if { req.payload(0,5) -m str %s }\n    server s1 %s\n", be.name, be.word, b1)
	}
	return b.String()
}

// tcpLogFields drops the client port and the date of a tcplog or
// httplog line and turns every timer into -1 or n.
func tcpLogFields(msg string) string {
	f := strings.Fields(msg)
	if len(f) < 4 {
		return msg
	}
	out := []string{f[0][:strings.LastIndexByte(f[0], ':')]}
	for _, w := range f[2:] {
		if strings.Count(w, "/") >= 2 && !strings.Contains(w, "<") && strings.IndexFunc(w, func(r rune) bool { return (r < '0' || r > '9') && r != '/' && r != '-' && r != '+' }) < 0 {
			ts := strings.Split(w, "/")
			if len(ts) == 3 || len(ts) == 5 && !strings.HasPrefix(f[len(f)-1], "0/") {
				for i, v := range ts {
					if v != "-1" {
						ts[i] = "n"
					}
				}
				w = strings.Join(ts, "/")
			}
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// TestIntegrationTCPRulesHaproxy runs the tcp-request cases through
// haproxy 2.6.12 and gproxy: what the client receives and the log lines
// must be the same (a rejected connection is closed without a byte and
// without a log line).
func TestIntegrationTCPRulesHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	b1, b2 := startTCPEcho(t, "one"), startTCPEcho(t, "two")
	hb := startEchoServer(t, "http")
	bb := startBanner(t)
	run := func(addr func(string) string, logs func() []string) map[string][2]string {
		out := map[string][2]string{}
		for _, fe := range tcpRuleFrontends {
			n := len(logs())
			c, err := net.DialTimeout("tcp", addr(fe.name), 2*time.Second)
			if err != nil {
				// A reset can come before the dial returns.
				// A reset can come before the dial returns, or after.
				out[fe.name] = [2]string{"closed without a byte", ""}
				continue
			}
			_ = c.SetDeadline(time.Now().Add(deadline))
			var banner []byte
			if strings.HasPrefix(fe.name, "r") {
				// The banner (or the close) first, so that the server's
				// second answer comes after the rules decided.
				for b := make([]byte, 1); ; {
					n, err := c.Read(b)
					banner = append(banner, b[:n]...)
					if err != nil || b[0] == '\n' {
						break
					}
				}
			}
			msg := "hello\n"
			if fe.logs == 0 {
				// Rejected at once: a client writing then would race the
				// close (and get a reset from either proxy).
				msg = ""
			} else if strings.HasPrefix(fe.name, "h") {
				msg = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
			} else if l, ok := webLines[fe.name]; ok {
				msg = l
			} else if strings.HasPrefix(fe.name, "w") {
				msg = webInTCP
			}
			_, _ = io.WriteString(c, msg)
			if !strings.HasPrefix(fe.name, "h") {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			resp, err := io.ReadAll(c)
			if err != nil {
				resp = []byte("error: " + err.Error()[strings.LastIndex(err.Error(), ": ")+2:])
			}
			resp = append(banner, resp...)
			c.Close()
			for end := time.Now().Add(2 * time.Second); len(logs()) < n+fe.logs && time.Now().Before(end); {
				time.Sleep(2 * time.Millisecond)
			}
			var lines []string
			for _, l := range logs()[n:] {
				lines = append(lines, tcpLogFields(l))
			}
			r := string(resp)
			if fe.logs == 0 && (r == "" || r == "error: connection reset by peer") {
				// haproxy resets or closes, from run to run.
				r = "closed without a byte"
			}
			out[fe.name] = [2]string{r, strings.Join(lines, "\n")}
		}
		return out
	}
	sink := syslogtest.NewSink(t)
	hports := map[string]int{}
	for _, fe := range tcpRuleFrontends {
		hports[fe.name] = uniquePort(t, hports)
	}
	haproxytest.Start(t, tcpRuleConfig(func(n string) int { return hports[n] }, b1, b2, hb, bb, sink.Port()))
	for _, p := range hports {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", p))
	}
	hap := run(func(n string) string { return fmt.Sprintf("127.0.0.1:%d", hports[n]) }, func() []string {
		var msgs []string
		for _, raw := range sink.Datagrams() {
			d, err := syslogtest.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(d.Msg, "Proxy ") {
				msgs = append(msgs, d.Msg)
			}
		}
		return msgs
	})

	lns := map[string]net.Listener{}
	gports := map[string]int{}
	for _, fe := range tcpRuleFrontends {
		ln, bind := listen(t)
		lns[bind.Address()] = ln
		gports[fe.name] = bind.Port
	}
	cfg, diags, err := haproxycfg.Parse("tcprules.cfg", []byte(tcpRuleConfig(func(n string) int { return gports[n] }, b1, b2, hb, bb, 9)), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v\n%v", err, diags)
	}
	var mu sync.Mutex
	var msgs []string
	e, err := New(cfg, Options{
		Logger:    zerolog.Nop(),
		Listeners: lns,
		SessionLog: func(px *haproxycfg.Proxy, s accesslog.Session) {
			line := accesslog.TCPLog(s)
			if px.Options.HTTPLog {
				line = accesslog.HTTPLog(s)
			}
			mu.Lock()
			msgs = append(msgs, line)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	got := run(func(n string) string { return fmt.Sprintf("127.0.0.1:%d", gports[n]) }, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	})
	for name, want := range map[string]string{"tpayload": "two:hello\n", "tsrc": "two:hello\n", "tcontacc": "one:hello\n",
		"tcontnodelay": "two:hello\n", "tpayrej": "", "tconnrej": "closed without a byte", "hconthdr": "",
		"racc": "BANNER hi\nbye:hello\n", "rrej": "", "rnocond": "", "rwait": "BANNER hi\nbye:hello\n",
		"rgpc": "BANNER hi\nbye:hello\n", "rgpc2": "closed without a byte", "rclose": "BANNER hi\n",
		"tvarconn": "two:hello\n", "tvarcont": "two:hello\n", "rvar": "", "wpathrej": "", "wpathpass": "one:" + webInTCP,
		"wlhash": "one:" + webLines["wlhash"], "wl8bit": "one:" + webLines["wl8bit"], "wldel": "one:" + webLines["wldel"], "wlblanks": "",
		"whdr": "two:" + webInTCP, "wtrack": "two:" + webInTCP, "tberej": "", "tbepass": "one:hello\n"} {
		if got[name][0] != want {
			t.Errorf("%s: the client received %q through gproxy, want %q", name, got[name][0], want)
		}
	}
	if !strings.HasSuffix(got["hvarcont"][0], "h=t s=sv m=GET") {
		t.Errorf("hvarcont: gproxy answered %q, want the variables of the tcp-request rules", got["hvarcont"][0])
	}
	if !strings.HasPrefix(got["hcontpass"][0], "HTTP/1.1 200 OK") {
		t.Errorf("hcontpass: gproxy answered %q, want the server's 200", got["hcontpass"][0])
	}
	for _, fe := range tcpRuleFrontends {
		h, g := hap[fe.name], got[fe.name]
		if h[0] != g[0] {
			t.Errorf("%s: the client received %q through haproxy, %q through gproxy", fe.name, h[0], g[0])
		}
		if !sameTCPLogs(h[1], g[1]) {
			t.Errorf("%s: log differs\nhaproxy: %q\ngproxy:  %q", fe.name, h[1], g[1])
		}
	}
}

// sameTCPLogs compares log lines word by word, the connection counts of
// gproxy being at most haproxy's.
func sameTCPLogs(hap, got string) bool {
	h, g := strings.Fields(hap), strings.Fields(got)
	if len(h) != len(g) {
		return false
	}
	for i := range h {
		if h[i] != g[i] && !(strings.Count(h[i], "/") == 4 && connsAtMost(g[i], h[i])) {
			return false
		}
	}
	return true
}

// uniquePort is a free port not yet in taken: deadPort may give the same
// port twice, and haproxy would then bind two frontends to it.
func uniquePort(t *testing.T, taken map[string]int) int {
	t.Helper()
	for {
		p := deadPort(t)
		dup := false
		for _, q := range taken {
			dup = dup || q == p
		}
		if !dup {
			return p
		}
	}
}
