package gproxyd_test

import "testing"

const maintCheckCfg = `global
  stats socket SOCK level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 2s
backend b
  option httpchk GET /
  server s1 127.0.0.1:9061 check inter 200ms rise 2 fall 2
  server s2 127.0.0.1:9062 check inter 200ms rise 1 fall 1
  server s3 127.0.0.1:9061
`

// TestIntegrationMaintResetsCheck compares haproxy 2.6 and gproxy (no
// log-health-checks) on servers put in maintenance and taken out by hand:
// in maintenance the check columns of the stats are blank (the check is
// paused) and the state dump's check health is 0; leaving it, a checked
// server is up at once ("start OK but check immediately"), so a dead one
// is logged UP then DOWN again and counts one more failed check and one
// more DOWN transition; "was DOWN and now enters maintenance" carries no
// reason, for a server stopped by its check as for one stopped by hand.
// Entering maintenance from UP counts a DOWN transition (chkdown). A
// dynamic server's check starts at health 0: enabled before its check, its
// first failure stops it without a failed check counted, and a fresh one
// shows its check configured but neither enabled nor paused.
func TestIntegrationMaintResetsCheck(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	writeCfg(t, dir, maintCheckCfg)
	script := dbLabFuncs + `
printf 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n' > "$DIR/r200"
socat TCP-LISTEN:9061,fork,reuseaddr SYSTEM:"head -c 10 >/dev/null; cat $DIR/r200" 2>/dev/null &
for i in $(seq 100); do ss -Hltn "( sport = :9061 )" | grep -q . && break; sleep 0.02; done
cli() { for p in h g; do echo "$p> $*: $(echo "$*" | socat -t 10 - "UNIX-CONNECT:$DIR/$p.sock" | tr '\n' ' ')"; done; }
# cols SERVER...: the check columns of show stat and the check health of
# show servers state, haproxy's line then gproxy's.
# A check in progress ("* L7OK", CHK_ST_INPROGRESS in the state dump) is
# waited out.
# Each proxy's row is waited for on its own (both idle in one round was
# rare at load 20 with 200 ms checks: 40 rounds ran out).
cols() {
  for s in "$@"; do
    for p in h g; do
    for try in $(seq 100); do
      st=$(echo "show stat" | socat -t 10 - "UNIX-CONNECT:$DIR/$p.sock" | awk -F, -v s="$s" '
        NR==1 { for (i = 1; i <= NF; i++) { n = $i; sub(/^# /, "", n); col[n] = i } ; next }
        $1 "/" $2 == s { print $col["status"] "|" $col["chkfail"] "|" $col["chkdown"] "|" $col["check_status"] "|" $col["check_code"] "|" $col["check_desc"] "|" $col["last_chk"] "|" $col["check_rise"] "|" $col["check_fall"] "|" $col["check_health"] }')
      ss=$(echo "show servers state b" | socat -t 10 - "UNIX-CONNECT:$DIR/$p.sock" | awk -v s="$s" '$2 "/" $4 == s { print "op=" $6, "admin=" $7, "health=" $13, "chkstate=" $14 }')
      # A check in flight when the server entered maintenance still
      # counts when it ends (a pass: health 1), in both proxies.
      case "$st" in MAINT*) ss=$(echo "$ss" | sed 's/health=[01] /health=0or1 /') ;; esac
      out="$p $s $st $ss"
      case "$out" in *"|* "*|*"chkstate=7"*) sleep 0.05; continue ;; esac
      break
    done
    echo "$out"
    done
  done
}
proxies
settle b/s1:UP:L7OK b/s2:DOWN:L4CON b/s3:no.check
cols b/s1 b/s2
cli disable server b/s1
cli disable server b/s2
settle b/s1:MAINT b/s2:MAINT
cols b/s1 b/s2
cli set server b/s3 health down
cli disable server b/s3
settle b/s3:MAINT
cli enable server b/s3
settle b/s3:no.check
cli enable server b/s1
settle b/s1:UP:L7OK
cli enable server b/s2
settle b/s2:DOWN:L4CON
cols b/s1 b/s2 b/BACKEND
# A dynamic server enabled before its check: health 0, so its first
# failure stops it without counting a failed check.
cli add server b/s4 127.0.0.1:9062 check inter 200ms rise 1 fall 1
cli enable server b/s4
cli enable health b/s4
settle b/s4:DOWN:L4CON
cols b/s4
cli add server b/s5 127.0.0.1:9061 check inter 200ms rise 2 fall 2
cols b/s5
cli disable server b/s4
settle b/s4:MAINT
cols b/s4
# haproxy prefixes a warning that follows a CLI command with "CLI : ".
echo "== haproxy log"; grep -E 'Server |backend ' "$DIR/h.err" | sed 's/CLI : //'
echo "== gproxy log"; grep -E 'Server |backend ' "$DIR/g.err"
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		"h b/s1 MAINT|0|1|||||||",
		"Server b/s2 was DOWN and now enters maintenance.",
		"Server b/s3 was DOWN and now enters maintenance.",
		"Server b/s2 is UP/READY (leaving forced maintenance).",
		"h b/s2 DOWN|2|2|L4CON",
		"h b/s4 DOWN|0|1|L4CON",
		"chkstate=2",
	})
	if t.Failed() {
		t.Logf("lab output:\n%s", out)
	}
}
