package sample

import (
	"strings"
	"testing"
)

// TestNeeds checks where fetches may be used, with haproxy 2.6's words
// (messages checked against haproxy -c).
func TestNeeds(t *testing.T) {
	for _, c := range []struct {
		expr  string
		at    Checkpoint
		needs string // "" when usable
	}{
		{"path", AtFrontendHTTPRequest, ""},
		{"path", AtFrontendHTTPResponse, "HTTP request headers"},
		{"method", AtFrontendHTTPResponse, ""},
		{"status", AtFrontendHTTPRequest, "HTTP response"},
		{"status", AtLog, ""},
		{"req.hdr(host)", AtLog, "HTTP request headers"},
		{"hdr(host)", AtFrontendHTTPResponse, ""},
		{"src", AtFrontendTCPConnection, ""},
		{"req.ssl_sni", AtFrontendTCPConnection, "request buffer"},
		{"req.ssl_sni", AtFrontendTCPContent, ""},
		{"be_name", AtFrontendHTTPRequest, "backend"},
		{"ssl_fc", AtFrontendTCPConnection, "client-side connection"},
		{"str(x),lower", AtConfigParser, ""},
	} {
		e, err := ParseExpr(c.expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		needs, ok := e.Needs(c.at)
		if ok != (c.needs == "") || needs != c.needs {
			t.Errorf("%s at %s: needs %q ok=%v, want %q", c.expr, c.at, needs, ok, c.needs)
		}
	}
}

func TestConflict(t *testing.T) {
	acls := ACLSet{}
	for _, l := range []string{"p path_beg /a", "m method GET", "pm path_beg /a", "pm status 200"} {
		w := strings.Fields(l)
		a, err := ParseACL(w[0], w[1:], nil)
		if err != nil {
			t.Fatal(err)
		}
		acls.Add(a)
	}
	for _, c := range []struct {
		cond string
		at   Checkpoint
		want string
	}{
		{"if { path_beg /a }", AtFrontendHTTPResponse, "anonymous acl will never match because it uses keyword 'path_beg' which is incompatible with 'frontend http-response header rule'"},
		{"if p m", AtFrontendHTTPResponse, "acl 'p' will never match because it only involves keywords that are incompatible with 'frontend http-response header rule'"},
		{"if pm", AtFrontendHTTPResponse, "acl 'pm' involves keywords 'path_beg' which is incompatible with 'frontend http-response header rule'"},
		{"if { status 200 }", AtFrontendHTTPRequest, "anonymous acl will never match because it uses keyword 'status' which is incompatible with 'frontend http-request header rule'"},
		{"if p m", AtFrontendHTTPRequest, ""},
		{"if m", AtBackendHTTPResponse, ""},
	} {
		cond, err := ParseCond(strings.Fields(c.cond), acls, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := cond.Conflict(c.at); got != c.want {
			t.Errorf("%s at %s:\n got  %q\n want %q", c.cond, c.at, got, c.want)
		}
	}
}
