package gproxyd_test

import (
	"testing"
)

// snapFunc prints both proxies' views of servers as settle does, once no
// check of theirs is in flight (haproxy clears last_chk meanwhile).
const snapFunc = `
snap() { # snap SERVER...: both views of the servers once neither proxy runs a check of them
  for i in $(seq 50); do
    hs=$(stats "$DIR/h.sock"); gs=$(stats "$DIR/g.sock"); busy=0
    for s in "$@"; do printf '%s\n%s\n' "$hs" "$gs" | grep -q "^$s [A-Z]* \\* " && busy=1; done
    [ $busy = 0 ] && break
    sleep 0.05
  done
  for s in "$@"; do echo "h $(echo "$hs" | grep "^$s ")"; echo "g $(echo "$gs" | grep "^$s ")"; done
}
`

const ldapLabCfg = `global
  stats socket SOCK level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 1s
  default-server check inter 300ms rise 1 fall 1
backend ldap
  option ldap-check
  server s 127.0.0.1:389
backend notldap
  option ldap-check
  server s 127.0.0.1:9001
backend silent
  option ldap-check
  server s 127.0.0.1:9002
`

// TestIntegrationLDAPChecks: `option ldap-check` against a real OpenLDAP
// slapd (Debian's package, an empty directory: the anonymous bind of the
// check succeeds), slapd stopped and started again, a server that answers
// something else and one that closes at once: both proxies mark the same
// servers up and down, with the same check columns and check lines.
func TestIntegrationLDAPChecks(t *testing.T) {
	requireBins(t, "socat", "/usr/sbin/slapd")
	dir := t.TempDir()
	writeCfg(t, dir, ldapLabCfg)
	script := dbLabFuncs + snapFunc + `
printf 'include /etc/ldap/schema/core.schema\npidfile %s/slapd.pid\nargsfile %s/slapd.args\n' "$DIR" "$DIR" > "$DIR/slapd.conf"
slapd_start() {
  /usr/sbin/slapd -h ldap://127.0.0.1:389/ -f "$DIR/slapd.conf" -d 0 >>"$DIR/slapd.out" 2>&1 &
  slapd_pid=$!
  for i in $(seq 100); do ss -Hltn "( sport = :389 )" | grep -q . && break; sleep 0.05; done
}
slapd_start
# Both read the check's 14-byte bind request before they answer and
# close, so that they close with a FIN, not a reset.
socat TCP-LISTEN:9001,fork,reuseaddr SYSTEM:'head -c 14 >/dev/null; echo SSH-2.0-OpenSSH' 2>/dev/null &
socat TCP-LISTEN:9002,fork,reuseaddr SYSTEM:'head -c 14 >/dev/null' 2>/dev/null &
for p in 9001 9002; do for i in $(seq 100); do ss -Hltn "( sport = :$p )" | grep -q . && break; sleep 0.02; done; done
proxies
echo "== up"
settle ldap/s:UP:L7OK notldap/s:DOWN:L7RSP silent/s:DOWN:L7RSP
snap ldap/s notldap/s silent/s
kill $slapd_pid; wait $slapd_pid 2>/dev/null
echo "== stopped"
settle ldap/s:DOWN:L4CON
snap ldap/s
slapd_start
echo "== started"
settle ldap/s:UP:L7OK
logs
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		"h ldap/s UP L7OK 0 ",
		"h notldap/s DOWN L7RSP  Not LDAPv3 protocol",
		"h silent/s DOWN L7RSP  TCPCHK got an empty response at step 2",
		"h ldap/s DOWN L4CON  Connection refused",
		"Server ldap/s is UP, reason: Layer7 check passed, code: 0, check duration",
	}, "Server ldap/s is DOWN")
}
