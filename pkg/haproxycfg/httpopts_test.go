package haproxycfg

import (
	"net/netip"
	"strings"
	"testing"
)

// TestHTTPOptionsParsed: the connection-mode options and `option
// forwardfor` are read into the model with haproxy 2.6's errors and its
// mode-tcp warning (each message checked against haproxy -c by hand and in
// pkg/proxy's differential tests).
func TestHTTPOptionsParsed(t *testing.T) {
	const d = "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n"
	for _, tc := range []struct {
		src  string
		mode HTTPConnMode
		ff   *ForwardFor
		diag string
	}{
		{src: d + "  option http-server-close\nlisten l\n  bind :1\n  option forwardfor except 10.0.0.0/255.0.0.0 header X-Client if-none\n  server s 127.0.0.1:2\n",
			mode: HTTPServerClose, ff: &ForwardFor{Except: netip.MustParsePrefix("10.0.0.0/8"), Header: "X-Client", IfNone: true}},
		{src: d + "  option httpclose\nlisten l\n  bind :1\n  no option httpclose\n  option forwardfor except ::1\n  server s 127.0.0.1:2\n",
			mode: HTTPKeepAlive, ff: &ForwardFor{Except: netip.MustParsePrefix("::1/128")}},
		{src: d + "listen l\n  bind :1\n  option forwardfor except\n", diag: "'option forwardfor except' expects <address>[/mask] as argument."},
		{src: d + "listen l\n  bind :1\n  option forwardfor except 10.0.0.0/255.0.255.0\n", diag: "'option forwardfor except' expects <address>[/mask] as argument."},
		{src: d + "listen l\n  bind :1\n  option forwardfor header\n", diag: "'option forwardfor header' expects <header_name> as argument."},
		{src: d + "listen l\n  bind :1\n  option forwardfor foo\n", diag: "'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'."},
		{src: d + "listen l\n  bind :1\n  option httpclose foo\n", diag: "'option httpclose' cannot handle unexpected argument 'foo'."},
		{src: strings.Replace(d, "mode http", "mode tcp", 1) + "listen l\n  bind :1\n  option forwardfor\n  server s 127.0.0.1:2\n",
			diag: "'option forwardfor' ignored for proxy 'l' as it requires HTTP mode."},
	} {
		cfg, diags, _ := Parse("h.cfg", []byte(tc.src), ParseOptions{})
		if tc.diag != "" {
			found := false
			for _, dg := range diags {
				found = found || strings.Contains(dg.Msg, tc.diag)
			}
			if !found {
				t.Errorf("%q: no %q in %v", tc.src, tc.diag, diags)
			}
			continue
		}
		if len(diags) != 0 {
			t.Errorf("%q: %v", tc.src, diags)
		}
		got := cfg.Proxy("l").HTTP
		if got.ConnMode != tc.mode || got.ForwardFor == nil {
			t.Fatalf("%q: %+v", tc.src, got)
		}
		ff := *got.ForwardFor
		ff.Pos = Pos{}
		if ff != *tc.ff {
			t.Errorf("%q: forwardfor %+v, want %+v", tc.src, ff, *tc.ff)
		}
	}
}

// TestErrorFileContentChecked: an errorfile haproxy refuses to load is an
// alert at its line, with haproxy's words.
func TestErrorFileContentChecked(t *testing.T) {
	files := map[string]string{"/bad": "garbage\n", "/long": "HTTP/1.0 503 Svc\r\nContent-Length: 3\r\n\r\nabcdef", "/ok": "HTTP/1.0 503 Svc\r\nContent-Length: 3\r\n\r\nabc"}
	read := func(p string) ([]byte, error) { return []byte(files[p]), nil }
	src := "defaults\n  mode http\n  errorfile 503 /bad\n  errorfile 502 /long\n  errorfile 504 /ok\n"
	cfg, diags, err := Parse("e.cfg", []byte(src), ParseOptions{ReadFile: read})
	if err == nil {
		t.Fatal("bad errorfiles accepted")
	}
	want := []string{
		"parsing [e.cfg:3] : errorfile : '/bad': unable to parse headers (error offset: 0)",
		"parsing [e.cfg:4] : errorfile : '/long': payload size does not match the announced content-length (6 != 3)",
	}
	for i, w := range want {
		if i >= len(diags) || diags[i].Severity != Alert || !strings.Contains(diags[i].String(), w) {
			t.Errorf("diag %d: %v, want %q", i, diags, w)
		}
	}
	_ = cfg
}
