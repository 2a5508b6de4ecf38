package gproxyd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// These tests run gproxy and the reference haproxy 2.6 on the same files
// inside a private network, mount and PID namespace each: addresses,
// sysctls, /etc/hosts and /etc/resolv.conf there are the test's own, no
// packet leaves, and every process dies with the namespace.

func requireRootAndHAProxy(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (network namespaces); run it as root or skip TestIntegration*")
	}
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("the reference %s is missing (integration/install-deps.sh installs it): %v", haproxytest.Bin, err)
	}
}

// inPrivateNet runs a bash script in fresh namespaces (PID 1 is the
// script: everything it starts is killed when it ends) and returns what it
// printed. $GPROXY and $HAPROXY name the two binaries; $DIR is a scratch
// directory shared with the test.
func inPrivateNet(t *testing.T, dir, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--mount", "--propagation", "private",
		"--pid", "--fork", "--kill-child", "--mount-proc",
		"bash", "-c", "set -u\nip link set lo up\n"+script)
	cmd.Env = append(os.Environ(), "GPROXY="+gproxyBin, "HAPROXY="+haproxytest.Bin, "DIR="+dir)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("namespace script did not end within 60 s; output:\n%s", out)
	}
	if err != nil {
		t.Logf("namespace script: %v", err)
	}
	return string(out)
}

var (
	pidRE  = regexp.MustCompile(`\(\d+\)`)
	progRE = regexp.MustCompile(`\[\S+\.main\(\)\]`)
)

// normalize removes what differs between the two programs and runs:
// process ids and the version/path notices.
func normalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "[NOTICE]") && (strings.Contains(l, "haproxy version is") || strings.Contains(l, "path to executable")) {
			continue
		}
		l = progRE.ReplaceAllString(l, "[PROG.main()]") // haproxy names itself by argv[0]
		out = append(out, pidRE.ReplaceAllString(l, "(PID)"))
	}
	return strings.Join(out, "\n")
}

const bindFamiliesCfg = `defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend f
  bind *:8001
  bind :8002
  bind ipv4@:8003
  bind ipv6@:8004
  bind :::8005
  bind :::8006 v6only
  bind :::8007 v4v6
  bind ipv6@:8008 v4v6
  bind [::]:8009
  bind ipv4@:8010 v4v6
  bind 127.0.0.1:8011 v6only
  bind ::1:8012
  default_backend b
backend b
  server s 127.0.0.1:9
`

// probeScript starts $1 on $DIR/b.cfg and prints the listening sockets and,
// for each port, whether an IPv4 and an IPv6 client get in.
const probeScript = `
sysctl -qw net.ipv6.bindv6only=$V6ONLY
"$1" -db -f "$DIR/b.cfg" 2>"$DIR/err" & pid=$!
for i in $(seq 200); do [ "$(ss -Hltn | wc -l)" -ge 12 ] && break; sleep 0.05; done
ss -Hltn | awk '{print "listen", $4, $5}' | sort
for p in $(seq 8001 8012); do
  a=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null && echo y || echo n)
  b=$(timeout 2 bash -c "exec 3<>/dev/tcp/::1/$p" 2>/dev/null && echo y || echo n)
  echo "$p ipv4=$a ipv6=$b"
done
kill $pid; wait $pid
cat "$DIR/err"
`

// TestIntegrationBindFamilies: `bind *:80` and `bind :80` listen on IPv4
// only (Go's default would be a dual-stack IPv6 socket); ipv4@, ipv6@,
// `:::80`, v6only, v4v6 and net.ipv6.bindv6only give the sockets haproxy
// 2.6 opens, seen by `ss -ltn` and by which client family gets in.
func TestIntegrationBindFamilies(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.cfg"), []byte(bindFamiliesCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v6only := range []string{"0", "1"} {
		t.Run("bindv6only="+v6only, func(t *testing.T) {
			script := "V6ONLY=" + v6only + "\nprobe() {\n" + probeScript + "\n}\n" +
				"echo '== haproxy'; probe \"$HAPROXY\"; echo '== gproxy'; probe \"$GPROXY\"\n"
			out := inPrivateNet(t, dir, script)
			ref, got, ok := strings.Cut(out, "== gproxy")
			if !ok {
				t.Fatalf("probe output incomplete:\n%s", out)
			}
			ref = strings.TrimPrefix(ref, "== haproxy")
			if listenLines(got) != listenLines(ref) {
				t.Errorf("gproxy's sockets differ from haproxy's:\nhaproxy:%s\ngproxy:%s", ref, got)
			}
			// What a user checks, whatever the reference does.
			for _, want := range []string{"8001 ipv4=y ipv6=n", "8002 ipv4=y ipv6=n", "8006 ipv4=n ipv6=y", "8007 ipv4=y ipv6=y", "listen 0.0.0.0:8001 0.0.0.0:*"} {
				if !strings.Contains(got, want) {
					t.Errorf("gproxy: missing %q in:\n%s", want, got)
				}
			}
		})
	}
}

const nonLocalCfg = `defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend f
  bind 192.0.2.1:8080 OPTS
  default_backend b
listen l
  bind 2001:db8::1:8081 OPTS
  server s 127.0.0.1:9
backend b
  server s 127.0.0.1:9
`

// TestIntegrationBindNonLocal: an address the host does not have fails
// the start with haproxy's alerts and exit status, unless the bind line
// says `transparent` or net.ipv4/ipv6.ip_nonlocal_bind allow it (the lab's
// VIPs rely on the latter).
func TestIntegrationBindNonLocal(t *testing.T) {
	requireRootAndHAProxy(t)
	cases := []struct {
		name, opts, sysctl string
		starts             bool
	}{
		{"refused", "", "", false},
		{"transparent", "transparent", "", true},
		{"ip_nonlocal_bind", "", "sysctl -qw net.ipv4.ip_nonlocal_bind=1 net.ipv6.ip_nonlocal_bind=1", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := strings.ReplaceAll(nonLocalCfg, "OPTS", c.opts)
			if err := os.WriteFile(filepath.Join(dir, "b.cfg"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			script := c.sysctl + `
run() {
  "$1" -db -f "$DIR/b.cfg" 2>&1 & pid=$!
  for i in $(seq 100); do [ "$(ss -Hltn | wc -l)" -ge 2 ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
  ss -Hltn | awk '{print "listen", $4}' | sort
  if kill $pid 2>/dev/null; then wait $pid; echo started; else wait $pid; echo "exit=$?"; fi
}
echo '== haproxy'; run "$HAPROXY"; echo '== gproxy'; run "$GPROXY"
`
			out := inPrivateNet(t, dir, script)
			ref, got, ok := strings.Cut(out, "== gproxy")
			if !ok {
				t.Fatalf("output incomplete:\n%s", out)
			}
			ref = strings.TrimPrefix(ref, "== haproxy")
			// How a running daemon reports SIGTERM is not this test's concern.
			if c.starts {
				ref, got = listenLines(ref), listenLines(got)
			}
			if normalize(got) != normalize(ref) {
				t.Errorf("gproxy differs from haproxy:\nhaproxy:%s\ngproxy:%s", ref, got)
			}
			if c.starts {
				for _, want := range []string{"listen 192.0.2.1:8080", "listen [2001:db8::1]:8081", "started"} {
					if !strings.Contains(got, want) {
						t.Errorf("gproxy does not listen on %s:\n%s", want, got)
					}
				}
				return
			}
			for _, want := range []string{
				"[ALERT]    (PID) : Binding [" + filepath.Join(dir, "b.cfg") + ":10] for proxy l: cannot bind socket (Cannot assign requested address) for [2001:db8::1:8081]",
				"[ALERT]    (PID) : Binding [" + filepath.Join(dir, "b.cfg") + ":7] for frontend f: cannot bind socket (Cannot assign requested address) for [192.0.2.1:8080]",
				"[ALERT]    (PID) : [PROG.main()] Some protocols failed to start their listeners! Exiting.",
				"exit=1",
			} {
				if !strings.Contains(normalize(got), want) {
					t.Errorf("gproxy: missing %q in:\n%s", want, got)
				}
			}
		})
	}
}

func listenLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "listen ") || l == "started" || strings.Contains(l, " ipv4=") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestIntegrationReloadBindOptions: a reload (-sf) reuses the old
// process's socket when the bind line is unchanged (same socket inode, no
// connection refused) and binds anew when its family options changed, so
// the new configuration is served as written.
func TestIntegrationReloadBindOptions(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	cfg := func(opts string) string {
		return "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
			"listen l\n  bind :8001\n  bind :::8004 " + opts + "\n  server s 127.0.0.1:9\n"
	}
	for name, text := range map[string]string{"before.cfg": cfg("v4v6"), "after.cfg": cfg("v6only")} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `
inode() { ss -Hltne "sport = :$1" | grep -o 'ino:[0-9]*'; }
v4() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && echo y || echo n; }
cp "$DIR/before.cfg" "$DIR/cur.cfg"
"$GPROXY" -db -f "$DIR/cur.cfg" & old=$!
for i in $(seq 200); do [ "$(ss -Hltn | wc -l)" -ge 2 ] && break; sleep 0.05; done
echo "before 8001 $(inode 8001) 8004 $(inode 8004) v4=$(v4 8004)"
cp "$DIR/after.cfg" "$DIR/cur.cfg"
"$GPROXY" -db -f "$DIR/cur.cfg" -sf $old & new=$!
for i in $(seq 200); do kill -0 $old 2>/dev/null || break; sleep 0.05; done
wait $old
echo "after 8001 $(inode 8001) 8004 $(inode 8004) v4=$(v4 8004)"
ss -Hltn
`
	out := inPrivateNet(t, dir, script)
	var before, after []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 6 && f[0] == "before":
			before = f
		case len(f) == 6 && f[0] == "after":
			after = f
		}
	}
	if before == nil || after == nil {
		t.Fatalf("reload script output incomplete:\n%s", out)
	}
	if before[5] != "v4=y" {
		t.Errorf("`bind :::8004 v4v6` refuses IPv4 clients:\n%s", out)
	}
	if after[2] != before[2] {
		t.Errorf("unchanged `bind :8001` was bound anew on reload (%s then %s), not handed over:\n%s", before[2], after[2], out)
	}
	if after[4] == before[4] {
		t.Errorf("`bind :::8004` went from v4v6 to v6only but the old socket (%s) was kept:\n%s", before[4], out)
	}
	if after[5] != "v4=n" {
		t.Errorf("after reload to `v6only`, an IPv4 client still gets in:\n%s", out)
	}
}

const serverNamesCfg = `global
  chroot /var/empty
defaults
  mode tcp
  timeout connect 1s
  timeout client 2s
  timeout server 2s
frontend f
  bind 127.0.0.1:8080
  default_backend b
backend b
  server s1 both.test:9000
  server s2 v4.test:9
  server s3 nosuch.test:9
  server s4 nosuch.test:9 init-addr none
  server s5 nosuch.test:9 init-addr last,libc,10.0.0.9
  server s6 v6.test:9
  server s7 nosuch.test:9 init-addr 10.1.1.1
  server s8 v4.test:9 init-addr none
  server s9 nosuch.test:9 init-addr libc,none check
  server s10 v4.test:9 init-addr last
  server s11 both2.test:9
`

// TestIntegrationServerNames: server names resolve once at start, from
// /etc/hosts (bind-mounted; resolv.conf empty so no query leaves), before
// the chroot, in the order glibc gives; init-addr, -dr and the messages and
// exit codes of -c and of the start are haproxy's; servers left without an
// address are "MAINT (resolution)". Traffic reaches a named server from
// inside the chroot (before: every connection resolved the name again
// and failed there).
func TestIntegrationServerNames(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	hosts := "127.0.0.1 localhost\n127.0.0.2 v4.test\n::1 v6.test\n127.0.0.3 both.test\n::3 both.test\n127.0.0.4 both2.test\n::1 both2.test\n"
	for name, text := range map[string]string{"r.cfg": serverNamesCfg, "hosts": hosts, "resolv.conf": "",
		"g.cfg": "global\n  stats socket " + filepath.Join(dir, "s.sock") + " level admin\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `
mount --bind "$DIR/hosts" /etc/hosts; mount --bind "$DIR/resolv.conf" /etc/resolv.conf
mkdir -p /var/empty
socat TCP-LISTEN:9000,bind=127.0.0.3,fork,reuseaddr SYSTEM:'echo hello' & 
run() {
  cp "$DIR/r.cfg" "$DIR/rc.cfg"
  "$1" -c -f "$DIR/rc.cfg"; echo "check=$?"
  "$1" -c -dr -f "$DIR/rc.cfg"; echo "check-dr=$?"
  timeout 10 "$1" -db -f "$DIR/rc.cfg"; echo "start=$?"
  sed -i '/s3 nosuch/d; /s10/d' "$DIR/rc.cfg"
  "$1" -c -f "$DIR/rc.cfg"; echo "check-fixed=$?"
  "$1" -db -f "$DIR/g.cfg" -f "$DIR/rc.cfg" 2>/dev/null & pid=$!
  for i in $(seq 200); do [ -S "$DIR/s.sock" ] && break; sleep 0.05; done
  echo "show servers state" | socat -t 10 - "$DIR/s.sock" | cut -d' ' -f4-7
  echo "show stat" | socat -t 10 - "$DIR/s.sock" | cut -d, -f1,2,18,74
  echo "through: $(timeout 5 socat -u TCP:127.0.0.1:8080 -)"
  kill $pid; wait $pid; rm -f "$DIR/s.sock"
}
echo '== haproxy'; run "$HAPROXY" 2>&1; echo '== gproxy'; run "$GPROXY" 2>&1
`
	out := inPrivateNet(t, dir, script)
	ref, got, ok := strings.Cut(out, "== gproxy")
	if !ok {
		t.Fatalf("output incomplete:\n%s", out)
	}
	ref = strings.TrimPrefix(ref, "== haproxy")
	if normalize(got) != normalize(ref) {
		t.Errorf("gproxy differs from haproxy:\nhaproxy:%s\ngproxy:%s", ref, got)
	}
	for _, want := range []string{
		"config : [" + filepath.Join(dir, "rc.cfg") + ":14] : 'server b/s3' : could not resolve address 'nosuch.test'.",
		"config : Failed to initialize server(s) addr.",
		"check=1", "check-dr=0", "start=1", "check-fixed=0",
		"disabling server.\nWarnings were found.\nConfiguration file is valid\ncheck-dr=0",
		"s1 127.0.0.3 2 0", "s11 ::1 2 0", "s4 - 0 32",
		"b,s9,MAINT (resolution),",
		"through: hello",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gproxy: missing %q in:\n%s", want, got)
		}
	}
}

// TestIntegrationCheckLikeHAProxy: -c refuses what haproxy's -c refuses
// beyond the grammar (log targets and bind names that do not resolve, an
// http frontend using a tcp backend, unknown user or group), with its
// exit code and, where gproxy has the line, its words. Names resolve from
// a bind-mounted /etc/hosts with an empty resolv.conf: no query leaves.
func TestIntegrationCheckLikeHAProxy(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	const d = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n"
	const l = "listen l\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n"
	cases := []struct {
		name, text string
		code       int
		sameText   bool
	}{
		{"log", "global\n  log nosuch.test:514 local0\n" + d + l, 1, true},
		{"log-ok", "global\n  log v4.test:514 local0\n" + d + l, 0, true},
		{"bind", d + "listen l\n  bind nosuch.test:1\n  server s 127.0.0.1:2\n", 1, true},
		{"mode-default", d + "frontend f\n  mode http\n  bind 127.0.0.1:1\n  default_backend b\nbackend b\n  server s 127.0.0.1:2\n", 1, true},
		{"mode-use", d + "frontend f\n  mode http\n  bind 127.0.0.1:1\n  use_backend b\nbackend b\n  server s 127.0.0.1:2\n", 1, true},
		{"mode-listen", d + "frontend f\n  mode http\n  bind 127.0.0.1:1\n  default_backend b\nlisten b\n  bind 127.0.0.1:3\n  server s 127.0.0.1:2\n", 1, true},
		// haproxy upgrades such streams to HTTP; gproxy refuses (fail closed).
		{"mode-tcp-to-http", d + "frontend f\n  bind 127.0.0.1:1\n  default_backend b\nbackend b\n  mode http\n  server s 127.0.0.1:2\n", 0, false},
		{"user", "global\n  user nosuchuser\n" + d + l, 1, false},
		{"group", "global\n  group nosuchgroup\n" + d + l, 1, false},
	}
	var script strings.Builder
	script.WriteString(`mount --bind "$DIR/hosts" /etc/hosts; mount --bind "$DIR/resolv.conf" /etc/resolv.conf` + "\n")
	for name, text := range map[string]string{"hosts": "127.0.0.1 localhost\n127.0.0.2 v4.test\n", "resolv.conf": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		if err := os.WriteFile(filepath.Join(dir, c.name+".cfg"), []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		script.WriteString("for b in \"$HAPROXY\" \"$GPROXY\"; do echo \"== " + c.name + "\"; cd \"$DIR\"; \"$b\" -c -f " + c.name + ".cfg 2>&1; echo \"exit=$?\"; done\n")
	}
	out := inPrivateNet(t, dir, script.String())
	blocks := strings.Split(out, "== ")
	for _, c := range cases {
		var runs []string
		for _, b := range blocks {
			if rest, ok := strings.CutPrefix(b, c.name+"\n"); ok {
				runs = append(runs, normalize(rest))
			}
		}
		if len(runs) != 2 {
			t.Errorf("%s: output incomplete:\n%s", c.name, out)
			continue
		}
		ref, got := runs[0], runs[1]
		want := "exit=" + strconv.Itoa(c.code)
		if c.name == "mode-tcp-to-http" {
			if !strings.Contains(ref, want) || !strings.Contains(got, "exit=1") || !strings.Contains(got, "not implemented by gproxy") {
				t.Errorf("%s: want haproxy %s and gproxy refusing:\nhaproxy:\n%s\ngproxy:\n%s", c.name, want, ref, got)
			}
			continue
		}
		if !strings.Contains(ref, want) || !strings.Contains(got, want) {
			t.Errorf("%s: want %s from both:\nhaproxy:\n%s\ngproxy:\n%s", c.name, want, ref, got)
			continue
		}
		if c.sameText && strings.TrimSpace(got) != strings.TrimSpace(ref) {
			t.Errorf("%s: gproxy's words differ:\nhaproxy:\n%s\ngproxy:\n%s", c.name, ref, got)
		}
	}
}

// TestIntegrationChrootMissing: a chroot directory that does not exist
// passes -c (as haproxy's) and fails the start with haproxy's alert.
func TestIntegrationChrootMissing(t *testing.T) {
	requireRootAndHAProxy(t)
	dir := t.TempDir()
	cfg := "global\n  chroot /nonexistent-gpnet\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten l\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n"
	if err := os.WriteFile(filepath.Join(dir, "c.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := inPrivateNet(t, dir, `for b in "$HAPROXY" "$GPROXY"; do echo "== $b"; "$b" -c -q -f "$DIR/c.cfg"; echo "check=$?"; timeout 10 "$b" -db -f "$DIR/c.cfg" 2>&1; echo "start=$?"; done`)
	parts := strings.Split(out, "== ")
	if len(parts) != 3 {
		t.Fatalf("output incomplete:\n%s", out)
	}
	strip := func(s string) string { _, rest, _ := strings.Cut(s, "\n"); return normalize(rest) }
	ref, got := strip(parts[1]), strip(parts[2])
	if got != ref || !strings.Contains(got, "[PROG.main()] Cannot chroot(/nonexistent-gpnet).") || !strings.Contains(got, "check=0") {
		t.Errorf("haproxy:\n%s\ngproxy:\n%s", ref, got)
	}
}
