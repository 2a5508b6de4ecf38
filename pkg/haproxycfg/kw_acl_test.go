package haproxycfg

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"hapair/pkg/sample"
)

// TestACLCondition parses `acl` lines and compiles rule conditions with
// parseCond, as the rules will: the proxy's ACLs (several lines ORed),
// pattern files through the configuration's reader, predefined ACLs,
// and no ACL borrowed from another section or from defaults.
func TestACLCondition(t *testing.T) {
	src := `defaults web
    mode http
    acl from_defaults path /d
frontend fe from web
    bind :80
    acl static path_beg /static
    acl static path_end .png
    acl internal src -f nets.lst
    acl admin hdr(host) -i admin.example.com
backend be
    acl other path /o
`
	read := func(name string) ([]byte, error) {
		if name == "nets.lst" {
			return []byte("10.0.0.0/8\n# lab\n192.168.0.0/16\n"), nil
		}
		return nil, errors.New("no such file")
	}
	p := newParser(ParseOptions{ReadFile: read})
	p.parseFile("acl.cfg", []byte(src))
	var fe *Proxy
	for _, ps := range p.proxies {
		if ps.px.Name == "fe" {
			fe = ps.px
		}
	}
	if fe == nil {
		t.Fatalf("no frontend parsed; diagnostics %v", p.diags)
	}
	for _, d := range p.diags {
		t.Errorf("unexpected diagnostic: %s", d.FormatWithPID(1))
	}
	txn := func(path, host, src string) *sample.Txn {
		return &sample.Txn{Src: netip.MustParseAddrPort(src + ":1000"),
			Req: &sample.Message{Method: "GET", URI: path, Version: "HTTP/1.1",
				Headers: []sample.Header{{Name: "Host", Value: host}}}}
	}
	for _, c := range []struct {
		cond string
		txn  *sample.Txn
		want bool
	}{
		{"if static", txn("/static/a", "x", "1.2.3.4"), true},
		{"if static", txn("/b.png", "x", "1.2.3.4"), true},
		{"if static", txn("/b.gif", "x", "1.2.3.4"), false},
		{"if internal", txn("/", "x", "192.168.1.1"), true},
		{"unless internal", txn("/", "x", "192.168.1.1"), false},
		{"if admin !internal", txn("/", "Admin.Example.com", "8.8.8.8"), true},
		{"if admin !internal or static", txn("/", "Admin.Example.com", "10.0.0.1"), false},
		{"if METH_GET { path_len 2 }", txn("/x", "x", "1.2.3.4"), true},
	} {
		cond, err := p.parseCond(fe, strings.Fields(c.cond))
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		if got := cond.Eval(c.txn); got != c.want {
			t.Errorf("%s on %s = %v, want %v", c.cond, c.txn.Req.URI, got, c.want)
		}
	}
	for cond, want := range map[string]string{
		"if other":         "no such ACL : 'other'",
		"if from_defaults": "no such ACL : 'from_defaults'",
		"if { path -f x }": "failed to open pattern file <x>",
		"static":           "conditions must start with either 'if' or 'unless'",
	} {
		if _, err := p.parseCond(fe, strings.Fields(cond)); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", cond, err, want)
		}
	}
}
