package haproxycfg

import (
	"fmt"
	"strings"
	"testing"
)

// TestCheckRules: the rule lists the parser completes as haproxy's
// check_proxy_tcpcheck does, written as "step:action[detail]" with the
// comment a rule carries.
func TestCheckRules(t *testing.T) {
	tests := []struct {
		name, lines, want string
	}{
		{"httpchk alone: implicit connect, the request, implicit expect",
			"option httpchk GET /health", "0:connect 1:send[GET /health] 2:expect[status 200-399]"},
		{"comments take a step and go to the next rules of one kind",
			"option tcp-check\n tcp-check comment hello\n tcp-check send PING\n tcp-check expect string +PONG",
			"0:connect 2:send[PING](hello) 3:expect[string +PONG]"},
		{"a comment before a connect stays with it",
			"option tcp-check\n tcp-check comment c1\n tcp-check connect port 6379\n tcp-check send x\n tcp-check expect string y",
			"2:connect[6379](c1) 3:send[x] 4:expect[string y]"},
		{"http-check send overrides the option's request, its headers replace",
			"option httpchk HEAD /a HTTP/1.1\\r\\nHost:\\ x\n http-check send meth GET hdr Host y\n http-check expect status 204",
			"0:connect 1:send[GET /a HTTP/1.1 host=y] 2:expect[status 204]"},
		{"the option's request moves after an explicit first connect",
			"option httpchk GET /x\n http-check connect port 8008\n http-check send hdr a b\n http-check expect status 200",
			"1:connect[8008] 2:send[GET /x a=b] 3:expect[status 200]"},
		{"tcp-check rules of a defaults section without option tcp-check are not used (haproxy 2.6.12 -c)",
			"option tcp-check", "0:connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags, err := Parse("t.cfg", []byte("defaults\n mode tcp\n tcp-check send from-defaults\nbackend b\n "+tt.lines+"\n server s 127.0.0.1:1 check\n"), ParseOptions{})
			if err != nil {
				t.Fatalf("%v %v", err, diags)
			}
			var got []string
			for _, r := range cfg.Proxy("b").Check.Rules {
				s := fmt.Sprintf("%d:%s", r.Step, [...]string{"connect", "send", "expect"}[r.Action])
				switch {
				case r.Action == RuleConnect && r.Port != 0:
					s += fmt.Sprintf("[%d]", r.Port)
				case r.HTTP != nil:
					h := r.HTTP
					d := strings.TrimSpace(h.Method + " " + h.URI + " " + h.Version)
					for _, kv := range h.Headers {
						d += " " + strings.ToLower(kv[0]) + "=" + kv[1]
					}
					s += "[" + d + "]"
				case r.Action == RuleSend:
					s += "[" + strings.TrimSpace(string(r.Data)) + "]"
				case r.Action == RuleExpect:
					s += "[" + r.Match + " " + r.Pattern + "]"
				}
				if r.Comment != "" {
					s += "(" + r.Comment + ")"
				}
				got = append(got, s)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("rules\n got %s\nwant %s", g, tt.want)
			}
		})
	}
}

// TestCheckErrors: haproxy's messages for broken check rules.
func TestCheckErrors(t *testing.T) {
	tests := []struct{ lines, want string }{
		{"tcp-check expect", "'tcp-check expect' : expects at least a matching pattern as arguments."},
		{"tcp-check send-binary 0g", "'tcp-check send-binary' : '0g' invalid binary string"},
		{"tcp-check send x\n tcp-check connect", "first step MUST also be a 'connect'"},
		{"option pgsql-check", "'option pgsql-check' expects 'user <username>' as argument."},
		{"option mysql-check user u post-42", "'user' only supports 'post-41' and 'pre-41' (got 'post-42')."},
		{"server t 127.0.0.1:2 track nosuch", "unable to find required server 'nosuch' for tracking."},
		{"server t 127.0.0.1:2 track s2", "unable to use b/s2 for tracking as it does not have any check nor agent enabled."},
		{"option external-check", "'option external-check' unable to find required 'global.external-check'."},
		// haproxy 2.6.12 -c, double dot included
		{"option httpchk GET /x\n http-check connect port 8008\n http-check expect status 200",
			"'http-check expect' : unable to add http-check expect rule at step 2 (missing send rule).."},
	}
	for _, tt := range tests {
		_, diags, err := Parse("t.cfg", []byte("backend b\n "+tt.lines+"\n server s 127.0.0.1:1 check\n server s2 127.0.0.1:3\n"), ParseOptions{})
		var all []string
		for _, d := range diags {
			all = append(all, d.Msg)
		}
		if err == nil || !strings.Contains(strings.Join(all, "\n"), tt.want) {
			t.Errorf("%q: want an alert containing %q; got %v:\n%s", tt.lines, tt.want, err, strings.Join(all, "\n"))
		}
	}
}
