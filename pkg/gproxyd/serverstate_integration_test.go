package gproxyd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationServerStateFile: with `server-state-file` and
// `load-server-state-from-file`, the state saved with `show servers
// state` before a restart comes back as in haproxy 2.6: a server put in
// maintenance or drain by hand stays so, the weight set at run time and
// the port are kept, `init-addr last` takes the saved address, a
// `disabled` server saved as enabled is enabled; the start-up messages
// are haproxy's. Then a round trip: state changed on the socket, saved,
// restart, same state.
func TestIntegrationServerStateFile(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	cfg := `global
  stats socket ` + filepath.Join(dir, "s.sock") + ` level admin
  server-state-base ` + dir + `
  server-state-file state
defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
  load-server-state-from-file global
backend b
  server s1 127.0.0.1:80
  server s2 127.0.0.1:81
  server s3 127.0.0.1:82 weight 10
  server s4 name.test:83 init-addr last,127.0.0.4
  server s5 127.0.0.1:84 disabled
  server s6 127.0.0.1:85 disabled
backend c
  load-server-state-from-file none
  server s1 127.0.0.1:80
`
	state := `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
2 b 1 s1 127.0.0.1 0 1 1 1 10 1 0 2 0 0 0 0 - 80 - 0 0 - - 0
2 b 2 s2 127.0.0.1 2 8 1 1 10 1 0 2 0 0 0 0 - 81 - 0 0 - - 0
2 b 3 s3 127.0.0.1 2 0 5 10 10 1 0 2 0 0 0 0 - 90 - 0 0 - - 0
2 b 4 s4 127.0.0.9 2 0 1 1 10 1 0 2 0 0 0 0 name.test 83 - 0 0 - - 0
2 b 6 s6 127.0.0.1 0 5 1 1 10 1 0 2 0 0 0 0 - 85 - 0 0 - - 0
3 c 1 s1 127.0.0.1 0 1 1 1 10 1 0 2 0 0 0 0 - 80 - 0 0 - - 0
`
	for name, text := range map[string]string{"a.cfg": cfg, "state.orig": state} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `
: > "$DIR/empty"; mount --bind "$DIR/empty" /etc/resolv.conf
# The proxy's messages go to a file printed once it is gone: through a
# pipe (grep) they could come out after the next proxy's first lines.
start() { rm -f "$DIR/s.sock" "$DIR/proxy.log"; "$1" -db -f "$DIR/a.cfg" > "$DIR/proxy.log" 2>&1 & for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done; }
stop() { kill $(pidof -s $(basename "$1")) 2>/dev/null; for i in $(seq 100); do [ -S "$DIR/s.sock" ] || break; [ -n "$(pidof $(basename "$1"))" ] || break; sleep 0.05; done; sleep 0.2; for i in $(seq 100); do [ -n "$(pidof $(basename "$1"))" ] || break; sleep 0.05; done; grep -v NOTICE "$DIR/proxy.log"; }
c() { echo "$*" | socat -t 10 - "$DIR/s.sock"; }
st() { c show servers state | awk 'NF > 10 {print $2, $4, $5, $6, $7, $8, $9, $19}'; c show stat | cut -d, -f1,2,18,19 | grep -v 'FRONTEND\|BACKEND'; }
run() {
  cp "$DIR/state.orig" "$DIR/state"
  start "$1"; st; stop "$1"
  echo "-- round trip"
  rm -f "$DIR/state"; start "$1"
  c disable server b/s2; c set weight b/s3 7; c set server b/s4 state drain
  c show servers state > "$DIR/state"; stop "$1"
  start "$1"; st; stop "$1"
}
echo '== haproxy'; run "$HAPROXY"; echo '== gproxy'; run "$GPROXY"
`
	out := inPrivateNet(t, dir, script)
	ref, got, ok := strings.Cut(out, "== gproxy")
	if !ok {
		t.Fatalf("output incomplete:\n%s", out)
	}
	ref = strings.TrimPrefix(ref, "== haproxy")
	if normalize(ref) != normalize(got) {
		t.Errorf("gproxy differs from haproxy:\nhaproxy:%s\ngproxy:%s", ref, got)
	}
	for _, want := range []string{
		"config : Server b/s1 is DOWN, changed from server-state after a reload. 3 active and 0 backup servers left.",
		"config : Server b/s2 remains in forced drain mode.",
		"b s3 127.0.0.1 2 0 5 10 90", "b s4 127.0.0.9 2 0 1 1 83", "b,s1,MAINT,", "b,s6,MAINT,",
		"-- round trip",
		"b,s2,MAINT,1", "b,s3,no check,7", "b,s4,DRAIN,1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}
