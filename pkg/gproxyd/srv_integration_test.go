package gproxyd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// srvCfg fills a template of three servers from the SRV records of
// _http._tcp.web.test.
const srvCfg = `global
  log stdout format raw local0
  stats socket ${DIR}/s.sock level admin
defaults
  mode tcp
  log global
  timeout connect 1s
  timeout client 2s
  timeout server 2s
resolvers dns
  nameserver ns1 127.0.0.53:53
  accepted_payload_size 1232
  hold valid 1s
  hold nx 500ms
  hold timeout 10s
  hold other 10s
  hold refused 10s
  hold obsolete 1s
  timeout resolve 200ms
  timeout retry 200ms
  resolve_retries 2
listen b
  bind 127.0.0.1:8080
  balance first
  server-template web 3 _http._tcp.web.test resolvers dns init-addr none resolve-prefer ipv4
`

// TestIntegrationSRVFollowsChanges: a server-template on an SRV name
// follows the records a real DNS server (dnsmasq, restarted with each
// change) serves: each record's target (its address from the additional
// section), port and weight go to a server, a server whose record is gone
// goes into maintenance and is free for a new record, an NXDOMAIN
// empties the template after `hold nx`; show servers state, show stat,
// the traffic and the log lines per server are haproxy 2.6's.
func TestIntegrationSRVFollowsChanges(t *testing.T) {
	requireRootAndHAProxy(t)
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Fatal("dnsmasq is missing (integration/install-deps.sh installs dnsmasq-base)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.cfg"), []byte(strings.ReplaceAll(srvCfg, "${DIR}", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
: > "$DIR/empty"; mount --bind "$DIR/empty" /etc/resolv.conf
printf '127.0.0.1 localhost\n' > "$DIR/hosts"; mount --bind "$DIR/hosts" /etc/hosts
for ap in 127.0.1.1:8001 127.0.1.2:8002 127.0.1.3:8003 127.0.1.5:8001; do
  socat TCP-LISTEN:${ap#*:},bind=${ap%:*},fork,reuseaddr SYSTEM:"echo $ap" &
done
# dns HOSTS SRV...: serves the addresses and SRV records (target,port,prio,weight);
# dnsmasq reads srv-host only at start, so it is restarted.
dns() {
  printf "$1" > "$DIR/dns.hosts"; shift
  : > "$DIR/dm.conf"; for s in "$@"; do echo "srv-host=_http._tcp.web.test,$s" >> "$DIR/dm.conf"; done
  if [ -s "$DIR/dm.pid" ]; then dm=$(cat "$DIR/dm.pid"); kill "$dm"; while kill -0 "$dm" 2>/dev/null; do sleep 0.01; done; fi
  rm -f "$DIR/dm.pid"
  dnsmasq -k --conf-file="$DIR/dm.conf" --no-resolv --no-hosts --addn-hosts="$DIR/dns.hosts" --local=/test/ \
    --listen-address=127.0.0.53 --bind-interfaces --port=53 --local-ttl=1 --user=root --pid-file="$DIR/dm.pid" 2>/dev/null &
  for i in $(seq 200); do [ -s "$DIR/dm.pid" ] && break; sleep 0.02; done
}
# name addr op admin uweight iweight fqdn port srvrecord
state() { echo "show servers state" | socat -t 10 - "$DIR/s.sock" | awk 'NF > 10 {print $4, $5, $6, $7, $8, $9, $18, $19, $20}'; }
waitfor() {
  for i in $(seq 100); do
    s=$(state); ok=1
    for p in "$@"; do echo "$s" | grep -qx "$p" || ok=0; done
    [ $ok = 1 ] && break; sleep 0.1
  done
  echo "$s"
}
stat() { echo "show stat" | socat -t 10 - "$DIR/s.sock" | cut -d, -f1,2,18,19,74 | grep -v 'FRONTEND\|BACKEND'; }
through() { echo "through=$(timeout 10 socat -u TCP:127.0.0.1:8080 - 2>/dev/null)"; }
run() {
  rm -f "$DIR/s.sock"
  dns '127.0.1.1 a.test\n127.0.1.2 b.test\n127.0.1.3 c.test\n' a.test,8001,0,10 b.test,8002,0,512
  "$1" -db -f "$DIR/r.cfg" > "$DIR/log" 2>/dev/null & pid=$!
  for i in $(seq 100); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done
  echo "-- two records for three servers"
  waitfor 'web1 127.0.1.1 2 64 1 1 a.test 8001 _http._tcp.web.test' 'web2 127.0.1.2 2 64 2 1 b.test 8002 _http._tcp.web.test'
  stat; through
  echo "-- b.test gone, c.test new"
  dns '127.0.1.1 a.test\n127.0.1.2 b.test\n127.0.1.3 c.test\n' a.test,8001,0,10 c.test,8003,0,1000
  waitfor 'web2 - 0 96 2 1 - 0 _http._tcp.web.test' 'web3 127.0.1.3 2 64 4 1 c.test 8003 _http._tcp.web.test'
  stat
  echo "-- a.test weight 0"
  dns '127.0.1.1 a.test\n127.0.1.3 c.test\n' a.test,8001,0,0 c.test,8003,0,1000
  waitfor 'web1 127.0.1.1 2 64 0 1 a.test 8001 _http._tcp.web.test'
  stat; through
  echo "-- a.test moved"
  dns '127.0.1.5 a.test\n127.0.1.3 c.test\n' a.test,8001,0,256 c.test,8003,0,1000
  waitfor 'web1 127.0.1.5 2 64 1 1 a.test 8001 _http._tcp.web.test'
  stat; through
  echo "-- no record (NXDOMAIN)"
  dns '127.0.1.5 a.test\n'
  waitfor 'web1 - 0 96 1 1 - 0 _http._tcp.web.test' 'web3 - 0 96 4 1 - 0 _http._tcp.web.test'
  stat
  echo "-- back"
  dns '127.0.1.1 a.test\n127.0.1.2 b.test\n' b.test,8002,0,512 a.test,8001,0,10
  # The freed servers are taken in the order they were freed.
  waitfor 'web2 127.0.1.1 2 64 1 1 a.test 8001 _http._tcp.web.test' 'web3 127.0.1.2 2 64 2 1 b.test 8002 _http._tcp.web.test'
  stat; through
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
	// What haproxy 2.6.12 gave.
	for _, want := range []string{
		"web1 127.0.1.1 2 64 1 1 a.test 8001 _http._tcp.web.test\nweb2 127.0.1.2 2 64 2 1 b.test 8002 _http._tcp.web.test\nweb3 - 0 32 1 1 - 0 _http._tcp.web.test",
		"b,web2,MAINT (resolution),2,\nb,web3,no check,4,127.0.1.3:8003\n",
		"b,web1,no check,0,127.0.1.1:8001\nb,web2,MAINT (resolution),2,\nb,web3,no check,4,127.0.1.3:8003\n\nthrough=127.0.1.3",
		"b,web1,no check,1,127.0.1.5:8001\nb,web2,MAINT (resolution),2,\nb,web3,no check,4,127.0.1.3:8003\n\nthrough=127.0.1.5",
		"b,web1,MAINT (resolution),1,\nb,web2,MAINT (resolution),2,\nb,web3,MAINT (resolution),4,",
		"web1 - 0 96 1 1 - 0 _http._tcp.web.test\nweb2 127.0.1.1 2 64 1 1 a.test 8001 _http._tcp.web.test\nweb3 127.0.1.2 2 64 2 1 b.test 8002 _http._tcp.web.test",
		"b/web1 changed its IP from (none) to 127.0.1.1 by DNS additional record.\nb/web1 changed its FQDN from (null) to a.test by 'SRV record'\nServer b/web1 ('a.test') is UP/READY (resolves again).\n",
		"Server b/web2 is going DOWN for maintenance (entry removed from SRV record). 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
		// The moved target's new address comes from an A query: the
		// kept additional record hides the new one until it is obsolete.
		"b/web1 changed its IP from 127.0.1.1 to 127.0.1.5 by dns/ns1.",
		"proxy b has no server available!",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}
