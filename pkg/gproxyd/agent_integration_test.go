package gproxyd_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// agentCfg: s1 has only an agent, s2 a health check and an agent with
// agent-send; log-health-checks makes both write every agent result.
const agentCfg = `global
  stats socket $DIR/s.sock level admin
defaults
  mode tcp
  option log-health-checks
  timeout connect 1s
  timeout client 1s
  timeout server 1s
backend b
  server s1 127.0.0.1:9301 agent-check agent-port 9401 agent-inter 400ms weight 20
  server s2 127.0.0.1:9302 check inter 500ms agent-check agent-port 9402 agent-inter 400ms agent-send "hello\n"
  server s3 127.0.0.1:9303
`

// agentScript makes a tiny agent per server whose reply the script
// rewrites (atomically), and after each reply prints the stats columns an
// agent fills and the server state; then it drives the agent from the
// stats socket.
const agentScript = agentLabFuncs + `
reply() { echo "$2" > "$DIR/r.tmp"; mv "$DIR/r.tmp" "$DIR/r$1"; }
reply 9401 "75%"; reply 9402 "up"
rm -f "$DIR"/r*.served # left by the other program's run
for p in 9401 9402; do agent 127.0.0.1 $p "$DIR/r$p"; done
socat TCP-LISTEN:9302,fork,reuseaddr SYSTEM:"echo x" 2>/dev/null &
# pxname,svname,status,weight,check_status,check_code,last_chk,last_agt,agent_status,agent_code,
# check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health
st() {
  for i in $(seq 30); do
    out=$(c show stat | cut -d, -f1,2,18,19,37,38,57,58,63,64,66,67,68,69,70,71,72,73 | grep '^b,s')
    case "$out" in *'* '*) sleep 0.03;; *) break;; esac
  done
  echo "$out"
  # srv_check_state and srv_agent_state without CHK_ST_INPROGRESS (0x01),
  # which comes and goes.
  c show servers state b | awk 'NF > 10 {$10 = "T"; if ($14 % 2 == 1) $14 -= 1; if ($15 % 2 == 1) $15 -= 1; print}'
}
run() {
  rm -f "$DIR/s.sock"
  reply 9401 "75%"
  "$1" -db -f "$DIR/a.cfg" 2>&1 | grep -v NOTICE | sed -e 's/check duration: [0-9]*ms/check duration: Nms/' > "$DIR/log.$2" &
  logger=$!
  for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done
  sleep 1; served "$DIR/r9401"; served "$DIR/r9402"
  echo "## 75%"; st
  for r in "down" "up 50% # all good" "drain" "maint" "ready up" "stopped # bye" "up bogus 30%" "x%" "maxconn:7 fail" "up, ready, 100%"; do
    reply 9401 "$r"; sleep 0.9; served "$DIR/r9401"; echo "## $r"; st
  done
  # A reply without health from now on: only the commands move it.
  reply 9401 "ready"; sleep 0.9; served "$DIR/r9401"
  echo "## cli"
  for cmd in "help" "set server b/s1 agent down" "set server b/s1 agent sideways" "disable agent b/s1" "set server b/s1 agent up" \
      "enable agent b/s1" "set server b/s1 agent up" "enable agent b/s3" "enable health b/s3" "disable health b/s2" \
      "set server b/s3 agent up" "set server b/s3 agent-send x" "set server b/s2 agent-send hi" "get weight b/s1" \
      "set maxconn server b/s3 12" "set maxconn server b/s3 x" "set maxconn server b/s3 5x" "set maxconn server b/zz 1"; do
    echo "> $cmd"; c "$cmd" | grep -v '^  [a-z]'
  done
  c help | grep -E '^  (enable|disable) (agent|health)|^  set maxconn server'
  c show stat | cut -d, -f1,2,7 | grep '^b,s3'
  st
  # The log is complete once the pipeline has drained.
  kill $(pidof -s $(basename "$1")); wait $logger
  cat "$DIR/log.$2"
}
run "$BIN" x
`

// TestIntegrationAgentCheck runs haproxy 2.6 and gproxy against the
// same tiny agents and compares what the agent replies do: weights,
// up/down/drain/maint/ready/stopped/fail, comments and errors in the
// stats CSV (last_agt, agent_*), the server state dump, the stats socket
// commands on agents and health checks, and the log lines.
func TestIntegrationAgentCheck(t *testing.T) {
	// One namespace run each: the script takes about 25 s per program.
	ref, got := runAgentLab(t, agentCfg, agentScript)
	// socat's complaints when a proxy closes first are noise, and so is
	// an agent check timing out on a loaded machine (seen with both).
	noise := regexp.MustCompile(`(?m)^.*(socat\[\d+\]|reason: Layer7 timeout).*\n`)
	ref, got = noise.ReplaceAllString(ref, ""), noise.ReplaceAllString(got, "")
	// s2's first health check and first agent check race at start-up:
	// its log lines are compared as a set, the rest in order.
	s2 := regexp.MustCompile(`(?m)^.*check for server b/s2 .*\n`)
	if r, g := s2.FindAllString(ref, -1), s2.FindAllString(got, -1); strings.Join(sorted(r), "") != strings.Join(sorted(g), "") {
		t.Errorf("s2's check lines differ:\nhaproxy: %q\ngproxy:  %q", r, g)
	}
	ref, got = s2.ReplaceAllString(ref, ""), s2.ReplaceAllString(got, "")
	nr, ng := maskTimeouts(normalize(ref), normalize(got))
	if nr != ng {
		t.Errorf("gproxy differs from haproxy:\n%s\nhaproxy:\n%s\ngproxy:\n%s", lineDiff(nr, ng), ref, got)
	}
}

// agentLabFuncs are the shell helpers of the agent scenarios: agent runs
// a tiny agent on ADDR:PORT answering each connection with the content of
// FILE (one process per agent: a fork per check is too slow on a loaded
// machine) and waits until it listens; c sends a command to the stats
// socket.
const agentLabFuncs = `
agent() { # agent ADDR PORT FILE
  python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c, _ = s.accept()
    try:
        r = open(sys.argv[3], "rb").read()
        c.sendall(r)
        # served (see below) waits for this.
        with open(sys.argv[3] + ".served", "ab") as f:
            f.write(r)
    except OSError:
        pass
    c.close()
' "$@" &
  for i in $(seq 100); do (exec 3<>/dev/tcp/$1/$2) 2>/dev/null && break; sleep 0.05; done
}
c() { echo "$*" | socat -t 10 - "$DIR/s.sock"; }
# served FILE: waits (500 polls, some 10 s) until the agent has sent FILE's
# current content, so that a check has read what the script just wrote.
served() {
  for i in $(seq 500); do [ "$(tail -n 1 "$1.served" 2>/dev/null)" = "$(cat "$1")" ] && break; sleep 0.02; done
}
`

// runAgentLab writes cfg (its $DIR replaced) as a.cfg and runs script in a
// private network once with BIN=haproxy, once with BIN=gproxy; it returns
// both outputs.
func runAgentLab(t *testing.T, cfg, script string) (ref, got string) {
	t.Helper()
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.cfg"), []byte(strings.ReplaceAll(cfg, "$DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return inPrivateNet(t, dir, "BIN=$HAPROXY\n"+script), inPrivateNet(t, dir, "BIN=$GPROXY\n"+script)
}

// maskTimeouts blanks, in both outputs, a stats row where either side's
// agent check had timed out (L7TOUT): the agents are tiny scripts that a
// loaded machine can make too slow for one check (seen with haproxy).
func maskTimeouts(a, b string) (string, string) {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		return a, b
	}
	for i := range la {
		if strings.Contains(la[i], "L7TOUT") || strings.Contains(lb[i], "L7TOUT") {
			la[i], lb[i] = "(an agent check timed out)", "(an agent check timed out)"
		}
	}
	return strings.Join(la, "\n"), strings.Join(lb, "\n")
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	for i := range out {
		out[i] = pidRE.ReplaceAllString(out[i], "(PID)")
	}
	return out
}

// lineDiff lists the lines that differ, side by side.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out.WriteString("haproxy: " + x + "\ngproxy:  " + y + "\n")
		}
	}
	return out.String()
}
