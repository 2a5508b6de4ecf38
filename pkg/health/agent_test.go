package health

import (
	"strings"
	"testing"
)

// TestParseAgentReply: the words and texts of haproxy 2.6's
// tcpcheck_agent_expect_reply, as measured with haproxy 2.6.12
// (pkg/gproxyd/agent_integration_test.go compares the same replies live).
func TestParseAgentReply(t *testing.T) {
	for _, tt := range []struct {
		line, wrn         string
		code              Code
		health, admin, wt string
		info              string
	}{
		{line: "75%", code: CodeChecked, wt: "75%"},
		{line: "down", code: CodeL7STS, health: "down", info: "via agent : down"},
		{line: "up 50% # all good", code: CodeL7OK, health: "up", wt: "50%", info: "via agent : up (all good)"},
		{line: "drain", code: CodeChecked, admin: "drain"},
		{line: "ready up", code: CodeL7OK, health: "up", admin: "ready", info: "via agent : up"},
		{line: "stopped # bye", code: CodeL7STS, health: "stopped", info: "via agent : stopped (bye)"},
		{line: "up bogus 30%", code: CodeL7OK, health: "up", wt: "30%", info: "via agent : up (bogus)"},
		{line: "x%", code: CodeChecked, info: "agent reports an error : x%"},
		{line: "DOWN,MAINT\t10%", code: CodeL7STS, health: "DOWN", admin: "maint", wt: "10%", info: "via agent : DOWN"},
		{line: "fail # # x", code: CodeL7STS, health: "fail", info: "via agent : fail (# x)"},
		{line: "up # fine", wrn: "w", code: CodeL7OK, health: "up", info: "via agent : up (w)"},
		{line: "50%", wrn: "Trailing garbage in weight string", code: CodeChecked, wt: "50%", info: "agent warns : Trailing garbage in weight string"},
		{line: "", code: CodeChecked},
	} {
		r := ParseAgentReply(tt.line)
		r.describe(tt.wrn)
		if r.res.Code != tt.code || r.health != tt.health || r.admin != strings.ToLower(tt.admin) || r.weight != tt.wt || r.res.Info != tt.info {
			t.Errorf("%q: code %v health %q admin %q weight %q info %q", tt.line, r.res.Code, r.health, r.admin, r.weight, r.res.Info)
		}
	}
}

// FuzzParseAgentReply: any line parses without panic, into known words.
func FuzzParseAgentReply(f *testing.F) {
	for _, s := range []string{"75%", "up 50% # ok", "drain,maint", "maxconn:10 up", "#", ",,, ", "9%%", "\x00up"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r := ParseAgentReply(line)
		r.describe("")
		switch r.res.Code {
		case CodeChecked, CodeL7OK, CodeL7STS:
		default:
			t.Fatalf("%q: code %v", line, r.res.Code)
		}
		if r.weight != "" && (r.weight[0] < '0' || r.weight[0] > '9') {
			t.Fatalf("%q: weight %q", line, r.weight)
		}
	})
}
