package gproxyd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// Database balancers as users write them, with real servers from Debian's
// packages (redis-server, postgresql, mariadb-server) in a private network
// namespace: haproxy 2.6 and gproxy run the same configuration side by
// side, the servers are promoted, demoted, stopped and started, and both
// must mark the same servers up and down, show the same check_status and
// last_chk, and write the same check lines (durations and pids aside).

// dbLabFuncs are the shell helpers of the scenarios. stats prints the
// columns a user reads of `show stat` for every server; settle waits until
// both proxies show the wanted status of every server named, then prints
// both views of each.
const dbLabFuncs = `
stats() { # stats SOCK: "backend/server status check_status check_code last_chk tracked" per server
  echo "show stat" | socat -t 10 - "UNIX-CONNECT:$1" | awk -F, '
    NR==1 { for (i = 1; i <= NF; i++) { n = $i; sub(/^# /, "", n); col[n] = i } ; next }
    $2 != "BACKEND" && $2 != "FRONTEND" && NF > 2 { print $1 "/" $2, $col["status"], $col["check_status"], $col["check_code"], $col["last_chk"], $col["tracked"] }'
}
settle() { # settle BACKEND/SERVER:STATUS[:CHECK_STATUS]...: one show stat per proxy and round
  for i in $(seq 100); do
    ok=1
    for p in h g; do
      st=$(stats "$DIR/$p.sock")
      for want in "$@"; do
        w=${want#*:}; chk=""; [ "$w" != "${w%%:*}" ] && chk=${w#*:} && w=${w%%:*}
        echo "$st" | grep -qE "^${want%%:*} $w (\\* )?$chk" || ok=0
      done
    done
    [ $ok = 1 ] && break
    sleep 0.1
  done
  hs=$(stats "$DIR/h.sock"); gs=$(stats "$DIR/g.sock")
  for want in "$@"; do
    echo "h $(echo "$hs" | grep "^${want%%:*} ")"
    echo "g $(echo "$gs" | grep "^${want%%:*} ")"
  done
}
proxies() {
  sed "s#SOCK#$DIR/h.sock#; s#PORT#70#" "$DIR/p.cfg" > "$DIR/h.cfg"
  sed "s#SOCK#$DIR/g.sock#; s#PORT#71#" "$DIR/p.cfg" > "$DIR/g.cfg"
  "$HAPROXY" -db -f "$DIR/h.cfg" 2>"$DIR/h.err" &
  "$GPROXY" -db -f "$DIR/g.cfg" 2>"$DIR/g.err" &
  for i in $(seq 100); do [ -S "$DIR/h.sock" ] && [ -S "$DIR/g.sock" ] && break; sleep 0.05; done
}
logs() {
  echo "== haproxy log"; grep -E 'Server |backend ' "$DIR/h.err"
  echo "== gproxy log"; grep -E 'Server |backend ' "$DIR/g.err"
}
`

// inLab is inPrivateNet with a longer bound, for scenarios that start
// database servers. The bound is wide: at load 20-25 on 2 cores each
// socat/awk round trip to a stats socket took 1-2 s, and a scenario makes
// hundreds of them (settle, cols), so 120 s was overrun by scenarios that
// were progressing.
func inLab(t *testing.T, dir, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), labBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--mount", "--propagation", "private",
		"--pid", "--fork", "--kill-child", "--mount-proc",
		"bash", "-c", "set -u\nip link set lo up\n"+script)
	cmd.Env = append(os.Environ(), "GPROXY="+gproxyBin, "HAPROXY="+haproxytest.Bin, "DIR="+dir)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("lab script did not end within %v; output:\n%s", labBound, out)
	}
	if err != nil {
		t.Logf("lab script: %v", err)
	}
	return string(out)
}

const labBound = 300 * time.Second

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
//
// racy names lines whose reason depends on the instant a server was
// killed (a check in flight is reset, the next one refused): both logs
// must have them, with any reason.
func compareDBLab(t *testing.T, out string, wants []string, racy ...string) {
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
			for _, r := range racy {
				if i := strings.Index(x, r); i >= 0 {
					x = x[:i+len(r)] + " (any reason)"
				}
			}
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
frontend cut
  bind 127.0.0.1:PORT01
  default_backend redis
frontend keep
  bind 127.0.0.1:PORT02
  default_backend redis_keep
backend redis_keep
  option tcp-check
  tcp-check send info\ replication\r\n
  tcp-check expect string role:master
  server r1 127.0.0.1:6379 check inter 200ms rise 1 fall 1
backend redis
  option tcp-check
  tcp-check connect
  tcp-check send PING\r\n
  tcp-check expect string +PONG
  tcp-check send info\ replication\r\n
  tcp-check expect string role:master
  tcp-check send QUIT\r\n
  tcp-check expect string +OK
  server r1 127.0.0.1:6379 check inter 200ms rise 1 fall 1 on-marked-down shutdown-sessions
  server r2 127.0.0.1:6380 check inter 200ms rise 1 fall 1 on-marked-down shutdown-sessions
backend app
  server a1 127.0.0.1:6379 track redis/r1
  server a2 127.0.0.1:6380 track redis/r2
  server a3 127.0.0.1:6380 track a2
backend ping
  option redis-check
  server r1 127.0.0.1:6379 check inter 200ms rise 1 fall 1
  server r3 127.0.0.1:6381 check inter 200ms rise 1 fall 1
`

// TestIntegrationRedisChecks: a primary/replica pair behind the usual
// `tcp-check ... expect string role:master`, and `option redis-check`;
// REPLICAOF swaps the roles, a stopped server is refused. A client
// session on the demoted primary is cut with `on-marked-down
// shutdown-sessions`; without it, both proxies leave it alone. Servers of another backend
// follow them with `track`.
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
settle redis/r1:UP redis/r2:DOWN
settle ping/r1:UP ping/r3:DOWN
settle redis_keep/r1:UP
settle app/a1:UP app/a2:DOWN app/a3:DOWN
# one live client session through each frontend of each proxy
for p in 70 71; do for f in 01 02; do
  (sleep 60) | socat - TCP:127.0.0.1:$p$f >/dev/null & echo $! > "$DIR/c$p$f"
done; done
for i in $(seq 100); do [ "$(ss -Htn state established '( dport = :6379 )' | wc -l)" -ge 4 ] && break; sleep 0.05; done
redis-cli -p 6380 replicaof no one >/dev/null
echo "== phase two primaries"
settle redis/r1:UP redis/r2:UP
settle app/a1:UP app/a2:UP app/a3:UP
redis-cli -p 6379 replicaof 127.0.0.1 6380 >/dev/null
echo "== phase swapped"
settle redis/r1:DOWN redis/r2:UP
settle redis_keep/r1:DOWN
settle app/a1:DOWN app/a2:UP app/a3:UP
for i in $(seq 40); do kill -0 $(cat "$DIR/c7001") 2>/dev/null || kill -0 $(cat "$DIR/c7101") 2>/dev/null || break; sleep 0.1; done
for p in 70 71; do for f in 01 02; do
  kill -0 $(cat "$DIR/c$p$f") 2>/dev/null && echo "session $p$f alive" || echo "session $p$f cut"
done; done
redis-cli -p 6379 shutdown nosave >/dev/null 2>&1
echo "== phase stopped"
settle redis/r1:DOWN:L4CON redis/r2:UP
settle ping/r1:DOWN:L4CON
logs
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Server redis/r2 is DOWN, reason: Layer7 timeout, info: " at step 5 of tcp-check (expect string 'role:master')"`,
		`Server redis/r2 is UP, reason: Layer7 check passed, code: 0, info: "(tcp-check)"`,
		`Server redis/r1 is DOWN, reason: Layer7 timeout`,
		`Server ping/r3 is DOWN, reason: Layer4 connection problem, info: "Connection refused"`,
		"g redis/r1 DOWN L4CON",
		// on-marked-down shutdown-sessions cuts the live session in both
		// proxies; without it the session lives on.
		"session 7001 cut", "session 7101 cut",
		// track: the state of another server, logged "via" it, chains too
		"Server app/a2 is UP via redis/r2. 2 active and 0 backup servers online.",
		"Server app/a3 is UP via app/a2. 3 active and 0 backup servers online.",
		"Server app/a1 is DOWN via redis/r1. 2 active and 0 backup servers left.",
		"g app/a3 UP    app/a2",
		"Server redis/r1 is DOWN, reason: Layer7 timeout, info: \" at step 5 of tcp-check (expect string 'role:master')\", check duration: ",
	}, "Server ping/r1 is DOWN, reason:",
		// The demoted primary's line counts the client session while it
		// is being cut: 1 or 0 in either proxy depending on timing (the
		// cut itself is asserted above).
		"Server redis/r1 is DOWN, reason: Layer7 timeout, info: \" at step 5 of tcp-check (expect string 'role:master')\"")
	// Without the option the proxies leave the session alone (redis
	// itself may drop it when demoted: both proxies must agree).
	if strings.Contains(out, "session 7002 alive") != strings.Contains(out, "session 7102 alive") {
		t.Errorf("the session without on-marked-down differs between haproxy (7002) and gproxy (7102):\n%s", out)
	}
}

// patroniLike is a small stand-in for Patroni's REST API: GET /primary
// answers 200 when the PostgreSQL of the given data directory runs as a
// primary, 503 otherwise (a replica: standby.signal; or not running);
// /replica the other way round.
const patroniLike = `
import http.server, os, sys
port, data = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        role = ""
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            role = "replica" if os.path.exists(os.path.join(data, "standby.signal")) else "primary"
        ok = self.path.strip("/") == role
        body = ('{"role": "%s"}' % role).encode()
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
`

const pgLabCfg = `global
  stats socket SOCK level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 2s
backend primary
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 500ms rise 1 fall 1
  server p1 127.0.0.1:5432 check port 8008
  server p2 127.0.0.1:5433 check port 8009
backend pgauth
  option pgsql-check user postgres
  server p1 127.0.0.1:5432 check inter 300ms rise 1 fall 1
  server p2 127.0.0.1:5433 check inter 300ms rise 1 fall 1
backend pgbad
  option pgsql-check user nosuch
  server p1 127.0.0.1:5432 check inter 300ms rise 1 fall 1
`

// TestIntegrationPostgreSQLChecks: a primary and a streaming replica
// behind a Patroni-style `option httpchk GET /primary` + `http-check
// expect status 200`, and `option pgsql-check`; the primary is killed
// and the replica promoted. initdb takes about 6 s here.
func TestIntegrationPostgreSQLChecks(t *testing.T) {
	const pgBin = "/usr/lib/postgresql/15/bin/"
	requireBins(t, pgBin+"initdb", pgBin+"pg_ctl", "/usr/bin/python3", "socat", "runuser", "curl")
	dir := t.TempDir()
	writeCfg(t, dir, pgLabCfg)
	if err := os.WriteFile(filepath.Join(dir, "patroni.py"), []byte(patroniLike), 0o644); err != nil {
		t.Fatal(err)
	}
	script := dbLabFuncs + `
B=` + pgBin + `
PG=$(mktemp -d /tmp/gproxy-pg.XXXXXX); chown postgres "$PG"; trap 'rm -rf "$PG"' EXIT
pgu() { runuser -u postgres -- "$@"; }
opts() { echo "-p $1 -k $PG -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=replica"; }
pgu $B/initdb -D "$PG/p1" -U postgres --auth=trust -N >/dev/null
pgu sed -i '1i host all nosuch 127.0.0.1/32 reject' "$PG/p1/pg_hba.conf"
pgu $B/pg_ctl -D "$PG/p1" -o "$(opts 5432)" -l "$PG/p1.log" -w start >/dev/null
pgu $B/pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D "$PG/p2" -R -X stream
pgu $B/pg_ctl -D "$PG/p2" -o "$(opts 5433)" -l "$PG/p2.log" -w start >/dev/null
/usr/bin/python3 "$DIR/patroni.py" 8008 "$PG/p1" 2>/dev/null & /usr/bin/python3 "$DIR/patroni.py" 8009 "$PG/p2" 2>/dev/null &
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8008/ && curl -s -o /dev/null http://127.0.0.1:8009/ && break; sleep 0.05; done
proxies
echo "== phase start"
settle primary/p1:UP primary/p2:DOWN
settle pgauth/p1:UP pgauth/p2:UP
settle pgbad/p1:DOWN
kill -9 "$(head -1 "$PG/p1/postmaster.pid")"; rm -f "$PG/p1/postmaster.pid"
echo "== phase killed"
settle primary/p1:DOWN primary/p2:DOWN
settle pgauth/p1:DOWN pgauth/p2:UP
pgu $B/pg_ctl -D "$PG/p2" -w promote >/dev/null
echo "== phase promoted"
settle primary/p1:DOWN primary/p2:UP
logs
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Server primary/p2 is DOWN, reason: Layer7 wrong status, code: 503, info: "Service Unavailable"`,
		`Server primary/p2 is UP, reason: Layer7 check passed, code: 200`,
		`Server pgbad/p1 is DOWN, reason: Layer7 invalid response, info: "FATAL"`,
	}, "Server pgauth/p1 is DOWN, reason:")
}

const mysqlLabCfg = `global
  stats socket SOCK level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 1s
backend galera
  option mysql-check user haproxy
  server m1 127.0.0.1:3306 check inter 300ms rise 1 fall 1
  server m2 127.0.0.1:3307 check inter 300ms rise 1 fall 1
backend nouser
  option mysql-check
  server m1 127.0.0.1:3306 check inter 300ms rise 1 fall 1
backend baduser
  option mysql-check user nosuch
  server m1 127.0.0.1:3306 check inter 300ms rise 1 fall 1
`

// TestIntegrationMariaDBChecks: `option mysql-check user haproxy` against
// MariaDB with that user (no password, from 127.0.0.1), without a user,
// and with an unknown user; the server is stopped and started again.
// mariadb-install-db takes about 4 s here.
func TestIntegrationMariaDBChecks(t *testing.T) {
	requireBins(t, "mariadb-install-db", "mariadbd", "mariadb", "socat")
	dir := t.TempDir()
	writeCfg(t, dir, mysqlLabCfg)
	script := dbLabFuncs + `
M="$DIR/my"; mkdir -p "$M"
mariadb-install-db --no-defaults --datadir="$M/d" --auth-root-authentication-method=normal --skip-test-db --user=root >/dev/null 2>&1
my() { mariadbd --no-defaults --user=root --datadir="$M/d" --socket="$M/s" --port=3306 --bind-address=127.0.0.1 --skip-grant-tables=0 --log-error="$M/err" --pid-file="$M/pid" & }
my
for i in $(seq 200); do mariadb --no-defaults -S "$M/s" -e 'select 1' >/dev/null 2>&1 && break; sleep 0.05; done
mariadb --no-defaults -S "$M/s" -e "CREATE USER 'haproxy'@'127.0.0.1'; FLUSH PRIVILEGES;"
proxies
echo "== phase start"
settle galera/m1:UP galera/m2:DOWN
settle nouser/m1:UP
settle baduser/m1:DOWN
kill $(cat "$M/pid"); for i in $(seq 200); do [ -e "$M/s" ] || break; sleep 0.05; done
echo "== phase stopped"
settle galera/m1:DOWN
my
echo "== phase restarted"
settle galera/m1:UP
logs
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Server galera/m2 is DOWN, reason: Layer4 connection problem, info: "Connection refused"`,
		`Server galera/m1 is DOWN, reason: `,
		`Server galera/m1 is UP, reason: Layer7 check passed, code: 0`,
		`Server baduser/m1 is DOWN, reason: Layer7 wrong status, code: 1045`,
	}, "Server galera/m1 is DOWN, reason:", "Server nouser/m1 is DOWN, reason:")
}

const extLabCfg = `global
  stats socket SOCK level admin
  external-check
  insecure-fork-wanted
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
backend ext
  option external-check
  external-check path "/usr/bin:/bin"
  external-check command DIR/chkPORT.sh
  server e1 127.0.0.1:6379 check inter 2s rise 1 fall 1 maxconn 7
`

// extCheckScript records its arguments and environment, then exits with
// the status written in $DIR/status ("sleep": runs past the check's time).
const extCheckScript = `#!/bin/sh
{ echo "args: $*"; env | sort; } > "DIR/seen.$(basename "$0")"
s=$(cat DIR/status)
[ "$s" = sleep ] && exec sleep 5
exit "$s"
`

// TestIntegrationExternalCheck: `option external-check` runs the same
// command with the same arguments and environment in both proxies, and
// its exit status and a timeout give the same states and check lines.
func TestIntegrationExternalCheck(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	writeCfg(t, dir, strings.ReplaceAll(extLabCfg, "DIR", dir))
	for _, n := range []string{"chk70.sh", "chk71.sh"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(strings.ReplaceAll(extCheckScript, "DIR", dir)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := dbLabFuncs + `
echo 0 > "$DIR/status"
proxies
echo "== phase ok"
settle ext/e1:UP:PROCOK
echo 3 > "$DIR/status"
echo "== phase failing"
settle ext/e1:DOWN:PROCERR
echo sleep > "$DIR/status"
echo "== phase hanging"
settle ext/e1:DOWN:PROCTOUT
echo 0 > "$DIR/status"
settle ext/e1:UP
echo "== seen by haproxy's command"; cat "$DIR/seen.chk70.sh"
echo "== seen by gproxy's command"; cat "$DIR/seen.chk71.sh"
logs
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Server ext/e1 is DOWN, reason: External check error, code: 3`,
		"args: NOT_USED NOT_USED 127.0.0.1 6379",
		"HAPROXY_SERVER_MAXCONN=7",
		"PATH=/usr/bin:/bin",
	})
	_, seen, _ := strings.Cut(out, "== seen by haproxy's command")
	ref, got, _ := strings.Cut(seen, "== seen by gproxy's command")
	got, _, _ = strings.Cut(got, "== haproxy log")
	if strings.TrimSpace(ref) != strings.TrimSpace(got) {
		t.Errorf("the command's arguments and environment differ:\nhaproxy:%s\ngproxy:%s", ref, got)
	}
}

// httpAnswersCfg's servers all answer at once (or close): no case waits
// for a timeout, so `timeout check` is only a bound. At 1 s a loaded
// machine (a forked socat backend slow to run) made either proxy time a
// check out first, and its rows and DOWN line said "Layer7 timeout".
const httpAnswersCfg = `global
  stats socket SOCK level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 10s
  default-server check inter 300ms rise 1 fall 1
backend ssh
  option httpchk GET /
  server s 127.0.0.1:9001
backend empty
  option httpchk GET /
  server s 127.0.0.1:9002
backend s500
  option httpchk GET /
  server s 127.0.0.1:9004
backend hdr
  option httpchk GET /
  http-check expect hdr name x-role value primary
  server s 127.0.0.1:9005
backend body
  option httpchk GET /
  http-check expect string xyz
  server s 127.0.0.1:9005
backend notbody
  option httpchk GET /
  http-check expect ! string abc
  server s 127.0.0.1:9005
backend unwanted
  mode tcp
  option tcp-check
  tcp-check send PING\r\n
  tcp-check expect rstring ^\+PO
  tcp-check expect ! string ERR
  server s 127.0.0.1:9006
backend tcpempty
  mode tcp
  option tcp-check
  tcp-check send PING\r\n
  tcp-check expect rstring ^\+PO
  server s 127.0.0.1:9002
`

// TestIntegrationCheckAnswers: servers that answer what a check does not
// expect (not HTTP, nothing, a 500, a wrong header or body, unwanted
// content): the same results, codes and info in both proxies.
func TestIntegrationCheckAnswers(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	writeCfg(t, dir, httpAnswersCfg)
	script := dbLabFuncs + `
printf 'HTTP/1.1 500 Oops\r\ncontent-length: 3\r\n\r\nabc' > "$DIR/r500"
printf 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\nx-role: replica\r\n\r\nabc' > "$DIR/r200"
printf '+POERR\r\n' > "$DIR/rpo"
# The servers that answer nothing useful read the check's request before
# closing: a close with the request unread is a reset, which either proxy
# then reports as SOCKERR or L7RSP depending on which it saw first (CI:
# haproxy SOCKERR, gproxy L7RSP on empty/s).
socat TCP-LISTEN:9001,fork,reuseaddr SYSTEM:'echo SSH-2.0-OpenSSH; timeout 1 cat >/dev/null' 2>/dev/null &
socat TCP-LISTEN:9002,fork,reuseaddr SYSTEM:'timeout 1 cat >/dev/null' 2>/dev/null &
socat TCP-LISTEN:9004,fork,reuseaddr SYSTEM:"head -c 10 >/dev/null; cat $DIR/r500" 2>/dev/null &
socat TCP-LISTEN:9005,fork,reuseaddr SYSTEM:"head -c 10 >/dev/null; cat $DIR/r200" 2>/dev/null &
socat TCP-LISTEN:9006,fork,reuseaddr SYSTEM:"head -c 4 >/dev/null; cat $DIR/rpo" 2>/dev/null &
for p in 9001 9002 9004 9005 9006; do for i in $(seq 100); do ss -Hltn "( sport = :$p )" | grep -q . && break; sleep 0.02; done; done
proxies
settle ssh/s:DOWN:L7RSP empty/s:DOWN:L7RSP s500/s:DOWN:L7STS hdr/s:DOWN:L7STS body/s:DOWN:L7RSP notbody/s:DOWN:L7RSP unwanted/s:DOWN:L7RSP tcpempty/s:DOWN:L7RSP
logs
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		`Server s500/s is DOWN, reason: Layer7 wrong status, code: 500, info: "Oops"`,
		`Server hdr/s is DOWN, reason: Layer7 wrong status, code: 200, info: "OK"`,
		`Server body/s is DOWN, reason: Layer7 invalid response, info: "HTTP content check did not match"`,
		`Server notbody/s is DOWN, reason: Layer7 invalid response, info: "HTTP check matched unwanted content"`,
		`Server unwanted/s is DOWN, reason: Layer7 invalid response, info: "TCPCHK matched unwanted content 'ERR' at step 3"`,
		`Server tcpempty/s is DOWN, reason: Layer7 invalid response, info: "TCPCHK got an empty response at step 2"`,
		`Server empty/s is DOWN, reason: Layer7 invalid response, check duration`,
		`Server ssh/s is DOWN, reason: Layer7 invalid response, check duration`,
	})
}
