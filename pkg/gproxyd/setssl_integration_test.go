package gproxyd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

// TestIntegrationSetServerSSLLikeHaproxy: `set server B/S ssl on|off` as
// in haproxy 2.6: allowed on a server whose default-server had `ssl` (its
// TLS settings are prepared), refused otherwise with haproxy's answer;
// new connections to the server then use TLS or not (a TLS server answers
// only the first), and srv_use_ssl in `show servers state` follows.
func TestIntegrationSetServerSSLLikeHaproxy(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	tlstest.Write(t, filepath.Join(dir, "srv.pem"), ca.Issue(t, tlstest.RSA, "foo.test", "foo.test").Bundle())
	cfg := `global
  stats socket ` + filepath.Join(dir, "s.sock") + ` level admin
  ssl-server-verify none
defaults
  mode tcp
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend f
  bind 127.0.0.1:8000
  default_backend test0
backend test0
  server www0 127.0.0.1:9443 no-ssl
  default-server ssl
  server www1 127.0.0.1:9443 no-ssl
  server www2 127.0.0.1:9443
backend test1
  server www0 127.0.0.1:9443
`
	if err := os.WriteFile(filepath.Join(dir, "a.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
socat OPENSSL-LISTEN:9443,cert=$DIR/srv.pem,verify=0,fork,reuseaddr SYSTEM:"echo tls" 2>/dev/null &
for i in $(seq 100); do [ "$(ss -Hltn | wc -l)" -ge 1 ] && break; sleep 0.05; done
# Bounds for a loaded machine: start waits until the stats socket accepts
# (its file exists from bind, before listen), stop until the process is
# gone (the next one binds the same port), at most 20 s each.
start() { rm -f "$DIR/s.sock" "$DIR/proxy.log"; "$1" -db -f "$DIR/a.cfg" > "$DIR/proxy.log" 2>&1 & for i in $(seq 400); do socat -u /dev/null "UNIX-CONNECT:$DIR/s.sock" 2>/dev/null && break; sleep 0.05; done; }
stop() { kill $(pidof -s $(basename "$1")) 2>/dev/null; for i in $(seq 400); do [ -n "$(pidof $(basename "$1"))" ] || break; sleep 0.05; done; grep -v NOTICE "$DIR/proxy.log"; }
c() { echo "> $*"; echo "$*" | socat - "$DIR/s.sock"; }
st() { c show servers state $1 | awk 'NF > 10 {$10 = "T"; print}'; }
# Traffic goes to www1 alone (the others in maintenance).
# Bounds for a loaded machine (a TLS handshake with socat's fork).
hit() { echo "hit: $(socat -T8 -u TCP:127.0.0.1:8000 - 2>/dev/null)"; }
run() {
  start "$1"
  c disable server test0/www0; c disable server test0/www2
  st test0; hit
  c set server test0/www1 ssl on
  st test0; hit
  c set server test0/www1 ssl off
  st test0; hit
  c set server test0/www1 ssl maybe
  c set server test0/www0 ssl on
  c set server test1/www0 ssl off
  st test1
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
	for _, want := range []string{"server ssl setting updated.", "hit: tls", "default-server should define ssl settings"} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}
