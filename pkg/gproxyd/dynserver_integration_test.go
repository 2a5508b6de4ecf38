package gproxyd_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestIntegrationAddDelServer: `add server` and `del server` on the stats
// socket as in haproxy 2.6: the same answers (refusals included), the new
// server in `show servers state` and `show stat`, in maintenance until
// `enable server`, then picked by roundrobin; deleted only from
// maintenance.
func TestIntegrationAddDelServer(t *testing.T) {
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
  default_backend b
backend b
  server s1 127.0.0.1:9001
backend st
  balance static-rr
  server s1 127.0.0.1:9001
backend lc
  balance leastconn
`
	if err := os.WriteFile(filepath.Join(dir, "a.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
for n in 1 2 3; do socat TCP-LISTEN:900$n,bind=127.0.0.1,fork,reuseaddr SYSTEM:"echo srv$n" & done
for i in $(seq 100); do [ "$(ss -Hltn | wc -l)" -ge 3 ] && break; sleep 0.05; done
# The proxy's messages go to a file printed once it is gone: through a
# pipe (grep) they could come out after the next proxy's first lines.
start() { rm -f "$DIR/s.sock" "$DIR/proxy.log"; "$1" -db -f "$DIR/a.cfg" > "$DIR/proxy.log" 2>&1 & for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done; }
stop() { kill $(pidof -s $(basename "$1")) 2>/dev/null; for i in $(seq 100); do [ -n "$(pidof $(basename "$1"))" ] || break; sleep 0.05; done; grep -v NOTICE "$DIR/proxy.log"; }
c() { echo "> $*"; echo "$*" | socat - "$DIR/s.sock"; }
hits() { for i in 1 2 3 4 5 6; do socat -T2 -u TCP:127.0.0.1:8000 - 2>/dev/null || echo none; done | sort | uniq -c | tr -s ' \n' ' '; echo; }
st() { c show servers state b | awk 'NF > 10 {$10 = "T"; print}'; c show stat | cut -d, -f1,2,18-21,28,29 | grep -v 'FRONTEND\|BACKEND'; }
run() {
  start "$1"
  c add server b/s2 127.0.0.1:9002
  c add server b/s2 127.0.0.1:9002
  c add server st/s2 127.0.0.1:9002
  c add server b
  c add server nob/x 127.0.0.1:1
  c add server b/x
  c add server b/x 127.0.0.1:1 cookie c
  c add server b/x 127.0.0.1:1 foo
  c add server b/x 127.0.0.1:1 weight 300
  c add server b/s3 127.0.0.1:9003 weight 2 maxconn 10 id 7
  c add server b/x 127.0.0.1:1 id 7
  c add server b/s4 127.0.0.1:9003 backup disabled
  c add server lc/s1 127.0.0.1:9001
  c set server b/s2 health down
  st; hits
  c enable server b/s2; hits
  c enable server b/s3; hits
  c del server b/s3
  c disable server b/s1; c disable server b/s2; c disable server b/s3; hits
  c del server b/s3; c del server b/s3; c del server b/zz; c del server zz/s1; c del server b
  c del server b/s1
  c enable server b/s4; hits
  st
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
	// After a first `add server`, haproxy 2.6 prefixes every later
	// message of the process with "CLI : " (its message context stays
	// set): gproxy does so only for the add server refusals.
	ref = stickyCLI.ReplaceAllString(ref, ": $1")
	if strings.TrimSpace(normalize(ref)) != strings.TrimSpace(normalize(got)) {
		t.Errorf("gproxy differs from haproxy:\nhaproxy:%s\ngproxy:%s", ref, got)
	}
	for _, want := range []string{
		"New server registered.", "Backend must use a dynamic load balancing to support dynamic servers.",
		"Only servers in maintenance mode can be deleted.", "Server deleted.",
		" 3 srv1 3 srv2 ", " 6 srv3 ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}

var stickyCLI = regexp.MustCompile(`: CLI : ((?:Backup )?Server |backend )`)
