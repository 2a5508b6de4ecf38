package gproxyd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationAnyAddressServer: a server without an address (":",
// "${UNSET}:${UNSET}", "0.0.0.0:PORT", "[::]:PORT", "*") connects, as in
// haproxy 2.6, to the address the client reached: the frontend's address,
// the destination of an accepted PROXY header, or the one `http-request
// set-dst` gave; with the client's port when the server has none. Its
// check connects to the any address itself (the local host), and the
// stats and state dump show 0.0.0.0 with port 0 when it has none. An
// address set at run time applies in mode http too (gproxy kept the
// configured one there).
func TestIntegrationAnyAddressServer(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	cfg := `global
  stats socket ` + filepath.Join(dir, "s.sock") + ` level admin
defaults
  timeout connect 1s
  timeout client 2s
  timeout server 2s
frontend direct
  mode tcp
  bind 127.0.0.2:8000
  bind 127.0.0.3:8000
  default_backend fixedport
frontend pp
  mode tcp
  bind 127.0.0.1:8001 accept-proxy
  default_backend clientport
frontend web
  mode http
  bind 127.0.0.2:8080
  bind 127.0.0.3:8080
  use_backend setdst if { path /setdst }
  use_backend fixed if { path /fixed }
  default_backend web
backend fixedport
  mode tcp
  server s :9000
backend clientport
  mode tcp
  server s ${UNSET}:${UNSET}
backend web
  mode http
  server s 0.0.0.0:9080
backend setdst
  mode http
  http-request set-dst ipv4(127.0.0.4)
  http-request set-dst-port int(9081)
  server s *
backend fixed
  mode http
  server s 127.0.0.2:9080
backend checks
  server up 0.0.0.0:9000 check inter 300
  server down : check inter 300
  server six [::]:9000
`
	if err := os.WriteFile(filepath.Join(dir, "a.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
# An HTTP server answering its address and port (the request read whole).
cat > "$DIR/web.sh" <<'EOF'
while read -r l && [ "${#l}" -gt 1 ]; do :; done
printf 'HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\nweb-%s-%s\n' "$1" "$2"
EOF
for a in 1 2 3 4; do
  socat TCP-LISTEN:9000,bind=127.0.0.$a,fork,reuseaddr SYSTEM:"echo tcp-$a" 2>/dev/null &
  socat TCP-LISTEN:9001,bind=127.0.0.$a,fork,reuseaddr SYSTEM:"echo pp-$a" 2>/dev/null &
  for p in 9080 9081; do
    socat TCP-LISTEN:$p,bind=127.0.0.$a,fork,reuseaddr SYSTEM:"bash $DIR/web.sh $a $p" 2>/dev/null &
  done
done
for i in $(seq 100); do [ "$(ss -Hltn | wc -l)" -ge 16 ] && break; sleep 0.05; done
start() { rm -f "$DIR/s.sock" "$DIR/proxy.log"; "$1" -db -f "$DIR/a.cfg" > "$DIR/proxy.log" 2>&1 & for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done; }
stop() { kill $(pidof -s $(basename "$1")) 2>/dev/null; for i in $(seq 100); do [ -n "$(pidof $(basename "$1"))" ] || break; sleep 0.05; done; grep -v NOTICE "$DIR/proxy.log" | grep -v 'Server checks/down is DOWN'; }
c() { echo "$*" | socat - "$DIR/s.sock"; }
# q: c for a reader that may stop early (grep -q): no broken-pipe message.
q() { echo "$*" | socat - "$DIR/s.sock" 2>/dev/null; }
# A dump with no check in flight (check_state odd): haproxy forgets a
# check's result while it runs, and the two proxies' checks do not run
# at the same instants.
sst() { for i in $(seq 40); do out=$(echo "show servers state $*" | socat - "$DIR/s.sock"); echo "$out" | awk 'NF > 10 && $14 ~ /^[0-9]+$/ && $14 % 2 {f = 1} END {exit f}' && break; sleep 0.05; done; echo "$out" | awk 'NF > 10 {$10 = "T"; print}'; }
run() {
  start "$1"
  for a in 2 3; do echo "direct $a: $(socat -T2 -u TCP:127.0.0.$a:8000 - 2>&1)"; done
  for a in 2 3 4; do
    echo "pp $a: $( (printf 'PROXY TCP4 10.0.0.9 127.0.0.'$a' 4444 9001\r\n'; sleep 1) | socat -T2 - TCP:127.0.0.1:8001 2>&1)"
  done
  for a in 2 3; do
    echo "web $a: $(curl -s -m 2 http://127.0.0.$a:8080/)"
    echo "setdst $a: $(curl -s -m 2 http://127.0.0.$a:8080/setdst)"
  done
  # A run-time address applies to mode http too.
  echo "fixed: $(curl -s -m 2 http://127.0.0.2:8080/fixed)"
  c set server fixed/s addr 127.0.0.3 port 9081
  echo "fixed: $(curl -s -m 2 http://127.0.0.2:8080/fixed)"
  # The checks: "up" reaches the local host's 9000, "down" port 0.
  for i in $(seq 100); do q show stat | grep -q '^checks,up,.*,UP,' && q show stat | grep -q '^checks,down,.*,DOWN,' && break; sleep 0.1; done
  c show stat | grep -v FRONTEND | cut -d, -f1,2,18,37,74
  # Masked: the time.
  sst
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
	if strings.TrimSpace(normalize(ref)) != strings.TrimSpace(normalize(got)) {
		t.Errorf("gproxy differs from haproxy:\nhaproxy:%s\ngproxy:%s", ref, got)
	}
	for _, want := range []string{
		"direct 2: tcp-2", "direct 3: tcp-3", "pp 3: pp-3", "pp 4: pp-4",
		"web 2: web-2-9080", "web 3: web-3-9080", "setdst 2: web-4-9081",
		"fixed: web-2-9080", "fixed: web-3-9081",
		"checks,up,UP,L4OK,0.0.0.0:9000", "checks,down,DOWN,L4CON,0.0.0.0:0", "checks,six,no check,,[::]:9000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}
