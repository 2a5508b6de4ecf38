package gproxyd_test

import "testing"

const dynCheckCfg = `global
  stats socket SOCK level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 2s
backend b
  option httpchk GET /
  option log-health-checks
`

// TestIntegrationAddServerChecks compares `add server` with `check` and
// `agent-check` (haproxy 2.6: both start disabled until `enable health`
// and `enable agent`) with haproxy: a server that answers, one that
// refuses (then "was DOWN and now enters maintenance" when disabled), an
// agent that readies its server, and `del server` of each. (The check
// columns of a server put in maintenance are not compared: haproxy pauses
// its checks and blanks them, gproxy still shows the last result.)
func TestIntegrationAddServerChecks(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	writeCfg(t, dir, dynCheckCfg)
	script := dbLabFuncs + agentLabFuncs + `
printf 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n' > "$DIR/r200"
echo "ready up" > "$DIR/agent"
socat TCP-LISTEN:9061,fork,reuseaddr SYSTEM:"head -c 10 >/dev/null; cat $DIR/r200" 2>/dev/null &
agent 127.0.0.1 9063 "$DIR/agent"
for i in $(seq 100); do ss -Hltn "( sport = :9061 )" | grep -q . && break; sleep 0.02; done
cli() { for p in h g; do echo "$p> $*: $(echo "$*" | socat -t 10 - "UNIX-CONNECT:$DIR/$p.sock" | tr '\n' ' ')"; done; }
proxies
cli add server b/s1 127.0.0.1:9061 check inter 200ms rise 1 fall 1
cli enable server b/s1
settle b/s1:UP
cli enable health b/s1
settle b/s1:UP:L7OK
cli add server b/s2 127.0.0.1:9062 check inter 200ms rise 1 fall 1
cli enable server b/s2
cli enable health b/s2
settle b/s2:DOWN:L4CON
cli disable server b/s2
cli del server b/s2
cli add server b/s3 127.0.0.1:9061 agent-check agent-port 9063 agent-inter 200ms
cli enable agent b/s3
settle b/s3:no.check
cli disable agent b/s3
cli disable server b/s3
cli del server b/s3
cli disable server b/s1
cli del server b/s1
# haproxy prefixes the warnings that follow a del server with "CLI : "
# and says "Server deleted." there: both are left out (the answers
# above are compared). haproxy logs s1's check success a second time
# later in some runs (not understood yet): lines are compared as a set.
# An agent check timing out on a loaded machine is noise (seen with
# haproxy), as in TestIntegrationAgentCheck.
echo "== haproxy log"; grep -E 'check for|Server |backend ' "$DIR/h.err" | grep -v -e deleted -e 'Layer7 timeout' | sed 's/CLI : //' | sed -e 's/check duration: [0-9]*ms/check duration: Nms/' | sort -u
echo "== gproxy log"; grep -E 'check for|Server |backend ' "$DIR/g.err" | grep -v -e deleted -e 'Layer7 timeout' | sed -e 's/check duration: [0-9]*ms/check duration: Nms/' | sort -u
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Health check for server b/s1 succeeded, reason: Layer7 check passed, code: 200`,
		`Server b/s2 was DOWN and now enters maintenance.`,
		`Agent check for server b/s3 succeeded`,
	})
}
