package main_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"hapair/pkg/porttest"
)

// envCfg changes the environment in the global section and shows it in
// a reply: "${...}" expansions of the lines after, env() at run time, and
// the process-wide variables set there.
const envCfg = `global
    setenv GP_PORT %d
    presetenv GP_PRE preset
    presetenv GP_NEW newval
    setenv GP_OVER over
    unsetenv GP_GONE GP_GONE2
    set-var proc.a str("${GP_NEW}")
    set-var proc.b env(GP_OVER),upper
    set-var proc.n int(41),add(1)
    set-var-fmt proc.c "%%[env(GP_PRE)]-x"
    set-var proc.none env(GP_GONE)
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend f
    bind "127.0.0.1:${GP_PORT}"
    http-request return status 200 content-type text/plain lf-string "pre=%%[env(GP_PRE)] new=%%[env(GP_NEW)] over=%%[env(GP_OVER)] gone=%%[env(GP_GONE)] a=%%[var(proc.a)] b=%%[var(proc.b)] n=%%[var(proc.n)] c=%%[var(proc.c)] none=%%[var(proc.none)] q=${GP_OVER}${GP_GONE2}"
`

// serveOnce starts bin with cfg (a format taking the port) in the
// environment env, asks GET / and returns the reply's body.
func serveOnce(t *testing.T, bin, cfg string, port int, env []string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "env.cfg", fmt.Sprintf(cfg, port))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-f", "env.cfg")
	cmd.Dir, cmd.Env = dir, env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for end := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
			b, _ := io.ReadAll(c)
			_, body, _ := strings.Cut(string(b), "\r\n\r\n")
			return body
		}
		if time.Now().After(end) {
			t.Fatalf("%s not listening on %s: %v\n%s", bin, addr, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEnvKeywordsMatchHaproxy: setenv, presetenv, unsetenv and global
// set-var/set-var-fmt give the same reply with haproxy 2.6 and gproxy.
func TestEnvKeywordsMatchHaproxy(t *testing.T) {
	needHaproxy(t)
	env := []string{"PATH=/usr/bin:/bin", "GP_PRE=fromenv", "GP_OVER=orig", "GP_GONE=x", "GP_GONE2=y"}
	want := serveOnce(t, haproxyBin, envCfg, porttest.Free(t), env)
	got := serveOnce(t, gproxyBin, envCfg, porttest.Free(t), env)
	if want != "pre=fromenv new=newval over=over gone= a=newval b=OVER n=42 c=fromenv-x none= q=over" {
		t.Errorf("haproxy answered %q", want)
	}
	if got != want {
		t.Errorf("gproxy answered %q, haproxy %q", got, want)
	}
}

// resetEnvCfg empties the environment but a few names, then sets one
// again: "${...}" after it and env() at run time see what is left.
const resetEnvCfg = `global
    setenv GP_PORT %d
    setenv GP_SET before
    resetenv GP_PORT GP_KEEP GP_SET GP_MISSING
    setenv GP_AFTER after
    set-var proc.a str("${GP_DROP}x${GP_KEEP}")
    set-var proc.p env(PATH)
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend f
    bind "127.0.0.1:${GP_PORT}"
    http-request return status 200 content-type text/plain lf-string "keep=%%[env(GP_KEEP)] drop=%%[env(GP_DROP)] set=%%[env(GP_SET)] missing=%%[env(GP_MISSING)] after=%%[env(GP_AFTER)] path=%%[env(PATH)] a=%%[var(proc.a)] p=%%[var(proc.p)] q=${GP_DROP}-${GP_SET}"
`

// TestResetEnvMatchesHaproxy: resetenv keeps only the names it lists,
// for the lines after it and at run time, as haproxy 2.6 does.
func TestResetEnvMatchesHaproxy(t *testing.T) {
	needHaproxy(t)
	env := []string{"PATH=/usr/bin:/bin", "GP_KEEP=kept", "GP_DROP=dropped"}
	want := serveOnce(t, haproxyBin, resetEnvCfg, porttest.Free(t), env)
	got := serveOnce(t, gproxyBin, resetEnvCfg, porttest.Free(t), env)
	if want != "keep=kept drop= set=before missing= after=after path= a=xkept p= q=-before" {
		t.Errorf("haproxy answered %q", want)
	}
	if got != want {
		t.Errorf("gproxy answered %q, haproxy %q", got, want)
	}
}
