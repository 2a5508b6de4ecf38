package gproxyd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationTrackMaintLikeHaproxy: servers tracking a server follow
// it into maintenance and out of it as haproxy 2.6's (SRV_ADMF_IMAINT):
// the same lines in the same order (a chain of trackers, one already in
// forced maintenance), "MAINT (via B/S)" in the stats, admin_state 2 in
// the state dump; `add server ... track` with haproxy's answers; `del
// server` refused for a server tracked (in the configuration or at run
// time), named by use-server or by a sample argument.
func TestIntegrationTrackMaintLikeHaproxy(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	cfg := `global
  stats socket ` + filepath.Join(dir, "s.sock") + ` level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 2s
  timeout server 2s
frontend f
  bind 127.0.0.1:8000
  tcp-request content reject if { srv_conn(b/nc) gt 100 }
  default_backend b
backend b
  use-server us if { always_false }
  # One check, at start (both proxies check their first server at
  # once): none runs between the commands below, whose dumps would
  # otherwise depend on when a check lands.
  server srv 127.0.0.1:9001 check inter 1h
  server nc 127.0.0.1:9001
  server us 127.0.0.1:9001
  server t1 127.0.0.1:9001 track srv
  server t2 127.0.0.1:9001 disabled track srv
  server free 127.0.0.1:9001
backend o
  server x 127.0.0.1:9001 check
backend p
  server px 127.0.0.1:9002 check inter 500
  server pt 127.0.0.1:9001 track px
`
	if err := os.WriteFile(filepath.Join(dir, "a.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
socat TCP-LISTEN:9001,bind=127.0.0.1,fork,reuseaddr SYSTEM:"echo up" 2>/dev/null &
for i in $(seq 100); do [ "$(ss -Hltn | wc -l)" -ge 1 ] && break; sleep 0.05; done
start() { rm -f "$DIR/s.sock" "$DIR/proxy.log"; "$1" -db -f "$DIR/a.cfg" > "$DIR/proxy.log" 2>&1 & for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done; }
stop() { kill $(pidof -s $(basename "$1")) 2>/dev/null; for i in $(seq 100); do [ -n "$(pidof $(basename "$1"))" ] || break; sleep 0.05; done; grep -v NOTICE "$DIR/proxy.log" | sed 's/check duration: [0-9]*ms/check duration: Nms/'; }
c() { echo "> $*"; echo "$*" | socat - "$DIR/s.sock"; }
# A dump with no check in flight (check_state odd): haproxy forgets a
# check's result while it runs, and the two proxies' checks do not run
# at the same instants.
sst() { for i in $(seq 40); do out=$(echo "show servers state $*" | socat - "$DIR/s.sock"); echo "$out" | awk 'NF > 10 && $14 ~ /^[0-9]+$/ && $14 % 2 {f = 1} END {exit f}' && break; sleep 0.05; done; echo "$out" | awk 'NF > 10 {$10 = "T"; print}'; }
# Masked: the time of the last change.
st() { echo "> show servers state b"; sst b; c show stat | cut -d, -f1,2,18 | grep -v 'FRONTEND\|BACKEND'; }
run() {
  start "$1"
  for i in $(seq 100); do echo "show stat" | socat - "$DIR/s.sock" 2>/dev/null | grep -q '^b,srv,.*,UP,' && break; sleep 0.1; done
  for i in $(seq 100); do echo "show stat" | socat - "$DIR/s.sock" 2>/dev/null | grep -q '^p,pt,.*,DOWN,' && break; sleep 0.1; done
  c add server b/d0 127.0.0.1:9001 track b/nc
  c add server b/d0 127.0.0.1:9001 track nope/srv
  c add server b/d0 127.0.0.1:9001 track b/nope
  c add server b/d0 127.0.0.1:9001 track
  c add server b/d0 127.0.0.1:9001 check track srv
  c add server b/d1 127.0.0.1:9001 track srv
  c add server b/d2 127.0.0.1:9001 track d1
  c add server b/d3 127.0.0.1:9001 track o/x
  c add server b/d4 127.0.0.1:9001 track t1
  c enable server b/d1
  c enable server b/d4
  for s in srv nc us t1 free; do c disable server b/$s; c del server b/$s; done
  c enable server b/srv
  c disable server b/srv
  st
  c enable server b/srv
  st
  c disable server b/d1
  c del server b/d1
  c disable server b/srv
  c enable server b/srv
  st
  # Leaving the forced maintenance while in the inherited one.
  c disable server b/srv
  c enable server b/t1
  c enable server b/srv
  st
  # A tracker added while its tracked server is in maintenance starts
  # stopped, and haproxy does not bring it up when that one leaves it.
  c disable server b/srv
  c add server b/d5 127.0.0.1:9001 track srv
  c enable server b/d5
  c enable server b/srv
  c show servers state b | awk '$4 == "d5" {$10 = "T"; print}'
  # A tracker that was down (its tracked server's check fails).
  c disable server p/px
  c show stat | cut -d, -f1,2,18 | grep '^p,'
  # Out of it, the check fails again: both go DOWN (awaited, so that
  # both logs end with it).
  c enable server p/px
  for i in $(seq 100); do echo "show stat" | socat - "$DIR/s.sock" 2>/dev/null | grep -q '^p,pt,.*,DOWN,' && break; sleep 0.1; done
  stop "$1"
}
echo '== haproxy'; run "$HAPROXY"; echo '== gproxy'; run "$GPROXY"
`
	out := inPrivateNet(t, dir, script)
	ref, got, ok := strings.Cut(out, "== gproxy")
	if !ok {
		t.Fatalf("output incomplete:\n%s", out)
	}
	ref = strings.TrimPrefix(ref, "== haproxy")
	// After a first `add server`, haproxy prefixes its later messages
	// with "CLI : " (TestIntegrationAddDelServer).
	ref = stickyCLI.ReplaceAllString(ref, ": $1")
	if strings.TrimSpace(normalize(ref)) != strings.TrimSpace(normalize(got)) {
		t.Errorf("gproxy differs from haproxy:\nhaproxy:%s\ngproxy:%s", ref, got)
	}
	for _, want := range []string{
		"Server b/d4 is going DOWN for maintenance via b/t1.", "Server b/t2 remains in forced maintenance.",
		"b,t1,MAINT (via b/srv)", "unable to use b/d1 for tracking as it is a dynamic server.",
		"This server cannot be removed at runtime due to other configuration elements pointing to it.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}
