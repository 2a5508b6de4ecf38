package gproxyd_test

import (
	"regexp"
	"testing"
)

// observeCfg: every server's traffic port refuses (layer 4) or answers 500
// (layer 7) while its check port passes, so only `observe` can take it
// down. Checks run every 1000 s: both proxies check the first server of
// the config (backend first) at start and the others 200 to 800 s later
// (haproxy's start_checks spread), so no check lands between the
// client's connections and what the stats show depends on the traffic
// only.
const observeCfg = `global
  stats socket SOCK level admin
defaults
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  retries 0
frontend md
  mode tcp
  bind 127.0.0.1:PORT01
  default_backend md
frontend fc
  mode tcp
  bind 127.0.0.1:PORT02
  default_backend fc
frontend sd
  mode tcp
  bind 127.0.0.1:PORT03
  default_backend sd
frontend web
  mode http
  bind 127.0.0.1:PORT04
  default_backend web
backend first
  mode tcp
  server s0 127.0.0.1:9040 check inter 1000s
backend md
  mode tcp
  server s1 127.0.0.1:9041 check port 9040 inter 1000s rise 2 fall 3 observe layer4 error-limit 2 on-error mark-down
backend fc
  mode tcp
  server s1 127.0.0.1:9041 check port 9040 inter 1000s rise 2 fall 2 observe layer4 error-limit 1
backend sd
  mode tcp
  option log-health-checks
  server s1 127.0.0.1:9041 check port 9040 inter 1000s rise 2 fall 3 observe layer4 error-limit 1 on-error sudden-death
backend web
  mode http
  server s1 127.0.0.1:9042 check port 9040 inter 1000s rise 2 fall 3 observe layer7 error-limit 2 on-error mark-down
`

var webSessionsRE = regexp.MustCompile(`(Server web/s1 is DOWN.*left\. )\d+ sessions active`)

// TestIntegrationObserve: live traffic marks servers down as haproxy's
// `observe` does. A refused connection (layer 4) or a 500 (layer 7)
// counts as an error; error-limit of them in a row run on-error:
// mark-down takes the server down at once, fail-check (the default)
// counts one failed check, sudden-death leaves one check before down.
// The stats (status, HANA check status, its description in last_chk,
// hanafail, chkfail) and the log lines must be the same in both proxies.
func TestIntegrationObserve(t *testing.T) {
	requireBins(t, "socat", "curl")
	dir := t.TempDir()
	writeCfg(t, dir, observeCfg)
	script := dbLabFuncs + `
hstats() { # backend/server status check_status last_chk hanafail chkfail chkdown check_duration (a quoted field is read whole)
  echo "show stat" | socat -t 10 - "UNIX-CONNECT:$1" | awk -v FPAT='([^,]*)|("[^"]*")' '
    NR==1 { for (i = 1; i <= NF; i++) { n = $i; sub(/^# /, "", n); col[n] = i } ; next }
    $2 == "s1" { print $1 "/" $2 "|" $col["status"] "|" $col["check_status"] "|" $col["last_chk"] "|" $col["hanafail"] "|" $col["chkfail"] "|" $col["chkdown"] "|" $col["check_duration"] }'
}
both() { hs=$(hstats "$DIR/h.sock"); gs=$(hstats "$DIR/g.sock"); for b in "$@"; do echo "h $(echo "$hs" | grep "^$b/")"; echo "g $(echo "$gs" | grep "^$b/")"; done; }
hit() { # hit PORTSUFFIX: one connection through each proxy
  # -u: the client sends nothing and keeps its side open until the proxy
  # closes; a client's FIN before the proxy connects made haproxy skip
  # the connect now and then (no error for observe to count).
  for p in 70 71; do socat -T 2 -u TCP:127.0.0.1:$p$1 - >/dev/null 2>&1; done
}
get() { for p in 70 71; do curl -s -m 5 -o /dev/null http://127.0.0.1:$p$1/; done; }
printf 'HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n' > "$DIR/r500"
socat TCP-LISTEN:9040,fork,reuseaddr SYSTEM:"true" 2>/dev/null &
socat TCP-LISTEN:9042,fork,reuseaddr SYSTEM:"head -c 10 >/dev/null; cat $DIR/r500" 2>/dev/null &
for i in $(seq 100); do ss -Hltn "( sport = :9040 )" | grep -q . && ss -Hltn "( sport = :9042 )" | grep -q . && break; sleep 0.02; done
proxies
# A server starts one failure short of down (health = rise): full health
# first, as a passed check would give it.
for p in h g; do for b in md fc sd web; do echo "set server $b/s1 health up" | socat -t 10 - "UNIX-CONNECT:$DIR/$p.sock" >/dev/null; done; done
echo "== mark-down after 2 errors"
hit 01; hit 01
settle md/s1:DOWN:HANA
both md
echo "== fail-check: one failed check per error"
hit 02
settle fc/s1:UP.1/2:HANA
both fc
hit 02
settle fc/s1:DOWN:HANA
both fc
echo "== sudden-death: one check left"
hit 03
settle sd/s1:UP.1/3:HANA
both sd
hit 03
settle sd/s1:DOWN:HANA
both sd
echo "== layer7: 500s"
get 04; get 04
settle web/s1:DOWN:HANA
both web
echo "== haproxy log"; grep -E 'Health check|Server |backend ' "$DIR/h.err"
echo "== gproxy log"; grep -E 'Health check|Server |backend ' "$DIR/g.err"
`
	out := inLab(t, dir, script)
	// When web/s1 goes down, the 500's stream may or may not still hold
	// the server: haproxy itself says "0 sessions active" or "1" from run
	// to run.
	out = webSessionsRE.ReplaceAllString(out, "${1}N sessions active")
	compareDBLab(t, out, []string{
		`Server md/s1 is DOWN, reason: Health analyze, info: "Detected 2 consecutive errors, last one was: L4 unsuccessful connection". 0 active`,
		`Server web/s1 is DOWN, reason: Health analyze, info: "Detected 2 consecutive errors, last one was: Wrong http response"`,
		`h md/s1|DOWN|HANA|"Detected 2 consecutive errors, last one was: L4 unsuccessful connection"|1|1|1|18446744073709551615`,
		`status: 1/3 UP.`,
	})
}
