// Package packaging_test builds the gproxy and gkeepalived Debian packages
// with build-deb.sh, installs them in a private overlay of this machine's
// root filesystem in place of Debian's haproxy and keepalived, and drives
// them as the seed guide does (`service haproxy start`, ...), then through
// upgrade, remove and purge; and it measures reloads under load.
package packaging_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestIntegrationDebs checks what the two archives declare: the package
// each replaces, the conffiles and the files that make them drop-ins.
func TestIntegrationDebs(t *testing.T) {
	requireRoot(t)
	d := buildDebs(t, "")
	cases := []struct {
		deb, replaces string
		conffiles     []string
		files         []string // in dpkg-deb -c, as "./path" or "./link -> target"
	}{
		{d.gproxy, "haproxy",
			[]string{"/etc/init.d/haproxy", "/etc/logrotate.d/haproxy", "/etc/rsyslog.d/49-haproxy.conf"},
			[]string{"./usr/share/gproxy/haproxy.cfg", "./usr/share/gproxy/default.haproxy", "./usr/sbin/gproxy", "./usr/sbin/haproxy -> gproxy", "./lib/systemd/system/haproxy.service", "./usr/lib/tmpfiles.d/haproxy.conf", "./var/lib/haproxy/dev/", "./usr/share/doc/gproxy/copyright",
				"./usr/share/man/man8/gproxy.8.gz", "./usr/share/man/man8/haproxy.8.gz -> gproxy.8.gz"}},
		{d.gkeepalived, "keepalived",
			[]string{"/etc/init.d/keepalived", "/etc/keepalived/keepalived.conf.sample"},
			[]string{"./usr/share/gkeepalived/default.keepalived", "./usr/sbin/gkeepalived", "./usr/sbin/keepalived -> gkeepalived", "./usr/lib/gkeepalived/gkeepalived-bgp", "./lib/systemd/system/keepalived.service", "./usr/share/doc/gkeepalived/copyright",
				"./usr/share/man/man8/gkeepalived.8.gz", "./usr/share/man/man8/keepalived.8.gz -> gkeepalived.8.gz"}},
	}
	for _, c := range cases {
		t.Run(c.replaces, func(t *testing.T) {
			for _, f := range []string{"Provides", "Replaces", "Conflicts"} {
				if got := debField(t, c.deb, f); got != c.replaces {
					t.Errorf("%s: %s = %q, want %q", filepath.Base(c.deb), f, got, c.replaces)
				}
			}
			if got := debField(t, c.deb, "Version"); got != d.version {
				t.Errorf("Version = %q, want %q", got, d.version)
			}
			out, err := exec.Command("dpkg-deb", "-I", c.deb, "conffiles").Output()
			if err != nil {
				t.Fatalf("dpkg-deb -I conffiles: %v", err)
			}
			have := strings.Fields(string(out))
			for _, want := range c.conffiles {
				if !contains(have, want) {
					t.Errorf("conffile %s missing; conffiles: %v", want, have)
				}
			}
			out, err = exec.Command("dpkg-deb", "-c", c.deb).Output()
			if err != nil {
				t.Fatalf("dpkg-deb -c: %v", err)
			}
			for _, want := range c.files {
				if !strings.Contains(string(out), " "+want+"\n") {
					t.Errorf("%s not in the archive:\n%s", want, out)
				}
			}
			// Root-owned files only (dpkg-deb --root-owner-group).
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if f := strings.Fields(l); len(f) < 2 || f[1] != "root/root" {
					t.Errorf("not owned by root/root: %s", l)
				}
			}
		})
	}
	// lintian: errors fail the test, warnings are logged (and reported).
	t.Run("lintian", func(t *testing.T) {
		out, _ := exec.Command("lintian", "--no-tag-display-limit", d.gproxy, d.gkeepalived).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "E: ") {
				t.Errorf("lintian: %s", l)
			} else if strings.HasPrefix(l, "W: ") {
				t.Logf("lintian: %s", l)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// seedHaproxyCfg is the seed's haproxy.cfg with its 192.168.1.x addresses
// moved to 127.0.0.x (the world has lo only).
func seedHaproxyCfg(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "conf", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "192.168.1.", "127.0.0.")
}

func seedKeepalivedConf(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "conf", "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const statsProbe = "curl -s -m 5 -o /dev/null -w '%{http_code}' -u admin:supersecret http://127.0.0.80/stats"

// TestIntegrationInstallServiceUpgradePurge installs both packages in place
// of Debian's and drives them with the seed's commands.
func TestIntegrationInstallServiceUpgradePurge(t *testing.T) {
	requireRoot(t)
	d := buildDebs(t, "")
	w := newWorld(t)
	out := w.installOurs(d)
	t.Logf("dpkg -i:\n%s", out)

	t.Run("installed", func(t *testing.T) {
		w := w.in(t)
		for _, p := range []string{"/usr/sbin/haproxy", "/usr/sbin/gproxy", "/usr/sbin/keepalived", "/usr/sbin/gkeepalived",
			"/etc/init.d/haproxy", "/etc/init.d/keepalived", "/etc/default/haproxy", "/etc/default/keepalived",
			"/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf.sample", "/lib/systemd/system/haproxy.service",
			"/lib/systemd/system/keepalived.service", "/etc/logrotate.d/haproxy", "/etc/rsyslog.d/49-haproxy.conf",
			"/var/lib/haproxy/dev", "/etc/rc2.d/S01haproxy", "/etc/rc2.d/S01keepalived"} {
			if !w.exists(p) {
				t.Errorf("%s missing after dpkg -i", p)
			}
		}
		// Debian's postinst: a system user and group haproxy, home
		// /var/lib/haproxy, no login.
		pw := w.must("getent passwd haproxy")
		if f := strings.Split(strings.TrimSpace(pw), ":"); len(f) != 7 || f[5] != "/var/lib/haproxy" || !strings.HasSuffix(f[6], "nologin") {
			t.Errorf("haproxy user: %q", pw)
		}
		w.must("getent group haproxy")
		// rsyslog accepts the configuration with our snippet in it, systemd
		// our units (with our binaries in place).
		w.must("rsyslogd -N1 -f /etc/rsyslog.conf")
		if out := w.must("systemd-analyze verify --man=no /lib/systemd/system/haproxy.service /lib/systemd/system/keepalived.service 2>&1"); strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify:\n%s", out)
		}
		if out := w.must("stat -c '%U:%G %a' /run/haproxy"); strings.TrimSpace(out) != "haproxy:haproxy 2775" {
			t.Errorf("/run/haproxy: %s, want haproxy:haproxy 2775", out)
		}
		// A fresh install starts haproxy with the shipped configuration,
		// as Debian's does (no listener in it, but a running proxy).
		if len(w.pids("haproxy")) == 0 {
			t.Errorf("no process named haproxy after dpkg -i (Debian's postinst starts it)")
		}
		if out, code := w.run("haproxy -c -f /etc/haproxy/haproxy.cfg"); code != 0 || !strings.Contains(out, "Configuration file is valid") {
			t.Errorf("haproxy -c on the shipped haproxy.cfg: exit %d\n%s", code, out)
		}
		w.must("service haproxy stop")
		w.waitNoProcess("haproxy", 10*time.Second)
	})

	t.Run("haproxy", func(t *testing.T) {
		w := w.in(t)
		w.write("/etc/haproxy/haproxy.cfg", seedHaproxyCfg(t))
		if out, code := w.run("haproxy -c -f /etc/haproxy/haproxy.cfg"); code != 0 || !strings.Contains(out, "Configuration file is valid") {
			t.Fatalf("haproxy -c -f /etc/haproxy/haproxy.cfg (the seed's): exit %d\n%s", code, out)
		}
		// Seed-era default: ENABLED=0 keeps start from starting.
		w.must("sed -i 's/^#\\?ENABLED=.*/ENABLED=0/' /etc/default/haproxy")
		out, code := w.run("service haproxy start")
		if code != 0 || !strings.Contains(out, "ENABLED=0") {
			t.Errorf("service haproxy start with ENABLED=0: exit %d, want 0 and a message naming ENABLED=0:\n%s", code, out)
		}
		if p := w.pids("haproxy"); len(p) != 0 {
			t.Fatalf("ENABLED=0 but haproxy runs: %v", p)
		}
		// The seed: set ENABLED=1, service haproxy start.
		w.must("sed -i 's/^ENABLED=.*/ENABLED=1/' /etc/default/haproxy")
		w.must("service haproxy start")
		w.must("killall -0 haproxy")
		first := w.pids("haproxy")
		if len(first) != 1 {
			t.Fatalf("processes named haproxy after start: %v, want 1", first)
		}
		if pf := strings.TrimSpace(w.read("/run/haproxy.pid")); pf != fmt.Sprint(first[0]) {
			t.Errorf("/run/haproxy.pid = %q, process haproxy is %d", pf, first[0])
		}
		if out := w.must("service haproxy status"); !strings.Contains(out, "running") {
			t.Errorf("service haproxy status: %s", out)
		}
		if code := strings.TrimSpace(w.must(statsProbe)); code != "200" {
			t.Errorf("stats page: HTTP %s", code)
		}
		// Started again: nothing changes.
		w.must("service haproxy start")
		if p := w.pids("haproxy"); len(p) != 1 || p[0] != first[0] {
			t.Errorf("second start changed the processes: %v -> %v", first, p)
		}

		// Reload: a new process, the old one gone, still serving.
		w.must("service haproxy reload")
		w.waitFor("old haproxy gone after reload", fmt.Sprintf("! kill -0 %d 2>/dev/null", first[0]), 10*time.Second)
		second := w.pids("haproxy")
		if len(second) != 1 || second[0] == first[0] {
			t.Errorf("after reload: processes %v (before %v)", second, first)
		}
		if code := strings.TrimSpace(w.must(statsProbe)); code != "200" {
			t.Errorf("stats page after reload: HTTP %s", code)
		}

		// Reload with a broken configuration: errors shown, old process kept.
		good := w.read("/etc/haproxy/haproxy.cfg")
		w.write("/etc/haproxy/haproxy.cfg", good+"\nlisten broken\n\tbind 127.0.0.85:80\n\tfrobnicate on\n")
		out, code = w.run("service haproxy reload")
		if code == 0 {
			t.Errorf("reload with a broken configuration exited 0:\n%s", out)
		}
		for _, want := range []string{"frobnicate", "haproxy.cfg:", "nothing was changed"} {
			if !strings.Contains(out, want) {
				t.Errorf("reload with a broken configuration does not say %q:\n%s", want, out)
			}
		}
		if p := w.pids("haproxy"); len(p) != 1 || p[0] != second[0] {
			t.Errorf("broken reload changed the processes: %v -> %v", second, p)
		}
		if code := strings.TrimSpace(w.must(statsProbe)); code != "200" {
			t.Errorf("stats page after a refused reload: HTTP %s", code)
		}
		out, code = w.run("service haproxy restart")
		if code == 0 || !strings.Contains(out, "frobnicate") {
			t.Errorf("restart with a broken configuration: exit %d\n%s", code, out)
		}
		if p := w.pids("haproxy"); len(p) != 1 || p[0] != second[0] {
			t.Errorf("broken restart changed the processes: %v -> %v", second, p)
		}
		w.write("/etc/haproxy/haproxy.cfg", good)

		w.must("service haproxy stop")
		w.waitNoProcess("haproxy", 10*time.Second)
		if out, code := w.run("service haproxy status"); code != 3 {
			t.Errorf("status of a stopped haproxy: exit %d, want 3 (LSB: not running)\n%s", code, out)
		}
		if code := strings.TrimSpace(w.must(statsProbe + " || true")); code == "200" {
			t.Errorf("stats page still answers after stop")
		}
		w.must("service haproxy restart")
		if len(w.pids("haproxy")) != 1 {
			t.Errorf("restart of a stopped haproxy: processes %v", w.pids("haproxy"))
		}
	})

	t.Run("keepalived", func(t *testing.T) {
		w := w.in(t)
		// Without keepalived.conf, start does nothing and says why.
		out, code := w.run("service keepalived start")
		if code != 0 || len(w.pids("keepalived")) != 0 {
			t.Errorf("start without keepalived.conf: exit %d, processes %v\n%s", code, w.pids("keepalived"), out)
		}
		// The seed's file verbatim, on an eth0 that exists only in the world.
		w.must("ip link add eth0 type veth peer name eth1 && ip addr add 192.168.1.80/24 dev eth0 && ip link set eth1 up && ip link set eth0 up")
		w.write("/etc/keepalived/keepalived.conf", seedKeepalivedConf(t))
		w.must("service keepalived start")
		w.must("killall -0 keepalived")
		p := w.pids("keepalived")
		if len(p) == 0 {
			t.Fatal("no process named keepalived after start")
		}
		if out := w.must("service keepalived status"); !strings.Contains(out, "running") {
			t.Errorf("service keepalived status: %s", out)
		}
		w.waitFor("VIP 192.168.1.84 on eth0", "ip -4 addr show dev eth0 | grep -q ' 192.168.1.84/'", 20*time.Second)
		w.must("service keepalived reload")
		if p2 := w.pids("keepalived"); len(p2) == 0 || p2[0] != p[0] {
			t.Errorf("reload (HUP) changed the daemon: %v -> %v", p, p2)
		}
		w.must("service keepalived stop")
		w.waitNoProcess("keepalived", 15*time.Second)
		w.waitFor("VIP released after stop", "! ip -4 addr show dev eth0 | grep -q ' 192.168.1.84/'", 10*time.Second)
		if _, code := w.run("service keepalived status"); code != 3 {
			t.Errorf("status of a stopped keepalived: exit %d, want 3", code)
		}
		w.must("service keepalived start")
	})

	t.Run("upgrade", func(t *testing.T) {
		w := w.in(t)
		// Edited conffiles survive; running daemons keep running (haproxy
		// reloaded, keepalived restarted, as Debian's postinsts do).
		w.must("echo '# edited by the test' >> /etc/default/keepalived")
		cfg := w.read("/etc/haproxy/haproxy.cfg")
		keep := w.read("/etc/default/keepalived")
		before := w.pids("haproxy")
		next := buildDebs(t, d.version+"+1")
		out := w.must(fmt.Sprintf("dpkg -i %s %s </dev/null", next.gproxy, next.gkeepalived))
		if v := strings.TrimSpace(w.must("dpkg-query -W -f '${Version}' gproxy")); v != next.version {
			t.Errorf("gproxy version after upgrade: %s, want %s\n%s", v, next.version, out)
		}
		if got := w.read("/etc/haproxy/haproxy.cfg"); got != cfg {
			t.Errorf("upgrade replaced the edited haproxy.cfg")
		}
		if got := w.read("/etc/default/keepalived"); got != keep {
			t.Errorf("upgrade replaced the edited /etc/default/keepalived:\n%s", got)
		}
		// Reloaded, not stopped: a new process (the new binary) serves.
		w.waitFor("pre-upgrade haproxy gone", fmt.Sprintf("! kill -0 %d 2>/dev/null", before[0]), 10*time.Second)
		if after := w.pids("haproxy"); len(after) != 1 || after[0] == before[0] {
			t.Errorf("haproxy processes after upgrade: %v (before: %v), want one new one:\n%s", after, before, out)
		}
		if code := strings.TrimSpace(w.must(statsProbe)); code != "200" {
			t.Errorf("stats page after upgrade: HTTP %s", code)
		}
		if len(w.pids("keepalived")) == 0 {
			t.Errorf("keepalived not running after upgrade:\n%s", out)
		}
	})

	t.Run("remove", func(t *testing.T) {
		w := w.in(t)
		w.must("dpkg -r gproxy gkeepalived </dev/null")
		w.waitNoProcess("haproxy", 10*time.Second)
		w.waitNoProcess("keepalived", 15*time.Second)
		for _, p := range []string{"/usr/sbin/haproxy", "/usr/sbin/gproxy", "/usr/sbin/keepalived", "/usr/sbin/gkeepalived", "/lib/systemd/system/haproxy.service"} {
			if w.exists(p) {
				t.Errorf("%s still there after dpkg -r", p)
			}
		}
		for _, p := range []string{"/etc/haproxy/haproxy.cfg", "/etc/default/haproxy", "/etc/default/keepalived"} {
			if !w.exists(p) {
				t.Errorf("%s gone after dpkg -r (only purge removes it)", p)
			}
		}
		if st := w.must("dpkg-query -W -f '${db:Status-Abbrev}' gproxy"); strings.TrimSpace(st) != "rc" {
			t.Errorf("gproxy status after remove: %q, want rc", st)
		}
	})

	t.Run("purge", func(t *testing.T) {
		w := w.in(t)
		w.must("dpkg -P gproxy gkeepalived </dev/null")
		for _, p := range []string{"/etc/haproxy", "/etc/default/haproxy", "/etc/init.d/haproxy", "/etc/logrotate.d/haproxy",
			"/etc/rsyslog.d/49-haproxy.conf", "/var/lib/haproxy", "/run/haproxy", "/run/haproxy.pid", "/etc/rc2.d/S01haproxy",
			"/etc/default/keepalived", "/etc/init.d/keepalived", "/etc/keepalived/keepalived.conf.sample", "/etc/rc2.d/S01keepalived",
			"/etc/systemd/system/multi-user.target.wants/haproxy.service", "/etc/systemd/system/multi-user.target.wants/keepalived.service"} {
			if w.exists(p) {
				t.Errorf("%s still there after dpkg -P", p)
			}
		}
		if out, code := w.run("getent passwd haproxy"); code == 0 {
			t.Errorf("user haproxy still there after purge: %s", out)
		}
		if out, code := w.run("getent group haproxy"); code == 0 {
			t.Errorf("group haproxy still there after purge: %s", out)
		}
		// The administrator's own keepalived.conf stays, as with Debian.
		if !w.exists("/etc/keepalived/keepalived.conf") {
			t.Errorf("purge removed the administrator's keepalived.conf")
		}
	})
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

type wrkResult struct {
	requests, socketErrors, non2xx int
	reloadFailures                 int
	processes                      int // distinct haproxy pids seen during the run
	raw                            string
}

func parseWrk(out string) (wrkResult, error) {
	r := wrkResult{raw: out}
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no request count in wrk's output")
	}
	fmt.Sscan(m[1], &r.requests)
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			var n int
			fmt.Sscan(s, &n)
			r.socketErrors += n
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		fmt.Sscan(m[1], &r.non2xx)
	}
	r.reloadFailures = strings.Count(out, "RELOAD-FAILED")
	seen := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "PIDS" {
			for _, p := range f[1:] {
				seen[p] = true
			}
		}
	}
	r.processes = len(seen)
	return r, nil
}

func TestParseWrk(t *testing.T) {
	cases := []struct {
		name, out         string
		req, sock, non2xx int
		wantErr           bool
	}{
		{"clean", "PIDS 12\nRunning 5s test @ http://127.0.0.84/\n  1 threads and 20 connections\n  52311 requests in 5.00s, 12.1MB read\nRequests/sec:  10461.2\n", 52311, 0, 0, false},
		{"errors", "  239012 requests in 8.00s, 50MB read\n  Socket errors: connect 0, read 70, write 12, timeout 0\n  Non-2xx or 3xx responses: 3\n", 239012, 82, 3, false},
		{"no summary", "unable to connect to 127.0.0.84:80 Connection refused\n", 0, 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseWrk(c.out)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v", err)
			}
			if r.requests != c.req || r.socketErrors != c.sock || r.non2xx != c.non2xx {
				t.Errorf("got %d requests, %d socket errors, %d non-2xx; want %d, %d, %d", r.requests, r.socketErrors, r.non2xx, c.req, c.sock, c.non2xx)
			}
		})
	}
}

// nginxConf: two backends (the seed's web01 and web02) on 127.0.0.68/69,
// with every path nginx writes under /tmp/nginx in the world.
const nginxConf = `daemon on;
worker_processes 1;
pid /tmp/nginx/nginx.pid;
error_log /tmp/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path /tmp/nginx/body;
	proxy_temp_path /tmp/nginx/proxy;
	fastcgi_temp_path /tmp/nginx/fastcgi;
	uwsgi_temp_path /tmp/nginx/uwsgi;
	scgi_temp_path /tmp/nginx/scgi;
	server { listen 127.0.0.68:80; location / { return 200 "web01\n"; } }
	server { listen 127.0.0.69:80; location / { return 200 "web02\n"; } }
}
`

// modernSeedCfg is the seed's configuration in haproxy 2.6's spelling
// (2.6 refuses clitimeout & co. and addresses on listen lines), with
// maxconn 5000: 20000 needs 40018 descriptors, over this machine's hard
// limit of 20000, and haproxy 2.6 then refuses to start.
const modernSeedCfg = `global
	log 127.0.0.34 local0
	user haproxy
	group haproxy
	daemon
	maxconn 5000

defaults
	log global
	option dontlognull
	balance leastconn
	timeout client 60000
	timeout server 60000
	timeout connect 5000
	retries 3
	option redispatch

listen stats
	bind 127.0.0.80:80
	mode http
	stats enable
	stats uri /stats
	stats realm HAProxy\ Statistics
	stats auth admin:supersecret

listen http
	bind 127.0.0.84:80
	mode tcp
	option tcplog
	balance source
	maxconn 10000
	server web01 127.0.0.68:80 maxconn 5000
	server web02 127.0.0.69:80 maxconn 5000
`

// reloadsUnderLoad runs wrk (one thread, 20 connections, a new connection
// per request, as the seed's HTTP clients through a TCP proxy) against the
// seed's VIP while reload runs 20 times, and returns wrk's figures.
func reloadsUnderLoad(t *testing.T, w *world, reload string) wrkResult {
	t.Helper()
	script := `wrk -t1 -c20 -d120s -H 'Connection: close' http://127.0.0.84/ >/tmp/wrk.out 2>&1 &
W=$!
echo "PIDS $(pidof haproxy)"
sleep 1
i=0
while [ $i -lt 20 ]; do
	( ` + reload + ` ) >/tmp/reload.out 2>&1 || { echo RELOAD-FAILED; cat /tmp/reload.out; }
	sleep 0.2
	echo "PIDS $(pidof haproxy)"
	i=$((i + 1))
done
sleep 1
echo "PIDS $(pidof haproxy)"
kill -INT $W
wait $W
cat /tmp/wrk.out`
	out := w.must(script)
	r, err := parseWrk(out)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.requests < 100 {
		t.Fatalf("wrk made only %d requests:\n%s", r.requests, out)
	}
	// Every reload started a new process (worker): 20 reloads, 21 or more
	// processes named haproxy over the run (a master-worker's master too).
	if r.processes < 21 {
		t.Errorf("only %d distinct haproxy processes over 20 reloads: reloads did not happen\n%s", r.processes, out)
	}
	return r
}

// TestIntegrationReloadUnderLoad: `service haproxy reload` 20 times under
// wrk loses nothing with gproxy (listening sockets handed over), in both the
// init script's -sf mode and the systemd unit's master-worker mode (USR2).
// Debian's haproxy 2.6 through its own init script is measured for the
// record.
func TestIntegrationReloadUnderLoad(t *testing.T) {
	requireRoot(t)
	d := buildDebs(t, "")
	w := newWorld(t)
	w.must("mkdir -p /tmp/nginx")
	w.write("/tmp/nginx/nginx.conf", nginxConf)
	w.must("nginx -c /tmp/nginx/nginx.conf -p /tmp/nginx")
	w.must("curl -s -m 5 http://127.0.0.68/ | grep -q web01")

	// Reference: Debian's haproxy 2.6 and its init script (reload = -sf).
	w.write("/etc/haproxy/haproxy.cfg", modernSeedCfg)
	w.bootedSysvinit()
	w.must("service haproxy start")
	ref := reloadsUnderLoad(t, w, "service haproxy reload")
	t.Logf("haproxy 2.6, service haproxy reload (-sf) x20: %d requests, %d socket errors, %d non-2xx, %d failed reloads",
		ref.requests, ref.socketErrors, ref.non2xx, ref.reloadFailures)
	w.must("service haproxy stop")
	w.waitNoProcess("haproxy", 10*time.Second)

	w.installOurs(d)
	w.must("service haproxy stop")
	w.waitNoProcess("haproxy", 10*time.Second)
	w.write("/etc/haproxy/haproxy.cfg", seedHaproxyCfg(t))

	check := func(t *testing.T, name string, r wrkResult) {
		t.Logf("gproxy, %s x20: %d requests, %d socket errors, %d non-2xx, %d failed reloads",
			name, r.requests, r.socketErrors, r.non2xx, r.reloadFailures)
		if r.socketErrors != 0 || r.non2xx != 0 || r.reloadFailures != 0 {
			t.Errorf("gproxy, %s x20 under load lost requests:\n%s", name, r.raw)
		}
	}

	t.Run("init script -sf", func(t *testing.T) {
		w := w.in(t)
		w.must("service haproxy start")
		check(t, "service haproxy reload (-sf)", reloadsUnderLoad(t, w, "service haproxy reload"))
		w.must("service haproxy stop")
		w.waitNoProcess("haproxy", 10*time.Second)
	})

	t.Run("master-worker USR2", func(t *testing.T) {
		w := w.in(t)
		// What haproxy.service runs, without systemd: -Ws in the
		// foreground, reload = check, then USR2 to the master.
		w.must("cd / && setsid /usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid -S /run/haproxy-master.sock </dev/null >/tmp/master.log 2>&1 &")
		w.waitFor("master-worker serving", statsProbe+" | grep -q 200", 10*time.Second)
		check(t, "haproxy -Ws, ExecReload (-c, kill -USR2)",
			reloadsUnderLoad(t, w, "haproxy -Ws -f /etc/haproxy/haproxy.cfg -c -q && kill -USR2 $(cat /run/haproxy.pid)"))
		w.must("kill -TERM $(cat /run/haproxy.pid)")
		w.waitNoProcess("haproxy", 10*time.Second)
	})
}

// unitDirectives reads a systemd unit as "[Section] Key=Value" lines, in
// order, leaving out comments and the descriptive keys.
func unitDirectives(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (Debian's haproxy and keepalived must be installed: make deps)", err)
	}
	var out []string
	section := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "["):
			section = l
		case strings.HasPrefix(l, "Description=") || strings.HasPrefix(l, "Documentation="):
		default:
			out = append(out, section+" "+l)
		}
	}
	return out
}

// TestUnitsMatchDebian: our units start, reload and stop the daemons
// exactly as Debian's installed units do (only the descriptions differ), so
// that `systemctl reload haproxy` and drop-ins written for Debian's units
// behave the same.
func TestUnitsMatchDebian(t *testing.T) {
	for _, c := range []struct{ ours, debian string }{
		{"gproxy/haproxy.service", "/lib/systemd/system/haproxy.service"},
		{"gkeepalived/keepalived.service", "/lib/systemd/system/keepalived.service"},
	} {
		t.Run(filepath.Base(c.debian), func(t *testing.T) {
			ours, theirs := unitDirectives(t, c.ours), unitDirectives(t, c.debian)
			if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
				t.Errorf("%s differs from Debian's %s:\nours:\n%s\nDebian's:\n%s", c.ours, c.debian,
					strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
			}
			for _, l := range ours {
				if strings.Contains(l, "keepalived -t") || strings.Contains(l, "ExecStartPre=/usr/sbin/keepalived") {
					t.Errorf("%s: %s (keepalived -t exits 6 on the seed's script-security warning)", c.ours, l)
				}
			}
		})
	}
}
