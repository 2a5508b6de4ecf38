package haproxycfg

import (
	"strings"
	"testing"
)

// TestDispatchModel: a backend without balance keeps its dispatch address
// (named <NOSRV>, as haproxy logs it); a balance, own or inherited from
// defaults, drops it with haproxy's warning.
func TestDispatchModel(t *testing.T) {
	cfg, diags, err := Parse("d.cfg", []byte(`
defaults
    timeout client 1s
    timeout server 1s
    timeout connect 1s
backend v4
    dispatch 127.0.0.1:8080
backend v6
    dispatch [::1]:81
backend any
    dispatch *:82
backend bal
    balance leastconn
    dispatch 127.0.0.1:83
defaults
    timeout client 1s
    timeout server 1s
    timeout connect 1s
    balance first
backend inherited
    dispatch 127.0.0.1:84
`), ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	for name, want := range map[string]string{"v4": "127.0.0.1:8080", "v6": "[::1]:81", "any": "0.0.0.0:82", "bal": "", "inherited": ""} {
		px := cfg.Proxy(name, KindBackend)
		got := ""
		if px.Dispatch != nil {
			got = px.Dispatch.Address(0)
			if px.Dispatch.Name != "<NOSRV>" || px.Dispatch.Pos.Line == 0 {
				t.Errorf("%s: dispatch %+v, want the name <NOSRV> and its line", name, px.Dispatch)
			}
		}
		if got != want {
			t.Errorf("%s: dispatch %q, want %q", name, got, want)
		}
	}
	var warns []string
	for _, d := range diags {
		warns = append(warns, d.Msg)
	}
	want := []string{"dispatch address of backend 'bal' will be ignored in balance mode.", "dispatch address of backend 'inherited' will be ignored in balance mode."}
	if strings.Join(warns, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics %q, want %q", warns, want)
	}
}

// TestDispatchRefused: the uses gproxy does not serve as haproxy does are
// refused with an alert naming the dispatch line (haproxy accepts them).
func TestDispatchRefused(t *testing.T) {
	for _, c := range []struct{ lines, want string }{
		{"dispatch 127.0.0.1:80\n    server s 127.0.0.1:81", "[d.cfg:4] : 'dispatch' in backend 'b' with servers is not implemented by gproxy"},
		{"mode http\n    cookie SRV insert\n    dispatch 127.0.0.1:80", "[d.cfg:6] : 'dispatch' in backend 'b' with a cookie is not implemented"},
		{"mode http\n    http-send-name-header X-Srv\n    dispatch 127.0.0.1:80", "[d.cfg:6] : 'dispatch' in backend 'b' with http-send-name-header is not implemented"},
		{"stick-table type ip size 10\n    stick on src\n    dispatch 127.0.0.1:80", "[d.cfg:6] : 'dispatch' in backend 'b' with stick rules is not implemented"},
		{"dispatch localhost:80", "[d.cfg:4] : 'dispatch' : a host name ('localhost') is not implemented by gproxy"},
		{"dispatch unix@/run/x.sock", "[d.cfg:4] : 'dispatch' : address prefix 'unix@' in 'unix@/run/x.sock' is not implemented by gproxy"},
		{"dispatch /run/x.sock", "[d.cfg:4] : 'dispatch' : UNIX socket address '/run/x.sock' is not implemented by gproxy"},
	} {
		src := "defaults\n    timeout connect 1s\nbackend b\n    " + c.lines + "\n"
		_, diags, err := Parse("d.cfg", []byte(src), ParseOptions{})
		var all []string
		for _, d := range diags {
			all = append(all, d.String())
		}
		if err == nil || !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%q: err %v, diagnostics:\n%s\nwant an alert containing %q", c.lines, err, strings.Join(all, "\n"), c.want)
		}
	}
}
