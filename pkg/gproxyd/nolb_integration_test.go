package gproxyd_test

import "testing"

// nolbCfg: s1 is checked (rarely: no check is meant to run during the
// scenario but the first), s2 has no check, s3 tracks s1.
const nolbCfg = `global
  stats socket SOCK level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:PORT01
  default_backend b
backend b
  server s1 127.0.0.1:9051 check inter 1000s
  server s2 127.0.0.1:9052
  server s3 127.0.0.1:9053 track b/s1
`

// TestIntegrationHealthStopping compares `set server B/S health stopping`
// (haproxy's NOLB soft stop) with haproxy 2.6: the answers, the log lines
// ("is stopping, changed from CLI", " via b/s1" for a tracking server,
// the backend left without a server), the status (NOLB) and weight
// columns, the srv_op_state of `show servers state` (3), which servers
// the load-balanced connections then reach (stot), and the way back up or
// down.
func TestIntegrationHealthStopping(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	writeCfg(t, dir, nolbCfg)
	script := dbLabFuncs + `
for p in 9051 9052 9053; do socat TCP-LISTEN:$p,fork,reuseaddr SYSTEM:"echo x" 2>/dev/null & done
for p in 9051 9052 9053; do for i in $(seq 100); do ss -Hltn "( sport = :$p )" | grep -q . && break; sleep 0.02; done; done
row() { # backend/server status weight stot, op_state
  echo "show stat" | socat -t 10 - "UNIX-CONNECT:$1" | awk -F, '
    NR==1 { for (i = 1; i <= NF; i++) { n = $i; sub(/^# /, "", n); col[n] = i } ; next }
    $1 == "b" && $2 ~ /^s/ { print $1 "/" $2 "|" $col["status"] "|" $col["weight"] "|" $col["stot"] }'
  echo "show servers state b" | socat -t 10 - "UNIX-CONNECT:$1" | awk 'NF > 10 && $1 != "#" { print $4, "op_state", $6 }'
}
cmp2() { hs=$(row "$DIR/h.sock"); gs=$(row "$DIR/g.sock"); paste -d'\n' <(echo "$hs" | sed 's/^/h /') <(echo "$gs" | sed 's/^/g /'); }
cli() { for p in h g; do echo "$p> $*: $(echo "$*" | socat -t 10 - "UNIX-CONNECT:$DIR/$p.sock" | tr '\n' ' ')"; done; }
hit() { for i in 1 2 3 4; do for p in 70 71; do socat -T 2 - TCP:127.0.0.1:${p}01 </dev/null >/dev/null 2>&1; done; done; }
proxies
# s1 at full health, as haproxy's first check (run at start) leaves it.
for p in h g; do echo "set server b/s1 health up" | socat -t 10 - "UNIX-CONNECT:$DIR/$p.sock" >/dev/null; done
cli set server b/s2 health stopping
cli set server b/s2 health stopping
hit
cmp2
cli set server b/s1 health stopping
cli set server b/s3 health stopping
cmp2
cli set server b/s1 health up
cli set server b/s2 health down
cmp2
cli set server b/s2 health stopping
cli set server b/s2 health up
cmp2
echo "== haproxy log"; grep -E 'Server |backend ' "$DIR/h.err"
echo "== gproxy log"; grep -E 'Server |backend ' "$DIR/g.err"
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Server b/s2 is stopping, changed from CLI. 2 active and 0 backup servers online.`,
		`h b/s2|NOLB|1|0`,
		`Server b/s3 is stopping via b/s1.`,
		`h s2 op_state 3`,
	})
}
