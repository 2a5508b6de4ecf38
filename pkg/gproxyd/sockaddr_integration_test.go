package gproxyd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sockAddrCfg uses every socket form a haproxy.cfg can name for a
// listener, a server and the stats socket; PROG keeps the two programs'
// files apart, FE1 is an inherited listening socket (fd@), as VTest and
// systemd socket activation hand it.
const sockAddrCfg = `global
  stats socket ipv4@127.0.0.1:9100 level admin
  stats socket "unix@${DIR}/${PROG}.stats" mode 600 level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 2s
  timeout server 2s
listen viafd
  bind "fd@${FE1}"
  server unixsrv "unix@${DIR}/srv.sock"
listen viaunix
  bind "unix@${DIR}/${PROG}-fe.sock"
  server tcpsrv 127.0.0.1:9200
listen viaabns
  bind "abns@${PROG}-fe"
  server plainpath "${DIR}/srv.sock"
listen abnsclient
  bind 127.0.0.1:9300
  server abnssrv "abns@${PROG}-fe"
`

// sockAddrScript runs $1 (haproxy or gproxy) as VTest does (-d, listener
// inherited as $FE1) and prints what a client of each address gets.
const sockAddrScript = `
probe() {
  export PROG=$2
  /usr/bin/python3 -c '
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9000))
s.listen(16)
os.set_inheritable(s.fileno(), True)
os.environ["FE1"] = str(s.fileno())
os.execv(sys.argv[1], sys.argv[1:])
' "$1" -d -f "$DIR/s.cfg" >"$DIR/$2.out" 2>&1 & pid=$!
  for i in $(seq 200); do [ -S "$DIR/$2-fe.sock" ] && ss -Hltn | grep -q ':9300 ' && break; sleep 0.05; done
  echo "fd@:       $(timeout 5 socat -u TCP:127.0.0.1:9000 -)"
  echo "unix@:     $(timeout 5 socat -u UNIX-CONNECT:$DIR/$2-fe.sock -)"
  echo "abns@:     $(timeout 5 socat -u TCP:127.0.0.1:9300 -)"
  echo "stats tcp: $(echo 'show stat' | socat -t 10 - TCP:127.0.0.1:9100 | cut -d, -f1,2 | grep -v '^#' | sort | tr '\n' ' ')"
  echo "stats unix: $(echo 'show stat' | socat -t 10 - UNIX-CONNECT:$DIR/$2.stats | cut -d, -f1,2 | grep -v '^#' | sort | tr '\n' ' ')"
  echo "stats mode: $(stat -c %a $DIR/$2.stats)"
  kill $pid; wait $pid 2>/dev/null
}
socat UNIX-LISTEN:$DIR/srv.sock,fork SYSTEM:'echo hello-unix-server' & 
socat TCP-LISTEN:9200,fork,reuseaddr SYSTEM:'echo hello-tcp-server' &
for i in $(seq 200); do [ -S "$DIR/srv.sock" ] && ss -Hltn | grep -q ':9200 ' && break; sleep 0.05; done
echo '== haproxy'; probe "$HAPROXY" haproxy
echo '== gproxy'; probe "$GPROXY" gproxy
`

// TestIntegrationSocketAddresses: listeners on fd@, unix@ and abns@,
// servers on unix@, a plain path and abns@, and stats sockets on
// ipv4@127.0.0.1 and unix@ serve the same under haproxy 2.6 and gproxy
// run as VTest runs them (-d, the frontend socket inherited).
func TestIntegrationSocketAddresses(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.cfg"), []byte(sockAddrCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := inPrivateNet(t, dir, sockAddrScript)
	ref, got, ok := strings.Cut(out, "== gproxy")
	if !ok {
		t.Fatalf("probe output incomplete:\n%s", out)
	}
	ref = strings.TrimPrefix(ref, "== haproxy")
	if strings.TrimSpace(ref) != strings.TrimSpace(got) {
		b, _ := os.ReadFile(filepath.Join(dir, "gproxy.out"))
		t.Errorf("gproxy serves the socket addresses differently:\nhaproxy:%s\ngproxy:%s\ngproxy's output:\n%s", ref, got, b)
	}
	for _, want := range []string{
		"fd@:       hello-unix-server", "unix@:     hello-tcp-server", "abns@:     hello-unix-server",
		"stats tcp:  abnsclient,BACKEND", "stats mode: 600",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}
