package logformat

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxytest"
	"hapair/pkg/sample"
)

// parseErrors are refused formats with haproxy 2.6's message (checked
// against haproxy -c by TestIntegrationHaproxyParseErrors).
var parseErrors = []struct {
	format string
	http   bool
	want   string
}{
	{"%zz", true, "no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to use '%%'"},
	{"abc %", true, "truncated line after '%'"},
	{"%{+Q", true, "truncated line after '+Q'"},
	{"%{+Q} x", true, "parse argument modifier without variable name near '%{+Q}'"},
	{"100%1", true, "unexpected variable name near '1' at position 4 line : '100%1'. Maybe you want to write a single '%', use the syntax '%%'"},
	{"a% b", true, "unexpected variable name near ' ' at position 2 line : 'a% b'. Maybe you want to write a single '%', use the syntax '%%'"},
	{"%r", false, "format variable 'r' is reserved for HTTP mode"},
	{"%Ta", false, "format variable 'Ta' is reserved for HTTP mode"},
	{"%CC", false, "format variable 'CC' is reserved for HTTP mode"},
	{"%ci %HPO", false, "format variable 'HPO' is reserved for HTTP mode"},
	{"%[req.hdr(host)] %ci", true, "sample fetch <req.hdr(host)] %ci> may not be reliably used here because it needs 'HTTP request headers' which is not available here"},
	{"%[path]", true, "sample fetch <path]> may not be reliably used here because it needs 'HTTP request headers' which is not available here"},
	{"%[res.hdr(x)]", true, "sample fetch <res.hdr(x)]> may not be reliably used here because it needs 'HTTP response headers' which is not available here"},
	{"%[req.len]", true, "sample fetch <req.len]> may not be reliably used here because it needs 'request buffer' which is not available here"},
	{"%[src", true, "missing ']' after 'src'"},
	{"%[src x]", true, "expected ']' after 'src', but found ' '"},
	{"%[nosuchfetch]", true, "failed to parse sample expression <nosuchfetch]> : unknown fetch method 'nosuchfetch'"},
}

func TestParseErrors(t *testing.T) {
	for _, c := range parseErrors {
		_, err := ParseLog(c.format, nil, c.http)
		if err == nil {
			t.Errorf("%q: no error, want %q", c.format, c.want)
			continue
		}
		if !errors.Is(err, ErrSyntax) || Message(err) != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.format, Message(err), c.want)
		}
	}
}

// TestIntegrationHaproxyParseErrors runs haproxy -c on each refused
// format and checks that it prints the same message.
func TestIntegrationHaproxyParseErrors(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	for _, c := range parseErrors {
		mode := "tcp"
		if c.http {
			mode = "http"
		}
		cfg := fmt.Sprintf("frontend f\n    bind 127.0.0.1:8\n    mode %s\n    log-format %s\n    timeout client 1s\n", mode, cfgQuote(c.format))
		path := filepath.Join(t.TempDir(), "h.cfg")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(haproxytest.Bin, "-c", "-f", path).CombinedOutput()
		want := "failed to parse log-format : " + c.want + "."
		if !strings.Contains(string(out), want) {
			t.Errorf("%q: haproxy says\n%s\nwant %q", c.format, out, want)
		}
	}
}

// TestParseText: literal text, "%%", a '%' before a non-letter, merged
// spaces in log lines only, global options.
func TestParseText(t *testing.T) {
	for _, c := range []struct {
		format string
		log    bool
		want   string
	}{
		{"100%% sure", true, "100% sure"},
		{"a%!b", true, "a!b"},
		{"  a   b  ", true, "a b "},
		{"  a   b  ", false, "  a   b  "},
		{"%{+Q}o%b %{-Q}b %f", true, `"be" be "fe"`},
		{"%{+Q-Q}b %{+Q,-Q}b %{+Q,+Z}b", true, `be be "be"`},
		{"[%CC] [%{-M}CC] [%{+Q}CC]", true, `[-] [] [""]`},
		{"[%CC]", false, `[]`},
		{"%ft%hr%hs|%hrl|", true, "fe||"},
		{"x %hr %hs y", true, "x y"},
	} {
		f, err := ParseWith(c.format, Options{HTTP: true, Log: c.log})
		if err != nil {
			t.Fatalf("%q: %v", c.format, err)
		}
		s := &accesslogSession{FrontendName: "fe", BackendName: "be"}
		if got := string(f.Append(nil, nil, s)); got != c.want {
			t.Errorf("%q: got %q, want %q", c.format, got, c.want)
		}
	}
}

type accesslogSession = accesslog.Session

// TestValueFormat: a log-format value (a header set by a rule, a unique
// id) reads the request through the sample engine, keeps its spaces,
// prints nothing for no sample and %-encodes what a header cannot carry.
func TestValueFormat(t *testing.T) {
	f, err := Parse("id %[req.hdr(host),lower]  [%[req.hdr(x-none)]] %ci:%cp %{+Q}[str(a)]", nil)
	if err != nil {
		t.Fatal(err)
	}
	txn := &sample.Txn{
		Src: netip.MustParseAddrPort("10.0.0.1:4242"),
		Req: &sample.Message{Method: "GET", URI: "/", Version: "HTTP/1.1",
			Headers: []sample.Header{{Name: "Host", Value: "WWW.Example\x01.com"}}},
	}
	want := "id www.example%01.com  [] 10.0.0.1:4242 a"
	if got := string(f.Append(nil, txn, nil)); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
