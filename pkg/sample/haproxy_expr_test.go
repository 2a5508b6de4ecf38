package sample_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/sample"
)

// diffExprs are sample expressions printed by haproxy 2.6 (%[expr] in an
// lf-string) and by sample on the same request; an absent sample prints
// as nothing in both.
var diffExprs = []string{
	// FIX messages (converter/fix): valid, a bad checksum, a bad body length, a tag out of its
	// version's range, user-defined tags, truncated, an unknown version, misordered, an empty tag.
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_is_valid",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333901),fix_is_valid",
	"bin(383d4649582e342e3401393d34360133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333901),fix_is_valid",
	"bin(383d4649582e342e3001393d31310133353d41013530303d780131303d30343001),fix_is_valid",
	"bin(383d464958542e312e3101393d32300133353d410131353030303d7801313530303d790131303d30383801),fix_is_valid",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e5431),fix_is_valid",
	"bin(383d4649582e392e3901393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31343801),fix_is_valid",
	"bin(383d4649582e342e3401393d31300134393d410133353d420131303d32303501),fix_is_valid",
	"bin(383d4649582e342e3401393d350133353d41013d780131303d30303001),fix_is_valid",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(35)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(MsgType)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(sendercompid)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(TargetCompID)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(10)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(9)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(8)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(777)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(BodyLength)",
	"bin(383d4649582e342e3401393d34350133353d410134393d434c49454e54310135363d4558454355544f520133343d310139383d30013130383d33300131303d31333801),fix_tag_value(108)",
	"bin(383d4649582e342e3401393d343501),fix_tag_value(35)",
	"bin(383d4649582e342e3401393d343501),fix_tag_value(8)",
	"path", "pathq", "url", "query", "base", "baseq", "method", "req.ver",
	"url_param(b)", "urlp(a)", "urlp(zz)", "url_param", "urlp_val(a)",
	"hdr(host)", "hdr(x-list)", "hdr(x-list,1)", "hdr(x-list,2)", "hdr(x-list,-2)", "hdr(x-list,9)",
	"req.fhdr(x-list)", "req.fhdr(x-list,1)", "hdr_cnt(x-list)", "req.fhdr_cnt(x-list)", "hdr_cnt(nope)",
	"hdr_val(x-num)", "hdr_ip(x-ip)", "hdr_ip(x-ip6)", "req.cook(SID)", "req.cook(nope)", "req.cook",
	"cook(lang)", "req.cook_val(SID)", "req.cook_val", "req.cook_val()", "req.cook_cnt(lang)", "req.cook_cnt(SID)", "req.cook_cnt", "cookie(lang)", "req.hdr_names", "req.hdr_names(;)",
	"capture.req.method", "capture.req.uri", "capture.req.ver",
	"src", "dst", "dst_port", "fe_name", "always_true", "always_false",
	"str(Hello),lower", "str(Hello),upper", "str(hello),length", "str(AB),hex", "str(hello),base64",
	"str(aGVsbG8=),b64dec", "int(3),bool", "int(0),not", "int(3),add(4)", "int(3),sub(4)", "int(3),mul(4)",
	"int(13),div(4)", "int(13),div(0)", "int(13),mod(4)", "int(12),and(10)", "int(12),or(3)",
	"int(12),xor(4)", "int(3),neg", "int(3),add(txn.n)", "int(6),odd", "int(6),even", "str(ff),hex2i",
	"src,ipmask(16)", "src,ipmask(255.255.255.0)", "ipv6(2001:db8::1),ipmask(8,32)",
	"ipv6(2001:db8::bad:c0f:ffff),ipmask(24,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00)",
	"ipv6(2001:db8::bad:c0f:ffff),ipmask(24,ffff:ffff:ffff:ffff:ffff:ffff:ffff:fee0)",
	"ipv6(2001:db8:c001:c01a:ffff:ffff:10:ffff),ipmask(24,ffff:ffff:ffff:ffff:0:ffff:ffff:0)",
	"ipv6(::ffff:192.168.1.101),ipmask(255.0.255.0,64)", "ipv4(192.168.1.101),ipmask(255.0.255.128)",
	"ipv4(192.168.1.101),ipmask(+8)", "ipv4(192.168.1.101),ipmask(-0)", "ipv6(2001:db8::1),ipmask(8,-0)",
	"ipv6(2001:db8::1),ipmask(8,::ffff:255.255.0.0)",
	"str(a/b//c),field(2,/)", "str(a/b//c),field(-1,/)", "str(a/b//c),field(2,/,2)", "str(a/b//c),field(2,/,0)",
	"str(a/b//c),field(9,/)", "str(f1_f2_f3__f5),field(-2,_,3)", "str(f1_f2_f3__f5),field(-3,_,0)",
	"str(f1_f2_f3__f5),word(3,_,2)", "str(f1_f2_f3__f5),word(-2,_,3)", "str(f1_f2_f3__f5),word(-3,_,0)",
	"str(/f1/f2/f3/f4),word(1,/)", "str(a/b//c),word(9,/)",
	"str(hello world),regsub(o,0)", "str(hello world),regsub(o,0,g)", "str(hello world),regsub(O,0,gi)",
	"str(hello world),regsub(\"(l+)o\",<\\1>)", "str(abc),strcmp(txn.s)", "str(abd),strcmp(txn.s)",
	"str(x),concat(<,txn.s,>)", "str(a%20b+c),url_dec", "str(a%20b+c),url_dec(1)", "str(a/b\\\"c),json",
	"bool(true)", "bin(4142),hex", "str(12abc),add(1)", "src,lower", "ipv4(10.0.0.1),add(1)",
	"int(167772162),ipmask(24)", "str(xxabcxx),ltrim(x)", "str(xxabcxx),rtrim(x)", "int(1),iif(yes,no)",
	"int(0),iif(yes,no)", "int(258),htonl,hex", "str(hello),ub64enc", "str(aGVsbG8),ub64dec",
	"str(hello),sha1,hex", "str(hello),sha2,hex", "str(hello),sha2(512),hex", "int(1500000000),http_date",
	"int(1500000000),http_date(3600)", "str(a b&c=d/é),url_enc", "str(a),add_item(;,txn.s)",
	"str(),add_item(;,,z)", "str(abcdef),bytes(2,3)", "str(abcdef),bytes(2)", "req.hdrs,length",
	"str(b),map_str(MAP)", "str(/api/x),map_beg(MAP,none)", "str(zz),map(MAP,none)", "src,map_ip(IPMAP,none)",
	"req.body_len", "var(txn.s)", "var(txn.n),add(1)", "req.ver,length", "method,lower",
	"str(hello),djb2", "str(hello),djb2(1)", "str(hello),sdbm", "str(hello),sdbm(1)", "str(hello),wt6",
	"str(hello),wt6(1)", "str(hello),crc32", "str(hello),crc32(1)", "str(hello),crc32c",
	"str(hello),xxh32", "str(hello),xxh32(7)", "str(hello),xxh32(-1)", "str(0123456789abcdefXYZ),xxh32(3)", "str(),xxh32",
	"str(hello),xxh64", "str(hello),xxh64(7)", "str(hello),xxh64(-1)", "str(0123456789abcdef0123456789abcdef0123456789),xxh64(9)",
	"str(hello),xxh3", "str(hello),xxh3(7)", "str(hello),xxh3(-1)", "str(),xxh3", "str(),xxh3(5)", "path,xxh3", "url,xxh3(12345)",
	"str(0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef),xxh3(77)", "base32",
	"int(1500000000),utime(%Y-%m-%d %H:%M:%S %a %A %b %B %j %e %I %p %y %u %w %C %D %F %T %R %z %Z %s %%)",
	"int(1500000000),utime(%d/%b/%Y:%H:%M:%S,3600)", "int(1500000000),ltime(%Y%m%d%H%M%S)",
	"str(é),regsub(.,x,g)", "str(aéb),regsub(\"^a.\",<>)", "str(é),length",
	"bin(01020304050607),be2dec(:,2)", "bin(01020304050607),be2dec(-,2,1)", "bin(01020304050607),be2dec(,2,1)",
	"bin(7f000001),be2dec(.,1)", "bin(01),be2dec(:,2,1)", "bin(01020304050607),be2hex", "bin(01020304050607),be2hex(:,2)",
	"bin(01020304050607),be2hex(--,2,1)", "bin(0102030405060708),be2hex(,3,1)", "str(hello),digest(md5),hex",
	"str(hello),digest(sha256),hex", "str(hello),digest(SHA512),hex", "str(hello),digest(sha3-256),hex",
	"str(hello),hmac(sha1,a2V5),hex", "str(hello),hmac(sha256,txn.k),hex", "str(abc),secure_memcmp(txn.s)",
	"str(abd),secure_memcmp(txn.s)", "str(ab),secure_memcmp(txn.s)", "str(abc),secure_memcmp(txn.none)",
	"str(x),add_item(;,txn.s,z)", "str(),add_item(;,txn.none,z)",
	"str(é),json", "str(é),json(utf8)", "bin(e0),json(utf8)", "bin(2de02d),json(utf8s)", "bin(c0af),json(utf8p)",
	"bin(c0af),json(utf8)", "bin(eda080),json(utf8ps)", "bin(eda080),json(utf8p)", "bin(f09f9880),json(utf8)",
	"bin(f09f9880),json(utf8s)", "bin(f88080808041),json(utf8ps)", "bin(0a7f),json(ascii)",
}

const exprMap = "/api api\nb B\n"

const exprIPMap = "10.0.0.0/8 lan\n127.0.0.0/8 loop\n"

func TestHaproxyExprValues(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	mapPath := t.TempDir() + "/e.map"
	ipMapPath := mapPath + ".ip"
	if err := os.WriteFile(mapPath, []byte(exprMap), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ipMapPath, []byte(exprIPMap), 0o644); err != nil {
		t.Fatal(err)
	}
	files := strings.NewReplacer("IPMAP", ipMapPath, "MAP", mapPath)
	port := haproxytest.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n")
	fmt.Fprintf(&cfg, "frontend fe\n  bind 127.0.0.1:%d\n", port)
	fmt.Fprintf(&cfg, "  http-request set-var(txn.n) int(5)\n  http-request set-var(txn.s) str(abc)\n  http-request set-var(txn.k) str(a2V5)\n")
	for i, e := range diffExprs {
		fmt.Fprintf(&cfg, "  http-request return status 200 content-type text/plain lf-string \"[%%[%s]]\" if { req.hdr(x-e) -m str %d }\n",
			cfgQuote(files.Replace(e)), i)
	}
	haproxytest.Start(t, cfg.String())
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	haproxytest.WaitBound(t, addr)

	head := "GET /static/img/logo.png?a=1&b=two HTTP/1.1\r\nHost: www.Example.com:8080\r\nX-List: a, b,c\r\nX-List: d\r\n" +
		"Cookie: n=7; SID=abc; lang=fr\r\nCookie: SID=def, lang=en\r\nX-Num: 12\r\nX-IP: 10.9.8.7:1234\r\nX-IP6: 2001:db8::1\r\nConnection: close\r\n"
	opts := &sample.ParseOptions{ReadFile: os.ReadFile}
	for i, e := range diffExprs {
		req := head + fmt.Sprintf("X-E: %d\r\n\r\n", i)
		ref, clientPort := haproxyBody(t, addr, req)
		ex, err := sample.ParseExpr(files.Replace(e), opts)
		if err != nil {
			t.Errorf("%s: %v", e, err)
			continue
		}
		txn := txnFromRaw(t, req, "")
		txn.Src = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), clientPort)
		txn.Dst = netip.MustParseAddrPort(addr)
		txn.Frontend = "fe"
		txn.Vars["txn.n"] = sample.Value{Type: sample.TypeInt, Int: 5}
		txn.Vars["txn.s"] = sample.Value{Type: sample.TypeStr, Str: "abc"}
		txn.Vars["txn.k"] = sample.Value{Type: sample.TypeStr, Str: "a2V5"}
		got := ""
		if v, ok := ex.Eval(txn); ok {
			got = v.String()
		}
		if "["+got+"]" != ref {
			t.Errorf("%s: haproxy %s, gproxy [%s]", e, ref, got)
		}
	}
}

// cfgQuote escapes s for a double-quoted configuration word.
func cfgQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func haproxyBody(t *testing.T, addr, req string) (string, uint16) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	port := uint16(c.LocalAddr().(*net.TCPAddr).Port)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	_, b, ok := strings.Cut(string(out), "\r\n\r\n")
	if !ok {
		t.Fatalf("haproxy answered %q", out)
	}
	return b, port
}
