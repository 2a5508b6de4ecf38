package gproxyd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationParseResolvConf: `parse-resolv-conf` takes the name
// servers of /etc/resolv.conf (the test's own, in a private mount
// namespace: a dead one first, the real one, other lines haproxy skips),
// and a server-template follows the records they serve as with
// `nameserver` lines: the same addresses, the same changes, the same
// lines in the log (naming the name server by its address, as haproxy).
func TestIntegrationParseResolvConf(t *testing.T) {
	requireRootAndHAProxy(t)
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Fatal("dnsmasq is missing (integration/install-deps.sh installs dnsmasq-base)")
	}
	dir := t.TempDir()
	cfg := `global
  log stdout format raw local0
  stats socket ` + filepath.Join(dir, "s.sock") + ` level admin
defaults
  mode tcp
  log global
  timeout connect 1s
  timeout client 2s
  timeout server 2s
resolvers sys
  parse-resolv-conf
  hold valid 1s
  hold nx 500ms
  hold obsolete 1s
  timeout resolve 200ms
  timeout retry 200ms
  resolve_retries 3
listen b
  bind 127.0.0.1:8080
  server-template web 2 web.test:8000 resolvers sys init-addr none resolve-prefer ipv4
`
	if err := os.WriteFile(filepath.Join(dir, "r.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
printf '# the test resolv.conf\nsearch example.test\nnameserver 127.0.0.54\noptions timeout:1\nnameserver 127.0.0.53\n' > "$DIR/resolv"
mount --bind "$DIR/resolv" /etc/resolv.conf
printf '127.0.0.1 localhost\n' > "$DIR/hosts"; mount --bind "$DIR/hosts" /etc/hosts
records() { printf "$1" > "$DIR/dns.hosts"; [ -f "$DIR/dm.pid" ] && kill -HUP "$(cat "$DIR/dm.pid")"; true; }
records '127.0.1.1 web.test\n127.0.1.2 web.test\n'
dnsmasq -k --no-resolv --no-hosts --addn-hosts="$DIR/dns.hosts" --local=/test/ \
  --listen-address=127.0.0.53 --bind-interfaces --port=53 --local-ttl=1 --user=root --pid-file="$DIR/dm.pid" 2>/dev/null &
for i in $(seq 100); do [ -s "$DIR/dm.pid" ] && break; sleep 0.05; done
state() { echo "show servers state" | socat -t 10 - "$DIR/s.sock" | awk 'NF > 10 {print $4, $5, $6, $7}'; }
waitfor() {
  for i in $(seq 100); do
    s=$(state); ok=1
    for p in "$@"; do echo "$s" | grep -qx "$p" || ok=0; done
    [ $ok = 1 ] && break; sleep 0.1
  done
  echo "$s"
}
run() {
  rm -f "$DIR/s.sock"
  records '127.0.1.1 web.test\n127.0.1.2 web.test\n'
  "$1" -db -f "$DIR/r.cfg" > "$DIR/log" 2>/dev/null & pid=$!
  for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done
  echo "-- two addresses"
  waitfor 'web1 127.0.1.2 2 0' 'web2 127.0.1.1 2 0'
  echo "-- one left"
  records '127.0.1.3 web.test\n'
  waitfor 'web1 127.0.1.3 2 0' 'web2 - 0 32'
  kill $pid; wait $pid
  echo "-- log"
  cat "$DIR/log"
}
echo '== haproxy'; run "$HAPROXY"; echo '== gproxy'; run "$GPROXY"
`
	out := inPrivateNet(t, dir, script)
	ref, got, ok := strings.Cut(out, "== gproxy")
	if !ok {
		t.Fatalf("output incomplete:\n%s", out)
	}
	ref = strings.TrimPrefix(ref, "== haproxy")
	if byServer(ref) != byServer(got) {
		t.Errorf("gproxy differs from haproxy:\nhaproxy:%s\ngproxy:%s", ref, got)
	}
	for _, want := range []string{"web1 127.0.1.2 2 0\nweb2 127.0.1.1 2 0", "web1 127.0.1.3 2 0\nweb2 - 0 32"} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}
