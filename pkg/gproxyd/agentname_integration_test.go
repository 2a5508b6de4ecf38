package gproxyd_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
)

// agentNameCfg: s1's agent is named by a host name of /etc/hosts.
const agentNameCfg = `global
  stats socket $DIR/s.sock level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
backend b
  server s1 127.0.0.1:9301 agent-check agent-addr localhost agent-port 9401 agent-inter 200ms weight 20
`

// TestIntegrationAgentAddrName: `agent-addr localhost` is resolved once at
// start, as haproxy 2.6's str2ip does while parsing: the agent there sets
// the same weight, and the state dump shows the same address. The forms
// haproxy refuses (a port, a name that does not resolve) and accepts (an
// IPv6 address in brackets) give the same `-c` answers.
func TestIntegrationAgentAddrName(t *testing.T) {
	ref, got := runAgentLab(t, agentNameCfg, agentLabFuncs+`
echo "up 50%" > "$DIR/r"; agent 127.0.0.1 9401 "$DIR/r"
rm -f "$DIR/s.sock"
"$BIN" -db -f "$DIR/a.cfg" >/dev/null 2>&1 &
for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done
for i in $(seq 100); do [ "$(c get weight b/s1)" = "10 (initial 20)" ] && break; sleep 0.05; done
c get weight b/s1
c show servers state b | awk 'NF > 10 && $1 != "#" {print $4, $24, $25}'
kill $(pidof -s $(basename "$BIN"))
`)
	if ref != got {
		t.Errorf("gproxy differs from haproxy:\nhaproxy:\n%s\ngproxy:\n%s", ref, got)
	}
	if want := "10 (initial 20)\n\ns1 127.0.0.1 9401\n"; ref != want {
		t.Errorf("haproxy gave %q, the test expects %q", ref, want)
	}

	// gproxy resolves names once the files parse without error: the
	// name that does not resolve is in a file of its own.
	dir := t.TempDir()
	for i, text := range []string{`
backend b
  server s1 127.0.0.1:9 agent-check agent-port 9 agent-addr localhost:77
  server s2 127.0.0.1:9 agent-check agent-port 9 agent-addr 127.0.0.1:5
  server s3 127.0.0.1:9 agent-check agent-port 9 agent-addr [::1]
  server s4 127.0.0.1:9 agent-check agent-port 9 agent-addr ::1
`, `
backend b
  server s3 127.0.0.1:9 agent-check agent-port 9 agent-addr [::1]
  server s4 127.0.0.1:9 agent-check agent-port 9 agent-addr localhost
  server s5 127.0.0.1:9 agent-check agent-port 9 agent-addr nosuch.invalid
`} {
		cfg := filepath.Join(dir, fmt.Sprintf("c%d.cfg", i))
		if err := os.WriteFile(cfg, []byte(`defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend f
  bind 127.0.0.1:9
  default_backend b`+text), 0o644); err != nil {
			t.Fatal(err)
		}
		check := func(bin string) string {
			out, _ := exec.Command(bin, "-c", "-f", cfg).CombinedOutput()
			return pidRe.ReplaceAllString(noticeRe.ReplaceAllString(string(out), ""), "(PID)")
		}
		r, g := check(haproxytest.Bin), check(gproxyBin)
		if r != g {
			t.Errorf("-c differs:\nhaproxy:\n%s\ngproxy:\n%s", r, g)
		}
		if !strings.Contains(r, "parsing agent-addr failed") {
			t.Errorf("haproxy accepted %s:\n%s", text, r)
		}
	}
}

var (
	pidRe    = regexp.MustCompile(`\(\d+\)`)
	noticeRe = regexp.MustCompile(`(?m)^\[NOTICE\].*\n`)
)
