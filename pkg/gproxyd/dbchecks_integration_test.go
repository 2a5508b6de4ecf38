package gproxyd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Database balancers as users write them, with real servers from Debian's
// packages (redis-server, postgresql, mariadb-server) in a private network
// namespace: haproxy 2.6 and gproxy run the same configuration side by
// side, the servers are promoted, demoted, stopped and started, and both
// must mark the same servers up and down, show the same check_status and
// last_chk, and write the same check lines (durations and pids aside).

// dbLabFuncs are the shell helpers of the scenarios. stat prints the
// columns a user reads of `show stat` for one server; settle waits until
// both proxies show the wanted status of every server named.
const dbLabFuncs = `
stat() {
  echo "show stat" | socat -t 2 - "UNIX-CONNECT:$1" | awk -F, -v be="$2" -v sv="$3" '
    NR==1 { for (i = 1; i <= NF; i++) { n = $i; sub(/^# /, "", n); col[n] = i } ; next }
    $1 == be && $2 == sv { print $col["status"], $col["check_status"], $col["check_code"], $col["last_chk"] }'
}
settle() { # settle BACKEND SERVER:STATUS...
  be=$1; shift
  for i in $(seq 150); do
    ok=1
    for want in "$@"; do
      for p in h g; do
        s=$(stat "$DIR/$p.sock" "$be" "${want%%:*}" | cut -d' ' -f1)
        [ "$s" = "${want#*:}" ] || ok=0
      done
    done
    [ $ok = 1 ] && break
    sleep 0.1
  done
  for want in "$@"; do
    for p in h g; do echo "$p ${want%%:*} $(stat "$DIR/$p.sock" "$be" "${want%%:*}")"; done
  done
}
proxies() {
  sed "s#SOCK#$DIR/h.sock#" "$DIR/p.cfg" > "$DIR/h.cfg"
  sed "s#SOCK#$DIR/g.sock#" "$DIR/p.cfg" > "$DIR/g.cfg"
  "$HAPROXY" -db -f "$DIR/h.cfg" 2>"$DIR/h.err" &
  "$GPROXY" -db -f "$DIR/g.cfg" 2>"$DIR/g.err" &
  for i in $(seq 100); do [ -S "$DIR/h.sock" ] && [ -S "$DIR/g.sock" ] && break; sleep 0.05; done
}
logs() {
  echo "== haproxy log"; grep -E 'Server |backend ' "$DIR/h.err"
  echo "== gproxy log"; grep -E 'Server |backend ' "$DIR/g.err"
}
`

var durationRE = regexp.MustCompile(`check duration: \d+ms`)

// statKey is what must be the same in both proxies' view of a server
// while either runs a check ("* L7OK", the description cleared until it
// ends): its name, status and latest result.
func statKey(s string) string {
	var f []string
	for _, x := range strings.Fields(s) {
		if x != "*" {
			f = append(f, x)
		}
	}
	return strings.Join(f[:min(3, len(f))], " ")
}

// compareDBLab checks the output of a scenario: every "h NAME ..." line
// (haproxy's view of a server) must equal the "g NAME ..." line that
// follows it, wants must appear, and the check lines of both logs must be
// the same set.
func compareDBLab(t *testing.T, out string, wants []string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "h ") && strings.HasPrefix(lines[i+1], "g ") {
			h, g := lines[i][2:], lines[i+1][2:]
			if strings.Contains(h, " * ") || strings.Contains(g, " * ") {
				h, g = statKey(h), statKey(g)
			}
			if h != g {
				t.Errorf("show stat differs:\nhaproxy: %s\ngproxy:  %s", h, g)
			}
		}
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
	ref, got, ok := strings.Cut(out, "== gproxy log")
	if !ok {
		t.Fatalf("no logs in output:\n%s", out)
	}
	_, ref, _ = strings.Cut(ref, "== haproxy log")
	norm := func(s string) []string {
		var l []string
		for _, x := range strings.Split(strings.TrimSpace(normalize(s)), "\n") {
			if x = strings.TrimSpace(durationRE.ReplaceAllString(x, "check duration: Nms")); x != "" {
				l = append(l, x)
			}
		}
		sort.Strings(l)
		return l
	}
	if r, g := strings.Join(norm(ref), "\n"), strings.Join(norm(got), "\n"); r != g {
		t.Errorf("check lines differ\nhaproxy:\n%s\ngproxy:\n%s", r, g)
	}
}

func requireBins(t *testing.T, bins ...string) {
	t.Helper()
	requireRootAndHAProxy(t)
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if _, err := os.Stat(b); err != nil {
				t.Fatalf("%s is missing (integration/install-deps.sh installs it): %v", b, err)
			}
		}
	}
}

func writeCfg(t *testing.T, dir, cfg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "p.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

const redisLabCfg = `global
  stats socket SOCK level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 500ms
backend redis
  option tcp-check
  tcp-check connect
  tcp-check send PING\r\n
  tcp-check expect string +PONG
  tcp-check send info\ replication\r\n
  tcp-check expect string role:master
  tcp-check send QUIT\r\n
  tcp-check expect string +OK
  server r1 127.0.0.1:6379 check inter 200ms rise 1 fall 1
  server r2 127.0.0.1:6380 check inter 200ms rise 1 fall 1
backend ping
  option redis-check
  server r1 127.0.0.1:6379 check inter 200ms rise 1 fall 1
  server r3 127.0.0.1:6381 check inter 200ms rise 1 fall 1
`

// TestIntegrationRedisChecks: a primary/replica pair behind the usual
// `tcp-check ... expect string role:master`, and `option redis-check`;
// REPLICAOF swaps the roles, a stopped server is refused.
func TestIntegrationRedisChecks(t *testing.T) {
	requireBins(t, "redis-server", "redis-cli", "socat")
	dir := t.TempDir()
	writeCfg(t, dir, redisLabCfg)
	script := dbLabFuncs + `
rs() { mkdir -p "$DIR/r$1"; redis-server --port $1 --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR/r$1" "${@:2}" >"$DIR/r$1.log" 2>&1 & }
rs 6379; rs 6380 --replicaof 127.0.0.1 6379
for i in $(seq 100); do redis-cli -p 6380 ping >/dev/null 2>&1 && redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.05; done
proxies
echo "== phase start"
settle redis r1:UP r2:DOWN
settle ping r1:UP r3:DOWN
redis-cli -p 6380 replicaof no one >/dev/null
redis-cli -p 6379 replicaof 127.0.0.1 6380 >/dev/null
echo "== phase swapped"
settle redis r1:DOWN r2:UP
redis-cli -p 6379 shutdown nosave >/dev/null 2>&1
echo "== phase stopped"
settle redis r1:DOWN r2:UP
settle ping r1:DOWN
logs
`
	out := inPrivateNet(t, dir, script)
	compareDBLab(t, out, []string{
		`Server redis/r2 is DOWN, reason: Layer7 timeout, info: " at step 5 of tcp-check (expect string 'role:master')"`,
		`Server redis/r2 is UP, reason: Layer7 check passed, code: 0, info: "(tcp-check)"`,
		`Server redis/r1 is DOWN, reason: Layer7 timeout`,
		`Server ping/r3 is DOWN, reason: Layer4 connection problem, info: "Connection refused"`,
		"g r1 DOWN L4CON",
	})
}
