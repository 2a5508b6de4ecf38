package gproxyd_test

import (
	"testing"
)

// backupCutCfg: a primary with `on-marked-up shutdown-backup-sessions`
// and a backup server; PORT is 70 for haproxy, 71 for gproxy, so that
// each proxy has its own servers and clients.
const backupCutCfg = `global
  stats socket SOCK level admin
  log stderr format raw local0
defaults
  mode tcp
  log global
  option tcplog
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:PORT00
  default_backend b
backend b
  server p 127.0.0.1:PORT01 check inter 300ms rise 1 fall 1 on-marked-up shutdown-backup-sessions on-marked-down shutdown-sessions
  server bk 127.0.0.1:PORT02 check inter 300ms rise 1 fall 1 backup
`

// TestIntegrationShutdownBackupSessions: two clients are served by the
// backup server while the primary is down; the primary comes up, and both
// proxies cut the backup's sessions (the clients see their connection
// closed, the backup none left), log them with the same server and
// termination state, and show the same session counters; a new client
// goes to the primary.
func TestIntegrationShutdownBackupSessions(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	writeCfg(t, dir, backupCutCfg)
	script := dbLabFuncs + `
srvstats() { # srvstats SOCK: "backend/server status scur stot cli_abrt srv_abrt" per server
  echo "show stat" | socat -t 10 - "UNIX-CONNECT:$1" | awk -F, '
    NR==1 { for (i = 1; i <= NF; i++) { n = $i; sub(/^# /, "", n); col[n] = i } ; next }
    $2 != "FRONTEND" && NF > 2 { print $1 "/" $2, $col["status"], $col["scur"], $col["stot"], $col["cli_abrt"], $col["srv_abrt"] }'
}
conns() { ss -Htn state established "( dport = :$1 )" | wc -l; }
for p in 70 71; do socat TCP-LISTEN:${p}02,fork,reuseaddr EXEC:cat 2>/dev/null & done
for p in 7002 7102; do for i in $(seq 100); do ss -Hltn "( sport = :$p )" | grep -q . && break; sleep 0.02; done; done
proxies
settle b/p:DOWN:L4CON b/bk:UP:L4OK
for p in 70 71; do
  for c in 1 2; do (socat - TCP:127.0.0.1:${p}00 < <(sleep 60) >/dev/null 2>&1; echo "client $p $c ended" >> "$DIR/clients") & done
done
for i in $(seq 100); do [ "$(conns 7002)" = 2 ] && [ "$(conns 7102)" = 2 ] && break; sleep 0.05; done
echo "h backup conns before: $(conns 7002)"
echo "g backup conns before: $(conns 7102)"
for p in 70 71; do socat TCP-LISTEN:${p}01,fork,reuseaddr EXEC:cat 2>/dev/null & eval "primary$p=\$!"; done
settle b/p:UP:L4OK b/bk:UP:L4OK
for i in $(seq 100); do [ "$(conns 7002)" = 0 ] && [ "$(conns 7102)" = 0 ] && [ "$(wc -l < "$DIR/clients" 2>/dev/null)" = 4 ] && break; sleep 0.05; done
echo "h backup conns after: $(conns 7002)"
echo "g backup conns after: $(conns 7102)"
echo "h clients ended: $(grep -c ' 70 ' "$DIR/clients")"
echo "g clients ended: $(grep -c ' 71 ' "$DIR/clients")"
socat - TCP:127.0.0.1:7000 < <(sleep 60) >/dev/null 2>&1 &
socat - TCP:127.0.0.1:7100 < <(sleep 60) >/dev/null 2>&1 &
for i in $(seq 100); do [ "$(conns 7001)" = 1 ] && [ "$(conns 7101)" = 1 ] && break; sleep 0.05; done
echo "h primary conns: $(conns 7001)"
echo "g primary conns: $(conns 7101)"
# the primary stops listening (its session stays open on its side): it
# goes down, and on-marked-down shutdown-sessions cuts the session
kill $primary70 $primary71
settle b/p:DOWN:L4CON
for i in $(seq 100); do [ "$(conns 7001)" = 0 ] && [ "$(conns 7101)" = 0 ] && break; sleep 0.05; done
echo "h primary conns after down: $(conns 7001)"
echo "g primary conns after down: $(conns 7101)"
hs=$(srvstats "$DIR/h.sock"); gs=$(srvstats "$DIR/g.sock")
paste -d '\n' <(echo "$hs" | sed 's/^/h /') <(echo "$gs" | sed 's/^/g /')
# the tcplog lines of the cut sessions: frontend, backend/server, termination state
for p in h g; do
  grep -E '^[0-9.]+:[0-9]+ \[' "$DIR/$p.err" | awk '{ print $3, $4, $7 }' | sort | sed "s/^/$p log /" > "$DIR/$p.tcplog"
done
paste -d '\n' "$DIR/h.tcplog" "$DIR/g.tcplog"
logs
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		"h backup conns before: 2",
		"h backup conns after: 0",
		"h clients ended: 2",
		"h primary conns: 1",
		"h log f b/bk U-",
		"h log f b/p D-",
		"h primary conns after down: 0",
		"Server b/p is UP, reason: Layer4 check passed",
	},
		// The primary's DOWN line counts its session while it is being
		// cut: 0 or 1 depending on timing (seen in gproxy once in 11
		// runs; the same as TestIntegrationRedisChecks allows). The cut
		// itself is asserted above.
		`Server b/p is DOWN, reason: Layer4 connection problem, info: "Connection refused"`)
}
