package gproxyd_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// lifecycleCfg has one frontend per backend: backups with and without
// `option allbackups`, a slow-starting server, a dynamic maxconn
// (minconn/fullconn) and a server queue limited by maxqueue. The
// servers answer with their name (socat), or hold the connection.
const lifecycleCfg = `global
  maxconn 1000
  stats socket $DIR/s.sock level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout queue 30s
frontend f_all
  bind 127.0.0.1:8001
  default_backend all
frontend f_first
  bind 127.0.0.1:8002
  default_backend first
frontend f_slow
  bind 127.0.0.1:8003
  default_backend slow
frontend f_dyn
  bind 127.0.0.1:8004
  default_backend dyn
frontend f_mq
  bind 127.0.0.1:8005
  default_backend mq
backend all
  option allbackups
  server a 127.0.0.1:9101 disabled
  server b1 127.0.0.1:9102 backup
  server b2 127.0.0.1:9103 backup weight 2
backend first
  server a 127.0.0.1:9101 disabled
  server b1 127.0.0.1:9102 backup
  server b2 127.0.0.1:9103 backup weight 2
backend slow
  server s1 127.0.0.1:9101 weight 10 slowstart 10s disabled
  server s2 127.0.0.1:9102 weight 10
backend dyn
  fullconn 20
  server d1 127.0.0.1:9200 minconn 1 maxconn 10
backend mq
  balance source
  server q1 127.0.0.1:9200 maxconn 1 maxqueue 1
`

// lifecycleScript runs each binary on the same config and prints, for
// each scenario, which servers answered and the stats columns that
// matter (status, weight, act, bck, throttle, slim, qcur, scur, econ,
// qlimit).
const lifecycleScript = `
for p in 9101 9102 9103; do socat TCP-LISTEN:$p,fork,reuseaddr SYSTEM:"echo srv$p" & done
socat TCP-LISTEN:9200,fork,reuseaddr SYSTEM:"sleep 20" &
sleep 0.3
c() { echo "$*" | socat -t 10 - "$DIR/s.sock"; }
# show stat: pxname,svname,qcur,scur,slim,econ,status,weight,act,bck,qlimit,throttle
st() { c show stat | cut -d, -f1,2,3,5,7,14,18,19,20,21,26,30 | grep "^$1,"; }
one() { exec {h}<>/dev/tcp/127.0.0.1/$1 && read -t 2 -u $h l; echo "$l"; exec {h}<&-; }
hits() { for i in $(seq $2); do one $1; done | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' '; echo; }
run() {
  rm -f "$DIR/s.sock"
  "$1" -db -f "$DIR/l.cfg" >"$DIR/out.$2" 2>&1 &
  pid=$!
  for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done
  echo "-- allbackups"; hits 8001 30; st all
  echo "-- first backup"; hits 8002 30; st first
  # Leave maintenance at the start of a second: both count whole seconds
  # since then, so a sample is only comparable if it was taken within the
  # planned second (t0, then t0+3). On a loaded machine a command may
  # spill into the next second: then the ramp is started again (back to
  # maintenance, out of it at the next second's start). The script has
  # 60 s for both programs: a few tries only.
  for try in 1 2 3 4; do
    while [ $(date +%N) -gt 100000000 ]; do sleep 0.01; done
    t0=$(date +%s)
    c enable server slow/s1
    s0=$(st slow)
    if [ $(date +%s) -ne $t0 ]; then
      echo "$2: t=0 sample late, ramp restarted" >>"$DIR/retries"
      c disable server slow/s1 >/dev/null; continue
    fi
    h0=$(hits 8003 34)
    while [ $(date +%s) -lt $((t0 + 3)) ]; do sleep 0.02; done
    sleep 0.3
    s3=$(st slow)
    [ $(date +%s) -eq $((t0 + 3)) ] && break
    echo "$2: t=3 sample late, ramp restarted" >>"$DIR/retries"
    c disable server slow/s1 >/dev/null
  done
  echo "-- slowstart t=0"; echo "$s0"; echo "HITS0 $h0"
  echo "-- slowstart t=3"; echo "$s3"; echo "HITS3 $(hits 8003 34)"
  echo "-- dynamic maxconn"
  for i in 1 2 3 4 5 6; do exec {fd}<>/dev/tcp/127.0.0.1/8004; sleep 0.1; done
  st dyn
  echo "-- maxqueue"
  exec {q1}<>/dev/tcp/127.0.0.1/8005; sleep 0.1
  exec {q2}<>/dev/tcp/127.0.0.1/8005; sleep 0.1
  timeout 5 socat -T5 - TCP:127.0.0.1:8005 </dev/null; echo "third closed: $?"
  st mq
  kill $pid; wait $pid 2>/dev/null
}
echo '== haproxy'; run "$HAPROXY" h; echo '== gproxy'; run "$GPROXY" g
`

// TestIntegrationServerLifecycle compares haproxy 2.6 and gproxy on
// `option allbackups`, `slowstart` (stats weight and throttle during the
// ramp, and the share of connections the starting server gets), the
// dynamic maxconn of `minconn`+`fullconn` (which connections are served
// and which wait in the backend queue) and `maxqueue` (the connection
// beyond it is refused at once and counts as a connection error).
func TestIntegrationServerLifecycle(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	cfg := strings.ReplaceAll(lifecycleCfg, "$DIR", dir)
	if err := os.WriteFile(filepath.Join(dir, "l.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := inPrivateNet(t, dir, lifecycleScript)
	ref, got, ok := strings.Cut(out, "== gproxy")
	if !ok {
		t.Fatalf("output incomplete:\n%s", out)
	}
	ref = strings.TrimPrefix(ref, "== haproxy")
	t.Logf("haproxy:%s\ngproxy:%s", ref, got)
	if r, err := os.ReadFile(filepath.Join(dir, "retries")); err == nil {
		t.Logf("slow start ramps started again:\n%s", r)
	}
	// The shares during the slow start depend on the algorithm's order
	// (haproxy's fwrr tree, our smooth round robin): compared apart.
	hitsRE := regexp.MustCompile(`HITS\d (.*)`)
	if strip(ref, hitsRE) != strip(got, hitsRE) {
		t.Errorf("gproxy differs from haproxy:\nhaproxy:%s\ngproxy:%s", ref, got)
	}
	rh, gh := hitsRE.FindAllStringSubmatch(ref, -1), hitsRE.FindAllStringSubmatch(got, -1)
	if len(rh) != 2 || len(gh) != 2 {
		t.Fatalf("slow start hits missing: %q %q", rh, gh)
	}
	// The weight ramps by the second while the 34 connections go out
	// (longer on a loaded machine): the starting server's share lies
	// between what its weight at the step and one second later give
	// (1/11 to 2/12 at t=0, 4/14 to 5/15 at t=3), give or take two, for
	// both proxies; a server not slowed down would take half.
	bounds := [2][2]int{{34*1/11 - 2, 34*2/12 + 2}, {34*4/14 - 2, 34*5/15 + 2}}
	for i := range rh {
		r, g := share(rh[i][1], "srv9101"), share(gh[i][1], "srv9101")
		lo, hi := bounds[i][0], bounds[i][1]
		if r < lo || r > hi || g < lo || g > hi {
			t.Errorf("slow start step %d: starting server took %d of 34 with gproxy, %d with haproxy; want %d to %d", i, g, r, lo, hi)
		}
	}
	// What haproxy 2.6.12 printed here, so that a change on both sides
	// does not go unnoticed.
	for _, want := range []string{
		"srv9102=10 srv9103=20", "all,BACKEND,0,0,100,0,UP,3,0,2,,",
		"srv9102=30 \nfirst", "first,BACKEND,0,0,100,0,UP,1,0,2,,",
		"slow,s1,0,0,,0,no check,1,1,0,,6", "slow,s1,0,0,,0,no check,4,1,0,,31",
		"dyn,d1,0,1,10,0,no check,1,1,0,,", "dyn,BACKEND,5,6,20,",
		"third closed: 0", "mq,q1,1,1,1,1,no check,1,1,0,1,",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q", want)
		}
	}
}

func strip(s string, re *regexp.Regexp) string { return re.ReplaceAllString(s, "HITS") }

// share reads "name=N" from a hits line.
func share(line, name string) int {
	for _, f := range strings.Fields(line) {
		if n, ok := strings.CutPrefix(f, name+"="); ok {
			v, _ := strconv.Atoi(n)
			return v
		}
	}
	return 0
}
