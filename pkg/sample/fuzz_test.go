package sample

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseCond: any condition text either compiles or fails with a
// syntax error (never a panic), and a compiled one evaluates on a
// transaction without panicking.
func FuzzParseCond(f *testing.F) {
	for _, s := range []string{
		"if { path_beg /static /images } !{ hdr(host) -i example.com } or METH_POST",
		"unless { src 10.0.0.0/8 ::1 } || { req.ssl_sni -m end .example.com }",
		"if { hdr_val(content-length) gt 10 } { path,map_beg(m.map) -m found }",
		"if { url_param(a,;) -m reg ^[0-9]+$ } { req.cook_cnt(SID) ge 1 }",
		"if !{ int(5) lt 3 ge 2 1:4 } { str(x),regsub(\"(a)\",\\1,g) -m len 1: }",
		"if { var(txn.x) -m int eq 1 } { req.payload(0,3) -m bin 474554 }",
		"if { hdr(x),field(2,/,0),word(-1,.) -m dom a.b } { path -f l.lst }",
		"if a b or !c",
	} {
		f.Add(s)
	}
	acls := ACLSet{}
	for _, l := range []string{"a path /", "b always_true", "c hdr_cnt(x) 1"} {
		w := strings.Fields(l)
		a, err := ParseACL(w[0], w[1:], nil)
		if err != nil {
			f.Fatal(err)
		}
		acls.Add(a)
	}
	opts := &ParseOptions{ReadFile: func(name string) ([]byte, error) {
		switch name {
		case "m.map":
			return []byte("/a x\n/b y\n"), nil
		case "l.lst":
			return []byte("/x\n/y\n"), nil
		}
		return nil, errors.New("no file")
	}}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCond(strings.Fields(s), acls, opts)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("%q: error %v does not wrap ErrSyntax", s, err)
			}
			return
		}
		txn := richTxn()
		txn.Payload = []byte(s)
		c.Eval(txn)
		c.EvalMore(txn)
	})
}

// FuzzParseExpr: any expression either compiles or fails with a syntax
// error, and a compiled one evaluates without panicking.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		"req.hdr(host,-1),lower,field(1,:)",
		"src,ipmask(24,64),map_ip(m.map,none)",
		"str(a\\ b\\\"c),concat('x,y',txn.v,\"z)\"),url_dec(1),json(utf8)",
		"int(-9223372036854775808),div(-1),mul(2),sub(txn.n)",
		"req.payload(0,0),hex,upper,regsub(A,b,gi)",
		"url_param(,&),b64dec,base64,length,bool,not",
		"str(x),word(0,/)",
		"path,,,lower",
	} {
		f.Add(s)
	}
	opts := &ParseOptions{ReadFile: func(name string) ([]byte, error) {
		if name == "m.map" {
			return []byte("10.0.0.0/8 lan\n::/0 v6\n"), nil
		}
		return nil, errors.New("no file")
	}}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s, opts)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("%q: error %v does not wrap ErrSyntax", s, err)
			}
			return
		}
		txn := richTxn()
		txn.Payload = []byte(s)
		if v, ok := e.Eval(txn); ok {
			_ = v.String()
		}
	})
}

// FuzzJSONQuery runs json_query on untrusted bodies and paths: never a
// panic, and an integer result stays in JSON's interoperable range.
func FuzzJSONQuery(f *testing.F) {
	f.Add(`{"a":[10,20,{"x":"y"}]}`, "$.a[2].x", false)
	f.Add(`{"d":0x1f,"s":"\u00zz"}`, "$.d", true)
	f.Add(`{"my.key":"v"} junk`, `$.my\.key`, false)
	f.Add(`[[1,2],[3,4],]`, "$[1][0]", true)
	f.Fuzz(func(t *testing.T, body, path string, asInt bool) {
		if path == "" || strings.ContainsAny(path, "'\"\\(),") {
			return
		}
		args := "'" + path + "'"
		if asInt {
			args += ",int"
		}
		ex, err := ParseExpr("req.body,json_query("+args+")", &ParseOptions{})
		if err != nil {
			return
		}
		txn := &Txn{Req: &Message{Method: "POST", URI: "/", Version: "HTTP/1.1", Body: []byte(body)}}
		if v, ok := ex.Eval(txn); ok && v.Type == TypeInt && (v.Int > jsonIntMax || v.Int < -jsonIntMax) {
			t.Fatalf("%q on %q: %d out of range", path, body, v.Int)
		}
	})
}

// FuzzFIX runs the FIX converters on any buffer: no panic; a valid
// message has its BeginString and MsgType; a buffer cut short of a valid
// message is never invalid, only incomplete (more data may come).
func FuzzFIX(f *testing.F) {
	f.Add([]byte("8=FIX.4.4\x019=45\x0135=A\x0149=CLIENT1\x0156=EXECUTOR\x0134=1\x0198=0\x01108=30\x0110=138\x01"))
	f.Add([]byte("8=FIXT.1.1\x019=20\x0135=A\x0115000=x\x011500=y\x0110=088\x01"))
	f.Add([]byte("8=FIX.4.4\x019=5\x0135=A\x01=x\x0110=000\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st := fixValidate(b)
		for _, id := range []uint32{fixBeginStr, fixBodyLength, fixMsgType, fixCheckSum, 49} {
			fixTagValue(b, id)
		}
		if st != fixValid {
			return
		}
		for _, id := range []uint32{fixBeginStr, fixMsgType} {
			if _, _, ok := fixTagValue(b, id); !ok {
				t.Fatalf("valid %q: no tag %d", b, id)
			}
		}
		for i := fixMinSize; i < len(b); i++ {
			if fixValidate(b[:i]) == fixInvalid {
				t.Fatalf("valid %q: its first %d bytes are invalid", b, i)
			}
		}
	})
}
