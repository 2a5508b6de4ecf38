package gproxyd_test

import "testing"

// logHealthChecksCfg: s1 answers at once, s2 refuses; no check is meant
// to time out, so `timeout check` is only a bound. At 1 s a loaded machine
// (the forked socat backend slow to answer) made a proxy log "Layer7
// timeout" in a check line the other did not have.
const logHealthChecksCfg = `global
  stats socket SOCK level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 10s
backend b
  option httpchk GET /
  option log-health-checks
  server s1 127.0.0.1:9011 check inter 200ms rise 2 fall 2
  server s2 127.0.0.1:9012 check inter 200ms rise 2 fall 2
  server s3 127.0.0.1:9013 check inter 200ms rise 2 fall 2 backup weight 0
`

// TestIntegrationLogHealthChecks: with `option log-health-checks`, haproxy
// logs every check that changes the result or the health ("Health check
// for server b/s1 failed, ..., status: 1/2 UP."), and the state changes
// that follow without their reason. A server that answers, one that
// refuses, and a backup of weight 0 (DRAIN); the first is stopped and
// started again. Both proxies must write the same lines.
func TestIntegrationLogHealthChecks(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	writeCfg(t, dir, logHealthChecksCfg)
	script := dbLabFuncs + `
printf 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc' > "$DIR/r200"
web() { socat TCP-LISTEN:9011,fork,reuseaddr SYSTEM:"head -c 10 >/dev/null; cat $DIR/r200" 2>/dev/null & W=$!; for i in $(seq 100); do ss -Hltn "( sport = :9011 )" | grep -q . && break; sleep 0.02; done; }
web
socat TCP-LISTEN:9013,fork,reuseaddr SYSTEM:"head -c 10 >/dev/null; cat $DIR/r200" 2>/dev/null &
for i in $(seq 100); do ss -Hltn "( sport = :9013 )" | grep -q . && break; sleep 0.02; done
proxies
settle b/s1:UP b/s2:DOWN b/s3:UP
kill $W; wait $W 2>/dev/null
settle b/s1:DOWN
web
settle b/s1:UP
echo "== haproxy log"; grep -E 'Health check|Server |backend ' "$DIR/h.err"
echo "== gproxy log"; grep -E 'Health check|Server |backend ' "$DIR/g.err"
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Health check for server b/s1 succeeded, reason: Layer7 check passed, code: 200`,
		`status: 2/2 UP.`,
		`Health check for server b/s2 failed, reason: Layer4 connection problem, info: "Connection refused"`,
		`status: 0/2 DOWN.`,
		`status: 2/2 DRAIN.`,
		`Server b/s2 is DOWN. `,
		`Server b/s1 is UP. `,
	}, "Health check for server b/s1 failed")
}
