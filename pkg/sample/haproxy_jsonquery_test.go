package sample_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/sample"
)

// jsonQueryCases are request bodies and json_query arguments; each is run
// through haproxy 2.6 (set-var from req.body, printed with its type by
// `return`) and through sample on the same body.
var jsonQueryCases = []struct{ body, args string }{
	{`{"iss":"kubernetes.io/serviceaccount"}`, `'$.iss'`},
	{`{"integer":4}`, `'$.integer',int`},
	{`{"integer":-4}`, `'$.integer',int`},
	{`{"integer":4}`, `'$.integer'`},
	{`{"double":4.5}`, `'$.double'`},
	{`{"double":4.5}`, `'$.double',int`},
	{`{"d":1234567.5}`, `'$.d'`},
	{`{"d":0.00001234}`, `'$.d'`},
	{`{"d":1e300}`, `'$.d'`},
	{`{"d":1e400}`, `'$.d'`},
	{`{"d":-0}`, `'$.d'`},
	{`{"d":9007199254740993}`, `'$.d',int`},
	{`{"d":9007199254740991}`, `'$.d',int`},
	{`{"d":010}`, `'$.d',int`},
	{`{"d":0x1f}`, `'$.d',int`},
	{`{"d":5.}`, `'$.d'`},
	{`{"t":true,"f":false,"n":null}`, `'$.t'`},
	{`{"t":true,"f":false,"n":null}`, `'$.f'`},
	{`{"t":true,"f":false,"n":null}`, `'$.n'`},
	{`{"a":{"b":{"c":"deep"}}}`, `'$.a.b.c'`},
	{`{"a":{"b":{"c":"deep"}}}`, `'$.a.b'`},
	{`{"a":[10,20,{"x":"y"}]}`, `'$.a[1]'`},
	{`{"a":[10,20,{"x":"y"}]}`, `'$.a[2].x'`},
	{`{"a":[10,20,{"x":"y"}]}`, `'$.a[0]'`},
	{`{"a":[10,20,{"x":"y"}]}`, `'$.a[5]'`},
	{`{"a":[10,20,]}`, `'$.a[1]'`},
	{`[1,2,3]`, `'$[2]'`},
	{`"top"`, `'$'`},
	{`{"my.key":"myvalue"}`, `'$.my\\.key'`},
	{`{"s":"a\"b\\c\td\u0041\u00e9"}`, `'$.s'`},
	{`{"s":"x\/y"}`, `'$.s'`},
	{`{"s":"\u0100"}`, `'$.s'`},
	{`{"s":"\u00zz"}`, `'$.s'`},
	{`{"a":1,"a":2}`, `'$.a'`},
	{`{"a":1} trailing garbage`, `'$.a'`},
	{`{"b":1,"a":2 garbage`, `'$.a'`},
	{`{"a" 1}`, `'$.a'`},
	{`{"x":1}`, `'$.y'`},
	{`{"x":1}`, `'x'`},
	{` { "sp" : "ok" } `, `'$.sp'`},
	{`not json`, `'$.a'`},
	{`{"a":"é"}`, `'$.a'`},
	{`{"a":[[1,2],[3,4]]}`, `'$.a[1][0]'`},
	{`{"k":{"a":1,"b":2}}`, `'$.k.b'`},
	{`{"k":[{"a":1},{"b":2}]}`, `'$.k[1].b'`},
}

func TestHaproxyJSONQuery(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	port := haproxytest.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n  option http-buffer-request\n")
	fmt.Fprintf(&cfg, "frontend fe\n  bind 127.0.0.1:%d\n", port)
	for i, c := range jsonQueryCases {
		fmt.Fprintf(&cfg, "  http-request set-var(txn.r) req.body,json_query(%s) if { req.hdr(x-e) -m str %d }\n", c.args, i)
	}
	// add(1) shows the type: a string adds its leading digits.
	fmt.Fprintf(&cfg, "  http-request return status 200 content-type text/plain lf-string \"[%%[var(txn.r)]] [%%[var(txn.r),add(1)]]\"\n")
	haproxytest.Start(t, cfg.String())
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	haproxytest.WaitBound(t, addr)
	opts := &sample.ParseOptions{ReadFile: os.ReadFile}
	for i, c := range jsonQueryCases {
		head := fmt.Sprintf("POST / HTTP/1.1\r\nHost: h\r\nX-E: %d\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", i, len(c.body))
		ref, _ := haproxyBody(t, addr, head+c.body)
		// The configuration reader unescapes the word as haproxy does.
		args := strings.ReplaceAll(c.args, `\\`, `\`)
		got := [2]string{}
		for k, suffix := range []string{"", ",add(1)"} {
			ex, err := sample.ParseExpr("req.body,json_query("+args+")"+suffix, opts)
			if err != nil {
				t.Fatalf("%s: %v", c.args, err)
			}
			if v, ok := ex.Eval(txnFromRaw(t, head, c.body)); ok {
				got[k] = v.String()
			}
		}
		if want := "[" + got[0] + "] [" + got[1] + "]"; want != ref {
			t.Errorf("%s on %s: haproxy %s, gproxy %s", c.args, c.body, ref, want)
		}
	}
}
