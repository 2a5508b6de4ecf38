package sample

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

type fakeEnv struct{}

func (fakeEnv) NbSrv(be string) int {
	if be == "app" {
		return 2
	}
	return -1
}
func (fakeEnv) SrvIsUp(be, srv string) bool { return be == "app" && srv == "s1" }
func (fakeEnv) BeConn(be string) int        { return 7 }
func (fakeEnv) FeConn(fe string) int        { return 3 }
func (fakeEnv) CheckUser(list, u, p string) bool {
	return list == "users" && u == "alice" && p == "secret"
}
func (fakeEnv) UserGroups(list, u string) []string { return []string{"dev", "ops"} }

func richTxn() *Txn {
	t := testTxn()
	t.Backend = "app"
	t.Server = "s1"
	t.Env = fakeEnv{}
	t.Vars = map[string]Value{"txn.n": {Type: TypeInt, Int: 5}, "txn.s": {Type: TypeStr, Str: "abc"}}
	t.Req.Headers = append(t.Req.Headers,
		Header{"Authorization", "Basic YWxpY2U6c2VjcmV0"}, // alice:secret
		Header{"X-IP", "10.9.8.7:1234"}, Header{"X-IP6", "2001:db8::1"})
	t.Req.Body = []byte("a=1&b=2")
	t.Res = &Message{Status: 404, Version: "HTTP/1.1", Headers: []Header{
		{"Set-Cookie", "SRV=s1; path=/"}, {"Set-Cookie", "theme=dark"}, {"Content-Type", "text/html"}}}
	return t
}

// TestExprValues evaluates sample expressions (fetches and converters)
// against one transaction; "-" is "no sample".
func TestExprValues(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"src", "10.1.2.3"},
		{"dst", "192.168.0.1"},
		{"src_port", "40000"},
		{"dst_port", "80"},
		{"always_true", "1"},
		{"always_false", "0"},
		{"path", "/static/img/logo.png"},
		{"pathq", "/static/img/logo.png?a=1&b=two"},
		{"url", "/static/img/logo.png?a=1&b=two"},
		{"query", "a=1&b=two"},
		{"base", "www.Example.com:8080/static/img/logo.png"},
		{"method", "GET"},
		{"req.ver", "1.1"},
		{"req_ver", "1.1"},
		{"res.ver", "1.1"},
		{"status", "404"},
		{"url_param(b)", "two"},
		{"urlp(a)", "1"},
		{"urlp(zz)", "-"},
		{"url_param", "1"},
		{"urlp_val(a)", "1"},
		{"hdr(host)", "www.Example.com:8080"},
		{"hdr(x-list)", "d"},
		{"hdr(x-list,1)", "a"},
		{"hdr(x-list,2)", "b"},
		{"hdr(x-list,-2)", "c"},
		{"hdr(x-list,9)", "-"},
		{"req.fhdr(x-list)", "d"},
		{"req.fhdr(x-list,1)", "a, b,c"},
		{"hdr_cnt(x-list)", "4"},
		{"req.hdr_cnt(x-list)", "4"},
		{"req.fhdr_cnt(x-list)", "2"},
		{"hdr_cnt(nope)", "0"},
		{"hdr_val(content-length)", "12"},
		{"hdr_ip(x-ip)", "10.9.8.7"},
		{"hdr_ip(x-ip6)", "2001:db8::1"},
		{"res.hdr(content-type)", "text/html"},
		{"shdr(content-type)", "text/html"},
		{"res.hdr_cnt(set-cookie)", "2"},
		{"req.cook(SID)", "abc"},
		{"req.cook(nope)", "-"},
		{"req.cook", "abc"},
		{"cook(lang)", "fr"},
		{"req.cook_cnt(SID)", "1"},
		{"req.cook_cnt", "2"},
		{"res.cook(SRV)", "s1"},
		{"res.cook(theme)", "dark"},
		{"req.body", "a=1&b=2"},
		{"req.body_len", "7"},
		{"nbsrv", "2"},
		{"nbsrv(app)", "2"},
		{"be_conn", "7"},
		{"fe_conn", "3"},
		{"srv_is_up(app/s1)", "1"},
		{"srv_is_up(s2)", "0"},
		{"var(txn.n)", "5"},
		{"var(txn.none)", "-"},
		{"fe_name", "fe"},
		{"be_name", "app"},
		{"srv_name", "s1"},
		{"http_auth(users)", "1"},
		{"http_auth_group(users)", "alice"},
		{"http_auth_user", "alice"},
		{"http_auth_pass", "secret"},
		{"http_auth_type", "Basic"},
		{"req.len", "218"}, // the HTX size of the request (TestIntegrationSetVarConditionsHaproxy compares it with haproxy)
		{"ssl_fc", "0"},
		{"str(Hello),lower", "hello"},
		{"str(Hello),upper", "HELLO"},
		{"str(hello),length", "5"},
		{"str(AB),hex", "4142"},
		{"str(hello),base64", "aGVsbG8="},
		{"str(aGVsbG8=),b64dec", "hello"},
		{"int(3),bool", "1"},
		{"int(0),bool", "0"},
		{"int(0),not", "1"},
		{"int(3),add(4)", "7"},
		{"int(3),sub(4)", "-1"},
		{"int(3),mul(4)", "12"},
		{"int(13),div(4)", "3"},
		{"int(13),div(0)", "9223372036854775807"},
		{"int(13),mod(4)", "1"},
		{"int(12),and(10)", "8"},
		{"int(12),or(3)", "15"},
		{"int(12),xor(4)", "8"},
		{"int(3),neg", "-3"},
		{"int(3),add(txn.n)", "8"},
		{"int(3),add(txn.none)", "-"},
		{"int(6),odd", "0"},
		{"int(6),even", "1"},
		{"str(ff),hex2i", "255"},
		{"src,ipmask(16)", "10.1.0.0"},
		{"src,ipmask(255.255.255.0)", "10.1.2.0"},
		{"ipv6(2001:db8::1),ipmask(8,32)", "2001:db8::"},
		{"str(a/b//c),field(2,/)", "b"},
		{"str(a/b//c),field(3,/)", ""},
		{"str(a/b//c),field(-1,/)", "c"},
		{"str(a/b//c),field(2,/,2)", "b/"},
		{"str(a/b//c),field(2,/,0)", "b//c"},
		{"str(a/b//c),word(3,/)", "c"},
		{"str(a/b//c),word(2,/)", "b"},
		{"str(a/b//c),word(-1,/)", "c"},
		{"str(a/b//c),word(9,/)", ""},
		{"str(a/b//c),field(9,/)", "-"},
		{"str(f1_f2_f3__f5),field(-2,_,3)", "f2_f3_"},
		{"str(f1_f2_f3__f5),field(-3,_,0)", "f1_f2_f3"},
		{"str(f1_f2_f3__f5),word(3,_,2)", "f3__f5"},
		{"str(f1_f2_f3__f5),word(-2,_,3)", "f1_f2_f3"},
		{"str(f1_f2_f3__f5),word(-3,_,0)", "f1_f2"},
		{"str(/f1/f2/f3/f4),word(1,/)", "f1"},
		{"str(hello world),regsub(o,0)", "hell0 world"},
		{"str(hello world),regsub(o,0,g)", "hell0 w0rld"},
		{"str(hello world),regsub(O,0,gi)", "hell0 w0rld"},
		{"str(hello world),regsub(\"(l+)o\",<\\1>)", "he<ll> world"},
		{"str(abc),strcmp(txn.s)", "0"},
		{"str(abd),strcmp(txn.s)", "1"},
		{"str(x),concat(<,txn.s,>)", "x<abc>"},
		{"str(a%20b+c),url_dec", "a b+c"},
		{"str(a%20b+c),url_dec(1)", "a b c"},
		{"str(a\\\"b),json", "a\\\"b"},
		{"str(ab\\r\\ncd),cut_crlf", "ab"},
		{"bool(true)", "1"},
		{"bin(4142),hex", "4142"},
		{"str(12abc),add(1)", "13"},
		{"src,lower", "10.1.2.3"},
		{"ipv4(10.0.0.1),add(1)", "167772162"},
		{"int(167772162),ipmask(24)", "10.0.0.0"},
	} {
		e, err := ParseExpr(c.expr, nil)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		v, ok := e.Eval(richTxn())
		got := "-"
		if ok {
			got = v.String()
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}

// TestExprErrors checks haproxy's wording for expressions that do not
// parse (sample_parse_expr and make_arg_list).
func TestExprErrors(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"", "missing fetch method"},
		{"nope", "unknown fetch method 'nope'"},
		{"path_beg", "unknown fetch method 'path_beg'"}, // an ACL keyword, not a fetch
		{"ssl_c_verify", "fetch method 'ssl_c_verify' is not implemented by gproxy"},
		{"path,sha1,aes_gcm_dec(128,a,b,c)", "converter 'aes_gcm_dec' is not implemented by gproxy"},
		{"path,nope", "unknown converter 'nope'"},
		{"path lower", "missing comma after fetch keyword 'path'"},
		{"path,lower upper", "missing comma after converter 'lower'"},
		{"hdr(a,b)", "fetch method 'hdr' : failed to parse 'b' as type 'integer' at position 2"},
		{"hdr(a", "fetch method 'hdr' : expected ')'"},
		{"str", ""}, // an empty string argument, as haproxy
		{"int", "fetch method 'int' : expected type 'integer' at position 1, but got nothing"},
		{"int()", "fetch method 'int' : expected type 'integer' at position 1, but got nothing"},
		{"path,lower(1)", "invalid arg 1 in converter 'lower' : expected ')' before '1)'"},
		{"path,field(0,/)", "invalid args in converter 'field' : Unexpected value 0 for index"},
		{"path,field(1,)", "invalid args in converter 'field' : Empty separators list"},
		{"path,add(x)", "invalid args in converter 'add' : expects an integer or a variable name"},
		{"src,ipmask(33)", "invalid arg 1 in converter 'ipmask' : failed to parse '33' as type 'IPv4 mask' at position 1"},
		{"var(foo)", "invalid args in fetch method 'var' : invalid variable name 'foo'"},
		{"path,regsub(a(,b)", "regex 'a(' is invalid (error=missing closing parenthesis"},
		{"path,regsub(\"(a)\\1\",b)", "uses a PCRE feature gproxy does not support"},
		{"path,regsub(x,y,q)", "invalid regex flag 'q', only 'i' and 'g' are supported"},
		{"path,map(none.map)", "invalid args in converter 'map' : failed to open pattern file <none.map>"},
		{"bool(2)", "Expects 'true', 'false', '0' or '1'"},
		{"method,length", ""}, // meth -> str cast exists
		{"status,ipmask(8)", ""},
	} {
		_, err := ParseExpr(c.expr, nil)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", c.expr, err)
		case c.want != "" && err == nil:
			t.Errorf("%q: no error, want %q", c.expr, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%q: error %q, want %q", c.expr, err, c.want)
		case err != nil && !errors.Is(err, ErrSyntax):
			t.Errorf("%q: error %v does not wrap ErrSyntax", c.expr, err)
		}
	}
}

// TestMatchMethods runs each match method and flag on known samples.
func TestMatchMethods(t *testing.T) {
	for _, c := range []struct {
		acl  string
		want bool
	}{
		{"str(abc) abc", true},
		{"str(abc) ABC", false},
		{"str(abc) -i ABC", true},
		{"str(abcdef) -m beg abc", true},
		{"str(abcdef) -m beg -i ABC", true},
		{"str(abcdef) -m end def", true},
		{"str(abcdef) -m end -i DEF", true},
		{"str(abcdef) -m sub cde", true},
		{"str(abcdef) -m sub -i CDE", true},
		{"str(abcdef) -m sub xyz", false},
		{"str(abcdef) -m reg ^a.c", true},
		{"str(abcdef) -m reg ^A.C", false},
		{"str(abcdef) -i -m reg ^A.C", true},
		{"str(abcdef) -m len 6", true},
		{"str(abcdef) -m len 1:5", false},
		{"str(abcdef) -m len 6:", true},
		{"str(abcdef) -m found", true},
		{"str(/a/img/b.png) -m dir img", true},
		{"str(/a/img/b.png) -m dir /img/", true},
		{"str(/a/imgx/b.png) -m dir img", false},
		{"str(/a/img/b.png) -m dir a/img", true},
		{"str(www.example.com) -m dom example.com", true},
		{"str(www.example.com:80) -m dom example.com", true},
		{"str(www.myexample.com) -m dom example.com", false},
		{"str(www.Example.com) -i -m dom example.COM", true},
		{"int(5) 5", true},
		{"int(5) 1:4", false},
		{"int(5) 1-9", true},
		{"int(5) :5", true},
		{"int(5) 6:", false},
		{"int(5) gt 4", true},
		{"int(5) gt 5", false},
		{"int(5) ge 5", true},
		{"int(5) lt 5", false},
		{"int(5) le 5", true},
		{"int(5) eq 5", true},
		{"int(5) lt 3 gt 4", true},
		{"int(5) -m bool", true},
		{"int(0) -m bool", false},
		{"int(0) -m found", true},
		{"always_true", true},
		{"always_false", false},
		{"always_true foo", true},
		{"src 10.1.2.3", true},
		{"src 10.0.0.0/8", true},
		{"src 10.0.0.0/255.0.0.0", true},
		{"src 11.0.0.0/8 ::ffff:10.1.2.3", true},
		{"src 11.0.0.0/8", false},
		{"src -m str 10.1.2.3", true},
		{"ipv6(::ffff:10.1.2.3) 10.1.2.0/24", true},
		{"ipv6(2002:a01:203::1) 10.1.2.3", true},
		{"ipv6(2001:db8::1) 2001:db8::/32", true},
		{"ipv6(2001:db8::1) 10.0.0.0/8", false},
		{"str(10.1.2.3) -m ip 10.1.0.0/16", true},
		{"bin(414243) -m bin 414243", true},
		{"bin(414243) -m bin 4142", false},
		{"payload(0,2) 4745", true},
		{"req.payload(0,2) -m bin 4745", true},
		{"method GET", true},
		{"method get", false},
		{"method POST GET", true},
		{"str(x) -- -x x", true},
		{"str(lower) lower", true}, // the converter word is a pattern too (haproxy 2.6 checked)
		{"str(abc), upper ABC", true},
		{"str(-x) -- -x", true},
		{"hdr(x-list) -m len 1", true},
		{"hdr(x-list) c", true},
		{"hdr(x-list,1) c", false},
		{"hdr_cnt(x-list) 4", true},
		{"hdr_sub(host) Example", true},
		{"hdr_beg(host) www", true},
		{"hdr_end(host) :8080", true},
		{"hdr_len(host) 20", true},
		{"hdr_reg(host) ^www\\.", true},
		{"hdr_dom(host) example.com", false},
		{"hdr_dom(host) -i example.com", true},
		{"hdr_dir(x-list) b", true},
		{"cook(SID) abc", true},
		{"cook_beg(lang) f", true},
		{"url_sub a=1", true},
		{"url_end two", true},
		{"url_len 30", true},
		{"url_reg b=t.o$", true},
		{"url_dom logo", true},
		{"urlp(b) two", true},
		{"urlp_beg(b) tw", true},
		{"base_dom Example", true},
		{"base_end .png", true},
		{"base_reg ^www\\.Example\\.com:8080/", true},
		{"path_len 20", true},
		{"req.ver 1.1", true},
		{"req_ver 1.0", false},
		{"var(txn.n) -m int 5", true},
		{"var(txn.s) -m str abc", true},
		{"var(txn.s) -m found", true},
		{"var(txn.zz) -m found", false},
		{"status 404", true},
		{"status 200:399", false},
		{"shdr(content-type) text/html", true},
		{"scook(SRV) s1", true},
		{"http_auth(users)", true},
		{"http_auth_group(users) ops", true},
		{"http_auth_group(users) admins", false},
		{"nbsrv(app) ge 1", true},
		{"srv_is_up(app/s1)", true},
		{"be_conn gt 10", false},
		{"fe_conn 3", true},
		{"fe_name fe", true},
	} {
		words := strings.Fields(c.acl)
		a, err := ParseACL("x", words, &ParseOptions{ReadFile: testFiles})
		if err != nil {
			t.Errorf("%s: %v", c.acl, err)
			continue
		}
		txn := richTxn()
		txn.Payload = []byte("GET / HTTP/1.0\r\n")
		if got := a.Test(txn); got != c.want {
			t.Errorf("acl %s = %v, want %v", c.acl, got, c.want)
		}
	}
}

func testFiles(name string) ([]byte, error) {
	switch name {
	case "hosts.lst":
		return []byte("# comment\n  www.example.com\nApi.Example.com\n\n"), nil
	case "nets.lst":
		return []byte("10.0.0.0/8\n192.168.0.0/16\n"), nil
	case "m.map":
		return []byte("/static  static_be\n/api api_be\n#x y\nwww.example.com\tweb\n/static/img img_be  \n"), nil
	case "ip.map":
		return []byte("10.0.0.0/8 lan\n10.1.0.0/16 office\n0.0.0.0/0 world\n"), nil
	case "int.map":
		return []byte("1:99 low\n100: high\n"), nil
	case "bad.lst":
		return []byte("10.0.0.1\nnot-an-ip\n"), nil
	case "bad.map":
		return []byte("a 1\nb x\n"), nil
	}
	return nil, errors.New("no such file")
}

// TestFilesAndMaps covers -f pattern files and the map converters.
func TestFilesAndMaps(t *testing.T) {
	o := &ParseOptions{ReadFile: testFiles}
	for _, c := range []struct {
		acl  string
		want bool
	}{
		{"hdr(host) -f hosts.lst", false},
		{"hdr(host),field(1,:) -i -f hosts.lst", true},
		{"src -f nets.lst", true},
		{"path -m beg -M -f m.map", true},
		{"path -m beg -f m.map", false},
		// -i after -f does not apply to the file (haproxy 2.6 checked)
		{"hdr(host),field(1,:) -f hosts.lst -i", false},
		{"hdr(host),field(1,:) -f hosts.lst -i www.example.com", true},
		{"src -f nets.lst -f hosts.lst", false}, // unused: error below
	} {
		a, err := ParseACL("x", strings.Fields(c.acl), o)
		if c.acl == "src -f nets.lst -f hosts.lst" {
			if err == nil || !strings.Contains(err.Error(), "'www.example.com' is not a valid IPv4 or IPv6 address at line 2 of file 'hosts.lst'") {
				t.Errorf("%s: err %v", c.acl, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.acl, err)
		}
		if got := a.Test(richTxn()); got != c.want {
			t.Errorf("%s = %v, want %v", c.acl, got, c.want)
		}
	}
	for _, c := range []struct{ expr, want string }{
		{"path,map_beg(m.map)", "img_be"}, // longest prefix
		{"path,map_str(m.map)", "-"},
		{"path,map_str(m.map,none)", "none"},
		{"str(/api),map(m.map)", "api_be"},
		{"hdr(host),field(1,:),lower,map_dom(m.map)", "web"},
		{"path,map_sub(m.map)", "static_be"},
		{"path,map_reg(m.map)", "static_be"},
		{"src,map_ip(ip.map)", "office"},
		{"ipv4(10.9.9.9),map_ip(ip.map)", "lan"},
		{"ipv4(8.8.8.8),map_ip(ip.map)", "world"},
		{"int(150),map_int(int.map)", "high"},
		{"int(0),map_int(int.map,zero)", "zero"},
		{"str(/api),map_str_int(m.map,7)", ""},
	} {
		e, err := ParseExpr(c.expr, o)
		if c.want == "" {
			if err == nil || !strings.Contains(err.Error(), "unable to parse 'static_be' at line 1 of file 'm.map'") {
				t.Errorf("%s: err %v", c.expr, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		v, ok := e.Eval(richTxn())
		got := "-"
		if ok {
			got = v.String()
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	if _, err := ParseACL("x", []string{"src", "-f", "bad.lst"}, o); err == nil ||
		err.Error() != "'not-an-ip' is not a valid IPv4 or IPv6 address at line 2 of file 'bad.lst'" {
		t.Errorf("bad.lst: %v", err)
	}
	if _, err := ParseACL("x", []string{"path", "-f", "x.lst"}, nil); err == nil ||
		err.Error() != "failed to open pattern file <x.lst>" {
		t.Errorf("no reader: %v", err)
	}
}

// TestCondErrors checks condition parsing errors, haproxy's words.
func TestCondErrors(t *testing.T) {
	acls := ACLSet{}
	for _, c := range []struct{ cond, want string }{
		{"when x", "conditions must start with either 'if' or 'unless'"},
		{"if nope", "no such ACL : 'nope'"},
		{"if { ssl_fc_sni_end x }", "ACL keyword 'ssl_fc_sni_end' is not implemented by gproxy"},
		{"if { ssl_c_used }", "fetch method 'ssl_c_used' is not implemented by gproxy in ACL expression 'ssl_c_used'"},
		{"if { path /a", "missing closing '}' in condition"},
		{"if { foo }", "unknown fetch method 'foo' in ACL expression 'foo'"},
		{"if { path_reg (?<=a)b }", "uses a PCRE feature gproxy does not support"},
		{"if { path_reg a{2,1} }", "regex 'a{2,1}' is invalid"},
		{"if { path_reg a++ }", "uses a PCRE feature gproxy does not support"},
		{"if { path_reg ^/é }", "holds non-ASCII bytes"},
		{"if { src 1.2.3.4/40 }", "'1.2.3.4/40' is not a valid IPv4 or IPv6 address"},
		{"if { src host.example }", "'host.example' is not a valid IPv4 or IPv6 address"},
		{"if { int(1) -m foo }", "unknown matching method 'foo' when parsing ACL expression"},
		{"if { req.body -f x }", "matching method must be specified first (using '-m') when using a sample fetch of this type ('req.body')"},
		{"if { path -m str -f x.lst -m beg }", "failed to open pattern file <x.lst>"},
		{"if { var(txn.x) 1 }", "matching method must be specified first (using '-m') when using a sample fetch of this type ('var')"},
		{"if { int 1 }", "fetch method 'int' : expected type 'integer' at position 1, but got nothing in ACL expression 'int'"},
	} {
		_, err := ParseCond(strings.Fields(c.cond), acls, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.cond, err, c.want)
		}
	}
}

// TestCondLogic covers if/unless, implicit AND, or, !, multiple lines of
// one ACL, and overriding a predefined ACL.
func TestCondLogic(t *testing.T) {
	acls := ACLSet{}
	add := func(name string, words ...string) {
		a, err := ParseACL(name, words, nil)
		if err != nil {
			t.Fatal(err)
		}
		acls.Add(a)
	}
	add("t", "always_true")
	add("f", "always_false")
	add("m", "path", "/x")
	add("m", "path_beg", "/static") // second line ORed
	add("TRUE", "always_false")     // a proxy's own ACL hides the predefined one
	for cond, want := range map[string]bool{
		"if t":                                 true,
		"if f":                                 false,
		"unless f":                             true,
		"unless t":                             false,
		"if t f":                               false,
		"if t !f":                              true,
		"if !!t":                               true,
		"if ! t":                               false,
		"if f or t":                            true,
		"if f || t":                            true,
		"if f OR t":                            true,
		"if f or f or !t":                      false,
		"if t f or t t":                        true,
		"unless t f or f":                      true,
		"if m":                                 true,
		"if TRUE":                              false,
		"if FALSE":                             false,
		"if !{ always_true }":                  false,
		"if { always_true } { path_end .png }": true,
		"if":                                   false,
		"unless":                               true,
	} {
		c, err := ParseCond(strings.Fields(cond), acls, nil)
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		if got := c.Eval(testTxn()); got != want {
			t.Errorf("%s = %v, want %v", cond, got, want)
		}
	}
	var nilCond *Cond
	if !nilCond.Eval(testTxn()) {
		t.Error("nil condition is false")
	}
}

// TestPredefinedACLs evaluates every predefined ACL on a request.
func TestPredefinedACLs(t *testing.T) {
	txn := testTxn()
	txn.Src = netip.MustParseAddrPort("127.0.0.1:5000")
	txn.Payload = []byte("x")
	want := map[string]bool{
		"TRUE": true, "FALSE": false, "LOCALHOST": true, "HTTP": true, "HTTP_1.0": false,
		"HTTP_1.1": true, "HTTP_2.0": false, "METH_CONNECT": false, "METH_DELETE": false,
		"METH_GET": true, "METH_HEAD": false, "METH_OPTIONS": false, "METH_POST": false,
		"METH_PUT": false, "METH_TRACE": false, "HTTP_URL_ABS": false, "HTTP_URL_SLASH": true,
		"HTTP_URL_STAR": false, "HTTP_CONTENT": true, "RDP_COOKIE": false, "REQ_CONTENT": true,
		"WAIT_END": true,
	}
	for name, w := range want {
		a, ok := Predefined(name)
		if !ok {
			t.Errorf("%s: not predefined", name)
			continue
		}
		if got := a.Test(txn); got != w {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	txn.Req.Method = "HEAD"
	if a, _ := Predefined("METH_GET"); !a.Test(txn) {
		t.Error("METH_GET does not match HEAD")
	}
}

// TestRegisterOverride checks that a later registration replaces a
// fetch (as TLS will replace ssl_fc).
func TestRegisterOverride(t *testing.T) {
	RegisterFetch(FetchDef{Name: "test_fetch", Out: TypeInt, Fn: func(*Txn, []Arg) (Value, bool) {
		return Value{Type: TypeInt, Int: 1}, true
	}})
	RegisterFetch(FetchDef{Name: "test_fetch", Out: TypeInt, Fn: func(*Txn, []Arg) (Value, bool) {
		return Value{Type: TypeInt, Int: 2}, true
	}})
	e, err := ParseExpr("test_fetch", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Eval(&Txn{}); v.Int != 2 {
		t.Errorf("got %d, want the second registration", v.Int)
	}
}
