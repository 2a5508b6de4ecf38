package runtimeapi_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
)

// TestIntegrationVarsCLIHaproxy sends the same `get var`, `set var` and
// `experimental-mode` lines to haproxy 2.6's stats socket and to gproxy's,
// and compares the answers and what traffic then reads from the
// variables.
func TestIntegrationVarsCLIHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	dir := t.TempDir()
	socks, ports := startCLIPair(t, dir, func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
    set-var proc.int5 int(5)
    set-var proc.s str("a b")
    set-var proc.s2 var(proc.s)
    set-var proc.b bool(1)
    set-var proc.ip ipv4(10.0.0.1)
    set-var proc.ip6 ipv6(::1)
    set-var proc.bin bin(41420043)
    set-var proc.m meth(GET)
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "s=%%[var(proc.s)] n=%%[var(proc.new)] x=%%[var(proc.x)]"
`, sock, port)
	})
	lines := []string{
		"get var proc.int5", "get var proc.s", "get var proc.s2", "get var proc.b", "get var proc.ip",
		"get var proc.ip6", "get var proc.bin", "get var proc.m", "get var proc.none", "get var txn.x",
		"get var", "get var bad", "set var proc.s str(x)", "experimental-mode",
		"experimental-mode on; experimental-mode", "experimental-mode on; experimental-mode off; experimental-mode",
		"experimental-mode on; set var proc.s str(x); get var proc.s",
		"experimental-mode on; set var proc.s fmt %[var(proc.s)]y; get var proc.s",
		"experimental-mode on; set var proc.new int(7); get var proc.new",
		"experimental-mode on; set var txn.x int(1)", "experimental-mode on; set var proc.x",
		"experimental-mode on; set var", "experimental-mode on; set var proc.x foo int(1)",
		"experimental-mode on; set var proc.x nope(1)",
		"experimental-mode on; set var proc.x expr int(1),add(2); get var proc.x",
		"experimental-mode on; set var proc.x src", "experimental-mode on; set var proc.x fmt %[src]; get var proc.x",
		"experimental-mode on; set var proc.q str(z) int(3); get var proc.q",
		"user; get var proc.s", "user; experimental-mode on", "operator; get var proc.s",
	}
	get := func(n string) string {
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[n]))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for _, l := range lines {
		ref := askSocket(t, socks["hp"], l)
		got := askSocket(t, socks["gp"], l)
		if ref != got {
			t.Errorf("%q:\nhaproxy %q\ngproxy  %q", l, ref, got)
		}
	}
	if ref, got := get("hp"), get("gp"); ref != got || ref != "s=xy n=7 x=3" {
		t.Errorf("after the CLI: haproxy %q, gproxy %q", ref, got)
	}
	if out := askSocket(t, socks["hp"], "experimental-mode on; help"); !strings.Contains(out, "set var <name>") {
		t.Errorf("haproxy's help in experimental mode lists no set var:\n%s", out)
	}
}
