package gproxyd_test

import "testing"

// agentAddrCfg: s1's agent starts on a port with no agent behind it; s2
// has a health check but no agent.
const agentAddrCfg = `global
  stats socket $DIR/s.sock level admin
defaults
  mode tcp
  option log-health-checks
  timeout connect 1s
  timeout client 1s
  timeout server 1s
backend b
  server s1 127.0.0.1:9301 agent-check agent-port 9400 agent-inter 300ms weight 20
  server s2 127.0.0.1:9302 check inter 300ms
`

// agentAddrScript runs two agents with fixed replies (127.0.0.1:9401
// "up 50%", 127.0.0.2:9402 "up 25%"), moves s1's agent to them with
// `set server ... agent-port|agent-addr`, tries the wrong forms, and
// prints the answers, the weight, the state dump's agent columns and the
// log.
const agentAddrScript = agentLabFuncs + `
for a in "127.0.0.1 9401 up 50%" "127.0.0.2 9402 up 25%" "127.0.0.3 9403 drain 20%"; do
  set -- $a; echo "${*:3}" > "$DIR/r$2"; agent $1 $2 "$DIR/r$2"
done
st() {
  c get weight b/s1
  # srv_agent_state without CHK_ST_INPROGRESS (0x01), which comes and goes.
  c show servers state b | awk 'NF > 10 && $1 != "#" {$10 = "T"; $12 = "R"; if ($15 % 2 == 1) $15 -= 1; print $4, $7, $15, $23, $24, $25}'
}
rm -f "$DIR/s.sock"
"$BIN" -db -f "$DIR/a.cfg" 2>&1 | grep -v NOTICE | sed -e 's/check duration: [0-9]*ms/check duration: Nms/' > "$DIR/log" &
for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done
sleep 1
echo "## start"; st
for cmd in "set server b/s1 agent-port" "set server b/s1 agent-port x" "set server b/s1 agent-port 70000" \
    "set server b/s1 agent-addr" "set server b/s2 agent-port 9401" "set server b/s2 agent-addr 127.0.0.1" \
    "set server b/s1 agent-addr 127.0.0.2 port x" "set server b/s1 agent-port 9401"; do
  echo "> $cmd"; c "$cmd"
done
sleep 1; echo "## 9401"; st
echo "> set server b/s1 agent-addr 127.0.0.2 port 9402"; c set server b/s1 agent-addr 127.0.0.2 port 9402
sleep 1; echo "## 127.0.0.2:9402"; st
echo "> set server b/s1 agent-addr 127.0.0.1 port 9401"; c set server b/s1 agent-addr 127.0.0.1 port 9401
sleep 1; echo "## back"; st
# A drain reply takes the only server out (haproxy's ALERT); every weight
# set while it drains says it remains in drain.
echo "> set server b/s1 agent-addr 127.0.0.3 port 9403"; c set server b/s1 agent-addr 127.0.0.3 port 9403
sleep 1; echo "## drain"; st
echo "> set weight b/s1 10"; c set weight b/s1 10
kill $(pidof -s $(basename "$BIN")); sleep 0.5
# s2's first check and s1's first agent check race at start-up; how many
# agent replies arrive in a second depends on the machine.
sort -u "$DIR/log"
`

// TestIntegrationAgentAddrCLI compares haproxy 2.6 and gproxy on `set
// server B/S agent-addr|agent-port`: the answers (wrong port, missing
// argument, server without agent), where the next agent checks go (the
// weight and state the reply there sets), the state dump's
// srv_agent_addr/srv_agent_port columns and the log lines.
func TestIntegrationAgentAddrCLI(t *testing.T) {
	ref, got := runAgentLab(t, agentAddrCfg, agentAddrScript)
	if normalize(ref) != normalize(got) {
		t.Errorf("gproxy differs from haproxy:\n%s\nhaproxy:\n%s\ngproxy:\n%s", lineDiff(normalize(ref), normalize(got)), ref, got)
	}
}
