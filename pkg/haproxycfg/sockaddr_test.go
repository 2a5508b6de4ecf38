package haproxycfg

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSockAddrModel: the socket forms haproxy accepts on bind, server and
// stats socket lines land in the model as the runtime needs them.
func TestSockAddrModel(t *testing.T) {
	src := `global
 stats socket ipv4@127.0.0.1:9999 level admin
 stats socket /run/a.sock mode 600
 stats socket abns@st
 stats socket fd@1000
defaults
 mode http
 timeout client 1s
 timeout server 1s
 timeout connect 1s
frontend f
 bind unix@/run/f.sock
 bind /run/g.sock
 bind uxst@/run/h.sock
 bind abns@name
 bind fd@1000
 bind sockpair@1001
 default_backend b
backend b
 server s1 unix@/run/s1.sock
 server s2 /run/s2.sock
 server s3 abns@s3
`
	cfg, diags, err := Parse("s.cfg", []byte(src), ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v %v", err, diags)
	}
	var binds []string
	for _, b := range cfg.Proxies[0].Binds {
		binds = append(binds, b.Address())
	}
	if got, want := strings.Join(binds, " "), "unix@/run/f.sock unix@/run/g.sock unix@/run/h.sock abns@name fd@1000 sockpair@1001"; got != want {
		t.Errorf("binds %q, want %q", got, want)
	}
	var srvs []string
	for _, s := range cfg.Proxies[1].Servers {
		sa, ok := ParseDialToken(s.Address(80))
		if !ok {
			t.Fatalf("server %s: address %q is not a socket token", s.Name, s.Address(80))
		}
		srvs = append(srvs, sa.String())
	}
	if got, want := strings.Join(srvs, " "), "unix@/run/s1.sock unix@/run/s2.sock abns@s3"; got != want {
		t.Errorf("servers %q, want %q", got, want)
	}
	ss := cfg.Global.StatsSockets
	if len(ss) != 4 || ss[0].TCP == nil || ss[0].TCP.Address() != "127.0.0.1:9999" || ss[1].Path != "/run/a.sock" ||
		ss[2].Sock.String() != "abns@st" || ss[3].Sock.String() != "fd@1000" {
		t.Errorf("stats sockets %+v", ss)
	}
	// haproxy pads abstract names to the whole of sun_path.
	if n := (SockAddr{Kind: SockABNS, Path: "x"}).UnixName(); len(n) != 108 || n[:2] != "@x" {
		t.Errorf("abns name %q (%d bytes)", n, len(n))
	}
}

// TestSocketFDCheck: with the process's descriptors checked (ParseFiles,
// as gproxy -c), an fd@/sockpair@ that is no socket is refused with
// haproxy's words; the same lines come from haproxy -c.
func TestSocketFDCheck(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "fd.cfg")
	src := "global\n stats socket fd@1000 level admin\ndefaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\nfrontend f\n bind fd@1000\n bind sockpair@1001\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"parsing [fd.cfg:2] : parsing [fd.cfg:2] : 'stats socket' : cannot use file descriptor '1000' : Bad file descriptor.",
		"parsing [fd.cfg:9] : 'bind' : cannot use file descriptor '1000' : Bad file descriptor.",
		"parsing [fd.cfg:10] : 'bind' : cannot use file descriptor '1001' : Bad file descriptor.",
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	_, diags, err := ParseFiles([]string{"fd.cfg"}, ParseOptions{})
	if err == nil {
		t.Fatal("ParseFiles accepted descriptors that are no sockets")
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.FormatWithPID(1))
	}
	all := strings.Join(got, "\n")
	out, _ := exec.Command(haproxyBin, "-c", "-f", "fd.cfg").CombinedOutput()
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("gproxy does not print %q; it printed:\n%s", w, all)
		}
		if !strings.Contains(string(out), w) {
			t.Errorf("haproxy does not print %q; it printed:\n%s", w, out)
		}
	}
}
